/**
 * Run a scenario (./scenario.ts): build the system with createSystem and the
 * guests' parameter blocks, run until the measured guest's benchmark is done
 * (capped at a simulated time derived from loops × interval), and collect
 * the in-guest latency (RTOS IRT or GPOS cyclictest), the emulator's ground
 * truth for the same interrupts (the Fig. 2 stage records of the measured
 * vCPU: raise to first guest ISR instruction), the stage breakdown, the
 * VM exits per VM, the CPU utilization per pCPU (busy / idle = halted /
 * SMM) and the GPOS benchmarks' completion times. A host measurement
 * (measurement.vm "host") reads the host kernel's own cyclictest instead.
 *
 * The model is deterministic: `seed` is recorded in the result but nothing
 * in the model draws random numbers (yet).
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lookupSymbol } from '../asm/image.js';
import { loadProgram } from '../cli/program.js';
import {
  BENCH_NAMES, GPOS_MAIN, formatCyclictestLine, gposBootParams, readGposBench, readGposCyclictest, readHostCyclictest, cyclictestDone, writeGposBootParams, GposBench, type GposCtStat,
} from '../guests/gpos.js';
import { IdleMode, RTOS_HIST_MAX, readRtosResults, rtosParams, writeRtosParams, type RtosParams } from '../guests/rtos-params.js';
import { NEHALEM } from '../machine/cpu-model.js';
import { PreemptModel, SchedPolicy, ThreadKind, VmRole, type BootParams, type ThreadParams } from '../machine/boot-params.js';
import { TRACEPOINT_ID } from '../isa/tracepoints.js';
import { ExitStats } from '../trace/exit-stats.js';
import { STAGES, StageAccumulator, StageBreakdown, formatStageSummary, type StageName } from '../trace/stages.js';
import { TraceKind } from '../trace/trace.js';
import { exitReasonName } from '../vmx/exit-reasons.js';
import { createSystem, type HostSystem, type VmSpec } from './system.js';
import { captureScenario, restoreScenario, type ScenarioState } from './checkpoint.js';
import { HOST, measuredVm, type GposWorkload, type Policy, type RtosWorkload, type Scenario, type ThreadSpec } from './scenario.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The SMM handler (USB legacy emulation) loaded when a scenario has machine.smi. */
const SMM_MAIN = path.resolve(HERE, '../../firmware/smm/main.s');

/** GPOS load sub-kind of guests/gpos/io.s (bp_thread.vcpu of the bonnie THREAD_LOAD entry). */
const GPOS_BONNIE = 7;

/** ground-truth totals kept per run for pairing with in-guest samples (the RTOS logs its first RTOS_LOG_MAX) */
const TRUTH_KEEP = 4096;

export interface RunOverrides {
  loops?: number;
  intervalUs?: number;
  histogram?: number;
  /** bound on simulated time, in ns (`--duration`) */
  durationNs?: number;
  /** recorded in the result (the model draws no random numbers) */
  seed?: number;
}

/** The scenario's short sizes (its `quick` block): what tests, golden files and `paper --quick` run. */
export function quickOverrides(s: Scenario): RunOverrides {
  return s.quick ? { loops: s.quick.loops, intervalUs: s.quick.interval_us } : {};
}

/** How a scenario is run (not what it is): hooks for tools around the run. */
export interface RunOptions {
  /** false: the plain interpreter only (the compiled path must give identical results) */
  compile?: boolean;
  /** called once the system is built and before it runs (trace recorders, debugger, checkpoints) */
  onSystem?: (sys: HostSystem) => void;
  /** called after every simulated millisecond with the simulated time done and the cap, in ns */
  onProgress?: (doneNs: number, totalNs: number) => void;
  /** checkpoint (src/experiments/checkpoint.ts) at the first step boundary at or after this simulated time, handed to onCheckpoint */
  checkpointAtNs?: number;
  onCheckpoint?: (state: ScenarioState) => void;
  /** continue a checkpointed run of the same scenario and overrides (the system is rebuilt, then put into this state) */
  restore?: ScenarioState;
}

export interface ScenarioResult {
  scenario: string;
  seed: number;
  simulated_ns: number;
  instructions: number;
  latency: { unit: 'us'; samples: number; min: number; avg: number; max: number; histogram: Record<string, number> };
  /** the emulator's own measurement of the same guest interrupts (interrupts 0 and zeros for a host measurement) */
  ground_truth: { min: number; avg: number; max: number; interrupts: number };
  stages: Record<StageName, { avg: number; max: number }> & { total: { avg: number; max: number } };
  exits: Record<string, Record<string, number>>;
  /** per pCPU, percent of the simulated time: busy (host or guest code), idle (halted, any C-state), smm */
  cpu: Record<string, { busy: number; idle: number; smm: number }>;
  /** GPOS benchmark completion times in seconds (null: not finished within the run); `vm/name` when several VMs run them */
  benchmarks: Record<string, number | null>;
}

export interface ScenarioRun {
  result: ScenarioResult;
  /** cyclictest lines of the measured guest's threads */
  lines: string[];
  /** the measured threads' histograms (µs buckets), for `-h` */
  hist: { stat: GposCtStat }[];
  stagesTable: string;
  exitsTable: string;
  stopped: string;
  /** the measured benchmark (and, with until "benchmarks", every GPOS benchmark) finished */
  complete: boolean;
  /** the run ended at the --duration bound */
  durationReached: boolean;
  /** per-pCPU utilization table */
  cpuTable: string;
  /** benchmark completion-time table ('' without benchmarks) */
  benchTable: string;
  sys: HostSystem;
  /** the in-guest samples and the ground truth per interrupt, in cycles (RTOS only; for tests) */
  samples: number[];
  truth: number[];
}

const POLICY: Record<Policy, SchedPolicy> = { fifo: SchedPolicy.SCHED_FIFO, rr: SchedPolicy.SCHED_RR, other: SchedPolicy.SCHED_OTHER };
const mask = (cpus: number[]): number => cpus.reduce((m, c) => m | (1 << c), 0);
const thread = (t: ThreadSpec): Partial<ThreadParams> => ({ policy: POLICY[t.policy], prio: t.prio, affinity: mask(t.affinity) });
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** The effective scenario: measurement loops/interval/histogram and the seed overridden. */
export function applyOverrides(s: Scenario, o: RunOverrides): Scenario {
  return {
    ...s,
    ...(o.seed !== undefined && { seed: o.seed }),
    measurement: { ...s.measurement, ...(o.loops !== undefined && { loops: o.loops }), ...(o.intervalUs !== undefined && { interval_us: o.intervalUs }), ...(o.histogram !== undefined && { histogram: o.histogram }) },
  };
}

export function runScenario(scenario: Scenario, o: RunOverrides = {}, opts: RunOptions = {}): ScenarioRun {
  const s = applyOverrides(scenario, o);
  const me = measuredVm(s);
  const hostMeasured = me < 0;
  const hz = (s.machine.mhz ?? NEHALEM.hz / 1e6) * 1e6;
  const cpus = s.machine.cpus;
  const hist = s.measurement.histogram;
  const irqAffinity: number[] = [];
  for (const [irq, c] of Object.entries(s.host.irq_affinity ?? {})) {
    while (irqAffinity.length <= Number(irq)) irqAffinity.push(0);
    irqAffinity[Number(irq)] = mask(c);
  }
  const threads: ThreadParams[] = [];
  const base = { nice: 0, vm: 0, vcpu: 0 };
  const all = 2 ** cpus - 1;
  if (s.host.hrtimer_prio !== undefined) {
    threads.push({ ...base, name: 'ktimersoftd', kind: ThreadKind.HRTIMER, policy: SchedPolicy.SCHED_FIFO, prio: s.host.hrtimer_prio, affinity: all });
  }
  (s.host.loads ?? []).forEach((l, i) => threads.push({ ...base, name: l.name ?? `hog${i}`, kind: ThreadKind.LOAD, policy: POLICY[l.policy], prio: l.prio, affinity: mask(l.affinity) }));
  const hct = s.host.cyclictest;
  if (hct) {
    threads.push({ ...base, name: 'cyclictest', kind: ThreadKind.CYCLICTEST, policy: SchedPolicy.SCHED_FIFO, prio: hct.prio, affinity: hct.affinity ? mask(hct.affinity) : all });
  }
  const params: Partial<BootParams> = {
    cpuKhz: hz / 1000,
    preemptModel: s.host.preempt === 'rt' ? PreemptModel.PREEMPT_RT : PreemptModel.PREEMPT_NONE,
    cosched: s.host.cosched,
    acpiProcessor: s.host.acpi_processor,
    tickHz: s.host.tick_hz,
    irqAffinity,
    threads,
    ...(hct && { cyclictest: { intervalUs: s.measurement.interval_us, loops: s.measurement.loops, histogram: hist > 0 ? hist : 1000 } }),
  };
  const RTOS_IMAGE = new URL('../../guests/rtos/main.s', import.meta.url).pathname;
  const vms: VmSpec[] = s.vms.map((v) => ({
    name: v.name,
    image: v.role === 'rtos' ? RTOS_IMAGE : GPOS_MAIN,
    memory: v.memory_mib << 20,
    role: v.role === 'rtos' ? VmRole.RTOS : VmRole.GPOS,
    vcpuThreads: [thread(v.vcpu)],
    ioThread: v.io_thread ? thread(v.io_thread) : { affinity: 1 },
  }));
  // USB legacy SMIs (paper §5.2): the SMM handler spends the duration the device reports for each SMI
  const smi = s.machine.smi;
  const cyc = (usec: number): number => Math.round((usec / 1e6) * hz);
  const smiDurations = smi ? (Array.isArray(smi.duration_us) ? smi.duration_us : [smi.duration_us]).map(cyc) : [];
  const smiConfig = smi ? { period: cyc(smi.period_us), work: smiDurations[0], phase: cyc(smi.phase_us ?? smi.period_us) } : null;
  const sys = createSystem({
    cpus, params, vms,
    machine: { ...(s.machine.mhz && { model: { ...NEHALEM, hz } }), ...(opts.compile !== undefined && { compile: opts.compile }), ...(smiConfig && { smi: smiConfig }) },
  });
  if (smi) {
    sys.machine.loadSmmHandler(loadProgram(SMM_MAIN), SMM_MAIN);
    // a list of durations is cycled through, one per periodic SMI: set before the handler reads it (SMM entry)
    if (smiDurations.length > 1) {
      sys.machine.trace.on((e) => {
        if (e.kind === TraceKind.SmiEnter && sys.machine.smiSource.count > 0) sys.machine.smiSource.config.work = smiDurations[(sys.machine.smiSource.count - 1) % smiDurations.length];
      });
    }
  }

  // guest parameter blocks
  const rtosP = new Map<number, RtosParams>();
  s.vms.forEach((v, i) => {
    const measured = i === me;
    if (v.role === 'rtos') {
      const w = v.workload as RtosWorkload;
      const p = rtosParams({
        tscKhz: hz / 1000,
        tickHz: w.tick_hz ?? 0,
        idleMode: w.idle === 'hlt' ? IdleMode.HLT : IdleMode.SPIN,
        irt: {
          enable: true,
          intervalUs: (measured ? undefined : w.irt?.interval_us) ?? s.measurement.interval_us,
          loops: (measured ? undefined : w.irt?.loops) ?? s.measurement.loops,
          histBuckets: hist > 0 ? Math.min(hist, RTOS_HIST_MAX) : RTOS_HIST_MAX,
          ...(w.cosched && { wakeTask: true }),
        },
        cosched: { enable: w.cosched },
        load: { tasks: w.load_tasks },
      });
      writeRtosParams(sys.machine.memory, sys.vm(i).memBase, p);
      rtosP.set(i, p);
    } else {
      const w = v.workload as GposWorkload;
      const ct = w.cyclictest === null ? null : {
        intervalUs: (measured ? undefined : w.cyclictest?.interval_us) ?? s.measurement.interval_us,
        loops: (measured ? undefined : w.cyclictest?.loops) ?? s.measurement.loops,
        prio: w.cyclictest?.prio ?? 80,
        histogram: hist > 0 ? hist : 1000,
      };
      const benches = w.benchmarks.map((b) => GposBench[b.toUpperCase() as keyof typeof GposBench]);
      const bp = gposBootParams({ cyclictest: measured ? ct : (w.cyclictest === undefined ? null : ct), loads: w.cpu_hogs, benches, cpuKhz: hz / 1000, tickHz: w.tick_hz ?? 0 });
      if (w.bonnie) bp.threads.push({ name: 'bonnie', kind: ThreadKind.LOAD, policy: SchedPolicy.SCHED_OTHER, prio: 0, nice: 0, affinity: 1, vm: 0, vcpu: GPOS_BONNIE });
      writeGposBootParams(sys.machine.memory, sys.vm(i).memBase, bp);
    }
  });

  // the measured vCPU's timer interrupts are all the results use: keep only those
  const measuredVcpu = hostMeasured ? -1 : sys.threadIndex(`${s.vms[me].name}/vcpu0`);
  // summarised as they complete, not kept: a full-size run has a million of them; the first
  // TRUTH_KEEP totals are kept to pair with the in-guest samples (tests)
  const stageAcc = new StageAccumulator();
  const truth: number[] = [];
  const stages = new StageBreakdown(sys.machine.trace, (x) => {
    if (x.vcpu === measuredVcpu && x.source === 'timer') {
      stageAcc.add(x);
      if (truth.length < TRUTH_KEEP) truth.push(x.total);
    }
    return false;
  });
  const exitStats = new ExitStats(sys.machine.trace);
  // VM exits per VM: a VmExit belongs to the vCPU thread the host last switched to on that CPU
  const pidToVm = new Map<number, string>();
  s.vms.forEach((v) => pidToVm.set(sys.threadIndex(`${v.name}/vcpu0`) + 1, v.name));
  const exits: Record<string, Record<string, number>> = Object.fromEntries(s.vms.map((v) => [v.name, {}]));
  const TP_SWITCH = TRACEPOINT_ID.get('sched_switch')!;
  const inGuest = new Set<number>();
  const curr = new Map<number, number>();
  // idle time per pCPU: halted and not in SMM (an SMI that arrives in HLT resumes the halt afterwards)
  const idle = new Array<number>(cpus).fill(0);
  const haltedSince = new Array<number>(cpus).fill(-1);
  const halted = new Array<boolean>(cpus).fill(false);
  sys.machine.trace.on((e) => {
    switch (e.kind) {
      case TraceKind.VmEntry: inGuest.add(e.cpu); break;
      case TraceKind.VmExit: {
        inGuest.delete(e.cpu);
        const vm = pidToVm.get(curr.get(e.cpu) ?? -1);
        if (vm) {
          const n = exitReasonName(e.a >>> 0);
          exits[vm][n] = (exits[vm][n] ?? 0) + 1;
        }
        break;
      }
      case TraceKind.Tracepoint: if (e.a === TP_SWITCH && !inGuest.has(e.cpu)) curr.set(e.cpu, e.b | 0); break;
      case TraceKind.Halt: halted[e.cpu] = true; haltedSince[e.cpu] = e.time; break;
      case TraceKind.Wake:
        if (halted[e.cpu] && haltedSince[e.cpu] >= 0) idle[e.cpu] += e.time - haltedSince[e.cpu];
        halted[e.cpu] = false; haltedSince[e.cpu] = -1;
        break;
      case TraceKind.SmiEnter:
        if (halted[e.cpu] && haltedSince[e.cpu] >= 0) idle[e.cpu] += e.time - haltedSince[e.cpu];
        haltedSince[e.cpu] = -1;
        break;
      case TraceKind.SmiLeave: if (halted[e.cpu]) haltedSince[e.cpu] = e.time; break;
      default: break;
    }
  });

  // run until the measured benchmark is done, in 1 ms steps, capped
  const mv = hostMeasured ? null : s.vms[me];
  const measuredName = mv ? mv.name : HOST;
  const readRtos = (i: number) => {
    const vm = sys.vm(i);
    return readRtosResults((x) => lookupSymbol(vm.image, x)!.value, (gpa) => sys.machine.memory.read32(vm.memBase + gpa), rtosP.get(i)!);
  };
  const benchVms = s.vms.map((v, i) => ({ v, i })).filter(({ v }) => v.role === 'gpos' && (v.workload as GposWorkload).benchmarks.length > 0);
  const benchesOf = (i: number): GposBench[] => (s.vms[i].workload as GposWorkload).benchmarks.map((b) => GposBench[b.toUpperCase() as keyof typeof GposBench]);
  const benchmarksDone = (): boolean => benchVms.every(({ i }) => benchesOf(i).every((b) => readGposBench(sys, b, i).done));
  // polled every simulated millisecond: read only the done words (the full results are read once, at the end)
  const latencyDone = ((): (() => boolean) => {
    const mem = sys.machine.memory;
    if (hostMeasured) return () => cyclictestDone(mem, sys.kernel, 0);
    const vm = sys.vm(me);
    if (mv!.role === 'gpos') return () => cyclictestDone(mem, vm.image, vm.memBase);
    const rtosDone = vm.memBase + lookupSymbol(vm.image, 'rtos_done')!.value;
    return () => mem.read32(rtosDone) !== 0;
  })();
  const done = (): boolean => (s.measurement.until === 'benchmarks' ? benchmarksDone() : latencyDone());
  const capUs = 2 * s.measurement.loops * s.measurement.interval_us + 50_000;
  let cap = Math.round((capUs / 1e6) * hz);
  let durationReached = false;
  const durationCap = o.durationNs !== undefined ? Math.round((o.durationNs / 1e9) * hz) : Infinity;
  if (durationCap < cap) cap = durationCap;
  const step = Math.round(hz / 1000);
  // host time of the step in which each benchmark was first seen done (to unwrap its 32-bit guest TSC)
  const benchSeen = new Map<string, number>();
  const watchBenchmarks = (now: number): void => {
    for (const { i } of benchVms) {
      for (const b of benchesOf(i)) {
        const k = `${i}/${b}`;
        if (!benchSeen.has(k) && readGposBench(sys, b, i).done) benchSeen.set(k, now);
      }
    }
  };
  opts.onSystem?.(sys);
  // the listeners' state, saved and restored with the machine by checkpoints
  const analysis = { stages, stageAcc, truth, exitStats, exits, inGuest, curr, idle, haltedSince, halted, benchSeen };
  let t = opts.restore ? restoreScenario(sys, analysis, opts.restore) : 0;
  let checkpointed = opts.checkpointAtNs === undefined;
  let r = sys.run(0);
  while (t < cap) {
    t = Math.min(cap, t + step);
    r = sys.run(t);
    if (benchVms.length) watchBenchmarks(r.cycles);
    opts.onProgress?.(Math.round((t / hz) * 1e9), Math.round((cap / hz) * 1e9));
    if (r.reason === 'exit' || r.reason === 'shutdown' || r.reason === 'instruction-limit') break;
    if (done()) break;
    if (!checkpointed && t >= (opts.checkpointAtNs! / 1e9) * hz) {
      checkpointed = true;
      opts.onCheckpoint?.(captureScenario(sys, analysis, t));
    }
  }
  const simulatedCycles = r.cycles;
  const complete = done();
  if (!complete && t >= cap && cap === durationCap) durationReached = true;
  const stopped = `${complete ? 'done' : durationReached ? 'stopped at --duration' : 'NOT DONE (simulated-time cap reached)'} at ${((simulatedCycles / hz) * 1e3).toFixed(3)} ms simulated (${r.reason})`;

  // the measured latencies
  const ns = (cycles: number): number => Math.round((cycles / hz) * 1e9);
  const us = (cycles: number): number => (cycles / hz) * 1e6;
  const vcpuIdx = mv ? sys.threadIndex(`${measuredName}/vcpu0`) : -1;
  let stats: GposCtStat[];
  let latency: ScenarioResult['latency'];
  let samples: number[] = [];
  if (mv && mv.role === 'rtos') {
    const res = readRtos(me);
    const p = rtosP.get(me)!;
    const irt = res.irt;
    samples = irt.log.slice(0, irt.count);
    stats = [{
      thread: 0, pid: vcpuIdx + 1, prio: mv.vcpu.prio, intervalUs: p.irt.intervalUs, count: irt.count,
      minNs: ns(irt.min), maxNs: ns(irt.max), actNs: ns(irt.log[Math.min(irt.count, irt.log.length) - 1] ?? 0), sumNs: ns(irt.sum),
      overflows: irt.overflows, done: res.done, histogram: irt.hist,
    }];
    latency = { unit: 'us', samples: irt.count, min: r3(irt.count ? us(irt.min) : 0), avg: r3(irt.count ? us(irt.sum / irt.count) : 0), max: r3(us(irt.max)), histogram: histObj(irt.hist) };
  } else {
    stats = hostMeasured ? readHostCyclictest(sys) : readGposCyclictest(sys, me);
    const c = stats.reduce((a, x) => a + x.count, 0);
    const h: number[] = [];
    for (const x of stats) x.histogram.forEach((n, i) => { h[i] = (h[i] ?? 0) + n; });
    latency = {
      unit: 'us', samples: c,
      min: r3(c ? Math.min(...stats.filter((x) => x.count).map((x) => x.minNs)) / 1000 : 0),
      avg: r3(c ? stats.reduce((a, x) => a + x.sumNs, 0) / c / 1000 : 0),
      max: r3(c ? Math.max(...stats.map((x) => x.maxNs)) / 1000 : 0),
      histogram: histObj(h),
    };
  }
  const sum = stageAcc.summary();
  const stageOut = Object.fromEntries(STAGES.map((n) => [n, { avg: r3(us(sum.stages[n].avg)), max: r3(us(sum.stages[n].max)) }])) as ScenarioResult['stages'];
  stageOut.total = { avg: r3(us(sum.total.avg)), max: r3(us(sum.total.max)) };

  // CPU utilization (percent of the simulated time)
  const end = simulatedCycles;
  const cpu: ScenarioResult['cpu'] = {};
  const pct = (x: number): number => Math.round((x / Math.max(1, end)) * 10000) / 100;
  sys.machine.cpus.forEach((c, i) => {
    const idleC = idle[i] + (halted[i] && haltedSince[i] >= 0 ? Math.max(0, end - haltedSince[i]) : 0);
    const smm = c.smm?.cycles ?? 0;
    cpu[String(i)] = { busy: pct(Math.max(0, end - idleC - smm)), idle: pct(idleC), smm: pct(smm) };
  });
  const cpuTable = [
    'CPU   busy %   idle %    SMM %',
    ...Object.entries(cpu).map(([n, x]) => `${n.padStart(3)} ${x.busy.toFixed(2).padStart(8)} ${x.idle.toFixed(2).padStart(8)} ${x.smm.toFixed(2).padStart(8)}`),
    ...(sys.machine.smiSource.count > 0 ? [`SMIs (USB legacy emulation): ${sys.machine.smiSource.count}`] : []),
  ].join('\n');

  // GPOS benchmark completion times: the guest TSC at the benchmark's end (the guest's TSC starts at 0 when
  // its VM is created, at boot), i.e. the time from launching the system to the result, as a user timing
  // `time ./benchmark` started with the system would see it; also the benchmark's own run time (start to end)
  const benchmarks: ScenarioResult['benchmarks'] = {};
  const benchRows: string[] = [];
  for (const { v, i } of benchVms) {
    for (const b of benchesOf(i)) {
      const res = readGposBench(sys, b, i);
      const key = benchVms.length > 1 ? `${v.name}/${BENCH_NAMES[b]}` : BENCH_NAMES[b];
      const seen = benchSeen.get(`${i}/${b}`);
      let end: number | null = null;
      if (res.done && seen !== undefined) {
        const low = (res.start + res.cycles) >>> 0;
        end = low + 2 ** 32 * Math.floor(Math.max(0, seen - low) / 2 ** 32);
      }
      benchmarks[key] = end === null ? null : Math.round((end / hz) * 1e9) / 1e9;
      const ms3 = (c: number): string => ((c / hz) * 1e3).toFixed(3);
      benchRows.push(`${key.padEnd(16)} ${(end === null ? 'not finished' : ms3(end)).padStart(14)} ${(res.done ? ms3(res.cycles) : '-').padStart(12)}`);
    }
  }
  const benchTable = benchRows.length ? [`benchmark        ${'completed (ms)'.padStart(14)} ${'ran (ms)'.padStart(12)}`, ...benchRows].join('\n') : '';

  const result: ScenarioResult = {
    scenario: s.name,
    seed: s.seed,
    simulated_ns: ns(simulatedCycles),
    instructions: sys.machine.cpus.reduce((a, c) => a + c.instructions, 0),
    latency,
    ground_truth: {
      min: r3(us(sum.total.min)),
      avg: r3(us(sum.total.avg)),
      max: r3(us(sum.total.max)),
      interrupts: sum.count,
    },
    stages: stageOut,
    exits,
    cpu,
    benchmarks,
  };
  return {
    result,
    lines: stats.map((x) => `${measuredName}: ${formatCyclictestLine(x)}`),
    hist: stats.map((stat) => ({ stat })),
    stagesTable: formatStageSummary(hz, sum, stages.coalesced),
    exitsTable: exitStats.format(hz),
    stopped,
    complete,
    durationReached,
    cpuTable,
    benchTable,
    sys,
    samples,
    truth,
  };
}

function histObj(h: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  h.forEach((n, i) => { if (n) out[String(i)] = n; });
  return out;
}

/** cyclictest's `-h N` block for the threads' histograms (µs buckets 0..N-1). */
export function formatHistogram(stats: GposCtStat[], buckets: number): string {
  const p = (n: number, w: number): string => String(n).padStart(w, '0');
  const lines = ['# Histogram'];
  for (let i = 0; i < buckets; i++) lines.push(`${p(i, 6)}${stats.map((s) => ` ${p(s.histogram[i] ?? 0, 6)}`).join('')}`);
  const us = (ns: number): number => Math.floor(ns / 1000);
  lines.push(`# Total:${stats.map((s) => ` ${p(s.count, 9)}`).join('')}`);
  lines.push(`# Min Latencies:${stats.map((s) => ` ${p(us(s.minNs), 5)}`).join('')}`);
  lines.push(`# Avg Latencies:${stats.map((s) => ` ${p(s.count ? us(Math.floor(s.sumNs / s.count)) : 0, 5)}`).join('')}`);
  lines.push(`# Max Latencies:${stats.map((s) => ` ${p(us(s.maxNs), 5)}`).join('')}`);
  lines.push(`# Histogram Overflows:${stats.map((s) => ` ${p(s.overflows, 5)}`).join('')}`);
  return lines.join('\n');
}
