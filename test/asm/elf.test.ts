import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assembleSource } from '../../src/asm/assembler.js';
import { EM_VMXSIM, readElf, writeElf } from '../../src/asm/elf.js';
import { ImageError } from '../../src/asm/errors.js';

const SRC = [
  '.global _start, data_word', 'N = 0x1234', '_start:', '  mov eax, [data_word]', '.spin: jmp .spin',
  '.rodata', 'msg: .asciz "hello"', '.data', 'data_word: .long N', '.bss', 'buf: .space 64',
].join('\n');
const image = assembleSource(SRC);
const elf = writeElf(image);
const dv = new DataView(elf.buffer);

/** Reading must either succeed or throw ImageError, never anything else. */
function tryRead(bytes: Uint8Array): 'ok' | 'rejected' {
  try {
    readElf(bytes, 'x.elf');
    return 'ok';
  } catch (e) {
    if (!(e instanceof ImageError)) throw new Error(`readElf threw ${String(e)}`);
    expect(e.message.startsWith('x.elf: ')).toBe(true);
    expect(e.message).not.toContain('\n');
    return 'rejected';
  }
}
const rejects = (bytes: Uint8Array): string => {
  try {
    readElf(bytes, 'kernel.elf');
  } catch (e) {
    expect(e).toBeInstanceOf(ImageError);
    return (e as Error).message;
  }
  throw new Error('expected readElf to fail');
};
const patched = (f: (v: DataView, b: Uint8Array) => void): Uint8Array => {
  const b = elf.slice();
  f(new DataView(b.buffer), b);
  return b;
};

describe('ELF writer', () => {
  it('writes the header fields', () => {
    expect(Array.from(elf.subarray(0, 7))).toEqual([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
    expect(dv.getUint16(16, true)).toBe(2); // ET_EXEC
    expect(dv.getUint16(18, true)).toBe(EM_VMXSIM);
    expect(EM_VMXSIM).toBe(0x5658);
    expect(dv.getUint32(20, true)).toBe(1);
    expect(dv.getUint32(24, true)).toBe(0x1000);
    expect(dv.getUint32(28, true)).toBe(52);
    expect(dv.getUint16(40, true)).toBe(52);
    expect(dv.getUint16(42, true)).toBe(32);
    expect(dv.getUint16(44, true)).toBe(4); // text, rodata, data, bss
    expect(dv.getUint16(46, true)).toBe(40);
    expect(dv.getUint16(48, true)).toBe(8); // null, 4 sections, symtab, strtab, shstrtab
    expect(dv.getUint16(50, true)).toBe(7);
  });
  it('writes PT_LOAD segments with flags, alignment and a NOBITS .bss', () => {
    const ph = (i: number, k: number): number => dv.getUint32(52 + 32 * i + 4 * k, true);
    expect([0, 1, 2, 3].map((i) => ph(i, 6))).toEqual([5, 4, 6, 6]);
    for (let i = 0; i < 4; i++) {
      expect(ph(i, 0)).toBe(1);
      expect(ph(i, 7)).toBe(16);
      expect(ph(i, 1) % 16).toBe(ph(i, 2) % 16);
    }
    expect(ph(3, 4)).toBe(0);
    expect(ph(3, 5)).toBe(64);
  });
  it('reads back what it wrote', () => {
    const back = readElf(elf, 'x.elf');
    expect(back.entry).toBe(image.entry);
    expect(back.segments).toEqual(image.segments);
    const norm = (s: readonly { name: string }[]): unknown[] => [...s].sort((a, b) => (a.name < b.name ? -1 : 1));
    expect(norm(back.symbols)).toEqual(norm(image.symbols));
    expect(back.symbols.find((s) => s.name === '_start.spin')).toMatchObject({ kind: 'func', global: false, section: '.text' });
    expect(back.symbols.find((s) => s.name === 'data_word')).toMatchObject({ kind: 'object', global: true, size: 4 });
    expect(back.symbols.find((s) => s.name === 'N')).toMatchObject({ kind: 'abs', value: 0x1234, section: null });
    // locals precede globals
    const globals = back.symbols.map((s) => s.global);
    expect(globals.indexOf(true)).toBe(globals.length - 2);
  });
  it('binutils readelf reads it without warnings (when installed)', () => {
    const which = spawnSync('readelf', ['--version']);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmxsim-elf-'));
    const file = path.join(dir, 'test.elf');
    fs.writeFileSync(file, elf);
    if (which.status === 0) {
      const r = spawnSync('readelf', ['-h', '-s', '-l', '-S', '-W', file], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      const all = r.stdout + r.stderr;
      expect(all).not.toMatch(/warning|error/i);
      expect(r.stdout).toContain('EXEC (Executable file)');
      expect(r.stdout).toMatch(/LOAD\s+0x[0-9a-f]+ 0x00001000/);
      expect(r.stdout).toMatch(/FUNC\s+GLOBAL\s+DEFAULT\s+1 _start/);
      expect(r.stdout).toMatch(/NOTYPE\s+LOCAL\s+DEFAULT\s+ABS N/);
    } else {
      // no binutils: check the file at least round-trips through our reader
      expect(readElf(fs.readFileSync(file), file).entry).toBe(0x1000);
    }
    fs.rmSync(dir, { recursive: true });
  });
});

describe('ELF reader rejects bad input with ImageError', () => {
  it('names the problem', () => {
    expect(rejects(new TextEncoder().encode('#!/bin/sh\necho hi\n'))).toBe('kernel.elf: not an ELF file (bad magic)');
    expect(rejects(elf.subarray(0, 30))).toBe('kernel.elf: truncated ELF header (30 bytes, expected at least 52)');
    expect(rejects(patched((_, b) => (b[4] = 2)))).toBe('kernel.elf: ELF64 is not supported, expected ELF32');
    expect(rejects(patched((_, b) => (b[5] = 2)))).toBe('kernel.elf: big-endian ELF is not supported, expected little-endian');
    expect(rejects(patched((v) => v.setUint16(18, 0x3e, true)))).toBe('kernel.elf: e_machine 0x3e is not vmxsim (0x5658)');
    expect(rejects(patched((v) => v.setUint16(16, 3, true)))).toBe('kernel.elf: e_type 3 is not ET_EXEC (2)');
    expect(rejects(patched((v) => v.setUint32(52 + 64 + 4, 0x10000, true)))).toBe('kernel.elf: program header 2 extends past the end of the file');
    expect(rejects(patched((v) => v.setUint16(42, 56, true)))).toBe('kernel.elf: e_phentsize 56, expected 32');
    expect(rejects(patched((v) => v.setUint32(52 + 16, 0x100, true)))).toBe('kernel.elf: program header 0 has p_filesz 0x100 > p_memsz 0xc');
    expect(readElf(writeElf(assembleSource('X = 1')), 'empty.elf')).toEqual({ entry: 0x1000, segments: [], symbols: [expect.objectContaining({ name: 'X' })] });
    expect(rejects(patched((v) => v.setUint32(24, 0x9000, true)))).toBe('kernel.elf: entry point 0x9000 is outside the executable segments');
    expect(rejects(patched((v) => v.setUint32(32, 0xfffffff0, true)))).toBe('kernel.elf: section headers extend past the end of the file');
  });
  it('random bytes', () => {
    let seed = 12345;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let n = 0; n < 300; n++) {
      const len = rnd() * 4 + (n % 7);
      const b = Uint8Array.from({ length: len }, rnd);
      if (n % 2 === 0 && len >= 7) b.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
      expect(tryRead(b)).toBe('rejected');
    }
  });
  it('truncation at every length', () => {
    for (let len = 0; len < elf.length; len++) tryRead(elf.subarray(0, len));
    expect(tryRead(elf.subarray(0, 51))).toBe('rejected');
    expect(tryRead(elf)).toBe('ok');
  });
  it('single-byte mutations of the headers', () => {
    const headerEnd = 52 + 32 * 4;
    const shoff = dv.getUint32(32, true);
    const offsets = [...Array.from({ length: headerEnd }, (_, i) => i), ...Array.from({ length: elf.length - shoff }, (_, i) => shoff + i)];
    for (const o of offsets) {
      for (const val of [0, 1, 0x7f, 0x80, 0xff, elf[o] ^ 0x10]) {
        const b = elf.slice();
        b[o] = val;
        tryRead(b);
      }
    }
  });
  it('mutations anywhere (symbol and string tables)', () => {
    let seed = 99;
    const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
    for (let k = 0; k < 2000; k++) {
      const b = elf.slice();
      for (let j = 0; j < 1 + rnd(4); j++) b[rnd(b.length)] = rnd(256);
      tryRead(b);
    }
  });
});
