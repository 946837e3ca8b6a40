/**
 * Checkpoints of a scenario run: `run SCENARIO --checkpoint-at T
 * --checkpoint FILE` saves the run at simulated time T (at the run loop's
 * next step boundary, so the checkpointed and the uninterrupted run cut
 * their slices at the same places) and carries on to the end; `run
 * --restore FILE` continues it and prints exactly what the uninterrupted
 * run prints (same trace hash, latencies, stage breakdown, exit counts).
 *
 * The file holds the effective scenario and overrides (the system is
 * rebuilt from them: images, boot parameters, the analysis listeners), the
 * machine (src/machine/checkpoint.ts) and the analysis state that the run's
 * trace listeners kept so far (stage records, exit statistics, exits per VM
 * — plain data, saved field by field).
 */
import type { HostSystem } from './system.js';
import type { RunOverrides } from './run-scenario.js';
import type { Scenario } from './scenario.js';
import { CheckpointError, readCheckpointFile, restoreInto, saveMachine, writeCheckpointFile, type MachineState } from '../machine/checkpoint.js';
import { restoreInPlace, saveValue } from '../machine/snapshot.js';

/** What runScenario hands over at the checkpoint and takes back on restore. */
export interface ScenarioState {
  /** the run loop's simulated time (cycles) at the checkpoint */
  at: number;
  machine: MachineState;
  /** the listeners' state, by name (runScenario's analysis objects) */
  analysis: Record<string, unknown>;
}

export interface ScenarioCheckpoint {
  kind: 'scenario';
  scenario: Scenario;
  overrides: RunOverrides;
  state: ScenarioState;
}

/** Save a run at loop time `at`; `analysis` are the objects the run's listeners keep their state in. */
export function captureScenario(sys: HostSystem, analysis: Record<string, object>, at: number): ScenarioState {
  return {
    at,
    machine: saveMachine(sys.machine),
    analysis: Object.fromEntries(Object.entries(analysis).map(([k, v]) => [k, saveValue(v)])),
  };
}

/** Put a run (freshly built from the same scenario) into a saved state; returns the loop time to go on from. */
export function restoreScenario(sys: HostSystem, analysis: Record<string, object>, s: ScenarioState): number {
  restoreInto(sys.machine, s.machine);
  for (const [k, v] of Object.entries(analysis)) {
    if (!(k in s.analysis)) throw new CheckpointError(`checkpoint lacks the run's ${k} state (made by another version?)`);
    restoreInPlace(v, s.analysis[k]);
  }
  return s.at;
}

export function writeScenarioCheckpoint(file: string, scenario: Scenario, overrides: RunOverrides, state: ScenarioState): void {
  const ck: ScenarioCheckpoint = { kind: 'scenario', scenario, overrides, state };
  writeCheckpointFile(file, ck, { kind: 'scenario', scenario: scenario.name, simulatedCycles: state.at });
}

export function readScenarioCheckpoint(file: string): ScenarioCheckpoint {
  const { payload } = readCheckpointFile(file);
  const p = payload as Partial<ScenarioCheckpoint>;
  if (p.kind !== 'scenario' || !p.scenario || !p.state) throw new CheckpointError(`${file}: not a scenario checkpoint (it holds a ${(p as { kind?: string }).kind ?? 'unknown'} checkpoint)`);
  return p as ScenarioCheckpoint;
}
