/**
 * The VxWorks-like RTOS guest (guests/rtos) under the demo hypervisor:
 * the IRT benchmark of the paper's §5.4 and the kernel services it rests
 * on, checked against the emulator's own ground truth (trace events).
 */
import { describe, expect, it } from 'vitest';
import { IdleMode, RTOS_PARAMS_ADDR, RTOS_PARAMS_LAYOUT, decodeRtosParams, DEFAULT_RTOS_PARAMS } from '../../src/guests/rtos-params.js';
import { TRACEPOINT_ID } from '../../src/isa/tracepoints.js';
import { ExitReason } from '../../src/vmx/exit-reasons.js';
import { TraceKind, type TraceEvent } from '../../src/trace/trace.js';
import { DEFAULT_CONFIG } from '../../src/machine/machine.js';
import { GuestRun, HV_DEMO, RTOS, runRtos, type RtosRun } from '../helpers/guest.js';

const TASK_DISPATCH = TRACEPOINT_ID.get('task_dispatch')!;
const ISR_ENTRY = TRACEPOINT_ID.get('isr_entry')!;
const TIMER_VECTOR = 0x20;
const MODEL = DEFAULT_CONFIG.model;
const KHZ = MODEL.hz / 1000;
const us = (n: number): number => (n * KHZ) / 1000;
/** the spin idle loop (cmp + je) is taken between instructions: this much jitter in cycles */
const SPIN_JITTER = 10;

const isTp = (e: TraceEvent, tp: number): boolean => e.kind === TraceKind.Tracepoint && e.a === tp;
const vmcalls = (r: GuestRun): number => r.exits.byReason.get(ExitReason.VMCALL)?.count ?? 0;

/** The task names of the task_dispatch tracepoints, in order. */
const dispatches = (r: RtosRun): string[] => {
  const names = r.taskNames();
  return r.events.filter((e) => isTp(e, TASK_DISPATCH)).map((e) => names[e.b]);
};

/**
 * Ground truth per guest timer interrupt: from the host APIC timer's expiry
 * (under hv-demo the guest's deadline is the host's) to the first
 * instruction of the guest ISR (the Interrupt event of the injected vector).
 */
function groundTruth(r: GuestRun): number[] {
  const out: number[] = [];
  let fired = NaN;
  r.events.forEach((e, i) => {
    if (e.kind === TraceKind.ApicTimer) fired = e.time;
    if (e.kind === TraceKind.Interrupt && e.a === TIMER_VECTOR && r.events[i - 1]?.kind === TraceKind.VmInject) out.push(e.time - fired);
  });
  return out;
}

/** Cycles the guest spends halted (HLT to wake-up). */
function haltedCycles(r: GuestRun): number {
  let since = -1;
  let total = 0;
  for (const e of r.events) {
    if (e.kind === TraceKind.Halt) since = e.time;
    else if (e.kind === TraceKind.Wake && since >= 0) {
      total += e.time - since;
      since = -1;
    }
  }
  return total;
}

// each run is a few hundred thousand to tens of millions of guest instructions
const SLOW = { timeout: 60_000 };

describe('RTOS guest: IRT benchmark', SLOW, () => {
  it('boots under the hypervisor, finishes 200 loops of 100 µs and reports plausible statistics', () => {
    const r = runRtos({ irt: { loops: 200, intervalUs: 100 } });
    expect(r.result.reason).toBe('exit');
    expect(r.result.exitCode).toBe(0);
    const { done, irt, ticks } = r.results;
    expect(done).toBe(true);
    expect(irt.count).toBe(200);
    const avg = irt.sum / irt.count;
    expect(irt.min).toBeGreaterThan(0);
    expect(irt.min).toBeLessThanOrEqual(avg);
    expect(avg).toBeLessThanOrEqual(irt.max);
    expect(irt.max).toBeLessThan(us(100) / 4);
    // a VM exit and a VM entry are the floor
    expect(irt.min).toBeGreaterThan(MODEL.events.vmExit.cycles + MODEL.events.vmEntry.cycles);
    expect(irt.hist.reduce((a, b) => a + b, 0) + irt.overflows).toBe(irt.count);
    expect(irt.log).toHaveLength(200);
    expect(Math.min(...irt.log)).toBe(irt.min);
    expect(Math.max(...irt.log)).toBe(irt.max);
    // the tick ran alongside (1000 Hz over 20 ms)
    expect(ticks).toBeGreaterThanOrEqual(19);
    // the summary printed at the end says the same, in µs
    const line = /rtos: IRT 200 samples: min (\d+\.\d{3}) avg (\d+\.\d{3}) max (\d+\.\d{3}) us, overflows 0/.exec(r.output);
    expect(line, r.output).not.toBeNull();
    expect(Number(line![1])).toBeCloseTo(irt.min / (KHZ / 1000), 2);
    expect(Number(line![3])).toBeCloseTo(irt.max / (KHZ / 1000), 2);
  });

  it('agrees with the emulator ground truth sample by sample, to the ISR prologue (tick off)', () => {
    const r = runRtos({ tickHz: 0, irt: { loops: 200, intervalUs: 100 } });
    const { irt } = r.results;
    const truth = groundTruth(r);
    expect(truth).toHaveLength(200);
    const diffs = irt.log.map((v, i) => v - truth[i]);
    // the stub's two pushes (eax, edx) before the RDTSC: the same few cycles every time
    expect(new Set(diffs).size).toBe(1);
    expect(diffs[0]).toBeGreaterThanOrEqual(0);
    expect(diffs[0]).toBeLessThanOrEqual(10);
    // isr_entry marks the ISR right after the stamp; its value is the stamp's low half
    const entries = r.events.filter((e) => isTp(e, ISR_ENTRY));
    const delivered = r.events.filter((e, i) => e.kind === TraceKind.Interrupt && r.events[i - 1]?.kind === TraceKind.VmInject);
    expect(entries).toHaveLength(200);
    entries.forEach((e, i) => expect(e.time - delivered[i].time).toBeLessThan(50));
  });

  it('with the tick multiplexed on the same timer, samples that do not meet a tick are unchanged', () => {
    const quiet = runRtos({ tickHz: 0, irt: { loops: 100 } }).results.irt;
    const r = runRtos({ tickHz: 2000, irt: { loops: 100 } });
    const { irt, ticks } = r.results;
    expect(ticks).toBeGreaterThanOrEqual(4);
    // (the idle loop's instruction boundaries give a few cycles of jitter)
    expect(Math.abs(irt.min - quiet.min)).toBeLessThanOrEqual(SPIN_JITTER);
    const late = irt.log.filter((v) => v > quiet.max + SPIN_JITTER);
    // a deadline that falls into the tick's delivery or ISR waits for it: a few samples, later by that
    expect(late.length).toBeLessThanOrEqual(ticks);
    expect(irt.max).toBeLessThan(us(10));
  });

  it('wakes a task from the ISR and measures its dispatch latency', () => {
    const r = runRtos({ irt: { loops: 100, wakeTask: true, taskPrio: 10 } });
    const { irt, dispatch, done } = r.results;
    expect(done).toBe(true);
    expect(dispatch.count).toBe(100);
    expect(dispatch.min).toBeGreaterThan(irt.min);
    expect(dispatch.max).toBeLessThan(us(20));
    expect(dispatch.hist.reduce((a, b) => a + b, 0) + dispatch.overflows).toBe(100);
    expect(r.output).toMatch(/rtos: dispatch 100 samples: min \d+\.\d{3} avg/);
    expect(dispatches(r).filter((n) => n === 'tIrt')).toHaveLength(101); // its start + one per sample
  });
});

describe('RTOS guest: kernel', SLOW, () => {
  it('a higher-priority task readied by semGive in an ISR runs before the interrupted lower one continues', () => {
    const r = runRtos({ tickHz: 0, irt: { loops: 50, wakeTask: true, taskPrio: 10 }, load: { tasks: 1, prio: 200 } });
    const names = r.taskNames();
    expect(names).toEqual(['tRootTask', 'tLoad', 'tIrt']);
    // after each timer ISR that interrupted tLoad: tIrt is dispatched, then tLoad again
    let current = '';
    let checked = 0;
    const entries = r.events.filter((e) => isTp(e, ISR_ENTRY));
    const last = entries[entries.length - 1]; // after the last sample tRootTask reports
    r.events.forEach((e, i) => {
      if (isTp(e, TASK_DISPATCH)) current = names[e.b];
      if (!isTp(e, ISR_ENTRY) || current !== 'tLoad' || e === last) return;
      const next = r.events.slice(i + 1).filter((x) => isTp(x, TASK_DISPATCH) || isTp(x, ISR_ENTRY)).slice(0, 2);
      if (next.length < 2) return;
      expect(next.map((x) => (isTp(x, TASK_DISPATCH) ? names[x.b] : 'isr'))).toEqual(['tIrt', 'tLoad']);
      checked++;
    });
    expect(checked).toBeGreaterThanOrEqual(48);
    expect(r.results.loadLoops[0]).toBeGreaterThan(0);
  });

  it('taskDelay(n) readies the task at the n-th tick', () => {
    for (const n of [1, 3]) {
      const r = runRtos({ tickHz: 1000, irt: { enable: false }, delay: { ticks: n, loops: 5 } });
      const { delay, done } = r.results;
      expect(done).toBe(true);
      expect(delay.ticks).toEqual([n, n, n, n, n]);
      for (const c of delay.cycles) {
        expect(c).toBeGreaterThan(us(1000) * (n - 1));
        expect(c).toBeLessThanOrEqual(us(1000) * n + us(20));
      }
      expect(r.output).toContain(`rtos: taskDelay(${n}) elapsed ticks: ${Array(5).fill(n).join(' ')}`);
    }
  });

  it('idle=spin keeps the vCPU busy, idle=hlt halts it', () => {
    const spin = runRtos({ idleMode: IdleMode.SPIN, irt: { loops: 50 } });
    const hlt = runRtos({ idleMode: IdleMode.HLT, irt: { loops: 50 } });
    expect(spin.ofKind(TraceKind.Halt)).toHaveLength(0);
    expect(hlt.ofKind(TraceKind.Halt).length).toBeGreaterThanOrEqual(50);
    const busy = (r: RtosRun): number => r.result.cycles - haltedCycles(r);
    expect(busy(spin)).toBeGreaterThan(0.95 * spin.result.cycles);
    expect(busy(hlt)).toBeLessThan(0.2 * busy(spin));
    expect(hlt.machine.cpus[0].instructions).toBeLessThan(spin.machine.cpus[0].instructions / 10);
    // the response itself does not depend on how the CPU idled
    // the same path either way: at most an instruction boundary apart (a HLTed CPU wakes exactly at the event)
    expect(Math.abs(hlt.results.irt.min - spin.results.irt.min)).toBeLessThanOrEqual(10);
  });

  it('background load runs when nothing real-time is ready and delays the IRT by at most one WORK unit', () => {
    const base = runRtos({ tickHz: 0, irt: { loops: 100 } }).results;
    const loaded = runRtos({ tickHz: 0, irt: { loops: 100 }, load: { tasks: 1, prio: 200, work: 100 } }).results;
    expect(loaded.loadLoops[0]).toBeGreaterThan(100);
    expect(loaded.irt.count).toBe(100);
    expect(loaded.irt.min).toBeGreaterThanOrEqual(base.irt.min);
    expect(loaded.irt.max).toBeLessThanOrEqual(base.irt.max + 100 + 20);
    expect(loaded.irt.sum / 100).toBeLessThanOrEqual(base.irt.sum / 100 + 100);
  });

  it('equal-priority load tasks: only the first runs without round robin, all share with kernelTimeSlice', () => {
    const fifo = runRtos({ tickHz: 1000, irt: { loops: 30 }, load: { tasks: 2 } }).results;
    expect(fifo.loadLoops[0]).toBeGreaterThan(0);
    expect(fifo.loadLoops[1]).toBe(0);
    const rr = runRtos({ tickHz: 1000, timeSlice: 1, irt: { loops: 30 }, load: { tasks: 2 } }).results;
    expect(rr.loadLoops[0]).toBeGreaterThan(0);
    expect(rr.loadLoops[1]).toBeGreaterThan(0);
  });

  it('runs with its built-in defaults when no parameter block was written', () => {
    const r = new GuestRun(HV_DEMO, RTOS).run(us(30_000));
    const block = r.machine.memory.bytes.slice(r.guestBase + RTOS_PARAMS_ADDR, r.guestBase + RTOS_PARAMS_ADDR + RTOS_PARAMS_LAYOUT.size);
    expect(decodeRtosParams(block)).toEqual(DEFAULT_RTOS_PARAMS);
    expect(r.read32('irt_stats')).toBeGreaterThan(200); // samples taken so far, of the default 1000
    expect(r.output).toContain('rtos: wind kernel up');
  });

  it('is deterministic', () => {
    const a = runRtos({ irt: { loops: 30, wakeTask: true }, load: { tasks: 1 }, cosched: { enable: true } });
    const b = runRtos({ irt: { loops: 30, wakeTask: true }, load: { tasks: 1 }, cosched: { enable: true } });
    expect(a.machine.trace.hash).toBe(b.machine.trace.hash);
    expect(a.results).toEqual(b.results);
  });
});

describe('RTOS guest: co-scheduling hooks (paper §4.2)', SLOW, () => {
  // a tick between activations gives the deboost its interrupt exit
  const runs = new Map<boolean, RtosRun>();
  const scenario = (cosched: boolean): RtosRun => {
    let r = runs.get(cosched);
    if (!r) {
      r = runRtos({ tickHz: 10_000, irt: { loops: 50, intervalUs: 300, wakeTask: true, taskPrio: 10 }, load: { tasks: 1 }, cosched: { enable: cosched } });
      runs.set(cosched, r);
    }
    return r;
  };

  it('boosts at the dispatch of a real-time task and deboosts at the next interrupt exit: two VMCALLs per activation', () => {
    const r = scenario(true);
    const { cosched, done } = r.results;
    expect(done).toBe(true);
    expect(vmcalls(r)).toBe(cosched.boosts + cosched.deboosts + 1); // + VMXSIM_HC_DONE
    // tRootTask (priority 0) at boot and when it reports, tIrt once per sample
    expect(cosched.boosts).toBeGreaterThanOrEqual(51);
    expect(cosched.boosts).toBeLessThanOrEqual(52);
    expect(Math.abs(cosched.boosts - cosched.deboosts)).toBeLessThanOrEqual(1);
    // steady state: between consecutive dispatches of tIrt, exactly two VMCALL exits
    const names = r.taskNames();
    const marks = r.events.filter((e) => (isTp(e, TASK_DISPATCH) && names[e.b] === 'tIrt') || (e.kind === TraceKind.VmExit && e.a === ExitReason.VMCALL));
    const perActivation: number[] = [];
    let n = -1;
    for (const e of marks) {
      if (e.kind === TraceKind.Tracepoint) {
        if (n >= 0) perActivation.push(n);
        n = 0;
      } else if (n >= 0) n++;
    }
    expect(perActivation.length).toBeGreaterThanOrEqual(49);
    expect(perActivation.slice(1).every((k) => k === 2)).toBe(true);
    // the boost comes right before the real-time task's dispatch
    const i = r.events.findIndex((e) => isTp(e, TASK_DISPATCH) && names[e.b] === 'tIrt' && e.time > 1e6);
    const before = r.events.slice(0, i).reverse().find((e) => e.kind === TraceKind.VmExit || isTp(e, ISR_ENTRY));
    expect(before?.kind === TraceKind.VmExit && before.a).toBe(ExitReason.VMCALL);
    expect(r.output).toMatch(/rtos: co-scheduling: \d+ boosts, \d+ deboosts/);
  });

  it('makes no hypercalls when off (but the final DONE)', () => {
    const r = scenario(false);
    expect(r.results.done).toBe(true);
    expect(vmcalls(r)).toBe(1);
    expect(r.results.cosched).toEqual({ boosts: 0, deboosts: 0 });
  });

  it('costs the dispatch latency two extra VM exits at most, not the IRT', () => {
    const on = scenario(true).results;
    const off = scenario(false).results;
    // (the load's WORK units, 100 cycles, are the IRT's jitter)
    expect(Math.abs(on.irt.min - off.irt.min)).toBeLessThanOrEqual(100);
    expect(Math.abs(on.irt.sum - off.irt.sum) / 50).toBeLessThanOrEqual(100);
    expect(on.dispatch.min).toBeGreaterThan(off.dispatch.min);
    // the boost's VMCALL round trip (exit, hv-demo's handler, entry) is on the dispatch path
    expect(on.dispatch.min - off.dispatch.min).toBeLessThan(2 * (MODEL.events.vmExit.cycles + MODEL.events.vmEntry.cycles));
  });
});
