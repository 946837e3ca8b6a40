/**
 * CLI commands of the experiments: `list` (the built-in scenarios) and
 * `run SCENARIO|FILE.json [--loops N] [--interval US] [--json FILE] [--histogram N]`.
 */
import * as fs from 'node:fs';
import { UsageError, EXIT_MACHINE, EXIT_OK } from '../cli/errors.js';
import { builtinScenarioNames, loadScenario, ScenarioError, validateScenario } from './scenario.js';
import { applyOverrides, formatHistogram, runScenario } from './run-scenario.js';

export function listCommand(): number {
  const names = builtinScenarioNames();
  const w = Math.max(...names.map((n) => n.length));
  for (const n of names) console.log(`${n.padEnd(w)}  ${loadScenario(n).description}`);
  return EXIT_OK;
}

export interface ScenarioCliOptions {
  loops?: number;
  interval?: number;
  json?: string;
  histogram?: number;
}

export function scenarioCommand(arg: string, o: ScenarioCliOptions): number {
  const check = (name: string, v: number | undefined, lo: number, hi: number): void => {
    if (v !== undefined && (!Number.isInteger(v) || v < lo || v > hi)) throw new UsageError(`--${name} ${v}: expected an integer ${lo}-${hi}`);
  };
  check('loops', o.loops, 1, 1_000_000);
  check('interval', o.interval, 1, 1_000_000);
  check('histogram', o.histogram, 1, 1000);
  const scenario = loadScenario(arg);
  const overrides = { loops: o.loops, intervalUs: o.interval, histogram: o.histogram };
  try {
    validateScenario(applyOverrides(scenario, overrides), arg);
  } catch (e) {
    if (e instanceof ScenarioError) throw new UsageError(e.message);
    throw e;
  }
  const run = runScenario(scenario, overrides);
  console.log(`scenario ${scenario.name}: ${scenario.description}`);
  console.log(`stopped: ${run.stopped}, trace hash ${run.sys.machine.trace.hash}`);
  console.log('');
  for (const l of run.lines) console.log(l);
  const buckets = o.histogram ?? scenario.measurement.histogram;
  if (buckets > 0) console.log(formatHistogram(run.hist.map((h) => h.stat), buckets));
  console.log(`\nFig. 2 stage breakdown of the measured vCPU's timer interrupts (ground truth: raise to first guest ISR instruction):`);
  console.log(run.stagesTable);
  console.log('\nVM exits:');
  console.log(run.exitsTable);
  if (o.json) fs.writeFileSync(o.json, `${JSON.stringify(run.result, null, 2)}\n`);
  return run.stopped.startsWith('done') ? EXIT_OK : EXIT_MACHINE;
}
