/**
 * `npm run fuzz [-- --runs N] [-- --seed S] [-- --only SUITE]`: the fuzz
 * suites (suites.ts) at length — 100,000 cases by default, split by weight —
 * printing the cases and outcomes per suite. A finding (an uncaught JS
 * error, an anonymous or multi-line error message, a hang, a compiled run
 * that differs from the interpreted one) is printed with fast-check's
 * counterexample and seed, and the exit code is 1.
 */
import { type Counts } from './harness.js';
import { SUITES } from './suites.js';

const WEIGHTS: Record<string, number> = { images: 30, scenarios: 25, 'host-code': 15, 'guest-code': 15, 'vmx-ops': 15, checkpoints: 5 };

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const total = Number(arg('runs') ?? 100_000);
const seed = Number(arg('seed') ?? (Date.now() % 0x7fffffff)); // tooling, not the model: a fresh seed per run, printed
const only = arg('only');
if (!Number.isInteger(total) || total < 1 || !Number.isInteger(seed)) {
  console.error('usage: npm run fuzz -- [--runs N] [--seed S] [--only SUITE]');
  process.exit(2);
}
const suites = SUITES.filter((s) => !only || s.name === only);
if (suites.length === 0) {
  console.error(`error: no suite ${only} (suites: ${SUITES.map((s) => s.name).join(', ')})`);
  process.exit(2);
}
const weight = suites.reduce((a, s) => a + (WEIGHTS[s.name] ?? 10), 0);
console.log(`vmxsim fuzz: ${total} cases, seed ${seed}`);
let failed = 0;
let done = 0;
const t0 = performance.now();
for (const s of suites) {
  const runs = Math.max(1, Math.round((total * (WEIGHTS[s.name] ?? 10)) / weight));
  const counts: Counts = {};
  const t = performance.now();
  try {
    s.run(runs, seed, counts);
  } catch (e) {
    failed++;
    const cause = (e as Error).cause as Error | undefined;
    console.log(`\n!! ${s.name}: FINDING\n${(e as Error).message}\n${cause ? `cause: ${cause.message}\n` : ''}`);
  }
  const n = Object.values(counts).reduce((a, b) => a + b, 0);
  done += n;
  console.log(`\n${s.name} — ${s.input}: ${n} cases in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  for (const [k, v] of Object.entries(counts).sort((a, b) => b[1] - a[1])) console.log(`  ${String(v).padStart(7)}  ${k}`);
}
console.log(`\n${done} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${failed ? `${failed} suite(s) with findings` : 'no findings: every case ended in a named outcome'}`);
process.exitCode = failed ? 1 : 0;
