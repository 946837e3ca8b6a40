/**
 * One benchmark process for a scenario: run a built-in scenario at a fixed
 * size (loops × interval) through runScenario, as `run SCENARIO` does, and
 * print simulated seconds per wall second as JSON: over the whole run
 * (boot, assembling the images, compiling blocks included) and in steady
 * state (from the first simulated 100 ms to the end, timed through
 * onProgress), plus the process's peak RSS. Wall-clock time is read here,
 * in the harness, never in the model.
 *
 *   tsx bench/scenario.ts SCENARIO LOOPS INTERVAL_US
 */
import { fileURLToPath } from 'node:url';
import { runScenario } from '../src/experiments/run-scenario.js';
import { loadScenario } from '../src/experiments/scenario.js';

export interface ScenarioBench {
  name: string;
  simulatedS: number;
  wallS: number;
  /** simulated seconds per wall second, whole run */
  rate: number;
  /** the same after the first simulated 100 ms (boot and warm-up excluded) */
  steadyRate: number;
  instructions: number;
  rssKiB: number;
  trace: string;
}

const MARK_NS = 100e6;

export function benchScenario(name: string, loops: number, intervalUs: number): ScenarioBench {
  let markWall = NaN, markNs = NaN;
  const t0 = performance.now();
  const run = runScenario(loadScenario(name), { loops, intervalUs }, {
    onProgress: (doneNs) => {
      if (Number.isNaN(markWall) && doneNs >= MARK_NS) {
        markWall = performance.now();
        markNs = doneNs;
      }
    },
  });
  const t1 = performance.now();
  const simulatedS = run.result.simulated_ns / 1e9;
  const wallS = (t1 - t0) / 1e3;
  return {
    name,
    simulatedS,
    wallS,
    rate: simulatedS / wallS,
    steadyRate: (run.result.simulated_ns - markNs) / 1e9 / ((t1 - markWall) / 1e3),
    instructions: run.result.instructions,
    rssKiB: process.resourceUsage().maxRSS,
    trace: run.sys.machine.trace.hash,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [name, loops, interval] = process.argv.slice(2);
  console.log(JSON.stringify(benchScenario(name, Number(loops), Number(interval))));
}
