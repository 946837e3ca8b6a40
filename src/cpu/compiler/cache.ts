/**
 * The compiled-block cache of one physical memory (shared by its CPUs:
 * blocks are keyed by host-physical start address and take the CPU as
 * their argument). The interpreter calls tryRun() at every possible block
 * start (after a control transfer, an uncompilable instruction, an event
 * or a block): a compiled block runs when it fits in the cycle budget,
 * otherwise the start is counted and compiled once hot.
 *
 * A block runs only where the interpreter would run all of its first pass
 * the same way: no interrupt check pending (runInner), the CPU's window
 * (memBase, memLimit) as when compiled, and cycles + the cost of the pass
 * before its last instruction < runLimit (so the interpreter would start
 * every one of them). Loops re-check the same per pass.
 *
 * Invalidation: PhysicalMemory tells every cache about writes to pages that
 * hold compiled code (a per-page count keeps plain data writes cheap) and
 * about bulk loads (DMA, the loader); the blocks whose bytes overlap the
 * write are dropped, and memory.blockBreak makes a running block stop right
 * after the store that did it (compiled stores never write where code may
 * be: they leave the block first, see special.ts).
 */
import { MAX_INSN_LENGTH, PAGE_SHIFT, PAGE_SIZE, type CodeWatcher, type PhysicalMemory } from '../../machine/memory.js';
import type { Cpu } from '../cpu.js';
import { generate, planBlock, type BlockFn } from './block.js';

/**
 * Executions of a block start before it is compiled. Compiling one block
 * costs ~130-350 µs here (planning, source, `new Function`; measured on
 * the VMX demo with threshold 1, timed outside the model: the emulator
 * itself never reads the wall clock),
 * about what interpreting 1,000-3,000 executions of a typical 6-instruction
 * block costs (~15 ns per instruction), and V8 needs some hundreds of calls
 * of the new function before it optimises it. So a start must have paid
 * for its compile before it gets one; initialisation code run a few times
 * never does. (PERFORMANCE-NOTES suggests 1k-10k.)
 */
export const DEFAULT_THRESHOLD = 1000;
/** A start whose block was invalidated waits 2^k times longer before recompiling (self-modifying code). */
const MAX_BACKOFF = 8;

const noop: BlockFn = () => {};

export class Block {
  /** still in the cache (false once invalidated) */
  valid = true;
  constructor(
    /** guest-linear EIP of the start (a different memBase mapping the same page does not match) */
    readonly eip: number,
    /** host-physical address of the start */
    readonly p: number,
    /** the block runs only while memLimit >= need (all its code inside the EPT window, as when compiled) */
    readonly need: number,
    /** cycles of one pass before its last instruction: the block runs only if cycles + preLast < runLimit */
    readonly preLast: number,
    readonly run: BlockFn,
    /** host-physical [start, end) byte ranges of its instructions */
    readonly ranges: readonly number[],
    readonly pages: readonly number[],
    readonly instructions: number,
    readonly loop: boolean,
    readonly source: string,
  ) {}

  overlaps(start: number, end: number): boolean {
    const r = this.ranges;
    for (let i = 0; i < r.length; i += 2) if (start < r[i + 1] && end > r[i]) return true;
    return false;
  }
}

class CodePage {
  /** block starting at each byte offset (or a placeholder: nothing compilable starts here) */
  readonly entries: (Block | undefined)[] = new Array<Block | undefined>(PAGE_SIZE).fill(undefined);
  readonly counts = new Int32Array(PAGE_SIZE);
  readonly backoff = new Uint8Array(PAGE_SIZE);
  /** blocks with bytes on this page, and the byte range they span (conservative) */
  readonly blocks: Block[] = [];
  lo = Infinity;
  hi = -Infinity;
}

export interface CodeCacheStats {
  /** block executions (compiled code entered) */
  runs: number;
  compiled: number;
  invalidated: number;
  blocks: number;
}

export class CodeCache implements CodeWatcher {
  private readonly pages: (CodePage | undefined)[];
  readonly stats: CodeCacheStats = { runs: 0, compiled: 0, invalidated: 0, blocks: 0 };

  constructor(
    readonly memory: PhysicalMemory,
    readonly costs: Int32Array,
    readonly threshold: number = DEFAULT_THRESHOLD,
  ) {
    this.pages = new Array<CodePage | undefined>(memory.size >>> PAGE_SHIFT).fill(undefined);
    memory.codeWatchers.push(this);
  }

  /**
   * At a possible block start (no interrupt check pending): run the compiled
   * block if there is one that fits the budget and the window, else count.
   * Returns whether a block ran (the CPU's state is then after it).
   */
  tryRun(c: Cpu, p: number, eip: number): boolean {
    const cp = this.pages[p >>> PAGE_SHIFT];
    if (cp !== undefined) {
      const o = p & (PAGE_SIZE - 1);
      const b = cp.entries[o];
      if (b !== undefined) {
        if (b.eip !== eip || b.need > c.memLimit || c.cycles + b.preLast >= c.runLimit) return false;
        this.stats.runs++;
        const before = c.instructions;
        b.run(c);
        // a block that left before its first instruction (a memory access it does not do inline): the interpreter executes it
        return c.instructions !== before;
      }
      if (++cp.counts[o] < this.threshold << cp.backoff[o]) return false;
    }
    this.hot(c, p, eip);
    return false;
  }

  private hot(c: Cpu, p: number, eip: number): void {
    const pg = p >>> PAGE_SHIFT;
    if (this.pages[pg] === undefined) {
      this.pages[pg] = new CodePage();
      if (this.threshold > 1) {
        this.pages[pg]!.counts[p & (PAGE_SIZE - 1)] = 1;
        return;
      }
    }
    this.compile(c, p, eip);
  }

  /** Compile the block at `eip` (host-physical p) for CPU c's current window. */
  compile(c: Cpu, p: number, eip: number): Block {
    const plan = planBlock(c, this.memory, this.costs, eip);
    let block: Block;
    if (plan.insns.length === 0) {
      // nothing compilable starts here: a placeholder stops the counting until these bytes change
      const end = Math.min(p + MAX_INSN_LENGTH, this.memory.size);
      block = new Block(-1, p, Infinity, 0, noop, [p, end], pagesOf([p, end]), 0, false, '');
    } else {
      const { fn, source } = generate(plan, this.memory);
      const ranges: number[] = [];
      for (const ins of plan.insns) {
        const n = ranges.length;
        if (n > 0 && ranges[n - 1] === ins.p) ranges[n - 1] = ins.p + ins.len;
        else ranges.push(ins.p, ins.p + ins.len);
      }
      const need = Math.max(...plan.insns.map((i) => i.eip)) + 16;
      let pre = 0;
      for (let i = 0; i < plan.insns.length - 1; i++) pre += plan.insns[i].cost;
      block = new Block(eip, p, need, pre, fn, ranges, pagesOf(ranges), plan.insns.length, plan.loop, source);
      this.stats.compiled++;
    }
    this.install(block);
    return block;
  }

  private page(pg: number): CodePage {
    let cp = this.pages[pg];
    if (cp === undefined) cp = this.pages[pg] = new CodePage();
    return cp;
  }

  private install(b: Block): void {
    const start = this.page(b.p >>> PAGE_SHIFT);
    const o = b.p & (PAGE_SIZE - 1);
    const old = start.entries[o];
    if (old !== undefined) this.drop(old);
    start.entries[o] = b;
    start.counts[o] = 0;
    for (const pg of b.pages) {
      const cp = this.page(pg);
      cp.blocks.push(b);
      const r = b.ranges;
      for (let i = 0; i < r.length; i += 2) {
        if (r[i] < cp.lo) cp.lo = r[i];
        if (r[i + 1] > cp.hi) cp.hi = r[i + 1];
      }
      this.memory.compiledPages[pg]++;
    }
    this.stats.blocks++;
  }

  /** Remove a block from the cache (its function may still be running: memory.blockBreak stops it). */
  private drop(b: Block): void {
    if (!b.valid) return;
    b.valid = false;
    const start = this.pages[b.p >>> PAGE_SHIFT]!;
    const o = b.p & (PAGE_SIZE - 1);
    if (start.entries[o] === b) {
      start.entries[o] = undefined;
      start.counts[o] = 0;
      if (b.instructions > 0 && start.backoff[o] < MAX_BACKOFF) start.backoff[o]++;
    }
    for (const pg of b.pages) {
      const cp = this.pages[pg]!;
      const i = cp.blocks.indexOf(b);
      if (i >= 0) cp.blocks.splice(i, 1);
      if (cp.blocks.length === 0) {
        cp.lo = Infinity;
        cp.hi = -Infinity;
      }
      this.memory.compiledPages[pg]--;
    }
    this.stats.blocks--;
    this.stats.invalidated++;
    this.memory.blockBreak = 1;
  }

  /** Bytes [addr, addr + size) were written: drop the blocks containing any of them. */
  invalidate(addr: number, size: number): void {
    const end = addr + size;
    for (let pg = addr >>> PAGE_SHIFT; pg <= (end - 1) >>> PAGE_SHIFT; pg++) {
      const cp = this.pages[pg];
      if (cp === undefined || cp.blocks.length === 0 || end <= cp.lo || addr >= cp.hi) continue;
      for (const b of cp.blocks.slice()) if (b.overlaps(addr, end)) this.drop(b);
    }
  }

  /** Pages first..last lost their decoded slots (bulk load): drop every block on them. */
  invalidatePages(first: number, last: number): void {
    for (let pg = first; pg <= last; pg++) {
      const cp = this.pages[pg];
      if (cp === undefined) continue;
      for (const b of cp.blocks.slice()) this.drop(b);
    }
  }

  /** The block starting at host-physical p, if any (tests, debugging). */
  blockAt(p: number): Block | undefined {
    const b = this.pages[p >>> PAGE_SHIFT]?.entries[p & (PAGE_SIZE - 1)];
    return b && b.eip >= 0 ? b : undefined;
  }
}

function pagesOf(ranges: readonly number[]): number[] {
  const s = new Set<number>();
  for (let i = 0; i < ranges.length; i += 2) for (let pg = ranges[i] >>> PAGE_SHIFT; pg <= (ranges[i + 1] - 1) >>> PAGE_SHIFT; pg++) s.add(pg);
  return [...s];
}

/** The cache for this memory and cost table (CPUs of one machine share it). */
export function codeCacheFor(memory: PhysicalMemory, costs: Int32Array, threshold = DEFAULT_THRESHOLD): CodeCache {
  for (const w of memory.codeWatchers) if (w instanceof CodeCache && w.costs === costs && w.threshold === threshold) return w;
  return new CodeCache(memory, costs, threshold);
}
