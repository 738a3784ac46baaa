// Monitor: drift status per model and feature, and alerts as they arrive on /ws/performance.
import { openSocket } from "../api.js";
import { apiCard, card, h, jsonBlock } from "../dom.js";
import { t } from "../i18n.js";

export function render(main) {
  const alerts = h("ul", { id: "alerts" });
  const live = h("p.muted", { text: t("loading") });
  const ws = openSocket("/ws/performance");
  ws.onopen = () => (live.textContent = t("live") + " ✓");
  ws.onclose = () => (live.textContent = t("live") + " ✗");
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    alerts.prepend(h("li", { text: new Date().toLocaleTimeString() + " " + (msg.type || "") + " " + JSON.stringify(msg.alert || msg.data || msg) }));
  };
  main.append(
    h("h1", { text: t("monitor") }),
    h("div.grid", {},
      card(t("alerts"), live, alerts),
      apiCard("drift", "/api/drift/summary", jsonBlock),
      apiCard("services", "/api/v1/stats", jsonBlock))
  );
  return () => ws.close();
}
