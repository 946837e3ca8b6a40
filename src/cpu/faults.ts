/**
 * Exceptions are typed objects thrown inside an instruction and handled in
 * one place, the CPU's step loop (like Spike's trap_t). They are not Error
 * subclasses: no stack is captured, so raising one is cheap.
 */
export enum Vector {
  DE = 0, // divide error
  DB = 1,
  NMI = 2,
  BP = 3,
  OF = 4,
  BR = 5,
  UD = 6, // invalid opcode
  NM = 7,
  DF = 8, // double fault
  TS = 10,
  NP = 11,
  SS = 12,
  GP = 13, // general protection
  PF = 14,
  MF = 16,
  AC = 17,
  MC = 18,
}

export const VECTOR_NAMES: Record<number, string> = {
  0: '#DE', 1: '#DB', 2: 'NMI', 3: '#BP', 4: '#OF', 5: '#BR', 6: '#UD', 7: '#NM', 8: '#DF', 10: '#TS',
  11: '#NP', 12: '#SS', 13: '#GP', 14: '#PF', 16: '#MF', 17: '#AC', 18: '#MC',
};

/** Exceptions that push an error code (SDM Vol. 3, Table 6-1). */
export function hasErrorCode(v: number): boolean {
  return v === 8 || (v >= 10 && v <= 14) || v === 17;
}

export class CpuFault {
  constructor(
    readonly vector: number,
    readonly errorCode: number | undefined = undefined,
  ) {}
  toString(): string {
    return `${VECTOR_NAMES[this.vector] ?? `vector ${this.vector}`}${this.errorCode !== undefined ? `(${this.errorCode})` : ''}`;
  }
}

export const fault = (vector: number, errorCode?: number): CpuFault => new CpuFault(vector, errorCode);
