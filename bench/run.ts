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
 * Then the paper's scenarios at a fixed, representative size (bench/scenario.ts):
 * simulated seconds per wall second of fig10-rtos-irt-prio-load (3 simulated
 * s: 300 IRT loops of 10 ms, CPU + I/O load in the GPOS) and fig12-irt-cosched
 * (2 s: 200 loops of 10 ms, co-scheduling, 1 kHz ticks, an RTOS load task),
 * whole run and steady state, with peak RSS; the same trace hash in every
 * process (checked).
 *
 * Environment: BENCH_RUNS (default 5), BENCH_ITERATIONS (interpreter, 5e6),
 * BENCH_ITERATIONS_COMPILED (5e7), BENCH_LOOPS=0 (skip the loops), BENCH_SCENARIOS=0 (skip the scenarios).
 */
import { execFileSync } from 'node:child_process';
import type { ScenarioBench } from './scenario.js';
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
for (const name of process.env.BENCH_LOOPS === '0' ? [] : loops) {
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
for (const mode of process.env.BENCH_LOOPS === '0' ? [] : (['interp', 'compiled'] as const)) {
  console.log(`  peak RSS ${mode.padEnd(9)} ${(median(rss[mode]) / 1024).toFixed(0)} MiB median, ${(Math.max(...rss[mode]) / 1024).toFixed(0)} MiB max`);
}

/** name, IRT loops, interval (µs): simulated seconds = loops × interval */
const SCENARIOS: [string, number, number][] = [
  ['fig10-rtos-irt-prio-load', 300, 10_000],
  ['fig12-irt-cosched', 200, 10_000],
];
if (process.env.BENCH_SCENARIOS !== '0') {
  console.log(`scenarios: median of ${RUNS} processes (simulated seconds per wall second; steady = after the first simulated 100 ms)`);
  for (const [name, loops, interval] of SCENARIOS) {
    const runs: ScenarioBench[] = [];
    for (let i = 0; i < RUNS; i++) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(here, 'scenario.ts'), name, String(loops), String(interval)], { encoding: 'utf8' });
      runs.push(JSON.parse(out.trim().split('\n').pop()!) as ScenarioBench);
    }
    // the model is deterministic: different hashes mean different inputs (sources edited while the bench ran) or a bug
    if (new Set(runs.map((r) => r.trace)).size !== 1) console.log(`  WARNING ${name}: trace hashes differ between processes: ${runs.map((r) => r.trace).join(' ')}`);
    const r0 = runs[0];
    console.log(
      `  ${name.padEnd(26)} ${r0.simulatedS.toFixed(2)} s simulated: ${median(runs.map((r) => r.rate)).toFixed(2)} sim-s/wall-s whole run, ` +
        `${median(runs.map((r) => r.steadyRate)).toFixed(2)} steady (runs: ${runs.map((r) => r.steadyRate.toFixed(2)).join(' ')}); ` +
        `${(median(runs.map((r) => r.wallS))).toFixed(1)} s wall; peak RSS ${(median(runs.map((r) => r.rssKiB)) / 1024).toFixed(0)} MiB median, ${(Math.max(...runs.map((r) => r.rssKiB)) / 1024).toFixed(0)} MiB max`,
    );
  }
}
