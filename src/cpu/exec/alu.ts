/** Arithmetic and logic instructions (SDM Vol. 2 semantics, lazy flags). */
import { CF, OF, ZF } from '../../isa/eflags.js';
import type { Cpu } from '../cpu.js';
import type { Handler } from '../dispatch.js';
import { Vector, fault } from '../faults.js';
import { FlagOp, statusFlags, szp } from '../lazy-flags.js';

type Op = (c: Cpu, a: number, b: number) => number;

function setFlags(c: Cpu, op: FlagOp, a: number, b: number, r: number, aux = 0): number {
  c.fOp = op; c.fA = a; c.fB = b; c.fRes = r; c.fAux = aux;
  return r;
}

const add: Op = (c, a, b) => setFlags(c, FlagOp.Add, a, b, (a + b) | 0);
const sub: Op = (c, a, b) => setFlags(c, FlagOp.Sub, a, b, (a - b) | 0);
const adc: Op = (c, a, b) => { const k = c.carry(); return setFlags(c, FlagOp.Adc, a, b, (a + b + k) | 0, k); };
const sbb: Op = (c, a, b) => { const k = c.carry(); return setFlags(c, FlagOp.Sbb, a, b, (a - b - k) | 0, k); };
const and: Op = (c, a, b) => setFlags(c, FlagOp.Logic, a, b, a & b);
const or: Op = (c, a, b) => setFlags(c, FlagOp.Logic, a, b, a | b);
const xor: Op = (c, a, b) => setFlags(c, FlagOp.Logic, a, b, a ^ b);

/** A one-operand op in register and memory form. */
function unary(m: string, op: (c: Cpu, v: number) => number): Record<string, Handler> {
  return {
    [`${m}.r`]: (c, r) => { c.regs[r] = op(c, c.regs[r]); },
    [`${m}.m`]: (c, m, disp) => { const ea = c.ea(m, disp); c.write32(ea, op(c, c.read32(ea))); },
  };
}

/** Shifts and rotates: count masked to 5 bits; a zero count changes nothing (SDM SAL/SAR/SHL/SHR, ROL/ROR). */
type Shift = (a: number, n: number, flags: number) => [result: number, flags: number];
const MSB = (v: number): number => (v >>> 31) & 1;
const shl: Shift = (a, n) => { const r = a << n; const cf = (a >>> (32 - n)) & 1; return [r, szp(r) | cf * CF | ((MSB(r) ^ cf) ? OF : 0)]; };
const shr: Shift = (a, n) => { const r = a >>> n; const cf = (a >>> (n - 1)) & 1; return [r | 0, szp(r | 0) | cf * CF | (MSB(a) ? OF : 0)]; };
const sar: Shift = (a, n) => { const r = a >> n; const cf = (a >> (n - 1)) & 1; return [r, szp(r) | cf * CF]; };
// rotates change only CF and OF
const rol: Shift = (a, n, f) => { const r = (a << n) | (a >>> (32 - n)); const cf = r & 1; return [r, (f & ~(CF | OF)) | cf * CF | ((MSB(r) ^ cf) ? OF : 0)]; };
const ror: Shift = (a, n, f) => { const r = (a >>> n) | (a << (32 - n)); return [r, (f & ~(CF | OF)) | MSB(r) * CF | ((MSB(r) ^ ((r >>> 30) & 1)) ? OF : 0)]; };

function shift(m: string, fn: Shift): Record<string, Handler> {
  const apply = (c: Cpu, r: number, count: number): void => {
    const n = count & 31;
    if (n === 0) return;
    const [res, f] = fn(c.regs[r], n, statusFlags(c));
    c.regs[r] = res;
    setFlags(c, FlagOp.Resolved, 0, 0, res, f);
  };
  return {
    [`${m}.ri8`]: (c, r, n) => apply(c, r, n),
    [`${m}.rcl`]: (c, r) => apply(c, r, c.regs[1]),
  };
}

/** Unsigned 32x32 → 64 multiply as [lo, hi] (int32 halves). */
function mulU(a: number, b: number): [number, number] {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const ll = al * bl, lh = al * bh, hl = ah * bl;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  const lo = (mid << 16) | (ll & 0xffff);
  const hi = ah * bh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16);
  return [lo | 0, hi | 0];
}

function mulS(a: number, b: number): [number, number] {
  const [lo, hiU] = mulU(a, b);
  return [lo, (hiU - (a < 0 ? b : 0) - (b < 0 ? a : 0)) | 0];
}

/** MUL/IMUL: CF = OF = the high half is significant; SF/ZF/PF (undefined on x86) follow the low half. */
function mulFlags(c: Cpu, lo: number, overflow: boolean): void {
  setFlags(c, FlagOp.Resolved, 0, 0, lo, szp(lo) | (overflow ? CF | OF : 0));
}

function divide(c: Cpu, divisor: number, signed: boolean): void {
  if (divisor === 0) throw fault(Vector.DE);
  const eax = c.regs[0], edx = c.regs[2];
  const dividend = signed
    ? (BigInt(edx) << 32n) | BigInt(eax >>> 0)
    : (BigInt(edx >>> 0) << 32n) | BigInt(eax >>> 0);
  const d = signed ? BigInt(divisor) : BigInt(divisor >>> 0);
  const q = dividend / d; // BigInt division truncates toward zero, like IDIV
  const r = dividend % d;
  if (signed ? q < -0x80000000n || q > 0x7fffffffn : q > 0xffffffffn) throw fault(Vector.DE);
  c.regs[0] = Number(BigInt.asIntN(32, q));
  c.regs[2] = Number(BigInt.asIntN(32, r));
}

/**
 * Two-operand ops are spelled out form by form on purpose: one direct call
 * per handler lets V8 inline the operation (a shared generic wrapper makes
 * every call site megamorphic and halves interpreter speed).
 */
export const ALU_HANDLERS: Record<string, Handler> = {
  // ADD
  'add.rr': (c, d, s) => { c.regs[d] = add(c, c.regs[d], c.regs[s]); },
  'add.ri': (c, d, i) => { c.regs[d] = add(c, c.regs[d], i); },
  'add.rm': (c, d, m, x) => { c.regs[d] = add(c, c.regs[d], c.read32(c.ea(m, x))); },
  'add.mr': (c, m, x, s) => { const ea = c.ea(m, x); c.write32(ea, add(c, c.read32(ea), c.regs[s])); },
  'add.mi': (c, m, x, i) => { const ea = c.ea(m, x); c.write32(ea, add(c, c.read32(ea), i)); },
  // OR
  'or.rr': (c, d, s) => { c.regs[d] = or(c, c.regs[d], c.regs[s]); },
  'or.ri': (c, d, i) => { c.regs[d] = or(c, c.regs[d], i); },
  'or.rm': (c, d, m, x) => { c.regs[d] = or(c, c.regs[d], c.read32(c.ea(m, x))); },
  'or.mr': (c, m, x, s) => { const ea = c.ea(m, x); c.write32(ea, or(c, c.read32(ea), c.regs[s])); },
  'or.mi': (c, m, x, i) => { const ea = c.ea(m, x); c.write32(ea, or(c, c.read32(ea), i)); },
  // ADC
  'adc.rr': (c, d, s) => { c.regs[d] = adc(c, c.regs[d], c.regs[s]); },
  'adc.ri': (c, d, i) => { c.regs[d] = adc(c, c.regs[d], i); },
  'adc.rm': (c, d, m, x) => { c.regs[d] = adc(c, c.regs[d], c.read32(c.ea(m, x))); },
  'adc.mr': (c, m, x, s) => { const ea = c.ea(m, x); c.write32(ea, adc(c, c.read32(ea), c.regs[s])); },
  'adc.mi': (c, m, x, i) => { const ea = c.ea(m, x); c.write32(ea, adc(c, c.read32(ea), i)); },
  // SBB
  'sbb.rr': (c, d, s) => { c.regs[d] = sbb(c, c.regs[d], c.regs[s]); },
  'sbb.ri': (c, d, i) => { c.regs[d] = sbb(c, c.regs[d], i); },
  'sbb.rm': (c, d, m, x) => { c.regs[d] = sbb(c, c.regs[d], c.read32(c.ea(m, x))); },
  'sbb.mr': (c, m, x, s) => { const ea = c.ea(m, x); c.write32(ea, sbb(c, c.read32(ea), c.regs[s])); },
  'sbb.mi': (c, m, x, i) => { const ea = c.ea(m, x); c.write32(ea, sbb(c, c.read32(ea), i)); },
  // AND
  'and.rr': (c, d, s) => { c.regs[d] = and(c, c.regs[d], c.regs[s]); },
  'and.ri': (c, d, i) => { c.regs[d] = and(c, c.regs[d], i); },
  'and.rm': (c, d, m, x) => { c.regs[d] = and(c, c.regs[d], c.read32(c.ea(m, x))); },
  'and.mr': (c, m, x, s) => { const ea = c.ea(m, x); c.write32(ea, and(c, c.read32(ea), c.regs[s])); },
  'and.mi': (c, m, x, i) => { const ea = c.ea(m, x); c.write32(ea, and(c, c.read32(ea), i)); },
  // SUB
  'sub.rr': (c, d, s) => { c.regs[d] = sub(c, c.regs[d], c.regs[s]); },
  'sub.ri': (c, d, i) => { c.regs[d] = sub(c, c.regs[d], i); },
  'sub.rm': (c, d, m, x) => { c.regs[d] = sub(c, c.regs[d], c.read32(c.ea(m, x))); },
  'sub.mr': (c, m, x, s) => { const ea = c.ea(m, x); c.write32(ea, sub(c, c.read32(ea), c.regs[s])); },
  'sub.mi': (c, m, x, i) => { const ea = c.ea(m, x); c.write32(ea, sub(c, c.read32(ea), i)); },
  // XOR
  'xor.rr': (c, d, s) => { c.regs[d] = xor(c, c.regs[d], c.regs[s]); },
  'xor.ri': (c, d, i) => { c.regs[d] = xor(c, c.regs[d], i); },
  'xor.rm': (c, d, m, x) => { c.regs[d] = xor(c, c.regs[d], c.read32(c.ea(m, x))); },
  'xor.mr': (c, m, x, s) => { const ea = c.ea(m, x); c.write32(ea, xor(c, c.read32(ea), c.regs[s])); },
  'xor.mi': (c, m, x, i) => { const ea = c.ea(m, x); c.write32(ea, xor(c, c.read32(ea), i)); },
  // CMP: flags only
  'cmp.rr': (c, d, s) => { sub(c, c.regs[d], c.regs[s]); },
  'cmp.ri': (c, d, i) => { sub(c, c.regs[d], i); },
  'cmp.rm': (c, d, m, x) => { sub(c, c.regs[d], c.read32(c.ea(m, x))); },
  'cmp.mr': (c, m, x, s) => { sub(c, c.read32(c.ea(m, x)), c.regs[s]); },
  'cmp.mi': (c, m, x, i) => { sub(c, c.read32(c.ea(m, x)), i); },
  // TEST: flags only
  'test.rr': (c, d, s) => { and(c, c.regs[d], c.regs[s]); },
  'test.ri': (c, d, i) => { and(c, c.regs[d], i); },
  'test.mr': (c, m, x, s) => { and(c, c.read32(c.ea(m, x)), c.regs[s]); },
  'test.mi': (c, m, x, i) => { and(c, c.read32(c.ea(m, x)), i); },
  ...unary('inc', (c, v) => setFlags(c, FlagOp.Inc, v, 1, (v + 1) | 0, c.carry())),
  ...unary('dec', (c, v) => setFlags(c, FlagOp.Dec, v, 1, (v - 1) | 0, c.carry())),
  ...unary('neg', (c, v) => setFlags(c, FlagOp.Sub, 0, v, -v | 0)),
  ...unary('not', (_c, v) => ~v),
  ...shift('shl', shl),
  ...shift('shr', shr),
  ...shift('sar', sar),
  ...shift('rol', rol),
  ...shift('ror', ror),
  'mul.r': (c, r) => { const [lo, hi] = mulU(c.regs[0], c.regs[r]); c.regs[0] = lo; c.regs[2] = hi; mulFlags(c, lo, hi !== 0); },
  'imul.r': (c, r) => { const [lo, hi] = mulS(c.regs[0], c.regs[r]); c.regs[0] = lo; c.regs[2] = hi; mulFlags(c, lo, hi !== lo >> 31); },
  'imul.rr': (c, d, s) => { const [lo, hi] = mulS(c.regs[d], c.regs[s]); c.regs[d] = lo; mulFlags(c, lo, hi !== lo >> 31); },
  'imul.ri': (c, d, i) => { const [lo, hi] = mulS(c.regs[d], i); c.regs[d] = lo; mulFlags(c, lo, hi !== lo >> 31); },
  'div.r': (c, r) => divide(c, c.regs[r], false),
  'idiv.r': (c, r) => divide(c, c.regs[r], true),
  'cdq.none': (c) => { c.regs[2] = c.regs[0] >> 31; },
  'bsf.rr': (c, d, s) => bitScan(c, d, c.regs[s], false),
  'bsr.rr': (c, d, s) => bitScan(c, d, c.regs[s], true),
  'bt.rr': (c, d, s) => { setCarry(c, (c.regs[d] >>> (c.regs[s] & 31)) & 1); },
  'bt.ri8': (c, d, n) => { setCarry(c, (c.regs[d] >>> (n & 31)) & 1); },
  'bts.ri8': (c, d, n) => { setCarry(c, (c.regs[d] >>> (n & 31)) & 1); c.regs[d] |= 1 << (n & 31); },
  'btr.ri8': (c, d, n) => { setCarry(c, (c.regs[d] >>> (n & 31)) & 1); c.regs[d] &= ~(1 << (n & 31)); },
  'lock bts.mr': (c, m, x, s) => bitStringOp(c, c.ea(m, x), c.regs[s], (v, bit) => v | bit),
  'lock btr.mr': (c, m, x, s) => bitStringOp(c, c.ea(m, x), c.regs[s], (v, bit) => v & ~bit),
  'lock or.mr': (c, m, x, s) => { const ea = c.ea(m, x); c.write32(ea, or(c, c.read32(ea), c.regs[s])); },
  'lock and.mr': (c, m, x, s) => { const ea = c.ea(m, x); c.write32(ea, and(c, c.read32(ea), c.regs[s])); },
};

/** Set CF only (BT family: the other status flags are undefined on x86; here they keep their values). */
function setCarry(c: Cpu, bit: number): void {
  setFlags(c, FlagOp.Resolved, 0, 0, 0, (statusFlags(c) & ~CF) | bit);
}

/** BSF/BSR: ZF = (src == 0) and the destination is left as it was (what Intel and AMD parts do). */
function bitScan(c: Cpu, d: number, v: number, highest: boolean): void {
  const zero = v === 0;
  setFlags(c, FlagOp.Resolved, 0, 0, 0, (statusFlags(c) & ~ZF) | (zero ? ZF : 0));
  if (!zero) c.regs[d] = highest ? 31 - Math.clz32(v) : 31 - Math.clz32(v & -v);
}

/** BTS/BTR on a bit string in memory: the signed bit offset selects the dword (SDM BT: "bit base, bit offset"). */
function bitStringOp(c: Cpu, base: number, offset: number, op: (v: number, bit: number) => number): void {
  const ea = (base + 4 * (offset >> 5)) >>> 0;
  const bit = 1 << (offset & 31);
  const v = c.read32(ea);
  setCarry(c, (v & bit) !== 0 ? 1 : 0);
  c.write32(ea, op(v, bit));
}
