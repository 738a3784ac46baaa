// Data: upload by drag and drop (or the file field, for the keyboard) with progress, the
// validation errors with row and column, then the dataset's profile.
import { uploadCsv } from "../api.js";
import { apiCard, card, errorCard, fmt, h, table, toast } from "../dom.js";
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

export function profileView(p) {
  const cols = table(
    [
      { key: "name", label: t("column") },
      { key: "type", label: t("type") },
      { label: t("missing"), render: (c) => fmt(c.missing) + " (" + fmt(c.missing_pct, 3) + "%)", num: true },
      { key: "distinct", label: t("distinct"), num: true },
      { key: "mean", label: t("mean"), num: true },
      { label: t("histogram"), render: (c) => histogram(c.histogram) },
    ],
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
  return h(
    "div",
    { id: "profile" },
    h("p", { text: fmt(p.rows) + " " + t("rows") + " · " + fmt(p.column_count) + " " + t("columns") + (p.target ? " · " + t("target") + ": " + p.target : "") }),
    cols,
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
    apiCard("profile", "/api/v1/datasets/" + d.file_id + "/profile", profileView)
  );
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
        { key: "filename", label: t("dataset") },
        { key: "rows", label: t("rows"), num: true },
        { label: "", render: (x) => h("a", { href: "#/train?dataset=" + (x.file_id || x.id), text: t("train") }) },
      ],
      d.datasets
    )
  );
}

export function render(main) {
  const out = h("div", { id: "upload-result" });
  main.append(h("h1", { text: t("data") }), uploadForm(out), out, datasetsCard());
}
