/**
 * One benchmark process: assemble a loop, warm the interpreter up on a short
 * run, then time a long run and print its MIPS (guest instructions per wall
 * microsecond) as JSON. Wall-clock time is read here, in the harness, never
 * in the model.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assemble } from '../src/asm/assembler.js';
import { loadImage } from '../src/machine/loader.js';
import { Machine } from '../src/machine/machine.js';
import { PLATFORM_SYMBOLS } from '../src/machine/platform-symbols.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export function runLoop(name: string, iterations: number): { instructions: number; ms: number } {
  const image = assemble(path.join(here, 'loops', `${name}.s`), { defines: { ...PLATFORM_SYMBOLS, ITERATIONS: iterations } });
  const m = new Machine({ cpus: 1, quantum: 100_000 });
  loadImage(m.memory, image, name);
  m.start(image.entry);
  const t0 = performance.now();
  const r = m.run();
  const ms = performance.now() - t0;
  if (r.reason !== 'exit') throw new Error(`${name}: stopped by ${r.reason}`);
  return { instructions: r.instructions, ms };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const name = process.argv[2];
  runLoop(name, 200_000); // warm-up: let V8 optimise the interpreter paths
  const { instructions, ms } = runLoop(name, Number(process.argv[3] ?? 5_000_000));
  console.log(JSON.stringify({ name, instructions, ms, mips: instructions / ms / 1e3 }));
}
