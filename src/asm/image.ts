/**
 * In-memory program image: what the assembler produces, what ELF files are
 * written from and read into, and what the machine loads.
 */

/** Segment permission flags (ELF p_flags values). */
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

export interface Segment {
  /** section name (.text, .rodata, .data, .bss) */
  readonly name: string;
  readonly vaddr: number;
  /** initialized bytes (file contents); the rest up to memsz is zero */
  readonly data: Uint8Array;
  readonly memsz: number;
  /** PF_R | PF_W | PF_X */
  readonly flags: number;
}

export interface Symbol {
  readonly name: string;
  readonly value: number;
  readonly size: number;
  /** section of a label; null for constants */
  readonly section: string | null;
  readonly global: boolean;
  /** func: label in .text; object: label elsewhere; abs: constant */
  readonly kind: 'func' | 'object' | 'abs';
}

export interface Image {
  readonly entry: number;
  readonly segments: readonly Segment[];
  readonly symbols: readonly Symbol[];
}

/** Preference among labels at one address: global, then non-local, then local (`parent.name`). */
function rank(s: Symbol): number {
  return (s.global ? 0 : 2) + (s.name.includes('.') ? 1 : 0);
}

interface Index {
  /** labels sorted by address, best name first among equal addresses */
  readonly labels: readonly Symbol[];
  readonly byName: ReadonlyMap<string, Symbol>;
}

const indexes = new WeakMap<Image, Index>();

function indexOf(image: Image): Index {
  let ix = indexes.get(image);
  if (!ix) {
    const labels = image.symbols
      .filter((s) => s.kind !== 'abs')
      .sort((a, b) => a.value - b.value || rank(a) - rank(b));
    const byName = new Map<string, Symbol>();
    for (const s of image.symbols) if (!byName.has(s.name)) byName.set(s.name, s);
    ix = { labels, byName };
    indexes.set(image, ix);
  }
  return ix;
}

/** Index of the last label with value <= addr, or -1. */
function floor(labels: readonly Symbol[], addr: number): number {
  let lo = 0;
  let hi = labels.length - 1;
  let r = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (labels[mid].value <= addr) {
      r = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return r;
}

/** The best label exactly at `addr`. */
export function symbolAt(image: Image, addr: number): Symbol | undefined {
  const { labels } = indexOf(image);
  let i = floor(labels, addr);
  if (i < 0 || labels[i].value !== addr) return undefined;
  while (i > 0 && labels[i - 1].value === addr) i--;
  return labels[i];
}

/** `name` or `name+0x1c` for the nearest label at or before `addr` in the same segment. */
export function symbolize(image: Image, addr: number): string | undefined {
  const exact = symbolAt(image, addr);
  if (exact) return exact.name;
  const { labels } = indexOf(image);
  let i = floor(labels, addr);
  if (i < 0) return undefined;
  const v = labels[i].value;
  while (i > 0 && labels[i - 1].value === v) i--;
  const s = labels[i];
  const seg = image.segments.find((g) => addr >= g.vaddr && addr < g.vaddr + g.memsz);
  if (seg && s.value < seg.vaddr) return undefined;
  return `${s.name}+0x${(addr - s.value).toString(16)}`;
}

export function lookupSymbol(image: Image, name: string): Symbol | undefined {
  return indexOf(image).byName.get(name);
}

/** The segment containing `addr` (within memsz), if any. */
export function segmentAt(image: Image, addr: number): Segment | undefined {
  return image.segments.find((g) => addr >= g.vaddr && addr < g.vaddr + g.memsz);
}
