/**
 * vmxsim assembler: Intel-syntax source → Image (write it with writeElf).
 * Instructions, operand forms and encodings come only from the opcode table
 * (src/isa/opcodes.ts) and forms.ts.
 *
 * ## Language
 *
 * - One statement per line; comments start with `;` or `#` (outside strings).
 * - Labels `name:`; several may precede a statement on one line. Local labels
 *   `.name:` belong to the last non-local label `parent` and are stored as
 *   `parent.name`: inside that scope write `.name`, anywhere else `parent.name`.
 *   Symbol characters: letters, digits, `_`, `.`, `$` (not a leading digit).
 *   Register names are reserved; symbols are case-sensitive; mnemonics,
 *   registers and directives are not.
 * - Constants: `NAME = expr` or `.equ NAME, expr` (defined once; may refer to
 *   symbols defined later) and `.set NAME, expr` (may be redefined; takes the
 *   value at that point).
 * - Expressions: decimal, `0x` hex, `0b` binary (`_` separators allowed),
 *   `'c'` character literals (escapes as in strings), symbols, `$` (address of
 *   the current statement), parentheses and, loosest first: `||`; `&&`; `|`;
 *   `^`; `&`; `== !=`; `< <= > >=`; `<< >>`; `+ -`; `* / %`; unary `- + ~ !`.
 *   Comparisons and `&& || !` give 1 or 0. Arithmetic is exact (64-bit range);
 *   `/` `%` truncate toward zero; `~x` is -x-1, so a 32-bit mask is written
 *   `~x & 0xFFFFFFFF`. Forward references are allowed everywhere except in
 *   values that decide sizes or assembly: `.space`/`.zero` sizes, `.align`,
 *   `.field` sizes, `.base` and `.if`/`.elseif` conditions must use symbols
 *   defined earlier (outside .text, a label's address is not known until the
 *   end, but the difference of two labels of one section is).
 * - Sections: `.section NAME` or the shorthands `.text` `.rodata` `.data` `.bss`
 *   (default .text). They are laid out in that order from the base address
 *   (.text at the base, the others at the next multiple of 16, or of their
 *   largest `.align` if greater); each non-empty one is one loadable segment.
 *   .bss takes only `.space`, `.zero` and `.align`.
 * - Data: `.byte` (8-bit), `.word` (16), `.long`/`.dword` (32), `.quad` (64),
 *   each taking one or more comma-separated expressions (labels included);
 *   `.ascii "s"[, "t"...]` and `.asciz` (NUL-terminated), escapes `\n \t \r
 *   \\ \" \' \0 \xNN`; `.space N[, fill]` and `.zero N`; `.align N` (N a power
 *   of two; .text is padded with `nop`, data with 0).
 * - `.global NAME[, ...]` (or `.globl`) makes labels global in the ELF symbol
 *   table. `.entry EXPR` sets the entry point (default: `_start` if defined,
 *   else the start of .text). `.base ADDR` sets the load address of the first
 *   section (default 0x1000; must precede all code, data and labels; a base
 *   given by the caller, e.g. `--base`, overrides it).
 * - `.include "file"`: path relative to the including file; cycles are errors.
 * - `.macro NAME [arg[, arg...]]` ... `.endm` defines a macro, invoked as
 *   `NAME a, b` (arguments split at top-level commas). In the body `\arg` is
 *   the argument text, `\@` a number unique to each expansion (for labels,
 *   e.g. `.again\@:`), `\()` separates a parameter from following text.
 * - `.if expr` / `.elseif expr` / `.else` / `.endif` (nestable).
 * - `.struct NAME`, `.field FIELD, SIZE` ..., `.ends` define constants
 *   `NAME.FIELD` (the field's offset) and `NAME.size` (the total), e.g.
 *   `mov eax, [ebx + task.prio]`.
 * - `.error "msg"` reports an error (useful inside `.if`).
 * - Instructions: `mnemonic op, op`; two-word mnemonics such as
 *   `lock cmpxchg` are written as in the table. Condition-code aliases are
 *   accepted for every Jcc/SETcc-style family (`jz` = `je`, `setnae` = `setb`).
 *   Operands: registers (eax..edi, ax..di, al cl dl bl spl bpl sil dil),
 *   immediates (expressions), memory `[base + index*scale + disp]` (terms in
 *   any order, scale 1/2/4/8, disp any expression) optionally preceded by
 *   `byte`, `word` or `dword` (optionally followed by `ptr`). Jump and call
 *   targets are absolute expressions; `trace` takes a tracepoint name (which
 *   takes precedence over a symbol of the same name) or number.
 *   The first form of the mnemonic (in table order) that accepts the operands
 *   is used: a memory operand without a size is a dword, or takes its size
 *   from a register operand (`mov [x], al`); imm8 accepts -128..255, imm16
 *   -32768..65535, imm32 -2^31..2^32-1.
 * - Errors are reported as `file:line:col: error: message` (up to 20 at once).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AsmError } from './errors.js';
import { splitLines } from './directives.js';
import { SECTIONS, type SectionName } from './section.js';
import { PF_R, PF_W, PF_X, type Image, type Segment, type Symbol } from './image.js';
import { Pass, type AsmOptions, type Shared } from './parser.js';
import { StmtError } from './errors.js';

export interface AssembleOptions {
  /** load address (overrides `.base`) */
  base?: number;
  /** file reader (default: fs, utf-8) */
  readFile?: (path: string) => string;
  /** predefined constants */
  defines?: Record<string, number>;
}

const MAX_ERRORS = 20;
const END = Number.MAX_SAFE_INTEGER;
const FLAGS: Record<SectionName, number> = { '.text': PF_R | PF_X, '.rodata': PF_R, '.data': PF_R | PF_W, '.bss': PF_R | PF_W };

/** Assemble the program whose main file is `entryPath`. Throws AsmError. */
export function assemble(entryPath: string, opts: AssembleOptions = {}): Image {
  return assembleFiles([entryPath], opts);
}

/** Assemble a string; `files` are further in-memory files for `.include`. */
export function assembleSource(
  text: string,
  opts: { fileName?: string; base?: number; files?: Record<string, string>; defines?: Record<string, number> } = {},
): Image {
  const name = opts.fileName ?? 'input.s';
  const files: Record<string, string> = { ...opts.files, [name]: text };
  const readFile = (p: string): string => {
    const t = files[p];
    if (t === undefined) throw new Error(`no such file ${p}`);
    return t;
  };
  return assembleFiles([name], { base: opts.base, defines: opts.defines, readFile });
}

/** Assemble several files as one program (as if included in order). */
export function assembleFiles(paths: readonly string[], opts: AssembleOptions = {}): Image {
  const aopts: AsmOptions = {
    base: opts.base,
    defines: opts.defines,
    readFile: opts.readFile ?? ((p) => fs.readFileSync(p, 'utf8')),
  };
  const shared: Shared = { opts: aopts, errors: [], decisions: new Map(), lengths: new Map() };
  const p1 = new Pass(1, shared);
  run(p1, paths);
  const bases = layout(p1);
  const p2 = new Pass(2, shared, p1, bases);
  run(p2, paths);
  const image = finish(p2, bases);
  if (shared.errors.length) throw new AsmError(formatErrors(shared.errors));
  return image;
}

function formatErrors(errors: readonly { seq: number; msg: string }[]): string[] {
  const sorted = errors.map((e, i) => ({ ...e, i })).sort((a, b) => a.seq - b.seq || a.i - b.i);
  const msgs = [...new Set(sorted.map((e) => e.msg))];
  if (msgs.length <= MAX_ERRORS) return msgs;
  return [...msgs.slice(0, MAX_ERRORS), `error: ${msgs.length - MAX_ERRORS} more errors not shown`];
}

function run(p: Pass, paths: readonly string[]): void {
  for (const f of paths) {
    let text: string;
    try {
      text = p.shared.opts.readFile(f);
    } catch (e) {
      p.shared.errors.push({ seq: p.seq, msg: `${f}:1:1: error: cannot read file (${(e as Error).message})` });
      continue;
    }
    p.includeStack.push(path.normalize(f));
    p.processLines(splitLines(text, f), 0);
    p.includeStack.pop();
  }
  if (p.struct) p.report(new StmtError(p.struct.loc, `unterminated .struct ${p.struct.name}, expected .ends`), END);
}

/** Section addresses after pass 1. */
function layout(p: Pass): Map<SectionName, number> {
  const bases = new Map<SectionName, number>();
  let addr = p.base;
  for (const name of SECTIONS) {
    const s = p.sections.get(name)!;
    let start = addr;
    if (name === '.text') {
      if (s.maxAlign > 1 && p.base % s.maxAlign !== 0 && s.alignLoc) {
        p.report(new StmtError(s.alignLoc, `.align ${s.maxAlign} in .text needs a base address that is a multiple of ${s.maxAlign} (base is 0x${p.base.toString(16)})`), END);
      }
    } else {
      const a = Math.max(16, s.maxAlign);
      start = Math.ceil(addr / a) * a;
    }
    bases.set(name, start);
    if (s.size > 0) addr = start + s.size;
  }
  if (addr > 2 ** 32) {
    p.shared.errors.push({ seq: END, msg: `error: program does not fit in the 32-bit address space (ends at 0x${addr.toString(16)})` });
  }
  return bases;
}

function finish(p: Pass, bases: ReadonlyMap<SectionName, number>): Image {
  const segments: Segment[] = [];
  for (const name of SECTIONS) {
    const s = p.sections.get(name)!;
    if (s.size === 0) continue;
    const data = name === '.bss' ? new Uint8Array(0) : s.buf.slice(0, s.size);
    segments.push({ name, vaddr: bases.get(name)!, data, memsz: s.size, flags: FLAGS[name] });
  }
  for (const [name, loc] of p.globals) {
    if (!p.syms.has(name)) p.report(new StmtError(loc, `undefined symbol '${name}' in .global; expected a label or constant`), END);
  }
  const u32 = (v: bigint): number => Number(BigInt.asUintN(32, v));
  const labels: { name: string; sec: SectionName; off: number; order: number }[] = [];
  const syms: Symbol[] = [];
  let order = 0;
  for (const [name, d] of p.syms) {
    const global = p.globals.has(name);
    if (d.kind === 'label') {
      labels.push({ name, sec: d.sec, off: d.off, order: order++ });
      continue;
    }
    if (d.kind === 'abs' && d.loc === null) continue; // predefined (opts.defines): not this program's symbols
    let v: bigint | null = null;
    if (d.kind === 'abs') v = d.val;
    else if (d.kind === 'set') v = d.val ? p.absolutize(d.val).v : null;
    else {
      try {
        v = p.lookup(name, 0, d.loc, '')?.v ?? null;
      } catch {
        v = null; // a circular definition, reported where it is defined
      }
    }
    if (v !== null) syms.push({ name, value: u32(v), size: 0, section: null, global, kind: 'abs' });
  }
  const sized = new Map<string, number>();
  for (const name of SECTIONS) {
    const ls = labels.filter((l) => l.sec === name).sort((a, b) => a.off - b.off || a.order - b.order);
    ls.forEach((l, i) => sized.set(l.name, (i + 1 < ls.length ? ls[i + 1].off : p.sections.get(name)!.size) - l.off));
  }
  const labelSyms: Symbol[] = labels.map((l) => ({
    name: l.name,
    value: bases.get(l.sec)! + l.off,
    size: sized.get(l.name)!,
    section: p.sections.get(l.sec)!.size > 0 ? l.sec : null,
    global: p.globals.has(l.name),
    kind: l.sec === '.text' ? 'func' : 'object',
  }));
  const all = [...labelSyms, ...syms];
  const symbols = [...all.filter((s) => !s.global), ...all.filter((s) => s.global)];

  let entry = bases.get('.text')!;
  let entryLoc = p.entry?.loc;
  if (p.entry) {
    try {
      const v = p.evaluate(p.entry.expr, p.entry.loc, p.entry.scope);
      if (v) entry = u32(v.v);
    } catch (e) {
      p.report(e, END);
    }
  } else {
    const start = p.syms.get('_start');
    if (start?.kind === 'label') {
      entry = bases.get(start.sec)! + start.off;
      entryLoc = start.loc;
    }
  }
  const text = segments.find((s) => s.name === '.text');
  if (text && entryLoc && (entry < text.vaddr || entry >= text.vaddr + text.memsz)) {
    p.report(new StmtError(entryLoc, `entry point 0x${entry.toString(16)} is outside .text (0x${text.vaddr.toString(16)}..0x${(text.vaddr + text.memsz - 1).toString(16)}); expected an address of an instruction`), END);
  }
  return { entry, segments, symbols };
}
