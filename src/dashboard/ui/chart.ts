/**
 * The latency chart: recent invocations as an inline SVG line (oldest left), red dots for
 * errors, and dashed p50/p95 guides from the metrics endpoint. Pure SVG elements scaled by
 * viewBox, so it needs no chart library and no inline styles.
 */
import { svg } from "./dom";

export interface Point {
  latencyMs: number;
  ok: boolean;
  label: string;
}

const W = 760;
const H = 190;
const PAD = { l: 44, r: 12, t: 12, b: 22 };

function niceMax(v: number): number {
  if (v <= 0) return 10;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function latencyChart(points: Point[], guides: { p50: number | null; p95: number | null }): SVGSVGElement {
  const max = niceMax(Math.max(1, ...points.map((p) => p.latencyMs), guides.p95 ?? 0));
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const x = (i: number) => PAD.l + (points.length <= 1 ? iw / 2 : (i / (points.length - 1)) * iw);
  const y = (ms: number) => PAD.t + ih - (ms / max) * ih;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": `Latency of the last ${points.length} invocations` });
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const v = max * f;
    root.append(
      svg("line", { x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v), class: "grid" }),
      svg("text", { x: PAD.l - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, `${Math.round(v * 10) / 10}`),
    );
  }
  root.append(svg("text", { x: PAD.l, y: H - 4, class: "axis" }, "older"), svg("text", { x: W - PAD.r, y: H - 4, class: "axis", "text-anchor": "end" }, "newer · ms"));
  for (const [name, v] of [["p50", guides.p50], ["p95", guides.p95]] as const) {
    if (v === null) continue;
    root.append(svg("line", { x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v), class: `guide ${name}` }), svg("text", { x: PAD.l + 4, y: y(v) - 4, class: `axis ${name}` }, `${name} ${v} ms`));
  }
  if (points.length > 1) root.append(svg("polyline", { points: points.map((p, i) => `${x(i)},${y(p.latencyMs)}`).join(" "), class: "line" }));
  points.forEach((p, i) => root.append(svg("circle", { cx: x(i), cy: y(p.latencyMs), r: 3.5, class: p.ok ? "dot" : "dot err" }, svg("title", null, p.label))));
  return root;
}
