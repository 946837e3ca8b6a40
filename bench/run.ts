/**
 * `npm run bench`: guest MIPS on three loops (arithmetic, memory,
 * call/ret), with the plain interpreter (compile: false) and with the block
 * compiler, each the median of several separate processes (a fresh V8 each
 * time, after warm-up), plus each mode's peak RSS. A benchmark, not a test.
 *
 * The compiled runs are 10x longer (BENCH_ITERATIONS_COMPILED) so that they
 * measure the steady state rather than the first ~1,000 interpreted
 * executions, the compile and V8's tier-up; both modes must end in the
 * same guest state (checked here).
 *
 * "per CPU second" divides by the process's CPU time instead of wall time:
 * a second opinion when other processes share the machine.
 *
 * Environment: BENCH_RUNS (default 5), BENCH_ITERATIONS (interpreter, 5e6),
 * BENCH_ITERATIONS_COMPILED (5e7).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ITERATIONS = { interp: Number(process.env.BENCH_ITERATIONS ?? 5_000_000), compiled: Number(process.env.BENCH_ITERATIONS_COMPILED ?? 50_000_000) };
const loops = ['arith', 'memory', 'callret'];
type Mode = keyof typeof ITERATIONS;

interface Result {
  mips: number;
  cpuMips: number;
  rssKiB: number;
  exitCode: number;
  cycles: number;
  instructions: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function once(name: string, mode: Mode, iterations = ITERATIONS[mode]): Result {
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(here, 'loop.ts'), name, String(iterations), mode], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as Result;
}

console.log(`vmxsim benchmark: median of ${RUNS} processes per loop and mode (MIPS = guest instructions per wall second / 1e6)`);
console.log(`  iterations: interpreter ${ITERATIONS.interp}, compiled ${ITERATIONS.compiled}`);
const rss: Record<Mode, number[]> = { interp: [], compiled: [] };
for (const name of loops) {
  // the same guest run both ways must end identically (a cheap sanity check; the tests do this thoroughly)
  const a = once(name, 'interp', 100_000), b = once(name, 'compiled', 100_000);
  if (a.exitCode !== b.exitCode || a.cycles !== b.cycles || a.instructions !== b.instructions) {
    throw new Error(`${name}: interpreter and compiled runs differ: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  }
  for (const mode of ['interp', 'compiled'] as const) {
    const runs: Result[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(once(name, mode));
    rss[mode].push(...runs.map((r) => r.rssKiB));
    const mips = runs.map((r) => r.mips);
    const cpu = median(runs.map((r) => r.cpuMips));
    console.log(
      `  ${name.padEnd(8)} ${mode.padEnd(9)} ${median(mips).toFixed(1).padStart(8)} MIPS   (runs: ${mips.map((m) => m.toFixed(0)).join(' ')}; per CPU second: ${cpu.toFixed(0)})`,
    );
  }
}
for (const mode of ['interp', 'compiled'] as const) {
  console.log(`  peak RSS ${mode.padEnd(9)} ${(median(rss[mode]) / 1024).toFixed(0)} MiB median, ${(Math.max(...rss[mode]) / 1024).toFixed(0)} MiB max`);
}
