// Data: upload by drag and drop (or the file field, for the keyboard) with progress, the
// validation errors with row and column, then the dataset's profile with each column's
// description, edited in place and saved as the dataset's whole set.
import { get, put, uploadCsv } from "../api.js";
import { apiCard, card, errorCard, fmt, h, later, table, toast } from "../dom.js";
import { t } from "../i18n.js";

function histogram(hist) {
  if (!hist || !hist.counts || hist.counts.length === 0) return "";
  const max = Math.max(...hist.counts, 1);
  return h(
    "span",
    { title: t("histogram") },
    hist.counts.map((c) => h("span.bar", { style: "width:3px;margin-right:1px;height:" + Math.max(1, Math.round((14 * c) / max)) + "px" }))
  );
}

// The correlation matrix as a table of coloured cells (blue positive, red negative).
function heatmap(corr) {
  if (!corr || !corr.features || corr.features.length === 0) return h("p.muted", { text: t("none") });
  const cell = (r) => {
    const a = Math.min(1, Math.abs(r));
    const rgb = r >= 0 ? "47,111,237" : "192,54,44";
    return h("td.num", { style: "background:rgba(" + rgb + "," + a.toFixed(2) + ")", title: fmt(r, 3), text: fmt(r, 2) });
  };
  return h(
    "table",
    { "aria-label": t("correlations") },
    h("tr", {}, h("th"), corr.features.map((f) => h("th", { text: f }))),
    corr.matrix.map((row, i) => h("tr", {}, h("th", { text: corr.features[i] }), row.map(cell)))
  );
}

// The descriptions' inputs (one per column, named by it) and their Save button: the PUT
// replaces the whole set, so every non-empty input is sent; an empty one drops its column's
// description (the API refuses empty text). A refusal names the field: that input is
// marked and the message shown under the table.
function descriptionEditor(datasetId, saved) {
  const inputs = new Map();
  const status = h("p", { id: "descriptions-status", role: "status" });
  const input = (name) => {
    const el = h("input", { class: "desc", name, value: saved[name] || "", size: 28, maxlength: 2000,
      placeholder: t("description_placeholder"), "aria-label": t("description") + ": " + name });
    inputs.set(name, el);
    return el;
  };
  const save = async () => {
    const body = {};
    for (const [name, el] of inputs) {
      el.removeAttribute("aria-invalid");
      if (el.value.trim()) body[name] = el.value.trim();
    }
    status.className = "muted";
    status.textContent = t("saving");
    try {
      const d = await put("/api/v1/datasets/" + datasetId + "/descriptions", body);
      status.className = "up";
      status.textContent = t("saved") + " (" + fmt(d.count) + ")";
    } catch (e) {
      const field = e.details && e.details.field;
      if (field && inputs.has(field)) {
        inputs.get(field).setAttribute("aria-invalid", "true");
        inputs.get(field).focus();
      }
      status.className = "error";
      status.textContent = e.message + (field ? " [" + field + (e.details.position ? " #" + e.details.position : "") + "]" : "");
    }
  };
  const button = h("button", { type: "submit", id: "save-descriptions", text: t("save_descriptions") });
  return { input, status, button, save };
}

export function profileView(p, datasetId, descriptions) {
  const editor = datasetId ? descriptionEditor(datasetId, descriptions || {}) : null;
  const cols = table(
    [
      { key: "name", label: t("column") },
      { key: "type", label: t("type") },
      { label: t("missing"), render: (c) => fmt(c.missing) + " (" + fmt(c.missing_pct, 3) + "%)", num: true },
      { key: "distinct", label: t("distinct"), num: true },
      { key: "mean", label: t("mean"), num: true },
      { label: t("histogram"), render: (c) => histogram(c.histogram) },
      editor ? { label: t("description"), render: (c) => editor.input(c.name) } : null,
    ].filter(Boolean),
    p.columns
  );
  const leaks = table(
    [
      { key: "column", label: t("column") },
      { key: "reason", label: t("type") },
      { key: "detail", label: t("message") },
    ],
    p.leakage
  );
  const summary = h("p", { text: fmt(p.rows) + " " + t("rows") + " · " + fmt(p.column_count) + " " + t("columns") + (p.target ? " · " + t("target") + ": " + p.target : "") });
  return h(
    "div",
    { id: "profile" },
    summary,
    editor ? h("form", { id: "descriptions", onsubmit: (e) => { e.preventDefault(); editor.save(); } }, cols, h("p", {}, editor.button), editor.status) : cols,
    h("h2", { text: t("leakage") }),
    leaks,
    h("h2", { text: t("correlations") }),
    heatmap(p.correlations)
  );
}

function validationView(v) {
  const issues = [...((v && v.errors) || []), ...((v && v.warnings) || [])];
  return table(
    [
      { key: "code", label: t("type") },
      { key: "row", label: t("row"), num: true },
      { key: "column", label: t("column") },
      { key: "message", label: t("message") },
    ],
    issues,
    t("no_issues")
  );
}

function uploadResult(out, d) {
  out.replaceChildren(
    card(
      t("uploaded") + ": " + d.filename,
      h("p", {}, fmt(d.rows) + " " + t("rows") + " · " + fmt(d.column_count) + " " + t("columns") + " · ",
        h("a", { id: "train-link", href: "#/train?dataset=" + d.file_id, text: t("train") + " →" })),
      validationView(d.validation)
    ),
    profileCard(d.file_id)
  );
}

// The profile and the descriptions, read together (the editor starts from what is stored).
function profileCard(id) {
  return card(t("profile"), later(
    () => Promise.all([get("/api/v1/datasets/" + id + "/profile"), get("/api/v1/datasets/" + id + "/descriptions")]),
    ([p, d]) => profileView(p, id, d.descriptions)));
}

function uploadForm(out) {
  const file = h("input", { type: "file", id: "file", accept: ".csv,text/csv" });
  const target = h("input", { id: "target", placeholder: "label" });
  const bar = h("progress", { max: 1, value: 0, hidden: true });
  const drop = h("div.drop", { tabindex: 0, role: "button", text: t("drop_here") });
  const send = async (f) => {
    bar.hidden = false;
    bar.value = 0;
    try {
      const d = await uploadCsv(f, (x) => (bar.value = x), target.value.trim());
      bar.value = 1;
      uploadResult(out, d);
    } catch (e) {
      toast(e.message, true);
      const details = e.details && (e.details.validation || e.details);
      out.replaceChildren(card(t("validation_errors"), errorCard(e), h("div", { id: "validation" }, validationView(details))));
    }
  };
  drop.addEventListener("click", () => file.click());
  drop.addEventListener("keydown", (e) => (e.key === "Enter" || e.key === " ") && file.click());
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files.length) send(e.dataTransfer.files[0]);
  });
  file.addEventListener("change", () => file.files.length && send(file.files[0]));
  return card(t("upload"), h("form.stack", { onsubmit: (e) => e.preventDefault() },
    h("label", {}, t("target"), target), drop, h("label", {}, "CSV", file), bar));
}

function datasetsCard() {
  return apiCard("datasets", "/api/v1/datasets?limit=20", (d) =>
    table(
      [
        { label: t("dataset"), render: (x) => h("a", { href: "#/data?dataset=" + (x.file_id || x.id), text: x.filename }) },
        { key: "rows", label: t("rows"), num: true },
        { label: "", render: (x) => h("a", { href: "#/train?dataset=" + (x.file_id || x.id), text: t("train") }) },
      ],
      d.datasets
    )
  );
}

export function render(main, params) {
  const out = h("div", { id: "upload-result" });
  const shown = params.get("dataset");
  if (shown) out.append(profileCard(shown));
  main.append(h("h1", { text: t("data") }), uploadForm(out), out, datasetsCard());
}
