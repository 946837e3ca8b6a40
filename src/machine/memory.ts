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
  /**
   * Per page: byte offsets [lo, hi) that may hold (part of) a decoded instruction — a superset, grown by
   * noteDecoded, reset when the page's slots are dropped. A write outside it touches no decoded or compiled code.
   * (Compiled stores read these directly: src/cpu/compiler/special.ts store32.)
   */
  readonly watchLo: Int32Array;
  readonly watchHi: Int32Array;
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
    this.watchLo = new Int32Array(size >>> PAGE_SHIFT).fill(PAGE_SIZE);
    this.watchHi = new Int32Array(size >>> PAGE_SHIFT);
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
    const from = Math.max(0, addr - (MAX_INSN_LENGTH - 1));
    for (let a = from; a < end; a++) {
      const page = this.decoded[a >>> PAGE_SHIFT];
      if (page !== undefined) page[(a & (PAGE_SIZE - 1)) << 2] = 0;
    }
    // compiled blocks containing any written byte
    if (this.compiledPages[addr >>> PAGE_SHIFT] !== 0 || this.compiledPages[(end - 1) >>> PAGE_SHIFT] !== 0) {
      for (const w of this.codeWatchers) w.invalidate(addr, size);
    }
  }

  /** A decoded slot at physical address p was filled (every decodeInto into a page of `decoded` reports here). */
  noteDecoded(p: number): void {
    const pg = p >>> PAGE_SHIFT, o = p & (PAGE_SIZE - 1);
    if (o < this.watchLo[pg]) this.watchLo[pg] = o;
    const end = o + MAX_INSN_LENGTH;
    if (end <= PAGE_SIZE) {
      if (end > this.watchHi[pg]) this.watchHi[pg] = end;
    } else {
      this.watchHi[pg] = PAGE_SIZE;
      if (pg + 1 < this.watchLo.length) {
        this.watchLo[pg + 1] = 0;
        if (end - PAGE_SIZE > this.watchHi[pg + 1]) this.watchHi[pg + 1] = end - PAGE_SIZE;
      }
    }
  }

  /**
   * Whether a write of `size` bytes at p may touch decoded or compiled code (then call invalidate).
   * The CPUs' store fast path: two loads for plain data, also for data sharing a page with code.
   */
  watched(p: number, size: number): boolean {
    const pg = p >>> PAGE_SHIFT, o = p & (PAGE_SIZE - 1);
    if (o + size > PAGE_SIZE) return true; // crosses a page: rare, let invalidate look
    return o < this.watchHi[pg] && o + size > this.watchLo[pg];
  }

  /** Drop all decoded code of the pages a range touches (bulk loads, DMA). */
  invalidatePages(addr: number, size: number): void {
    const first = Math.max(0, (addr >>> PAGE_SHIFT) - 1);
    const last = (addr + size - 1) >>> PAGE_SHIFT;
    for (let p = first; p <= last; p++) {
      this.decoded[p] = undefined;
      this.watchLo[p] = PAGE_SIZE;
      this.watchHi[p] = 0;
    }
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
    if (this.watched(addr, 4)) this.invalidate(addr, 4);
  }
}
