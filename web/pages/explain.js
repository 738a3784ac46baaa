// Explain and report: a run's feature importance (with its intervals when the service gives
// them), the AI report in the chosen language, and the PDF.
import { post, apiKey } from "../api.js";
import { apiCard, card, errorCard, fmt, h, jsonBlock, table } from "../dom.js";
import { lang, t } from "../i18n.js";

function importanceView(d) {
  const items = d.features || d.importance || d.feature_importance || [];
  if (!Array.isArray(items) || items.length === 0) return h("pre", { text: JSON.stringify(d, null, 2) });
  const max = Math.max(...items.map((x) => Math.abs(x.importance || x.value || 0)), 1e-12);
  return table([
    { label: t("column"), render: (x) => x.feature || x.name },
    { label: t("importance"), render: (x) => { const v = x.importance ?? x.value ?? 0; return h("span", {}, h("span.bar", { style: "width:" + Math.round((160 * Math.abs(v)) / max) + "px" }), " " + fmt(v, 3)); } },
    { label: "CI", render: (x) => (x.ci_low !== undefined ? "[" + fmt(x.ci_low, 3) + ", " + fmt(x.ci_high, 3) + "]" : "") },
  ], items);
}

// The PDF is fetched with the key (a plain link could not send it) and offered as a blob.
async function downloadPdf(runId, slot) {
  try {
    await post("/api/report/generate-pdf/" + runId, { includeCharts: true, includeInsights: true, includeActionPlan: true, lang: lang() });
    const res = await fetch("/api/report/pdf/" + runId, { headers: apiKey() ? { "X-API-Key": apiKey() } : {} });
    if (!res.ok) throw new Error("HTTP " + res.status);
    const url = URL.createObjectURL(await res.blob());
    slot.replaceChildren(h("a", { href: url, download: "report-" + runId + ".pdf", id: "pdf-link", text: t("pdf") }));
  } catch (e) {
    slot.replaceChildren(errorCard(e));
  }
}

export function render(main, params) {
  const run = h("input", { id: "explain-run", placeholder: "run_id", size: 38, value: params.get("run") || "" });
  const out = h("div");
  const show = () => {
    const id = run.value.trim();
    if (!id) return;
    const pdf = h("div");
    out.replaceChildren(
      apiCard("importance", "/api/report/feature-importance/" + id, importanceView),
      apiCard("report", "/api/report/ai/" + id + "?lang=" + lang(), (d) => jsonBlock(d, { id: "ai-report" })),
      card(t("pdf"), h("button", { type: "button", onclick: () => downloadPdf(id, pdf), text: t("pdf") }), pdf)
    );
  };
  main.append(h("h1", { text: t("explain") }), card(null, h("form.stack", { onsubmit: (e) => { e.preventDefault(); show(); } }, h("label", {}, t("run"), run), h("button", { type: "submit", text: t("show") }))), out);
  show();
}
