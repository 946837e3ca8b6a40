/**
 * The paper's figures (§5) as hand-written SVG, drawn from scenario results
 * and shaped like the paper's: latency distributions (a histogram with a
 * logarithmic count axis) for Figs. 4-7, min/avg/max bars of base vs. load
 * for the RTOS IRT figures 8-10, completion time per benchmark for Fig. 11
 * (prioritization vs. co-scheduling), min/avg/max bars for Fig. 12, and the
 * SMI (§5.2) and CONFIG_ACPI_PROCESSOR (§5.1) figures.
 *
 * Output is a pure function of the results (fixed number formatting, no
 * dates, no iteration-order accidents), so the same results give the same
 * bytes. A figure whose scenarios are all missing is not drawn.
 */
import { BENCHMARK_NAMES } from './scenario.js';

/** What a figure reads from a scenario result (ScenarioResult fits). */
export interface PlotInput {
  latency: { samples: number; min: number; avg: number; max: number; histogram: Record<string, number> };
  benchmarks?: Record<string, number | null>;
  cpu?: Record<string, { busy: number; idle: number; smm: number }>;
}

export type FigureKind = 'histogram' | 'stats' | 'benchmarks';

export interface FigureSpec {
  /** file name without .svg, e.g. fig4 */
  id: string;
  /** the paper's caption */
  title: string;
  kind: FigureKind;
  /** the scenarios drawn and their legend labels */
  series: { scenario: string; label: string }[];
  /** what the axis measures ("PDLT", "IRT", ...) */
  quantity: string;
}

export const FIGURES: FigureSpec[] = [
  { id: 'fig4', title: 'Fig. 4. Latency of host Linux', kind: 'histogram', quantity: 'PDLT', series: [{ scenario: 'fig4-host-pdlt', label: 'host' }] },
  { id: 'fig5', title: 'Fig. 5. Latency of guest Linux', kind: 'histogram', quantity: 'PDLT', series: [{ scenario: 'fig5-guest-pdlt', label: 'guest' }] },
  { id: 'fig6', title: 'Fig. 6. Latency of guest Linux with prioritization tuning', kind: 'histogram', quantity: 'PDLT', series: [{ scenario: 'fig6-guest-pdlt-prio', label: 'guest, prioritization' }] },
  { id: 'fig7', title: 'Fig. 7. Latency of guest Linux with CPU shielding tuning', kind: 'histogram', quantity: 'PDLT', series: [{ scenario: 'fig7-guest-pdlt-shield', label: 'guest, CPU shielding' }] },
  { id: 'fig8', title: 'Fig. 8. Latency of guest VxWorks', kind: 'stats', quantity: 'IRT', series: [{ scenario: 'fig8-rtos-irt-base', label: 'Base' }, { scenario: 'fig8-rtos-irt-load', label: 'Load' }] },
  { id: 'fig9', title: 'Fig. 9. Latency of VxWorks with CPU shielding tuning', kind: 'stats', quantity: 'IRT', series: [{ scenario: 'fig9-rtos-irt-shield-base', label: 'Base-pin' }, { scenario: 'fig9-rtos-irt-shield-load', label: 'Load-pin' }] },
  { id: 'fig10', title: 'Fig. 10. Latency of VxWorks with prioritization tuning', kind: 'stats', quantity: 'IRT', series: [{ scenario: 'fig10-rtos-irt-prio-base', label: 'Base-prio' }, { scenario: 'fig10-rtos-irt-prio-load', label: 'Load-prio' }] },
  { id: 'fig11', title: 'Fig. 11. Performance with co-scheduling', kind: 'benchmarks', quantity: 'completion time', series: [{ scenario: 'fig11-throughput-prio', label: 'prioritization' }, { scenario: 'fig11-throughput-cosched', label: 'co-scheduling' }] },
  { id: 'fig12', title: 'Fig. 12. Latency of VxWorks with and without co-scheduling', kind: 'stats', quantity: 'IRT', series: [{ scenario: 'fig12-irt-prio', label: 'prioritization' }, { scenario: 'fig12-irt-cosched', label: 'co-scheduling' }] },
  { id: 'smi', title: '§5.2. System management interrupts (USB legacy emulation)', kind: 'histogram', quantity: 'latency', series: [{ scenario: 'smi-usb-legacy', label: 'USB legacy SMIs' }] },
  { id: 'acpi', title: '§5.1. CONFIG_ACPI_PROCESSOR on (C-state exit latency)', kind: 'histogram', quantity: 'latency', series: [{ scenario: 'acpi-processor-on', label: 'acpi_processor on' }] },
];

const W = 720;
const H = 420;
const M = { left: 72, right: 24, top: 48, bottom: 84 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd'];
const FONT = 'font-family="Helvetica,Arial,sans-serif"';

/** Numbers in SVG coordinates: at most 2 decimals, no "-0". */
const f = (x: number): string => {
  const s = (Math.round(x * 100) / 100).toFixed(2).replace(/\.?0+$/, '');
  return s === '-0' ? '0' : s;
};

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A value for a label: 3 significant digits, no exponent below 1e6. */
export function fmtValue(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 100) return String(Math.round(x));
  if (a >= 10) return x.toFixed(1).replace(/\.0$/, '');
  if (a >= 1) return x.toFixed(2).replace(/\.?0+$/, '');
  return x.toPrecision(3).replace(/\.?0+$/, '');
}

/** Round tick marks covering [0, hi] (steps of 1, 2 or 5 × 10^k). */
export function linearTicks(hi: number, count = 5): number[] {
  if (!(hi > 0)) return [0, 1];
  const raw = hi / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let i = 0; i * step < hi + step * 1e-9; i++) ticks.push(Number((i * step).toPrecision(12)));
  if (ticks[ticks.length - 1] < hi) ticks.push(Number((ticks.length * step).toPrecision(12)));
  return ticks;
}

/** Decades 10^lo .. 10^hi covering [min, max] (both > 0). */
export function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(max)));
  return Array.from({ length: hi - lo + 1 }, (_, i) => Number((10 ** (lo + i)).toPrecision(12)));
}

class Svg {
  private parts: string[] = [];

  constructor(title: string) {
    this.parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT} font-size="12">`);
    this.parts.push(`<title>${escapeXml(title)}</title>`);
    this.parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
    this.text(W / 2, 24, title, { anchor: 'middle', size: 15, weight: 'bold' });
  }

  text(x: number, y: number, s: string, o: { anchor?: 'start' | 'middle' | 'end'; size?: number; weight?: string; rotate?: boolean; cls?: string } = {}): void {
    const attrs = [`x="${f(x)}"`, `y="${f(y)}"`];
    if (o.anchor && o.anchor !== 'start') attrs.push(`text-anchor="${o.anchor}"`);
    if (o.size) attrs.push(`font-size="${o.size}"`);
    if (o.weight) attrs.push(`font-weight="${o.weight}"`);
    if (o.rotate) attrs.push(`transform="rotate(-90 ${f(x)} ${f(y)})"`);
    if (o.cls) attrs.push(`class="${o.cls}"`);
    this.parts.push(`<text ${attrs.join(' ')}>${escapeXml(s)}</text>`);
  }

  line(x1: number, y1: number, x2: number, y2: number, stroke = '#000000', dash = false): void {
    this.parts.push(`<line x1="${f(x1)}" y1="${f(y1)}" x2="${f(x2)}" y2="${f(y2)}" stroke="${stroke}" stroke-width="1"${dash ? ' stroke-dasharray="2,3"' : ''}/>`);
  }

  /** A data bar: class "bar" so tests (and styles) can find them. */
  bar(x: number, y: number, w: number, h: number, fill: string, tip: string): void {
    this.parts.push(`<rect class="bar" x="${f(x)}" y="${f(y)}" width="${f(Math.max(0, w))}" height="${f(Math.max(0, h))}" fill="${fill}" fill-opacity="0.85"><title>${escapeXml(tip)}</title></rect>`);
  }

  legend(items: { label: string; color: string }[]): void {
    items.forEach((it, i) => {
      const y = H - 12 - (items.length - 1 - i) * 16;
      this.parts.push(`<rect class="legend" x="${M.left}" y="${f(y - 9)}" width="10" height="10" fill="${it.color}"/>`);
      this.text(M.left + 16, y, it.label);
    });
  }

  raw(s: string): void {
    this.parts.push(s);
  }

  done(): string {
    this.parts.push('</svg>');
    return `${this.parts.join('\n')}\n`;
  }
}

/** The frame: axes, y ticks and grid (linear or log), axis titles. Returns y(value). */
function yAxis(svg: Svg, ticks: number[], log: boolean, title: string, domainLo = ticks[0]): (v: number) => number {
  const lo = log ? Math.log10(domainLo) : domainLo;
  const hi = log ? Math.log10(ticks[ticks.length - 1]) : ticks[ticks.length - 1];
  const y = (v: number): number => {
    const t = log ? Math.log10(Math.max(v, domainLo)) : v;
    return M.top + PH - ((t - lo) / (hi - lo || 1)) * PH;
  };
  for (const t of ticks) {
    svg.line(M.left, y(t), M.left + PW, y(t), '#dddddd', true);
    svg.line(M.left - 5, y(t), M.left, y(t));
    svg.text(M.left - 8, y(t) + 4, fmtValue(t), { anchor: 'end' });
  }
  svg.line(M.left, M.top, M.left, M.top + PH);
  svg.line(M.left, M.top + PH, M.left + PW, M.top + PH);
  svg.text(18, M.top + PH / 2, title, { anchor: 'middle', rotate: true });
  return y;
}

function histogramFigure(spec: FigureSpec, data: { label: string; r: PlotInput }[]): string {
  const svg = new Svg(spec.title);
  const hists = data.map((d) => Object.entries(d.r.latency.histogram).map(([k, n]) => [Number(k), n] as [number, number]).filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]));
  const maxBucket = Math.max(9, ...hists.flat().map(([b]) => b));
  const maxCount = Math.max(1, ...hists.flat().map(([, n]) => n));
  const xTicks = linearTicks(maxBucket + 1, 8);
  const xHi = xTicks[xTicks.length - 1];
  const x = (v: number): number => M.left + (v / xHi) * PW;
  // the count axis starts below 1 so that a bucket of one sample still shows
  const ticks = logTicks(1, maxCount);
  const y = yAxis(svg, ticks, true, 'samples (log scale)', 0.5);
  const floor = M.top + PH;
  for (const t of xTicks) {
    svg.line(x(t), floor, x(t), floor + 5);
    svg.text(x(t), floor + 18, fmtValue(t), { anchor: 'middle' });
  }
  svg.text(M.left + PW / 2, floor + 36, `${spec.quantity} (µs, 1 µs buckets)`, { anchor: 'middle' });
  const n = data.length;
  hists.forEach((h, si) => {
    const color = COLORS[si % COLORS.length];
    for (const [b, c] of h) {
      const bw = (x(b + 1) - x(b)) / n;
      const top = y(c);
      svg.bar(x(b) + si * bw, top, Math.max(bw * 0.9, 1.5), floor - top, color, `${data[si].label}: ${b} µs: ${c}`);
    }
  });
  svg.legend(data.map((d, i) => ({ label: `${d.label}: ${d.r.latency.samples} samples, min ${fmtValue(d.r.latency.min)}, avg ${fmtValue(d.r.latency.avg)}, max ${fmtValue(d.r.latency.max)} µs${maxOutside(d.r)}`, color: COLORS[i % COLORS.length] })));
  return svg.done();
}

/** A note when the maximum lies beyond the histogram's buckets (cyclictest's overflows). */
function maxOutside(r: PlotInput): string {
  const buckets = Object.keys(r.latency.histogram).map(Number);
  const top = buckets.length ? Math.max(...buckets) + 1 : 0;
  return r.latency.max >= top + 1 && buckets.length ? ' (max beyond the histogram)' : '';
}

/** Grouped bars: groups along x, one bar per series in each; values may be null (no bar). */
function barsFigure(spec: FigureSpec, groups: string[], series: { label: string; values: (number | null)[] }[], unit: string): string {
  const svg = new Svg(spec.title);
  const vals = series.flatMap((s) => s.values).filter((v): v is number => v !== null && v > 0);
  const hi = Math.max(...vals, 0);
  const lo = vals.length ? Math.min(...vals) : 0;
  // latencies span decades (avg ~µs, max ~ms under load): a log axis keeps both readable
  const log = lo > 0 && hi / lo > 50;
  const ticks = log ? logTicks(lo, hi) : linearTicks(hi || 1);
  const y = yAxis(svg, ticks, log, `${spec.quantity} (${unit})${log ? ', log scale' : ''}`, log ? ticks[0] / 2 : ticks[0]);
  const floor = M.top + PH;
  const gw = PW / groups.length;
  const bw = (gw * 0.7) / series.length;
  groups.forEach((g, gi) => {
    const gx = M.left + gi * gw + gw * 0.15;
    svg.text(M.left + gi * gw + gw / 2, floor + 18, g, { anchor: 'middle' });
    series.forEach((s, si) => {
      const v = s.values[gi];
      const bx = gx + si * bw;
      if (v === null) {
        svg.text(bx + bw / 2, floor - 4, 'n/a', { anchor: 'middle', size: 10 });
        return;
      }
      const top = y(v);
      svg.bar(bx, top, bw * 0.92, floor - top, COLORS[si % COLORS.length], `${s.label}: ${g}: ${fmtValue(v)} ${unit}`);
      svg.text(bx + bw * 0.46, top - 4, fmtValue(v), { anchor: 'middle', size: 10, cls: 'value' });
    });
  });
  svg.legend(series.map((s, i) => ({ label: s.label, color: COLORS[i % COLORS.length] })));
  return svg.done();
}

/** Benchmark names in the paper's order (SPEC numbers), then any others. */
function benchmarkOrder(keys: string[]): string[] {
  const base = (k: string): string => k.slice(k.lastIndexOf('/') + 1);
  const rank = (k: string): number => {
    const i = BENCHMARK_NAMES.indexOf(base(k));
    return i < 0 ? BENCHMARK_NAMES.length : i;
  };
  return [...new Set(keys)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

const SPEC_NUMBER: Record<string, string> = { gzip: '164.gzip', gcc: '176.gcc', parser: '197.parser', vortex: '255.vortex', bzip2: '256.bzip2', twolf: '300.twolf' };

/** One figure as SVG, or null when none of its scenarios has a result. */
export function renderFigure(spec: FigureSpec, results: Record<string, PlotInput | undefined>): string | null {
  const data = spec.series.filter((s) => results[s.scenario]).map((s) => ({ label: s.label, r: results[s.scenario]! }));
  if (!data.length) return null;
  switch (spec.kind) {
    case 'histogram':
      return histogramFigure(spec, data);
    case 'stats':
      return barsFigure(spec, ['min', 'avg', 'max'], data.map((d) => ({ label: `${d.label} (${d.r.latency.samples} samples)`, values: [d.r.latency.min, d.r.latency.avg, d.r.latency.max] })), 'µs');
    case 'benchmarks': {
      const names = benchmarkOrder(data.flatMap((d) => Object.keys(d.r.benchmarks ?? {})));
      if (!names.length) return null;
      const allMs = data.every((d) => Object.values(d.r.benchmarks ?? {}).every((v) => v === null || v < 1));
      const scale = allMs ? 1e3 : 1;
      const label = (k: string): string => k.replace(/[^/]+$/, (b) => SPEC_NUMBER[b] ?? b);
      return barsFigure(spec, names.map(label), data.map((d) => ({
        label: d.label,
        values: names.map((k) => {
          const v = d.r.benchmarks?.[k];
          return v === undefined || v === null ? null : v * scale;
        }),
      })), allMs ? 'ms' : 's');
    }
  }
}

/** Every figure that has data, in the paper's order. */
export function renderFigures(results: Record<string, PlotInput | undefined>): { spec: FigureSpec; file: string; svg: string }[] {
  const out: { spec: FigureSpec; file: string; svg: string }[] = [];
  for (const spec of FIGURES) {
    const svg = renderFigure(spec, results);
    if (svg !== null) out.push({ spec, file: `${spec.id}.svg`, svg });
  }
  return out;
}
