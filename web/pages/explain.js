// Explain and report: a run's feature importance as bars with their confidence intervals
// (by the method chosen), a SHAP summary of sample rows of the run's dataset (mean |SHAP|
// per feature and a dot per row), the AI report in the chosen language, and the PDF.
import { apiKey, get, post } from "../api.js";
import { card, errorCard, fmt, h, later, table } from "../dom.js";
import { lang, t } from "../i18n.js";
import { barChart, dotPlot } from "../svg.js";

const SHAP_ROWS = 200; // sample rows explained: enough for a swarm, quick for TreeSHAP
const TOP = 12; // features drawn

function importanceView(d) {
  const items = (d.importance || []).slice(0, TOP);
  if (items.length === 0) return h("p.muted", { text: t("none") });
  const bars = items.map((x) => ({ name: x.feature, value: x.importance, lo: x.ci ? x.ci[0] : null, hi: x.ci ? x.ci[1] : null }));
  return h("div", {},
    d.method !== d.requested ? h("p.muted", { text: t("method_fallback") + ": " + d.method }) : null,
    barChart("importance-chart", t("importance"), bars),
    table([
      { key: "feature", label: t("column") },
      { label: t("importance"), render: (x) => fmt(x.importance, 3), num: true },
      { label: t("ci95"), render: (x) => (x.ci ? "[" + fmt(x.ci[0], 3) + ", " + fmt(x.ci[1], 3) + "]" : "–"), num: true },
      { label: t("p_value"), render: (x) => fmt(x.pValue, 3), num: true },
      { key: "description", label: t("description") },
    ], items));
}

function importanceCard(runId) {
  const method = h("select", { id: "importance-method", "aria-label": t("method") },
    ["permutation", "gain", "shap"].map((m) => h("option", { value: m, text: t("method_" + m) })));
  const slot = h("div", { id: "importance" });
  const load = () => slot.replaceChildren(later(() => get("/api/v1/runs/" + runId + "/importance?method=" + method.value), importanceView));
  method.addEventListener("change", load);
  load();
  return card(t("importance"), h("label", {}, t("method") + " ", method), slot);
}

// A SHAP row as {feature: value}: a binary or regression model answers one set of
// contributions; a multiclass one a set per class, summed in absolute value here.
function contributions(row) {
  if (row.contributions) return row.contributions;
  const out = {};
  for (const cls of Object.values(row))
    for (const [f, v] of Object.entries(cls.contributions)) out[f] = (out[f] || 0) + Math.abs(v);
  return out;
}

// Feature values scaled to [0, 1] over the sample (null when not a number), for colour.
function colourScale(rows, feature) {
  const vals = rows.map((r) => (typeof r[feature] === "number" ? r[feature] : null));
  const nums = vals.filter((v) => v !== null);
  const lo = Math.min(...nums), hi = Math.max(...nums);
  return vals.map((v) => (v === null ? null : hi > lo ? (v - lo) / (hi - lo) : 0.5));
}

function shapView(rows, s) {
  const phi = s.rows.map(contributions);
  const mean = s.features.map((f) => phi.reduce((a, p) => a + Math.abs(p[f] || 0), 0) / Math.max(1, phi.length));
  const order = s.features.map((f, i) => [f, mean[i]]).sort((a, b) => b[1] - a[1]).slice(0, TOP);
  const names = order.map(([f]) => f);
  return h("div", { id: "shap-summary", "data-rows": String(phi.length), "data-method": s.method },
    h("p.muted", { text: fmt(phi.length) + " " + t("rows") + " · " + s.model + " v" + s.version + " · " + s.method }),
    h("h3", { text: t("shap_mean") }),
    barChart("shap-bars", t("shap_mean"), order.map(([f, v]) => ({ name: f, value: v }))),
    h("h3", { text: t("shap_swarm") }),
    dotPlot("shap-swarm", t("shap_swarm"), names, names.map((f) => phi.map((p) => p[f])), names.map((f) => colourScale(rows, f))),
    h("p.muted", { text: t("shap_colour") }));
}

// The run's model and a sample of its dataset's rows (the target left out), explained.
async function loadShap(runId) {
  const run = await get("/api/v1/runs/" + runId);
  if (!run.model_version || !run.dataset_id) throw new Error(t("shap_needs_model"));
  const preview = await get("/api/v1/datasets/" + run.dataset_id + "/preview?rows=" + SHAP_ROWS);
  const rows = preview.rows.map((r) => { const c = Object.assign({}, r); delete c[run.target]; return c; });
  const s = await post("/api/v1/explain/" + encodeURIComponent(run.model_name) + "/shap", { rows, version: run.model_version });
  return [rows, s];
}

function reportView(d) {
  const list = (key, id) => (Array.isArray(d[key]) && d[key].length ? h("ul", { id }, d[key].map((x) => h("li", { text: typeof x === "string" ? x : JSON.stringify(x) }))) : null);
  return h("div", { id: "ai-report" },
    h("p", { id: "ai-summary", text: d.summary || "" }),
    d.aiInsights ? h("h3", { text: t("insights") }) : null, list("aiInsights", "ai-insights"),
    d.actionPlan ? h("h3", { text: t("action_plan") }) : null, list("actionPlan", "ai-actions"));
}

// The PDF is fetched with the key (a plain link could not send it) and offered as a blob.
async function downloadPdf(runId, slot) {
  try {
    await post("/api/report/generate-pdf/" + runId, { includeCharts: true, includeInsights: true, includeActionPlan: true, lang: lang() });
    const res = await fetch("/api/report/pdf/" + runId + "?lang=" + lang(), { headers: apiKey() ? { "X-API-Key": apiKey() } : {} });
    if (!res.ok) throw new Error("HTTP " + res.status);
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    slot.replaceChildren(h("a", { href: url, download: "report-" + runId + ".pdf", id: "pdf-link", type: blob.type, "data-bytes": String(blob.size), text: t("pdf") + " (" + fmt(Math.round(blob.size / 1024)) + " KB)" }));
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
      importanceCard(id),
      card(t("shap_summary"), later(() => loadShap(id), ([rows, s]) => shapView(rows, s))),
      card(t("report"), later(() => get("/api/report/ai/" + id + "?lang=" + lang()), reportView)),
      card(t("pdf"), h("button", { type: "button", id: "pdf-button", onclick: () => downloadPdf(id, pdf), text: t("pdf") }), pdf)
    );
  };
  main.append(h("h1", { text: t("explain") }), card(null, h("form.stack", { onsubmit: (e) => { e.preventDefault(); show(); } }, h("label", {}, t("run"), run), h("button", { type: "submit", text: t("show") }))), out);
  show();
}
