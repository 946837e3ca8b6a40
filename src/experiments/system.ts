/**
 * A whole system: the host kernel (firmware/kernel, with its KVM module) on
 * a machine, and guest VMs run by it. The description says how many CPUs,
 * the boot parameters (threads, tunings) and the VMs; this module places
 * every VM's memory in host RAM (page aligned, 1 MiB apart, above the
 * kernel's KVM area, below SMRAM), loads each guest image there, fills the
 * VM table of the boot parameters (mem_base, mem_size, entry), adds the
 * vCPU and I/O threads a VM needs when the description gives none, writes
 * the block, loads the kernel and starts it.
 *
 * ```ts
 * const sys = createSystem({
 *   cpus: 2,
 *   params: { tickHz: 1000 },
 *   vms: [{ name: 'rt', image: 'guests/test/timer.s', vcpuThreads: [{ policy: SCHED_FIFO, prio: 97, affinity: 0b10 }] }],
 * });
 * sys.run(ms(10));
 * sys.console;        // host console lines, guests' prefixed "rt: ..."
 * ```
 *
 * Guest images link at guest-physical addresses (guests/ use .base 0x1000);
 * a VM's host-physical base is `vms[i].memBase`. Scenarios and the CLI
 * build on this; the API stays small.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assembleFiles } from '../asm/assembler.js';
import { ImageError } from '../asm/errors.js';
import { lookupSymbol, type Image } from '../asm/image.js';
import { loadImage, readImageFile } from '../machine/loader.js';
import { Machine, SMRAM_PER_CPU, type MachineConfig, type RunResult } from '../machine/machine.js';
import { NEHALEM } from '../machine/cpu-model.js';
import {
  PreemptModel, SchedPolicy, ThreadKind, VmRole, BOOT_PARAMS_ADDR,
  type BootParams, type ThreadParams, type VmParams,
} from '../machine/boot-params.js';
import { PLATFORM_SYMBOLS } from '../machine/platform-symbols.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The host kernel's main file. */
export const KERNEL_MAIN = path.resolve(HERE, '../../firmware/kernel/main.s');
/** Guest RAM is placed on boundaries of this size. */
export const VM_ALIGN = 1 << 20;
/** Default guest memory: 1 MiB. */
export const DEFAULT_VM_MEMORY = 1 << 20;

export interface VmSpec {
  /** the VM's name (console prefix, thread names), at most 15 ASCII characters */
  name: string;
  /** guest program: an ELF image path, an assembly file path (`.s`), or an assembled Image */
  image?: string | Image;
  /** or assembly text (with `.include` resolved relative to `sourcePath`, default the repository root) */
  source?: string;
  sourcePath?: string;
  /** guest RAM in bytes (multiple of 4 KiB; default 1 MiB) */
  memory?: number;
  /** default 1 */
  vcpus?: number;
  /** default GPOS */
  role?: VmRole;
  /** guest-physical entry point (default: the image's entry) */
  entry?: number;
  /**
   * settings of vCPU thread i (name `<vm>/vcpu<i>`; default SCHED_OTHER on
   * every CPU); used only when `params.threads` has no THREAD_VCPU entry for
   * this VM
   */
  vcpuThreads?: Partial<ThreadParams>[];
  /** settings of the I/O thread (`<vm>/io`); used only when `params.threads` has no THREAD_IO entry for this VM */
  ioThread?: Partial<ThreadParams>;
}

export interface SystemSpec {
  /** CPUs (default 2, as in the paper) */
  cpus?: number;
  /** boot parameters; `vms` is filled from `vms` below, `threads` extended with the VMs' threads */
  params?: Partial<BootParams>;
  vms: VmSpec[];
  /** machine configuration (memory, model, trace ring, ...) */
  machine?: Partial<MachineConfig>;
  /** the kernel image (default: firmware/kernel/main.s, assembled once per process) */
  kernel?: Image;
}

export interface PlacedVm {
  name: string;
  index: number;
  image: Image;
  memBase: number;
  memSize: number;
  entry: number;
}

let kernelCache: Image | null = null;

/** The host kernel image (assembled with the platform symbols; cached). */
export function kernelImage(): Image {
  if (!kernelCache) kernelCache = assembleFiles([KERNEL_MAIN], { defines: { ...PLATFORM_SYMBOLS } });
  return kernelCache;
}

/** Assemble or read a guest program. */
export function guestImage(vm: VmSpec): Image {
  if (vm.source !== undefined) {
    const main = path.resolve(vm.sourcePath ?? path.resolve(HERE, '../..', `${vm.name}.inline.s`));
    return assembleFiles([main], {
      defines: { ...PLATFORM_SYMBOLS },
      readFile: (p) => (path.resolve(p) === main ? vm.source! : fs.readFileSync(p, 'utf8')),
    });
  }
  if (vm.image === undefined) throw new Error(`vm ${vm.name}: no image or source`);
  if (typeof vm.image !== 'string') return vm.image;
  if (vm.image.endsWith('.s')) return assembleFiles([vm.image], { defines: { ...PLATFORM_SYMBOLS } });
  return readImageFile(vm.image);
}

const sym = (image: Image, name: string): number => {
  const s = lookupSymbol(image, name);
  if (!s) throw new Error(`no symbol ${name}`);
  return s.value;
};

/** Boot parameters with the defaults of the paper's machine: 2 CPUs, PREEMPT_RT, tickless, nothing else. */
export function defaultBootParams(cpus: number): BootParams {
  return {
    cpuCount: cpus,
    cpuKhz: NEHALEM.hz / 1000,
    preemptModel: PreemptModel.PREEMPT_RT,
    cosched: false,
    acpiProcessor: false,
    tickHz: 0,
    irqAffinity: [],
    cyclictest: { intervalUs: 0, loops: 0, histogram: 0 },
    vms: [],
    threads: [],
  };
}

export class HostSystem {
  /** what last run() returned */
  result: RunResult | null = null;

  constructor(
    readonly machine: Machine,
    readonly kernel: Image,
    /** the block as written */
    readonly params: BootParams,
    readonly vms: PlacedVm[],
  ) {}

  /** Run until `untilCycles` of simulated time (or the kernel powers off). */
  run(untilCycles: number, maxInstructions?: number): RunResult {
    this.result = this.machine.run({ untilCycles, maxInstructions });
    return this.result;
  }

  /** A kernel symbol (label or constant). */
  sym(name: string): number {
    return sym(this.kernel, name);
  }

  vm(name: string | number): PlacedVm {
    const v = typeof name === 'number' ? this.vms[name] : this.vms.find((x) => x.name === name);
    if (!v) throw new Error(`no vm ${name}`);
    return v;
  }

  /** Host-physical address of a guest label (or guest-physical address) of a VM. */
  guestAddr(vm: string | number, label: string | number): number {
    const v = this.vm(vm);
    return v.memBase + (typeof label === 'number' ? label : sym(v.image, label));
  }

  read32(addr: number): number {
    return this.machine.memory.read32(addr) >>> 0;
  }

  /** A dword of a VM's memory, by guest label or guest-physical address. */
  guest32(vm: string | number, label: string | number): number {
    return this.read32(this.guestAddr(vm, label));
  }

  /** Thread-table index of thread `name` (its pid is index + 1). */
  threadIndex(name: string): number {
    const i = this.params.threads.findIndex((t) => t.name === name);
    if (i < 0) throw new Error(`no thread ${name}`);
    return i;
  }

  /** Host console (all CPUs), one string, lines in completion order. */
  get console(): string {
    return this.machine.uart.lines().map((l) => l.text).join('\n');
  }
}

/** Build the system: place and load the VMs, write the boot parameters, load and start the kernel. */
export function createSystem(spec: SystemSpec): HostSystem {
  const cpus = spec.cpus ?? spec.params?.cpuCount ?? 2;
  const base = defaultBootParams(cpus);
  const params: BootParams = { ...base, ...spec.params, cpuCount: cpus, vms: [], threads: [...(spec.params?.threads ?? [])] };
  const machine = new Machine({ cpus, ...spec.machine });
  const kernel = spec.kernel ?? kernelImage();
  for (const s of kernel.segments) {
    if (s.vaddr + s.memsz > BOOT_PARAMS_ADDR) throw new Error(`kernel segment ${s.name} overlaps the boot parameters`);
  }
  const ramTop = machine.config.memoryBytes - SMRAM_PER_CPU * cpus;
  let next = Math.ceil(sym(kernel, 'KVM_AREA_END') / VM_ALIGN) * VM_ALIGN;
  const placed: PlacedVm[] = [];
  spec.vms.forEach((vm, index) => {
    const image = guestImage(vm);
    const memSize = vm.memory ?? DEFAULT_VM_MEMORY;
    if (memSize <= 0 || memSize % 4096) throw new ImageError(`vm ${vm.name}: memory ${memSize} is not a positive multiple of 4 KiB`);
    const memBase = next;
    if (memBase + memSize > ramTop) {
      const mib = (n: number): string => `${+(n / (1 << 20)).toFixed(2)} MiB`;
      throw new ImageError(`vm ${vm.name}: its ${mib(memSize)} of RAM at 0x${memBase.toString(16)} do not fit below SMRAM at ${mib(ramTop)} (the host's ${mib(machine.config.memoryBytes)}); give the VM less memory (memory_mib) or the machine more`);
    }
    next = Math.ceil((memBase + memSize) / VM_ALIGN) * VM_ALIGN;
    loadImage(machine.memory, image, vm.name, memBase, memSize);
    const entry = vm.entry ?? image.entry;
    placed.push({ name: vm.name, index, image, memBase, memSize, entry });
    // the VM's threads, unless the description has them already
    const vcpus = vm.vcpus ?? 1;
    if (!params.threads.some((t) => t.kind === ThreadKind.VCPU && t.vm === index)) {
      for (let i = 0; i < vcpus; i++) params.threads.push(threadEntry(`${vm.name}/vcpu${i}`, ThreadKind.VCPU, cpus, { ...vm.vcpuThreads?.[i], vm: index, vcpu: i }));
    }
    let io = params.threads.findIndex((t) => t.kind === ThreadKind.IO && t.vm === index);
    if (io < 0) {
      io = params.threads.length;
      params.threads.push(threadEntry(`${vm.name}/io`, ThreadKind.IO, cpus, { ...vm.ioThread, vm: index }));
    }
    const v: VmParams = { name: vm.name, memBase, memSize, entry, vcpus, role: vm.role ?? VmRole.GPOS, ioThread: io };
    params.vms.push(v);
  });
  loadImage(machine.memory, kernel, 'kernel');
  machine.writeBootParams(params);
  machine.start(kernel.entry);
  return new HostSystem(machine, kernel, params, placed);
}

function threadEntry(name: string, kind: ThreadKind, cpus: number, t: Partial<ThreadParams>): ThreadParams {
  // thread names are at most 15 characters (BP_NAME_LEN - 1): keep the end, which tells vcpu/io apart
  const short = name.length > 15 ? name.slice(name.length - 15) : name;
  return { name: short, kind, policy: SchedPolicy.SCHED_OTHER, prio: 0, nice: 0, affinity: 2 ** cpus - 1, vm: 0, vcpu: 0, ...t };
}
