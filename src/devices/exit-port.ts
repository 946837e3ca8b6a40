import { Trace, TraceKind } from '../trace/trace.js';
import type { AccessContext, AccessSize, Device } from './device.js';

/**
 * Ends the run: a write to offset 0, of any size, reports the value written
 * as the exit code. Port and register follow QEMU's isa-debug-exit device
 * (iobase 0xF4, iosize 4); unlike QEMU, the code is passed on unchanged
 * rather than as (value << 1) | 1. Reads return 0.
 */
export const EXIT_PORT = 0xf4;

export type ExitHandler = (code: number, time: number, cpu: number) => void;

export class ExitPort implements Device {
  readonly name = 'exit-port';
  readonly size = 4;

  constructor(private readonly trace: Trace, private readonly onExit: ExitHandler) {}

  read(_offset: number, _size: AccessSize, _ctx: AccessContext): number {
    return 0;
  }

  peek(_offset: number, _size: AccessSize): number {
    return 0;
  }

  write(offset: number, value: number, size: AccessSize, ctx: AccessContext): void {
    if (offset !== 0) return;
    const code = size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff);
    this.trace.emit(ctx.time, ctx.cpu, TraceKind.MachineExit, code);
    this.onExit(code, ctx.time, ctx.cpu);
  }

  nextEvent(): number {
    return Infinity;
  }
}
