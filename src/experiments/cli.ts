/**
 * CLI commands of the experiments: `list` (the built-in scenarios) and
 * `run SCENARIO|FILE.json [--loops N] [--interval US] [--duration T]
 * [--seed S] [--json FILE] [--trace FILE] [--histogram N] [--histfile FILE]
 * [--set key=value ...] [--cyclictest-json FILE] [--quiet]`.
 * Wall-clock time (wall_ms, the progress bar) is read here only.
 */
import * as fs from 'node:fs';
import { UsageError, EXIT_MACHINE, EXIT_OK } from '../cli/errors.js';
import { PerfettoRecorder } from '../trace/perfetto.js';
import { applySets, builtinScenarioNames, HOST, loadScenario, measuredVm, readScenarioJson, ScenarioError, validateScenario, type Scenario } from './scenario.js';
import { applyOverrides, formatHistogram, quickOverrides, runScenario, type RunOverrides, type ScenarioRun } from './run-scenario.js';
import { progressBar } from './progress.js';
import { readScenarioCheckpoint, writeScenarioCheckpoint } from './checkpoint.js';
import { cyclictestJson } from './cyclictest-json.js';

export function listCommand(): number {
  const names = builtinScenarioNames();
  const w = Math.max(...names.map((n) => n.length));
  for (const n of names) console.log(`${n.padEnd(w)}  ${loadScenario(n).description}`);
  return EXIT_OK;
}

export interface ScenarioCliOptions {
  loops?: number;
  interval?: number;
  /** simulated-time bound: `10s`, `500ms`, `250us` or seconds */
  duration?: string | number;
  seed?: number;
  json?: string;
  trace?: string;
  histogram?: number;
  histfile?: string;
  set?: string[];
  cyclictestJson?: string;
  quiet?: boolean;
  /** the scenario's quick sizes (before --loops/--interval) */
  quick?: boolean;
  /** save a checkpoint at this simulated time (like --duration) to `checkpoint`, then run on (src/experiments/checkpoint.ts) */
  checkpointAt?: string | number;
  checkpoint?: string;
  /** continue the run saved in this checkpoint (the scenario and its overrides come from it) */
  restore?: string;
}

/** `10s`, `500ms`, `250us`, `2` (seconds) → ns. */
export function parseDuration(v: string | number): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|ms|us|µs|m)?\s*$/.exec(String(v));
  if (!m) throw new UsageError(`--duration ${v}: expected a simulated time like 10s, 500ms, 250us or a number of seconds`);
  const mult = { s: 1e9, ms: 1e6, us: 1e3, µs: 1e3, m: 60e9 }[(m[2] ?? 's') as 's'];
  const ns = Math.round(Number(m[1]) * mult);
  if (!(ns > 0)) throw new UsageError(`--duration ${v}: must be more than zero`);
  return ns;
}

/** The scenario a `run` names, with --set applied and validated (one-line errors). */
export function resolveScenario(arg: string, sets: readonly string[] = []): Scenario {
  const { value, source } = readScenarioJson(arg);
  return validateScenario(sets.length ? applySets(value, sets, source) : value, source);
}

export function scenarioCommand(arg: string, o: ScenarioCliOptions): number {
  const check = (name: string, v: number | undefined, lo: number, hi: number): void => {
    if (v !== undefined && (!Number.isInteger(v) || v < lo || v > hi)) throw new UsageError(`--${name} ${v}: expected an integer ${lo}-${hi}`);
  };
  check('loops', o.loops, 1, 1_000_000);
  check('interval', o.interval, 1, 1_000_000);
  check('histogram', o.histogram, 1, 1000);
  check('seed', o.seed, 0, 0xffffffff);
  const durationNs = o.duration !== undefined ? parseDuration(o.duration) : undefined;
  if ((o.checkpointAt === undefined) !== (o.checkpoint === undefined)) throw new UsageError('--checkpoint-at T and --checkpoint FILE go together');
  const checkpointAtNs = o.checkpointAt !== undefined ? parseDuration(o.checkpointAt) : undefined;
  if (o.restore !== undefined) {
    const given = (['loops', 'interval', 'histogram', 'seed', 'duration', 'set', 'quick'] as const).filter((k) => o[k] !== undefined && o[k] !== false);
    if (given.length) throw new UsageError(`--restore continues the run as it was saved: drop --${given.join(', --')}`);
  }
  const ck = o.restore !== undefined ? readScenarioCheckpoint(o.restore) : null;
  const scenario = ck ? ck.scenario : resolveScenario(arg, o.set ?? []);
  const overrides: RunOverrides = ck ? ck.overrides : {
    ...(o.quick ? quickOverrides(scenario) : {}),
    ...(o.loops !== undefined && { loops: o.loops }),
    ...(o.interval !== undefined && { intervalUs: o.interval }),
    ...(o.histogram !== undefined && { histogram: o.histogram }),
    ...(durationNs !== undefined && { durationNs }),
    ...(o.seed !== undefined && { seed: o.seed }),
  };
  try {
    validateScenario(applyOverrides(scenario, overrides), arg);
  } catch (e) {
    if (e instanceof ScenarioError) throw new UsageError(e.message);
    throw e;
  }
  const bar = progressBar({ quiet: o.quiet });
  let recorder: PerfettoRecorder | null = null;
  const t0 = Date.now();
  let run: ScenarioRun;
  try {
    run = runScenario(scenario, overrides, {
      onProgress: (d, t) => bar.update(d, t),
      ...(o.trace && { onSystem: (sys) => { recorder = new PerfettoRecorder(sys); } }),
      ...(checkpointAtNs !== undefined && { checkpointAtNs, onCheckpoint: (st) => writeScenarioCheckpoint(o.checkpoint!, scenario, overrides, st) }),
      ...(ck && { restore: ck.state }),
    });
  } finally {
    bar.finish();
  }
  const wallMs = Date.now() - t0;
  const hostMeasured = measuredVm(scenario) < 0;
  console.log(`scenario ${scenario.name}: ${scenario.description}`);
  console.log(`stopped: ${run.stopped}, trace hash ${run.sys.machine.trace.hash}`);
  console.log('');
  for (const l of run.lines) console.log(l);
  const buckets = o.histogram ?? scenario.measurement.histogram;
  const stats = run.hist.map((h) => h.stat);
  if (buckets > 0) console.log(formatHistogram(stats, buckets));
  if (o.histfile) fs.writeFileSync(o.histfile, `${formatHistogram(stats, buckets > 0 ? buckets : 1000)}\n`);
  if (!hostMeasured) {
    console.log(`\nFig. 2 stage breakdown of the measured vCPU's timer interrupts (ground truth: raise to first guest ISR instruction):`);
    console.log(run.stagesTable);
  }
  if (scenario.vms.length) {
    console.log('\nVM exits:');
    console.log(run.exitsTable);
  }
  console.log('\nCPU utilization (percent of simulated time):');
  console.log(run.cpuTable);
  if (run.benchTable) {
    console.log('\nGPOS benchmarks (completed: guest time from VM start to the result; ran: start to end of the benchmark):');
    console.log(run.benchTable);
  }
  const code = run.complete || run.durationReached ? EXIT_OK : EXIT_MACHINE;
  if (o.json) {
    const { scenario: name, seed, simulated_ns, instructions, ...rest } = run.result;
    fs.writeFileSync(o.json, `${JSON.stringify({ scenario: name, seed, simulated_ns, instructions, wall_ms: wallMs, ...rest }, null, 2)}\n`);
  }
  if (o.cyclictestJson) {
    const s = applyOverrides(scenario, overrides);
    const mv = hostMeasured ? null : s.vms[measuredVm(s)];
    const cpu = hostMeasured ? (s.host.cyclictest?.affinity?.[0] ?? 0) : mv!.vcpu.affinity[0];
    const cmd = `cyclictest -t${stats.length} -m -n -p${mv?.role === 'rtos' ? mv.vcpu.prio : stats[0]?.prio ?? 80} -i${s.measurement.interval_us} -l${s.measurement.loops}`;
    const out = cyclictestJson({
      cmdline: `${cmd} (vmxsim ${hostMeasured ? HOST : mv!.name}: ${s.name})`,
      startNs: 0, endNs: run.result.simulated_ns, returnCode: code,
      realtime: s.host.preempt === 'rt',
      threads: stats.map((stat) => ({ stat, cpu })),
    });
    fs.writeFileSync(o.cyclictestJson, `${JSON.stringify(out, null, 2)}\n`);
  }
  if (o.trace && recorder) fs.writeFileSync(o.trace, JSON.stringify((recorder as PerfettoRecorder).toJSON()));
  return code;
}
