// Calls: process one counseling session and show its features and outcome.
import { get, post } from "../api.js";
import { card, errorCard, h } from "../dom.js";
import { t } from "../i18n.js";

export function render(main) {
  // seed 004's request: the session (consulting_content, one turn a line) and the mode
  const example = {
    session_id: "demo-1",
    data: {
      consulting_content: "상담사: 안녕하세요, 광진구청입니다. 어떤 도움이 필요하신가요?\n고객: 요금이 너무 많이 나왔어요.",
      instructions: [{ tuning_type: "분류", data: [{ task_category: "상담 주제", output: "요금" }] }],
    },
    processing_mode: "realtime",
  };
  const text = h("textarea", { id: "session", rows: 12, cols: 70, text: JSON.stringify(example, null, 2) });
  const out = h("div", { id: "call-out" });
  const form = h("form.stack", {}, h("label", {}, t("session_json"), text), h("button", { type: "submit", text: t("process") }), out);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const started = await post("/api/v1/callytics/process-data", JSON.parse(text.value));
      // the pipeline's steps and every extracted feature, as stored for the session
      const id = started.session_id;
      const result = id ? await get("/api/v1/callytics/results/" + encodeURIComponent(id) + "?include_features=true").catch(() => started) : started;
      out.replaceChildren(h("h2", { text: t("features") + " · " + t("outcome") }), h("pre", { text: JSON.stringify(result, null, 2) }));
    } catch (err) {
      out.replaceChildren(errorCard(err));
    }
  });
  main.append(h("h1", { text: t("calls") }), card(null, form));
}
