/**
 * The Perfetto trace export of a short real scenario run: the structure that
 * ui.perfetto.dev / chrome://tracing need (field types, balanced and
 * properly nested slices, paired flows, monotone time per track, a JSON
 * round trip), and that its content matches the run (what ran on the CPUs,
 * VM exits against the exit counts, one flow per Fig. 2 record), plus the
 * event cap.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/experiments/scenario.js';
import { runScenario } from '../../src/experiments/run-scenario.js';
import { PerfettoRecorder } from '../../src/trace/perfetto.js';

interface Ev {
  ph: string;
  name: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  id?: number;
  s?: string;
  bp?: string;
  args?: Record<string, unknown>;
}

function record(loops: number, maxEvents?: number) {
  let rec: PerfettoRecorder | undefined;
  const run = runScenario(loadScenario('fig8-rtos-irt-load'), { loops }, { onSystem: (sys) => { rec = new PerfettoRecorder(sys, { maxEvents }); } });
  return { run, rec: rec! };
}

/** Every structural rule the trace must keep; returns the events. */
function validate(json: { traceEvents: unknown[] }): Ev[] {
  const evs = JSON.parse(JSON.stringify(json)).traceEvents as Ev[];
  expect(evs).toEqual(json.traceEvents); // round trip: nothing lost (no undefined, NaN, Infinity)
  const lastTs = new Map<string, number>();
  const open = new Map<string, number[]>(); // B/E stack per track
  const slices = new Map<string, { ts: number; end: number }[]>();
  const flows = new Map<number, string[]>();
  for (const e of evs) {
    expect(typeof e.ph).toBe('string');
    expect(typeof e.name).toBe('string');
    expect(Number.isInteger(e.pid)).toBe(true);
    expect(Number.isInteger(e.tid)).toBe(true);
    expect(typeof e.ts).toBe('number');
    expect(Number.isFinite(e.ts) && e.ts >= 0).toBe(true);
    expect(['M', 'X', 'B', 'E', 'i', 's', 'f']).toContain(e.ph);
    const track = `${e.pid}/${e.tid}`;
    if (e.ph === 'M') continue;
    expect(e.ts).toBeGreaterThanOrEqual(lastTs.get(track) ?? 0);
    lastTs.set(track, e.ts);
    if (e.ph === 'X') {
      expect(typeof e.dur).toBe('number');
      expect(e.dur!).toBeGreaterThanOrEqual(0);
      const list = slices.get(track) ?? [];
      list.push({ ts: e.ts, end: e.ts + e.dur! });
      slices.set(track, list);
    } else if (e.ph === 'B') (open.get(track) ?? open.set(track, []).get(track)!).push(e.ts);
    else if (e.ph === 'E') expect(open.get(track)?.pop()).toBeDefined();
    else if (e.ph === 'i') expect(['t', 'p', 'g']).toContain(e.s);
    else {
      expect(Number.isInteger(e.id)).toBe(true);
      flows.set(e.id!, [...(flows.get(e.id!) ?? []), e.ph]);
    }
  }
  for (const st of open.values()) expect(st).toEqual([]);
  for (const phs of flows.values()) expect(phs).toEqual(['s', 'f']);
  // complete slices on a track nest properly (sorted by start, parents first): no partial overlap
  const EPS = 1e-6;
  for (const list of slices.values()) {
    const stack: number[] = [];
    for (const s of list) {
      while (stack.length && stack[stack.length - 1] <= s.ts + EPS) stack.pop();
      if (stack.length) expect(s.end).toBeLessThanOrEqual(stack[stack.length - 1] + EPS);
      stack.push(s.end);
    }
  }
  return evs;
}

describe('PerfettoRecorder', () => {
  let run: ReturnType<typeof record>['run'];
  let rec: PerfettoRecorder;
  let json: ReturnType<PerfettoRecorder['toJSON']>;
  let evs: Ev[];
  beforeAll(() => {
    ({ run, rec } = record(10));
    json = rec.toJSON();
    evs = validate(json);
  });
  const meta = (name: string) => evs.filter((e) => e.ph === 'M' && e.name === name).map((e) => e.args!.name);

  it('has a track per pCPU, host thread and vCPU, named by metadata', () => {
    expect(meta('process_name')).toEqual(['pCPUs', 'host threads', 'VM rtos', 'VM gpos']);
    const threads = meta('thread_name');
    expect(threads).toEqual(expect.arrayContaining(['CPU 0', 'CPU 1', 'rtos/vcpu0', 'gpos/vcpu0', 'gpos/io', 'vcpu0 guest mode', 'vcpu0 interrupts (Fig. 2)']));
    // every track used is named
    const named = new Set(evs.filter((e) => e.name === 'thread_name').map((e) => `${e.pid}/${e.tid}`));
    for (const e of evs) if (e.ph !== 'M') expect(named.has(`${e.pid}/${e.tid}`)).toBe(true);
  });

  it('shows what ran on each pCPU: host threads, guests nested in vCPU threads', () => {
    const cpuTid = (c: number) => evs.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.args!.name === `CPU ${c}`)!.tid;
    for (const c of [0, 1]) {
      const names = new Set(evs.filter((e) => e.ph === 'X' && e.tid === cpuTid(c)).map((e) => e.name));
      expect([...names].some((n) => n.startsWith('swapper/') || n.endsWith('/vcpu0'))).toBe(true);
    }
    const all = new Set(evs.filter((e) => e.ph === 'X' && (e.tid === cpuTid(0) || e.tid === cpuTid(1))).map((e) => e.name));
    expect(all).toContain('guest rtos');
    expect(all).toContain('guest gpos');
    expect(all).toContain('rtos/vcpu0');
  });

  it('has one instant per VM exit with the reason, and injections with their vector', () => {
    const exits = evs.filter((e) => e.ph === 'i' && e.args && 'reason' in e.args);
    const expected = Object.values(run.result.exits).reduce((a, m) => a + Object.values(m).reduce((x, y) => x + y, 0), 0);
    expect(exits.length).toBeGreaterThanOrEqual(expected);
    const ext = exits.filter((e) => e.args!.reason === 'EXTERNAL_INTERRUPT').length;
    expect(ext).toBe(Object.values(run.result.exits).reduce((a, m) => a + (m.EXTERNAL_INTERRUPT ?? 0), 0));
    const inj = evs.filter((e) => e.ph === 'i' && e.name.startsWith('inject vector'));
    expect(inj.length).toBeGreaterThan(0);
    for (const e of inj) expect(e.name).toBe(`inject vector ${e.args!.vector}`);
  });

  it('draws every delivered interrupt: a flow from raise to guest ISR and its six Fig. 2 stages', () => {
    const starts = evs.filter((e) => e.ph === 's');
    const deliveries = evs.filter((e) => e.ph === 'X' && e.name.startsWith('interrupt vector'));
    expect(deliveries.length).toBe(starts.length);
    // the measured vCPU's timer interrupts are at least the IRT samples
    const rtosTimer = deliveries.filter((e) => e.name.endsWith('(timer)'));
    expect(rtosTimer.length).toBeGreaterThanOrEqual(run.result.latency.samples);
    const stages = evs.filter((e) => e.ph === 'X' && e.name === 'host ISR (d-c)');
    expect(stages.length).toBe(deliveries.length);
    // the longest delivery of the RTOS matches the ground-truth maximum (µs, rounded to ns)
    const rtosPid = evs.find((e) => e.name === 'process_name' && e.args!.name === 'VM rtos')!.pid;
    const maxDur = Math.max(...deliveries.filter((e) => e.pid === rtosPid && e.name.endsWith('(timer)')).map((e) => e.dur!));
    expect(Math.abs(maxDur - run.result.ground_truth!.max)).toBeLessThan(0.01);
  });

  it('writes the same JSON as toJSON to a file', () => {
    const f = path.join(mkdtempSync(path.join(tmpdir(), 'vmxsim-pf-')), 't.json');
    rec.writeFile(f);
    expect(JSON.parse(readFileSync(f, 'utf8'))).toEqual(JSON.parse(JSON.stringify(json)));
  });

  it('caps the events and says so, staying well-formed', () => {
    const small = record(3, 500).rec;
    const j = small.toJSON();
    expect(small.truncated).toBe(true);
    expect(small.dropped).toBeGreaterThan(0);
    expect(j.otherData).toMatchObject({ truncated: true, max_events: 500 });
    const e = validate(j);
    const nonMeta = e.filter((x) => x.ph !== 'M');
    expect(nonMeta.length).toBeLessThanOrEqual(500 + 20); // the cap plus the spans still open
    expect(nonMeta.some((x) => x.name.startsWith('trace truncated'))).toBe(true);
  });
});
