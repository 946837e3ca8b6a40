import { describe, expect, it } from 'vitest';
import { assembleSource } from '../../src/asm/assembler.js';
import { lookupSymbol, type Image } from '../../src/asm/image.js';

const seg = (img: Image, name: string): Uint8Array => img.segments.find((s) => s.name === name)!.data;
const sym = (img: Image, name: string): number => {
  const s = lookupSymbol(img, name);
  if (!s) throw new Error(`no symbol ${name}`);
  return s.value;
};
/** Value of a 64-bit .quad expression (signed). */
function q(expr: string): bigint {
  const d = seg(assembleSource(`.data\n.quad ${expr}`), '.data');
  return new DataView(d.buffer, d.byteOffset).getBigInt64(0, true);
}
const le32 = (b: Uint8Array, o: number): number => new DataView(b.buffer, b.byteOffset).getUint32(o, true);

describe('expressions', () => {
  it('numbers and literals', () => {
    expect(q('42')).toBe(42n);
    expect(q('0x1F')).toBe(31n);
    expect(q('0b1011')).toBe(11n);
    expect(q('1_000_000')).toBe(1000000n);
    expect(q("'A'")).toBe(65n);
    expect(q("'\\n'")).toBe(10n);
    expect(q("'\\x41' + 1")).toBe(66n);
    expect(q('0x123456789abc')).toBe(0x123456789abcn);
  });
  it('precedence and associativity', () => {
    expect(q('1 + 2 * 3')).toBe(7n);
    expect(q('(1 + 2) * 3')).toBe(9n);
    expect(q('10 - 4 - 3')).toBe(3n);
    expect(q('100 / 10 / 5')).toBe(2n);
    expect(q('1 << 2 + 1')).toBe(8n);
    expect(q('7 & 3 == 3')).toBe(1n);
    expect(q('1 | 2 ^ 3 & 1')).toBe(3n);
    expect(q('2 + 3 > 4 && 1 < 0 || 5 >= 5')).toBe(1n);
    expect(q('-2 * -3')).toBe(6n);
    expect(q('~0')).toBe(-1n);
    expect(q('~0x80000000 & 0xFFFFFFFF')).toBe(0x7fffffffn);
    expect(q('!0 + !5')).toBe(1n);
    expect(q('-7 / 2')).toBe(-3n);
    expect(q('-7 % 2')).toBe(-1n);
    expect(q('3 != 3')).toBe(0n);
    expect(q('2 <= 2')).toBe(1n);
    expect(q('-1 >> 1')).toBe(-1n);
  });
  it('$ is the address of the current statement', () => {
    const img = assembleSource('nop\nhere: mov eax, $\n.data\n.long $, $ - 4');
    expect(le32(seg(img, '.text'), 3)).toBe(0x1001);
    const d = seg(img, '.data');
    expect(le32(d, 0)).toBe(sym(img, 'here') + 6 + 9);
    expect(le32(d, 4)).toBe(0x1010);
  });
});

describe('symbols', () => {
  it('local labels are scoped to the last non-local label', () => {
    const img = assembleSource(['a: jmp .x', '.x: nop', 'b: jmp .x', '.x: jmp a.x', '  jmp b.x'].join('\n'));
    expect(sym(img, 'a.x')).toBe(0x1005);
    expect(sym(img, 'b.x')).toBe(0x100b);
    const t = seg(img, '.text');
    expect(le32(t, 1)).toBe(0); // a: jmp a.x (next instruction)
    expect(le32(t, 7)).toBe(0); // b: jmp b.x
    expect(le32(t, 12) | 0).toBe(0x1005 - 0x1010);
  });
  it('forward references and chained constants', () => {
    const img = assembleSource([
      'mov eax, [later]', 'mov ebx, X', 'jmp end', 'X = Y + 1', 'Y = later - 0x1000',
      '.data', '.long later, X', 'later: .long 0', '.text', 'end: ret',
    ].join('\n'));
    const later = sym(img, 'later');
    expect(sym(img, 'X')).toBe(later - 0x1000 + 1);
    const t = seg(img, '.text');
    expect(le32(t, 3)).toBe(later);
    expect(le32(t, 9)).toBe(later - 0x1000 + 1);
    expect(le32(seg(img, '.data'), 0)).toBe(later);
  });
  it('.set may be redefined and takes the value at that point', () => {
    const img = assembleSource('.set n, 1\n.data\n.byte n\n.set n, n + 1\n.byte n\n.equ k, 9\n.byte k');
    expect(Array.from(seg(img, '.data'))).toEqual([1, 2, 9]);
  });
  it('defines and .global', () => {
    const img = assembleSource('.global main\nmain: mov eax, SPEED', { defines: { SPEED: 77 } });
    expect(le32(seg(img, '.text'), 2)).toBe(77);
    expect(lookupSymbol(img, 'main')!.global).toBe(true);
  });
  it('entry: .entry, else _start, else start of .text', () => {
    expect(assembleSource('nop\n_start: nop').entry).toBe(0x1001);
    expect(assembleSource('nop\nfoo: nop\n.entry foo').entry).toBe(0x1001);
    expect(assembleSource('nop\nnop').entry).toBe(0x1000);
    expect(assembleSource('.base 0x8000\nnop').entry).toBe(0x8000);
    expect(assembleSource('.base 0x8000\nnop', { base: 0x4000 }).entry).toBe(0x4000);
  });
});

describe('macros', () => {
  it('substitutes arguments and \\@', () => {
    const src = [
      '.macro spin reg, n', '  mov \\reg, \\n', 'again\\@:', '  dec \\reg', '  jnz again\\@', '.endm',
      'spin ecx, 10', 'spin edx, [counter + 4]', '.data', 'counter: .long 0',
    ].join('\n');
    const img = assembleSource(src);
    const t = seg(img, '.text');
    expect(t.length).toBe(6 + 2 + 5 + 7 + 2 + 5);
    expect(sym(img, 'again0')).toBe(0x1006);
    expect(sym(img, 'again1')).toBe(0x1000 + 13 + 7);
    expect(le32(t, 9) | 0).toBe(-7); // jnz again0
    expect(t[13]).toBe(0x32); // mov edx, [counter + 4]
  });
  it('nested invocations, \\() and strings with escapes', () => {
    const src = [
      '.macro str name, text', '\\name\\()_s: .asciz "\\text\\n"', '.endm',
      '.macro two', '  str a, x', '  str b, yz', '.endm', '.data', 'two',
    ].join('\n');
    const img = assembleSource(src);
    expect(Array.from(seg(img, '.data'))).toEqual([120, 10, 0, 121, 122, 10, 0]);
    expect(sym(img, 'b_s')).toBe(sym(img, 'a_s') + 3);
  });
});

describe('includes', () => {
  it('includes relative to the including file', () => {
    const img = assembleSource('.include "lib/a.s"\nmov eax, A_VALUE', {
      fileName: 'prog/main.s',
      files: { 'prog/lib/a.s': '.include "b.s"\nA_VALUE = B_VALUE + 1', 'prog/lib/b.s': 'B_VALUE = 41' },
    });
    expect(le32(seg(img, '.text'), 2)).toBe(42);
  });
});

describe('structs', () => {
  it('.struct defines field offsets and size', () => {
    const img = assembleSource([
      '.struct task', '.field next, 4', '.field prio, 1', '.field pad, 3', '.field stack, 4 * 16', '.ends',
      'mov eax, [ebx + task.prio]', '.data', '.space task.size * 2',
    ].join('\n'));
    expect(sym(img, 'task.next')).toBe(0);
    expect(sym(img, 'task.prio')).toBe(4);
    expect(sym(img, 'task.stack')).toBe(8);
    expect(sym(img, 'task.size')).toBe(72);
    expect(le32(seg(img, '.text'), 3)).toBe(4);
    expect(seg(img, '.data').length).toBe(144);
  });
});

describe('directives', () => {
  it('.align pads .text with nop and data with zeros', () => {
    const img = assembleSource('ret\n.align 4\nret\n.data\n.byte 1\n.align 8\n.byte 2');
    expect(Array.from(seg(img, '.text'))).toEqual([0x76, 0xa0, 0xa0, 0xa0, 0x76]);
    expect(Array.from(seg(img, '.data'))).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 2]);
  });
  it('large alignments move the section start', () => {
    const img = assembleSource('ret\n.data\n.align 4096\npage: .space 4096\n.bss\nb: .space 1');
    expect(sym(img, 'page')).toBe(0x2000);
    expect(img.segments.map((s) => [s.name, s.vaddr, s.memsz])).toEqual([
      ['.text', 0x1000, 1], ['.data', 0x2000, 4096], ['.bss', 0x3000, 1],
    ]);
  });
  it('sections are laid out in order, 16-byte aligned, from the base', () => {
    const img = assembleSource('.bss\nb: .space 3\n.data\nd: .byte 1\n.rodata\nr: .byte 2\n.text\nt: nop', { base: 0x10000 });
    expect(img.segments.map((s) => [s.name, s.vaddr, s.data.length, s.memsz, s.flags])).toEqual([
      ['.text', 0x10000, 1, 1, 5], ['.rodata', 0x10010, 1, 1, 4], ['.data', 0x10020, 1, 1, 6], ['.bss', 0x10030, 0, 3, 6],
    ]);
  });
  it('.if / .elseif / .else / .endif, nested', () => {
    const src = (v: number): string => [
      `V = ${v}`, '.data', '.if V == 1', '.byte 1', '.elseif V == 2', '.if 0', '.byte 99', '.else', '.byte 2', '.endif',
      '.elseif V == 2', '.byte 98', '.else', '.byte 3', '.endif', '.byte 0xff',
    ].join('\n');
    expect(Array.from(seg(assembleSource(src(1)), '.data'))).toEqual([1, 0xff]);
    expect(Array.from(seg(assembleSource(src(2)), '.data'))).toEqual([2, 0xff]);
    expect(Array.from(seg(assembleSource(src(5)), '.data'))).toEqual([3, 0xff]);
  });
  it('data directives', () => {
    const img = assembleSource([
      '.data', '.byte 1, -1, 255', '.word 0x1234, -2', '.long 0xdeadbeef, -1', '.dword 7', '.quad 0x1122334455667788',
      '.ascii "ab", "c"', '.asciz "\\t\\"\\\\\\0\\x7f"', '.space 3, 0xaa', '.zero 2',
    ].join('\n'));
    expect(Array.from(seg(img, '.data'))).toEqual([
      1, 0xff, 0xff, 0x34, 0x12, 0xfe, 0xff, 0xef, 0xbe, 0xad, 0xde, 0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0,
      0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 97, 98, 99, 9, 34, 92, 0, 0x7f, 0, 0xaa, 0xaa, 0xaa, 0, 0,
    ]);
  });
  it('comments and several labels per line', () => {
    const img = assembleSource('a: b: nop ; comment with "quote\n  # another\n.data\n.ascii "a;b#c" # trailing');
    expect(sym(img, 'a')).toBe(sym(img, 'b'));
    expect(new TextDecoder().decode(seg(img, '.data'))).toBe('a;b#c');
  });
  it('.space with a label difference known in pass 1', () => {
    const img = assembleSource('.data\nstart: .byte 1, 2, 3\n.space 8 - ($ - start)\nend:');
    expect(sym(img, 'end') - sym(img, 'start')).toBe(8);
  });
});
