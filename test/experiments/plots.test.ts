/**
 * The paper's figures as SVG: well-formed XML (checked by a small parser
 * here), one bar per non-empty histogram bucket / per value, bars ordered
 * like their values, deterministic bytes, missing data handled.
 */
import { describe, expect, it } from 'vitest';
import { FIGURES, escapeXml, fmtValue, linearTicks, logTicks, renderFigure, renderFigures, type PlotInput } from '../../src/experiments/plots.js';

/** Parse XML just enough to check well-formedness; returns the elements (name, attributes, text inside). */
function parseXml(xml: string): { name: string; attrs: Record<string, string>; text: string }[] {
  const token = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<\/([A-Za-z][\w:-]*)\s*>|<([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/y;
  const stack: { name: string; attrs: Record<string, string>; text: string }[] = [];
  const all: { name: string; attrs: Record<string, string>; text: string }[] = [];
  let roots = 0;
  let pos = 0;
  while (pos < xml.length) {
    token.lastIndex = pos;
    const m = token.exec(xml);
    if (!m) throw new Error(`not well-formed at ${pos}: ${xml.slice(pos, pos + 40)}`);
    pos = token.lastIndex;
    if (m[1]) {
      const open = stack.pop();
      if (open?.name !== m[1]) throw new Error(`</${m[1]}> closes <${open?.name}>`);
    } else if (m[2]) {
      const attrs: Record<string, string> = {};
      for (const a of m[3].matchAll(/([\w:-]+)="([^"]*)"/g)) {
        if (a[1] in attrs) throw new Error(`duplicate attribute ${a[1]}`);
        attrs[a[1]] = a[2];
      }
      const el = { name: m[2], attrs, text: '' };
      if (!stack.length) roots++;
      all.push(el);
      if (!m[4]) stack.push(el);
    } else if (m[5] !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(m[5])) throw new Error(`bad entity in ${m[5]}`);
      if (!stack.length && m[5].trim()) throw new Error('text outside the root');
      if (stack.length) stack[stack.length - 1].text += m[5];
    }
  }
  if (stack.length) throw new Error(`unclosed <${stack[stack.length - 1].name}>`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
  return all;
}

const result = (histogram: Record<string, number>, o: Partial<PlotInput> = {}): PlotInput => {
  const keys = Object.keys(histogram).map(Number);
  const n = Object.values(histogram).reduce((a, b) => a + b, 0);
  return { latency: { samples: n, min: Math.min(...keys), avg: keys.reduce((a, k) => a + k * histogram[k], 0) / n, max: Math.max(...keys), histogram }, ...o };
};
const stats = (min: number, avg: number, max: number): PlotInput => ({ latency: { samples: 100, min, avg, max, histogram: {} } });
const spec = (id: string) => FIGURES.find((f) => f.id === id)!;
const bars = (svg: string) => parseXml(svg).filter((e) => e.name === 'rect' && e.attrs.class === 'bar');

describe('figures', () => {
  it('Fig. 4: one bar per non-empty bucket, taller for more samples (log count axis), a titled, labelled frame', () => {
    const svg = renderFigure(spec('fig4'), { 'fig4-host-pdlt': result({ 1: 5, 2: 1000, 3: 50, 7: 1, 9: 0 }) })!;
    const els = parseXml(svg);
    expect(els[0].name).toBe('svg');
    expect(els.find((e) => e.name === 'title')!.text).toBe('Fig. 4. Latency of host Linux');
    const b = bars(svg);
    expect(b.length).toBe(4);
    const height = (i: number) => Number(b[i].attrs.height);
    // buckets 1, 2, 3, 7 in order: 5, 1000, 50, 1 samples
    expect(height(1)).toBeGreaterThan(height(2));
    expect(height(2)).toBeGreaterThan(height(0));
    expect(height(0)).toBeGreaterThan(height(3));
    expect(height(3)).toBeGreaterThan(0); // one sample still shows
    // log axis: 1000 is three decades above 1, 5 is log10(5) of one
    const decade = (height(1) - height(3)) / 3;
    expect((height(0) - height(3)) / decade).toBeCloseTo(Math.log10(5), 1);
    const texts = els.filter((e) => e.name === 'text').map((e) => e.text);
    expect(texts).toEqual(expect.arrayContaining(['1', '10', '100', '1000', 'samples (log scale)', 'PDLT (µs, 1 µs buckets)']));
    expect(texts.some((t) => t.startsWith('host: 1056 samples'))).toBe(true);
  });

  it('Figs. 8-10, 12: min/avg/max bars per scenario with value labels; log axis when values span decades', () => {
    const lin = renderFigure(spec('fig12'), { 'fig12-irt-prio': stats(10, 20, 112), 'fig12-irt-cosched': stats(10, 21, 130) })!;
    const b = bars(lin);
    expect(b.length).toBe(6);
    expect(parseXml(lin).filter((e) => e.attrs.class === 'value').map((e) => e.text)).toEqual(['10', '10', '20', '21', '112', '130']);
    // bar heights proportional to the values on a linear axis
    expect(Number(b[5].attrs.height) / Number(b[4].attrs.height)).toBeCloseTo(130 / 112, 2);
    expect(lin).not.toContain('log scale');
    const log = renderFigure(spec('fig8'), { 'fig8-rtos-irt-base': stats(1.5, 1.6, 3.7), 'fig8-rtos-irt-load': stats(1.2, 199, 3969) })!;
    expect(bars(log).length).toBe(6);
    expect(log).toContain('IRT (µs), log scale');
    // only one of the two scenarios ran: its three bars
    expect(bars(renderFigure(spec('fig9'), { 'fig9-rtos-irt-shield-load': stats(1, 2, 3) })!).length).toBe(3);
  });

  it('Fig. 11: a bar per benchmark and scenario in SPEC order; n/a for a benchmark that did not finish', () => {
    const prio = { latency: stats(1, 2, 3).latency, benchmarks: { bzip2: 1.2, gzip: 0.5, gcc: 0.8, parser: 0.3, vortex: 0.9, twolf: null } };
    const cosched = { latency: stats(1, 2, 3).latency, benchmarks: { gzip: 0.2, gcc: 0.3, parser: 0.1, vortex: 0.4, bzip2: 0.5, twolf: 0.6 } };
    const svg = renderFigure(spec('fig11'), { 'fig11-throughput-prio': prio, 'fig11-throughput-cosched': cosched })!;
    expect(bars(svg).length).toBe(11);
    const texts = parseXml(svg).filter((e) => e.name === 'text').map((e) => e.text);
    const groups = texts.filter((t) => /^\d{3}\./.test(t));
    expect(groups).toEqual(['164.gzip', '176.gcc', '197.parser', '255.vortex', '256.bzip2', '300.twolf']);
    expect(texts.filter((t) => t === 'n/a').length).toBe(1);
    expect(texts).toContain('completion time (s)');
    // no benchmarks at all: no figure
    expect(renderFigure(spec('fig11'), { 'fig11-throughput-prio': stats(1, 2, 3) })).toBeNull();
  });

  it('is deterministic: same results, same bytes, whatever the key order', () => {
    const a = { 'fig5-guest-pdlt': result({ 3: 10, 40: 2, 1200: 1 }), 'fig8-rtos-irt-base': stats(1, 2, 3) };
    const b = { 'fig8-rtos-irt-base': stats(1, 2, 3), 'fig5-guest-pdlt': result({ 1200: 1, 40: 2, 3: 10 }) };
    const fa = renderFigures(a);
    expect(fa.map((f) => f.file)).toEqual(['fig5.svg', 'fig8.svg']);
    expect(renderFigures(b)).toEqual(fa);
    for (const f of fa) parseXml(f.svg);
  });

  it('draws every paper figure that has data, and none without', () => {
    expect(renderFigures({})).toEqual([]);
    const all: Record<string, PlotInput> = {};
    for (const f of FIGURES) for (const s of f.series) all[s.scenario] = { ...result({ 2: 3, 5: 1 }), benchmarks: { gzip: 0.1 } };
    const figs = renderFigures(all);
    expect(figs.map((f) => f.spec.id)).toEqual(['fig4', 'fig5', 'fig6', 'fig7', 'fig8', 'fig9', 'fig10', 'fig11', 'fig12', 'smi', 'acpi']);
    for (const f of figs) expect(bars(f.svg).length).toBe(f.spec.kind === 'histogram' ? 2 * f.spec.series.length : f.spec.kind === 'stats' ? 3 * f.spec.series.length : f.spec.series.length);
  });

  it('helpers: escaping, ticks, value labels (and the test\'s XML check rejects broken XML)', () => {
    expect(() => parseXml('<svg><rect></svg>')).toThrow();
    expect(() => parseXml('<svg><text>a & b</text></svg>')).toThrow();
    expect(() => parseXml('<svg x="1" x="2"/>')).toThrow();
    expect(() => parseXml('<svg/><svg/>')).toThrow();
    expect(escapeXml('a<b & "c">')).toBe('a&lt;b &amp; &quot;c&quot;&gt;');
    expect(linearTicks(130)).toEqual([0, 50, 100, 150]);
    expect(linearTicks(1.2)).toEqual([0, 0.5, 1, 1.5]);
    expect(logTicks(1.2, 3969)).toEqual([1, 10, 100, 1000, 10000]);
    expect(logTicks(0.3, 0.5)).toEqual([0.1, 1]);
    expect([fmtValue(1181.96), fmtValue(19.96), fmtValue(1.5), fmtValue(0.605), fmtValue(0)]).toEqual(['1182', '20', '1.5', '0.605', '0']);
  });
});
