/**
 * The machine's debugger hooks (requestStop / onStop / onStep / stopAt)
 * leave the run unchanged: stopping at trace events mid-slice, stepping
 * instruction by instruction for stretches, and stopping at times all give
 * the same trace (hash and count) and instruction counts as an
 * uninterrupted run. The workload is the host kernel with two VMs on two
 * CPUs (shared run queues, IPIs, hrtimers), which is sensitive to slice
 * boundaries: dropping the rest of a cut slice changes its trace (checked).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/experiments/run-scenario.js';
import { loadScenario } from '../../src/experiments/scenario.js';
import type { Machine } from '../../src/machine/machine.js';

const FIXTURE = path.resolve(__dirname, 'fixtures/rtos-cosched.json');
const scenario = loadScenario(FIXTURE);

const summary = (m: Machine) => ({ hash: m.trace.hash, count: m.trace.count, ins: m.cpus.map((c) => c.instructions), exit: m.exitCode });

/** A run whose machine stops every 7th trace event; `hooks` decides what each stop does. */
function stopped(compile: boolean, onStop: (m: Machine, n: number) => void) {
  let stops = 0;
  const run = runScenario(scenario, { loops: 2 }, {
    compile,
    onSystem: (sys) => {
      const m = sys.machine;
      let events = 0;
      m.trace.on(() => {
        if (++events % 7 === 0) m.requestStop();
      });
      m.onStop = () => onStop(m, ++stops);
    },
  });
  return { m: run.sys.machine, stops };
}

const plainRuns = new Map<boolean, Machine>();
const plain = (compile: boolean): Machine => {
  if (!plainRuns.has(compile)) plainRuns.set(compile, runScenario(scenario, { loops: 2 }, { compile }).sys.machine);
  return plainRuns.get(compile)!;
};

describe('machine debugger hooks', () => {
  for (const compile of [true, false]) {
    it(`stops at events, stepped stretches and time stops change nothing (compile ${compile})`, () => {
      let steps = 0;
      let stepStops = 0;
      const { m, stops } = stopped(compile, (mm, n) => {
        // a stretch of single steps (stopping every 13th), then full speed again; now and then a time stop ahead
        if (n % 100 === 0) mm.onStep = () => (++steps % 13 === 0 ? (stepStops++, true) : false);
        else if (n % 100 === 4) mm.onStep = null;
        if (n % 5 === 0) mm.stopAt = mm.now + 5000;
      });
      expect(stops).toBeGreaterThan(500);
      expect(stepStops).toBeGreaterThan(5);
      expect(summary(m)).toEqual(summary(plain(compile)));
    }, 60_000);
  }

  it('the check can fail: dropping the rest of a cut slice changes the run', () => {
    const { m } = stopped(true, (mm) => {
      (mm as unknown as { paused: unknown }).paused = null;
    });
    expect(m.trace.hash).not.toBe(plain(true).trace.hash);
  }, 60_000);
});
