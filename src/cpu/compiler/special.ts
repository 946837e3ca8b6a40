/**
 * The few instruction forms the block compiler emits as inline JS instead
 * of a handler call: register MOV, register/immediate ALU operations,
 * INC/DEC, Jcc, SETcc, and MOV/LEA with a memory operand. They are the bulk
 * of hot loops, and the generic handlers cost 2-5x more inside a block:
 * V8 cannot fold what they share through closures (the condition code of a
 * Jcc closure, the operation behind the unary() wrapper, FlagOp read from
 * the enum object), and big shared helpers use up its inlining budget.
 *
 * Each snippet does exactly what the exec/ handler does — same registers,
 * same memory accesses through the same Cpu methods, same lazy-flag fields
 * (fOp, fA, fB, fRes, fAux) — and where the flag producer of a Jcc, SETcc,
 * INC or DEC is an earlier snippet of the same block ("CMP+Jcc fusion"),
 * the condition or carry is computed from that producer's operands with
 * the same expressions as lazy-flags.ts's fast paths (else the snippet
 * calls lazy-flags' own condition()/carry()). test/cpu/compiler.test.ts
 * checks every snippet, alone and after every producer, against the
 * handlers over random operands and random lazy-flag states.
 *
 * Names a snippet may use (see block.ts): c (the CPU), R (c.regs), CARRY
 * (lazy-flags carry), COND (lazy-flags condition); it declares its own
 * temporaries with the instruction's index as suffix.
 */
import { CONDITIONS } from '../../isa/conditions.js';
import { BY_OPCODE } from '../../isa/opcodes.js';
import { NO_REG } from '../../isa/registers.js';
import { FlagOp } from '../lazy-flags.js';

/** Flags as last set by a snippet of this pass: the JS names holding fOp's operands. */
interface KnownFlags {
  op: FlagOp;
  a: string;
  b: string;
  r: string;
  aux: string;
}

type Emit = (e: Emitter, n: string, a: number, b: number, c: number) => string;

/** The effective address of memory operand (spec, disp), as Cpu.ea computes it. */
function ea(spec: number, disp: number): string {
  let s = String(disp);
  const base = spec & 0xf, index = (spec >> 4) & 0xf;
  if (base !== NO_REG) s += ` + R[${base}]`;
  if (index !== NO_REG) s += ` + (R[${index}] << ${spec >> 8})`;
  return `((${s}) >>> 0)`;
}

/** dst op= src (two registers) or dst op= imm; `write` false for CMP/TEST. */
function binary(op: FlagOp, expr: (a: string, b: string) => string, write: boolean, imm: boolean): Emit {
  return (e, n, d, s) => {
    const a = `a${n}`, b = `b${n}`, r = `r${n}`;
    e.produce({ op, a, b, r, aux: '0' });
    return `const ${a} = R[${d}], ${b} = ${imm ? s : `R[${s}]`}, ${r} = ${expr(a, b)};${write ? ` R[${d}] = ${r};` : ''}`;
  };
}

function incDec(op: FlagOp.Inc | FlagOp.Dec): Emit {
  return (e, n, reg) => {
    const a = `a${n}`, r = `r${n}`, k = `k${n}`;
    const [pre, carry] = e.carry();
    e.produce({ op, a, b: '1', r, aux: k });
    return `${pre}const ${a} = R[${reg}], ${k} = ${carry}, ${r} = (${a} ${op === FlagOp.Inc ? '+' : '-'} 1) | 0; R[${reg}] = ${r};`;
  };
}

const SNIPPETS: Record<string, Emit> = {
  'mov.rr': (_e, _n, d, s) => `R[${d}] = R[${s}];`,
  'mov.ri': (_e, _n, d, i) => `R[${d}] = ${i};`,
  'mov.rm': (_e, _n, d, m, disp) => `R[${d}] = c.read32(${ea(m, disp)});`,
  'mov.mr': (_e, _n, m, disp, s) => `c.write32(${ea(m, disp)}, R[${s}]);`,
  'mov.mi': (_e, _n, m, disp, i) => `c.write32(${ea(m, disp)}, ${i});`,
  'lea.rm': (_e, _n, d, m, disp) => `R[${d}] = ${ea(m, disp)};`,
  'inc.r': incDec(FlagOp.Inc),
  'dec.r': incDec(FlagOp.Dec),
};
for (const imm of [false, true]) {
  const f = imm ? 'ri' : 'rr';
  SNIPPETS[`add.${f}`] = binary(FlagOp.Add, (a, b) => `(${a} + ${b}) | 0`, true, imm);
  SNIPPETS[`sub.${f}`] = binary(FlagOp.Sub, (a, b) => `(${a} - ${b}) | 0`, true, imm);
  SNIPPETS[`cmp.${f}`] = binary(FlagOp.Sub, (a, b) => `(${a} - ${b}) | 0`, false, imm);
  SNIPPETS[`and.${f}`] = binary(FlagOp.Logic, (a, b) => `${a} & ${b}`, true, imm);
  SNIPPETS[`or.${f}`] = binary(FlagOp.Logic, (a, b) => `${a} | ${b}`, true, imm);
  SNIPPETS[`xor.${f}`] = binary(FlagOp.Logic, (a, b) => `${a} ^ ${b}`, true, imm);
  SNIPPETS[`test.${f}`] = binary(FlagOp.Logic, (a, b) => `${a} & ${b}`, false, imm);
}
CONDITIONS.forEach((cc, i) => {
  // Jcc: c.next holds the fall-through already (block.ts sets it)
  SNIPPETS[`j${cc}.rel`] = (e, _n, t) => {
    const [pre, cond] = e.condition(i);
    return `${pre}if (${cond}) c.next = ${t};`;
  };
  SNIPPETS[`set${cc}.r8`] = (e, _n, r) => {
    const [pre, cond] = e.condition(i);
    return `${pre}R[${r}] = (R[${r}] & ~0xff) | (${cond} ? 1 : 0);`;
  };
});

/** Unsigned and signed compare operators of lazy-flags condition()'s SUB fast path, by condition code. */
const SUB_COMPARE: Record<number, [op: string, unsigned: boolean]> = {
  2: ['<', true], 3: ['>=', true], 4: ['===', false], 5: ['!==', false], 6: ['<=', true], 7: ['>', true],
  12: ['<', false], 13: ['>=', false], 14: ['<=', false], 15: ['>', false],
};
/** condition()'s fast path on a logic result, by condition code. */
const LOGIC_COMPARE: Record<number, string> = { 4: '=== 0', 5: '!== 0', 8: '< 0', 12: '< 0', 9: '>= 0', 13: '>= 0', 14: '<= 0', 15: '> 0' };

/**
 * Emits the snippets of one block pass, tracking the flags an earlier
 * snippet produced. Producers do not store the lazy-flag fields at once:
 * `pending` holds them until sync() — which block.ts calls before anything
 * that can observe them (a handler call, an instruction that may throw, a
 * side exit, the end of the pass) — so a producer overwritten by the next
 * one before any observer costs no stores. The state is exact wherever it
 * can be seen.
 */
export class Emitter {
  /** what the flags are now, if an earlier snippet of this pass set them */
  flags: KnownFlags | null = null;
  /** set by a snippet but not yet stored in c.fOp... */
  private pending: KnownFlags | null = null;

  /** Inline JS for instruction number n (dispatch index idx, decoded fields a b c), or null: call the handler (after sync()). */
  emit(n: number, idx: number, a: number, b: number, c: number): string | null {
    const e = idx < 256 ? BY_OPCODE[idx] : undefined;
    const emit = e ? SNIPPETS[`${e.mnemonic}.${e.form.name}`] : undefined;
    if (!emit) return null;
    return emit(this, String(n), a, b, c);
  }

  /** A handler runs next: it may read or change the flags in any way. Returns the stores it needs first. */
  handler(): string {
    const s = this.sync();
    this.flags = null;
    return s;
  }

  /** Store pending flags into the CPU (code to emit; '' if none pending). */
  sync(): string {
    const f = this.pending;
    if (f === null) return '';
    this.pending = null;
    return `c.fOp = ${f.op}; c.fA = ${f.a}; c.fB = ${f.b}; c.fRes = ${f.r}; c.fAux = ${f.aux};`;
  }

  produce(f: KnownFlags): void {
    this.flags = f;
    this.pending = f;
  }

  /** lazy-flags condition(c, cc), fused with the known producer when it has a fast path: [code to run first, expression]. */
  condition(cc: number): [string, string] {
    const f = this.flags;
    if (f !== null) {
      if (f.op === FlagOp.Sub && SUB_COMPARE[cc]) {
        const [op, unsigned] = SUB_COMPARE[cc];
        return ['', unsigned ? `(${f.a} >>> 0) ${op} (${f.b} >>> 0)` : `${f.a} ${op} ${f.b}`];
      }
      if (f.op === FlagOp.Logic && LOGIC_COMPARE[cc]) return ['', `${f.r} ${LOGIC_COMPARE[cc]}`];
      if (f.op <= FlagOp.Dec && f.op !== FlagOp.Sub && (cc === 4 || cc === 5)) return ['', `${f.r} ${LOGIC_COMPARE[cc]}`];
    }
    return [this.sync(), `COND(c, ${cc})`];
  }

  /** lazy-flags carry(c), fused with the known producer: [code to run first, expression]. */
  carry(): [string, string] {
    const f = this.flags;
    if (f !== null) {
      switch (f.op) {
        case FlagOp.Add: return ['', `(${f.r} >>> 0) < (${f.a} >>> 0) ? 1 : 0`];
        case FlagOp.Sub: return ['', `(${f.a} >>> 0) < (${f.b} >>> 0) ? 1 : 0`];
        case FlagOp.Logic: return ['', '0'];
        case FlagOp.Inc: case FlagOp.Dec: return ['', `${f.aux} & 1`]; // statusFlags: (fAux & CF)
      }
    }
    return [this.sync(), 'CARRY(c)'];
  }
}

/** Handler keys with an inline form (for the equivalence test). */
export const SPECIALISED_KEYS: readonly string[] = Object.keys(SNIPPETS);
