/**
 * Scenario-level checkpoints (src/experiments/checkpoint.ts with runScenario's
 * checkpointAtNs / onCheckpoint / restore): a run continued from a checkpoint
 * gives the uninterrupted run's results — latencies, ground truth, stage
 * breakdown, exits per VM, CPU table, trace hash — also when the checkpoint
 * falls while a CPU is in SMM (smi-usb-legacy: SMIs of 0.3-1.2 ms every
 * 16 ms) and through the file format. The CLI does the same with
 * `--checkpoint-at T --checkpoint FILE` and `--restore FILE`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readScenarioCheckpoint, writeScenarioCheckpoint, type ScenarioState } from '../../src/experiments/checkpoint.js';
import { runScenario, type RunOverrides, type ScenarioRun } from '../../src/experiments/run-scenario.js';
import { loadScenario } from '../../src/experiments/scenario.js';

const ROOT = path.resolve(__dirname, '../..');
const tmp = mkdtempSync(path.join(tmpdir(), 'vmxsim-ckpt-'));

const view = (r: ScenarioRun) => ({
  result: r.result, lines: r.lines, stages: r.stagesTable, exits: r.exitsTable, stopped: r.stopped,
  hash: r.sys.machine.trace.hash, count: r.sys.machine.trace.count, samples: r.samples, truth: r.truth,
});

describe('scenario checkpoints', () => {
  it('smi-usb-legacy: checkpointed while a CPU is in SMM, restored from the file: the same results', () => {
    const scenario = loadScenario('smi-usb-legacy');
    const o: RunOverrides = { loops: 260, intervalUs: 200 };
    const straight = view(runScenario(scenario, o));
    // the first step boundary with a CPU inside the SMM handler (SMIs every 16 ms lasting 0.3, 0.7, 1.2 ms)
    let state: ScenarioState | null = null;
    let inSmm = false;
    const first = runScenario(scenario, o, {
      checkpointAtNs: 48.5e6, // boundary 49 ms: inside the third SMI (48 ms + 1.2 ms)
      onCheckpoint: (s) => {
        state = s;
        inSmm = s.machine.cpus.some((c) => (c.smm as { active: boolean }).active);
      },
    });
    expect(view(first)).toEqual(straight); // taking a checkpoint changes nothing
    expect(state).not.toBeNull();
    expect(inSmm).toBe(true);
    const file = path.join(tmp, 'smi.ckpt');
    writeScenarioCheckpoint(file, scenario, o, state!);
    const ck = readScenarioCheckpoint(file);
    const restored = view(runScenario(ck.scenario, ck.overrides, { restore: ck.state }));
    expect(restored).toEqual(straight);
    expect(straight.result.latency.samples).toBe(260);
  }, 60_000);

  it('the CLI: --checkpoint-at/--checkpoint, then --restore, print what the uninterrupted run prints', async () => {
    const run = (...args: string[]) => new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), ...args], { cwd: ROOT });
      let out = '', err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.on('close', (code) => resolve({ code, out, err }));
    });
    const file = path.join(tmp, 'fig10.ckpt');
    const args = ['run', 'fig10-rtos-irt-prio-load', '--loops', '40', '--interval', '200', '--quiet'];
    const [plain, saving] = await Promise.all([run(...args), run(...args, '--checkpoint-at', '3ms', '--checkpoint', file)]);
    const restored = await run('run', '--restore', file, '--quiet');
    expect(plain.code).toBe(0);
    expect(plain.out).toMatch(/trace hash [0-9a-f]{8}/);
    expect(saving.out).toBe(plain.out);
    expect(restored.err).toBe('');
    expect(restored.out).toBe(plain.out);
    expect(restored.code).toBe(0);
    const bad = await run('run', '--restore', path.join(tmp, 'nope.ckpt'));
    expect(bad.code).toBe(1);
    expect(bad.err.trim()).toBe(`${path.join(tmp, 'nope.ckpt')}: cannot read checkpoint (no such file)`);
  }, 120_000);
});
