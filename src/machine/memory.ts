/**
 * Host physical RAM: one flat little-endian byte array with an aligned
 * Int32Array view for fast dword access. Pages that hold decoded code are
 * marked; a write to such a page drops its decoded instructions, so
 * self-modifying code and code written by a host into guest memory behave
 * (the CPUs' decode caches hang off this object).
 */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

export class PhysicalMemory {
  readonly bytes: Uint8Array;
  readonly i32: Int32Array;
  readonly u16: Uint16Array;
  /** per page: decoded instruction slots (4 Int32 per byte address), or undefined */
  readonly decoded: (Int32Array | undefined)[];

  constructor(readonly size: number) {
    if (size % PAGE_SIZE !== 0 || size <= 0) throw new RangeError(`memory size must be a positive multiple of ${PAGE_SIZE}`);
    this.bytes = new Uint8Array(size);
    this.i32 = new Int32Array(this.bytes.buffer);
    this.u16 = new Uint16Array(this.bytes.buffer);
    this.decoded = new Array(size >>> PAGE_SHIFT).fill(undefined);
  }

  /** Forget decoded code around a written address (an instruction may start on the previous page). */
  invalidate(addr: number): void {
    const p = addr >>> PAGE_SHIFT;
    this.decoded[p] = undefined;
    if (p > 0) this.decoded[p - 1] = undefined;
  }

  /** Load bytes (e.g. an ELF segment) at a physical address. */
  load(addr: number, data: Uint8Array): void {
    if (addr < 0 || addr + data.length > this.size) throw new RangeError(`load at 0x${addr.toString(16)} (+${data.length}) outside memory`);
    this.bytes.set(data, addr);
    for (let a = addr & ~(PAGE_SIZE - 1); a < addr + data.length; a += PAGE_SIZE) this.invalidate(a);
  }

  read32(addr: number): number {
    const b = this.bytes;
    return (b[addr] | (b[addr + 1] << 8) | (b[addr + 2] << 16) | (b[addr + 3] << 24));
  }

  write32(addr: number, v: number): void {
    const b = this.bytes;
    b[addr] = v; b[addr + 1] = v >>> 8; b[addr + 2] = v >>> 16; b[addr + 3] = v >>> 24;
    if (this.decoded[addr >>> PAGE_SHIFT] || this.decoded[(addr + 3) >>> PAGE_SHIFT]) this.invalidate(addr + 3);
  }
}
