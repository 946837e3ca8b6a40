/**
 * The few instruction forms the block compiler emits as inline JS instead
 * of a handler call: register MOV, register/immediate ALU operations,
 * INC/DEC, Jcc and SETcc. They are the bulk of hot loops, and the generic
 * handlers cost 2-5x more inside a block because V8 cannot fold what they
 * share through closures (the condition code of a Jcc closure, the ALU
 * operation behind a unary() wrapper, FlagOp read from the enum object).
 *
 * Each snippet does exactly what the exec/ handler does — same registers,
 * same lazy-flag fields (fOp, fA, fB, fRes, fAux) in the same state — and
 * uses lazy-flags.ts's own carry() and condition(), so flag semantics are
 * still written once. test/cpu/compiler.test.ts runs every snippet against
 * its handler over random operands and random lazy-flag states.
 *
 * Names available to a snippet (see block.ts): c (the CPU), R (c.regs),
 * CARRY (lazy-flags carry), COND (lazy-flags condition), and block-scoped
 * temporaries it declares itself inside braces.
 */
import { CONDITIONS } from '../../isa/conditions.js';
import { BY_OPCODE } from '../../isa/opcodes.js';
import { FlagOp } from '../lazy-flags.js';

type Emit = (a: number, b: number, c: number) => string;

/** dst op= src (two registers) or dst op= imm; `write` false for CMP/TEST. */
function binary(op: FlagOp, expr: string, write: boolean, imm: boolean): Emit {
  return (d, s) => {
    const src = imm ? String(s) : `R[${s}]`;
    return `{ const a = R[${d}], b = ${src}, r = ${expr}; c.fOp = ${op}; c.fA = a; c.fB = b; c.fRes = r; c.fAux = 0;${write ? ` R[${d}] = r;` : ''} }`;
  };
}

const unaryIncDec = (op: FlagOp, expr: string): Emit => (r) =>
  `{ const a = R[${r}], k = CARRY(c), r = ${expr}; c.fOp = ${op}; c.fA = a; c.fB = 1; c.fRes = r; c.fAux = k; R[${r}] = r; }`;

const SNIPPETS: Record<string, Emit> = {
  'mov.rr': (d, s) => `R[${d}] = R[${s}];`,
  'mov.ri': (d, i) => `R[${d}] = ${i};`,
  'inc.r': unaryIncDec(FlagOp.Inc, '(a + 1) | 0'),
  'dec.r': unaryIncDec(FlagOp.Dec, '(a - 1) | 0'),
};
for (const imm of [false, true]) {
  const f = imm ? 'ri' : 'rr';
  SNIPPETS[`add.${f}`] = binary(FlagOp.Add, '(a + b) | 0', true, imm);
  SNIPPETS[`sub.${f}`] = binary(FlagOp.Sub, '(a - b) | 0', true, imm);
  SNIPPETS[`cmp.${f}`] = binary(FlagOp.Sub, '(a - b) | 0', false, imm);
  SNIPPETS[`and.${f}`] = binary(FlagOp.Logic, 'a & b', true, imm);
  SNIPPETS[`or.${f}`] = binary(FlagOp.Logic, 'a | b', true, imm);
  SNIPPETS[`xor.${f}`] = binary(FlagOp.Logic, 'a ^ b', true, imm);
  SNIPPETS[`test.${f}`] = binary(FlagOp.Logic, 'a & b', false, imm);
}
CONDITIONS.forEach((cc, i) => {
  // Jcc: c.next holds the fall-through already (block.ts sets it)
  SNIPPETS[`j${cc}.rel`] = (t) => `if (COND(c, ${i})) c.next = ${t};`;
  SNIPPETS[`set${cc}.r8`] = (r) => `R[${r}] = (R[${r}] & ~0xff) | (COND(c, ${i}) ? 1 : 0);`;
});

/** Inline JS for the instruction at dispatch index idx with these decoded fields, or null: call the handler. */
export function snippet(idx: number, a: number, b: number, c: number): string | null {
  const e = BY_OPCODE[idx];
  if (!e || idx >= 256) return null;
  const emit = SNIPPETS[`${e.mnemonic}.${e.form.name}`];
  return emit ? emit(a, b, c) : null;
}

/** Handler keys with an inline form (for the equivalence test). */
export const SPECIALISED_KEYS: readonly string[] = Object.keys(SNIPPETS);
