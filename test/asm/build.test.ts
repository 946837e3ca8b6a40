import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assemble } from '../../src/asm/assembler.js';
import { buildAll } from '../../src/asm/build.js';
import { asmCommand, buildCommand, disasmCommand } from '../../src/asm/cli.js';
import { readElf } from '../../src/asm/elf.js';
import { AsmError } from '../../src/asm/errors.js';

let root: string;
let out: string[];
let err: string[];

const write = (rel: string, text: string): string => {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
};

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'vmxsim-build-'));
  out = [];
  err = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out.push(String(s));
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('assemble() from files', () => {
  it('reads includes relative to the including file', () => {
    write('p/inc/defs.s', 'VALUE = 7');
    const main = write('p/main.s', '.include "inc/defs.s"\n_start: mov eax, VALUE\n hlt');
    const img = assemble(main);
    expect(img.segments[0].data[2]).toBe(7);
  });
});

describe('buildAll', () => {
  it('builds every directory with a main.s under firmware/ and guests/', () => {
    write('firmware/demo/main.s', '_start: hlt');
    write('firmware/demo/lib.s', 'this is not assembled on its own');
    write('guests/rtos/a/main.s', '.include "../common.s"\n_start: mov eax, X\n hlt');
    write('guests/rtos/common.s', 'X = 3');
    write('guests/empty/readme.txt', 'nothing');
    write('other/main.s', 'garbage');
    const built = buildAll(root, path.join(root, 'build'));
    expect(built.map((b) => path.relative(root, b.out))).toEqual(['build/firmware-demo.elf', 'build/guests-rtos-a.elf']);
    expect(built.map((b) => path.relative(root, b.program))).toEqual(['firmware/demo/main.s', 'guests/rtos/a/main.s']);
    const img = readElf(fs.readFileSync(path.join(root, 'build/guests-rtos-a.elf')), 'x');
    expect(img.segments[0].data[2]).toBe(3);
    expect(out).toEqual([]);
  });
  it('reports the errors of all failing programs', () => {
    write('firmware/a/main.s', 'bogus');
    write('firmware/b/main.s', 'hlt');
    write('guests/c/main.s', 'mov eax, nowhere');
    let e: unknown;
    try {
      buildAll(root, path.join(root, 'build'));
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(AsmError);
    const lines = (e as AsmError).errors;
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(`${path.join(root, 'firmware/a/main.s')}:1:1: error: unknown mnemonic 'bogus'`);
    expect(lines[1]).toContain("error: undefined symbol 'nowhere'");
    expect(fs.existsSync(path.join(root, 'build/firmware-b.elf'))).toBe(true);
  });
});

describe('cli commands', () => {
  it('asm: 0 on success, writes the ELF', () => {
    const a = write('a.s', '_start: call f\n hlt');
    const b = write('b.s', 'f: ret');
    const o = path.join(root, 'out/x.elf');
    expect(asmCommand([a, b], o, 0x4000)).toBe(0);
    expect(readElf(fs.readFileSync(o), o).entry).toBe(0x4000);
    expect(out.join('')).toContain('x.elf: entry 0x4000');
    expect(err).toEqual([]);
  });
  it('asm: 1 on assembly errors, one line each on stderr', () => {
    const a = write('bad.s', 'mvo eax, 1\nmov eax, [x');
    expect(asmCommand([a], path.join(root, 'o.elf'))).toBe(1);
    expect(err).toEqual([
      `${a}:1:1: error: unknown mnemonic 'mvo'; did you mean 'mov'?`,
      `${a}:2:12: error: expected ']' to close the memory operand, found end of line`,
    ]);
  });
  it('asm: 2 on missing files or no files', () => {
    expect(asmCommand([path.join(root, 'missing.s')], path.join(root, 'o.elf'))).toBe(2);
    expect(asmCommand([], path.join(root, 'o.elf'))).toBe(2);
    expect(err).toHaveLength(2);
  });
  it('disasm: prints a listing; 1 on a bad image; 2 on a missing file', () => {
    const a = write('a.s', '_start: mov eax, 1\n hlt');
    const o = path.join(root, 'a.elf');
    expect(asmCommand([a], o)).toBe(0);
    out = [];
    expect(disasmCommand(o)).toBe(0);
    expect(out.join('')).toContain('_start:\n  mov eax, 1');
    const junk = write('junk.elf', 'not an elf at all');
    expect(disasmCommand(junk)).toBe(1);
    expect(err).toEqual([`${junk}: not an ELF file (bad magic)`]);
    expect(disasmCommand(path.join(root, 'nope.elf'))).toBe(2);
  });
  it('build: builds into root/build', () => {
    write('firmware/demo/main.s', '_start: hlt');
    expect(buildCommand(root)).toBe(0);
    expect(fs.existsSync(path.join(root, 'build/firmware-demo.elf'))).toBe(true);
    expect(out.join('\n')).toContain('firmware-demo.elf');
    write('guests/bad/main.s', 'bogus');
    expect(buildCommand(root)).toBe(1);
    expect(err[0]).toContain("unknown mnemonic 'bogus'");
    expect(buildCommand(path.join(root, 'nope'))).toBe(2);
  });
});
