/**
 * Decoding and dispatch, built from the opcode table: index = opcode byte
 * (0-255), plus UD_INDEX for anything that does not decode (unknown opcode,
 * register field out of range), whose handler raises #UD. Handlers come from
 * exec/; a table entry without a handler, or a handler without an entry,
 * fails at load time and in test/isa/opcodes.test.ts.
 */
import { BY_OPCODE, OPCODES, handlerKey, type OpcodeEntry } from '../isa/opcodes.js';
import { decodeForm, isMem, isReg } from '../isa/forms.js';
import { NO_REG } from '../isa/registers.js';
import type { Cpu } from './cpu.js';
import { Vector, fault } from './faults.js';
import { HANDLERS } from './exec/index.js';

export type Handler = (cpu: Cpu, a: number, b: number, c: number) => void;

export interface DispatchEntry {
  readonly handler: Handler;
  readonly length: number;
  readonly entry: OpcodeEntry | undefined;
}

export const UD_INDEX = 256;

const undefinedOpcode: Handler = () => {
  throw fault(Vector.UD);
};

export const DISPATCH: readonly DispatchEntry[] = (() => {
  const t: DispatchEntry[] = [];
  for (let i = 0; i <= UD_INDEX; i++) {
    const e = i < 256 ? BY_OPCODE[i] : undefined;
    if (!e) {
      t.push({ handler: undefinedOpcode, length: 1, entry: undefined });
      continue;
    }
    const h = HANDLERS[handlerKey(e)];
    if (!h) throw new Error(`opcode table entry ${handlerKey(e)} (0x${e.opcode.toString(16)}) has no handler`);
    t.push({ handler: h, length: e.form.length, entry: e });
  }
  const known = new Set(OPCODES.map(handlerKey));
  for (const k of Object.keys(HANDLERS)) if (!known.has(k)) throw new Error(`handler ${k} has no opcode table entry`);
  return t;
})();

/** The same, split into flat arrays for the interpreter's hot loop. */
export const HANDLER_FNS: readonly Handler[] = DISPATCH.map((d) => d.handler);
export const LENGTHS: Uint8Array = Uint8Array.from(DISPATCH.map((d) => d.length));

const scratch: number[] = [0, 0, 0];

/**
 * Decode the instruction at physical address p (or through `read` when it
 * is not plain RAM) into out[o] = index + 1, out[o+1..3] = fields. Returns index + 1.
 */
export function decodeInto(
  bytes: Uint8Array | null,
  p: number,
  eip: number,
  out: Int32Array,
  o: number,
  read?: (i: number) => number,
): number {
  const byte = read ?? ((i: number) => bytes![p + i]);
  const e = BY_OPCODE[byte(0)];
  let idx = UD_INDEX;
  if (e) {
    decodeForm(e.form, byte, eip, scratch);
    idx = valid(e, scratch) ? e.opcode : UD_INDEX;
  }
  out[o] = idx + 1;
  out[o + 1] = scratch[0];
  out[o + 2] = scratch[1];
  out[o + 3] = scratch[2];
  return idx + 1;
}

/** Register numbers must be 0-7; a memory base/index 0-7 or none. */
function valid(e: OpcodeEntry, f: number[]): boolean {
  let i = 0;
  for (const k of e.form.operands) {
    if (isReg(k)) {
      if (f[i++] > 7) return false;
    } else if (isMem(k)) {
      const spec = f[i];
      const base = spec & 0xf, index = (spec >> 4) & 0xf;
      if ((base > 7 && base !== NO_REG) || (index > 7 && index !== NO_REG)) return false;
      i += 2;
    } else if (k === 'imm8' || k === 'imm16' || k === 'imm32' || k === 'rel32' || k === 'tp') i++;
  }
  return true;
}
