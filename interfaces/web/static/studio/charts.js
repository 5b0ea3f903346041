// Small charts as inline SVG (no library): a line chart for time series (bitrate, viewers, engagement) and a
// bar chart for shares and funnels. Each is an <svg role="img"> with a text summary for screen readers and a
// viewBox, so it scales to the card it sits in. Colours come from CSS variables (--chart-1 …).

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Line chart. series: [{name, points: [[x, y], …]}] with x a number (ms or index). Replaces el's content. */
export function lineChart(el, series, { height = 160, format = String, xFormat = null, label = "" } = {}) {
  const W = 320, H = height, L = 42, R = 8, T = 10, B = xFormat ? 22 : 10;
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  const yMax = niceMax(Math.max(0, ...ys));
  const sx = (x) => (x1 === x0 ? L + (W - L - R) : L + ((x - x0) / (x1 - x0)) * (W - L - R));
  const sy = (y) => T + (1 - y / yMax) * (H - T - B);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart chart-line",
                            preserveAspectRatio: "none" });
  const last = series.map((s) => `${s.name}: ${s.points.length ? format(s.points.at(-1)[1]) : "—"}`).join(", ");
  root.append(svg("title", {}, `${label} ${last}`.trim()));
  for (const f of [0, 0.5, 1]) {
    const y = sy(yMax * f);
    root.append(svg("line", { x1: L, x2: W - R, y1: y, y2: y, class: "grid" }));
    root.append(svg("text", { x: L - 4, y: y + 3, class: "tick", "text-anchor": "end" }, format(yMax * f)));
  }
  if (xFormat && all.length) {
    root.append(svg("text", { x: L, y: H - 6, class: "tick" }, xFormat(x0)));
    root.append(svg("text", { x: W - R, y: H - 6, class: "tick", "text-anchor": "end" }, xFormat(x1)));
  }
  series.forEach((s, i) => {
    if (!s.points.length) return;
    const d = s.points.map((p, j) => `${j ? "L" : "M"}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join("");
    root.append(svg("path", { d, class: `series s${i + 1}`, fill: "none", "vector-effect": "non-scaling-stroke" }));
    const [lx, ly] = s.points.at(-1);
    root.append(svg("circle", { cx: sx(lx), cy: sy(ly), r: 2.5, class: `dot s${i + 1}` }));
  });
  if (!all.length) root.append(svg("text", { x: W / 2, y: H / 2, class: "empty", "text-anchor": "middle" }, "—"));
  el.replaceChildren(root);
  if (series.length > 1) {
    const legend = document.createElement("div");
    legend.className = "legend";
    series.forEach((s, i) => {
      const item = document.createElement("span");
      item.className = `key s${i + 1}`;
      item.textContent = s.name;
      legend.append(item);
    });
    el.append(legend);
  }
  return root;
}

/** Horizontal bars: rows [{label, value}], longest = full width. Values printed with format. */
export function barChart(el, rows, { format = String, label = "" } = {}) {
  const W = 320, row = 26, H = Math.max(row, rows.length * row);
  const max = Math.max(0, ...rows.map((r) => r.value)) || 1;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart chart-bar" });
  root.append(svg("title", {}, `${label} ${rows.map((r) => `${r.label}: ${format(r.value)}`).join(", ")}`.trim()));
  rows.forEach((r, i) => {
    const y = i * row;
    const w = Math.max(1, (r.value / max) * (W - 120));
    root.append(svg("text", { x: 0, y: y + 16, class: "bar-label" }, String(r.label).slice(0, 16)));
    root.append(svg("rect", { x: 110, y: y + 4, width: w, height: row - 10, rx: 3, class: `bar s${(i % 5) + 1}` }));
    root.append(svg("text", { x: 114 + w, y: y + 16, class: "bar-value" }, format(r.value)));
  });
  if (!rows.length) root.append(svg("text", { x: W / 2, y: 17, class: "empty", "text-anchor": "middle" }, "—"));
  el.replaceChildren(root);
  return root;
}

/** A rolling series kept for live charts: push(y) adds a point at now, keeping the last `size`. */
export class Rolling {
  constructor(size = 60) { this.size = size; this.points = []; }
  push(y, x = Date.now()) {
    this.points.push([x, Number(y) || 0]);
    if (this.points.length > this.size) this.points.shift();
    return this;
  }
}
