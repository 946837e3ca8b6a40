/**
 * The few instruction forms the block compiler emits as inline JS instead
 * of a handler call: register MOV, register/immediate ALU operations,
 * INC/DEC, Jcc, SETcc, LEA, and the dword memory accesses of MOV, PUSH,
 * POP, CALL and RET. They are the bulk of hot loops, and the generic
 * handlers cost 2-5x more inside a block: V8 cannot fold what they share
 * through closures (the condition code of a Jcc closure, the operation
 * behind the unary() wrapper, FlagOp read from the enum object), and big
 * shared helpers (condition, write32 with its code check) use up its
 * inlining budget.
 *
 * Each snippet does exactly what the exec/ handler does — same registers,
 * same lazy-flag values (fOp, fA, fB, fRes, fAux, kept in the block's
 * locals fo..fx, see block.ts), the same memory access: Cpu.read32/write32's
 * RAM fast path inline; anything else (unaligned, outside RAM, devices, EPT
 * violations, a store near code) leaves the block *before* the instruction
 * and the interpreter executes it. Where
 * the flag producer of a Jcc, SETcc, INC or DEC is an earlier snippet of
 * the same block ("CMP+Jcc fusion"), the condition or carry is computed
 * from that producer's operands with the same expressions as lazy-flags.ts's
 * fast paths (else the snippet calls lazy-flags' own condition()/carry()).
 * test/cpu/compiler.test.ts checks every snippet, alone, in chains and after
 * every producer, against the handlers over random operands, addresses and
 * lazy-flag states. If Cpu.read32/write32 or memory.watched change, the
 * inline copies here (load32, store32) must change with them.
 *
 * Names a snippet may use (see block.ts): c (the CPU), R (c.regs), nx
 * (c.next: the EIP after a control transfer), fo fa fb fr fx (the lazy flags), MB/ML (c.memBase/memLimit), I32, WL/WH
 * (memory.i32, watchLo/Hi), CARRY (lazy-flags carry), COND (lazy-flags
 * condition); it declares its own temporaries with the instruction's index
 * as suffix.
 */
import { CONDITIONS } from '../../isa/conditions.js';
import { BY_OPCODE } from '../../isa/opcodes.js';
import { NO_REG } from '../../isa/registers.js';
import { PAGE_SHIFT, PAGE_SIZE } from '../../machine/memory.js';
import { FlagOp } from '../lazy-flags.js';

/** Flags as last set by a snippet of this pass: the JS names holding fOp's operands. */
interface KnownFlags {
  op: FlagOp;
  a: string;
  b: string;
  r: string;
  aux: string;
}

type Emit = (e: Emitter, n: string, a: number, b: number, c: number, g: Guard) => string;

/**
 * For the snippets that access memory (MOV load/store, PUSH, POP, CALL,
 * RET): `bail` leaves the block before this instruction (block.ts: the
 * interpreter then executes it); `next` is the fall-through EIP (CALL's
 * return address).
 */
export interface Guard {
  bail: string;
  next: number;
}

/** The effective address of memory operand (spec, disp), as Cpu.ea computes it. */
function ea(spec: number, disp: number): string {
  let s = String(disp);
  const base = spec & 0xf, index = (spec >> 4) & 0xf;
  if (base !== NO_REG) s += ` + R[${base}]`;
  if (index !== NO_REG) s += ` + (R[${index}] << ${spec >> 8})`;
  return `((${s}) >>> 0)`;
}

/**
 * Cpu.read32's RAM fast path (an aligned dword below memLimit: nothing to
 * observe, nothing to throw); anything else bails. Declares v<n>. MB, ML
 * and I32 are the block's copies of c.memBase, c.memLimit and memory.i32:
 * no instruction in a block changes them.
 */
function load32(n: string, addr: string, g: Guard): string {
  const e = `e${n}`, p = `p${n}`;
  return `const ${e} = ${addr}, ${p} = MB + ${e};\n` +
    `if (${e} + 4 > ML || (${p} & 3) !== 0) ${g.bail}\n` +
    `const v${n} = I32[${p} >>> 2];`;
}

/**
 * Cpu.write32's RAM fast path: an aligned dword below memLimit that
 * memory.watched() says cannot touch decoded or compiled code (WL, WH =
 * memory.watchLo/Hi; an aligned dword never crosses a page); anything else
 * bails, before any state changes. Then the store.
 */
function store32(n: string, addr: string, value: string, g: Guard): string {
  const e = `e${n}`, p = `p${n}`, o = `o${n}`, pg = `g${n}`;
  return `const ${e} = ${addr}, ${p} = MB + ${e}, ${o} = ${p} & ${PAGE_SIZE - 1}, ${pg} = ${p} >>> ${PAGE_SHIFT};\n` +
    `if (${e} + 4 > ML || (${p} & 3) !== 0 || ((${o} < WH[${pg}]) & (${o} + 4 > WL[${pg}])) !== 0) ${g.bail}\n` +
    `I32[${p} >>> 2] = ${value};`;
}

/** dst op= src (two registers) or dst op= imm; `write` false for CMP/TEST. */
function binary(op: FlagOp, expr: (a: string, b: string) => string, write: boolean, imm: boolean): Emit {
  return (e, n, d, s) => {
    const a = `a${n}`, b = `b${n}`, r = `r${n}`;
    return `const ${a} = R[${d}], ${b} = ${imm ? s : `R[${s}]`}, ${r} = ${expr(a, b)};${write ? ` R[${d}] = ${r};` : ''} ` +
      e.produce({ op, a, b, r, aux: '0' });
  };
}

function incDec(op: FlagOp.Inc | FlagOp.Dec): Emit {
  return (e, n, reg) => {
    const a = `a${n}`, r = `r${n}`, k = `k${n}`;
    const [pre, carry] = e.carry();
    return `${pre}const ${a} = R[${reg}], ${k} = ${carry}, ${r} = (${a} ${op === FlagOp.Inc ? '+' : '-'} 1) | 0; R[${reg}] = ${r}; ` +
      e.produce({ op, a, b: '1', r, aux: k });
  };
}

const SNIPPETS: Record<string, Emit> = {
  'mov.rr': (_e, _n, d, s) => `R[${d}] = R[${s}];`,
  'mov.ri': (_e, _n, d, i) => `R[${d}] = ${i};`,
  'mov.rm': (_e, n, d, m, disp, g) => `${load32(n, ea(m, disp), g)} R[${d}] = v${n};`,
  'mov.mr': (_e, n, m, disp, s, g) => store32(n, ea(m, disp), `R[${s}]`, g),
  'mov.mi': (_e, n, m, disp, i, g) => store32(n, ea(m, disp), String(i), g),
  // Cpu.push / Cpu.pop: the value first, ESP once the access is done
  'push.r': (_e, n, r, _b, _c, g) => `const w${n} = R[${r}], s${n} = (R[4] - 4) >>> 0;\n${store32(n, `s${n}`, `w${n}`, g)} R[4] = s${n};`,
  'push.i': (_e, n, i, _b, _c, g) => `const s${n} = (R[4] - 4) >>> 0;\n${store32(n, `s${n}`, String(i), g)} R[4] = s${n};`,
  'pop.r': (_e, n, r, _b, _c, g) => `const s${n} = R[4] >>> 0;\n${load32(n, `s${n}`, g)} R[4] = s${n} + 4; R[${r}] = v${n};`,
  // CALL rel32: push the return address, jump; RET: pop EIP
  'call.rel': (_e, n, t, _b, _c, g) => `const s${n} = (R[4] - 4) >>> 0;\n${store32(n, `s${n}`, String(g.next), g)} R[4] = s${n}; nx = ${t};`,
  'ret.none': (_e, n, _a, _b, _c, g) => `const s${n} = R[4] >>> 0;\n${load32(n, `s${n}`, g)} R[4] = s${n} + 4; nx = v${n} >>> 0;`,
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
  // Jcc: nx holds the fall-through already (block.ts sets it)
  SNIPPETS[`j${cc}.rel`] = (e, _n, t) => {
    const [pre, cond] = e.condition(i);
    return `${pre}if (${cond}) nx = ${t};`;
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

/** Store the block's flag locals into the CPU (before anything that reads c.fOp...). */
export const STORE_FLAGS = 'c.fOp = fo; c.fA = fa; c.fB = fb; c.fRes = fr; c.fAux = fx;';
/** Reload them (after a handler, which may have changed the flags). */
export const LOAD_FLAGS = 'fo = c.fOp; fa = c.fA; fb = c.fB; fr = c.fRes; fx = c.fAux;';

/**
 * Emits the snippets of one block pass. The lazy flags live in the block's
 * locals fo..fx (copied from the CPU at entry, back at exit and around
 * handler calls — block.ts), so a producer costs register moves, and one
 * overwritten before anything reads it costs nothing. `flags` remembers
 * which snippet produced them, for fusion.
 */
export class Emitter {
  /** what the flags are now, if an earlier snippet of this pass set them */
  flags: KnownFlags | null = null;

  /** Inline JS for instruction number n (dispatch index idx, decoded fields a b c), or null: call the handler. */
  emit(n: number, idx: number, a: number, b: number, c: number, guard: Guard = { bail: '', next: 0 }): string | null {
    const e = idx < 256 ? BY_OPCODE[idx] : undefined;
    const emit = e ? SNIPPETS[`${e.mnemonic}.${e.form.name}`] : undefined;
    if (!emit) return null;
    return emit(this, String(n), a, b, c, guard);
  }

  /** A handler runs next: it may read or change the flags in any way. */
  handler(): void {
    this.flags = null;
  }

  produce(f: KnownFlags): string {
    this.flags = f;
    return `fo = ${f.op}; fa = ${f.a}; fb = ${f.b}; fr = ${f.r}; fx = ${f.aux};`;
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
    return [`${STORE_FLAGS} `, `COND(c, ${cc})`];
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
    return [`${STORE_FLAGS} `, 'CARRY(c)'];
  }
}

/** Snippets that access memory and take a Guard (they may bail out of the block before the instruction). */
export const GUARDED: ReadonlySet<string> = new Set(['mov.rm', 'mov.mr', 'mov.mi', 'push.r', 'push.i', 'pop.r', 'call.rel', 'ret.none']);

/** Handler keys with an inline form (for the equivalence test). */
export const SPECIALISED_KEYS: readonly string[] = Object.keys(SNIPPETS);
