// Segments: the analysis form (one customer's record) and persona search over the corpus.
import { post } from "../api.js";
import { card, errorCard, h } from "../dom.js";
import { t } from "../i18n.js";

function jsonForm(id, label, example, path, wrap) {
  const text = h("textarea", { id, rows: 6, cols: 60, text: example });
  const out = h("div");
  const form = h("form.stack", {}, h("label", {}, label, text), h("button", { type: "submit", text: t("analyze") }), out);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const body = wrap(JSON.parse(text.value));
      out.replaceChildren(h("pre", { text: JSON.stringify(await post(path, body), null, 2) }));
    } catch (err) {
      out.replaceChildren(errorCard(err));
    }
  });
  return form;
}

export function render(main) {
  main.append(
    h("h1", { text: t("segments") }),
    card(t("analyze"), jsonForm("analysis-body", "JSON", '{"age": 35, "gender": "F"}', "/api/analysis", (x) => x)),
    card(t("persona_search"), jsonForm("rag-body", "JSON", '{"query": "30대 여성 온라인 쇼핑"}', "/api/rag/query", (x) => x))
  );
}
