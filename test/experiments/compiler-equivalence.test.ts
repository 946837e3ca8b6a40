/**
 * The block compiler and the fast-forward (spin loops on a fixed point,
 * WORK's quanta in closed form: src/cpu/compiler/block.ts, Cpu.skipWorkSlices,
 * Machine.run) change speed, never results: every built-in scenario, run
 * short, gives the same trace hash, VM exits, instruction count, latency
 * and per-CPU cycles with the plain interpreter (compile: false, which also
 * turns the fast-forward off) and with both on.
 */
import { describe, expect, it } from 'vitest';
import { quickOverrides, runScenario, type RunOverrides } from '../../src/experiments/run-scenario.js';
import { builtinScenarioNames, loadScenario } from '../../src/experiments/scenario.js';

/** Few loops: enough to boot, spin, take timer interrupts and exits; the interpreter runs it in about a second. */
const LOOPS = 5;

function outcome(name: string, compile: boolean) {
  const s = loadScenario(name);
  const o: RunOverrides = { ...quickOverrides(s), loops: LOOPS };
  const run = runScenario(s, o, { compile });
  const m = run.sys.machine;
  return {
    trace: m.trace.hash,
    stopped: run.stopped,
    instructions: run.result.instructions,
    simulated: run.result.simulated_ns,
    exits: run.result.exits,
    latency: run.result.latency,
    cpus: m.cpus.map((c) => ({ cycles: c.cycles, instructions: c.instructions, eip: c.eip, regs: [...c.regs] })),
  };
}

describe('compiled + fast-forward vs plain interpreter, every built-in scenario', () => {
  it.each(builtinScenarioNames())('%s', (name) => {
    const interpreted = outcome(name, false);
    const compiled = outcome(name, true);
    expect(compiled).toEqual(interpreted);
    expect(interpreted.instructions).toBeGreaterThan(0);
  }, 60_000);
});
