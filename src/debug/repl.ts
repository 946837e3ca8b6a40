/**
 * The interactive debugger: node:readline (history, tab completion of
 * commands, `info` subcommands and `space:symbol` names) on the main thread,
 * the machine and its session in a worker thread (worker.ts). The session's
 * command loop is synchronous — it runs inside the machine's run loop at a
 * stop — so the worker waits for each line on a SharedArrayBuffer
 * (Atomics.wait) while readline stays responsive here. Ctrl-C while the
 * machine runs stops it at the next simulated millisecond; at the prompt it
 * clears the line; Ctrl-D ends the input (the run goes on to its end).
 */
import * as readline from 'node:readline';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../cli/worker.js';
import { completions } from './commands.js';
import type { DebugOptions } from './cli.js';

/** Shared words: [0] 0 idle / 1 line ready / 2 end of input, [1] line length, [2] interrupt request. */
export const CTL_WORDS = 4;
export const LINE_BYTES = 1 << 16;

export function startRepl(target: string, o: DebugOptions): Promise<number> {
  const shared = new SharedArrayBuffer(CTL_WORDS * 4 + LINE_BYTES);
  const ctl = new Int32Array(shared, 0, CTL_WORDS);
  const bytes = new Uint8Array(shared, CTL_WORDS * 4);
  const worker = startWorker({ target, options: o, shared });
  let symbols: string[] = [];
  let waiting = false;
  const words = (): ReturnType<typeof completions> => completions(symbols);
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    historySize: 1000,
    completer: (line: string): [string[], string] => {
      const w = words();
      const parts = line.split(/\s+/);
      const last = parts[parts.length - 1];
      const pool = parts.length <= 1 ? w.commands : /^(i|info)$/.test(parts[0]) && parts.length === 2 ? w.info : w.words.concat(w.symbols, w.symbols.map((s) => s.slice(s.indexOf(':') + 1)));
      const hits = pool.filter((c) => c.startsWith(last));
      return [hits.length ? [...new Set(hits)].slice(0, 200) : [], last];
    },
  });
  const send = (state: 1 | 2, line = ''): void => {
    const enc = new TextEncoder().encode(line).slice(0, LINE_BYTES);
    bytes.set(enc);
    Atomics.store(ctl, 1, enc.length);
    Atomics.store(ctl, 0, state);
    Atomics.notify(ctl, 0);
  };
  worker.on('message', (m: { type: string; text?: string; prompt?: string; symbols?: string[] }) => {
    if (m.type === 'out') process.stdout.write(`${m.text}\n`);
    else if (m.type === 'symbols') symbols = m.symbols ?? [];
    else if (m.type === 'prompt') {
      waiting = true;
      rl.setPrompt(m.prompt ?? '(vmxsim) ');
      rl.prompt();
    }
  });
  rl.on('line', (line) => {
    if (!waiting) return;
    waiting = false;
    send(1, line);
  });
  rl.on('SIGINT', () => {
    if (waiting) {
      process.stdout.write('^C\n');
      rl.prompt();
    } else Atomics.store(ctl, 2, 1);
  });
  rl.on('close', () => send(2));
  return new Promise((resolve, reject) => {
    worker.on('error', reject);
    worker.on('message', (m: { type: string; code?: number; error?: string }) => {
      if (m.type === 'error') process.stderr.write(`error: ${m.error}\n`);
      if (m.type === 'done' || m.type === 'error') {
        rl.close();
        resolve(m.code ?? 1);
      }
    });
  });
}

/** The worker (./worker). */
function startWorker(workerData: unknown): Worker {
  return startModuleWorker(import.meta.url, './worker', { workerData });
}
