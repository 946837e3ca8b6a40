/**
 * `paper [--quick] [--out DIR] [--jobs N] [--update-readme] [--quiet] [--only A,B]`:
 * run every built-in scenario (or those named), N at a time in worker threads
 * (./paper-worker.ts), then write DIR/results.json (every ScenarioResult and
 * the claims), DIR/*.svg (./plots.ts) and DIR/report.md (./report.ts), and
 * with --update-readme the README's paper-report section.
 *
 * Sizes: --quick runs each scenario's `quick` loops and interval, otherwise
 * its own `measurement`. Results do not depend on the number of workers or
 * their order (each scenario is its own deterministic machine); only the
 * report's wall time does. Progress goes to stderr when it is a terminal.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../cli/worker.js';
import { EXIT_MACHINE, EXIT_OK, UsageError } from '../cli/errors.js';
import { CLAIMS, type Claim } from './claims.js';
import { renderFigures } from './plots.js';
import { README_BEGIN, README_END, hasReadmeMarkers, renderReadmeSection, renderReport, updateReadmeSection, type ClaimRow } from './report.js';
import { quickOverrides, type RunOverrides, type ScenarioResult } from './run-scenario.js';
import { builtinScenarioNames, loadScenario, type Scenario } from './scenario.js';
import { runOne, type WorkerReply, type WorkerRequest } from './paper-worker.js';
import { progressBar, type Progress } from './progress.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
export const DEFAULT_OUT = 'paper-out';
export const DEFAULT_JOBS = 2;

export interface PaperOptions {
  quick?: boolean;
  /** output directory (default paper-out) */
  out?: string;
  /** worker threads (default 2) */
  jobs?: number;
  updateReadme?: boolean;
  /** README to update (default the repository's) */
  readme?: string;
  quiet?: boolean;
  /** the scenarios to run (default every built-in one) */
  scenarios?: string[];
  /** sizes instead of --quick/full (tests run tiny loops) */
  sizes?: (s: Scenario) => RunOverrides;
  /** run in this thread instead of workers (tests) */
  inProcess?: boolean;
}

export interface PaperOutcome {
  results: Record<string, ScenarioResult>;
  failed: Record<string, string>;
  /** scenarios whose benchmark did not finish within the simulated-time cap */
  incomplete: string[];
  claims: ClaimRow[];
  files: string[];
  wallSeconds: number;
}

/** Every claim, evaluated where its scenarios ran. */
export function evaluateClaims(results: Record<string, ScenarioResult>, claims: readonly Claim[] = CLAIMS): ClaimRow[] {
  return claims.map((c) => {
    const row = { id: c.id, figure: c.figure, paper: c.paper };
    const missing = c.scenarios.filter((s) => !results[s]);
    if (missing.length) return { ...row, measured: `not run (${missing.join(', ')})`, holds: null };
    try {
      const o = c.evaluate(results);
      return { ...row, measured: o.measured, holds: o.holds };
    } catch (e) {
      return { ...row, measured: `error: ${(e as Error).message}`, holds: null };
    }
  });
}

/**
 * The whole command's progress on A's progress bar (./progress.ts): simulated
 * time done over the sum of the runs' simulated-time caps (estimated from the
 * sizes until a run reports its own; a run that finishes early counts as
 * its actual length).
 */
class PaperProgress {
  private done = new Map<string, number>();
  private total = new Map<string, number>();

  constructor(private readonly bar: Progress, estimates: Map<string, number>) {
    this.total = new Map(estimates);
  }

  update(name: string, doneNs: number, totalNs: number): void {
    this.done.set(name, doneNs);
    this.total.set(name, totalNs);
    let d = 0;
    let t = 0;
    for (const [n, x] of this.total) {
      t += x;
      d += this.done.get(n) ?? 0;
    }
    this.bar.update(d, t);
  }

  finish(name: string, simulatedNs: number | undefined): void {
    const ns = simulatedNs ?? this.total.get(name) ?? 0;
    this.update(name, ns, ns);
  }

  close(): void {
    this.bar.finish();
  }
}

/** A worker running ./paper-worker. */
function startWorker(): Worker {
  return startModuleWorker(import.meta.url, './paper-worker', { stdout: false, stderr: false });
}

/** Run the scenarios on `jobs` workers; resolves when all are done or failed. */
function runScenarios(reqs: WorkerRequest[], jobs: number, progress: PaperProgress, inProcess = false): Promise<WorkerReply[]> {
  const finished = (m: WorkerReply): void => progress.finish(m.name, m.type === 'result' ? m.result.simulated_ns : undefined);
  if (inProcess) {
    return Promise.resolve(reqs.map((r) => {
      const reply = runOne(r, (d, t) => progress.update(r.name, d, t));
      finished(reply);
      return reply;
    }));
  }
  return new Promise((resolve) => {
    const queue = [...reqs];
    const replies: WorkerReply[] = [];
    let live = 0;
    const start = (): void => {
      const req = queue.shift();
      if (!req) return;
      live++;
      const w = startWorker();
      let current = req;
      let settled = false;
      const next = (): void => {
        const r = queue.shift();
        if (!r) {
          settled = true;
          void w.terminate();
          live--;
          if (live === 0) resolve(replies);
          return;
        }
        current = r;
        w.postMessage(r);
      };
      w.on('message', (m: WorkerReply) => {
        if (m.type === 'progress') {
          progress.update(m.name, m.doneNs, m.totalNs);
          return;
        }
        replies.push(m);
        finished(m);
        next();
      });
      w.on('error', (e) => {
        if (settled) return;
        settled = true;
        // the worker died: its scenario failed, a fresh worker takes the rest
        const m: WorkerReply = { type: 'error', name: current.name, message: `worker failed: ${e.message}` };
        replies.push(m);
        finished(m);
        live--;
        if (queue.length) start();
        else if (live === 0) resolve(replies);
      });
      w.postMessage(current);
    };
    for (let i = 0; i < Math.min(jobs, reqs.length); i++) start();
    if (!reqs.length) resolve(replies);
  });
}

/** A run's simulated-time cap in ns as run-scenario.ts derives it (2 × loops × interval + 50 ms): its rough cost. */
const cost = (s: Scenario, o: RunOverrides): number => (2 * (o.loops ?? s.measurement.loops) * (o.intervalUs ?? s.measurement.interval_us) + 50_000) * 1000;

export async function runPaper(o: PaperOptions = {}): Promise<PaperOutcome> {
  const t0 = performance.now(); // CLI wall-time reporting only: never reaches the model
  const jobs = o.jobs ?? DEFAULT_JOBS;
  const out = o.out ?? DEFAULT_OUT;
  const names = o.scenarios ?? builtinScenarioNames();
  const readme = o.readme ?? path.join(ROOT, 'README.md');
  const noMarkers = `${readme} has no ${README_BEGIN} / ${README_END} markers; add them where the section should go`;
  if (o.updateReadme && !hasReadmeMarkers(readme)) throw new UsageError(noMarkers); // before the long run
  const sizes = o.sizes ?? ((s: Scenario) => (o.quick ? quickOverrides(s) : {}));
  const scenarios = names.map((n) => loadScenario(n));
  const reqs = scenarios
    .map((s) => ({ name: s.name, overrides: sizes(s), c: 0 }))
    .map((r, i) => ({ ...r, c: cost(scenarios[i], r.overrides) }))
    .sort((a, b) => b.c - a.c || (a.name < b.name ? -1 : 1))
    .map(({ name, overrides }) => ({ name, overrides }));
  const estimates = new Map(scenarios.map((s) => [s.name, cost(s, sizes(s))]));
  const progress = new PaperProgress(progressBar({ quiet: o.quiet }), estimates);
  let replies: WorkerReply[];
  try {
    replies = await runScenarios(reqs, jobs, progress, o.inProcess);
  } finally {
    progress.close();
  }
  const results: Record<string, ScenarioResult> = {};
  const failed: Record<string, string> = {};
  const incomplete: string[] = [];
  for (const r of [...replies].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (r.type === 'result') {
      results[r.name] = r.result;
      if (!r.complete) incomplete.push(r.name);
    } else if (r.type === 'error') failed[r.name] = r.message;
  }
  const claims = evaluateClaims(results);
  fs.mkdirSync(out, { recursive: true });
  const files: string[] = [];
  const write = (name: string, text: string): void => {
    fs.writeFileSync(path.join(out, name), text);
    files.push(name);
  };
  write('results.json', `${JSON.stringify({ ...results, claims }, null, 2)}\n`);
  const figures = renderFigures(results);
  for (const f of figures) write(f.file, f.svg);
  const wallSeconds = (performance.now() - t0) / 1000;
  const input = { results, claims, figures: figures.map((f) => ({ file: f.file, title: f.spec.title })), quick: !!o.quick, wallSeconds, jobs: o.inProcess ? 1 : jobs, failed };
  write('report.md', renderReport(input));
  if (o.updateReadme && !updateReadmeSection(readme, renderReadmeSection(input, path.relative(path.dirname(readme), path.resolve(out)) || '.'))) {
    throw new UsageError(noMarkers);
  }
  return { results, failed, incomplete, claims, files, wallSeconds };
}

export interface PaperCliArgs {
  quick?: boolean;
  out?: string;
  jobs?: number;
  updateReadme?: boolean;
  quiet?: boolean;
  /** comma-separated scenario names (default: every built-in one) */
  only?: string;
}

/** The CLI command: a summary on stdout; exit 3 when a scenario failed. */
export async function paperCommand(a: PaperCliArgs): Promise<number> {
  const jobs = a.jobs ?? DEFAULT_JOBS;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new UsageError(`--jobs ${a.jobs}: expected an integer 1-64`);
  const out = a.out ?? DEFAULT_OUT;
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) throw new UsageError(`--out ${out}: exists and is not a directory`);
  const only = a.only?.split(',').map((x) => x.trim()).filter(Boolean);
  if (only) only.forEach((n) => loadScenario(n)); // unknown names: one-line error with a suggestion
  const r = await runPaper({ quick: a.quick, out, jobs, updateReadme: a.updateReadme, quiet: a.quiet, scenarios: only });
  const holds = r.claims.filter((c) => c.holds === true).length;
  const n = Object.keys(r.results).length;
  console.log(`paper: ${n} scenarios${a.quick ? ' (quick sizes)' : ''} in ${r.wallSeconds.toFixed(1)} s with ${jobs} worker${jobs === 1 ? '' : 's'}; claims holding: ${holds} of ${r.claims.length}`);
  for (const [name, msg] of Object.entries(r.failed)) console.log(`failed: ${name}: ${msg}`);
  if (r.incomplete.length) console.log(`not finished within the simulated-time cap: ${r.incomplete.join(', ')}`);
  console.log(`wrote ${r.files.map((f) => path.join(out, f)).join(', ')}`);
  if (a.updateReadme) console.log('updated the README section between the paper-report markers');
  return Object.keys(r.failed).length ? EXIT_MACHINE : EXIT_OK;
}
