/**
 * Operand forms: what operands an instruction takes (its assembler syntax)
 * and, derived from that alone, how they are encoded and which decoded
 * fields the handler receives. Encoding, decoding, assembling and
 * disassembling all read these descriptors; there is no second copy.
 *
 * Byte layout of an instruction:
 *   opcode
 *   [reg byte]  present if the form has a register or memory operand:
 *               two registers: r0 | r1 << 4; register + memory: reg | scale << 4;
 *               memory only: scale << 4; one register: reg
 *   [mem bytes] base | index << 4 (0xF = none), then disp32
 *   immediates in operand order: imm8 1 byte, imm16/tracepoint 2, imm32/rel32 4 (little endian)
 *
 * Decoded fields (at most 3, in operand order): a register or immediate is
 * one field; a memory operand is two (memSpec = base | index << 4 | log2(scale) << 8,
 * then disp); rel32 is decoded to the absolute target; fixed operands (eax, dx, cl ...) take none.
 */
export type OperandKind =
  | 'r32' | 'r16' | 'r8'
  | 'imm32' | 'imm16' | 'imm8'
  | 'm' | 'm32' | 'm16' | 'm8'
  | 'rel32'
  | 'tp'
  | 'cr'
  | 'eax' | 'ax' | 'al' | 'dx' | 'cl';

export const FIXED_KINDS: ReadonlySet<OperandKind> = new Set(['eax', 'ax', 'al', 'dx', 'cl']);

export type FormName =
  | 'none' | 'r' | 'rr' | 'ri' | 'ri8' | 'rcl' | 'rm' | 'rm8' | 'rm16' | 'mr' | 'm8r' | 'm16r' | 'mi' | 'm8i'
  | 'm' | 'i' | 'i8' | 'rel' | 'tp' | 'r8' | 'crr' | 'rcr'
  | 'in8_dx' | 'in16_dx' | 'in32_dx' | 'in8_i' | 'in16_i' | 'in32_i'
  | 'out8_dx' | 'out16_dx' | 'out32_dx' | 'out8_i' | 'out16_i' | 'out32_i';

export interface Form {
  readonly name: FormName;
  readonly operands: readonly OperandKind[];
  readonly length: number;
  /** number of decoded fields */
  readonly fields: number;
}

const FORM_OPERANDS: Record<FormName, OperandKind[]> = {
  none: [],
  r: ['r32'],
  r8: ['r8'],
  rr: ['r32', 'r32'],
  ri: ['r32', 'imm32'],
  ri8: ['r32', 'imm8'],
  rcl: ['r32', 'cl'],
  rm: ['r32', 'm32'],
  rm8: ['r32', 'm8'],
  rm16: ['r32', 'm16'],
  mr: ['m32', 'r32'],
  m8r: ['m8', 'r8'],
  m16r: ['m16', 'r16'],
  mi: ['m32', 'imm32'],
  m8i: ['m8', 'imm8'],
  m: ['m'],
  i: ['imm32'],
  i8: ['imm8'],
  rel: ['rel32'],
  tp: ['tp', 'r32'],
  crr: ['cr', 'r32'],
  rcr: ['r32', 'cr'],
  in8_dx: ['al', 'dx'], in16_dx: ['ax', 'dx'], in32_dx: ['eax', 'dx'],
  in8_i: ['al', 'imm8'], in16_i: ['ax', 'imm8'], in32_i: ['eax', 'imm8'],
  out8_dx: ['dx', 'al'], out16_dx: ['dx', 'ax'], out32_dx: ['dx', 'eax'],
  out8_i: ['imm8', 'al'], out16_i: ['imm8', 'ax'], out32_i: ['imm8', 'eax'],
};

/** Kinds encoded in the register byte (control registers too: cr0-cr7 by number). */
export const isReg = (k: OperandKind): boolean => k === 'r32' || k === 'r16' || k === 'r8' || k === 'cr';
export const isMem = (k: OperandKind): boolean => k === 'm' || k === 'm32' || k === 'm16' || k === 'm8';
export function immBytes(k: OperandKind): number {
  switch (k) {
    case 'imm8': return 1;
    case 'imm16': case 'tp': return 2;
    case 'imm32': case 'rel32': return 4;
    default: return 0;
  }
}

function makeForm(name: FormName): Form {
  const ops = FORM_OPERANDS[name];
  const hasMem = ops.some(isMem);
  const hasRegByte = hasMem || ops.some(isReg);
  let length = 1 + (hasRegByte ? 1 : 0) + (hasMem ? 5 : 0);
  let fields = 0;
  for (const k of ops) {
    length += immBytes(k);
    fields += isMem(k) ? 2 : FIXED_KINDS.has(k) ? 0 : 1;
  }
  return { name, operands: ops, length, fields };
}

export const FORMS: Record<FormName, Form> = Object.fromEntries(
  (Object.keys(FORM_OPERANDS) as FormName[]).map((n) => [n, makeForm(n)]),
) as Record<FormName, Form>;

/** Memory operand spec packing (decoded field). */
export function packMem(base: number, index: number, scaleLog2: number): number {
  return (base & 0xf) | ((index & 0xf) << 4) | ((scaleLog2 & 3) << 8);
}

/**
 * Encode decoded-style fields into bytes. `addr` is the instruction's address
 * (rel32 fields hold absolute targets).
 */
export function encodeForm(form: Form, opcode: number, f: readonly number[], addr: number): number[] {
  const out = [opcode];
  const ops = form.operands;
  let fi = 0;
  const regs: number[] = [];
  let mem: { spec: number; disp: number } | null = null;
  const imms: { kind: OperandKind; v: number }[] = [];
  for (const k of ops) {
    if (FIXED_KINDS.has(k)) continue;
    if (isMem(k)) { mem = { spec: f[fi], disp: f[fi + 1] }; fi += 2; }
    else if (isReg(k)) regs.push(f[fi++]);
    else imms.push({ kind: k, v: f[fi++] });
  }
  if (mem) {
    out.push((regs[0] ?? 0) | (((mem.spec >> 8) & 3) << 4));
    out.push(mem.spec & 0xff);
    le(out, mem.disp, 4);
  } else if (regs.length) {
    out.push(regs[0] | ((regs[1] ?? 0) << 4));
  }
  for (const { kind, v } of imms) {
    le(out, kind === 'rel32' ? v - (addr + form.length) : v, immBytes(kind));
  }
  return out;
}

function le(out: number[], v: number, n: number): void {
  for (let i = 0; i < n; i++) out.push((v >>> (8 * i)) & 0xff);
}

/**
 * Decode the fields of an instruction whose opcode byte is at `addr`;
 * `byte(i)` returns the byte at addr + i.
 */
export function decodeForm(form: Form, byte: (i: number) => number, addr: number, out: number[]): void {
  const ops = form.operands;
  const hasMem = ops.some(isMem);
  let p = 1;
  const regByte = hasMem || ops.some(isReg) ? byte(p++) : 0;
  let memSpec = 0, disp = 0;
  if (hasMem) {
    const bi = byte(p++);
    memSpec = bi | (((regByte >> 4) & 3) << 8);
    disp = rd(byte, p, 4) | 0;
    p += 4;
  }
  let regIdx = 0;
  let fi = 0;
  for (const k of ops) {
    if (FIXED_KINDS.has(k)) continue;
    if (isMem(k)) { out[fi++] = memSpec; out[fi++] = disp; }
    else if (isReg(k)) {
      out[fi++] = hasMem ? regByte & 0xf : regIdx === 0 ? regByte & 0xf : (regByte >> 4) & 0xf;
      regIdx++;
    } else {
      const n = immBytes(k);
      const v = rd(byte, p, n);
      p += n;
      out[fi++] = k === 'rel32' ? (addr + form.length + (v | 0)) >>> 0 : k === 'imm32' ? v | 0 : v;
    }
  }
  while (fi < 3) out[fi++] = 0;
}

function rd(byte: (i: number) => number, p: number, n: number): number {
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + byte(p + i);
  return v;
}
