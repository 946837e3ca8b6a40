import { describe, expect, it } from 'vitest';
import { decodeForm, encodeForm, FORMS, packMem } from '../../src/isa/forms.js';
import { BY_OPCODE, OPCODES, handlerKey } from '../../src/isa/opcodes.js';
import { CONDITIONS, CONDITION_ALIASES } from '../../src/isa/conditions.js';
import { assembleSource } from '../../src/asm/assembler.js';
import { lookupSymbol } from '../../src/asm/image.js';
import { sampleFor } from './samples.js';

/** Assemble `text` at 0x1000 and return the .text bytes. */
function text(src: string): Uint8Array {
  const img = assembleSource(src);
  return img.segments.find((s) => s.name === '.text')?.data ?? new Uint8Array();
}

describe('every opcode table entry', () => {
  for (const [i, e] of OPCODES.entries()) {
    it(`${handlerKey(e)} encodes per forms.ts`, () => {
      const s = sampleFor(e, i);
      const img = assembleSource(`${s.text}\ntarget: ret\n`);
      const bytes = img.segments[0].data;
      const target = lookupSymbol(img, 'target')!.value;
      expect(bytes[0]).toBe(e.opcode);
      expect(target - 0x1000).toBe(e.form.length);
      const f: number[] = [];
      decodeForm(e.form, (k) => bytes[k], 0x1000, f);
      const want = s.fields.map((x) => (x === 'target' ? target : x));
      expect(f.slice(0, want.length)).toEqual(want);
      expect(Array.from(bytes.subarray(0, e.form.length))).toEqual(encodeForm(e.form, e.opcode, f, 0x1000));
    });
  }
});

describe('operand matching', () => {
  const op = (src: string): string => {
    const b = text(src);
    return handlerKey(BY_OPCODE[b[0]]!);
  };
  it('picks forms by operand kinds', () => {
    expect(op('mov eax, ebx')).toBe('mov.rr');
    expect(op('mov eax, 5')).toBe('mov.ri');
    expect(op('mov eax, [ebx]')).toBe('mov.rm');
    expect(op('mov [ebx], eax')).toBe('mov.mr');
    expect(op('mov [ebx], 5')).toBe('mov.mi');
    expect(op('mov dword ptr [ebx], 5')).toBe('mov.mi');
    expect(op('mov [ebx], al')).toBe('mov.m8r');
    expect(op('mov byte [ebx], al')).toBe('mov.m8r');
    expect(op('mov [ebx], ax')).toBe('mov.m16r');
    expect(op('mov byte ptr [ebx], 200')).toBe('mov.m8i');
    expect(op('movzx eax, byte [ebx]')).toBe('movzx.rm8');
    expect(op('movzx eax, word [ebx]')).toBe('movzx.rm16');
    expect(op('shl eax, cl')).toBe('shl.rcl');
    expect(op('shl eax, 3')).toBe('shl.ri8');
    expect(op('in al, dx')).toBe('in.in8_dx');
    expect(op('in eax, 0x60')).toBe('in.in32_i');
    expect(op('out dx, ax')).toBe('out.out16_dx');
    expect(op('out 0x80, al')).toBe('out.out8_i');
    expect(op('LOCK CMPXCHG [ebx], ecx')).toBe('lock cmpxchg.mr');
    expect(op('lock   xadd [ebx], ecx')).toBe('lock xadd.mr');
    expect(op('Mov EAX, EBX')).toBe('mov.rr');
  });
  it('accepts condition-code aliases for every jcc/setcc', () => {
    for (const [alias, cc] of Object.entries(CONDITION_ALIASES)) {
      const i = CONDITIONS.indexOf(cc);
      expect(op(`j${alias} x\nx:`)).toBe(`j${CONDITIONS[i]}.rel`);
      expect(op(`set${alias} al`)).toBe(`set${CONDITIONS[i]}.r8`);
    }
  });
  it('encodes memory operands in any order', () => {
    const spec = (s: string): number[] => Array.from(text(`table = 0x2000\nmov eax, ${s}`).subarray(1, 7));
    const want = [0x00 | (2 << 4), 6 | (1 << 4), 0x00, 0x20, 0, 0];
    expect(spec('[esi + ecx*4 + table]')).toEqual(want);
    expect(spec('[table + 4*ecx + esi]')).toEqual(want);
    expect(spec('[ecx*4 + esi + 0x1000 + 0x1000]')).toEqual(want);
    expect(spec('[esi + ecx]')).toEqual([0, 6 | (1 << 4), 0, 0, 0, 0]);
    expect(spec('[ebx - 4]')).toEqual([0, 0xf3, 0xfc, 0xff, 0xff, 0xff]);
    expect(spec('[0xfee00080]')).toEqual([0, 0xff, 0x80, 0x00, 0xe0, 0xfe]);
    expect(spec('[ecx*8]')).toEqual([0x30, 0x1f, 0, 0, 0, 0]);
  });
  it('encodes immediates at the edges of their ranges', () => {
    expect(Array.from(text('mov eax, -1'))).toEqual([0x31, 0, 0xff, 0xff, 0xff, 0xff]);
    expect(Array.from(text('mov eax, 0xffffffff'))).toEqual([0x31, 0, 0xff, 0xff, 0xff, 0xff]);
    expect(Array.from(text('mov eax, -0x80000000'))).toEqual([0x31, 0, 0, 0, 0, 0x80]);
    expect(Array.from(text('shl eax, -128'))).toEqual([0x48, 0, 0x80]);
    expect(Array.from(text('int 255'))).toEqual([0xa5, 0xff]);
    expect(Array.from(text('trace 7, ebx'))).toEqual([0xbe, 3, 7, 0]);
    expect(Array.from(text('trace bench_done, ebx'))).toEqual([0xbe, 3, 37, 0]);
  });
  it('encodes rel32 relative to the next instruction', () => {
    const b = text('start: jmp start\n call fwd\n nop\nfwd: ret');
    expect(Array.from(b.subarray(0, 5))).toEqual([0x70, 0xfb, 0xff, 0xff, 0xff]);
    expect(Array.from(b.subarray(5, 10))).toEqual([0x73, 1, 0, 0, 0]);
    expect(FORMS.rel.length).toBe(5);
  });
  it('packs the memory spec as forms.ts says', () => {
    const b = text('lea eax, [edi + edx*2 + 3]');
    const f: number[] = [];
    decodeForm(BY_OPCODE[b[0]]!.form, (k) => b[k], 0x1000, f);
    expect(f).toEqual([0, packMem(7, 2, 1), 3]);
  });
});
