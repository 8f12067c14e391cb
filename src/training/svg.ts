/**
 * Tiny inline-SVG charts for the model report: no chart library and no script, so the report is one
 * self-contained HTML file that opens anywhere (mail attachment, CI artifact, file://).
 */
import { escapeHtml } from "../lib/html.js";

export const PALETTE = ["#1f6feb", "#d1495b", "#2a9d8f", "#e9a03b", "#7b61ff", "#6c757d"];

export interface Series {
  name: string;
  points: { x: number; y: number }[];
  color?: string;
  dashed?: boolean;
  /** Draw markers instead of (or with) a line. */
  markers?: boolean;
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const FRAME: Frame = { width: 420, height: 320, left: 52, right: 14, top: 16, bottom: 44 };

function fmtTick(v: number): string {
  if (v === 0) return "0";
  if (Math.abs(v) >= 1000) return v.toLocaleString("en", { maximumFractionDigits: 0 });
  return Number(v.toPrecision(3)).toString();
}

function ticks(min: number, max: number, n = 5): number[] {
  if (max <= min) return [min];
  const raw = (max - min) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => (max - min) / s <= n) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toFixed(12)));
  return out;
}

function axes(f: Frame, x: [number, number], y: [number, number], xLabel: string, yLabel: string): { sx: (v: number) => number; sy: (v: number) => number; svg: string } {
  const w = f.width - f.left - f.right;
  const h = f.height - f.top - f.bottom;
  const sx = (v: number) => f.left + ((v - x[0]) / (x[1] - x[0] || 1)) * w;
  const sy = (v: number) => f.top + h - ((v - y[0]) / (y[1] - y[0] || 1)) * h;
  let svg = `<rect x="${f.left}" y="${f.top}" width="${w}" height="${h}" fill="#fff" stroke="#ccc"/>`;
  for (const t of ticks(x[0], x[1])) {
    svg += `<line x1="${sx(t)}" x2="${sx(t)}" y1="${f.top}" y2="${f.top + h}" stroke="#eee"/>`;
    svg += `<text x="${sx(t)}" y="${f.top + h + 14}" text-anchor="middle" class="tick">${fmtTick(t)}</text>`;
  }
  for (const t of ticks(y[0], y[1])) {
    svg += `<line x1="${f.left}" x2="${f.left + w}" y1="${sy(t)}" y2="${sy(t)}" stroke="#eee"/>`;
    svg += `<text x="${f.left - 5}" y="${sy(t) + 4}" text-anchor="end" class="tick">${fmtTick(t)}</text>`;
  }
  svg += `<text x="${f.left + w / 2}" y="${f.height - 8}" text-anchor="middle" class="axis">${escapeHtml(xLabel)}</text>`;
  svg += `<text transform="translate(13 ${f.top + h / 2}) rotate(-90)" text-anchor="middle" class="axis">${escapeHtml(yLabel)}</text>`;
  return { sx, sy, svg };
}

function legend(series: { name: string; color: string; dashed?: boolean }[], f: Frame, corner: "br" | "tr" | "tl"): string {
  const lineH = 16;
  const boxW = 8 + Math.max(...series.map((s) => s.name.length)) * 6.4 + 30;
  const x = corner === "tl" ? f.left + 8 : f.width - f.right - boxW - 6;
  const y0 = corner === "br" ? f.height - f.bottom - series.length * lineH - 8 : f.top + 8;
  let svg = `<rect x="${x}" y="${y0}" width="${boxW}" height="${series.length * lineH + 6}" fill="#fff" fill-opacity="0.85" stroke="#ddd"/>`;
  series.forEach((s, i) => {
    const y = y0 + 12 + i * lineH;
    svg += `<line x1="${x + 6}" x2="${x + 26}" y1="${y - 4}" y2="${y - 4}" stroke="${s.color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/>`;
    svg += `<text x="${x + 32}" y="${y}" class="legend">${escapeHtml(s.name)}</text>`;
  });
  return svg;
}

function open(f: Frame, title: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${f.width} ${f.height}" width="${f.width}" height="${f.height}" role="img" aria-label="${escapeHtml(title)}">`;
}

export function lineChart(opts: {
  title: string;
  series: Series[];
  xLabel: string;
  yLabel: string;
  x?: [number, number];
  y?: [number, number];
  diagonal?: boolean;
  legendCorner?: "br" | "tr" | "tl";
}): string {
  const f = FRAME;
  const xs = opts.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = opts.series.flatMap((s) => s.points.map((p) => p.y));
  const xr = opts.x ?? [Math.min(...xs), Math.max(...xs)];
  const yr = opts.y ?? [Math.min(...ys), Math.max(...ys)];
  const { sx, sy, svg: frame } = axes(f, xr, yr, opts.xLabel, opts.yLabel);
  let svg = open(f, opts.title) + frame;
  if (opts.diagonal) svg += `<line x1="${sx(xr[0])}" y1="${sy(yr[0])}" x2="${sx(xr[1])}" y2="${sy(yr[1])}" stroke="#999" stroke-dasharray="4 4"/>`;
  const named = opts.series.map((s, i) => ({ ...s, color: s.color ?? PALETTE[i % PALETTE.length]! }));
  for (const s of named) {
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (pts.length === 0) continue;
    const d = pts.map((p, i) => `${i ? "L" : "M"}${sx(p.x).toFixed(1)} ${sy(p.y).toFixed(1)}`).join("");
    svg += `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/>`;
    if (s.markers) for (const p of pts) svg += `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${s.color}"/>`;
  }
  svg += legend(named, f, opts.legendCorner ?? "br");
  return svg + "</svg>";
}

/** Horizontal bars, largest first (feature importance). */
export function barChart(opts: { title: string; bars: { label: string; value: number }[]; xLabel: string; color?: string }): string {
  const labelW = 230;
  const barH = 15;
  const f: Frame = { width: 640, height: 40 + opts.bars.length * barH, left: labelW, right: 60, top: 8, bottom: 30 };
  const max = Math.max(...opts.bars.map((b) => b.value), 1e-12);
  const w = f.width - f.left - f.right;
  let svg = open(f, opts.title);
  opts.bars.forEach((b, i) => {
    const y = f.top + i * barH;
    const bw = (b.value / max) * w;
    svg += `<text x="${f.left - 6}" y="${y + barH - 4}" text-anchor="end" class="tick">${escapeHtml(b.label)}</text>`;
    svg += `<rect x="${f.left}" y="${y + 2}" width="${bw.toFixed(1)}" height="${barH - 4}" fill="${opts.color ?? PALETTE[0]}"/>`;
    svg += `<text x="${f.left + bw + 4}" y="${y + barH - 4}" class="tick">${(b.value * 100).toFixed(1)}%</text>`;
  });
  svg += `<text x="${f.left + w / 2}" y="${f.height - 8}" text-anchor="middle" class="axis">${escapeHtml(opts.xLabel)}</text>`;
  return svg + "</svg>";
}

/** Overlaid histograms over shared bin edges (e.g. churned vs retained customers by score). */
export function histogramChart(opts: {
  title: string;
  edges: number[];
  groups: { name: string; counts: number[]; color?: string }[];
  xLabel: string;
  yLabel: string;
  markers?: { x: number; label: string }[];
}): string {
  const f = FRAME;
  const maxCount = Math.max(1, ...opts.groups.flatMap((g) => g.counts));
  const x: [number, number] = [opts.edges[0]!, opts.edges[opts.edges.length - 1]!];
  const { sx, sy, svg: frame } = axes(f, x, [0, maxCount], opts.xLabel, opts.yLabel);
  let svg = open(f, opts.title) + frame;
  const named = opts.groups.map((g, i) => ({ ...g, color: g.color ?? PALETTE[i % PALETTE.length]! }));
  for (const g of named) {
    g.counts.forEach((c, i) => {
      if (c === 0) return;
      const x0 = sx(opts.edges[i]!);
      const x1 = sx(opts.edges[i + 1]!);
      svg += `<rect x="${x0.toFixed(1)}" y="${sy(c).toFixed(1)}" width="${Math.max(0.5, x1 - x0 - 1).toFixed(1)}" height="${(sy(0) - sy(c)).toFixed(1)}" fill="${g.color}" fill-opacity="0.45" stroke="${g.color}"/>`;
    });
  }
  for (const m of opts.markers ?? []) {
    svg += `<line x1="${sx(m.x)}" x2="${sx(m.x)}" y1="${f.top}" y2="${f.height - f.bottom}" stroke="#333" stroke-dasharray="3 3"/>`;
    // Labels near the right edge go on the left of their line so they stay inside the plot.
    const right = m.x > x[0] + (x[1] - x[0]) * 0.85;
    // In the top margin, where neither bars nor the legend can cover it.
    svg += `<text x="${sx(m.x) + (right ? -3 : 3)}" y="${f.top - 4}" text-anchor="${right ? "end" : "start"}" class="tick">${escapeHtml(m.label)}</text>`;
  }
  svg += legend(named, f, "tr");
  return svg + "</svg>";
}
