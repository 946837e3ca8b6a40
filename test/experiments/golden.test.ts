/**
 * Regression tests on exit counts: for a short run of every built-in
 * scenario (its `quick` sizes), the exact VM exits per VM and reason (and,
 * for a host measurement, the cyclictest sample count) are kept in a committed,
 * human-readable golden file (test/experiments/golden/<scenario>.txt). A
 * change in any count fails with a readable diff. To accept new counts on
 * purpose: `VMXSIM_UPDATE_GOLDEN=1 npx vitest run test/experiments/golden.test.ts`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { quickOverrides, runScenario } from '../../src/experiments/run-scenario.js';
import { builtinScenarioNames, loadScenario } from '../../src/experiments/scenario.js';

const GOLDEN = path.join(__dirname, 'golden');
const update = process.env.VMXSIM_UPDATE_GOLDEN === '1';

/** One line per VM and reason, sorted: `vm REASON count`, plus the trace hash. */
function render(name: string): string {
  const s = loadScenario(name);
  const q = quickOverrides(s);
  const run = runScenario(s, q);
  const lines = [`# ${name}: VM exits of a quick run, ${q.loops} loops of ${q.intervalUs} us (regenerate: VMXSIM_UPDATE_GOLDEN=1)`];
  for (const vm of Object.keys(run.result.exits).sort()) {
    for (const [reason, n] of Object.entries(run.result.exits[vm]).sort(([a], [b]) => a.localeCompare(b))) lines.push(`${vm} ${reason} ${n}`);
  }
  lines.push(`samples ${run.result.latency.samples}`);
  lines.push(`trace ${run.sys.machine.trace.hash}`);
  return `${lines.join('\n')}\n`;
}

describe('golden exit counts', () => {
  it.each(builtinScenarioNames())('%s', (name) => {
    const file = path.join(GOLDEN, `${name}.txt`);
    const now = render(name);
    if (update) fs.writeFileSync(file, now);
    expect(fs.existsSync(file), `${file} is missing: run with VMXSIM_UPDATE_GOLDEN=1 to create it`).toBe(true);
    expect(now).toBe(fs.readFileSync(file, 'utf8'));
  }, 60_000);

  it('a golden file exists for every built-in scenario and for nothing else', () => {
    const files = fs.readdirSync(GOLDEN).filter((f) => f.endsWith('.txt')).map((f) => f.slice(0, -4)).sort();
    expect(files).toEqual([...builtinScenarioNames()].sort());
  });
});
