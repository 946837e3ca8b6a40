/**
 * A worker thread of `paper` (./paper.ts): runs one scenario at a time as
 * the main thread asks and posts back its ScenarioResult (plain JSON), its
 * progress (simulated time done of the cap, every whole percent), or a
 * one-line error.
 */
import { parentPort } from 'node:worker_threads';
import { UsageError } from '../cli/errors.js';
import { runScenario, type RunOverrides, type ScenarioResult } from './run-scenario.js';
import { loadScenario } from './scenario.js';

export interface WorkerRequest {
  name: string;
  overrides: RunOverrides;
}

export type WorkerReply =
  | { type: 'progress'; name: string; doneNs: number; totalNs: number }
  | { type: 'result'; name: string; result: ScenarioResult; complete: boolean; stopped: string }
  | { type: 'error'; name: string; message: string };

/** Run one scenario; the shared body of the worker and of paper's in-process path. */
export function runOne(req: WorkerRequest, progress?: (doneNs: number, totalNs: number) => void): WorkerReply {
  try {
    let last = -1;
    const run = runScenario(loadScenario(req.name), req.overrides, {
      onProgress: (done, total) => {
        // every whole percent, not every simulated millisecond
        const pct = Math.floor((100 * done) / Math.max(1, total));
        if (pct !== last) {
          last = pct;
          progress?.(done, total);
        }
      },
    });
    return { type: 'result', name: req.name, result: run.result, complete: run.complete, stopped: run.stopped };
  } catch (e) {
    const message = e instanceof UsageError ? e.message : `internal error: ${(e as Error)?.message ?? String(e)}`;
    return { type: 'error', name: req.name, message };
  }
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (req: WorkerRequest) => {
    port.postMessage(runOne(req, (doneNs, totalNs) => port.postMessage({ type: 'progress', name: req.name, doneNs, totalNs } satisfies WorkerReply)));
  });
}
