/**
 * The contract every device shares. A device occupies `size` bytes of either
 * the port-I/O or the memory-mapped space; the bus hands it offsets relative
 * to its base. `read`/`write` are the CPU's accesses and may have side
 * effects (clearing a status, starting a transfer); `peek` never does and is
 * what the debugger and checkpoints use. Devices that act later schedule
 * events on the machine's one EventQueue.
 */
export interface AccessContext {
  /** index of the CPU performing the access */
  cpu: number;
  /** current time in cycles of that CPU */
  time: number;
}

export type AccessSize = 1 | 2 | 4;

export interface Device {
  readonly name: string;
  readonly size: number;
  read(offset: number, size: AccessSize, ctx: AccessContext): number;
  write(offset: number, value: number, size: AccessSize, ctx: AccessContext): void;
  peek(offset: number, size: AccessSize): number;
  /** Time (cycles) of this device's next scheduled event, Infinity if none. */
  nextEvent(): number;
}

/** An interrupt request line into the I/O APIC (or anything else). */
export interface IrqLine {
  raise(time: number): void;
  lower(time: number): void;
}
