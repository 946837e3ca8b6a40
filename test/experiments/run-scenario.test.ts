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
  it('fig10-rtos-irt-prio-load --loops 50 --interval 200: cyclictest line, -h block, stage table, exits, JSON', () => {
    const json = path.join(tmp, 'fig10.json');
    const r = cli('run', 'fig10-rtos-irt-prio-load', '--loops', '50', '--interval', '200', '--json', json, '--histogram', '5');
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^rtos: T: 0 \(\s+\d+\) P:97 I:200 C:\s+50 Min:\s+\d+ Act:\s+\d+ Avg:\s+\d+ Max:\s+\d+$/m);
    expect(r.out).toMatch(/^# Histogram\n000000 \d{6}\n000001 \d{6}\n000002 \d{6}\n000003 \d{6}\n000004 \d{6}\n# Total: 000000050\n# Min Latencies: \d{5}\n# Avg Latencies: \d{5}\n# Max Latencies: \d{5}\n# Histogram Overflows: \d{5}$/m);
    expect(r.out).toMatch(/^total \(h-a\)\s+[\d.]+/m);
    expect(r.out).toMatch(/^\s+EXTERNAL_INTERRUPT\s+\d+/m);
    const j = JSON.parse(readFileSync(json, 'utf8'));
    expect(Object.keys(j)).toEqual(['scenario', 'seed', 'simulated_ns', 'instructions', 'wall_ms', 'latency', 'ground_truth', 'stages', 'exits', 'cpu', 'benchmarks']);
    expect(j.wall_ms).toBeGreaterThan(0);
    expect(Object.keys(j.cpu)).toEqual(['0', '1']);
    for (const c of Object.values(j.cpu) as { busy: number; idle: number; smm: number }[]) expect(c.busy + c.idle + c.smm).toBeCloseTo(100, 1);
    expect(j.benchmarks).toEqual({});
    expect(j.ground_truth.interrupts).toBe(50);
    expect(r.out).toMatch(/^CPU\s+busy %\s+idle %\s+SMM %\n\s+0\s+[\d.]+\s+[\d.]+\s+0\.00\n\s+1\s/m);
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
    const run = runScenario(loadScenario('fig10-rtos-irt-prio-load'), { loops: 50, intervalUs: 200 });
    expect(run.samples).toHaveLength(50);
    expect(run.truth).toHaveLength(50);
    for (const [i, v] of run.samples.entries()) {
      const d = v - run.truth[i];
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(RTOS_PROLOGUE_MAX);
    }
  }, 60_000);

  it('is deterministic: the same JSON twice', () => {
    const a = runScenario(loadScenario('fig10-rtos-irt-prio-load'), { loops: 20, intervalUs: 200 }).result;
    const b = runScenario(loadScenario('fig10-rtos-irt-prio-load'), { loops: 20, intervalUs: 200 }).result;
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  }, 60_000);

  it('fig5-guest-pdlt: the GPOS cyclictest in a guest', () => {
    const r = cli('run', 'fig5-guest-pdlt', '--loops', '10', '--interval', '500');
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^guest: T: 0 \(\s+\d+\) P:80 I:500 C:\s+10 Min:/m);
  }, 60_000);

  it('fig4-host-pdlt: the host kernel\'s own cyclictest, no VMs: no stage breakdown, samples below 10 µs', () => {
    const run = runScenario(loadScenario('fig4-host-pdlt'), { loops: 50, intervalUs: 1000 });
    expect(run.complete).toBe(true);
    expect(run.lines).toHaveLength(1);
    expect(run.lines[0]).toMatch(/^host: T: 0 \(\s+\d+\) P:80 I:1000 C:\s+50 Min:/);
    expect(run.result.latency.samples).toBe(50);
    expect(run.result.latency.max).toBeLessThan(10);
    expect(run.result.ground_truth.interrupts).toBe(0);
    expect(run.result.exits).toEqual({});
    // the host idles between samples: both CPUs mostly halted
    for (const c of Object.values(run.result.cpu)) expect(c.idle).toBeGreaterThan(90);
  }, 60_000);

  it('SMIs: SMM time per CPU, samples delayed by the SMI durations; --duration bounds simulated time; seed recorded', () => {
    const run = runScenario(loadScenario('smi-usb-legacy'), { loops: 1000, intervalUs: 200, durationNs: 40e6, seed: 7 });
    expect(run.complete).toBe(false);
    expect(run.durationReached).toBe(true);
    // the machine stops at the first instruction boundary at or after the duration
    expect(run.result.simulated_ns).toBeGreaterThanOrEqual(40e6);
    expect(run.result.simulated_ns).toBeLessThan(40e6 + 100);
    expect(run.result.seed).toBe(7);
    expect(run.sys.machine.smiSource.count).toBe(2); // at 16 and 32 ms
    // durations cycle 300, 700 µs: each SMI delays one sample by about its length
    const late = run.samples.map((c) => c / 2670).filter((u) => u > 100).sort((a, b) => a - b);
    expect(late).toHaveLength(2);
    expect(late[0]).toBeGreaterThan(100);
    expect(late[0]).toBeLessThan(310);
    expect(late[1]).toBeGreaterThan(500);
    expect(late[1]).toBeLessThan(710);
    for (const c of Object.values(run.result.cpu)) expect(c.smm).toBeCloseTo((1000 / 40_000) * 100, 0);
  }, 60_000);

  it('benchmarks: completion times of the six SPEC stand-ins, read from guest memory; until "benchmarks" ends the run', () => {
    const run = runScenario(loadScenario('fig11-throughput-cosched'), { loops: 10, intervalUs: 10_000 });
    expect(run.complete).toBe(true);
    const b = run.result.benchmarks;
    expect(Object.keys(b)).toEqual(['164.gzip', '176.gcc', '197.parser', '255.vortex', '256.bzip2', '300.twolf']);
    for (const t of Object.values(b)) {
      expect(t).not.toBeNull();
      expect(t!).toBeLessThanOrEqual(run.result.simulated_ns / 1e9);
    }
    expect(run.result.simulated_ns / 1e9 - Math.max(...(Object.values(b) as number[]))).toBeLessThan(0.0011); // stopped within a 1 ms step
    expect(run.benchTable).toMatch(/^164\.gzip\s+[\d.]+\s+[\d.]+$/m);
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
