/**
 * Architectural and software trace events. The emulator emits architectural
 * events itself (interrupt delivery, HLT/wake, IPIs, ...); firmware and guests
 * emit software events with the TRACE instruction (tracepoints, see
 * tracepoints.ts). Every event feeds a running FNV-1a hash, so two runs can
 * be compared bit for bit without keeping the events; keeping them is
 * optional (a bounded ring, for the debugger's "last N events").
 */
export enum TraceKind {
  Tracepoint = 1,
  Interrupt = 2, // a = vector, b = EventType (0 external, 2 NMI, 3 hardware exception, 4 software INT n)
  Halt = 3,
  Wake = 4,
  Ipi = 5, // a = destination, b = ICR low
  TripleFault = 6,
  ApicTimer = 7, // a = vector
  IoApicIrq = 8, // a = irq pin, b = vector
  UartTx = 9, // a = byte
  DiskComplete = 10, // a = status, b = lba
  MachineExit = 11, // a = exit code
  Startup = 12, // a = SIPI vector
  VmEntry = 20,
  VmExit = 21, // a = reason, b = qualification
  VmInject = 22, // a = interruption info
  SmiEnter = 23,
  SmiLeave = 24,
}

export interface TraceEvent {
  time: number;
  cpu: number;
  kind: TraceKind;
  a: number;
  b: number;
}

export type TraceListener = (e: TraceEvent) => void;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export class Trace {
  private h = FNV_OFFSET;
  count = 0;
  private ring: TraceEvent[] = [];
  private ringPos = 0;
  private listeners: TraceListener[] = [];

  /** @param keep how many recent events to keep (0 = none) */
  constructor(readonly keep = 0) {}

  emit(time: number, cpu: number, kind: TraceKind, a = 0, b = 0): void {
    this.count++;
    let h = this.h;
    h = mix(h, time % 0x100000000);
    h = mix(h, Math.floor(time / 0x100000000));
    h = mix(h, (cpu << 8) | kind);
    h = mix(h, a);
    h = mix(h, b);
    this.h = h;
    if (this.keep === 0 && this.listeners.length === 0) return;
    const e: TraceEvent = { time, cpu, kind, a, b };
    if (this.keep > 0) {
      if (this.ring.length < this.keep) this.ring.push(e);
      else this.ring[this.ringPos] = e;
      this.ringPos = (this.ringPos + 1) % this.keep;
    }
    for (const l of this.listeners) l(e);
  }

  on(l: TraceListener): () => void {
    this.listeners.push(l);
    return () => {
      this.listeners = this.listeners.filter((x) => x !== l);
    };
  }

  /** Hash of every event so far, as 8 hex digits. */
  get hash(): string {
    return (this.h >>> 0).toString(16).padStart(8, '0');
  }

  /** The kept events, oldest first. */
  recent(): TraceEvent[] {
    if (this.ring.length < this.keep) return this.ring.slice();
    return this.ring.slice(this.ringPos).concat(this.ring.slice(0, this.ringPos));
  }
}

function mix(h: number, v: number): number {
  for (let i = 0; i < 4; i++) {
    h ^= (v >>> (i * 8)) & 0xff;
    h = Math.imul(h, FNV_PRIME);
  }
  return h;
}
