/**
 * Building every program of the tree: each directory under `firmware/` and
 * `guests/` (at any depth) that holds a `main.s` is one program, assembled to
 * `<outDir>/<path relative to root, / replaced by ->.elf`
 * (firmware/demo/main.s → build/firmware-demo.elf).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assemble } from './assembler.js';
import { writeElf } from './elf.js';
import { AsmError } from './errors.js';

export interface Built {
  /** path of the program's main.s */
  readonly program: string;
  /** path of the written ELF file */
  readonly out: string;
}

/** Directories (relative to root, '/'-separated, sorted) holding a main.s. */
export function findPrograms(root: string): string[] {
  const found: string[] = [];
  const walk = (rel: string): void => {
    const dir = path.join(root, rel);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (entries.some((e) => e.isFile() && e.name === 'main.s')) found.push(rel);
    for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      walk(`${rel}/${e.name}`);
    }
  };
  walk('firmware');
  walk('guests');
  return found.sort();
}

/**
 * Assemble all programs under `root` into `outDir`. Every program is
 * attempted; if any fails, an AsmError listing all their errors is thrown
 * after the others were written.
 */
export function buildAll(root: string, outDir: string, defines: Record<string, number> = {}): Built[] {
  const built: Built[] = [];
  const errors: string[] = [];
  for (const rel of findPrograms(root)) {
    const program = path.join(root, rel, 'main.s');
    const out = path.join(outDir, `${rel.split('/').join('-')}.elf`);
    try {
      const image = assemble(program, { defines });
      fs.mkdirSync(outDir, { recursive: true });
      fs.writeFileSync(out, writeElf(image));
      built.push({ program, out });
    } catch (e) {
      if (!(e instanceof AsmError)) throw e;
      errors.push(...e.errors);
    }
  }
  if (errors.length) throw new AsmError(errors);
  return built;
}
