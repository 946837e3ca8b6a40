/**
 * The paper's Fig. 2 stage breakdown (§3.1), reconstructed from the trace
 * for every interrupt delivered to a guest: eight time points and the six
 * stages between them.
 *
 *   a  interrupt raised        the host APIC timer fired for the vCPU's
 *                              TSC-deadline hrtimer (TraceKind.ApicTimer)
 *   b  VM exit done            TraceKind.VmExit, reason EXTERNAL_INTERRUPT,
 *                              on that CPU after a. If the CPU was in the host
 *                              (the vCPU halted and blocked, or in KVM with
 *                              interrupts off) there is no exit: b = c and
 *                              `exited` is false
 *   c  host interrupts on      KVM hands the acknowledged vector to the host
 *                              ISR (tracepoint `irq_enable`), or the CPU
 *                              delivers it in the host (TraceKind.Interrupt
 *                              outside the guest)
 *   d  host ISR done           `local_timer_exit` / `irq_handler_exit` after the
 *                              ISR raised the guest's vector (`kvm_set_irq`,
 *                              from apic_timer_fn)
 *   e  host scheduling done    `kvm_sched_done` of that vCPU after d: its
 *                              thread passed its reschedule point (after a
 *                              wake-up if it was blocked) and goes to enter
 *                              the guest. If it passed none before the
 *                              injecting entry, e = f
 *   f  VM entry begun          `kvm_entry` of the entry that injects the vector
 *                              (after KVM wrote VM_ENTRY_INTR_INFO_FIELD)
 *   g  VM entry done           TraceKind.VmEntry of that entry
 *   h  first guest ISR insn    TraceKind.Interrupt delivering the injected event
 *
 * Stages: vm_exit = b−a, after_vm_exit = c−b, host_isr = d−c,
 * host_scheduling = e−d, before_vm_entry = f−e, vm_entry = h−f (the entry
 * transition g−f plus the IDT delivery h−g). They telescope, so their sum is
 * exactly h−a. A stage may span guest execution: when the guest cannot take
 * the interrupt (IF = 0) the injecting entry comes after an
 * interrupt-window exit and before_vm_entry includes that wait.
 *
 * A device interrupt reaches a guest through the VM's I/O thread (the
 * virtual disk): a = the physical IRQ (TraceKind.IoApicIrq), b, c as above
 * on the CPU it was routed to, d = `irq_handler_exit`; the I/O thread's
 * wake-up, its `block_rq_complete` and `kvm_set_irq` fall into host
 * scheduling (d..e). Such records have source 'irq'. A vector raised
 * outside any of these (a self-IPI, an IPI between vCPUs, a virtual disk
 * request that failed at once) is recorded with source 'virtual' and
 * a = b = c = d = the kvm_set_irq time. Requests of one vector coalesced in
 * the IRR before it was injected count in `coalesced`.
 *
 * Tracepoints emitted in VMX non-root mode (a guest kernel's own
 * `local_timer_exit`, ...) are ignored: the CPU's mode is followed through
 * the VmEntry/VmExit events.
 *
 * Events are taken in emission order (each CPU's own events are in time
 * order); for a vCPU whose timer fires on another CPU, e..h come from the
 * vCPU's CPU and a stage across the two CPUs may even be negative by up to
 * a scheduling quantum of the emulator. The sum stays exact.
 */
import { TRACEPOINT_ID } from '../isa/tracepoints.js';
import { ExitReason } from '../vmx/exit-reasons.js';
import { TraceKind, type Trace, type TraceEvent } from './trace.js';

export const STAGES = ['vm_exit', 'after_vm_exit', 'host_isr', 'host_scheduling', 'before_vm_entry', 'vm_entry'] as const;
export type StageName = (typeof STAGES)[number];

export const STAGE_TITLES: Record<StageName, string> = {
  vm_exit: 'VM exit (b-a)',
  after_vm_exit: 'after VM exit (c-b)',
  host_isr: 'host ISR (d-c)',
  host_scheduling: 'host scheduling (e-d)',
  before_vm_entry: 'before VM entry (f-e)',
  vm_entry: 'VM entry (h-f)',
};

export interface StagePoints {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  f: number;
  g: number;
  h: number;
}

export interface StageRecord {
  /** vCPU global id (its thread-table index; pid - 1) */
  vcpu: number;
  /** the guest's vector */
  vector: number;
  source: 'timer' | 'irq' | 'virtual';
  /** CPU where it was raised and the host ISR ran (a..d) */
  raiseCpu: number;
  /** CPU where it was injected (e..h) */
  cpu: number;
  /** the interrupt caused a VM exit (the guest was running) */
  exited: boolean;
  points: StagePoints;
  /** durations in cycles */
  stages: Record<StageName, number>;
  /** h - a, cycles */
  total: number;
}

export interface StageStats {
  count: number;
  avg: number;
  min: number;
  max: number;
}

export interface StageSummary {
  count: number;
  stages: Record<StageName, StageStats>;
  total: StageStats;
}

const tp = (name: string): number => {
  const id = TRACEPOINT_ID.get(name);
  if (id === undefined) throw new Error(`no tracepoint ${name}`);
  return id;
};
const TP_IRQ_ENABLE = tp('irq_enable');
const TP_SET_IRQ = tp('kvm_set_irq');
const TP_LOCAL_TIMER_EXIT = tp('local_timer_exit');
const TP_IRQ_HANDLER_EXIT = tp('irq_handler_exit');
const TP_SCHED_DONE = tp('kvm_sched_done');
const TP_KVM_ENTRY = tp('kvm_entry');
const TP_BLOCK_COMPLETE = tp('block_rq_complete');
const EXT_INTR = 0; // interruption type / EventType of an external interrupt

interface Raise {
  a: number;
  vector: number;
  device: boolean;
  b?: number;
}

interface HostIsr {
  a: number;
  b: number;
  c: number;
  exited: boolean;
  device: boolean;
  cpu: number;
  d?: number;
}

interface Open {
  vcpu: number;
  vector: number;
  source: StageRecord['source'];
  raiseCpu: number;
  exited: boolean;
  a: number;
  b: number;
  c: number;
  d?: number;
  e?: number;
}

export class StageBreakdown {
  readonly records: StageRecord[] = [];
  /** raises of a vector merged in the IRR with an earlier one before its injection */
  coalesced = 0;
  private guest = new Map<number, boolean>();
  private raise = new Map<number, Raise>();
  private isr = new Map<number, HostIsr>();
  /** records waiting for their host ISR's end, per CPU */
  private inIsr = new Map<number, Open[]>();
  /** records waiting for injection, oldest first */
  private open: Open[] = [];
  private entry = new Map<number, { time: number; vcpu: number }>();
  /** the last device ISR that ended, not yet tied to a guest interrupt */
  private deviceIsr: HostIsr | null = null;
  /** CPUs whose running thread just completed a virtual disk request (block_rq_complete) */
  private ioComplete = new Set<number>();
  private vmEntryTime = new Map<number, number>();
  private awaitH = new Map<number, { rec: Open; f: number; g: number; cpu: number }>();

  /**
   * Attach to a live trace (or feed events with push). `keep` chooses the
   * records to keep (default all): a 1000-second run delivers millions of
   * interrupts to guests nobody measures.
   */
  constructor(trace?: Trace, private readonly keep?: (r: StageRecord) => boolean) {
    trace?.on((e) => this.push(e));
  }

  push(e: TraceEvent): void {
    const cpu = e.cpu;
    switch (e.kind) {
      case TraceKind.ApicTimer:
        if (e.b === 0 && !this.raise.has(cpu)) this.raise.set(cpu, { a: e.time, vector: e.a, device: false });
        return;
      case TraceKind.IoApicIrq:
        if (!this.raise.has(cpu)) this.raise.set(cpu, { a: e.time, vector: e.b, device: true });
        return;
      case TraceKind.VmExit: {
        this.guest.set(cpu, false);
        const r = this.raise.get(cpu);
        if (r && r.b === undefined && e.a === ExitReason.EXTERNAL_INTERRUPT) r.b = e.time;
        return;
      }
      case TraceKind.VmEntry:
        this.guest.set(cpu, true);
        this.vmEntryTime.set(cpu, e.time);
        return;
      case TraceKind.VmInject:
        this.inject(cpu, e.a >>> 0);
        return;
      case TraceKind.Interrupt:
        if (this.guest.get(cpu)) {
          const w = this.awaitH.get(cpu);
          if (w) {
            this.awaitH.delete(cpu);
            this.finish(w.rec, w.f, w.g, e.time, w.cpu);
          }
        } else if (e.b === EXT_INTR) {
          this.hostIsrBegins(cpu, e.a, e.time);
        }
        return;
      case TraceKind.Tracepoint:
        if (!this.guest.get(cpu)) this.tracepoint(e); // a guest's own tracepoints (same names) are not the host's
        return;
    }
  }

  private tracepoint(e: TraceEvent): void {
    const cpu = e.cpu;
    const v = e.b >>> 0;
    switch (e.a) {
      case TP_IRQ_ENABLE:
        this.hostIsrBegins(cpu, v, e.time);
        return;
      case TP_BLOCK_COMPLETE:
        this.ioComplete.add(cpu);
        return;
      case TP_SET_IRQ: {
        const isr = this.isr.get(cpu);
        const dev = !isr && this.ioComplete.has(cpu) ? this.deviceIsr : null;
        this.ioComplete.delete(cpu);
        if (dev) this.deviceIsr = null;
        const rec: Open = isr
          ? { vcpu: v >>> 8, vector: v & 0xff, source: 'timer', raiseCpu: cpu, exited: isr.exited, a: isr.a, b: isr.b, c: isr.c }
          : dev
            ? { vcpu: v >>> 8, vector: v & 0xff, source: 'irq', raiseCpu: dev.cpu, exited: dev.exited, a: dev.a, b: dev.b, c: dev.c, d: dev.d }
            : { vcpu: v >>> 8, vector: v & 0xff, source: 'virtual', raiseCpu: cpu, exited: false, a: e.time, b: e.time, c: e.time, d: e.time };
        this.open.push(rec);
        if (isr) {
          const list = this.inIsr.get(cpu) ?? [];
          list.push(rec);
          this.inIsr.set(cpu, list);
        }
        return;
      }
      case TP_LOCAL_TIMER_EXIT:
      case TP_IRQ_HANDLER_EXIT: {
        const isr = this.isr.get(cpu);
        if (!isr) return;
        this.isr.delete(cpu);
        if (isr.device && e.a === TP_IRQ_HANDLER_EXIT) this.deviceIsr = { ...isr, d: e.time };
        for (const rec of this.inIsr.get(cpu) ?? []) rec.d = e.time;
        this.inIsr.delete(cpu);
        return;
      }
      case TP_SCHED_DONE:
        for (const rec of this.open) if (rec.vcpu === v && rec.d !== undefined && rec.e === undefined) rec.e = e.time;
        return;
      case TP_KVM_ENTRY:
        this.entry.set(cpu, { time: e.time, vcpu: v });
        return;
    }
  }

  /** c: the host starts handling vector `vector` on `cpu` (KVM's hand-over or a delivery in the host). */
  private hostIsrBegins(cpu: number, vector: number, time: number): void {
    const r = this.raise.get(cpu);
    if (!r || r.vector !== vector) return;
    this.raise.delete(cpu);
    const exited = r.b !== undefined;
    this.isr.set(cpu, { a: r.a, b: exited ? r.b! : time, c: time, exited, device: r.device, cpu });
  }

  private inject(cpu: number, info: number): void {
    if (((info >>> 8) & 7) !== EXT_INTR) return;
    const entry = this.entry.get(cpu);
    if (!entry) return;
    const vector = info & 0xff;
    const i = this.open.findIndex((r) => r.vcpu === entry.vcpu && r.vector === vector && r.d !== undefined);
    if (i < 0) return;
    const rec = this.open[i];
    this.open.splice(i, 1);
    // other raises of the same vector already in the IRR merge into this delivery
    const before = this.open.length;
    this.open = this.open.filter((r) => !(r.vcpu === entry.vcpu && r.vector === vector));
    this.coalesced += before - this.open.length;
    this.awaitH.set(cpu, { rec, f: entry.time, g: this.vmEntryTime.get(cpu) ?? entry.time, cpu });
  }

  private finish(rec: Open, f: number, g: number, h: number, cpu: number): void {
    const e = rec.e ?? f;
    const points: StagePoints = { a: rec.a, b: rec.b, c: rec.c, d: rec.d!, e, f, g, h };
    const stages: Record<StageName, number> = {
      vm_exit: points.b - points.a,
      after_vm_exit: points.c - points.b,
      host_isr: points.d - points.c,
      host_scheduling: points.e - points.d,
      before_vm_entry: points.f - points.e,
      vm_entry: points.h - points.f,
    };
    const r: StageRecord = { vcpu: rec.vcpu, vector: rec.vector, source: rec.source, raiseCpu: rec.raiseCpu, cpu, exited: rec.exited, points, stages, total: h - rec.a };
    if (!this.keep || this.keep(r)) this.records.push(r);
  }

  /** avg/min/max per stage and of the total, over `records` (default all). */
  summary(records: readonly StageRecord[] = this.records): StageSummary {
    const acc = new StageAccumulator();
    for (const r of records) acc.add(r);
    return acc.summary();
  }

  /** The breakdown as a table, times in µs at `hz` (cycles per second). */
  format(hz: number, records: readonly StageRecord[] = this.records): string {
    return formatStageSummary(hz, this.summary(records), this.coalesced);
  }
}

/**
 * Running count/sum/min/max per stage and of the total: what a summary needs
 * without keeping a record per interrupt (a 1000-second run delivers
 * millions). Typed arrays, so checkpoints save it as plain data.
 */
export class StageAccumulator {
  count = 0;
  /** per stage in STAGES order, then the total */
  readonly sum = new Float64Array(STAGES.length + 1);
  readonly min = new Float64Array(STAGES.length + 1).fill(Infinity);
  readonly max = new Float64Array(STAGES.length + 1).fill(-Infinity);

  add(r: StageRecord): void {
    this.count++;
    for (let i = 0; i <= STAGES.length; i++) {
      const x = i < STAGES.length ? r.stages[STAGES[i]] : r.total;
      this.sum[i] += x;
      if (x < this.min[i]) this.min[i] = x;
      if (x > this.max[i]) this.max[i] = x;
    }
  }

  summary(): StageSummary {
    const n = this.count;
    const st = (i: number): StageStats => (n === 0 ? { count: 0, avg: 0, min: 0, max: 0 } : { count: n, avg: this.sum[i] / n, min: this.min[i], max: this.max[i] });
    return { count: n, stages: Object.fromEntries(STAGES.map((s, i) => [s, st(i)])) as Record<StageName, StageStats>, total: st(STAGES.length) };
  }
}

/** A summary as the stage-breakdown table, times in µs at `hz` (cycles per second). */
export function formatStageSummary(hz: number, s: StageSummary, coalesced = 0): string {
  const us = (c: number): string => ((c / hz) * 1e6).toFixed(3);
  const row = (name: string, st: StageStats, share: string): string =>
    `${name.padEnd(24)}${us(st.avg).padStart(10)}${us(st.min).padStart(10)}${us(st.max).padStart(10)}${share.padStart(8)}`;
  const lines = [`${'stage (Fig. 2)'.padEnd(24)}${'avg us'.padStart(10)}${'min us'.padStart(10)}${'max us'.padStart(10)}${'avg %'.padStart(8)}`];
  for (const name of STAGES) {
    const st = s.stages[name];
    lines.push(row(STAGE_TITLES[name], st, s.total.avg ? ((100 * st.avg) / s.total.avg).toFixed(1) : '-'));
  }
  lines.push(row('total (h-a)', s.total, s.total.count ? '100.0' : '-'));
  lines.push(`${s.count} interrupts delivered to guests${coalesced ? `, ${coalesced} coalesced` : ''}`);
  return lines.join('\n');
}

/** The breakdown of a recorded event list (in emission order). */
export function computeStages(events: Iterable<TraceEvent>): StageBreakdown {
  const b = new StageBreakdown();
  for (const e of events) b.push(e);
  return b;
}
