/**
 * A VMCS: the values of the fields (keyed by full encoding) plus the launch
 * state. Like a real processor, the emulator keeps a VMCS's data in its own
 * format; the VMCS region in memory holds only the revision identifier
 * (software must not touch the rest, SDM 24.2). Reads never have side
 * effects; every write goes through write().
 */
import { FIELDS, fieldMask, type FieldInfo } from './fields.js';

export enum LaunchState {
  Clear = 'clear',
  Launched = 'launched',
}

export class Vmcs {
  private readonly values = new Map<number, number>();
  /** high halves of 64-bit fields */
  private readonly high = new Map<number, number>();
  launchState = LaunchState.Clear;

  constructor(readonly address: number) {}

  read(encoding: number): number {
    return this.values.get(encoding) ?? 0;
  }

  readHigh(encoding: number): number {
    return this.high.get(encoding) ?? 0;
  }

  write(encoding: number, value: number): void {
    const info = FIELDS.get(encoding);
    if (!info) throw new RangeError(`no VMCS field 0x${encoding.toString(16)}`);
    this.values.set(encoding, (value & fieldMask(info)) >>> 0);
  }

  writeHigh(encoding: number, value: number): void {
    this.high.set(encoding, value >>> 0);
  }

  /** Full 64-bit value of a 64-bit field as a JS number (exact below 2^53). */
  read64(encoding: number): number {
    return this.readHigh(encoding) * 0x100000000 + this.read(encoding);
  }

  /** Every field with its value, in encoding order (debugger, checkpoints). */
  dump(): { info: FieldInfo; value: number; high: number }[] {
    return [...FIELDS.values()]
      .sort((a, b) => a.encoding - b.encoding)
      .map((info) => ({ info, value: this.read(info.encoding), high: this.readHigh(info.encoding) }));
  }
}
