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
import { createSystem, type HostSystem, type SystemSpec } from '../../src/experiments/system.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const KERNEL_MAIN = path.resolve(HERE, '../../firmware/kernel/main.s');
/** A KVM test guest of guests/test/ by file name (e.g. 'timer.s'). */
export const testGuest = (name: string): string => path.resolve(HERE, '../../guests/test', name);
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

/**
 * A host + VMs run (src/experiments/system.ts) with the same views as
 * KernelRun: tracepoints by name, architectural events, kernel symbols,
 * thread pids and tasks, the console.
 */
export class SystemRun {
  readonly sys: HostSystem;
  readonly machine: Machine;
  readonly events: TraceEvent[] = [];
  result: RunResult | null = null;

  constructor(spec: SystemSpec) {
    this.sys = createSystem(spec);
    this.machine = this.sys.machine;
    this.machine.trace.on((e) => {
      if (e.kind !== TraceKind.UartTx) this.events.push(e);
    });
  }

  get params(): BootParams {
    return this.sys.params;
  }

  run(until: number): this {
    this.result = this.sys.run(until);
    return this;
  }

  /** Run in steps of `step` cycles until `cond` holds or `until` is reached; true if it held. */
  runUntil(cond: () => boolean, until: number, step = us(100)): boolean {
    // the target advances by itself: with every CPU halted and no event before it, a run stops without moving `now`
    let t = this.machine.now;
    while (!cond()) {
      if (t >= until || this.result?.reason === 'exit') return false;
      t = Math.min(until, t + step);
      this.run(t);
    }
    return true;
  }

  sym(name: string): number {
    return this.sys.sym(name);
  }

  const(name: string): number {
    return this.sym(name);
  }

  mem32(addr: number | string, offset = 0): number {
    return this.machine.memory.read32((typeof addr === 'string' ? this.sym(addr) : addr) + offset) >>> 0;
  }

  poke32(addr: number, v: number): void {
    this.machine.memory.write32(addr, v);
  }

  /** A dword of a VM's memory by guest label; poke with guestPoke. */
  guest32(vm: string | number, label: string): number {
    return this.sys.guest32(vm, label);
  }

  guestPoke(vm: string | number, label: string, v: number): void {
    this.poke32(this.sys.guestAddr(vm, label), v);
  }

  tps(...names: string[]): Tp[] {
    const ids = new Set(names.map((n) => TRACEPOINT_ID.get(n)));
    return this.events
      .filter((e) => e.kind === TraceKind.Tracepoint && (names.length === 0 || ids.has(e.a)))
      .map((e) => ({ time: e.time, cpu: e.cpu, name: tracepointName(e.a), value: e.b | 0 }));
  }

  arch(kind: TraceKind): TraceEvent[] {
    return this.events.filter((e) => e.kind === kind);
  }

  pid(name: string): number {
    return this.sys.threadIndex(name) + 1;
  }

  task(pid: number): number {
    return this.sym('tasks') + (this.sym('NR_CPUS') + pid - 1) * this.sym('task.size');
  }

  /** A field of a task (by pid), e.g. taskField(pid, 'policy'). */
  taskField(pid: number, field: string): number {
    return this.mem32(this.task(pid), this.sym(`task.${field}`));
  }

  /** The struct kvm_vcpu of the vCPU thread `name`, and a field of it. */
  vcpu(name: string): number {
    return this.sym('kvm_vcpus') + this.sys.threadIndex(name) * this.sym('kvm_vcpu.size');
  }

  vcpuField(name: string, field: string): number {
    return this.mem32(this.vcpu(name), this.sym(`kvm_vcpu.${field}`));
  }

  get console(): string {
    return this.sys.console;
  }
}

/** Build a host + VMs system and run it for `until` cycles (or until it powers off). */
export function bootSystem(spec: SystemSpec, until: number): SystemRun {
  return new SystemRun(spec).run(until);
}
