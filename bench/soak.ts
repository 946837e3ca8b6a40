/**
 * `npm run soak [-- --scenario NAME] [-- --seconds S] [-- --sample S]`: a
 * long run of a scenario (default fig10-rtos-irt-prio-load, 20 simulated
 * seconds) that samples the process's memory every `--sample` simulated
 * seconds and says whether it stays flat after warm-up: the least-squares
 * slope of the heap (after a GC, when node runs with --expose-gc) over the
 * samples after the first quarter, in MB per simulated second, and what
 * that slope would add over the paper's full 100,000-loop runs. Also
 * checks that the run's state stays sane: the trace keeps counting and the
 * machine never stops early. Wall-clock time is read here (tooling), never
 * in the model.
 */
import { loadScenario } from '../src/experiments/scenario.js';
import { runScenario } from '../src/experiments/run-scenario.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
}

const name = arg('scenario', 'fig10-rtos-irt-prio-load');
const seconds = Number(arg('seconds', '20'));
const sampleEvery = Number(arg('sample', String(Math.max(0.1, seconds / 40))));
if (!(seconds > 0) || !(sampleEvery > 0)) {
  console.error('usage: npm run soak -- [--scenario NAME] [--seconds S] [--sample S]');
  process.exit(2);
}
const gc = (globalThis as { gc?: () => void }).gc;
const scenario = loadScenario(name);
const interval = scenario.measurement.interval_us;
// enough loops that the benchmark is still running at the end: the duration bounds the run
const loops = Math.min(1_000_000, Math.ceil((seconds * 1e6) / interval) + 1000);
const samples: { s: number; heapMB: number; rssMB: number; wallS: number; events: number }[] = [];
let nextSample = 0;
let trace: { count: number } | null = null;
const t0 = performance.now();
const mb = (b: number): number => b / (1 << 20);
console.log(`soak: ${name}, ${seconds} simulated s, memory every ${sampleEvery} s${gc ? '' : ' (no --expose-gc: heap figures include garbage)'}`);
const run = runScenario(scenario, { loops, durationNs: Math.round(seconds * 1e9) }, {
  onSystem: (sys) => { trace = sys.machine.trace; },
  onProgress: (doneNs) => {
    const s = doneNs / 1e9;
    if (s + 1e-9 < nextSample) return;
    nextSample += sampleEvery;
    gc?.();
    const m = process.memoryUsage();
    const smp = { s, heapMB: mb(m.heapUsed), rssMB: mb(m.rss), wallS: (performance.now() - t0) / 1000, events: trace?.count ?? 0 };
    samples.push(smp);
    console.log(`  ${s.toFixed(2).padStart(7)} s simulated  heap ${smp.heapMB.toFixed(1).padStart(7)} MB  rss ${smp.rssMB.toFixed(1).padStart(7)} MB  trace ${smp.events} events  (${smp.wallS.toFixed(1)} s wall)`);
  },
});

function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) { num += (xs[i] - mx) * (ys[i] - my); den += (xs[i] - mx) ** 2; }
  return den ? num / den : 0;
}

const warm = samples.filter((x) => x.s >= seconds / 4);
const heapSlope = warm.length >= 3 ? slope(warm.map((x) => x.s), warm.map((x) => x.heapMB)) : NaN;
const rssSlope = warm.length >= 3 ? slope(warm.map((x) => x.s), warm.map((x) => x.rssMB)) : NaN;
const paperSeconds = 100_000 * interval / 1e6;
const wall = (performance.now() - t0) / 1000;
console.log(`\nstopped: ${run.stopped}, trace hash ${run.sys.machine.trace.hash}, ${run.result.latency.samples} samples, max ${run.result.latency.max} us`);
console.log(`wall ${wall.toFixed(1)} s for ${seconds} simulated s (${(seconds / wall).toFixed(3)} simulated s per wall s)`);
console.log(`after warm-up (${warm.length} samples from ${(seconds / 4).toFixed(1)} s): heap slope ${heapSlope.toFixed(3)} MB/simulated s, rss slope ${rssSlope.toFixed(3)} MB/s`);
console.log(`  over the paper's 100,000 loops (${paperSeconds} simulated s) the heap would grow ${(heapSlope * paperSeconds).toFixed(0)} MB`);
const flat = Math.abs(heapSlope * paperSeconds) < 64;
console.log(flat ? 'memory: flat (less than 64 MB over a full-length run)' : 'memory: GROWING — something keeps per-event or per-sample state without bound');
process.exitCode = flat ? 0 : 1;
