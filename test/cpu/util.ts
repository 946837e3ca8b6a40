/**
 * Shared helpers for the CPU tests: cycle costs looked up through the opcode
 * table and the CPU model (never literals), an IDT in assembly, and an
 * x86 reference for the status flags written with BigInt arithmetic,
 * independent of src/cpu/lazy-flags.ts.
 */
import type { FormName } from '../../src/isa/forms.js';
import { BY_MNEMONIC } from '../../src/isa/opcodes.js';
import { NEHALEM } from '../../src/machine/cpu-model.js';
import type { FlagName, Runner } from '../helpers/runner.js';

/** Cycles of `mnemonic` in `form` under the NEHALEM model. */
export function cost(mnemonic: string, form: FormName): number {
  const e = BY_MNEMONIC.get(mnemonic)?.find((x) => x.form.name === form);
  if (!e) throw new Error(`no table entry ${mnemonic}.${form}`);
  return NEHALEM.classes[e.cost].cycles;
}

export const DELIVERY = NEHALEM.events.interruptDelivery.cycles;

/** Assembly that installs `handlers` (vector expression → label) in the IDT at `idt` and loads IDTR. */
export function idtSetup(handlers: Record<string, string>, gate = 'IDT_INTERRUPT_GATE'): string {
  const lines = Object.entries(handlers).flatMap(([vec, label]) => [
    `    mov dword [idt + (${vec})*8], ${label}`,
    `    mov dword [idt + (${vec})*8 + 4], ${gate}`,
  ]);
  return [...lines, '    lidt [idtr]'].join('\n');
}

/** The IDT descriptor and table (256 gates) used by idtSetup. */
export const IDT_DATA = `
.data
.align 8
idtr: .word 256*8 - 1
      .long idt
.bss
.align 16
idt:  .space 256*8
`;

/** Enable the local APIC (SVR) with spurious vector 0xff. */
export const APIC_ENABLE = `
    mov ecx, X2APIC_SVR
    xor edx, edx
    mov eax, SVR_ENABLE | 0xff
    wrmsr
`;

// ---- x86 flag reference (SDM Vol. 1 3.4.3.1, Vol. 2 instruction pages) ----

export type StatusFlag = 'CF' | 'PF' | 'AF' | 'ZF' | 'SF' | 'OF';
export type Flags = Partial<Record<FlagName, 0 | 1>>;
export const STATUS: StatusFlag[] = ['CF', 'PF', 'AF', 'ZF', 'SF', 'OF'];

const M32 = (1n << 32n) - 1n;
const b = (x: boolean): 0 | 1 => (x ? 1 : 0);
export const u32 = (x: bigint): number => Number(x & M32);
export const s32 = (x: number): bigint => BigInt.asIntN(32, BigInt(x >>> 0));
export const parity = (x: number): 0 | 1 => {
  let n = 0;
  for (let v = x & 0xff; v; v >>= 1) n += v & 1;
  return b(n % 2 === 0);
};
/** ZF, SF, PF of a 32-bit result. */
export const szp = (r: number): Flags => ({ ZF: b(r >>> 0 === 0), SF: b(r >>> 31 === 1), PF: parity(r) });

export interface Ref {
  r: number;
  f: Flags;
}

/** dst + src + carry (ADD, ADC). */
export function refAdd(a: number, s: number, c: 0 | 1 = 0): Ref {
  const sum = BigInt(a >>> 0) + BigInt(s >>> 0) + BigInt(c);
  const ssum = s32(a) + s32(s) + BigInt(c);
  const r = u32(sum);
  return {
    r,
    f: { ...szp(r), CF: b(sum > M32), OF: b(ssum < -(2n ** 31n) || ssum >= 2n ** 31n), AF: b((a & 0xf) + (s & 0xf) + c > 0xf) },
  };
}

/** dst - src - borrow (SUB, SBB, CMP, NEG as 0 - x). */
export function refSub(a: number, s: number, c: 0 | 1 = 0): Ref {
  const diff = BigInt(a >>> 0) - BigInt(s >>> 0) - BigInt(c);
  const sdiff = s32(a) - s32(s) - BigInt(c);
  const r = u32(diff);
  return {
    r,
    f: { ...szp(r), CF: b(diff < 0n), OF: b(sdiff < -(2n ** 31n) || sdiff >= 2n ** 31n), AF: b((a & 0xf) - (s & 0xf) - c < 0) },
  };
}

/** AND/OR/XOR/TEST: CF = OF = 0, AF undefined (not reported). */
export function refLogic(r: number): Ref {
  return { r: r >>> 0, f: { ...szp(r), CF: 0, OF: 0 } };
}

/** Flags with every reported bit inverted (an initial state the instruction must overwrite). */
export function inverted(f: Flags): Flags {
  return Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v ? 0 : 1])) as Flags;
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/** Re-run a snippet from its entry with fresh registers, flags and (optionally) the dword at label x; steps `n` instructions. */
export function again(r: Runner, regs: Parameters<Runner['regs']>[0], flags: Flags, x?: number, n = 1): Runner {
  r.cpu.eip = r.image.entry;
  r.regs(regs).flags(flags);
  if (x !== undefined) r.poke32('x', x);
  return r.step(n);
}
