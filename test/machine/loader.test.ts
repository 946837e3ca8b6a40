/** Loading images: every bad image is one ImageError line naming the file; good ones load and run. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeElf } from '../../src/asm/elf.js';
import { ImageError } from '../../src/asm/errors.js';
import type { Image } from '../../src/asm/image.js';
import { loadImage, readImageFile } from '../../src/machine/loader.js';
import { Machine } from '../../src/machine/machine.js';
import { PhysicalMemory } from '../../src/machine/memory.js';
import { asm } from '../helpers/runner.js';
import { prng } from '../cpu/util.js';

const dir = mkdtempSync(join(tmpdir(), 'vmxsim-loader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function imageErrorOf(f: () => unknown): ImageError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ImageError);
    return e as ImageError;
  }
  throw new Error('expected an ImageError');
}

function expectOneLineNaming(e: ImageError, file: string): void {
  expect(e.message.startsWith(`${file}: `), e.message).toBe(true);
  expect(e.message).not.toContain('\n');
  expect(e.message.length).toBeLessThan(300);
}

const PROGRAM = `
.base 0x1000
_start:
    mov eax, [value]
    out EXIT_PORT, eax
.data
value: .long 42
.bss
zeros: .space 64
`;

describe('readImageFile', () => {
  it('loads a valid ELF that then runs', () => {
    const path = join(dir, 'good.elf');
    writeFileSync(path, writeElf(asm(PROGRAM)));
    const image = readImageFile(path);
    const m = new Machine({ cpus: 1, memoryBytes: 1 << 20 });
    loadImage(m.memory, image, path);
    m.start(image.entry);
    expect(m.run({ untilCycles: 1e6 }).exitCode).toBe(42);
  });

  it('reports a missing file', () => {
    const path = join(dir, 'no-such.elf');
    const e = imageErrorOf(() => readImageFile(path));
    expectOneLineNaming(e, path);
    expect(e.message).toMatch(/cannot read image \(no such file\)/);
  });

  it('reports a directory given as the image', () => {
    expectOneLineNaming(imageErrorOf(() => readImageFile(dir)), dir);
  });

  it('rejects random bytes', () => {
    const rnd = prng(42);
    for (let i = 0; i < 20; i++) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(rnd() * 400) }, () => Math.floor(rnd() * 256));
      if (i % 2) bytes.set([0x7f, 0x45, 0x4c, 0x46].slice(0, bytes.length)); // half of them with the ELF magic
      const path = join(dir, `random-${i}.bin`);
      writeFileSync(path, bytes);
      expectOneLineNaming(imageErrorOf(() => readImageFile(path)), path);
    }
  });

  it('rejects an empty file and a text file', () => {
    for (const [name, data] of [['empty.elf', ''], ['text.elf', 'mov eax, 1\n']]) {
      const path = join(dir, name);
      writeFileSync(path, data);
      const e = imageErrorOf(() => readImageFile(path));
      expectOneLineNaming(e, path);
    }
  });
});

describe('loadImage', () => {
  const high = (): Image => asm(PROGRAM.replace('.base 0x1000', '.base 0x200000'));

  it('rejects an ELF whose segment lies beyond the memory, naming the segment', () => {
    const path = join(dir, 'high.elf');
    writeFileSync(path, writeElf(high()));
    const image = readImageFile(path);
    const mem = new PhysicalMemory(1 << 20);
    const e = imageErrorOf(() => loadImage(mem, image, path));
    expectOneLineNaming(e, path);
    expect(e.message).toMatch(/segment \.text at 0x200000 .*does not fit in 1 MiB/);
  });

  it('rejects a segment that starts inside but ends outside memory, loading nothing', () => {
    const image: Image = {
      entry: 0x1000,
      symbols: [],
      segments: [
        { name: '.text', vaddr: 0x1000, data: Uint8Array.of(1, 2, 3, 4), memsz: 4, flags: 5 },
        { name: '.bss', vaddr: 0xff000, data: new Uint8Array(0), memsz: 0x2000, flags: 6 },
      ],
    };
    const mem = new PhysicalMemory(1 << 20);
    expectOneLineNaming(imageErrorOf(() => loadImage(mem, image, 'two.elf')), 'two.elf');
    expect(mem.read32(0x1000), 'nothing loaded').toBe(0);
  });

  it('honours an offset and limit (a guest window)', () => {
    const image = asm(PROGRAM);
    const mem = new PhysicalMemory(1 << 20);
    loadImage(mem, image, 'guest.elf', 0x40000, 0x10000);
    const text = image.segments.find((s) => s.name === '.text')!;
    expect(Array.from(mem.bytes.subarray(0x40000 + text.vaddr, 0x40000 + text.vaddr + text.data.length))).toEqual(Array.from(text.data));
    const e = imageErrorOf(() => loadImage(mem, image, 'guest.elf', 0x40000, 0x1000));
    expectOneLineNaming(e, 'guest.elf');
  });

  it('zero-fills .bss over whatever RAM held', () => {
    const image = asm(PROGRAM);
    const bss = image.segments.find((s) => s.name === '.bss')!;
    const mem = new PhysicalMemory(1 << 20);
    mem.bytes.fill(0xcc);
    loadImage(mem, image, 'bss.elf');
    expect(mem.bytes.subarray(bss.vaddr, bss.vaddr + bss.memsz).every((b) => b === 0)).toBe(true);
    expect(mem.bytes[bss.vaddr + bss.memsz], 'beyond .bss untouched').toBe(0xcc);
  });
});
