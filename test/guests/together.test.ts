/**
 * Both real guests under the real host kernel on 2 CPUs (issue 5's
 * Must-show): the RTOS (guests/rtos) in a VM whose vCPU thread is
 * SCHED_FIFO 97 pinned to CPU 1, the GPOS (guests/gpos) in a VM with a fair
 * vCPU thread on CPU 0, the I/O threads on CPU 0. Each runs its workload
 * (the RTOS's IRT benchmark, the GPOS's cyclictest at FIFO 80); the results
 * are read back from guest memory and printed as cyclictest lines; the
 * RTOS's in-guest latency is checked against the emulator's ground truth
 * (Fig. 2 stage records); the co-scheduling hypercalls are followed through
 * the host's sched_setscheduler; and the RTOS's idle mode decides whether
 * CPU 1 is ever free.
 */
import { describe, expect, it } from 'vitest';
import { formatCyclictestLine, type GposCtStat } from '../../src/guests/gpos.js';
import { IdleMode } from '../../src/guests/rtos-params.js';
import { TRACEPOINT_ID } from '../../src/isa/tracepoints.js';
import { NEHALEM } from '../../src/machine/cpu-model.js';
import { STAGES } from '../../src/trace/stages.js';
import { TraceKind } from '../../src/trace/trace.js';
import { Hypercall } from '../../src/vmx/hypercalls.js';
import { ExitReason } from '../../src/vmx/exit-reasons.js';
import { CPU_KHZ, SchedPolicy, ms, us } from '../helpers/kernel.js';
import { TogetherRun, haltedShare, hostEvents, idleShare, watchSetscheduler } from '../helpers/together.js';

const { SCHED_OTHER, SCHED_FIFO } = SchedPolicy;
const SLOW = { timeout: 60_000 };
const TP_TASK_DISPATCH = TRACEPOINT_ID.get('task_dispatch')!;
/** guests/rtos: the IRT stub's two pushes (eax, edx) before its RDTSC */
const RTOS_PROLOGUE_MAX = 10;
const cyclesToNs = (c: number): number => Math.round((c * 1e6) / CPU_KHZ);
const LINE = /^T: 0 \( +\d+\) P:(\d+) I:(\d+) C: +(\d+) Min: +(\d+) Act: +(\d+) Avg: +(\d+) Max: +(\d+)$/;

/** The RTOS's IRT statistics as a cyclictest thread: thread 0, the host pid and priority of its vCPU thread. */
function rtosAsCyclictest(r: TogetherRun): GposCtStat {
  const { irt } = r.rtos;
  const pid = r.pid('rtos/vcpu0');
  return {
    thread: 0,
    pid,
    prio: r.taskField(pid, 'rt_priority'),
    intervalUs: r.rtosParams.irt.intervalUs,
    count: irt.count,
    minNs: cyclesToNs(irt.min),
    maxNs: cyclesToNs(irt.max),
    actNs: cyclesToNs(irt.log.at(-1) ?? 0),
    sumNs: cyclesToNs(irt.sum),
    overflows: irt.overflows,
    done: r.rtos.done,
    histogram: irt.hist,
  };
}

const runs = new Map<string, TogetherRun>();
/** One run per scenario, shared by the tests that look at it. */
function scenario(key: string, make: () => TogetherRun, until = ms(150)): TogetherRun {
  let r = runs.get(key);
  if (!r) {
    r = make();
    r.run(until);
    runs.set(key, r);
  }
  return r;
}

const CT = { intervalUs: 1000, loops: 50 };
/** the paper's setup: RTOS IRT 100 loops of 200 µs with its 1 kHz tick, GPOS cyclictest -p 80 50 loops of 1 ms */
const both = (rtosTickHz = 1000): TogetherRun =>
  scenario(`both-${rtosTickHz}`, () => new TogetherRun({ rtos: { tickHz: rtosTickHz, irt: { loops: 100, intervalUs: 200 } }, gpos: { cyclictest: CT } }));

describe('RTOS and GPOS together under the host kernel (2 CPUs)', SLOW, () => {
  it('both boot, run their workloads to completion and report results read back from guest memory, printed as cyclictest lines', () => {
    const r = both();
    expect(r.result!.reason).toBe('exit');
    expect(r.result!.exitCode).toBe(0);
    expect(r.console).toContain('vmxsim kernel: 2 CPUs, cpu_khz 2670000, tick 0 Hz, 4 threads');
    expect(r.console).toMatch(/kvm: vm rtos: 1 vcpus, 4096 KiB at/);
    expect(r.console).toMatch(/kvm: vm gpos: 1 vcpus, 4096 KiB at/);
    expect(r.guestConsole('rtos')).toContain('rtos: wind kernel up');
    expect(r.guestConsole('gpos')).toContain('vmxsim kernel: 1 CPUs, cpu_khz 2670000, tick 0 Hz, 1 threads');
    expect(r.console).toContain('kvm: vm rtos: done, status 0');
    expect(r.console).toContain('kvm: vm gpos: done, status 0');
    expect(r.console).toContain('kernel: power off (exit code 0)');

    // the threads as configured: RTOS vCPU FIFO 97 only ever on CPU 1, GPOS vCPU fair on CPU 0, I/O threads on CPU 0
    const rtosVcpu = r.pid('rtos/vcpu0');
    const gposVcpu = r.pid('gpos/vcpu0');
    expect([r.taskField(rtosVcpu, 'policy'), r.taskField(rtosVcpu, 'rt_priority')]).toEqual([SCHED_FIFO, 97]);
    expect(r.taskField(gposVcpu, 'policy')).toBe(SCHED_OTHER);
    const switches = hostEvents(r).filter(({ e, guest }) => !guest && e.kind === TraceKind.Tracepoint && e.a === TRACEPOINT_ID.get('sched_switch'));
    const cpusOf = (pid: number): number[] => [...new Set(switches.filter(({ e }) => (e.b | 0) === pid).map(({ e }) => e.cpu))];
    expect(cpusOf(rtosVcpu)).toEqual([1]);
    expect(cpusOf(gposVcpu)).toEqual([0]);
    expect(cpusOf(r.pid('rtos/io'))).toEqual([0]);
    expect(cpusOf(r.pid('gpos/io'))).toEqual([0]);

    // the RTOS's IRT benchmark
    const { done, irt } = r.rtos;
    expect(done).toBe(true);
    expect(irt.count).toBe(100);
    expect(irt.overflows).toBe(0);
    expect(irt.hist.reduce((a, b) => a + b, 0)).toBe(100);
    const avg = irt.sum / irt.count;
    expect(irt.min).toBeLessThanOrEqual(avg);
    expect(avg).toBeLessThanOrEqual(irt.max);
    expect(irt.min).toBeGreaterThan(NEHALEM.events.vmExit.cycles + NEHALEM.events.vmEntry.cycles); // an exit and an entry at least
    expect(irt.max).toBeLessThan(us(20)); // a shielded FIFO 97 vCPU: a few µs, the tick's delivery at worst
    // the GPOS's cyclictest
    const [ct, ...more] = r.gpos;
    expect(more).toEqual([]);
    expect([ct.done, ct.prio, ct.count, ct.overflows]).toEqual([true, 80, CT.loops, 0]);
    expect(ct.minNs).toBeGreaterThan(0);
    expect(ct.minNs).toBeLessThanOrEqual(ct.sumNs / ct.count);
    expect(ct.sumNs / ct.count).toBeLessThanOrEqual(ct.maxNs);
    expect(ct.maxNs).toBeLessThan(50_000);

    const rtosLine = formatCyclictestLine(rtosAsCyclictest(r));
    const gposLine = formatCyclictestLine(ct);
    console.log(`rtos: ${rtosLine}\ngpos: ${gposLine}`);
    const rm = LINE.exec(rtosLine);
    const gm = LINE.exec(gposLine);
    expect(rm, rtosLine).not.toBeNull();
    expect(gm, gposLine).not.toBeNull();
    const [, rP, rI, rC, rMin, , rAvg, rMax] = rm!.map(Number);
    expect([rP, rI, rC]).toEqual([97, 200, 100]);
    expect(rMin).toBe(Math.floor(irt.min / (CPU_KHZ / 1000)));
    expect(rMax).toBe(Math.floor(irt.max / (CPU_KHZ / 1000)));
    expect(rMin).toBeLessThanOrEqual(rAvg);
    expect(rAvg).toBeLessThanOrEqual(rMax);
    const [, gP, gI, gC, gMin, , gAvg, gMax] = gm!.map(Number);
    expect([gP, gI, gC]).toEqual([80, 1000, 50]);
    expect(gMin).toBeLessThanOrEqual(gAvg);
    expect(gAvg).toBeLessThanOrEqual(gMax);
    // each guest's own summary agrees with what was read from its memory
    const m = /^rtos: IRT 100 samples: min (\d+\.\d{3}) avg (\d+\.\d{3}) max (\d+\.\d{3}) us, overflows 0$/.exec(r.guestConsole('rtos').find((l) => l.startsWith('rtos: IRT')) ?? '');
    expect(m).not.toBeNull();
    expect(Math.floor(Number(m![1]))).toBe(rMin);
    expect(Math.floor(Number(m![3]))).toBe(rMax);
    const usf = (ns: number): number => Math.floor(ns / 1000);
    expect(r.guestConsole('gpos')).toContain(`T:0 (1) P:80 I:1000 C:50 Min:${usf(ct.minNs)} Act:${usf(ct.actNs)} Avg:${usf(Math.floor(ct.sumNs / ct.count))} Max:${usf(ct.maxNs)}`);
  });

  it("the RTOS's in-guest IRT agrees with the Fig. 2 ground truth (raise to first guest ISR instruction) sample by sample, to its ISR prologue", () => {
    const r = both(0); // RTOS tick off: every interrupt of its vCPU is an IRT deadline
    const { irt } = r.rtos;
    expect(irt.count).toBe(100);
    const id = r.sys.threadIndex('rtos/vcpu0');
    const recs = r.stages.records.filter((x) => x.vcpu === id);
    expect(recs).toHaveLength(100);
    for (const x of recs) {
      // the guest spins when idle: every deadline finds it running, an EXTERNAL_INTERRUPT exit on CPU 1
      expect([x.source, x.exited, x.raiseCpu, x.cpu]).toEqual(['timer', true, 1, 1]);
      expect(STAGES.reduce((s, n) => s + x.stages[n], 0)).toBe(x.total);
      expect(x.total).toBe(x.points.h - x.points.a);
    }
    const diffs = irt.log.map((v, i) => v - recs[i].total);
    expect(new Set(diffs).size).toBe(1);
    expect(diffs[0]).toBeGreaterThanOrEqual(0);
    expect(diffs[0]).toBeLessThanOrEqual(RTOS_PROLOGUE_MAX);
    const truth = recs.map((x) => x.total);
    expect(irt.min - Math.min(...truth)).toBe(diffs[0]);
    expect(irt.max - Math.max(...truth)).toBe(diffs[0]);
    expect(irt.sum / irt.count - truth.reduce((a, b) => a + b, 0) / truth.length).toBeCloseTo(diffs[0], 6);
    // the GPOS on CPU 0 leaves the shielded RTOS alone: no jitter at all with its tick off
    expect(irt.max - irt.min).toBeLessThanOrEqual(RTOS_PROLOGUE_MAX);
    // and the GPOS's own timer interrupts are delivered on CPU 0
    const gposRecs = r.stages.records.filter((x) => x.vcpu === r.sys.threadIndex('gpos/vcpu0'));
    expect(gposRecs.length).toBeGreaterThanOrEqual(CT.loops);
    expect(new Set(gposRecs.map((x) => x.cpu))).toEqual(new Set([0]));
    console.log(`rtos IRT under KVM (cycles): min ${irt.min} avg ${irt.sum / irt.count} max ${irt.max}; ground truth + ${diffs[0]}`);
  });
});

describe('co-scheduling under the real host (paper §4.2)', SLOW, () => {
  /**
   * The RTOS's real-time task tIrt woken from the IRT ISR, a background load
   * task below it and a 10 kHz tick (the deboost happens at an interrupt exit);
   * the vCPU thread is configured SCHED_FIFO 10, so a boost (to the RTOS's
   * cosched_prio 97) and a deboost (back to 10) are both visible.
   */
  const coschedRun = (on: boolean): TogetherRun & { seen: { policy: number; prio: number }[] } =>
    scenario(`cosched-${on}`, () => {
      const r = new TogetherRun({
        host: { cosched: on },
        rtosVcpu: { policy: SCHED_FIFO, prio: 10 },
        rtos: { tickHz: 10_000, irt: { loops: 50, intervalUs: 300, wakeTask: true, taskPrio: 10 }, load: { tasks: 1 }, cosched: { enable: on, prio: 97 } },
        gpos: { cyclictest: { intervalUs: 1000, loops: 20 } },
      });
      // the vCPU thread's policy and priority right after each host sched_setscheduler of it
      return Object.assign(r, { seen: watchSetscheduler(r, r.pid('rtos/vcpu0')) });
    }) as TogetherRun & { seen: { policy: number; prio: number }[] };
  const hypercalls = (r: TogetherRun, cpu: number): number[] => r.tps('kvm_hypercall').filter((e) => e.cpu === cpu).map((e) => e.value);

  it("on: VMCALL exits in the RTOS VM's counts, two per activation of its real-time task, and the vCPU thread's host priority follows boost/deboost", () => {
    const r = coschedRun(true);
    expect(r.result!.exitCode).toBe(0);
    const { done, cosched } = r.rtos;
    expect(done).toBe(true);
    expect(cosched.boosts).toBeGreaterThanOrEqual(51); // tIrt once per sample, tRootTask at boot / report
    expect(cosched.boosts).toBeLessThanOrEqual(52);
    expect(Math.abs(cosched.boosts - cosched.deboosts)).toBeLessThanOrEqual(1);
    const rtosExits = r.exitsOf('rtos/vcpu0');
    expect(rtosExits.VMCALL).toBe(cosched.boosts + cosched.deboosts + 1); // + VMXSIM_HC_DONE
    expect(r.exitsOf('gpos/vcpu0').VMCALL).toBe(1); // the GPOS makes only its DONE
    const hc = hypercalls(r, 1);
    expect(hc.filter((n) => n === Hypercall.KVM_HC_BOOST)).toHaveLength(cosched.boosts);
    expect(hc.filter((n) => n === Hypercall.KVM_HC_DEBOOST)).toHaveLength(cosched.deboosts);
    expect(hc.at(-1)).toBe(Hypercall.VMXSIM_HC_DONE);
    // steady state: between consecutive dispatches of tIrt (guest tracepoints on CPU 1), exactly two VMCALL exits
    const irtTask = r.rtosTaskNames().indexOf('tIrt');
    expect(irtTask).toBeGreaterThanOrEqual(0);
    const perActivation: number[] = [];
    let n = -1;
    for (const e of r.events) {
      if (e.cpu !== 1) continue;
      if (e.kind === TraceKind.Tracepoint && e.a === TP_TASK_DISPATCH && e.b === irtTask) {
        if (n >= 0) perActivation.push(n);
        n = 0;
      } else if (e.kind === TraceKind.VmExit && e.a === ExitReason.VMCALL && n >= 0) n++;
    }
    expect(perActivation.length).toBeGreaterThanOrEqual(49);
    expect(perActivation.slice(1).every((k) => k === 2)).toBe(true);
    // the host side: each boost makes the vCPU thread FIFO 97, each deboost restores its configured FIFO 10;
    // in between, KVM's interrupt boost lends FIFO 97 for each interrupt it raises for the deboosted vCPU
    // (kvm_set_irq: the 10 kHz tick) and takes it back at the EOI (kvm_msr) if the guest did not claim it
    const changes = r.tps('sched_setscheduler').filter((e) => e.value === r.pid('rtos/vcpu0'));
    expect(r.seen).toHaveLength(changes.length);
    const FIFO97 = { policy: SCHED_FIFO, prio: 97 };
    const FIFO10 = { policy: SCHED_FIFO, prio: 10 };
    for (const s of r.seen) expect([FIFO97, FIFO10]).toContainEqual(s);
    const causes = changes.map((c) => r.tps('kvm_hypercall', 'kvm_set_irq', 'kvm_msr').filter((e) => e.time <= c.time).at(-1)!);
    for (const c of causes) expect(['kvm_hypercall', 'kvm_set_irq', 'kvm_msr']).toContain(c.name);
    for (const hcall of r.tps('kvm_hypercall').filter((e) => e.cpu === 1 && e.value !== Hypercall.VMXSIM_HC_DONE)) {
      const i = changes.findIndex((c) => c.time > hcall.time);
      expect(r.seen[i]).toEqual(hcall.value === Hypercall.KVM_HC_BOOST ? FIFO97 : FIFO10);
    }
    expect(changes.length).toBeGreaterThan(cosched.boosts + cosched.deboosts); // the interrupt boosts
    expect(changes.filter((e) => e.cpu !== 1)).toEqual([]);
    console.log(`cosched on: rtos VM exits ${JSON.stringify(rtosExits)}; boosts ${cosched.boosts}, deboosts ${cosched.deboosts}`);
  });

  it('off: no boost/deboost VMCALLs (only the final DONE), the vCPU thread keeps its configured priority', () => {
    const r = coschedRun(false);
    expect(r.result!.exitCode).toBe(0);
    expect(r.rtos.done).toBe(true);
    expect(r.rtos.cosched).toEqual({ boosts: 0, deboosts: 0 });
    const rtosExits = r.exitsOf('rtos/vcpu0');
    expect(rtosExits.VMCALL).toBe(1);
    expect(hypercalls(r, 1)).toEqual([Hypercall.VMXSIM_HC_DONE]);
    expect(r.seen).toEqual([]);
    expect(r.tps('sched_setscheduler').filter((e) => e.value === r.pid('rtos/vcpu0'))).toEqual([]);
    const pid = r.pid('rtos/vcpu0');
    expect([r.taskField(pid, 'policy'), r.taskField(pid, 'rt_priority')]).toEqual([SCHED_FIFO, 10]);
    console.log(`cosched off: rtos VM exits ${JSON.stringify(rtosExits)}`);
  });
});

describe("the RTOS's idle mode and CPU 1 (FIFO 97 vCPU)", SLOW, () => {
  const idleRun = (idleMode: IdleMode): TogetherRun =>
    scenario(`idle-${idleMode}`, () => new TogetherRun({ rtos: { idleMode, tickHz: 1000, irt: { loops: 50, intervalUs: 200 } }, gpos: { cyclictest: { intervalUs: 1000, loops: 10 } } }));
  /** the IRT benchmark's span: first deadline raised to last ISR entered (no guest console I/O in between) */
  const window = (r: TogetherRun): [number, number] => {
    const recs = r.stages.records.filter((x) => x.vcpu === r.sys.threadIndex('rtos/vcpu0'));
    return [recs[0].points.a, recs.at(-1)!.points.h];
  };
  const cpu1 = (r: TogetherRun, from: number, to: number) => ({
    halts: r.arch(TraceKind.Halt).filter((e) => e.cpu === 1 && e.time >= from && e.time < to).length,
    halted: haltedShare(r, 1, from, to),
    idle: idleShare(r, 1, from, to),
  });

  it('idle=spin keeps CPU 1 busy: no halt, the host idle task never runs there, the guest never exits on HLT', () => {
    const r = idleRun(IdleMode.SPIN);
    expect(r.rtos.irt.count).toBe(50);
    const [from, to] = window(r);
    expect(to - from).toBeGreaterThan(us(49 * 200));
    const c = cpu1(r, from, to);
    expect(c).toEqual({ halts: 0, halted: 0, idle: 0 });
    expect(r.exitsOf('rtos/vcpu0').HLT).toBeUndefined();
    console.log(`idle=spin: CPU 1 busy ${(100 * (1 - c.halted)).toFixed(1)}% of the IRT run (${((to - from) / (CPU_KHZ / 1000)).toFixed(0)} µs)`);
  });

  it('idle=hlt frees CPU 1: the vCPU thread blocks on each HLT exit, the host idle task runs and CPU 1 halts most of the time', () => {
    const r = idleRun(IdleMode.HLT);
    expect(r.rtos.irt.count).toBe(50);
    const [from, to] = window(r);
    const c = cpu1(r, from, to);
    expect(c.halts).toBeGreaterThanOrEqual(49);
    expect(c.halted).toBeGreaterThan(0.8);
    expect(c.idle).toBeGreaterThanOrEqual(c.halted); // halting happens in the idle task
    expect(r.exitsOf('rtos/vcpu0').HLT).toBeGreaterThanOrEqual(50);
    // the deadline finds the vCPU thread blocked (no VM exit): it is woken and switched in on CPU 1 before the injection
    const vcpu = r.pid('rtos/vcpu0');
    const recs = r.stages.records.filter((x) => x.vcpu === vcpu - 1 && !x.exited);
    expect(recs.length).toBeGreaterThanOrEqual(49);
    const sw1 = hostEvents(r).filter(({ e, guest }) => !guest && e.cpu === 1 && e.kind === TraceKind.Tracepoint && e.a === TRACEPOINT_ID.get('sched_switch')).map(({ e }) => e);
    for (const x of recs) expect(sw1.filter((e) => e.time > x.points.d && e.time < x.points.e).map((e) => e.b | 0)).toEqual([vcpu]);
    // (without deep C-states the wake-up + switch costs about what the spinning guest's VM exit does)
    const spin = idleRun(IdleMode.SPIN).rtos.irt;
    expect(Math.abs(r.rtos.irt.min - spin.min)).toBeLessThan(us(1));
    console.log(`idle=hlt: CPU 1 busy ${(100 * (1 - c.halted)).toFixed(1)}%, idle task ${(100 * c.idle).toFixed(1)}%; IRT min ${r.rtos.irt.min} vs spin ${spin.min} cycles`);
  });
});
