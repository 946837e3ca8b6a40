/**
 * Running a scenario: the CLI's cyclictest line and -h block, the JSON
 * result's shape, in-guest latency against the emulator's ground truth,
 * stages summing to the total, determinism.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/experiments/scenario.js';
import { runScenario } from '../../src/experiments/run-scenario.js';
import { STAGES } from '../../src/trace/stages.js';

const ROOT = path.resolve(__dirname, '../..');
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr.split('\n').filter((l) => l && !l.startsWith('npm warn')) };
};
const tmp = mkdtempSync(path.join(tmpdir(), 'vmxsim-exp-'));
/** cycles of the RTOS's ISR prologue before it reads the TSC (as in test/guests/together.test.ts) */
const RTOS_PROLOGUE_MAX = 10;
const PROLOGUE_US = RTOS_PROLOGUE_MAX / 2670;
/** JSON values are rounded to ns */
const ROUND = 0.0015;

describe('run SCENARIO', () => {
  it('fig10-rtos-irt-prio-load --loops 50: cyclictest line, -h block, stage table, exits, JSON', () => {
    const json = path.join(tmp, 'fig10.json');
    const r = cli('run', 'fig10-rtos-irt-prio-load', '--loops', '50', '--json', json, '--histogram', '5');
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^rtos: T: 0 \(\s+\d+\) P:97 I:200 C:\s+50 Min:\s+\d+ Act:\s+\d+ Avg:\s+\d+ Max:\s+\d+$/m);
    expect(r.out).toMatch(/^# Histogram\n000000 \d{6}\n000001 \d{6}\n000002 \d{6}\n000003 \d{6}\n000004 \d{6}\n# Total: 000000050\n# Min Latencies: \d{5}\n# Avg Latencies: \d{5}\n# Max Latencies: \d{5}\n# Histogram Overflows: \d{5}$/m);
    expect(r.out).toMatch(/^total \(h-a\)\s+[\d.]+/m);
    expect(r.out).toMatch(/^\s+EXTERNAL_INTERRUPT\s+\d+/m);
    const j = JSON.parse(readFileSync(json, 'utf8'));
    expect(Object.keys(j)).toEqual(['scenario', 'seed', 'simulated_ns', 'instructions', 'latency', 'ground_truth', 'stages', 'exits']);
    expect(j.scenario).toBe('fig10-rtos-irt-prio-load');
    expect(j.simulated_ns).toBeGreaterThan(50 * 200_000);
    expect(j.instructions).toBeGreaterThan(0);
    expect(j.latency.unit).toBe('us');
    expect(j.latency.samples).toBe(50);
    expect(Object.values(j.latency.histogram as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(50);
    for (const k of ['min', 'avg', 'max'] as const) {
      const d = j.latency[k] - j.ground_truth[k];
      expect(d).toBeGreaterThanOrEqual(-ROUND);
      expect(d).toBeLessThanOrEqual(PROLOGUE_US + ROUND);
    }
    for (const s of STAGES) expect(Object.keys(j.stages[s])).toEqual(['avg', 'max']);
    const sum = STAGES.reduce((a, s) => a + j.stages[s].avg, 0);
    expect(Math.abs(sum - j.stages.total.avg)).toBeLessThan(STAGES.length * ROUND);
    expect(Math.abs(j.stages.total.avg - j.ground_truth.avg)).toBeLessThan(ROUND);
    expect(Object.keys(j.exits)).toEqual(['rtos', 'gpos']);
    expect(j.exits.rtos.EXTERNAL_INTERRUPT).toBeGreaterThanOrEqual(50);
  }, 60_000);

  it('in-guest samples agree with the ground truth sample by sample, to the ISR prologue', () => {
    const run = runScenario(loadScenario('fig10-rtos-irt-prio-load'), { loops: 50 });
    expect(run.samples).toHaveLength(50);
    expect(run.truth).toHaveLength(50);
    for (const [i, v] of run.samples.entries()) {
      const d = v - run.truth[i];
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(RTOS_PROLOGUE_MAX);
    }
  }, 60_000);

  it('is deterministic: the same JSON twice', () => {
    const a = runScenario(loadScenario('fig10-rtos-irt-prio-load'), { loops: 20 }).result;
    const b = runScenario(loadScenario('fig10-rtos-irt-prio-load'), { loops: 20 }).result;
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  }, 60_000);

  it('fig5-guest-pdlt: the GPOS cyclictest in a guest', () => {
    const r = cli('run', 'fig5-guest-pdlt', '--loops', '10', '--interval', '500');
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^gpos: T: 0 \(\s+\d+\) P:80 I:500 C:\s+10 Min:/m);
  }, 60_000);

  it('list, and one-line errors for a bad scenario or option', () => {
    const l = cli('list');
    expect(l.code).toBe(0);
    expect(l.out).toMatch(/^fig10-rtos-irt-prio-load\s+Fig\. 10: /m);
    const u = cli('run', 'fig10-rtos-irt-prio-lod.json');
    expect(u.code).toBe(2);
    expect(u.err).toEqual(['error: scenario fig10-rtos-irt-prio-lod.json: cannot read: ENOENT']);
    const v = cli('run', 'fig10-rtos-irt-prio-load', '--loops', '0');
    expect(v.code).toBe(2);
    expect(v.err).toEqual(['error: --loops 0: expected an integer 1-1000000']);
    const w = cli('run', 'firmware/demo/main.s', '--loops', '5');
    expect(w.code).toBe(2);
    expect(w.err).toEqual(['error: --loops applies to scenarios only (firmware/demo/main.s is run as a program)']);
  }, 60_000);
});
