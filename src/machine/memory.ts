/**
 * Host physical RAM: one flat little-endian byte array with an aligned
 * Int32Array view for fast dword access. Pages that hold decoded code are
 * marked; a write to such a page drops its decoded instructions, so
 * self-modifying code and code written by a host into guest memory behave
 * (the CPUs' decode caches hang off this object).
 */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** longest instruction encoding (form 'mi': opcode, reg byte, mem byte, disp32, imm32) */
export const MAX_INSN_LENGTH = 11;

/** A compiled-code cache over this memory (src/cpu/compiler/cache.ts), told about writes into the code it holds. */
export interface CodeWatcher {
  /** bytes [addr, addr + size) were written */
  invalidate(addr: number, size: number): void;
  /** pages first..last were reloaded wholesale */
  invalidatePages(first: number, last: number): void;
}

export class PhysicalMemory {
  readonly bytes: Uint8Array;
  readonly i32: Int32Array;
  readonly u16: Uint16Array;
  /** per page: decoded instruction slots (4 Int32 per byte address), or undefined */
  readonly decoded: (Int32Array | undefined)[];
  /** block compiler: caches over this memory; per page, how many compiled blocks have bytes there (a page with
   * compiled code always has decoded slots too, so the CPUs' write fast path reaches invalidate()) */
  readonly codeWatchers: CodeWatcher[] = [];
  readonly compiledPages: Int32Array;
  /**
   * Set when a compiled block is invalidated or a CPU access leaves RAM (a device);
   * a running compiled block checks it after each memory access and returns to the interpreter.
   */
  blockBreak = 0;

  constructor(readonly size: number) {
    if (size % PAGE_SIZE !== 0 || size <= 0) throw new RangeError(`memory size must be a positive multiple of ${PAGE_SIZE}`);
    this.bytes = new Uint8Array(size);
    this.i32 = new Int32Array(this.bytes.buffer);
    this.u16 = new Uint16Array(this.bytes.buffer);
    this.decoded = new Array(size >>> PAGE_SHIFT).fill(undefined);
    this.compiledPages = new Int32Array(size >>> PAGE_SHIFT);
  }

  /**
   * Forget decoded instructions overlapping a write of `size` bytes at
   * `addr`: every slot from MAX_INSN_LENGTH - 1 bytes before it (an
   * instruction starting there may reach into the write) to its last byte.
   * Per-slot rather than per-page, so data that shares a page with code
   * (small programs, stacks next to text) does not force re-decoding.
   */
  invalidate(addr: number, size: number): void {
    const end = addr + size;
    for (let a = Math.max(0, addr - (MAX_INSN_LENGTH - 1)); a < end; a++) {
      const page = this.decoded[a >>> PAGE_SHIFT];
      if (page !== undefined) page[(a & (PAGE_SIZE - 1)) << 2] = 0;
    }
    // compiled blocks containing any written byte
    if (this.compiledPages[addr >>> PAGE_SHIFT] !== 0 || this.compiledPages[(end - 1) >>> PAGE_SHIFT] !== 0) {
      for (const w of this.codeWatchers) w.invalidate(addr, size);
    }
  }

  /** Drop all decoded code of the pages a range touches (bulk loads, DMA). */
  invalidatePages(addr: number, size: number): void {
    const first = Math.max(0, (addr >>> PAGE_SHIFT) - 1);
    const last = (addr + size - 1) >>> PAGE_SHIFT;
    for (let p = first; p <= last; p++) this.decoded[p] = undefined;
    for (const w of this.codeWatchers) w.invalidatePages(first, last);
  }

  /** Load bytes (e.g. an ELF segment) at a physical address. */
  load(addr: number, data: Uint8Array): void {
    if (addr < 0 || addr + data.length > this.size) throw new RangeError(`load at 0x${addr.toString(16)} (+${data.length}) outside memory`);
    this.bytes.set(data, addr);
    this.invalidatePages(addr, data.length);
  }

  read32(addr: number): number {
    const b = this.bytes;
    return (b[addr] | (b[addr + 1] << 8) | (b[addr + 2] << 16) | (b[addr + 3] << 24));
  }

  write32(addr: number, v: number): void {
    const b = this.bytes;
    b[addr] = v; b[addr + 1] = v >>> 8; b[addr + 2] = v >>> 16; b[addr + 3] = v >>> 24;
    if (this.decoded[addr >>> PAGE_SHIFT] || this.decoded[(addr + 3) >>> PAGE_SHIFT]) this.invalidate(addr, 4);
  }
}
