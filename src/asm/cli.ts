/**
 * Command functions for `asm`, `disasm` and `build` (wired into yargs by
 * src/main.ts). They print results to stdout and errors to stderr (one line
 * each, no stack traces) and return the exit code: 0 ok, 1 assembly or image
 * error, 2 usage error or missing file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assembleFiles } from './assembler.js';
import { buildAll } from './build.js';
import { disassembleImage } from './disassembler.js';
import { readElf, writeElf } from './elf.js';
import { AsmError, ImageError } from './errors.js';

function fail(e: unknown): number {
  if (e instanceof AsmError) {
    for (const l of e.errors) console.error(l);
    return 1;
  }
  if (e instanceof ImageError) {
    console.error(e.message);
    return 1;
  }
  console.error(`error: ${(e as Error)?.message ?? String(e)}`);
  return 1;
}

/** Assemble `files` (in order, as one program) into the ELF file `out`. */
export function asmCommand(files: string[], out: string, base?: number, defines: Record<string, number> = {}): number {
  if (files.length === 0) {
    console.error('error: no input files; usage: asm FILE... -o OUT.elf');
    return 2;
  }
  if (base !== undefined && (!Number.isInteger(base) || base < 0 || base >= 2 ** 32)) {
    console.error(`error: --base ${base} is not a 32-bit address`);
    return 2;
  }
  for (const f of files) {
    if (!fs.existsSync(f)) {
      console.error(`error: ${f}: no such file`);
      return 2;
    }
  }
  try {
    const image = assembleFiles(files, { base, defines });
    const dir = path.dirname(out);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(out, writeElf(image));
    const sizes = image.segments.map((s) => `${s.name} ${s.memsz}`).join(', ');
    console.log(`${out}: entry 0x${image.entry.toString(16)}${sizes ? `, ${sizes} bytes` : ''}`);
    return 0;
  } catch (e) {
    return fail(e);
  }
}

/** Print a re-assemblable listing of the ELF file `file`. */
export function disasmCommand(file: string): number {
  if (!fs.existsSync(file)) {
    console.error(`error: ${file}: no such file`);
    return 2;
  }
  try {
    process.stdout.write(disassembleImage(readElf(new Uint8Array(fs.readFileSync(file)), file)));
    return 0;
  } catch (e) {
    return fail(e);
  }
}

/** Build every program under `root` (firmware/, guests/) into `root/build`. */
export function buildCommand(root: string, defines: Record<string, number> = {}): number {
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    console.error(`error: ${root}: no such directory`);
    return 2;
  }
  try {
    const built = buildAll(root, path.join(root, 'build'), defines);
    for (const b of built) console.log(`${b.program} -> ${b.out}`);
    if (built.length === 0) console.log(`no programs found under ${path.join(root, 'firmware')} or ${path.join(root, 'guests')}`);
    return 0;
  } catch (e) {
    return fail(e);
  }
}
