/**
 * Disassembler: one instruction at a time (for traces and debuggers) and
 * whole images as listings that the assembler turns back into the same bytes.
 * Driven entirely by the opcode table and forms.ts.
 */
import { decodeForm, encodeForm, FIXED_KINDS, isMem, isReg, type OperandKind } from '../isa/forms.js';
import { BY_MNEMONIC, BY_OPCODE, type OpcodeEntry } from '../isa/opcodes.js';
import { CR_NAMES, NO_REG, REG16_NAMES, REG32_NAMES, REG8_NAMES } from '../isa/registers.js';
import { TRACEPOINTS } from '../isa/tracepoints.js';
import type { Expr } from './expr.js';
import { registerByName } from './expr.js';
import type { Image, Segment, Symbol } from './image.js';
import { PF_W, PF_X } from './image.js';
import { isSymbolName } from './lexer.js';
import { matchEntry, SIZE_NAME, type MemSize, type Operand } from './operands.js';

export interface Disassembled {
  readonly text: string;
  readonly length: number;
  readonly entry?: OpcodeEntry;
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;
const small = (v: number): string => (v > -10 && v < 10 ? String(v) : v < 0 && v > -0x10000 ? `-${hex(-v)}` : hex(v));
const REGS: Record<string, readonly string[]> = { r32: REG32_NAMES, r16: REG16_NAMES, r8: REG8_NAMES, cr: CR_NAMES };
const NOWHERE = { file: '', line: 0, col: 0 };

function byteRow(read: (a: number) => number, addr: number): Disassembled {
  return { text: `.byte ${hex(read(addr) & 0xff)}`, length: 1 };
}

/**
 * Disassemble the instruction at `addr`. Bytes that are not the canonical
 * encoding of an instruction (unknown opcode, register numbers above 7,
 * stray bits) come out as `.byte 0xNN` with length 1. `symbolize` names jump
 * targets and absolute memory addresses (return undefined for none).
 */
export function disassembleOne(
  read: (addr: number) => number,
  addr: number,
  symbolize?: (addr: number) => string | undefined,
): Disassembled {
  const e = BY_OPCODE[read(addr) & 0xff];
  if (!e) return byteRow(read, addr);
  const form = e.form;
  const byte = (i: number): number => read(addr + i) & 0xff;
  const f: number[] = [];
  decodeForm(form, byte, addr, f);
  const canon = encodeForm(form, e.opcode, f, addr);
  if (canon.some((b, i) => b !== byte(i))) return byteRow(read, addr);
  const ops: Operand[] = [];
  const texts: string[] = [];
  let fi = 0;
  for (const k of form.operands) {
    if (FIXED_KINDS.has(k)) {
      ops.push({ k: 'reg', ...registerByName(k)!, pos: 0 });
      texts.push(k);
    } else if (isReg(k)) {
      const n = f[fi++];
      const name = REGS[k][n];
      if (name === undefined) return byteRow(read, addr);
      ops.push({ k: 'reg', ...registerByName(name)!, pos: 0 });
      texts.push(name);
    } else if (isMem(k)) {
      const spec = f[fi++];
      const disp = f[fi++];
      const base = spec & 0xf;
      const index = (spec >> 4) & 0xf;
      const scale = 1 << ((spec >> 8) & 3);
      if ((base > 7 && base !== NO_REG) || (index > 7 && index !== NO_REG) || (index === NO_REG && scale !== 1)) {
        return byteRow(read, addr);
      }
      const parts: string[] = [];
      if (base !== NO_REG) parts.push(REG32_NAMES[base]);
      if (index !== NO_REG) parts.push(scale === 1 ? REG32_NAMES[index] : `${REG32_NAMES[index]}*${scale}`);
      let t = parts.join(' + ');
      if (!parts.length) t = symbolize?.(disp >>> 0) ?? hex(disp);
      else if (disp < 0) t += ` - ${hex(-disp)}`;
      else if (disp > 0) t += ` + ${hex(disp)}`;
      ops.push({ k: 'mem', size: 0, base, index, scale: scale as 1 | 2 | 4 | 8, disp: num(disp), pos: 0 });
      texts.push(`[${t}]`);
    } else {
      const v = f[fi++];
      if (k === 'tp') {
        const name = TRACEPOINTS[v] as string | undefined;
        ops.push({ k: 'imm', expr: name ? { t: 'sym', name, pos: 0 } : num(v), pos: 0 });
        texts.push(name ?? String(v));
      } else {
        ops.push({ k: 'imm', expr: num(v), pos: 0 });
        texts.push(k === 'rel32' ? symbolize?.(v) ?? hex(v) : small(v));
      }
    }
  }
  addSizeKeyword(e, ops, texts);
  return { text: texts.length ? `${e.mnemonic} ${texts.join(', ')}` : e.mnemonic, length: form.length, entry: e };
}

const num = (v: number): Expr => ({ t: 'num', v: BigInt(v), pos: 0 });

/** Add `byte`/`word`/`dword` to the memory operand if the assembler would otherwise pick another form. */
function addSizeKeyword(e: OpcodeEntry, ops: Operand[], texts: string[]): void {
  const mi = ops.findIndex((o) => o.k === 'mem');
  if (mi < 0) return;
  const picks = (list: Operand[]): boolean => {
    try {
      const entries = BY_MNEMONIC.get(e.mnemonic) ?? [e];
      return matchEntry(e.mnemonic, entries, list, (x) => (x.t === 'num' ? x.v : null), NOWHERE, 0) === e;
    } catch {
      return false;
    }
  };
  if (picks(ops)) return;
  const kind = e.form.operands[mi] as OperandKind;
  const size: MemSize = kind === 'm8' ? 8 : kind === 'm16' ? 16 : 32;
  ops[mi] = { ...(ops[mi] as Operand & { k: 'mem' }), size };
  texts[mi] = `${SIZE_NAME[size]} ${texts[mi]}`;
}

// ---- listings ----------------------------------------------------------------

const CANONICAL = ['.text', '.rodata', '.data', '.bss'];

function sectionOf(s: Segment): string {
  if (CANONICAL.includes(s.name)) return s.name;
  return s.flags & PF_X ? '.text' : s.flags & PF_W ? (s.data.length === 0 ? '.bss' : '.data') : '.rodata';
}

const printable = (name: string): boolean => isSymbolName(name) && !name.startsWith('.') && !registerByName(name) && name !== '$';

/**
 * A listing of the whole image that assembles back to the same segment
 * bytes and addresses: .base, constants, .global, .entry, then each section
 * with its labels, instructions (executable segments) or .byte/.space rows.
 */
export function disassembleImage(image: Image): string {
  const segs = [...image.segments].filter((s) => s.memsz > 0).sort((a, b) => a.vaddr - b.vaddr);
  const out: string[] = ['; vmxsim disassembly'];
  const seen = new Set<string>();
  const syms = image.symbols.filter((s) => printable(s.name) && !seen.has(s.name) && seen.add(s.name));
  const labels = syms.filter((s) => s.kind !== 'abs');
  // which segment prints each label: its own section, else the one containing it, else the one ending at it
  const home = new Map<Symbol, Segment>();
  for (const l of labels) {
    const inside = (s: Segment, end: boolean): boolean => l.value >= s.vaddr && (end ? l.value <= s.vaddr + s.memsz : l.value < s.vaddr + s.memsz);
    const h = segs.find((s) => s.name === l.section && inside(s, true)) ?? segs.find((s) => inside(s, false)) ?? segs.find((s) => inside(s, true));
    if (h) home.set(l, h);
  }
  const byAddr = new Map<number, string>();
  for (const l of labels) if (home.has(l) && !byAddr.has(l.value)) byAddr.set(l.value, l.name);
  const name = (a: number): string | undefined => byAddr.get(a >>> 0);

  if (segs.length) out.push(`.base ${hex(segs[0].vaddr)}`);
  for (const s of syms) if (s.kind === 'abs') out.push(`${s.name} = ${hex(s.value)}`);
  for (const s of syms) if (s.global && (s.kind === 'abs' || home.has(s))) out.push(`.global ${s.name}`);
  out.push(`.entry ${name(image.entry) ?? hex(image.entry)}`);

  let prevEnd = segs.length ? segs[0].vaddr : 0;
  segs.forEach((seg, si) => {
    const sec = sectionOf(seg);
    out.push('', `.section ${sec}`);
    if (si > 0) {
      let p = 16;
      while (p <= 1 << 20 && Math.ceil(prevEnd / p) * p !== seg.vaddr) p *= 2;
      if (p > 16 && p <= 1 << 20) out.push(`.align ${p}`);
      else if (p > 1 << 20) out.push(`; note: original address ${hex(seg.vaddr)} cannot be reproduced`);
    }
    const mine = labels.filter((l) => home.get(l) === seg).sort((a, b) => a.value - b.value);
    const stops = [...new Set(mine.map((l) => l.value))];
    const end = seg.vaddr + seg.memsz;
    const read = (a: number): number => (a >= seg.vaddr && a < seg.vaddr + seg.data.length ? seg.data[a - seg.vaddr] : 0);
    let li = 0;
    let si2 = 0;
    const emitLabels = (a: number): void => {
      while (li < mine.length && mine[li].value <= a) out.push(`${mine[li++].name}:`);
    };
    let a = seg.vaddr;
    while (a < end) {
      emitLabels(a);
      while (si2 < stops.length && stops[si2] <= a) si2++;
      const next = Math.min(end, stops[si2] ?? end);
      if (a >= seg.vaddr + seg.data.length) {
        out.push(`  .space ${next - a}`);
        a = next;
        continue;
      }
      const dataEnd = Math.min(next, seg.vaddr + seg.data.length);
      if (seg.flags & PF_X) {
        const d = disassembleOne(read, a, name);
        if (d.entry && a + d.length <= dataEnd) {
          const bytes = Array.from({ length: d.length }, (_, i) => read(a + i).toString(16).padStart(2, '0')).join(' ');
          out.push(`  ${d.text.padEnd(36)} ; ${hex(a)}: ${bytes}`);
          a += d.length;
          continue;
        }
      }
      const n = seg.flags & PF_X ? 1 : Math.min(16, dataEnd - a);
      out.push(`  .byte ${Array.from({ length: n }, (_, i) => hex(read(a + i))).join(', ')}`);
      a += n;
    }
    emitLabels(end);
    prevEnd = end;
  });
  return out.join('\n') + '\n';
}
