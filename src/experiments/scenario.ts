/**
 * Experiment scenarios: a small JSON description of one of the paper's
 * setups (§5), validated by hand. Every error is one line naming the field
 * path and what is allowed, e.g.
 *
 *   scenario fig10.json: vms[0].vcpu.prio: 120 is not 1-99
 *
 * Unknown fields are rejected, with a suggestion when one is close to a
 * known name. The format (fields with `?` are optional):
 *
 * ```
 * { "name": "fig8-rtos-irt-base", "description": "one line",
 *   "seed": 1,
 *   "machine": { "cpus": 2, "mhz"?: 2670 },
 *   "host": { "preempt": "rt"|"none", "cosched": bool, "acpi_processor": bool, "tick_hz": 0-100000,
 *             "irq_affinity"?: { "<irq 0-23>": [cpus] }, "hrtimer_prio"?: 1-99 (a ktimersoftd thread, FIFO),
 *             "loads"?: [{ "name"?, "policy", "prio", "affinity": [cpus] }] (host CPU hogs) },
 *   "vms": [{ "name", "role": "rtos"|"gpos", "memory_mib",
 *             "vcpu": { "policy": "fifo"|"rr"|"other", "prio": 0 (other) or 1-99, "affinity": [cpus] },
 *             "io_thread"?: { same as vcpu },
 *             "workload": rtos: { "irt"?: { "interval_us"?, "loops"? }, "idle": "spin"|"hlt", "load_tasks": 0-8, "cosched": bool, "tick_hz"? }
 *                         gpos: { "cyclictest"?: { "interval_us"?, "loops"?, "prio"? } | null, "cpu_hogs": n, "bonnie": bool, "benchmarks": [names] } }],
 *   "measurement": { "vm"?: name (default: the first RTOS, else the first VM), "loops", "interval_us", "histogram": µs buckets } }
 * ```
 *
 * The measured VM's benchmark (RTOS IRT or GPOS cyclictest) takes its loops
 * and interval from `measurement` unless its workload gives them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../cli/errors.js';

export type Policy = 'fifo' | 'rr' | 'other';

export interface ThreadSpec {
  policy: Policy;
  prio: number;
  affinity: number[];
}

export interface HostLoad extends ThreadSpec {
  name?: string;
}

export interface RtosWorkload {
  irt?: { interval_us?: number; loops?: number };
  idle: 'spin' | 'hlt';
  load_tasks: number;
  cosched: boolean;
  tick_hz?: number;
}

export interface GposWorkload {
  cyclictest?: { interval_us?: number; loops?: number; prio?: number } | null;
  cpu_hogs: number;
  bonnie: boolean;
  benchmarks: string[];
}

export interface VmScenario {
  name: string;
  role: 'rtos' | 'gpos';
  memory_mib: number;
  vcpu: ThreadSpec;
  io_thread?: ThreadSpec;
  workload: RtosWorkload | GposWorkload;
}

export interface Scenario {
  name: string;
  description: string;
  seed: number;
  machine: { cpus: number; mhz?: number };
  host: {
    preempt: 'rt' | 'none';
    cosched: boolean;
    acpi_processor: boolean;
    tick_hz: number;
    irq_affinity?: Record<string, number[]>;
    hrtimer_prio?: number;
    loads?: HostLoad[];
  };
  vms: VmScenario[];
  measurement: { vm?: string; loops: number; interval_us: number; histogram: number };
}

export const BENCHMARK_NAMES = ['gzip', 'gcc', 'parser', 'vortex', 'bzip2', 'twolf'];

export class ScenarioError extends UsageError {}

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SCENARIO_DIR = path.join(HERE, 'scenarios');

/** Edit distance, for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)] as number[]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length][b.length];
}

/** The closest of `names` to `s`, if close enough to be a typo. */
export function suggest(s: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const dist = distance(s.toLowerCase(), n.toLowerCase());
    if (dist < bestD) { bestD = dist; best = n; }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

type Obj = Record<string, unknown>;

class Checker {
  constructor(readonly source: string) {}

  fail(at: string, what: string): never {
    throw new ScenarioError(`scenario ${this.source}: ${at ? `${at}: ` : ''}${what}`);
  }

  show(v: unknown): string {
    return JSON.stringify(v) ?? String(v);
  }

  obj(v: unknown, at: string, required: readonly string[], optional: readonly string[] = []): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(at, `${this.show(v)} is not an object`);
    const o = v as Obj;
    const known = [...required, ...optional];
    for (const k of Object.keys(o)) {
      if (!known.includes(k)) {
        const s = suggest(k, known);
        this.fail(at ? `${at}.${k}` : k, `unknown field${s ? ` (did you mean "${s}"?)` : ''}; allowed: ${known.join(', ')}`);
      }
    }
    for (const k of required) if (!(k in o)) this.fail(at ? `${at}.${k}` : k, 'missing');
    return o;
  }

  int(v: unknown, at: string, lo: number, hi: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) this.fail(at, `${this.show(v)} is not ${lo}-${hi}`);
    return v as number;
  }

  bool(v: unknown, at: string): boolean {
    if (typeof v !== 'boolean') this.fail(at, `${this.show(v)} is not true or false`);
    return v as boolean;
  }

  str(v: unknown, at: string): string {
    if (typeof v !== 'string' || !v) this.fail(at, `${this.show(v)} is not a non-empty string`);
    return v as string;
  }

  oneOf<T extends string>(v: unknown, at: string, allowed: readonly T[]): T {
    if (typeof v !== 'string' || !allowed.includes(v as T)) {
      const s = typeof v === 'string' ? suggest(v, allowed) : undefined;
      this.fail(at, `${this.show(v)} is not one of ${allowed.map((a) => `"${a}"`).join(', ')}${s ? ` (did you mean "${s}"?)` : ''}`);
    }
    return v as T;
  }

  cpus(v: unknown, at: string, ncpus: number): number[] {
    if (!Array.isArray(v) || v.length === 0) this.fail(at, `${this.show(v)} is not a non-empty list of CPUs`);
    const arr = v as unknown[];
    arr.forEach((c, i) => this.int(c, `${at}[${i}]`, 0, ncpus - 1));
    return arr as number[];
  }

  thread(v: unknown, at: string, ncpus: number, optional: readonly string[] = []): ThreadSpec {
    const o = this.obj(v, at, ['policy', 'prio', 'affinity'], optional);
    const policy = this.oneOf(o.policy, `${at}.policy`, ['fifo', 'rr', 'other'] as const);
    if (policy === 'other') this.int(o.prio, `${at}.prio`, 0, 0);
    else this.int(o.prio, `${at}.prio`, 1, 99);
    this.cpus(o.affinity, `${at}.affinity`, ncpus);
    return o as unknown as ThreadSpec;
  }
}

/** Validate a parsed scenario; `source` names it in errors (file name or scenario name). */
export function validateScenario(v: unknown, source: string): Scenario {
  const c = new Checker(source);
  const top = c.obj(v, '', ['name', 'description', 'machine', 'host', 'vms', 'measurement'], ['seed', '$comment']);
  c.str(top.name, 'name');
  c.str(top.description, 'description');
  if (top.seed !== undefined) c.int(top.seed, 'seed', 0, 0xffffffff);
  const m = c.obj(top.machine, 'machine', ['cpus'], ['mhz']);
  const ncpus = c.int(m.cpus, 'machine.cpus', 1, 8);
  if (m.mhz !== undefined) c.int(m.mhz, 'machine.mhz', 100, 4000);
  const h = c.obj(top.host, 'host', ['preempt', 'cosched', 'acpi_processor', 'tick_hz'], ['irq_affinity', 'hrtimer_prio', 'loads']);
  c.oneOf(h.preempt, 'host.preempt', ['rt', 'none'] as const);
  c.bool(h.cosched, 'host.cosched');
  c.bool(h.acpi_processor, 'host.acpi_processor');
  c.int(h.tick_hz, 'host.tick_hz', 0, 100_000);
  if (h.irq_affinity !== undefined) {
    const ia = c.obj(h.irq_affinity, 'host.irq_affinity', [], Array.from({ length: 24 }, (_, i) => String(i)));
    for (const [k, mask] of Object.entries(ia)) c.cpus(mask, `host.irq_affinity.${k}`, ncpus);
  }
  if (h.hrtimer_prio !== undefined) c.int(h.hrtimer_prio, 'host.hrtimer_prio', 1, 99);
  if (h.loads !== undefined) {
    if (!Array.isArray(h.loads)) c.fail('host.loads', `${c.show(h.loads)} is not a list`);
    (h.loads as unknown[]).forEach((l, i) => {
      const o = c.thread(l, `host.loads[${i}]`, ncpus, ['name']);
      if ((o as HostLoad).name !== undefined) c.str((o as HostLoad).name, `host.loads[${i}].name`);
    });
  }
  if (!Array.isArray(top.vms) || top.vms.length < 1 || top.vms.length > 4) c.fail('vms', `${c.show(top.vms)} is not a list of 1-4 VMs`);
  const names = new Set<string>();
  (top.vms as unknown[]).forEach((vv, i) => {
    const at = `vms[${i}]`;
    const vm = c.obj(vv, at, ['name', 'role', 'memory_mib', 'vcpu', 'workload'], ['io_thread']);
    const name = c.str(vm.name, `${at}.name`);
    if (!/^[a-z][a-z0-9_-]{0,9}$/.test(name)) c.fail(`${at}.name`, `${c.show(name)} is not 1-10 lower-case letters, digits, - or _ (starting with a letter)`);
    if (names.has(name)) c.fail(`${at}.name`, `${c.show(name)} is used twice`);
    names.add(name);
    const role = c.oneOf(vm.role, `${at}.role`, ['rtos', 'gpos'] as const);
    c.int(vm.memory_mib, `${at}.memory_mib`, 1, 64);
    c.thread(vm.vcpu, `${at}.vcpu`, ncpus);
    if (vm.io_thread !== undefined) c.thread(vm.io_thread, `${at}.io_thread`, ncpus);
    const wat = `${at}.workload`;
    if (role === 'rtos') {
      const w = c.obj(vm.workload, wat, ['idle', 'load_tasks', 'cosched'], ['irt', 'tick_hz']);
      if (w.irt !== undefined) {
        const irt = c.obj(w.irt, `${wat}.irt`, [], ['interval_us', 'loops']);
        if (irt.interval_us !== undefined) c.int(irt.interval_us, `${wat}.irt.interval_us`, 1, 1_000_000);
        if (irt.loops !== undefined) c.int(irt.loops, `${wat}.irt.loops`, 1, 1_000_000);
      }
      c.oneOf(w.idle, `${wat}.idle`, ['spin', 'hlt'] as const);
      c.int(w.load_tasks, `${wat}.load_tasks`, 0, 8);
      c.bool(w.cosched, `${wat}.cosched`);
      if (w.tick_hz !== undefined) c.int(w.tick_hz, `${wat}.tick_hz`, 0, 100_000);
    } else {
      const w = c.obj(vm.workload, wat, ['cpu_hogs', 'bonnie', 'benchmarks'], ['cyclictest']);
      if (w.cyclictest !== undefined && w.cyclictest !== null) {
        const ct = c.obj(w.cyclictest, `${wat}.cyclictest`, [], ['interval_us', 'loops', 'prio']);
        if (ct.interval_us !== undefined) c.int(ct.interval_us, `${wat}.cyclictest.interval_us`, 1, 1_000_000);
        if (ct.loops !== undefined) c.int(ct.loops, `${wat}.cyclictest.loops`, 1, 1_000_000);
        if (ct.prio !== undefined) c.int(ct.prio, `${wat}.cyclictest.prio`, 1, 99);
      }
      c.int(w.cpu_hogs, `${wat}.cpu_hogs`, 0, 8);
      c.bool(w.bonnie, `${wat}.bonnie`);
      if (!Array.isArray(w.benchmarks)) c.fail(`${wat}.benchmarks`, `${c.show(w.benchmarks)} is not a list of ${BENCHMARK_NAMES.join(', ')}`);
      (w.benchmarks as unknown[]).forEach((b, k) => c.oneOf(b, `${wat}.benchmarks[${k}]`, BENCHMARK_NAMES));
    }
  });
  const me = c.obj(top.measurement, 'measurement', ['loops', 'interval_us', 'histogram'], ['vm']);
  c.int(me.loops, 'measurement.loops', 1, 1_000_000);
  c.int(me.interval_us, 'measurement.interval_us', 1, 1_000_000);
  c.int(me.histogram, 'measurement.histogram', 0, 1000);
  if (me.vm !== undefined) c.oneOf(me.vm, 'measurement.vm', [...names]);
  const out = top as unknown as Scenario;
  return { ...out, seed: out.seed ?? 1 };
}

/** Names of the built-in scenarios (src/experiments/scenarios/*.json), sorted. */
export function builtinScenarioNames(): string[] {
  return fs.readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

/** Parse and validate scenario text. */
export function parseScenario(text: string, source: string): Scenario {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ScenarioError(`scenario ${source}: not JSON: ${(e as Error).message}`);
  }
  return validateScenario(v, source);
}

/** A built-in scenario by name, or a `.json` file. */
export function loadScenario(nameOrFile: string): Scenario {
  if (nameOrFile.endsWith('.json')) {
    let text: string;
    try {
      text = fs.readFileSync(nameOrFile, 'utf8');
    } catch (e) {
      throw new ScenarioError(`scenario ${nameOrFile}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return parseScenario(text, path.basename(nameOrFile));
  }
  const names = builtinScenarioNames();
  if (!names.includes(nameOrFile)) {
    const s = suggest(nameOrFile, names);
    throw new ScenarioError(`unknown scenario "${nameOrFile}"${s ? ` (did you mean "${s}"?)` : ''}; see \`list\``);
  }
  return parseScenario(fs.readFileSync(path.join(SCENARIO_DIR, `${nameOrFile}.json`), 'utf8'), nameOrFile);
}

/**
 * Is this `run` argument a scenario (a .json file or a built-in name) rather
 * than a program? A bare word that is no file is taken as a scenario name,
 * so a typo gets the scenario error with its suggestion.
 */
export function isScenarioArg(arg: string): boolean {
  if (arg.endsWith('.json') || builtinScenarioNames().includes(arg)) return true;
  return !/[./\\]/.test(arg) && !fs.existsSync(arg);
}

/** The measured VM's index: measurement.vm, else the first RTOS, else VM 0. */
export function measuredVm(s: Scenario): number {
  if (s.measurement.vm !== undefined) return s.vms.findIndex((v) => v.name === s.measurement.vm);
  const r = s.vms.findIndex((v) => v.role === 'rtos');
  return r >= 0 ? r : 0;
}
