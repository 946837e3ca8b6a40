/**
 * One benchmark process: assemble a loop, warm up on a short run (its own
 * machine: V8 optimises the interpreter paths, and the block compiler's
 * generated code is shared by source text, so the timed machine reuses
 * it), then time a long run and print its MIPS (guest instructions per
 * wall microsecond) and the process's peak RSS as JSON. Wall-clock time is
 * read here, in the harness, never in the model.
 *
 *   tsx bench/loop.ts NAME [ITERATIONS] [interp|compiled]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assemble } from '../src/asm/assembler.js';
import { loadImage } from '../src/machine/loader.js';
import { Machine } from '../src/machine/machine.js';
import { PLATFORM_SYMBOLS } from '../src/machine/platform-symbols.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface LoopRun {
  instructions: number;
  cycles: number;
  exitCode: number | null;
  ms: number;
  /** user + system CPU time of the run: less sensitive than wall time to other processes on the machine */
  cpuMs: number;
  blocksCompiled: number;
}

export function runLoop(name: string, iterations: number, compile = false): LoopRun {
  const image = assemble(path.join(here, 'loops', `${name}.s`), { defines: { ...PLATFORM_SYMBOLS, ITERATIONS: iterations } });
  const m = new Machine({ cpus: 1, quantum: 100_000, compile });
  loadImage(m.memory, image, name);
  m.start(image.entry);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = m.run();
  const ms = performance.now() - t0;
  const c1 = process.cpuUsage(c0);
  const cpuMs = (c1.user + c1.system) / 1000;
  if (r.reason !== 'exit') throw new Error(`${name}: stopped by ${r.reason}`);
  return { instructions: r.instructions, cycles: r.cycles, exitCode: r.exitCode, ms, cpuMs, blocksCompiled: m.cpus[0].code?.stats.compiled ?? 0 };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const name = process.argv[2];
  const compile = process.argv[4] === 'compiled';
  runLoop(name, 200_000, compile); // warm-up
  const r = runLoop(name, Number(process.argv[3] ?? 5_000_000), compile);
  const rssKiB = process.resourceUsage().maxRSS;
  console.log(JSON.stringify({ name, mode: compile ? 'compiled' : 'interp', ...r, mips: r.instructions / r.ms / 1e3, cpuMips: r.instructions / r.cpuMs / 1e3, rssKiB }));
}
