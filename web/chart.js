// chart.js -- live line charts on uPlot (web/vendor/uPlot.esm.js, MIT, from npm).
import uPlot from "./vendor/uPlot.esm.js";

const COLOURS = ["#2f6fed", "#c0362c", "#1f8a4c", "#b7791f"];

// A chart of series over x (iterations); push(x, {name: value}) appends one point.
export function liveChart(el, names, labels) {
  const data = [[], ...names.map(() => [])];
  const opts = {
    width: Math.max(320, el.clientWidth || 640),
    height: 240,
    scales: { x: { time: false } },
    series: [{ label: "x" }, ...names.map((n, i) => ({ label: labels[i], stroke: COLOURS[i % COLOURS.length], width: 2 }))],
  };
  const plot = new uPlot(opts, data, el);
  // points by x: the same iteration may come twice (a backfill from the history and the
  // live stream overlap), and the later value wins
  const byX = new Map();
  return {
    points: () => byX.size,
    push(x, values) {
      byX.set(x, Object.assign(byX.get(x) || {}, values));
    },
    redraw() {
      const xs = [...byX.keys()].sort((a, b) => a - b);
      data[0] = xs;
      names.forEach((n, i) => (data[i + 1] = xs.map((x) => (typeof byX.get(x)[n] === "number" ? byX.get(x)[n] : null))));
      plot.setData(data);
    },
    destroy: () => plot.destroy(),
  };
}
