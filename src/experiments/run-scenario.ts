/**
 * Run a scenario (./scenario.ts): build the system with createSystem and the
 * guests' parameter blocks, run until the measured guest's benchmark is done
 * (capped at a simulated time derived from loops × interval), and collect
 * the in-guest latency (RTOS IRT or GPOS cyclictest), the emulator's ground
 * truth for the same interrupts (the Fig. 2 stage records of the measured
 * vCPU: raise to first guest ISR instruction), the stage breakdown and the
 * VM exits per VM.
 */
import { lookupSymbol } from '../asm/image.js';
import { GPOS_MAIN, formatCyclictestLine, gposBootParams, readGposCyclictest, writeGposBootParams, GposBench, type GposCtStat } from '../guests/gpos.js';
import { IdleMode, readRtosResults, rtosParams, writeRtosParams, type RtosParams } from '../guests/rtos-params.js';
import { NEHALEM } from '../machine/cpu-model.js';
import { PreemptModel, SchedPolicy, ThreadKind, VmRole, type BootParams, type ThreadParams } from '../machine/boot-params.js';
import { TRACEPOINT_ID } from '../isa/tracepoints.js';
import { ExitStats } from '../trace/exit-stats.js';
import { STAGES, StageBreakdown, type StageName } from '../trace/stages.js';
import { TraceKind } from '../trace/trace.js';
import { exitReasonName } from '../vmx/exit-reasons.js';
import { createSystem, type HostSystem, type VmSpec } from './system.js';
import { measuredVm, type GposWorkload, type Policy, type RtosWorkload, type Scenario, type ThreadSpec } from './scenario.js';

/** GPOS load sub-kind of guests/gpos/io.s (bp_thread.vcpu of the bonnie THREAD_LOAD entry). */
const GPOS_BONNIE = 7;

export interface RunOverrides {
  loops?: number;
  intervalUs?: number;
  histogram?: number;
}

/** How a scenario is run (not what it is): hooks for tools around the run. */
export interface RunOptions {
  /** false: the plain interpreter only (the compiled path must give identical results) */
  compile?: boolean;
  /** called once the system is built and before it runs (trace recorders, debugger, checkpoints) */
  onSystem?: (sys: HostSystem) => void;
  /** called after every simulated millisecond with the simulated time done and the cap, in ns */
  onProgress?: (doneNs: number, totalNs: number) => void;
}

export interface ScenarioResult {
  scenario: string;
  seed: number;
  simulated_ns: number;
  instructions: number;
  latency: { unit: 'us'; samples: number; min: number; avg: number; max: number; histogram: Record<string, number> };
  ground_truth: { min: number; avg: number; max: number };
  stages: Record<StageName, { avg: number; max: number }> & { total: { avg: number; max: number } };
  exits: Record<string, Record<string, number>>;
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
  sys: HostSystem;
  /** the in-guest samples and the ground truth per interrupt, in cycles (RTOS only; for tests) */
  samples: number[];
  truth: number[];
}

const POLICY: Record<Policy, SchedPolicy> = { fifo: SchedPolicy.SCHED_FIFO, rr: SchedPolicy.SCHED_RR, other: SchedPolicy.SCHED_OTHER };
const mask = (cpus: number[]): number => cpus.reduce((m, c) => m | (1 << c), 0);
const thread = (t: ThreadSpec): Partial<ThreadParams> => ({ policy: POLICY[t.policy], prio: t.prio, affinity: mask(t.affinity) });
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** The effective scenario: measurement loops/interval/histogram overridden. */
export function applyOverrides(s: Scenario, o: RunOverrides): Scenario {
  return { ...s, measurement: { ...s.measurement, ...(o.loops !== undefined && { loops: o.loops }), ...(o.intervalUs !== undefined && { interval_us: o.intervalUs }), ...(o.histogram !== undefined && { histogram: o.histogram }) } };
}

export function runScenario(scenario: Scenario, o: RunOverrides = {}, opts: RunOptions = {}): ScenarioRun {
  const s = applyOverrides(scenario, o);
  const me = measuredVm(s);
  const hz = (s.machine.mhz ?? NEHALEM.hz / 1e6) * 1e6;
  const cpus = s.machine.cpus;
  const irqAffinity: number[] = [];
  for (const [irq, c] of Object.entries(s.host.irq_affinity ?? {})) {
    while (irqAffinity.length <= Number(irq)) irqAffinity.push(0);
    irqAffinity[Number(irq)] = mask(c);
  }
  const threads: ThreadParams[] = [];
  const base = { nice: 0, vm: 0, vcpu: 0 };
  if (s.host.hrtimer_prio !== undefined) {
    threads.push({ ...base, name: 'ktimersoftd', kind: ThreadKind.HRTIMER, policy: SchedPolicy.SCHED_FIFO, prio: s.host.hrtimer_prio, affinity: 2 ** cpus - 1 });
  }
  (s.host.loads ?? []).forEach((l, i) => threads.push({ ...base, name: l.name ?? `hog${i}`, kind: ThreadKind.LOAD, policy: POLICY[l.policy], prio: l.prio, affinity: mask(l.affinity) }));
  const params: Partial<BootParams> = {
    cpuKhz: hz / 1000,
    preemptModel: s.host.preempt === 'rt' ? PreemptModel.PREEMPT_RT : PreemptModel.PREEMPT_NONE,
    cosched: s.host.cosched,
    acpiProcessor: s.host.acpi_processor,
    tickHz: s.host.tick_hz,
    irqAffinity,
    threads,
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
  const sys = createSystem({ cpus, params, vms, machine: { ...(s.machine.mhz && { model: { ...NEHALEM, hz } }), ...(opts.compile !== undefined && { compile: opts.compile }) } });
  const hist = s.measurement.histogram;

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
          histBuckets: hist > 0 ? hist : 1000,
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
      const bp = gposBootParams({ cyclictest: measured ? ct : (w.cyclictest === undefined ? null : ct), loads: w.cpu_hogs, benches, cpuKhz: hz / 1000 });
      if (w.bonnie) bp.threads.push({ name: 'bonnie', kind: ThreadKind.LOAD, policy: SchedPolicy.SCHED_OTHER, prio: 0, nice: 0, affinity: 1, vm: 0, vcpu: GPOS_BONNIE });
      writeGposBootParams(sys.machine.memory, sys.vm(i).memBase, bp);
    }
  });

  const stages = new StageBreakdown(sys.machine.trace);
  const exitStats = new ExitStats(sys.machine.trace);
  // VM exits per VM: a VmExit belongs to the vCPU thread the host last switched to on that CPU
  const pidToVm = new Map<number, string>();
  s.vms.forEach((v) => pidToVm.set(sys.threadIndex(`${v.name}/vcpu0`) + 1, v.name));
  const exits: Record<string, Record<string, number>> = Object.fromEntries(s.vms.map((v) => [v.name, {}]));
  const TP_SWITCH = TRACEPOINT_ID.get('sched_switch')!;
  const inGuest = new Set<number>();
  const curr = new Map<number, number>();
  sys.machine.trace.on((e) => {
    if (e.kind === TraceKind.VmEntry) inGuest.add(e.cpu);
    else if (e.kind === TraceKind.VmExit) {
      inGuest.delete(e.cpu);
      const vm = pidToVm.get(curr.get(e.cpu) ?? -1);
      if (vm) {
        const n = exitReasonName(e.a >>> 0);
        exits[vm][n] = (exits[vm][n] ?? 0) + 1;
      }
    } else if (e.kind === TraceKind.Tracepoint && e.a === TP_SWITCH && !inGuest.has(e.cpu)) curr.set(e.cpu, e.b | 0);
  });

  // run until the measured benchmark is done, in 1 ms steps, capped
  const mv = s.vms[me];
  const measuredName = mv.name;
  const readRtos = (i: number) => {
    const vm = sys.vm(i);
    return readRtosResults((x) => lookupSymbol(vm.image, x)!.value, (gpa) => sys.machine.memory.read32(vm.memBase + gpa), rtosP.get(i)!);
  };
  const done = (): boolean => (mv.role === 'rtos' ? readRtos(me).done : readGposCyclictest(sys, me).some((t) => t.done));
  const capUs = 2 * s.measurement.loops * s.measurement.interval_us + 50_000;
  const cap = Math.round((capUs / 1e6) * hz);
  const step = Math.round(hz / 1000);
  opts.onSystem?.(sys);
  let t = 0;
  let r = sys.run(0);
  while (t < cap) {
    t = Math.min(cap, t + step);
    r = sys.run(t);
    opts.onProgress?.(Math.round((t / hz) * 1e9), Math.round((cap / hz) * 1e9));
    if (r.reason === 'exit' || r.reason === 'shutdown' || r.reason === 'instruction-limit') break;
    if (done()) break;
  }
  const simulatedCycles = r.cycles;
  const stopped = `${done() ? 'done' : 'NOT DONE (simulated-time cap reached)'} at ${((simulatedCycles / hz) * 1e3).toFixed(3)} ms simulated (${r.reason})`;

  // the measured latencies
  const ns = (cycles: number): number => Math.round((cycles / hz) * 1e9);
  const us = (cycles: number): number => (cycles / hz) * 1e6;
  const vcpuIdx = sys.threadIndex(`${measuredName}/vcpu0`);
  const recs = stages.records.filter((x) => x.vcpu === vcpuIdx && x.source === 'timer');
  const truth = recs.map((x) => x.total);
  let stats: GposCtStat[];
  let latency: ScenarioResult['latency'];
  let samples: number[] = [];
  if (mv.role === 'rtos') {
    const res = readRtos(me);
    const p = rtosP.get(me)!;
    const irt = res.irt;
    samples = irt.log.slice(0, irt.count);
    stats = [{
      thread: 0, pid: vcpuIdx + 1, prio: mv.vcpu.prio, intervalUs: p.irt.intervalUs, count: irt.count,
      minNs: ns(irt.min), maxNs: ns(irt.max), actNs: ns(irt.log[Math.min(irt.count, irt.log.length) - 1] ?? 0), sumNs: ns(irt.sum),
      overflows: irt.overflows, done: res.done, histogram: irt.hist,
    }];
    latency = { unit: 'us', samples: irt.count, min: r3(us(irt.min)), avg: r3(irt.count ? us(irt.sum / irt.count) : 0), max: r3(us(irt.max)), histogram: histObj(irt.hist) };
  } else {
    stats = readGposCyclictest(sys, me);
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
  const sum = stages.summary(recs);
  const stageOut = Object.fromEntries(STAGES.map((n) => [n, { avg: r3(us(sum.stages[n].avg)), max: r3(us(sum.stages[n].max)) }])) as ScenarioResult['stages'];
  stageOut.total = { avg: r3(us(sum.total.avg)), max: r3(us(sum.total.max)) };
  const result: ScenarioResult = {
    scenario: s.name,
    seed: s.seed,
    simulated_ns: ns(simulatedCycles),
    instructions: sys.machine.cpus.reduce((a, c) => a + c.instructions, 0),
    latency,
    ground_truth: {
      min: r3(truth.length ? us(Math.min(...truth)) : 0),
      avg: r3(truth.length ? us(truth.reduce((a, b) => a + b, 0) / truth.length) : 0),
      max: r3(truth.length ? us(Math.max(...truth)) : 0),
    },
    stages: stageOut,
    exits,
  };
  return {
    result,
    lines: stats.map((x) => `${measuredName}: ${formatCyclictestLine(x)}`),
    hist: stats.map((stat) => ({ stat })),
    stagesTable: stages.format(hz, recs),
    exitsTable: exitStats.format(hz),
    stopped,
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
