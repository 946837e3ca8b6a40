import type { EventHandle, EventQueue } from '../machine/event-queue.js';
import { Trace, TraceKind } from '../trace/trace.js';
import * as M from './msr.js';

/**
 * The local APIC of one CPU, in x2APIC mode only (Intel SDM Vol. 3 ch. 10,
 * x2APIC in 10.12): registers are MSRs, the ICR is one 64-bit MSR. Vector
 * sets are 256-bit maps (8 x 32-bit words, as the ISR/IRR MSRs show them).
 * Every accepted interrupt counts as edge-triggered, so the TMR reads zero;
 * the optional host.eoi lets the machine forward EOIs to the I/O APIC.
 */
export interface ApicHost {
  /** called whenever the set of deliverable interrupts may have changed (IRR/ISR/TPR change); the CPU re-checks and may wake from HLT */
  interruptsChanged(time: number): void;
  /** route an IPI written to the ICR: dest = bits 63:32 of the ICR, icrLow = bits 31:0 */
  sendIpi(dest: number, icrLow: number, time: number): void;
  /** INIT and STARTUP (SIPI) delivered to this APIC's CPU */
  init(time: number): void;
  startup(vector: number, time: number): void;
  nmi(time: number): void;
  /** optional: an EOI retired `vector` (for the I/O APIC's level-triggered remote IRR) */
  eoi?(vector: number, time: number): void;
}

export interface LocalApicConfig {
  /**
   * CPU cycles per APIC timer input tick. The timer counts at the bus clock
   * (SDM 10.5.4); Core i5-750: 133.33 MHz BCLK x ratio 20 = 2.67 GHz (Intel
   * Core i5-700 desktop series datasheet vol. 1), so 20.
   */
  cyclesPerTimerTick: number;
}

export type TimerMode = 'one-shot' | 'periodic' | 'tsc-deadline' | 'reserved';

const MODES: TimerMode[] = ['one-shot', 'periodic', 'tsc-deadline', 'reserved'];
const LVT_MSRS = Object.keys(M.LVT_WRITABLE).map(Number);
const TWO32 = 0x100000000;

export class LocalApic {
  private readonly cfg: LocalApicConfig;
  private irr = new Uint32Array(8);
  private isr = new Uint32Array(8);
  private tpr = 0;
  private svr = 0xff;
  private lvt = new Map<number, number>();
  private esr = 0;
  private pendingErrors = 0;
  private icr = 0;
  private apicBase: number;
  private divideConfig = 0;
  private initialCount = 0;
  /** one-shot/periodic: counter value at timerBase; running=false once a one-shot expired */
  private running = false;
  private countBase = 0;
  private timerBase = 0;
  private tscDeadline = 0;
  private timer: EventHandle | null = null;

  constructor(
    readonly id: number,
    private readonly queue: EventQueue,
    private readonly trace: Trace,
    private readonly host: ApicHost,
    cfg?: Partial<LocalApicConfig>,
  ) {
    this.cfg = { cyclesPerTimerTick: 20, ...cfg };
    // SDM 10.4.4: base 0xFEE00000, bit 11 global enable, bit 10 x2APIC mode, bit 8 BSP
    this.apicBase = 0xfee00000 + (1 << 11) + (1 << 10) + (id === 0 ? 1 << 8 : 0);
    this.reset();
  }

  /** Power-up/INIT state, SDM 10.4.7.1/10.4.7.3: keeps ID and IA32_APIC_BASE. */
  reset(): void {
    this.irr.fill(0);
    this.isr.fill(0);
    this.tpr = 0;
    this.svr = 0xff;
    for (const m of LVT_MSRS) this.lvt.set(m, M.LVT_MASK);
    this.esr = this.pendingErrors = this.icr = 0;
    this.divideConfig = this.initialCount = this.tscDeadline = 0;
    this.running = false;
    this.schedule(Infinity);
  }

  handlesMsr(msr: number): boolean {
    return (msr >= M.X2APIC_MSR_FIRST && msr <= M.X2APIC_MSR_LAST) || msr === M.IA32_TSC_DEADLINE || msr === M.IA32_APIC_BASE;
  }

  readMsr(msr: number, time: number): number | undefined {
    if (msr >= M.X2APIC_ISR0 && msr <= M.X2APIC_ISR7) return this.isr[msr - M.X2APIC_ISR0];
    if (msr >= M.X2APIC_TMR0 && msr <= M.X2APIC_TMR7) return 0;
    if (msr >= M.X2APIC_IRR0 && msr <= M.X2APIC_IRR7) return this.irr[msr - M.X2APIC_IRR0];
    const l = this.lvt.get(msr);
    if (l !== undefined) return l;
    switch (msr) {
      case M.IA32_APIC_BASE: return this.apicBase;
      case M.IA32_TSC_DEADLINE: return this.mode() === 'tsc-deadline' ? this.tscDeadline : 0;
      case M.X2APIC_ID: return this.id;
      case M.X2APIC_VERSION: return M.APIC_VERSION;
      case M.X2APIC_TPR: return this.tpr;
      case M.X2APIC_PPR: return this.ppr();
      // SDM 10.12.10.2: logical x2APIC ID = cluster (id[19:4]) << 16 | 1 << id[3:0]
      case M.X2APIC_LDR: return (this.id >>> 4) * 0x10000 + (1 << (this.id & 15));
      case M.X2APIC_SVR: return this.svr;
      case M.X2APIC_ESR: return this.esr;
      case M.X2APIC_ICR: return this.icr;
      case M.X2APIC_TIMER_INITIAL_COUNT: return this.initialCount;
      case M.X2APIC_TIMER_CURRENT_COUNT: return this.currentCount(time);
      case M.X2APIC_TIMER_DIVIDE: return this.divideConfig;
    }
    return undefined; // EOI, SELF_IPI are write-only; the rest is reserved
  }

  writeMsr(msr: number, value: number, time: number): boolean {
    if (!Number.isInteger(value) || value < 0) return false;
    if (msr === M.X2APIC_ICR) return this.writeIcr(value, time);
    if (msr === M.IA32_TSC_DEADLINE) {
      this.writeDeadline(value, time);
      return true;
    }
    if (msr === M.IA32_APIC_BASE) {
      // bits 0-7, 9 reserved; everything else kept but not acted on (we stay in x2APIC mode at 0xFEE00000)
      if (value % 0x400 & 0x2ff) return false;
      this.apicBase = value - (value & 0x100) + (this.apicBase & 0x100); // BSP is read-only
      return true;
    }
    if (value >= TWO32) return false; // bits 63:32 reserved in every other x2APIC register
    const lvtBits = M.LVT_WRITABLE[msr];
    if (lvtBits !== undefined) return this.writeLvt(msr, value, lvtBits);
    const bits = M.X2APIC_WRITABLE[msr];
    if (bits === undefined || value & ~bits) return false; // read-only, reserved register or reserved bits
    switch (msr) {
      case M.X2APIC_TPR: this.tpr = value; this.host.interruptsChanged(time); break;
      case M.X2APIC_EOI: this.eoi(time); break;
      case M.X2APIC_SVR:
        this.svr = value;
        if (!(value & M.SVR_ENABLE)) for (const m of LVT_MSRS) this.lvt.set(m, this.lvt.get(m)! | M.LVT_MASK);
        break;
      case M.X2APIC_ESR: this.esr = this.pendingErrors; this.pendingErrors = 0; break;
      case M.X2APIC_TIMER_INITIAL_COUNT:
        if (this.mode() === 'tsc-deadline') break; // ignored, SDM 10.5.4.1
        this.initialCount = value;
        this.armCount(value, time);
        break;
      case M.X2APIC_TIMER_DIVIDE: this.writeDivide(value, time); break;
      case M.X2APIC_SELF_IPI:
        if (value < 16) this.logError(M.ESR_SEND_ILLEGAL_VECTOR, time); // SDM 10.5.3
        else this.accept(value, time);
        break;
    }
    return true;
  }

  pendingVector(): number {
    const v = highest(this.irr);
    return v >= 0 && v >> 4 > this.ppr() >> 4 ? v : -1;
  }

  acknowledge(time: number): number {
    const v = this.pendingVector();
    if (v < 0) return -1;
    clear(this.irr, v);
    set(this.isr, v);
    this.host.interruptsChanged(time);
    return v;
  }

  accept(vector: number, time: number): void {
    if (vector < 16) return this.logError(M.ESR_RECEIVE_ILLEGAL_VECTOR, time); // SDM 10.5.2
    if (!(this.svr & M.SVR_ENABLE)) return; // software-disabled: fixed interrupts are not accepted (SDM 10.4.7.2)
    set(this.irr, vector & 0xff);
    this.host.interruptsChanged(time);
  }

  receiveIpi(deliveryMode: number, vector: number, time: number): void {
    switch (deliveryMode) {
      case M.DELIVERY_FIXED:
      case M.DELIVERY_LOWEST_PRIORITY: return this.accept(vector, time);
      case M.DELIVERY_NMI: return this.host.nmi(time);
      case M.DELIVERY_INIT:
        this.reset();
        return this.host.init(time);
      case M.DELIVERY_STARTUP: return this.host.startup(vector & 0xff, time);
    }
    // SMI, ExtINT and reserved modes are not modelled: dropped
  }

  peekState(time: number) {
    return {
      id: this.id, enabled: (this.svr & M.SVR_ENABLE) !== 0, irr: vectors(this.irr), isr: vectors(this.isr),
      tpr: this.tpr, ppr: this.ppr(), svr: this.svr, esr: this.esr, pendingErrors: this.pendingErrors, icr: this.icr,
      lvtTimer: this.lvt.get(M.X2APIC_LVT_TIMER)!,
      /** every LVT entry keyed by its MSR number in hex */
      lvt: Object.fromEntries([...this.lvt].map(([m, v]) => ['0x' + m.toString(16), v])),
      timerMode: this.mode(), initialCount: this.initialCount, currentCount: this.currentCount(time),
      tscDeadline: this.mode() === 'tsc-deadline' ? this.tscDeadline : 0, divide: this.divisor(),
      nextTimerEvent: this.nextEvent(),
    };
  }

  nextEvent(): number {
    return this.timer?.pending ? this.timer.time : Infinity;
  }

  /** SDM 10.8.3.1 */
  private ppr(): number {
    const isrv = Math.max(highest(this.isr), 0);
    return (this.tpr & 0xf0) >= (isrv & 0xf0) ? this.tpr : isrv & 0xf0;
  }

  private eoi(time: number): void {
    const v = highest(this.isr);
    if (v < 0) return;
    clear(this.isr, v);
    this.host.eoi?.(v, time);
    this.host.interruptsChanged(time);
  }

  private writeIcr(value: number, time: number): boolean {
    if (value >= 2 ** 64) return false;
    const low = value % TWO32;
    if (low & ~M.ICR_WRITABLE) return false;
    const dest = Math.floor(value / TWO32) >>> 0;
    this.icr = value;
    // SDM 10.5.3: a fixed IPI with vector 0-15 is flagged and not sent
    if ((low & 0xff) < 16 && (low >> 8 & 7) === M.DELIVERY_FIXED) {
      this.logError(M.ESR_SEND_ILLEGAL_VECTOR, time);
      return true;
    }
    this.trace.emit(time, this.id, TraceKind.Ipi, dest, low);
    this.host.sendIpi(dest, low, time);
    return true;
  }

  private writeLvt(msr: number, value: number, writable: number): boolean {
    if (value & ~writable) return false;
    if (msr === M.X2APIC_LVT_TIMER && (value >> 17 & 3) === 3) return false; // mode 11b reserved
    const old = this.lvt.get(msr)!;
    if (!(this.svr & M.SVR_ENABLE)) value |= M.LVT_MASK; // SDM 10.4.7.2: masks cannot be cleared while disabled
    this.lvt.set(msr, value | (old & ~writable));
    // SDM 10.5.4.1: switching into or out of TSC-deadline mode disarms the timer
    if (msr === M.X2APIC_LVT_TIMER && (old >> 18 & 1) !== (value >> 18 & 1)) {
      this.running = false;
      this.tscDeadline = 0;
      this.schedule(Infinity);
    }
    return true;
  }

  private mode(): TimerMode {
    return MODES[this.lvt.get(M.X2APIC_LVT_TIMER)! >> 17 & 3];
  }

  /** SDM Figure 10-10: bits 3,1:0 encode divide by 2,4,8,16,32,64,128,1 */
  private divisor(): number {
    const c = ((this.divideConfig >> 1) & 4) | (this.divideConfig & 3);
    return c === 7 ? 1 : 2 << c;
  }

  private tickCycles(): number {
    return this.divisor() * this.cfg.cyclesPerTimerTick;
  }

  private currentCount(time: number): number {
    if (!this.running || this.mode() === 'tsc-deadline') return 0;
    const e = Math.max(0, Math.floor((time - this.timerBase) / this.tickCycles()));
    if (e < this.countBase) return this.countBase - e;
    return this.mode() === 'periodic' ? this.initialCount - ((e - this.countBase) % this.initialCount) : 0;
  }

  private armCount(count: number, time: number): void {
    this.running = count > 0;
    this.countBase = count;
    this.timerBase = time;
    this.schedule(count > 0 ? time + count * this.tickCycles() : Infinity);
  }

  private writeDivide(value: number, time: number): void {
    // A running count continues from its current value at the new rate (the SDM leaves this undefined; estimate).
    const count = this.currentCount(time);
    this.divideConfig = value;
    if (count > 0) this.armCount(count, time);
  }

  private writeDeadline(value: number, time: number): void {
    if (this.mode() !== 'tsc-deadline') return; // ignored outside TSC-deadline mode, SDM 10.5.4.1
    this.tscDeadline = value;
    this.schedule(value === 0 ? Infinity : Math.max(value, time));
  }

  private schedule(at: number): void {
    this.queue.cancel(this.timer);
    this.timer = at === Infinity ? null : this.queue.schedule(at, `lapic${this.id}.timer`, (t) => this.expire(t), { owner: 'lapic', cpu: this.id });
  }

  /** Checkpoint restore: the timer event, as it was pending (machine.ts restore). */
  reviveTimer(at: number): void {
    this.schedule(at);
  }

  private expire(time: number): void {
    this.timer = null;
    const mode = this.mode();
    if (mode === 'tsc-deadline') this.tscDeadline = 0;
    else if (mode === 'periodic') this.armCount(this.initialCount, time);
    else this.running = false;
    const lvt = this.lvt.get(M.X2APIC_LVT_TIMER)!;
    const masked = (lvt & M.LVT_MASK) !== 0;
    this.trace.emit(time, this.id, TraceKind.ApicTimer, lvt & 0xff, masked ? 1 : 0);
    if (!masked) this.accept(lvt & 0xff, time);
  }

  /** Errors collect until software writes the ESR (SDM 10.5.3); a new one raises the LVT error interrupt if unmasked. */
  private logError(bit: number, time: number): void {
    const fresh = bit & ~this.pendingErrors;
    this.pendingErrors |= bit;
    const lvt = this.lvt.get(M.X2APIC_LVT_ERROR)!;
    if (fresh && !(lvt & M.LVT_MASK) && (lvt & 0xff) >= 16) this.accept(lvt & 0xff, time);
  }
}

const set = (m: Uint32Array, v: number) => void (m[v >> 5] |= 1 << (v & 31));
const clear = (m: Uint32Array, v: number) => void (m[v >> 5] &= ~(1 << (v & 31)));
function highest(m: Uint32Array): number {
  for (let w = 7; w >= 0; w--) if (m[w]) return w * 32 + 31 - Math.clz32(m[w]);
  return -1;
}
function vectors(m: Uint32Array): number[] {
  const out: number[] = [];
  for (let v = 0; v < 256; v++) if (m[v >> 5] & (1 << (v & 31))) out.push(v);
  return out;
}
