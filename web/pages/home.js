// The landing page: recent runs, models with their champion, services' health, alerts.
import { apiCard, fmt, h, jsonBlock, statusCell, table } from "../dom.js";
import { t } from "../i18n.js";

// The metric a run is judged by: AUC or accuracy for classifiers, RMSE for regressors.
export function mainMetric(m) {
  if (!m) return null;
  for (const k of ["auc", "accuracy", "val_accuracy", "rmse", "r2", "val_loss"])
    if (typeof m[k] === "number") return [k, m[k]];
  return null;
}

function metricText(run) {
  const mm = mainMetric(run.metrics);
  return mm ? mm[0] + " " + fmt(mm[1]) : "–";
}

function runsCard() {
  return apiCard("recent_runs", "/api/v1/runs?limit=10", (d) =>
    table(
      [
        { label: t("model_name"), render: (r) => h("a", { href: "#/runs?id=" + r.run_id, text: r.model_name }) },
        { key: "model", label: t("learner") },
        { label: t("status"), render: (r) => statusCell(r.status) },
        { label: t("metric"), render: metricText },
      ],
      d.runs
    )
  );
}

function modelsCard() {
  return apiCard("models", "/api/v1/models", (d) =>
    table(
      [
        { label: t("model_name"), render: (m) => h("a", { href: "#/models?name=" + encodeURIComponent(m.name), text: m.name }) },
        { key: "task", label: t("task") },
        { label: t("champion"), render: (m) => fmt(m.aliases && m.aliases.champion) },
        { key: "versions", label: t("versions"), num: true },
      ],
      d.models
    )
  );
}

function healthCard() {
  return apiCard("services", "/api/health", (d) =>
    h(
      "div",
      {},
      h("p", {}, t("status") + ": ", h("strong", { class: d.status === "healthy" ? "up" : "down", text: d.status }), " · v" + d.version),
      table(
        [
          { key: "name", label: "" },
          { label: t("status"), render: (c) => h("span", { class: c.up, text: c.up }) },
        ],
        Object.entries(d.checks || {}).map(([name, up]) => ({ name, up }))
      )
    )
  );
}

function alertsCard() {
  return apiCard("alerts", "/api/drift/status", jsonBlock);
}

export function render(main) {
  main.append(h("h1", { text: t("home") }), h("div.grid", {}, runsCard(), modelsCard(), healthCard(), alertsCard()));
}
