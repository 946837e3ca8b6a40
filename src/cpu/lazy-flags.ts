/**
 * x86 status flags computed lazily: an ALU instruction records its operation,
 * operands and result; CF/ZF/SF/OF/PF/AF are derived only when something
 * reads them (Jcc, PUSHFD, interrupt delivery, the debugger). This is the
 * classic Bochs/QEMU technique; the block compiler will go further and
 * resolve flags at compile time.
 */
import { AF, CF, OF, PF, SF, ZF } from '../isa/eflags.js';

export const enum FlagOp {
  Add = 0,
  Adc = 1, // aux = carry in
  Sub = 2,
  Sbb = 3, // aux = carry in
  Logic = 4, // AND/OR/XOR/TEST: CF = OF = 0 (AF undefined on x86; 0 here)
  Inc = 5, // aux = preserved CF
  Dec = 6, // aux = preserved CF
  Resolved = 7, // aux = the status flags themselves
}

/** PF is set when the low byte of the result has an even number of 1 bits. */
const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let n = 0;
  for (let b = i; b; b >>= 1) n += b & 1;
  PARITY[i] = n % 2 === 0 ? PF : 0;
}

export interface LazyFlags {
  fOp: FlagOp;
  fA: number;
  fB: number;
  fRes: number;
  fAux: number;
}

/** ZF, SF, PF of a 32-bit result. */
export function szp(res: number): number {
  return (res === 0 ? ZF : 0) | (res < 0 ? SF : 0) | PARITY[res & 0xff];
}

export function statusFlags(s: LazyFlags): number {
  const a = s.fA, b = s.fB, res = s.fRes;
  switch (s.fOp) {
    case FlagOp.Add:
      return szp(res) | ((a ^ b ^ res) & AF) | ((res >>> 0) < (a >>> 0) ? CF : 0) | (((a ^ res) & (b ^ res)) < 0 ? OF : 0);
    case FlagOp.Adc:
      return szp(res) | ((a ^ b ^ res) & AF) |
        ((s.fAux ? (res >>> 0) <= (a >>> 0) : (res >>> 0) < (a >>> 0)) ? CF : 0) | (((a ^ res) & (b ^ res)) < 0 ? OF : 0);
    case FlagOp.Sub:
      return szp(res) | ((a ^ b ^ res) & AF) | ((a >>> 0) < (b >>> 0) ? CF : 0) | (((a ^ b) & (a ^ res)) < 0 ? OF : 0);
    case FlagOp.Sbb:
      return szp(res) | ((a ^ b ^ res) & AF) |
        ((s.fAux ? (a >>> 0) <= (b >>> 0) : (a >>> 0) < (b >>> 0)) ? CF : 0) | (((a ^ b) & (a ^ res)) < 0 ? OF : 0);
    case FlagOp.Logic:
      return szp(res);
    case FlagOp.Inc:
      return szp(res) | ((a ^ 1 ^ res) & AF) | (s.fAux & CF) | (res === -0x80000000 ? OF : 0);
    case FlagOp.Dec:
      return szp(res) | ((a ^ 1 ^ res) & AF) | (s.fAux & CF) | (res === 0x7fffffff ? OF : 0);
    default:
      return s.fAux;
  }
}

/** Carry flag alone (cheap for ADC/SBB/INC/DEC). */
export function carry(s: LazyFlags): number {
  const a = s.fA, b = s.fB, res = s.fRes;
  switch (s.fOp) {
    case FlagOp.Add: return (res >>> 0) < (a >>> 0) ? 1 : 0;
    case FlagOp.Sub: return (a >>> 0) < (b >>> 0) ? 1 : 0;
    case FlagOp.Logic: return 0;
    default: return statusFlags(s) & CF;
  }
}

/**
 * Evaluate x86 condition cc (Jcc/SETcc low nibble) with fast paths for
 * CMP/SUB and logic results, which is what almost every branch follows.
 */
export function condition(s: LazyFlags, cc: number): boolean {
  const op = s.fOp;
  if (op === FlagOp.Sub) {
    const a = s.fA, b = s.fB;
    switch (cc) {
      case 2: return (a >>> 0) < (b >>> 0);
      case 3: return (a >>> 0) >= (b >>> 0);
      case 4: return a === b;
      case 5: return a !== b;
      case 6: return (a >>> 0) <= (b >>> 0);
      case 7: return (a >>> 0) > (b >>> 0);
      case 12: return a < b;
      case 13: return a >= b;
      case 14: return a <= b;
      case 15: return a > b;
    }
  } else if (op === FlagOp.Logic || op <= FlagOp.Dec) {
    const r = s.fRes;
    if (cc === 4) return r === 0;
    if (cc === 5) return r !== 0;
    if (op === FlagOp.Logic) {
      switch (cc) {
        case 8: case 12: return r < 0;
        case 9: case 13: return r >= 0;
        case 14: return r <= 0;
        case 15: return r > 0;
      }
    }
  }
  return testFlags(cc, statusFlags(s));
}

function testFlags(cc: number, f: number): boolean {
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = (f & OF) !== 0; break;
    case 1: r = (f & CF) !== 0; break;
    case 2: r = (f & ZF) !== 0; break;
    case 3: r = (f & (CF | ZF)) !== 0; break;
    case 4: r = (f & SF) !== 0; break;
    case 5: r = (f & PF) !== 0; break;
    case 6: r = ((f & SF) !== 0) !== ((f & OF) !== 0); break;
    default: r = (f & ZF) !== 0 || ((f & SF) !== 0) !== ((f & OF) !== 0); break;
  }
  return (cc & 1) !== 0 ? !r : r;
}
