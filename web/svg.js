// svg.js -- the explain page's two static charts as small hand-written SVG (uPlot draws
// series over x; these are bars per feature and dots per row): bars with interval whiskers,
// and a beeswarm-like dot plot of SHAP values.
import { fmt } from "./dom.js";

const NS = "http://www.w3.org/2000/svg";
const ROW = 22; // px per feature
const LABEL = 150; // px for the feature names on the left
const PLOT = 420; // px of the value axis

function el(tag, attrs, ...children) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) e.setAttribute(k, v);
  for (const c of children) if (c) e.append(c);
  return e;
}

function text(x, y, s, attrs) {
  const e = el("text", Object.assign({ x, y, "font-size": 12 }, attrs));
  e.textContent = s;
  return e;
}

function svgRoot(id, label, rows, extraBottom) {
  const height = rows * ROW + 24 + (extraBottom || 0);
  return el("svg", { id, role: "img", "aria-label": label, width: LABEL + PLOT + 70, height,
    viewBox: "0 0 " + (LABEL + PLOT + 70) + " " + height });
}

// x scale over [lo, hi] (widened to include 0) onto the plot's width.
function scale(lo, hi) {
  lo = Math.min(0, lo);
  hi = Math.max(0, hi);
  const span = hi - lo || 1;
  return (v) => LABEL + ((v - lo) / span) * PLOT;
}

// items: [{name, value, lo?, hi?}] top to bottom. Each bar carries data-feature and
// data-value; a whisker data-lo / data-hi (what the test reads back).
export function barChart(id, label, items) {
  const svg = svgRoot(id, label, items.length);
  const all = items.flatMap((d) => [d.value, d.lo, d.hi]).filter((v) => typeof v === "number" && isFinite(v));
  const x = scale(Math.min(...all, 0), Math.max(...all, 0));
  items.forEach((d, i) => {
    const y = 8 + i * ROW;
    const v = typeof d.value === "number" && isFinite(d.value) ? d.value : 0;
    svg.append(text(LABEL - 6, y + 12, d.name, { "text-anchor": "end" }));
    svg.append(el("rect", { class: "bar", x: Math.min(x(0), x(v)), y: y + 2, width: Math.max(1, Math.abs(x(v) - x(0))),
      height: ROW - 8, fill: "#2f6fed", "data-feature": d.name, "data-value": v }, el("title", {}, fmt(v, 4))));
    if (typeof d.lo === "number" && typeof d.hi === "number") {
      const cy = y + ROW / 2 - 2;
      svg.append(el("g", { class: "ci", stroke: "#1d2430", "data-feature": d.name, "data-lo": d.lo, "data-hi": d.hi },
        el("line", { x1: x(d.lo), x2: x(d.hi), y1: cy, y2: cy }),
        el("line", { x1: x(d.lo), x2: x(d.lo), y1: cy - 4, y2: cy + 4 }),
        el("line", { x1: x(d.hi), x2: x(d.hi), y1: cy - 4, y2: cy + 4 }),
        el("title", {}, "[" + fmt(d.lo, 3) + ", " + fmt(d.hi, 3) + "]")));
    }
    svg.append(text(LABEL + PLOT + 6, y + 12, fmt(v, 3), { fill: "#667085" }));
  });
  svg.append(el("line", { x1: x(0), x2: x(0), y1: 4, y2: items.length * ROW + 8, stroke: "#667085" }));
  return svg;
}

// One row of dots per feature (top to bottom as given): x is the SHAP value of a row,
// the colour its feature value (blue low to red high; grey when not a number), rows
// that would overlap are nudged up and down (a beeswarm). values[f][r], colours[f][r] in
// [0, 1] or null.
export function dotPlot(id, label, features, values, colours) {
  const svg = svgRoot(id, label, features.length, 20);
  const flat = values.flat().filter((v) => isFinite(v));
  const lo = Math.min(...flat, 0), hi = Math.max(...flat, 0);
  const x = scale(lo, hi);
  features.forEach((name, f) => {
    const y = 8 + f * ROW + ROW / 2 - 2;
    svg.append(text(LABEL - 6, y + 4, name, { "text-anchor": "end" }));
    const g = el("g", { class: "swarm", "data-feature": name });
    const taken = new Map(); // pixel column -> dots already there
    values[f].forEach((v, r) => {
      if (!isFinite(v)) return;
      const px = Math.round(x(v) / 3);
      const k = taken.get(px) || 0;
      taken.set(px, k + 1);
      const dy = ((k % 2 ? 1 : -1) * Math.ceil(k / 2) * 2) % (ROW / 2);
      const c = colours[f][r];
      const fill = c === null || c === undefined ? "#98a2b3" : "rgb(" + Math.round(47 + 145 * c) + "," + Math.round(111 - 57 * c) + "," + Math.round(237 - 193 * c) + ")";
      g.append(el("circle", { cx: x(v).toFixed(1), cy: (y + dy).toFixed(1), r: 2.2, fill, "data-value": v }));
    });
    svg.append(g);
  });
  const bottom = features.length * ROW + 8;
  svg.append(el("line", { x1: x(0), x2: x(0), y1: 4, y2: bottom, stroke: "#667085" }));
  svg.append(text(LABEL, bottom + 16, fmt(lo, 3), { fill: "#667085" }));
  svg.append(text(LABEL + PLOT, bottom + 16, fmt(hi, 3), { fill: "#667085", "text-anchor": "end" }));
  return svg;
}
