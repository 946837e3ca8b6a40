/**
 * Invariants of the opcode table (src/isa/opcodes.ts) and the operand forms
 * (src/isa/forms.ts): unique encodings, one handler per entry and one entry
 * per handler, a sourced cost for every class, and encode/decode agreeing
 * with each other and with the declared form lengths.
 */
import { describe, expect, it } from 'vitest';
import { DISPATCH, LENGTHS, UD_INDEX } from '../../src/cpu/dispatch.js';
import { HANDLERS } from '../../src/cpu/exec/index.js';
import { FIXED_KINDS, FORMS, decodeForm, encodeForm, immBytes, isMem, isReg, packMem, type Form } from '../../src/isa/forms.js';
import { BY_MNEMONIC, BY_OPCODE, OPCODES, handlerKey } from '../../src/isa/opcodes.js';
import { NO_REG } from '../../src/isa/registers.js';
import { NEHALEM } from '../../src/machine/cpu-model.js';

/** mulberry32: a small deterministic PRNG (not Math.random, so failures reproduce). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Random valid decoded fields for a form, in the shape decodeForm produces (3 slots, unused = 0). */
function randomFields(form: Form, rnd: () => number, addr: number): number[] {
  const int = (n: number): number => Math.floor(rnd() * n);
  const f: number[] = [];
  for (const k of form.operands) {
    if (FIXED_KINDS.has(k)) continue;
    if (isMem(k)) {
      const base = rnd() < 0.2 ? NO_REG : int(8);
      const index = rnd() < 0.3 ? NO_REG : int(8);
      f.push(packMem(base, index, int(4)), (int(2 ** 32) | 0));
    } else if (isReg(k)) f.push(int(8));
    else if (k === 'imm32') f.push(int(2 ** 32) | 0); // decoded as signed
    else if (k === 'rel32') f.push((addr + form.length + (int(2 ** 32) | 0)) >>> 0); // an absolute target
    else f.push(int(2 ** (8 * immBytes(k)))); // imm8, imm16, tp: unsigned
  }
  while (f.length < 3) f.push(0);
  return f;
}

describe('opcode table', () => {
  it('gives every entry its own opcode byte (checked on OPCODES itself)', () => {
    const seen = new Map<number, string>();
    const clashes: string[] = [];
    for (const e of OPCODES) {
      expect(Number.isInteger(e.opcode) && e.opcode >= 0 && e.opcode <= 0xff, `${handlerKey(e)} opcode in 0..255`).toBe(true);
      const prev = seen.get(e.opcode);
      if (prev !== undefined) clashes.push(`${hex(e.opcode)}: ${prev} and ${handlerKey(e)}`);
      seen.set(e.opcode, handlerKey(e));
    }
    expect(clashes).toEqual([]);
    // BY_OPCODE holds exactly the table's entries
    expect(BY_OPCODE.filter((e) => e !== undefined).length).toBe(OPCODES.length);
    for (const e of OPCODES) expect(BY_OPCODE[e.opcode]).toBe(e);
  });

  it('gives every mnemonic + form combination one entry', () => {
    const keys = OPCODES.map(handlerKey);
    expect(new Set(keys).size).toBe(keys.length);
    for (const [m, list] of BY_MNEMONIC) for (const e of list) expect(e.mnemonic).toBe(m);
  });

  it('has a handler for every entry and an entry for every handler', () => {
    const keys = new Set(OPCODES.map(handlerKey));
    const missing = [...keys].filter((k) => typeof HANDLERS[k] !== 'function');
    const orphans = Object.keys(HANDLERS).filter((k) => !keys.has(k));
    expect(missing, 'entries without a handler').toEqual([]);
    expect(orphans, 'handlers without an entry').toEqual([]);
  });

  it('dispatches each opcode byte to its handler with the form length, everything else to #UD', () => {
    for (let op = 0; op < 256; op++) {
      const e = BY_OPCODE[op];
      if (e) {
        expect(DISPATCH[op].handler, hex(op)).toBe(HANDLERS[handlerKey(e)]);
        expect(LENGTHS[op], hex(op)).toBe(e.form.length);
      } else {
        expect(DISPATCH[op].handler, hex(op)).toBe(DISPATCH[UD_INDEX].handler);
        expect(LENGTHS[op], hex(op)).toBe(1);
      }
    }
  });

  it('uses only cost classes the CPU model defines, each with a source', () => {
    for (const e of OPCODES) {
      const c = NEHALEM.classes[e.cost];
      expect(c, `${handlerKey(e)}: class ${e.cost}`).toBeDefined();
      expect(Number.isInteger(c.cycles) && c.cycles >= 0, `${e.cost} cycles`).toBe(true);
      expect(c.source.trim().length, `${e.cost} source`).toBeGreaterThan(0);
    }
    for (const [name, ev] of Object.entries(NEHALEM.events)) expect(ev.source.trim().length, name).toBeGreaterThan(0);
  });

  it('documents every entry', () => {
    for (const e of OPCODES) {
      expect(e.doc.trim().length, handlerKey(e)).toBeGreaterThan(0);
      expect(e.group.trim().length, handlerKey(e)).toBeGreaterThan(0);
    }
  });
});

describe('operand forms', () => {
  /** Length from the layout documented in forms.ts, computed independently of makeForm. */
  function documentedLength(form: Form): number {
    const ops = form.operands;
    const mem = ops.some((k) => ['m', 'm32', 'm16', 'm8'].includes(k));
    const reg = ops.some((k) => ['r32', 'r16', 'r8'].includes(k));
    const immLen: Record<string, number | undefined> = { imm8: 1, imm16: 2, tp: 2, imm32: 4, rel32: 4 };
    let n = 1 + (mem || reg ? 1 : 0) + (mem ? 5 : 0);
    for (const k of ops) n += immLen[k] ?? 0;
    return n;
  }

  it('declares the length of the documented byte layout', () => {
    for (const form of Object.values(FORMS)) expect(form.length, form.name).toBe(documentedLength(form));
  });

  it('counts one decoded field per register/immediate, two per memory operand, none per fixed operand', () => {
    for (const form of Object.values(FORMS)) {
      const n = form.operands.reduce((s, k) => s + (isMem(k) ? 2 : FIXED_KINDS.has(k) ? 0 : 1), 0);
      expect(form.fields, form.name).toBe(n);
      expect(form.fields).toBeLessThanOrEqual(3);
    }
  });

  it('encodes every entry to exactly its form length', () => {
    const rnd = prng(1);
    for (const e of OPCODES) {
      for (let i = 0; i < 20; i++) {
        const addr = Math.floor(rnd() * 0x100000);
        const bytes = encodeForm(e.form, e.opcode, randomFields(e.form, rnd, addr), addr);
        expect(bytes.length, handlerKey(e)).toBe(e.form.length);
        expect(bytes[0]).toBe(e.opcode);
        for (const b of bytes) expect(b >= 0 && b <= 255 && Number.isInteger(b)).toBe(true);
      }
    }
  });

  it('decodes what it encodes, for random valid fields of every entry', () => {
    const rnd = prng(0x5eed);
    for (const e of OPCODES) {
      for (let i = 0; i < 200; i++) {
        const addr = Math.floor(rnd() * 0xfff00000);
        const fields = randomFields(e.form, rnd, addr);
        const bytes = encodeForm(e.form, e.opcode, fields, addr);
        const out = [99, 99, 99];
        decodeForm(e.form, (k) => bytes[k], addr, out);
        expect(out, `${handlerKey(e)} fields ${fields.map(hex)} bytes ${bytes.map(hex)}`).toEqual(fields);
      }
    }
  });

  it('places relative targets relative to the end of the instruction', () => {
    const e = BY_MNEMONIC.get('jmp')!.find((x) => x.form.name === 'rel')!;
    const addr = 0x2000;
    // a jump to itself is rel32 = -length (x86's EB FE / E9 FB FF FF FF idiom)
    const bytes = encodeForm(e.form, e.opcode, [addr, 0, 0], addr);
    const rel = (bytes[1] | (bytes[2] << 8) | (bytes[3] << 16) | (bytes[4] << 24)) | 0;
    expect(rel).toBe(-e.form.length);
  });
});
