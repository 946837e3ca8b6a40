import type { EventHandle, EventQueue } from '../machine/event-queue.js';
import { Trace, TraceKind } from '../trace/trace.js';
import type { AccessContext, AccessSize, Device, IrqLine } from './device.js';

/**
 * "vmxsim-blk": a minimal DMA block controller of our own design. 32-bit
 * registers (aligned 32-bit writes only; other writes are ignored):
 *   0x00 LBA       first sector (512 bytes each)
 *   0x04 COUNT     sectors, 1..65536 (the ATA READ/WRITE DMA EXT limit)
 *   0x08 DMA_ADDR  host-physical address of the buffer
 *   0x0C COMMAND   write 1 = read (disk -> memory), 2 = write; starts the
 *                  request; while BUSY it only sets ERROR
 *   0x10 STATUS    bit0 BUSY, bit1 DONE, bit2 ERROR (read-only)
 *   0x14 ACK       write 1: clear DONE and ERROR, lower the IRQ
 *   0x18 CAPACITY  sectors (read-only)
 * The IRQ is raised at completion and held until ACK or the next command,
 * like a level-triggered controller. A bad request (range, count, command)
 * completes at once with DONE|ERROR and moves no data.
 * Latency = seek (from the head's last position) + rotational wait (from
 * the platter's angle, a function of time) + media transfer; see DiskModel.
 */
export const DISK_PORT = 0xc000;
export const DISK_LBA = 0x00;
export const DISK_COUNT = 0x04;
export const DISK_DMA_ADDR = 0x08;
export const DISK_COMMAND = 0x0c;
export const DISK_STATUS = 0x10;
export const DISK_ACK = 0x14;
export const DISK_CAPACITY = 0x18;
export const DISK_CMD_READ = 1;
export const DISK_CMD_WRITE = 2;
export const DISK_BUSY = 1;
export const DISK_DONE = 2;
export const DISK_ERROR = 4;
export const SECTOR_SIZE = 512;
export const DISK_MAX_SECTORS = 65536;

/**
 * Defaults: a 2009 desktop 7200 rpm disk (Seagate Barracuda 7200.12 class;
 * datasheet-class figures, estimate). With the sqrt seek curve below, random
 * requests average ~9.4 ms of seek, near the quoted ~8.5 ms average.
 */
export interface DiskModel {
  capacitySectors: number; // 2^21 sectors = 1 GiB
  rpm: number; // 7200 rpm: 8.33 ms per revolution
  trackToTrackMs: number; // ~0.8 ms
  fullStrokeMs: number; // ~17 ms
  mediaBytesPerSecond: number; // ~125 MB/s sustained
  cpuHz: number; // Core i5-750, 2.67 GHz
}

export const DEFAULT_DISK_MODEL: DiskModel = {
  capacitySectors: 2 ** 21,
  rpm: 7200,
  trackToTrackMs: 0.8,
  fullStrokeMs: 17,
  mediaBytesPerSecond: 125e6,
  cpuHz: 2_670_000_000,
};

/** A request in flight: what its completion does (a write's data was taken from memory at the command). */
export interface DiskRequest {
  lba: number;
  count: number;
  dmaAddr: number;
  cpu: number;
  error: boolean;
  data: Uint8Array | null;
}

export interface DmaPort {
  readMem(addr: number, len: number): Uint8Array;
  writeMem(addr: number, data: Uint8Array): void;
}

export class DiskController implements Device {
  readonly name = 'vmxsim-blk';
  readonly size = 0x20;
  readonly model: DiskModel;
  private sectors = new Map<number, Uint8Array>();
  private lba = 0;
  private count = 0;
  private dmaAddr = 0;
  private command = 0;
  private status = 0;
  /** sector under the head after the last request */
  private headLba = 0;
  private pending: EventHandle | null = null;

  constructor(
    private readonly queue: EventQueue,
    private readonly trace: Trace,
    private readonly dma: DmaPort,
    private readonly irq: IrqLine,
    opts?: Partial<DiskModel>,
  ) {
    this.model = { ...DEFAULT_DISK_MODEL, ...opts };
  }

  read(offset: number, size: AccessSize, _ctx: AccessContext): number {
    return this.peek(offset, size);
  }

  peek(offset: number, size: AccessSize): number {
    const reg = this.register(offset & ~3);
    const v = Math.floor(reg / 2 ** ((offset & 3) * 8));
    return size === 4 ? v >>> 0 : v & (size === 2 ? 0xffff : 0xff);
  }

  write(offset: number, value: number, size: AccessSize, ctx: AccessContext): void {
    if (size !== 4 || offset & 3) return;
    const v = value >>> 0;
    switch (offset) {
      case DISK_LBA: this.lba = v; break;
      case DISK_COUNT: this.count = v; break;
      case DISK_DMA_ADDR: this.dmaAddr = v; break;
      case DISK_COMMAND: this.start(v, ctx); break;
      case DISK_ACK:
        if (v & 1) {
          this.status &= ~(DISK_DONE | DISK_ERROR);
          this.irq.lower(ctx.time);
        }
        break;
    }
  }

  nextEvent(): number {
    return this.pending?.pending ? this.pending.time : Infinity;
  }

  peekState() {
    return {
      lba: this.lba, count: this.count, dmaAddr: this.dmaAddr, command: this.command,
      status: this.status, headLba: this.headLba, completesAt: this.nextEvent(),
      capacity: this.model.capacitySectors, sectorsStored: this.sectors.size,
    };
  }

  /** Host-side access to the medium (disk images, debugger); no timing, no side effects on the controller. */
  readSectors(lba: number, count: number): Uint8Array {
    const out = new Uint8Array(count * SECTOR_SIZE);
    for (let i = 0; i < count; i++) {
      const s = this.sectors.get(lba + i);
      if (s) out.set(s, i * SECTOR_SIZE);
    }
    return out;
  }

  writeSectors(lba: number, data: Uint8Array): void {
    for (let i = 0; i * SECTOR_SIZE < data.length; i++) {
      const s = new Uint8Array(SECTOR_SIZE);
      s.set(data.subarray(i * SECTOR_SIZE, (i + 1) * SECTOR_SIZE));
      if (s.some((b) => b !== 0)) this.sectors.set(lba + i, s);
      else this.sectors.delete(lba + i); // zero sectors are not stored: the medium stays sparse
    }
  }

  /** Cycles from a command at `time` until its data has transferred. */
  latency(lba: number, count: number, time: number): number {
    const m = this.model;
    const cyclesPerMs = m.cpuHz / 1000;
    const distance = Math.abs(lba - this.headLba);
    const seekMs = distance === 0 ? 0 : m.trackToTrackMs + (m.fullStrokeMs - m.trackToTrackMs) * Math.sqrt(distance / m.capacitySectors);
    const revCycles = (60_000 / m.rpm) * cyclesPerMs;
    // sectors per track such that one revolution passes one track under the head at the media rate
    const perTrack = Math.max(1, Math.floor((m.mediaBytesPerSecond * 60) / m.rpm / SECTOR_SIZE));
    const seekEnd = time + seekMs * cyclesPerMs;
    const platter = (seekEnd % revCycles) / revCycles;
    const target = (lba % perTrack) / perTrack;
    const rotCycles = ((target - platter + 1) % 1) * revCycles;
    const transferCycles = ((count * SECTOR_SIZE) / m.mediaBytesPerSecond) * m.cpuHz;
    return Math.round(seekEnd - time + rotCycles + transferCycles);
  }

  private register(offset: number): number {
    switch (offset) {
      case DISK_LBA: return this.lba;
      case DISK_COUNT: return this.count;
      case DISK_DMA_ADDR: return this.dmaAddr;
      case DISK_COMMAND: return this.command;
      case DISK_STATUS: return this.status;
      case DISK_CAPACITY: return this.model.capacitySectors;
    }
    return 0;
  }

  private start(command: number, ctx: AccessContext): void {
    if (this.status & DISK_BUSY) {
      this.status |= DISK_ERROR;
      return;
    }
    this.command = command;
    this.status = DISK_BUSY;
    this.irq.lower(ctx.time);
    const { lba, count, dmaAddr } = this;
    const valid = (command === DISK_CMD_READ || command === DISK_CMD_WRITE) &&
      count >= 1 && count <= DISK_MAX_SECTORS && lba + count <= this.model.capacitySectors;
    if (!valid) {
      this.scheduleCompletion(ctx.time, { lba, count, dmaAddr, cpu: ctx.cpu, error: true, data: null });
      return;
    }
    const at = ctx.time + this.latency(lba, count, ctx.time);
    this.headLba = lba + count;
    // a write's data leaves memory when the command is issued; a read's arrives at completion
    const data = command === DISK_CMD_WRITE ? this.dma.readMem(dmaAddr, count * SECTOR_SIZE).slice() : null;
    this.scheduleCompletion(at, { lba, count, dmaAddr, cpu: ctx.cpu, error: false, data });
  }

  /** The in-flight request completes at `at` (also: checkpoint restore, machine.ts; `req` is plain data). */
  scheduleCompletion(at: number, req: DiskRequest): void {
    this.pending = this.queue.schedule(at, 'disk.complete', (t) => {
      if (req.error) return this.complete(t, req.lba, DISK_ERROR, req.cpu);
      if (req.data) this.writeSectors(req.lba, req.data);
      else this.dma.writeMem(req.dmaAddr, this.readSectors(req.lba, req.count));
      this.complete(t, req.lba, 0, req.cpu);
    }, { owner: 'disk', args: [req] });
  }

  private complete(time: number, lba: number, error: number, cpu: number): void {
    this.pending = null;
    this.status = (this.status & ~DISK_BUSY) | DISK_DONE | error;
    this.irq.raise(time);
    this.trace.emit(time, cpu, TraceKind.DiskComplete, this.status, lba);
  }
}
