import { describe, expect, it } from 'vitest';
import { assembleSource } from '../../src/asm/assembler.js';
import { disassembleImage, disassembleOne } from '../../src/asm/disassembler.js';
import { readElf, writeElf } from '../../src/asm/elf.js';
import { symbolAt, symbolize, lookupSymbol, type Image } from '../../src/asm/image.js';
import { OPCODES, handlerKey } from '../../src/isa/opcodes.js';
import { everyOpcodeProgram, sampleFor } from './samples.js';

const reader = (img: Image) => (a: number): number => {
  for (const s of img.segments) if (a >= s.vaddr && a < s.vaddr + s.data.length) return s.data[a - s.vaddr];
  return 0;
};

/** Disassemble each instruction of .text in order. */
function lines(src: string): string[] {
  const img = assembleSource(src);
  const read = reader(img);
  const t = img.segments[0];
  const out: string[] = [];
  for (let a = t.vaddr; a < t.vaddr + t.memsz;) {
    const d = disassembleOne(read, a, (x) => symbolAt(img, x)?.name);
    out.push(d.text);
    a += d.length;
  }
  return out;
}

describe('disassembleOne', () => {
  it('prints Intel syntax with size keywords only where needed', () => {
    expect(lines([
      'start: mov eax, 5', 'mov ecx, -1', 'mov [ebx + esi*4 + 8], edx', 'mov [ebx], al', 'mov byte [ebx], 7',
      'movzx eax, word [edi - 4]', 'inc [counter]', 'lock cmpxchg [ebx], ecx', 'trace kvm_exit, eax', 'in al, dx',
      'out 0x80, al', 'jz start', 'call 0x8000', 'setne bl', 'ret',
      '.data', 'counter: .long 0',
    ].join('\n'))).toEqual([
      'mov eax, 5', 'mov ecx, -1', 'mov [ebx + esi*4 + 0x8], edx', 'mov [ebx], al', 'mov byte [ebx], 7',
      'movzx eax, word [edi - 0x4]', 'inc [counter]', 'lock cmpxchg [ebx], ecx', 'trace kvm_exit, eax', 'in al, dx',
      'out 0x80, al', 'je start', 'call 0x8000', 'setne bl', 'ret',
    ]);
  });
  it('unknown opcodes and non-canonical bytes become .byte', () => {
    const bytes = [0xff, 0x30, 0x9a, 0x40, 0x10];
    const read = (a: number): number => bytes[a] ?? 0;
    expect(disassembleOne(read, 0)).toEqual({ text: '.byte 0xff', length: 1 });
    expect(disassembleOne(read, 1)).toEqual({ text: '.byte 0x30', length: 1 }); // mov r10, r9
    expect(disassembleOne(read, 3)).toEqual({ text: '.byte 0x40', length: 1 }); // inc with stray high nibble
    expect(disassembleOne((a) => [0x40, 0x07][a] ?? 0, 0)).toMatchObject({ text: 'inc edi', length: 2 });
  });
  it('names targets with the symbolizer, hex otherwise', () => {
    const img = assembleSource('main: jmp main\n jmp 0x2000\n.loop: call .loop');
    const read = reader(img);
    const sym = (a: number): string | undefined => symbolAt(img, a)?.name;
    expect(disassembleOne(read, 0x1000, sym).text).toBe('jmp main');
    expect(disassembleOne(read, 0x1005, sym).text).toBe('jmp 0x2000');
    expect(disassembleOne(read, 0x100a, sym).text).toBe('call main.loop');
    expect(disassembleOne(read, 0x100a).text).toBe('call 0x100a');
  });
});

describe('image symbol helpers', () => {
  const img = assembleSource('.global f\nf: nop\n nop\n.x: nop\ng: ret\nK = 5\n.data\nv: .long 1');
  it('symbolAt, symbolize, lookupSymbol', () => {
    expect(symbolAt(img, 0x1000)?.name).toBe('f');
    expect(symbolAt(img, 0x1001)).toBeUndefined();
    expect(symbolize(img, 0x1001)).toBe('f+0x1');
    expect(symbolize(img, 0x1002)).toBe('f.x');
    expect(symbolize(img, 0x1003)).toBe('g');
    expect(symbolize(img, 0x1012)).toBe('v+0x2');
    expect(symbolize(img, 0xfff)).toBeUndefined();
    expect(lookupSymbol(img, 'K')).toMatchObject({ kind: 'abs', value: 5 });
    expect(lookupSymbol(img, 'nope')).toBeUndefined();
  });
});

describe('round trip: asm → ELF → readElf → disassembleImage → asm', () => {
  const check = (src: string, base?: number): string => {
    const img = assembleSource(src, { base });
    const back = readElf(writeElf(img), 'rt.elf');
    const listing = disassembleImage(back);
    const again = assembleSource(listing, { fileName: 'listing.s' });
    expect(again.segments.map((s) => [s.name, s.vaddr, s.memsz])).toEqual(img.segments.map((s) => [s.name, s.vaddr, s.memsz]));
    again.segments.forEach((s, i) => expect(Buffer.from(s.data).equals(Buffer.from(img.segments[i].data))).toBe(true));
    expect(again.entry).toBe(img.entry);
    return listing;
  };
  it('a program using every entry of OPCODES', () => {
    const listing = check(everyOpcodeProgram());
    for (const [i, e] of OPCODES.entries()) {
      expect(listing, handlerKey(e)).toContain(`  ${sampleFor(e, i).text.split(' ')[0]}`);
    }
    expect(listing).toContain('.global _start');
    // the listing keeps `aligned` 64-byte aligned whatever the section start happens to be
    const again = assembleSource(listing, { fileName: 'listing.s' });
    expect(lookupSymbol(again, 'aligned')!.value % 64).toBe(0);
  });
  it('data in .text, labels inside instructions, other bases', () => {
    check('.base 0x20000\nstart: mov eax, 1\nmid = $ - 2\n.byte 0xff, 0x31, 0x99\n.long start\n.entry start + 6\n.data\n.long mid', 0x20000);
    check('.data\nx: .byte 1\n.bss\ny: .space 10\nz:');
    check('_start: nop\n.rodata\n.align 256\nr: .byte 1, 2\n.data\n.align 4096\np: .space 4096, 1');
  });
  it('a label that points into the middle of an instruction', () => {
    const listing = check('start: jmp mid\na: .byte 0x31\nmid: .byte 0, 5, 0, 0, 0\n mov eax, 5');
    expect(listing).toContain('a:\n  .byte 0x31\nmid:\n');
    expect(listing).toContain('  jmp mid');
  });
});
