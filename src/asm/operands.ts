/**
 * Operands: parsing an operand, resolving a mnemonic (condition-code aliases
 * included), matching parsed operands against the forms of the opcode table,
 * and producing the decoded-style fields that forms.ts encodes. Everything
 * here is driven by OPCODES/FORMS; no instruction is named.
 */
import { CONDITIONS, CONDITION_ALIASES } from '../isa/conditions.js';
import { FIXED_KINDS, packMem, type Form, type OperandKind } from '../isa/forms.js';
import { BY_MNEMONIC, type OpcodeEntry } from '../isa/opcodes.js';
import { NO_REG } from '../isa/registers.js';
import { TRACEPOINT_ID } from '../isa/tracepoints.js';
import { StmtError, type SrcLoc } from './errors.js';
import { parseExpr, registerByName, TokenStream, describe, type Expr } from './expr.js';
import { locAt, type Token } from './lexer.js';

export type MemSize = 0 | 8 | 16 | 32;

export type Operand =
  | { readonly k: 'reg'; readonly size: 0 | 8 | 16 | 32; readonly num: number; readonly name: string; readonly pos: number }
  | {
      readonly k: 'mem'; readonly size: MemSize; readonly base: number; readonly index: number;
      readonly scale: 1 | 2 | 4 | 8; readonly disp: Expr | null; readonly pos: number;
    }
  | { readonly k: 'imm'; readonly expr: Expr; readonly pos: number };

const SIZE_WORDS: Record<string, MemSize> = { byte: 8, word: 16, dword: 32 };
export const SIZE_NAME: Record<number, string> = { 8: 'byte', 16: 'word', 32: 'dword' };

/** Parse one operand from its tokens. */
export function parseOperand(tokens: Token[], loc: SrcLoc, end: number): Operand {
  const ts = new TokenStream(tokens, loc, end);
  if (ts.atEnd()) throw ts.error('missing operand, expected a register, an immediate or a memory operand');
  const first = ts.peek()!;
  let size: MemSize = 0;
  if (first.kind === 'id' && SIZE_WORDS[first.text.toLowerCase()] !== undefined && !ts.atEnd()) {
    const nxt = ts.peek(1);
    if (nxt && ((nxt.kind === 'op' && nxt.text === '[') || (nxt.kind === 'id' && nxt.text.toLowerCase() === 'ptr'))) {
      size = SIZE_WORDS[first.text.toLowerCase()];
      ts.next();
      if (ts.peek()?.text.toLowerCase() === 'ptr') ts.next();
      if (!ts.isOp('[')) throw ts.error(`expected '[' after '${first.text}', found ${describe(ts.peek())}`);
    }
  }
  if (ts.isOp('[')) {
    const open = ts.next()!;
    const e = parseExpr(ts, true);
    ts.expectOp(']', 'to close the memory operand');
    if (!ts.atEnd()) throw ts.error(`unexpected ${describe(ts.peek())} after memory operand`);
    return { k: 'mem', size, ...memParts(e, loc), pos: size ? first.pos : open.pos };
  }
  if (tokens.length === 1 && first.kind === 'id') {
    const reg = registerByName(first.text);
    if (reg) return { k: 'reg', ...reg, pos: first.pos };
  }
  const expr = parseExpr(ts, false);
  if (!ts.atEnd()) throw ts.error(`unexpected ${describe(ts.peek())} in operand, expected ',' or end of line`);
  return { k: 'imm', expr, pos: first.pos };
}

const hasReg = (e: Expr): boolean =>
  e.t === 'reg' || (e.t === 'un' && hasReg(e.e)) || (e.t === 'bin' && (hasReg(e.l) || hasReg(e.r)));

/** Split `[...]` contents into base, index*scale and a displacement expression. */
function memParts(e: Expr, loc: SrcLoc): { base: number; index: number; scale: 1 | 2 | 4 | 8; disp: Expr | null } {
  const plain: { num: number; pos: number }[] = [];
  const scaled: { num: number; scale: number; pos: number }[] = [];
  const disp: { e: Expr; neg: boolean }[] = [];
  const bad = (pos: number, m: string): StmtError =>
    new StmtError(locAt(loc, pos), `${m}; expected [base + index*scale + disp] with scale 1, 2, 4 or 8`);
  const reg32 = (r: Expr & { t: 'reg' }): number => {
    if (r.size !== 32) throw bad(r.pos, `register '${r.name}' cannot address memory (use a 32-bit register)`);
    return r.num;
  };
  const walk = (x: Expr, neg: boolean): void => {
    if (x.t === 'reg') {
      if (neg) throw bad(x.pos, `register '${x.name}' cannot be subtracted`);
      plain.push({ num: reg32(x), pos: x.pos });
    } else if (x.t === 'bin' && (x.op === '+' || x.op === '-')) {
      walk(x.l, neg);
      walk(x.r, x.op === '-' ? !neg : neg);
    } else if (x.t === 'un' && x.op === '-') {
      walk(x.e, !neg);
    } else if (x.t === 'bin' && x.op === '*' && (x.l.t === 'reg' || x.r.t === 'reg')) {
      const [r, s] = x.l.t === 'reg' ? [x.l, x.r] : [x.r as Expr & { t: 'reg' }, x.l];
      if (neg) throw bad(x.pos, `register '${r.name}' cannot be subtracted`);
      if (s.t !== 'num' || ![1n, 2n, 4n, 8n].includes(s.v)) throw bad(s.pos, 'bad scale');
      scaled.push({ num: reg32(r), scale: Number(s.v), pos: r.pos });
    } else if (hasReg(x)) {
      throw bad(x.pos, 'bad memory operand');
    } else {
      disp.push({ e: x, neg });
    }
  };
  walk(e, false);
  let base = NO_REG;
  let index = NO_REG;
  let scale = 1;
  if (scaled.length > 1) throw bad(scaled[1].pos, 'only one register can be scaled');
  if (scaled.length === 1) {
    if (plain.length > 1) throw bad(plain[1].pos, 'too many registers');
    index = scaled[0].num;
    scale = scaled[0].scale;
    if (plain.length) base = plain[0].num;
  } else {
    if (plain.length > 2) throw bad(plain[2].pos, 'too many registers');
    if (plain.length) base = plain[0].num;
    if (plain.length > 1) index = plain[1].num;
  }
  let d: Expr | null = null;
  for (const t of disp) {
    if (d === null) d = t.neg ? { t: 'un', op: '-', e: t.e, pos: t.e.pos } : t.e;
    else d = { t: 'bin', op: t.neg ? '-' : '+', l: d, r: t.e, pos: t.e.pos };
  }
  return { base, index, scale: scale as 1 | 2 | 4 | 8, disp: d };
}

// ---- mnemonics ----------------------------------------------------------

/**
 * Condition-code aliases: for every mnemonic family that has one member per
 * condition (prefix + each of CONDITIONS), prefix + alias resolves to
 * prefix + canonical condition (jz → je, setnae → setb, ...).
 */
const ALIASES: ReadonlyMap<string, string> = (() => {
  const m = new Map<string, string>();
  const prefixes = new Set<string>();
  for (const mn of BY_MNEMONIC.keys()) {
    for (const cc of CONDITIONS) {
      if (!mn.endsWith(cc)) continue;
      const p = mn.slice(0, mn.length - cc.length);
      if (CONDITIONS.every((c) => BY_MNEMONIC.has(p + c))) prefixes.add(p);
    }
  }
  for (const p of prefixes) {
    for (const [alias, cc] of Object.entries(CONDITION_ALIASES)) {
      if (!BY_MNEMONIC.has(p + alias)) m.set(p + alias, p + cc);
    }
  }
  return m;
})();

/** Every mnemonic the assembler accepts (table mnemonics and aliases). */
export const ALL_MNEMONICS: readonly string[] = [...BY_MNEMONIC.keys(), ...ALIASES.keys()];

/** First words of multi-word mnemonics ("lock" for "lock cmpxchg"). */
export const MULTIWORD_FIRST: ReadonlySet<string> = new Set(
  ALL_MNEMONICS.filter((m) => m.includes(' ')).map((m) => m.split(' ')[0]),
);

export function lookupMnemonic(name: string): readonly OpcodeEntry[] | undefined {
  const n = name.toLowerCase().replace(/\s+/g, ' ');
  return BY_MNEMONIC.get(ALIASES.get(n) ?? n);
}

// ---- matching -----------------------------------------------------------

/** Value of an immediate expression: bigint, or null when not known (yet). */
export type ValueOf = (e: Expr) => bigint | null;

const RANGES: Partial<Record<OperandKind, [bigint, bigint]>> = {
  imm8: [-128n, 255n],
  imm16: [-32768n, 65535n],
  imm32: [-(1n << 31n), (1n << 32n) - 1n],
  rel32: [-(1n << 31n), (1n << 32n) - 1n],
  tp: [0n, 65535n],
};

const tracepointOf = (op: Operand): number | undefined =>
  op.k === 'imm' && op.expr.t === 'sym' ? TRACEPOINT_ID.get(op.expr.name) : undefined;

type Fit = 'ok' | 'range' | 'no';

function accepts(kind: OperandKind, op: Operand, all: readonly Operand[], valueOf: ValueOf): Fit {
  switch (kind) {
    case 'r32': case 'r16': case 'r8':
      return op.k === 'reg' && `r${op.size}` === kind ? 'ok' : 'no';
    case 'cr': // control registers are size 0 in registerByName
      return op.k === 'reg' && op.size === 0 ? 'ok' : 'no';
    case 'm':
      return op.k === 'mem' ? 'ok' : 'no';
    case 'm32': case 'm16': case 'm8': {
      if (op.k !== 'mem') return 'no';
      const want = Number(kind.slice(1));
      if (op.size === want) return 'ok';
      if (op.size !== 0) return 'no';
      if (want === 32) return 'ok';
      return all.some((o) => o.k === 'reg' && o.size === want) ? 'ok' : 'no';
    }
    default:
      if (FIXED_KINDS.has(kind)) return op.k === 'reg' && op.name === kind ? 'ok' : 'no';
      if (op.k !== 'imm') return 'no';
      if (kind === 'tp' && tracepointOf(op) !== undefined) return 'ok';
      {
        const v = valueOf(op.expr);
        const r = RANGES[kind];
        if (v === null || !r) return 'ok';
        return v >= r[0] && v <= r[1] ? 'ok' : 'range';
      }
  }
}

export function formSyntax(form: Form): string {
  return form.operands.length ? form.operands.join(', ') : '(no operands)';
}

/** `mov expects: r32, r32 | r32, imm32 | ...` */
export function expectsText(mnemonic: string, entries: readonly OpcodeEntry[]): string {
  return `${mnemonic} expects: ${[...new Set(entries.map((e) => formSyntax(e.form)))].join(' | ')}`;
}

/** Pick the first entry whose form accepts `ops`; throw a StmtError explaining why none does. */
export function matchEntry(
  mnemonic: string, entries: readonly OpcodeEntry[], ops: readonly Operand[], valueOf: ValueOf, loc: SrcLoc, pos: number,
): OpcodeEntry {
  const fits = (e: OpcodeEntry, list: readonly Operand[]): Fit[] =>
    e.form.operands.length === list.length ? e.form.operands.map((k, i) => accepts(k, list[i], list, valueOf)) : ['no'];
  for (const e of entries) if (fits(e, ops).every((f) => f === 'ok')) return e;
  for (const e of entries) {
    const f = fits(e, ops);
    if (f.every((x) => x !== 'no')) {
      const i = f.indexOf('range');
      const kind = e.form.operands[i];
      const v = valueOf((ops[i] as Operand & { k: 'imm' }).expr)!;
      const [lo, hi] = RANGES[kind]!;
      const hint = kind === 'imm32' && v < lo && v >= -(1n << 32n) ? ' (for a 32-bit mask write (~x & 0xFFFFFFFF))' : '';
      throw new StmtError(locAt(loc, ops[i].pos), `immediate ${v} out of range for ${kind} (${lo}..${hi})${hint}`);
    }
  }
  const unsized = ops.findIndex((o) => o.k === 'mem' && o.size === 0);
  if (unsized >= 0) {
    const sizes = ([8, 16, 32] as const).filter((s) => {
      const alt = ops.map((o, i) => (i === unsized ? { ...(o as Operand & { k: 'mem' }), size: s } : o));
      return entries.some((e) => fits(e, alt).every((f) => f === 'ok'));
    });
    if (sizes.length) {
      throw new StmtError(
        locAt(loc, ops[unsized].pos),
        `operand size of memory operand is ambiguous for ${mnemonic}; expected a size keyword: ${sizes.map((s) => SIZE_NAME[s]).join(' or ')}`,
      );
    }
  }
  throw new StmtError(locAt(loc, ops.length ? ops[0].pos : pos), expectsText(mnemonic, entries));
}

/** Decoded-style fields for `encodeForm`, in operand order (see forms.ts). */
export function operandFields(form: Form, ops: readonly Operand[], valueOf: ValueOf, loc: SrcLoc): number[] {
  const f: number[] = [];
  form.operands.forEach((kind, i) => {
    const op = ops[i];
    if (FIXED_KINDS.has(kind)) return;
    if (op.k === 'reg') f.push(op.num);
    else if (op.k === 'mem') {
      f.push(packMem(op.base, op.index, Math.log2(op.scale)));
      const d = op.disp ? valueOf(op.disp) ?? 0n : 0n;
      if (d < -(1n << 31n) || d >= 1n << 32n) {
        throw new StmtError(locAt(loc, op.pos), `displacement ${d} out of range, expected a 32-bit value`);
      }
      f.push(Number(BigInt.asIntN(32, d)));
    } else {
      const tp = kind === 'tp' ? tracepointOf(op) : undefined;
      const v = tp !== undefined ? BigInt(tp) : valueOf(op.expr) ?? 0n;
      f.push(kind === 'rel32' ? Number(BigInt.asUintN(32, v)) : Number(v));
    }
  });
  return f;
}
