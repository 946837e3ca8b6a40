/**
 * `npm run bench`: guest MIPS of the interpreter on three loops
 * (arithmetic, memory, call/ret), each the median of several separate
 * processes (a fresh V8 each time, after warm-up). A benchmark, not a test.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const loops = ['arith', 'memory', 'callret'];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

console.log(`vmxsim interpreter benchmark: median of ${RUNS} processes each (MIPS = guest instructions per wall second / 1e6)`);
for (const name of loops) {
  const mips: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(here, 'loop.ts'), name], { encoding: 'utf8' });
    mips.push(JSON.parse(out.trim().split('\n').pop()!).mips);
  }
  console.log(`  ${name.padEnd(8)} ${median(mips).toFixed(1).padStart(7)} MIPS   (runs: ${mips.map((m) => m.toFixed(0)).join(' ')})`);
}
