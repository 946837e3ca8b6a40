import { describe, expect, it } from 'vitest';
import { assembleSource } from '../../src/asm/assembler.js';
import { AsmError } from '../../src/asm/errors.js';

/** The error lines of assembling `src` (fails the test if it assembles). */
function errors(src: string, files?: Record<string, string>): string[] {
  try {
    assembleSource(src, { fileName: 'prog.s', files });
  } catch (e) {
    expect(e).toBeInstanceOf(AsmError);
    return [...(e as AsmError).errors];
  }
  throw new Error('expected an assembly error');
}
const one = (src: string, files?: Record<string, string>): string => {
  const e = errors(src, files);
  expect(e).toHaveLength(1);
  return e[0];
};

describe('error messages', () => {
  it('unknown mnemonic with a suggestion', () => {
    expect(one('  mvo eax, 1')).toBe("prog.s:1:3: error: unknown mnemonic 'mvo'; did you mean 'mov'?");
  });
  it('operands matching no form list the accepted forms', () => {
    expect(one('nop\n  add eax, bl')).toBe('prog.s:2:7: error: add expects: r32, r32 | r32, imm32 | r32, m32 | m32, r32 | m32, imm32');
    expect(one('ret eax')).toBe('prog.s:1:5: error: ret expects: (no operands)');
    expect(one('jz 1, 2')).toBe('prog.s:1:4: error: jz expects: rel32');
  });
  it('immediate out of range', () => {
    expect(one('shl eax, 300')).toBe('prog.s:1:10: error: immediate 300 out of range for imm8 (-128..255)');
    expect(one('mov eax, 0x100000000')).toBe('prog.s:1:10: error: immediate 4294967296 out of range for imm32 (-2147483648..4294967295)');
  });
  it('memory operand size needed', () => {
    expect(one('movzx eax, [ebx]')).toBe('prog.s:1:12: error: operand size of memory operand is ambiguous for movzx; expected a size keyword: byte or word');
  });
  it('undefined and duplicate symbols', () => {
    expect(one('mov eax, countr\ncounter: nop')).toBe("prog.s:1:10: error: undefined symbol 'countr'; did you mean 'counter'?");
    expect(one('x: nop\nx: nop')).toBe("prog.s:2:1: error: duplicate symbol 'x' (first defined at prog.s:1); expected a new name");
  });
  it('bad expressions', () => {
    expect(one('mov eax, 1 +')).toBe('prog.s:1:13: error: bad expression: missing operand at end of line, expected a number, symbol or (');
    expect(one('mov eax, (1 + 2')).toBe("prog.s:1:16: error: expected ')' to close the parenthesis, found end of line");
    expect(one('mov eax, 4 / 0')).toBe("prog.s:1:12: error: division by zero in expression, expected a non-zero divisor for '/'");
    expect(one('mov eax, 12ab')).toBe("prog.s:1:10: error: bad number '12ab', expected decimal, 0x hex or 0b binary digits");
  });
  it('unterminated string, macro, if, struct', () => {
    expect(one('.data\n.ascii "abc')).toBe('prog.s:2:8: error: unterminated string, expected a closing "');
    expect(one('.macro m\nnop')).toBe('prog.s:1:1: error: unterminated .macro m, expected .endm');
    expect(one('nop\n  .if 1\nnop')).toBe('prog.s:2:3: error: unterminated .if, expected .endif');
    expect(one('.struct s\n.field a, 4')).toBe('prog.s:1:1: error: unterminated .struct s, expected .ends');
  });
  it('include not found and include cycle', () => {
    expect(one('.include "nope.s"')).toBe("prog.s:1:1: error: include file 'nope.s' not found (looked for nope.s)");
    expect(one('nop\n.include "a.s"', { 'a.s': '\n.include "b.s"', 'b.s': '.include "a.s"' })).toBe(
      'b.s:1:1: error: include cycle: a.s -> b.s -> a.s',
    );
    expect(one('.include "prog.s"')).toBe('prog.s:1:1: error: include cycle: prog.s -> prog.s');
  });
  it('bad directive with a suggestion, and .align not a power of two', () => {
    expect(one('.data\n.bytes 1')).toBe("prog.s:2:1: error: unknown directive '.bytes'; did you mean '.byte'?");
    expect(one('.align 12')).toBe('prog.s:1:1: error: .align 12 is not a power of two, expected 1, 2, 4, ... 1048576');
  });
  it('sizes must be known in pass 1', () => {
    expect(one('.space n\nn = 4')).toBe(
      "prog.s:1:1: error: .space size must be known at this point ('n' is not defined before this line); expected an expression of symbols defined earlier",
    );
  });
  it('errors inside macro expansions name the expansion', () => {
    expect(one('.macro m\n  mvo eax, 1\n.endm\nnop\nm')).toBe(
      "prog.s:2:3: error: unknown mnemonic 'mvo'; did you mean 'mov'? (in expansion of macro m at prog.s:5)",
    );
  });
  it('.error, data out of range, .bss contents', () => {
    expect(one('.if 1\n.error "unsupported configuration"\n.endif')).toBe('prog.s:2:1: error: unsupported configuration');
    expect(one('.data\n.byte 256')).toBe('prog.s:2:7: error: value 256 out of range for .byte (-128..255)');
    expect(one('.bss\n.long 1')).toBe('prog.s:2:1: error: .long in .bss; expected only .space, .zero or .align there');
  });
  it('register misuse in memory operands', () => {
    expect(one('mov eax, [ax]')).toBe(
      "prog.s:1:11: error: register 'ax' cannot address memory (use a 32-bit register); expected [base + index*scale + disp] with scale 1, 2, 4 or 8",
    );
    expect(one('mov eax, [ebx*3]')).toBe(
      'prog.s:1:15: error: bad scale; expected [base + index*scale + disp] with scale 1, 2, 4 or 8',
    );
  });
  it('collects several errors, in source order, each on one line', () => {
    const e = errors(['mvo eax, 1', 'mov eax, nowhere', 'nop', 'shl eax, 999', 'x:', 'x:', '.bogus'].join('\n'));
    expect(e.map((l) => l.slice(0, l.indexOf(': error')))).toEqual(['prog.s:1:1', 'prog.s:2:10', 'prog.s:4:10', 'prog.s:6:1', 'prog.s:7:1']);
    for (const l of e) expect(l).not.toContain('\n');
  });
  it('stops listing after 20 errors', () => {
    const e = errors(Array.from({ length: 30 }, () => 'bogus').join('\n'));
    expect(e).toHaveLength(21);
    expect(e[20]).toBe('error: 10 more errors not shown');
  });
});

describe('robustness', () => {
  it('random token soup yields an Image or AsmError, nothing else', () => {
    const atoms = [
      'mov', 'eax', 'al', 'dx', ',', '[', ']', '+', '*', '4', '0x10', 'x', '.x', 'x:', '.x:', '$', '(', ')', '-', '~', '"s"',
      "'c'", '.data', '.bss', '.byte', '.long', '.space', '.align', '.if', '.else', '.endif', '.macro', '.endm', 'm', '\\a',
      '.struct', '.field', '.ends', '=', '.equ', '.set', 'byte', 'word', 'ptr', 'jz', 'trace', 'user', 'lock', 'cmpxchg',
      '.include', '.global', '.entry', '.base', ';', '#', '<<', '/', '0', '8', '2', 'shl', 'cl', 'in', 'out', 'ret',
    ];
    let seed = 7;
    const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
    for (let k = 0; k < 400; k++) {
      const lines = Array.from({ length: 1 + rnd(8) }, () => Array.from({ length: rnd(7) }, () => atoms[rnd(atoms.length)]).join(' '));
      try {
        assembleSource(lines.join('\n'), { files: { s: 'nop' } });
      } catch (e) {
        if (!(e instanceof AsmError)) throw new Error(`${String(e)} for:\n${lines.join('\n')}`);
        for (const l of e.errors) expect(l).toMatch(/^(\S+:\d+:\d+: )?error: /);
      }
    }
  });
});
