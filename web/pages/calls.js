// Calls: process one counseling session and show its features and outcome.
import { get, post } from "../api.js";
import { card, errorCard, h } from "../dom.js";
import { t } from "../i18n.js";

export function render(main) {
  const text = h("textarea", { id: "session", rows: 8, cols: 70, text: '{"session_id": "demo-1", "transcript": [{"speaker": "customer", "text": "요금이 너무 많이 나왔어요"}]}' });
  const out = h("div", { id: "call-out" });
  const form = h("form.stack", {}, h("label", {}, t("session_json"), text), h("button", { type: "submit", text: t("process") }), out);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const started = await post("/api/v1/callytics/process-data", JSON.parse(text.value));
      const id = started.id || started.session_id || started.job_id;
      const result = id ? await get("/api/v1/callytics/results/" + encodeURIComponent(id)).catch(() => started) : started;
      out.replaceChildren(h("h2", { text: t("features") + " · " + t("outcome") }), h("pre", { text: JSON.stringify(result, null, 2) }));
    } catch (err) {
      out.replaceChildren(errorCard(err));
    }
  });
  main.append(h("h1", { text: t("calls") }), card(null, form));
}
