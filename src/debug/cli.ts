/**
 * `vmxsim debug SCENARIO|FILE [--script FILE]`: build the system exactly as
 * `run` does (runScenario, with the session attached through
 * RunOptions.onSystem before anything runs; or a bare program on the
 * machine), then hand it to a Session. Commands come from --script, from
 * stdin when it is not a terminal (tests, CI), or from the interactive REPL
 * (repl.ts: readline with history and completion). Script commands are
 * echoed after the prompt, so the output reads like a transcript. At the
 * end of the input the run goes on to its end without stopping.
 */
import * as fs from 'node:fs';
import { UsageError } from '../cli/errors.js';
import * as path from 'node:path';
import { lookupSymbol } from '../asm/image.js';
import { loadProgram, parseGuestOption } from '../cli/program.js';
import { isScenarioArg, loadScenario, type Scenario } from '../experiments/scenario.js';
import { runScenario, type RunOverrides, type ScenarioRun } from '../experiments/run-scenario.js';
import { loadImage } from '../machine/loader.js';
import { Machine } from '../machine/machine.js';
import { QuitSession, Session, type LineSource } from './debugger.js';
import { Target } from './target.js';

export interface DebugOptions {
  script?: string;
  loops?: number;
  intervalUs?: number;
  /** bare programs: simulated-time limit in ms (default 1000) */
  timeMs?: number;
  /** bare programs: guest images FILE@SYMBOL (as `run --guest`) */
  guests?: string[];
  /** false: the plain interpreter (same results) */
  compile?: boolean;
}

/** Script lines as a LineSource that echoes each command after the prompt. */
export function scriptSource(text: string, out: (l: string) => void): LineSource {
  const lines = text.split(/\r?\n/);
  let i = 0;
  return {
    next(prompt) {
      while (i < lines.length) {
        const l = lines[i++];
        if (l.trim() === '') continue;
        out(`${prompt}${l}`);
        return l;
      }
      return null;
    },
  };
}

/**
 * Run a debugging session to its end (or `quit`); returns the exit code.
 * `interrupted` is polled every simulated millisecond (Ctrl-C in the REPL).
 */
/** A scenario run with a debugging session attached before anything runs (runScenario's onSystem); the session ends after the run. */
export function debugScenario(scenario: Scenario, overrides: RunOverrides, src: LineSource, out: (l: string) => void, opts: { compile?: boolean; interrupted?: () => boolean; onTarget?: (t: Target) => void } = {}): ScenarioRun {
  let session: Session | null = null;
  const run = runScenario(scenario, overrides, {
    compile: opts.compile,
    onSystem: (sys) => {
      const t = new Target(sys.machine, sys.kernel, sys, `scenario ${scenario.name}`);
      opts.onTarget?.(t);
      session = new Session(t, src, out);
      session.start();
    },
    onProgress: () => {
      if (opts.interrupted?.()) session?.interrupt();
    },
  });
  const m = run.sys.machine;
  session!.end([`Run ended: ${run.stopped}; trace ${m.trace.count} events, hash ${m.trace.hash}`, ...run.lines]);
  return run;
}

/**
 * Run a debugging session to its end (or `quit`); returns the exit code.
 * `interrupted` is polled every simulated millisecond (Ctrl-C in the REPL).
 */
export function runDebugSession(target: string, o: DebugOptions, src: LineSource, out: (l: string) => void, interrupted: () => boolean = () => false, onTarget?: (t: Target) => void): number {
  try {
    if (isScenarioArg(target)) {
      debugScenario(loadScenario(target), { loops: o.loops, intervalUs: o.intervalUs }, src, out, { compile: o.compile, interrupted, onTarget });
      return 0;
    }
    if (o.loops !== undefined || o.intervalUs !== undefined) throw new UsageError(`--loops and --interval apply to scenarios only (${target} is debugged as a program)`);
    const image = loadProgram(target);
    const machine = new Machine({ ...(o.compile !== undefined && { compile: o.compile }) });
    loadImage(machine.memory, image, target);
    const t = new Target(machine, image, null, `program ${target}`);
    for (const g of (o.guests ?? []).map(parseGuestOption)) {
      const at = lookupSymbol(image, g.symbol);
      if (!at) throw new UsageError(`--guest ${g.path}@${g.symbol}: ${target} has no symbol ${g.symbol}`);
      const gi = loadProgram(g.path);
      loadImage(machine.memory, gi, g.path, at.value, machine.memory.size - at.value);
      t.addGuest(path.basename(g.path, path.extname(g.path)) === 'main' ? path.basename(path.dirname(g.path)) : path.basename(g.path, path.extname(g.path)), gi, at.value);
    }
    machine.start(image.entry);
    onTarget?.(t);
    const s = new Session(t, src, out);
    s.pollInterrupt = interrupted;
    s.start();
    // one run to the limit, as `run FILE` does (the same slices, so the same trace)
    machine.run({ untilCycles: ((o.timeMs ?? 1000) / 1e3) * machine.config.model.hz });
    const why = machine.exitCode !== null ? `exit code ${machine.exitCode}` : `stopped at ${t.time(machine.now)}`;
    s.end([`Run ended: ${why}; trace ${machine.trace.count} events, hash ${machine.trace.hash}`]);
    return 0;
  } catch (e) {
    if (e instanceof QuitSession) return e.code;
    throw e;
  }
}

/** The `debug` command: script, piped stdin, or the interactive REPL. */
export function debugCommand(target: string, o: DebugOptions): number | Promise<number> {
  const out = (l: string): void => void process.stdout.write(`${l}\n`);
  if (o.script !== undefined) {
    if (!fs.existsSync(o.script)) throw new UsageError(`--script ${o.script}: no such file`);
    return runDebugSession(target, o, scriptSource(fs.readFileSync(o.script, 'utf8'), out), out);
  }
  if (!process.stdin.isTTY) return runDebugSession(target, o, scriptSource(fs.readFileSync(0, 'utf8'), out), out);
  return import('./repl.js').then(({ startRepl }) => startRepl(target, o));
}
