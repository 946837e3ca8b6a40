/**
 * `follow`: one interrupt's way into a guest, point by point — the paper's
 * Fig. 2 time points, recognised from the trace exactly as
 * src/trace/stages.ts defines them (a raise, b VM exit done, c host
 * interrupts on, d host ISR done, e host scheduling done, f VM entry begun,
 * g VM entry done, h first guest ISR instruction). The session stops at
 * each point reached and prints the stage that ended there.
 */
import { TRACEPOINT_ID } from '../isa/tracepoints.js';
import { STAGE_TITLES, type StageName } from '../trace/stages.js';
import { TraceKind } from '../trace/trace.js';
import { INTR_INFO_VALID } from '../vmx/controls.js';
import { ExitReason } from '../vmx/exit-reasons.js';
import type { SeenEvent } from './events.js';

export type PointName = 'a' | 'b' | 'c' | 'd' | 'e' | 'f' | 'g' | 'h';

export const POINT_TITLES: Record<PointName, string> = {
  a: 'interrupt raised',
  b: 'VM exit done',
  c: 'host interrupts on',
  d: 'host ISR done',
  e: 'host scheduling done',
  f: 'VM entry begun',
  g: 'VM entry done',
  h: 'first guest ISR instruction',
};

/** The stage that ends at a point (g has none: it splits vm_entry into the transition and the IDT delivery). */
export const STAGE_ENDING: Partial<Record<PointName, StageName>> = {
  b: 'vm_exit', c: 'after_vm_exit', d: 'host_isr', e: 'host_scheduling', f: 'before_vm_entry', h: 'vm_entry',
};
const PREVIOUS: Record<PointName, PointName | null> = { a: null, b: 'a', c: 'b', d: 'c', e: 'd', f: 'e', g: 'f', h: 'f' };

const tp = (n: string): number => TRACEPOINT_ID.get(n)!;
const TP = {
  irqEnable: tp('irq_enable'), setIrq: tp('kvm_set_irq'), localTimerExit: tp('local_timer_exit'), irqHandlerExit: tp('irq_handler_exit'),
  schedDone: tp('kvm_sched_done'), kvmEntry: tp('kvm_entry'),
};

export interface Point {
  time: number;
  cpu: number;
  /** e = f when the vCPU thread passed no reschedule point (stages.ts) */
  note?: string;
}

export class Follower {
  readonly points: Partial<Record<PointName, Point>> = {};
  next: PointName;
  raiseCpu = -1;
  hostVector = -1;
  vcpu = -1;
  guestVector = -1;
  injectCpu = -1;
  /** why following ended before h */
  failed: string | null = null;

  /** Start at a raise (next: a) or from an EXTERNAL_INTERRUPT exit already seen (a and b known). */
  constructor(start?: { a: Point; b: Point; hostVector: number }, readonly cpuFilter?: number) {
    if (start) {
      this.points.a = start.a;
      this.points.b = start.b;
      this.raiseCpu = start.b.cpu;
      this.hostVector = start.hostVector;
      this.next = 'c';
    } else this.next = 'a';
  }

  get done(): boolean {
    return this.failed !== null || this.points.h !== undefined;
  }

  /** Cycles of the stage ending at `p` (from the previous point). */
  delta(p: PointName): number | undefined {
    const prev = PREVIOUS[p];
    const a = prev && this.points[prev];
    const b = this.points[p];
    return a && b ? b.time - a.time : undefined;
  }

  static stageTitle(p: PointName): string {
    const s = STAGE_ENDING[p];
    return s ? STAGE_TITLES[s] : p === 'g' ? 'entry transition (g-f)' : '';
  }

  /** Feed one event; returns the points it reached. `entryInfo(cpu)` = VM_ENTRY_INTR_INFO_FIELD of that CPU's current VMCS. */
  push(x: SeenEvent, entryInfo: (cpu: number) => number): PointName[] {
    if (this.done) return [];
    const { e } = x;
    const host = x.guest === null;
    const set = (p: PointName, note?: string): PointName => {
      this.points[p] = { time: e.time, cpu: e.cpu, note };
      return p;
    };
    switch (this.next) {
      case 'a': {
        if (this.cpuFilter !== undefined && e.cpu !== this.cpuFilter) return [];
        if (e.kind === TraceKind.ApicTimer && e.b === 0) this.hostVector = e.a;
        else if (e.kind === TraceKind.IoApicIrq) this.hostVector = e.b;
        else return [];
        this.raiseCpu = e.cpu;
        this.next = 'b';
        return [set('a')];
      }
      case 'b':
      case 'c': {
        if (e.cpu !== this.raiseCpu) return [];
        if (this.next === 'b' && e.kind === TraceKind.VmExit && (e.a & 0xffff) === ExitReason.EXTERNAL_INTERRUPT) {
          this.next = 'c';
          return [set('b')];
        }
        const hostIsr = host && ((e.kind === TraceKind.Tracepoint && e.a === TP.irqEnable && (e.b & 0xff) === this.hostVector) || (e.kind === TraceKind.Interrupt && e.b === 0 && e.a === this.hostVector));
        if (!hostIsr) return [];
        this.next = 'd';
        if (this.points.b === undefined) return [set('b', 'no exit: the CPU was in the host (b = c)'), set('c')];
        return [set('c')];
      }
      case 'd': {
        if (e.cpu !== this.raiseCpu || !host || e.kind !== TraceKind.Tracepoint) return [];
        if (e.a === TP.setIrq) {
          this.vcpu = e.b >>> 8;
          this.guestVector = e.b & 0xff;
          return [];
        }
        if (e.a !== TP.localTimerExit && e.a !== TP.irqHandlerExit) return [];
        if (this.vcpu < 0) this.failed = 'the host ISR raised no guest vector (kvm_set_irq): a host-only interrupt, or a device interrupt that reaches its guest later through the VM\'s I/O thread';
        this.next = 'e';
        return [set('d')];
      }
      case 'e':
      case 'f': {
        if (!host || e.kind !== TraceKind.Tracepoint || (e.b | 0) !== this.vcpu) return [];
        if (this.next === 'e' && e.a === TP.schedDone) {
          this.next = 'f';
          return [set('e')];
        }
        if (e.a !== TP.kvmEntry) return [];
        const info = entryInfo(e.cpu);
        if (!(info & INTR_INFO_VALID) || (info & 0xff) !== this.guestVector || ((info >>> 8) & 7) !== 0) return [];
        this.injectCpu = e.cpu;
        const out: PointName[] = [];
        if (this.points.e === undefined) out.push(set('e', 'no reschedule point before the injecting entry (e = f)'));
        this.next = 'g';
        out.push(set('f'));
        return out;
      }
      case 'g':
        if (e.cpu !== this.injectCpu || e.kind !== TraceKind.VmEntry) return [];
        this.next = 'h';
        return [set('g')];
      case 'h':
        if (e.cpu !== this.injectCpu || e.kind !== TraceKind.Interrupt || host) return [];
        return [set('h')];
    }
  }
}
