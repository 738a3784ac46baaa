// Train: the learner and its parameters come from /openapi.json (the learner table, so a
// new learner appears here with no change); live curves from /ws/training/{run_id}; cancel.
import { get, openSocket, post } from "../api.js";
import { liveChart } from "../chart.js";
import { card, errorCard, fmt, h, statusCell, toast } from "../dom.js";
import { t } from "../i18n.js";

let openapi = null;

async function learners() {
  if (!openapi) openapi = await get("/openapi.json");
  const schemas = openapi.components.schemas;
  return Object.keys(schemas)
    .filter((k) => k.endsWith("_config"))
    .map((k) => ({ name: k.slice(0, -7), schema: schemas[k] }));
}

function paramInputs(schema) {
  const props = schema.properties || {};
  return Object.entries(props).map(([name, p]) => {
    const input = p.enum
      ? h("select", { name }, h("option", { value: "", text: "(" + t("default") + ")" }), p.enum.map((v) => h("option", { value: v, text: v })))
      : h("input", { name, placeholder: p.default === undefined ? "" : String(p.default), "data-type": p.type || "string" });
    return h("label", { title: p.description || "" }, name, input);
  });
}

// The config object from the filled parameter fields (empty ones keep the defaults).
function readParams(box) {
  const config = {};
  for (const el of box.querySelectorAll("input, select")) {
    const v = el.value.trim();
    if (v === "") continue;
    const type = el.dataset.type;
    config[el.name] = type === "integer" || type === "number" ? Number(v) : type === "boolean" ? v === "true" : v;
  }
  return config;
}

export function watchRun(out, runId) {
  const status = h("p", { id: "run-status" }, t("run") + " " + runId + " · ", statusCell("queued"));
  const chartBox = h("div.chart", { id: "curve" });
  const cancel = h("button.secondary", { type: "button", id: "cancel", text: t("cancel") });
  out.replaceChildren(card(t("live_curves"), status, chartBox, cancel));
  const chart = liveChart(chartBox, ["train_loss", "val_loss"], [t("train_loss"), t("val_loss")]);
  const ws = openSocket("/ws/training/" + runId);
  const setStatus = (s, extra) => status.replaceChildren(t("run") + " " + runId + " · ", statusCell(s), extra ? " · " + extra : "");
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.type === "epoch_update") {
      for (const e of msg.epochs || []) chart.push(e.epoch, e.metrics || {});
      chart.redraw();
      chartBox.dataset.points = String(chart.points());
      setStatus("running", t("epoch") + " " + msg.epoch + "/" + msg.total_epochs);
    } else if (msg.type === "training_complete") {
      setStatus("completed");
      cancel.disabled = true;
      get("/api/v1/runs/" + runId).then((r) =>
        status.append(" · ", h("a", { id: "model-link", href: "#/models?name=" + encodeURIComponent(r.model_name), text: r.model_name + " v" + fmt(r.model_version) }))
      );
    } else if (msg.type === "training_failed") {
      setStatus("failed", msg.error || "");
      cancel.disabled = true;
    }
  };
  // what happened before the socket opened: the history so far, and the end if it came
  ws.onopen = async () => {
    try {
      for (const key of ["train_loss", "val_loss"]) {
        const hist = await get("/api/v1/runs/" + runId + "/metrics?key=" + key + "&limit=25000");
        for (const p of hist.history || []) chart.push(p.step, { [key]: p.value });
      }
      chart.redraw();
      chartBox.dataset.points = String(chart.points());
      const r = await get("/api/v1/runs/" + runId);
      if (r.status === "completed") ws.onmessage({ data: JSON.stringify({ type: "training_complete" }) });
      else if (r.status === "failed" || r.status === "canceled") {
        setStatus(r.status, r.error || "");
        cancel.disabled = true;
      }
    } catch (e) {
      toast(e.message, true);
    }
  };
  cancel.addEventListener("click", async () => {
    try {
      await post("/api/v1/runs/" + runId + "/cancel");
      setStatus("canceled");
      cancel.disabled = true;
      toast(t("canceled"));
    } catch (e) {
      toast(e.message, true);
    }
  });
  return () => {
    ws.close();
    chart.destroy();
  };
}

async function datasetOptions(select, chosen) {
  try {
    const d = await get("/api/v1/datasets?limit=50");
    for (const x of d.datasets || []) {
      const id = x.file_id || x.id;
      select.append(h("option", { value: id, selected: id === chosen, text: (x.filename || id) + " (" + fmt(x.rows) + ")" }));
    }
  } catch (e) {
    toast(e.message, true);
  }
  if (chosen && ![...select.options].some((o) => o.value === chosen)) select.append(h("option", { value: chosen, selected: true, text: chosen }));
}

export function render(main, params) {
  const out = h("div", { id: "train-out" });
  const dataset = h("select", { id: "dataset", name: "file_id" });
  const target = h("input", { id: "train-target", placeholder: "label" });
  const learner = h("select", { id: "learner" });
  const modelName = h("input", { id: "model-name" });
  const paramBox = h("div.grid", { id: "params" });
  const start = h("button", { type: "submit", id: "start", text: t("start") });
  let stop = null;
  const form = h("form.stack", {}, h("label", {}, t("dataset"), dataset), h("label", {}, t("target"), target),
    h("label", {}, t("learner"), learner), h("label", {}, t("model_name"), modelName), h("h2", { text: t("parameters") }), paramBox, start);
  main.append(h("h1", { text: t("train") }), card(null, form), out);
  datasetOptions(dataset, params.get("dataset"));
  learners()
    .then((list) => {
      for (const l of list) learner.append(h("option", { value: l.name, text: l.name + " — " + (l.schema.description || "").split(".")[0] }));
      const fill = () => paramBox.replaceChildren(...paramInputs(list.find((l) => l.name === learner.value).schema));
      learner.addEventListener("change", fill);
      fill();
    })
    .catch((e) => paramBox.replaceChildren(errorCard(e)));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { file_id: dataset.value, model: learner.value, config: readParams(paramBox) };
    if (target.value.trim()) body.target = target.value.trim();
    if (modelName.value.trim()) body.model_name = modelName.value.trim();
    try {
      const r = await post("/api/train", body);
      toast(t("started"));
      if (stop) stop();
      stop = watchRun(out, r.run_id);
    } catch (err) {
      toast(err.message + (err.details && err.details.field ? " (" + err.details.field + ")" : ""), true);
    }
  });
  if (params.get("run")) stop = watchRun(out, params.get("run"));
  return () => stop && stop();
}
