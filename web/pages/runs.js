// Runs: the list (filtered by status and model name, paginated by the server) and a side
// by side comparison of the runs ticked.
import { get } from "../api.js";
import { card, fmt, h, later, statusCell, table } from "../dom.js";
import { t } from "../i18n.js";
import { mainMetric } from "./home.js";

const PAGE = 50;

function compareView(d) {
  const runs = d.runs || [];
  const keys = (field) => [...new Set(runs.flatMap((r) => Object.keys(r[field] || {})))].sort();
  const rows = (field) =>
    keys(field).map((k) => h("tr", {}, h("th", { text: k }), runs.map((r) => h("td.num", { text: fmt((r[field] || {})[k]) }))));
  return h(
    "table",
    { id: "compare" },
    h("tr", {}, h("th"), runs.map((r) => h("th", { text: r.model_name + " · " + r.model + " · " + r.run_id.slice(0, 8) }))),
    h("tr", {}, h("th", { colspan: runs.length + 1, text: t("parameters") })),
    rows("params"),
    h("tr", {}, h("th", { colspan: runs.length + 1, text: t("metric") })),
    rows("metrics")
  );
}

export function render(main, params) {
  const status = h("select", { id: "filter-status" }, ["", "queued", "running", "completed", "failed", "canceled"].map((s) => h("option", { value: s, text: s ? t("status_" + s) : t("all") })));
  const name = h("input", { id: "filter-name", placeholder: t("model_name") });
  const list = h("div");
  const cmp = h("div");
  let offset = 0;
  const picked = new Set(params.get("id") ? [params.get("id")] : []);
  const load = () => {
    let q = "?limit=" + PAGE + "&offset=" + offset;
    if (status.value) q += "&status=" + status.value;
    if (name.value.trim()) q += "&model_name=" + encodeURIComponent(name.value.trim());
    list.replaceChildren(
      later(() => get("/api/v1/runs" + q), (d) => h("div", {},
        table([
          { label: "", render: (r) => h("input", { type: "checkbox", "aria-label": r.run_id, checked: picked.has(r.run_id), onchange: (e) => (e.target.checked ? picked.add(r.run_id) : picked.delete(r.run_id)) }) },
          { key: "model_name", label: t("model_name") },
          { key: "model", label: t("learner") },
          { label: t("status"), render: (r) => statusCell(r.status) },
          { label: t("metric"), render: (r) => { const m = mainMetric(r.metrics); return m ? m[0] + " " + fmt(m[1]) : "–"; } },
          { key: "created_at", label: "" },
          { label: "", render: (r) => h("a", { href: "#/train?run=" + r.run_id, text: t("live") }) },
        ], d.runs),
        h("p.muted", { text: (offset + 1) + "–" + (offset + (d.runs || []).length) + " / " + fmt(d.total) }),
        h("button.secondary", { type: "button", disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE); load(); }, text: "←" }), " ",
        h("button.secondary", { type: "button", disabled: offset + PAGE >= (d.total || 0), onclick: () => { offset += PAGE; load(); }, text: "→" })))
    );
  };
  const compare = h("button", { type: "button", id: "compare-btn", text: t("compare"),
    onclick: () => picked.size < 2 ? cmp.replaceChildren(h("p.muted", { text: t("select_two") }))
      : cmp.replaceChildren(later(() => get("/api/v1/runs/compare?ids=" + [...picked].join(",")), compareView)) });
  status.addEventListener("change", () => { offset = 0; load(); });
  name.addEventListener("change", () => { offset = 0; load(); });
  main.append(h("h1", { text: t("runs") }), card(null, h("p", {}, t("filter") + ": ", status, " ", name, " ", compare), list), card(t("compare"), cmp));
  load();
}
