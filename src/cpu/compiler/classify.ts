/**
 * What the block compiler may put in a block, per dispatch index, derived
 * from the opcode table (cost class, form, mnemonic) — never a second list
 * of instructions.
 *
 * A block holds only pure CPU/memory instructions and control transfers.
 * Everything else (interrupts, HLT, CLI/STI, PUSHFD/POPFD, port I/O, RDTSC,
 * MSRs, CPUID, LIDT/SIDT, MOV CR, PAUSE, WORK, TRACE, VMX, RSM, UD2 and
 * undecodable bytes) ends the block before it and runs in the interpreter.
 */
import { isMem } from '../../isa/forms.js';
import type { CostClass, OpcodeEntry } from '../../isa/opcodes.js';
import { DISPATCH, UD_INDEX } from '../dispatch.js';

export const enum Kind {
  /** not compilable: the block ends before it */
  Stop = 0,
  /** an ordinary instruction (ALU, MOV, load/store, stack, atomics) */
  Plain = 1,
  /** Jcc rel32 */
  Jcc = 2,
  /** JMP rel32 */
  JmpRel = 3,
  /** CALL rel32 */
  CallRel = 4,
  /** RET */
  Ret = 5,
  /** JMP/CALL through a register or memory: always ends the block */
  Indirect = 6,
}

/** Cost classes of the pure CPU/memory instructions a block may contain. */
export const BLOCK_CLASSES: ReadonlySet<CostClass> = new Set<CostClass>([
  'alu', 'mov', 'load', 'store', 'rmw', 'lea', 'shift', 'mul', 'bitscan', 'div', 'push', 'pop', 'nop', 'xchg', 'cmpxchg', 'locked',
]);

/** Control-transfer cost classes: a block ends with (and includes) them, or continues through direct ones. */
export const CONTROL_CLASSES: ReadonlySet<CostClass> = new Set<CostClass>(['branch', 'jmp', 'call', 'ret']);

/** In a block-class cost class but not pure: UD2 raises #UD, SIDT reads system state. */
const EXCLUDED = new Set(['ud2.none', 'sidt.m']);

export function kindOf(e: OpcodeEntry | undefined): Kind {
  if (!e) return Kind.Stop;
  const key = `${e.mnemonic}.${e.form.name}`;
  if (EXCLUDED.has(key)) return Kind.Stop;
  if (BLOCK_CLASSES.has(e.cost)) return Kind.Plain;
  if (!CONTROL_CLASSES.has(e.cost)) return Kind.Stop;
  if (e.cost === 'branch') return e.form.name === 'rel' ? Kind.Jcc : Kind.Stop;
  if (e.cost === 'ret') return Kind.Ret;
  if (e.form.name === 'rel') return e.mnemonic === 'call' ? Kind.CallRel : Kind.JmpRel;
  return Kind.Indirect;
}

/**
 * Whether the handler may touch memory (and so may fault, reach a device
 * outside RAM, or write into code): explicit memory operands except LEA,
 * and the stack (PUSH, POP, CALL, RET).
 */
export function accessesMemory(e: OpcodeEntry | undefined): boolean {
  if (!e) return false;
  if (e.cost === 'lea') return false;
  if (e.form.operands.some(isMem)) return true;
  return e.mnemonic === 'push' || e.mnemonic === 'pop' || e.mnemonic === 'call' || e.mnemonic === 'ret';
}

/** Whether the handler can throw without touching memory (#DE). */
export function mayFaultWithoutMemory(e: OpcodeEntry | undefined): boolean {
  return e !== undefined && e.cost === 'div';
}

/** Per dispatch index (0..UD_INDEX). */
export const KINDS: Uint8Array = Uint8Array.from(DISPATCH.map((d) => kindOf(d.entry)));
export const MEMORY: Uint8Array = Uint8Array.from(DISPATCH.map((d) => (accessesMemory(d.entry) ? 1 : 0)));
export const THROWS: Uint8Array = Uint8Array.from(DISPATCH.map((d) => (accessesMemory(d.entry) || mayFaultWithoutMemory(d.entry) ? 1 : 0)));

/** Cost classes whose instructions change only registers and flags (reading memory at most). */
const READ_ONLY_CLASSES: ReadonlySet<CostClass> = new Set<CostClass>(['alu', 'mov', 'load', 'lea', 'shift', 'mul', 'div', 'bitscan', 'nop']);

/**
 * Whether an instruction has no effect but on registers, flags and EIP: it
 * may read memory, never write it (PUSH m is a 'load' that writes the
 * stack). A loop block made only of these, once a pass leaves registers and
 * flags unchanged, repeats that pass until something outside the CPU
 * changes (block.ts: the spin fast-forward).
 */
export function readOnly(e: OpcodeEntry | undefined): boolean {
  if (!e) return false;
  const k = kindOf(e);
  if (k === Kind.Jcc || k === Kind.JmpRel) return true;
  return k === Kind.Plain && READ_ONLY_CLASSES.has(e.cost) && e.mnemonic !== 'push' && e.mnemonic !== 'pop';
}

export const READ_ONLY: Uint8Array = Uint8Array.from(DISPATCH.map((d) => (readOnly(d.entry) ? 1 : 0)));

/**
 * 1 where an instruction ends a block (control transfer or not compilable):
 * the interpreter treats the EIP after it as a possible block start and
 * counts it towards compiling.
 */
export const BLOCK_END: Uint8Array = Uint8Array.from(KINDS, (k) => (k === Kind.Plain ? 0 : 1));

if (KINDS[UD_INDEX] !== Kind.Stop) throw new Error('undecodable bytes must not be compiled');
