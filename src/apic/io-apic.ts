import type { AccessContext, AccessSize, Device, IrqLine } from '../devices/device.js';
import { Trace, TraceKind } from '../trace/trace.js';

/**
 * The I/O APIC, after the Intel 82093AA datasheet: 24 redirection entries
 * reached through IOREGSEL (offset 0x00) and IOWIN (offset 0x10).
 * Simplifications: destination mode is not interpreted (bits 63:56 are
 * passed on as a physical APIC ID); polarity is not applied (IrqLine.raise
 * means "asserted"); delivery status always reads 0 (delivery is instant).
 */
export const IOAPIC_BASE = 0xfec00000;
export const IOREGSEL = 0x00;
export const IOWIN = 0x10;
export const IOAPICID = 0x00;
export const IOAPICVER = 0x01;
export const IOAPICARB = 0x02;
export const IOREDTBL = 0x10;
export const IOAPIC_PINS = 24;
/** 82093AA: max redirection entry 23 in bits 23:16, version 0x11 */
export const IOAPIC_VERSION = 0x00170011;

const MASKED = 1 << 16;
const LEVEL = 1 << 15;
const REMOTE_IRR = 1 << 14;
/** vector, delivery mode, dest mode, polarity, trigger, mask; delivery status (12) and remote IRR (14) are read-only */
const LOW_WRITABLE = 0x1afff;

export type IoApicDeliver = (destApicId: number, vector: number, deliveryMode: number, time: number) => void;

export class IoApic implements Device {
  readonly name = 'ioapic';
  readonly size = 0x20;
  private regsel = 0;
  private id = 0;
  private low = new Uint32Array(IOAPIC_PINS).fill(MASKED);
  private high = new Uint32Array(IOAPIC_PINS);
  private asserted = new Uint8Array(IOAPIC_PINS);
  private lines: IrqLine[] = [];

  constructor(private readonly trace: Trace, private readonly deliver: IoApicDeliver) {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      this.lines.push({ raise: (t) => this.setPin(pin, true, t), lower: (t) => this.setPin(pin, false, t) });
    }
  }

  irq(pin: number): IrqLine {
    if (!Number.isInteger(pin) || pin < 0 || pin >= IOAPIC_PINS) throw new RangeError(`ioapic: no pin ${pin}`);
    return this.lines[pin];
  }

  redirection(pin: number): { vector: number; dest: number; masked: boolean; deliveryMode: number; raw: bigint } {
    const lo = this.low[pin], hi = this.high[pin];
    return {
      vector: lo & 0xff,
      dest: hi >>> 24,
      masked: (lo & MASKED) !== 0,
      deliveryMode: (lo >> 8) & 7,
      raw: (BigInt(hi) << 32n) | BigInt(lo),
    };
  }

  /**
   * End of interrupt for a level-triggered vector (the local APIC's EOI
   * broadcast, wired by the machine): clears remote IRR on the entries with
   * that vector and re-delivers if the line is still asserted.
   */
  eoi(vector: number, time: number): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      if ((this.low[pin] & 0xff) !== vector || !(this.low[pin] & REMOTE_IRR)) continue;
      this.low[pin] &= ~REMOTE_IRR;
      this.levelCheck(pin, time);
    }
  }

  read(offset: number, size: AccessSize, _ctx: AccessContext): number {
    return this.peek(offset, size);
  }

  peek(offset: number, _size: AccessSize): number {
    if (offset === IOREGSEL) return this.regsel;
    if (offset === IOWIN) return this.readReg(this.regsel);
    return 0;
  }

  write(offset: number, value: number, _size: AccessSize, ctx: AccessContext): void {
    if (offset === IOREGSEL) this.regsel = value & 0xff;
    else if (offset === IOWIN) this.writeReg(this.regsel, value >>> 0, ctx.time);
  }

  nextEvent(): number {
    return Infinity;
  }

  private readReg(reg: number): number {
    if (reg === IOAPICID) return this.id;
    if (reg === IOAPICVER) return IOAPIC_VERSION;
    if (reg === IOAPICARB) return this.id; // arbitration ID is loaded from the APIC ID
    const n = (reg - IOREDTBL) >> 1;
    if (reg < IOREDTBL || n >= IOAPIC_PINS) return 0;
    return reg & 1 ? this.high[n] : this.low[n];
  }

  private writeReg(reg: number, value: number, time: number): void {
    if (reg === IOAPICID) {
      this.id = value & 0x0f000000; // bits 27:24; version and arbitration are read-only
      return;
    }
    const n = (reg - IOREDTBL) >> 1;
    if (reg < IOREDTBL || n >= IOAPIC_PINS) return;
    if (reg & 1) {
      this.high[n] = value & 0xff000000;
      return;
    }
    this.low[n] = (value & LOW_WRITABLE) | (this.low[n] & REMOTE_IRR);
    if (!(value & LEVEL)) this.low[n] &= ~REMOTE_IRR;
    this.levelCheck(n, time); // an unmasked, still-asserted level pin fires now
  }

  private setPin(pin: number, level: boolean, time: number): void {
    const was = this.asserted[pin] === 1;
    this.asserted[pin] = level ? 1 : 0;
    if (!level) return;
    if (this.low[pin] & LEVEL) this.levelCheck(pin, time);
    // 82093AA: an edge arriving while the entry is masked is lost
    else if (!was && !(this.low[pin] & MASKED)) this.send(pin, time);
  }

  private levelCheck(pin: number, time: number): void {
    const lo = this.low[pin];
    if (!(lo & LEVEL) || !this.asserted[pin] || lo & MASKED || lo & REMOTE_IRR) return;
    this.low[pin] = lo | REMOTE_IRR; // set until the EOI for this vector
    this.send(pin, time);
  }

  private send(pin: number, time: number): void {
    const r = this.redirection(pin);
    this.trace.emit(time, r.dest, TraceKind.IoApicIrq, pin, r.vector);
    this.deliver(r.dest, r.vector, r.deliveryMode, time);
  }
}
