/**
 * The interactive debugger's worker thread (see repl.ts): runs the session;
 * each command line is awaited synchronously on the shared buffer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runDebugSession, type DebugOptions } from './cli.js';
import type { LineSource } from './debugger.js';
import { CTL_WORDS } from './repl.js';

const { target, options, shared } = workerData as { target: string; options: DebugOptions; shared: SharedArrayBuffer };
const ctl = new Int32Array(shared, 0, CTL_WORDS);
const bytes = new Uint8Array(shared, CTL_WORDS * 4);
const port = parentPort!;

const src: LineSource = {
  next(prompt) {
    port.postMessage({ type: 'prompt', prompt });
    Atomics.wait(ctl, 0, 0);
    const state = Atomics.exchange(ctl, 0, 0);
    if (state === 2) {
      Atomics.store(ctl, 0, 2); // stays at end of input
      return null;
    }
    return new TextDecoder().decode(bytes.slice(0, Atomics.load(ctl, 1)));
  },
};

try {
  const code = runDebugSession(target, options, src, (text) => port.postMessage({ type: 'out', text }), () => Atomics.exchange(ctl, 2, 0) === 1, (t) => {
    port.postMessage({ type: 'symbols', symbols: t.symbolNames() });
  });
  port.postMessage({ type: 'done', code });
} catch (e) {
  port.postMessage({ type: 'error', error: e instanceof Error ? e.message : String(e) });
}
