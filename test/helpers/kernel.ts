/**
 * Boots the host kernel (firmware/kernel/main.s) on a machine with boot
 * parameters chosen per test, and gives the test what it looks at: the
 * trace (tracepoints by Linux name, architectural events), the console, the
 * kernel's variables by symbol, and the pids of the thread table (pid =
 * index + 1; idle tasks are pid 0).
 *
 * A test may add assembly (`extra`, assembled as part of the kernel image,
 * so it sees every kernel symbol) and point a thread kind at one of its
 * routines (`bodies`: kthread_bodies[kind] = label) to run its own thread
 * body.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assembleFiles } from '../../src/asm/assembler.js';
import { lookupSymbol, type Image } from '../../src/asm/image.js';
import { NEHALEM } from '../../src/machine/cpu-model.js';
import { loadImage } from '../../src/machine/loader.js';
import { Machine, type MachineConfig, type RunResult } from '../../src/machine/machine.js';
import { BOOT_PARAMS_ADDR, PreemptModel, SchedPolicy, ThreadKind, type BootParams, type ThreadParams } from '../../src/machine/boot-params.js';
import { PLATFORM_SYMBOLS } from '../../src/machine/platform-symbols.js';
import { TRACEPOINT_ID, tracepointName } from '../../src/isa/tracepoints.js';
import { TraceKind, type TraceEvent } from '../../src/trace/trace.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const KERNEL_MAIN = path.resolve(HERE, '../../firmware/kernel/main.s');
const EXTRA_FILE = path.resolve(HERE, '../../firmware/kernel/__test_extra__.s');

export const CPU_KHZ = NEHALEM.hz / 1000;
/** cycles per µs at the default model */
export const CYCLES_PER_US = NEHALEM.hz / 1e6;
export const us = (n: number): number => Math.round(n * CYCLES_PER_US);
export const ms = (n: number): number => us(n * 1000);

export { PreemptModel, SchedPolicy, ThreadKind };
const { SCHED_OTHER, SCHED_FIFO } = SchedPolicy;

/** A thread-table entry with defaults: SCHED_OTHER nice 0 on every CPU. */
export function thread(name: string, kind: ThreadKind, t: Partial<ThreadParams> = {}): ThreadParams {
  return { name, kind, policy: SCHED_OTHER, prio: 0, nice: 0, affinity: 0b11, vm: 0, vcpu: 0, ...t };
}
export const fifo = (prio: number, affinity = 0b11): Partial<ThreadParams> => ({ policy: SCHED_FIFO, prio, affinity });

/** Boot parameters: 2 CPUs at the model's clock, PREEMPT_RT, tickless, no threads, unless overridden. */
export function bootParams(p: Partial<BootParams> = {}): BootParams {
  return {
    cpuCount: 2,
    cpuKhz: CPU_KHZ,
    preemptModel: PreemptModel.PREEMPT_RT,
    cosched: false,
    acpiProcessor: false,
    tickHz: 0,
    irqAffinity: [],
    cyclictest: { intervalUs: 0, loops: 0, histogram: 0 },
    vms: [],
    threads: [],
    ...p,
  };
}

export interface KernelOptions {
  params?: Partial<BootParams>;
  /** simulated time to run (cycles) unless the kernel stops first */
  until?: number;
  /** assembly added to the image (sees all kernel symbols) */
  extra?: string;
  /** kthread_bodies[kind] = address of this label */
  bodies?: Partial<Record<ThreadKind, string>>;
  machine?: Partial<MachineConfig>;
}

let imageCache = new Map<string, Image>();

/** The kernel image (with `extra` appended), assembled once per distinct extra. */
export function kernelImage(extra = ''): Image {
  const hit = imageCache.get(extra);
  if (hit) return hit;
  const files = extra ? [KERNEL_MAIN, EXTRA_FILE] : [KERNEL_MAIN];
  const image = assembleFiles(files, {
    defines: { ...PLATFORM_SYMBOLS },
    readFile: (p) => (path.resolve(p) === EXTRA_FILE ? `.text\n${extra}` : fs.readFileSync(p, 'utf8')),
  });
  for (const s of image.segments) {
    if (s.vaddr + s.memsz > BOOT_PARAMS_ADDR) throw new Error(`kernel segment ${s.name} overlaps the boot parameters`);
  }
  imageCache.set(extra, image);
  return image;
}

export interface Tp {
  time: number;
  cpu: number;
  name: string;
  value: number;
}

export class KernelRun {
  readonly machine: Machine;
  readonly image: Image;
  readonly params: BootParams;
  readonly events: TraceEvent[] = [];
  result: RunResult | null = null;

  constructor(opts: KernelOptions = {}) {
    this.image = kernelImage(opts.extra);
    this.params = bootParams(opts.params);
    this.machine = new Machine({ cpus: this.params.cpuCount, ...opts.machine });
    loadImage(this.machine.memory, this.image, 'kernel');
    this.machine.writeBootParams(this.params);
    for (const [kind, label] of Object.entries(opts.bodies ?? {})) {
      this.poke32(this.sym('kthread_bodies') + Number(kind) * 4, this.sym(label!));
    }
    this.machine.trace.on((e) => {
      if (e.kind !== TraceKind.UartTx) this.events.push(e);
    });
    this.machine.start(this.image.entry);
  }

  run(until: number): this {
    this.result = this.machine.run({ untilCycles: until });
    return this;
  }

  sym(name: string): number {
    const s = lookupSymbol(this.image, name);
    if (!s) throw new Error(`no symbol ${name}`);
    return s.value;
  }

  /** A struct field offset or constant of the kernel (e.g. 'task.pid'). */
  const(name: string): number {
    return this.sym(name);
  }

  mem32(addr: number | string, offset = 0): number {
    return this.machine.memory.read32((typeof addr === 'string' ? this.sym(addr) : addr) + offset) >>> 0;
  }

  poke32(addr: number, v: number): void {
    this.machine.memory.write32(addr, v);
  }

  /** Tracepoint events, optionally only those named. */
  tps(...names: string[]): Tp[] {
    const ids = new Set(names.map((n) => TRACEPOINT_ID.get(n)));
    return this.events
      .filter((e) => e.kind === TraceKind.Tracepoint && (names.length === 0 || ids.has(e.a)))
      .map((e) => ({ time: e.time, cpu: e.cpu, name: tracepointName(e.a), value: e.b | 0 }));
  }

  /** Architectural events of one kind. */
  arch(kind: TraceKind): TraceEvent[] {
    return this.events.filter((e) => e.kind === kind);
  }

  /** The pid of thread-table entry `name`. */
  pid(name: string): number {
    const i = this.params.threads.findIndex((t) => t.name === name);
    if (i < 0) throw new Error(`no thread ${name}`);
    return i + 1;
  }

  /** Everything printed on the console, all CPUs, in line order. */
  get console(): string {
    return this.machine.uart.lines().map((l) => l.text).join('\n');
  }

  /** The task_struct address of a pid (idle: pass cpu via idleTask). */
  task(pid: number): number {
    return this.sym('tasks') + (this.sym('NR_CPUS') + pid - 1) * this.sym('task.size');
  }
}

/** Boot the kernel and run it for `until` cycles (default 2 ms) or until it stops. */
export function bootKernel(opts: KernelOptions = {}): KernelRun {
  return new KernelRun(opts).run(opts.until ?? ms(2));
}
