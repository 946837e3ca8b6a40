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
 *   "machine": { "cpus": 2, "mhz"?: 2670,
 *                "smi"?: { "period_us", "duration_us": µs or [µs, ...] (cycled through, one per SMI), "phase_us"? } },
 *   "host": { "preempt": "rt"|"none", "cosched": bool, "acpi_processor": bool, "tick_hz": 0-100000,
 *             "irq_affinity"?: { "<irq 0-23>": [cpus] }, "hrtimer_prio"?: 1-99 (a ktimersoftd thread, FIFO),
 *             "loads"?: [{ "name"?, "policy", "prio", "affinity": [cpus] }] (host CPU hogs),
 *             "cyclictest"?: { "prio": 1-99, "affinity"?: [cpus] } (the host's own cyclictest thread, FIFO) },
 *   "vms": [{ "name", "role": "rtos"|"gpos", "memory_mib",
 *             "vcpu": { "policy": "fifo"|"rr"|"other", "prio": 0 (other) or 1-99, "affinity": [cpus] },
 *             "io_thread"?: { same as vcpu },
 *             "workload": rtos: { "irt"?: { "interval_us"?, "loops"? }, "idle": "spin"|"hlt", "load_tasks": 0-8, "cosched": bool, "tick_hz"? }
 *                         gpos: { "cyclictest"?: { "interval_us"?, "loops"?, "prio"? } | null, "cpu_hogs": n, "bonnie": bool, "benchmarks": [names], "tick_hz"? } }],
 *   "measurement": { "vm"?: name or "host" (default: the first RTOS, else the first VM), "loops", "interval_us",
 *                    "histogram": µs buckets, "until"?: "latency" (default) | "benchmarks" },
 *   "quick": { "loops", "interval_us" } (short sizes for tests and `paper --quick`) }
 * ```
 *
 * The measured VM's benchmark (RTOS IRT or GPOS cyclictest) takes its loops
 * and interval from `measurement` unless its workload gives them; with
 * `"vm": "host"` the host's cyclictest thread (host.cyclictest) is measured
 * and `vms` may be empty. `"until": "benchmarks"` runs until every GPOS
 * benchmark has finished (the measured latency is whatever was sampled by
 * then). A run never goes beyond 2 × loops × interval + 50 ms of simulated
 * time (or `--duration`).
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
  /** the guest kernel's periodic tick (default 0: tickless); SCHED_OTHER threads in the guest preempt each other only on a tick */
  tick_hz?: number;
}

export interface VmScenario {
  name: string;
  role: 'rtos' | 'gpos';
  memory_mib: number;
  vcpu: ThreadSpec;
  io_thread?: ThreadSpec;
  workload: RtosWorkload | GposWorkload;
}

export interface SmiSpec {
  period_us: number;
  duration_us: number | number[];
  phase_us?: number;
}

export interface Scenario {
  name: string;
  description: string;
  seed: number;
  machine: { cpus: number; mhz?: number; smi?: SmiSpec };
  host: {
    preempt: 'rt' | 'none';
    cosched: boolean;
    acpi_processor: boolean;
    tick_hz: number;
    irq_affinity?: Record<string, number[]>;
    hrtimer_prio?: number;
    loads?: HostLoad[];
    cyclictest?: { prio: number; affinity?: number[] };
  };
  vms: VmScenario[];
  measurement: { vm?: string; loops: number; interval_us: number; histogram: number; until?: 'latency' | 'benchmarks' };
  quick?: { loops: number; interval_us: number };
}

/** measurement.vm of a host measurement (the host's cyclictest thread). */
export const HOST = 'host';

export const BENCHMARK_NAMES = ['gzip', 'gcc', 'parser', 'vortex', 'bzip2', 'twolf'];

export class ScenarioError extends UsageError {}

/** JSON.parse quotes the offending text, newlines included: errors stay one line. */
const oneLine = (m: string): string => m.replace(/\s*\n\s*/g, ' ');

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
  const top = c.obj(v, '', ['name', 'description', 'machine', 'host', 'vms', 'measurement'], ['seed', 'quick', '$comment']);
  c.str(top.name, 'name');
  c.str(top.description, 'description');
  if (top.seed !== undefined) c.int(top.seed, 'seed', 0, 0xffffffff);
  const m = c.obj(top.machine, 'machine', ['cpus'], ['mhz', 'smi']);
  const ncpus = c.int(m.cpus, 'machine.cpus', 1, 8);
  if (m.mhz !== undefined) c.int(m.mhz, 'machine.mhz', 100, 4000);
  if (m.smi !== undefined) {
    const smi = c.obj(m.smi, 'machine.smi', ['period_us', 'duration_us'], ['phase_us']);
    const period = c.int(smi.period_us, 'machine.smi.period_us', 1, 10_000_000);
    const durs = Array.isArray(smi.duration_us) ? smi.duration_us as unknown[] : [smi.duration_us];
    if (durs.length === 0) c.fail('machine.smi.duration_us', '[] is not a duration or a non-empty list of durations');
    durs.forEach((d, i) => c.int(d, Array.isArray(smi.duration_us) ? `machine.smi.duration_us[${i}]` : 'machine.smi.duration_us', 0, period - 1));
    if (smi.phase_us !== undefined) c.int(smi.phase_us, 'machine.smi.phase_us', 0, 10_000_000);
  }
  const h = c.obj(top.host, 'host', ['preempt', 'cosched', 'acpi_processor', 'tick_hz'], ['irq_affinity', 'hrtimer_prio', 'loads', 'cyclictest']);
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
  if (h.cyclictest !== undefined) {
    const ct = c.obj(h.cyclictest, 'host.cyclictest', ['prio'], ['affinity']);
    c.int(ct.prio, 'host.cyclictest.prio', 1, 99);
    if (ct.affinity !== undefined) c.cpus(ct.affinity, 'host.cyclictest.affinity', ncpus);
  }
  const hostMeasured = typeof top.measurement === 'object' && top.measurement !== null && (top.measurement as Obj).vm === HOST;
  const minVms = hostMeasured ? 0 : 1;
  if (!Array.isArray(top.vms) || top.vms.length < minVms || top.vms.length > 4) c.fail('vms', `${c.show(top.vms)} is not a list of ${minVms}-4 VMs`);
  const names = new Set<string>();
  (top.vms as unknown[]).forEach((vv, i) => {
    const at = `vms[${i}]`;
    const vm = c.obj(vv, at, ['name', 'role', 'memory_mib', 'vcpu', 'workload'], ['io_thread']);
    const name = c.str(vm.name, `${at}.name`);
    if (!/^[a-z][a-z0-9_-]{0,9}$/.test(name)) c.fail(`${at}.name`, `${c.show(name)} is not 1-10 lower-case letters, digits, - or _ (starting with a letter)`);
    if (names.has(name)) c.fail(`${at}.name`, `${c.show(name)} is used twice`);
    if (name === HOST) c.fail(`${at}.name`, `"${HOST}" is reserved (measurement.vm "${HOST}" means the host's cyclictest)`);
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
      const w = c.obj(vm.workload, wat, ['cpu_hogs', 'bonnie', 'benchmarks'], ['cyclictest', 'tick_hz']);
      if (w.tick_hz !== undefined) c.int(w.tick_hz, `${wat}.tick_hz`, 0, 100_000);
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
  const me = c.obj(top.measurement, 'measurement', ['loops', 'interval_us', 'histogram'], ['vm', 'until']);
  c.int(me.loops, 'measurement.loops', 1, 1_000_000);
  c.int(me.interval_us, 'measurement.interval_us', 1, 1_000_000);
  c.int(me.histogram, 'measurement.histogram', 0, 1000);
  if (me.vm !== undefined) c.oneOf(me.vm, 'measurement.vm', [...names, HOST]);
  if (me.vm === HOST && h.cyclictest === undefined) c.fail('measurement.vm', `"${HOST}" needs host.cyclictest (the host's cyclictest thread: { "prio": 80 })`);
  if (me.until !== undefined) {
    c.oneOf(me.until, 'measurement.until', ['latency', 'benchmarks'] as const);
    const benches = (top.vms as Obj[]).some((vm) => vm.role === 'gpos' && ((vm.workload as Obj).benchmarks as unknown[]).length > 0);
    if (me.until === 'benchmarks' && !benches) c.fail('measurement.until', '"benchmarks" needs a GPOS VM with workload.benchmarks');
  }
  if (top.quick !== undefined) {
    const q = c.obj(top.quick, 'quick', ['loops', 'interval_us']);
    c.int(q.loops, 'quick.loops', 1, 1_000_000);
    c.int(q.interval_us, 'quick.interval_us', 1, 1_000_000);
  }
  const out = top as unknown as Scenario;
  return { ...out, seed: out.seed ?? 1 };
}

/** Names of the built-in scenarios (src/experiments/scenarios/*.json), sorted. */
export function builtinScenarioNames(): string[] {
  return fs.readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** Parse and validate scenario text. */
export function parseScenario(text: string, source: string): Scenario {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ScenarioError(`scenario ${source}: not JSON: ${oneLine((e as Error).message)}`);
  }
  return validateScenario(v, source);
}

/** The parsed, not yet validated JSON of a built-in scenario or a `.json` file, and the name errors give it. */
export function readScenarioJson(nameOrFile: string): { value: unknown; source: string } {
  let text: string;
  let source: string;
  if (nameOrFile.endsWith('.json')) {
    try {
      text = fs.readFileSync(nameOrFile, 'utf8');
    } catch (e) {
      throw new ScenarioError(`scenario ${nameOrFile}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    source = path.basename(nameOrFile);
  } else {
    const names = builtinScenarioNames();
    if (!names.includes(nameOrFile)) {
      const s = suggest(nameOrFile, names);
      throw new ScenarioError(`unknown scenario "${nameOrFile}"${s ? ` (did you mean "${s}"?)` : ''}; see \`list\``);
    }
    text = fs.readFileSync(path.join(SCENARIO_DIR, `${nameOrFile}.json`), 'utf8');
    source = nameOrFile;
  }
  try {
    return { value: JSON.parse(text), source };
  } catch (e) {
    throw new ScenarioError(`scenario ${source}: not JSON: ${oneLine((e as Error).message)}`);
  }
}

/** A built-in scenario by name, or a `.json` file. */
export function loadScenario(nameOrFile: string): Scenario {
  const { value, source } = readScenarioJson(nameOrFile);
  return validateScenario(value, source);
}

/**
 * `--set key=value` overrides: `key` is a dotted path with list indices
 * (`host.cosched`, `vms[1].vcpu.prio`, `vms[0].vcpu.affinity`); `value` is
 * JSON (`true`, `90`, `[0,1]`, `"hlt"`) or else taken as a string. Missing
 * objects on the way are created; the result must then validate. Returns a
 * modified deep copy.
 */
export function applySets(value: unknown, sets: readonly string[], source: string): unknown {
  const out = structuredClone(value) as Obj;
  for (const set of sets) {
    const eq = set.indexOf('=');
    if (eq <= 0) throw new ScenarioError(`--set ${set}: expected key=value (e.g. host.cosched=true, vms[1].vcpu.prio=90)`);
    const key = set.slice(0, eq);
    const text = set.slice(eq + 1);
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      v = text;
    }
    const parts: (string | number)[] = [];
    for (const seg of key.split('.')) {
      const m = /^([A-Za-z_$][\w$]*)((?:\[\d+\])*)$/.exec(seg);
      if (!m) throw new ScenarioError(`--set ${set}: "${seg}" is not a field name or name[index]`);
      parts.push(m[1]);
      for (const ix of m[2].matchAll(/\[(\d+)\]/g)) parts.push(Number(ix[1]));
    }
    let o: unknown = out;
    for (let i = 0; i < parts.length - 1; i++) {
      const p = parts[i];
      const container = o as Record<string | number, unknown>;
      if (typeof p === 'number' && !Array.isArray(o)) throw new ScenarioError(`scenario ${source}: --set ${key}: ${parts.slice(0, i).join('.')} is not a list`);
      if (typeof p === 'number' && p >= (o as unknown[]).length) throw new ScenarioError(`scenario ${source}: --set ${key}: index ${p} is beyond the list's ${(o as unknown[]).length} entries`);
      if (container[p] === undefined || container[p] === null) container[p] = typeof parts[i + 1] === 'number' ? [] : {};
      o = container[p];
      if (typeof o !== 'object') throw new ScenarioError(`scenario ${source}: --set ${key}: ${String(p)} holds ${JSON.stringify(o)}, not an object`);
    }
    (o as Record<string | number, unknown>)[parts[parts.length - 1]] = v;
  }
  return out;
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

/** The measured VM's index: measurement.vm, else the first RTOS, else VM 0; -1 for the host. */
export function measuredVm(s: Scenario): number {
  if (s.measurement.vm === HOST) return -1;
  if (s.measurement.vm !== undefined) return s.vms.findIndex((v) => v.name === s.measurement.vm);
  const r = s.vms.findIndex((v) => v.role === 'rtos');
  return r >= 0 ? r : 0;
}
