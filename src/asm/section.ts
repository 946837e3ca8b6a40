/** Sections of a program and the growable byte buffer each one assembles into. */
import type { SrcLoc } from './errors.js';

/** Section names in layout order. */
export const SECTIONS = ['.text', '.rodata', '.data', '.bss'] as const;
export type SectionName = (typeof SECTIONS)[number];

/** Growable byte buffer of one section. */
export class Section {
  size = 0;
  maxAlign = 1;
  /** where the largest .align is (for layout errors) */
  alignLoc: SrcLoc | null = null;
  buf = new Uint8Array(256);
  constructor(readonly name: SectionName) {}
  push(bytes: ArrayLike<number>, store: boolean): void {
    if (store) {
      if (this.size + bytes.length > this.buf.length) {
        const n = new Uint8Array(Math.max(this.buf.length * 2, this.size + bytes.length));
        n.set(this.buf.subarray(0, this.size));
        this.buf = n;
      }
      for (let i = 0; i < bytes.length; i++) this.buf[this.size + i] = bytes[i] & 0xff;
    }
    this.size += bytes.length;
  }
  fill(n: number, byte: number, store: boolean): void {
    if (store) this.push(new Uint8Array(n).fill(byte & 0xff), true);
    else this.size += n;
  }
}
