// Monitor: what /ws/performance sends, as it arrives -- alerts (svc-monitor's
// performance_alert: drift, accuracy under its threshold, a service down), each served
// model's live metrics and the system's health -- then drift per model and feature (a check
// runs the monitor's drift rules: an event is stored and an alert raised when it drifted)
// and the drift events of the last days. There is no alert list route: alerts are events on
// the socket, and the stored drift events are their history.
import { get, openSocket } from "../api.js";
import { card, fmt, h, later, table } from "../dom.js";
import { t } from "../i18n.js";

const KEEP = 100; // alerts kept on the page

function alertRow(msg) {
  const m = msg.metrics || {};
  const drifted = (m.drifted_features || []).map((f) => f.feature).join(", ");
  return h("tr", { class: "alert-" + (msg.severity || "warning"), "data-model": m.model_name || "" },
    h("td", { text: new Date().toLocaleTimeString() }),
    h("td", {}, h("strong", { class: msg.severity === "critical" ? "down" : "warn", text: t("severity_" + (msg.severity || "warning")) })),
    h("td", { text: m.model_name || m.service || "–" }),
    h("td", { text: msg.message || "" }),
    h("td", { text: drifted || (typeof m.accuracy === "number" ? t("accuracy") + " " + fmt(m.accuracy, 3) : "") }));
}

function alertsCard() {
  const body = h("tbody");
  const empty = h("p.muted", { id: "no-alerts", text: t("no_alerts_yet") });
  const live = h("p.muted", { id: "live-state", text: t("loading") });
  const view = h("table", { id: "alerts", hidden: true },
    h("thead", {}, h("tr", {}, [t("time"), t("severity"), t("model_name"), t("message"), t("features")].map((x) => h("th", { scope: "col", text: x })))),
    body);
  return {
    node: card(t("alerts"), live, empty, view),
    live,
    add(msg) {
      empty.remove();
      view.hidden = false;
      body.prepend(alertRow(msg));
      while (body.children.length > KEEP) body.lastChild.remove();
    },
  };
}

// The latest metrics_update of each model and the latest system_health, redrawn in place.
function liveCard() {
  const models = new Map();
  const health = h("p", { id: "system-health", class: "muted", text: t("waiting_live") });
  const slot = h("div", { id: "model-metrics" });
  const redraw = () => slot.replaceChildren(table([
    { key: "model_name", label: t("model_name") },
    { key: "requests", label: t("requests"), num: true },
    { label: t("accuracy"), render: (m) => fmt(m.accuracy, 3), num: true },
    { label: t("response_ms"), render: (m) => fmt(m.response_time, 3), num: true },
  ], [...models.values()]));
  return {
    node: card(t("live_metrics"), health, slot),
    model(m) {
      models.set(m.model_name, m);
      redraw();
    },
    system(s) {
      health.className = "";
      health.textContent = t("cpu") + " " + fmt(s.cpu_usage, 3) + "% · " + t("memory") + " " + fmt(s.memory_usage, 3) + "% · " +
        t("success_rate") + " " + fmt(s.api_success_rate, 4) + "% · " + t("error_rate") + " " + fmt(s.error_rate, 3) + "%";
    },
  };
}

function featureDriftView(d, s) {
  return h("div", { id: "drift-result", "data-model": s.model_name || "" },
    h("p", {}, h("strong", { class: s.drift_detected ? "down" : "up", text: s.drift_detected ? t("drift_detected") : t("no_drift") }),
      " · KL " + fmt(s.kl_divergence, 3) + " (" + t("threshold") + " " + fmt(s.threshold) + ") · " + fmt(d.current_rows) + " / " + fmt(d.reference_rows) + " " + t("rows")),
    table([
      { key: "feature", label: t("column") },
      { key: "method", label: t("method") },
      { label: t("statistic"), render: (f) => fmt(f.statistic, 3), num: true },
      { label: t("threshold"), render: (f) => fmt(f.threshold, 3), num: true },
      { label: t("p_value"), render: (f) => fmt(f.p_value, 3), num: true },
      { label: t("drift"), render: (f) => h("span", { class: f.drift ? "down drifted" : "up", "data-feature": f.feature, text: f.drift ? t("drifted") : "–" }) },
    ], d.features));
}

// Drift per feature of the model picked: the rule check (/api/drift/status, which stores an
// event and raises the alert when it finds drift) and the per-feature table; checked() then
// (the stored events may have changed).
function driftCard(checked) {
  const model = h("select", { id: "drift-model", "aria-label": t("model_name") });
  const slot = h("div");
  const check = () => {
    const name = model.value;
    if (!name) return;
    slot.replaceChildren(later(async () => {
      const s = await get("/api/drift/status?model=" + encodeURIComponent(name));
      const d = await get("/api/v1/models/" + encodeURIComponent(name) + "/drift");
      checked();
      return [d, s];
    }, ([d, s]) => featureDriftView(d, s)));
  };
  get("/api/v1/models").then((d) => model.replaceChildren(...(d.models || []).map((m) => h("option", { value: m.name, text: m.name }))))
    .catch(() => model.replaceChildren());
  return card(t("drift_by_feature"),
    h("form", { onsubmit: (e) => { e.preventDefault(); check(); } }, h("label", {}, t("model_name") + " ", model), " ",
      h("button", { type: "submit", id: "drift-check", text: t("check_drift") })),
    slot);
}

function eventsView(d) {
  return table([
    { key: "timestamp", label: t("time") },
    { key: "model_name", label: t("model_name") },
    { key: "model_version", label: t("version"), num: true },
    { label: "KL", render: (e) => fmt(e.kl_divergence, 3), num: true },
    { key: "level", label: t("level") },
    { label: t("features"), render: (e) => (e.drifted_features || []).map((f) => f.feature).join(", ") },
  ], d.events, t("no_drift_events"));
}

export function render(main) {
  const events = h("div", { id: "drift-events" });
  const loadEvents = () => events.replaceChildren(later(() => get("/api/drift/summary?days=7"), eventsView));
  loadEvents();
  const alerts = alertsCard();
  const live = liveCard();
  const ws = openSocket("/ws/performance");
  ws.onopen = () => (alerts.live.textContent = t("live") + " ✓");
  ws.onclose = () => (alerts.live.textContent = t("live") + " ✗");
  ws.onmessage = (ev) => {
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch (_) {
      return; // not an event of ours
    }
    if (msg.type === "performance_alert") alerts.add(msg);
    else if (msg.type === "metrics_update" && msg.metrics) live.model(msg.metrics);
    else if (msg.type === "system_health" && msg.health) live.system(msg.health);
  };
  main.append(
    h("h1", { text: t("monitor") }),
    alerts.node,
    h("div.grid", {}, driftCard(loadEvents), live.node),
    card(t("drift_events"), events)
  );
  return () => ws.close();
}
