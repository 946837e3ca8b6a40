/** General registers in x86 encoding order (EAX=0 ... EDI=7). */
export enum Reg {
  EAX = 0,
  ECX = 1,
  EDX = 2,
  EBX = 3,
  ESP = 4,
  EBP = 5,
  ESI = 6,
  EDI = 7,
}

export const REG32_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;
export const REG16_NAMES = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'] as const;
/**
 * Byte registers: the low byte of each general register. x86-32 encodes 4-7
 * as AH..BH; like x86-64 with a REX prefix we name them SPL..DIL instead,
 * because a byte store of a high byte buys nothing here.
 */
export const REG8_NAMES = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil'] as const;

/** Nibble value meaning "no register" in a memory operand's base or index. */
export const NO_REG = 0xf;

/** Control registers by number (CR1, CR5-CR7 exist as encodings only: #UD). */
export const CR_NAMES = ['cr0', 'cr1', 'cr2', 'cr3', 'cr4', 'cr5', 'cr6', 'cr7'] as const;
