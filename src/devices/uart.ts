import { Trace, TraceKind } from '../trace/trace.js';
import type { AccessContext, AccessSize, Device } from './device.js';

/**
 * A 16550A UART as seen by a polling driver: transmit is instant (LSR always
 * reports THRE|TEMT), there is no input and no interrupt. Each transmitted
 * byte is captured per source CPU (ctx.cpu), so the output of concurrently
 * printing CPUs stays separable and does not depend on their interleaving.
 * Register offsets per the National PC16550D datasheet.
 */
export const COM1_PORT = 0x3f8;
export const UART_RBR_THR = 0; // DLL when LCR.DLAB = 1
export const UART_IER = 1; // DLM when LCR.DLAB = 1
export const UART_IIR_FCR = 2;
export const UART_LCR = 3;
export const UART_MCR = 4;
export const UART_LSR = 5;
export const UART_MSR = 6;
export const UART_SCR = 7;

const LCR_DLAB = 0x80;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
/** IIR: bit 0 set = no interrupt pending; bits 7:6 set when the FIFOs are enabled */
const IIR_NO_INT = 0x01;
const IIR_FIFO = 0xc0;

export interface UartOptions {
  /** called once per transmitted byte, with that byte as a one-character (Latin-1) string */
  onOutput?: (source: number, text: string) => void;
}

export class Uart16550 implements Device {
  readonly name = 'uart16550';
  readonly size = 8;
  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private scr = 0;
  private fcr = 0;
  private divisor = 12; // 9600 baud from the 1.8432 MHz clock; a value firmware usually overwrites
  private out = new Map<number, string>();
  private partial = new Map<number, string>();
  private done: { source: number; text: string }[] = [];

  constructor(private readonly trace: Trace, private readonly opts: UartOptions = {}) {}

  read(offset: number, size: AccessSize, _ctx: AccessContext): number {
    return this.peek(offset, size); // no register has a read side effect without input or interrupts
  }

  peek(offset: number, _size: AccessSize): number {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case UART_RBR_THR: return dlab ? this.divisor & 0xff : 0;
      case UART_IER: return dlab ? this.divisor >> 8 : this.ier;
      case UART_IIR_FCR: return IIR_NO_INT | (this.fcr & 1 ? IIR_FIFO : 0);
      case UART_LCR: return this.lcr;
      case UART_MCR: return this.mcr;
      case UART_LSR: return LSR_THRE | LSR_TEMT;
      case UART_MSR: return 0;
      case UART_SCR: return this.scr;
    }
    return 0xff;
  }

  write(offset: number, value: number, _size: AccessSize, ctx: AccessContext): void {
    const v = value & 0xff;
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case UART_RBR_THR:
        if (dlab) this.divisor = (this.divisor & 0xff00) | v;
        else this.transmit(v, ctx);
        break;
      case UART_IER:
        if (dlab) this.divisor = (this.divisor & 0xff) | (v << 8);
        else this.ier = v & 0x0f; // bits 7:4 are zero on a 16550
        break;
      case UART_IIR_FCR: this.fcr = v; break;
      case UART_LCR: this.lcr = v; break;
      case UART_MCR: this.mcr = v & 0x1f; break; // bits 7:5 are zero
      case UART_SCR: this.scr = v; break;
    }
  }

  nextEvent(): number {
    return Infinity;
  }

  /** Everything transmitted by `source` (a CPU index). */
  output(source: number): string {
    return this.out.get(source) ?? '';
  }

  /** Completed lines (without the '\n'), in the order they completed. */
  lines(): { source: number; text: string }[] {
    return this.done.map((l) => ({ ...l }));
  }

  private transmit(byte: number, ctx: AccessContext): void {
    const ch = String.fromCharCode(byte);
    this.out.set(ctx.cpu, this.output(ctx.cpu) + ch);
    this.trace.emit(ctx.time, ctx.cpu, TraceKind.UartTx, byte);
    if (byte === 0x0a) {
      this.done.push({ source: ctx.cpu, text: this.partial.get(ctx.cpu) ?? '' });
      this.partial.delete(ctx.cpu);
    } else {
      this.partial.set(ctx.cpu, (this.partial.get(ctx.cpu) ?? '') + ch);
    }
    this.opts.onOutput?.(ctx.cpu, ch);
  }
}
