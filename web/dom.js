// dom.js -- a few helpers to build the pages without a framework.
import { get } from "./api.js";
import { t } from "./i18n.js";

// h("tag.class", {attr: v, onclick: f}, child, ...): children are nodes, strings or arrays.
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function fmt(v, digits = 4) {
  if (v === null || v === undefined || v === "") return "–";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(digits);
  return String(v);
}

// A table of rows (objects) with columns [{key, label, render?, num?}].
export function table(columns, rows, empty) {
  if (!rows || rows.length === 0) return h("p.muted", { text: empty || t("none") });
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c.label)))),
    h(
      "tbody",
      {},
      rows.map((r) =>
        h(
          "tr",
          {},
          columns.map((c) =>
            h(c.num ? "td.num" : "td", {}, c.render ? c.render(r) : fmt(r[c.key]))
          )
        )
      )
    )
  );
}

export function toast(message, isError) {
  const box = document.getElementById("toast");
  const el = h(isError ? "div.error" : "div", { text: message });
  box.append(el);
  setTimeout(() => el.remove(), isError ? 8000 : 4000);
}

// A card that shows what went wrong, or "not available yet" for a route that is not there.
export function errorCard(err) {
  if (err && err.missing) return h("p.muted", { text: t("not_available") + " (" + err.code + ")" });
  return h("p.error", { text: (err && err.message) || String(err) });
}

export function card(title, ...body) {
  return h("section.card", {}, title ? h("h2", { text: title }) : null, ...body);
}

// Runs loader() and puts what render() makes of its result in place of a placeholder.
export function later(loader, render) {
  const slot = h("div", {}, h("p.muted", { text: t("loading") }));
  loader()
    .then((v) => slot.replaceChildren(render(v)))
    .catch((e) => slot.replaceChildren(errorCard(e)));
  return slot;
}

// A card titled t(titleKey) showing render(the JSON of GET path) once it arrives.
export function apiCard(titleKey, path, render) {
  return card(t(titleKey), later(() => get(path), render));
}

// A JSON value shown as it is, indented.
export function jsonBlock(value, attrs) {
  return h("pre", { ...attrs, text: JSON.stringify(value, null, 2) });
}

export function statusCell(s) {
  return h("span.status-" + s, { text: t("status_" + s) === "status_" + s ? s : t("status_" + s) });
}
