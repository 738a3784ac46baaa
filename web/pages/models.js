// Models: registered models; one model's versions and aliases, promote, roll back, and a
// predict form that sends rows as JSON to the champion (or a chosen version).
import { get, post } from "../api.js";
import { card, errorCard, fmt, h, later, table, toast } from "../dom.js";
import { t } from "../i18n.js";

function predictForm(name, versions) {
  const version = h("select", { id: "predict-version" }, h("option", { value: "", text: t("champion") }), versions.map((v) => h("option", { value: v.version, text: "v" + v.version })));
  const rows = h("textarea", { id: "instances", rows: 5, cols: 60, text: '[{"column": "value"}]' });
  const out = h("div", { id: "predictions" });
  const form = h("form.stack", {}, h("label", {}, t("version"), version), h("label", {}, t("instances"), rows), h("button", { type: "submit", id: "predict", text: t("predict") }), out);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    let instances;
    try {
      instances = JSON.parse(rows.value);
    } catch (err) {
      out.replaceChildren(h("p.error", { text: err.message }));
      return;
    }
    const q = version.value ? "?version=" + version.value : "";
    try {
      const d = await post("/api/v1/models/" + encodeURIComponent(name) + "/predict" + q, { instances: Array.isArray(instances) ? instances : [instances] });
      out.replaceChildren(table([
        { key: "prediction", label: t("prediction") },
        { label: "p", render: (p) => (p.probabilities ? Object.entries(p.probabilities).map(([k, v]) => k + ": " + fmt(v, 3)).join(", ") : "") },
      ], d.predictions));
    } catch (err) {
      out.replaceChildren(errorCard(err));
    }
  });
  return card(t("predict"), form);
}

function modelView(name, reload) {
  const act = async (path, body, msg) => {
    try {
      await post("/api/v1/models/" + encodeURIComponent(name) + path, body);
      toast(t(msg));
      reload();
    } catch (e) {
      toast(e.message, true);
    }
  };
  return later(
    () => get("/api/v1/models/" + encodeURIComponent(name) + "/versions"),
    (d) => h("div", {},
      card(name + " · " + t("aliases") + ": " + Object.entries(d.aliases || {}).map(([a, v]) => a + "=v" + v).join(", "),
        table([
          { key: "version", label: t("version"), num: true },
          { label: t("aliases"), render: (v) => (v.aliases || []).join(", ") },
          { label: t("metric"), render: (v) => Object.entries(v.metrics || {}).slice(0, 4).map(([k, x]) => k + " " + fmt(x)).join(" · ") },
          { label: "", render: (v) => (v.aliases || []).includes("champion") ? "" : h("button.secondary", { type: "button", onclick: () => act("/promote", { version: v.version }, "promoted"), text: t("promote") }) },
        ], d.versions),
        h("p", {}, h("button.secondary", { type: "button", id: "rollback", onclick: () => act("/rollback", {}, "rolled_back"), text: t("rollback") }))),
      predictForm(name, d.versions || []))
  );
}

export function render(main, params) {
  const detail = h("div", { id: "model-detail" });
  const open = (name) => {
    detail.replaceChildren(modelView(name, () => open(name)));
  };
  main.append(h("h1", { text: t("models") }),
    card(null, later(() => get("/api/v1/models"), (d) => table([
      { label: t("model_name"), render: (m) => h("a", { href: "#/models?name=" + encodeURIComponent(m.name), text: m.name }) },
      { key: "task", label: t("task") },
      { label: t("champion"), render: (m) => fmt(m.aliases && m.aliases.champion) },
      { key: "latest_version", label: t("latest"), num: true },
    ], d.models))),
    detail);
  if (params.get("name")) open(params.get("name"));
}
