/**
 * Both real guests under the host kernel at once (issue 5): the RTOS
 * (guests/rtos) in VM 'rtos' with its vCPU thread SCHED_FIFO 97 pinned to
 * CPU 1, the GPOS (guests/gpos) in VM 'gpos' with a fair vCPU thread on
 * CPU 0, both I/O threads on CPU 0. Each guest's parameter block is written
 * into its VM before the run (the RTOS's at RTOS_PARAMS, the GPOS's boot
 * parameters at BOOT_PARAMS); the results are read back from guest memory.
 */
import { lookupSymbol } from '../../src/asm/image.js';
import { GPOS_MAIN, GPOS_MEMORY, gposBootParams, readGposCyclictest, writeGposBootParams, type GposCtStat, type GposOptions } from '../../src/guests/gpos.js';
import { readRtosResults, rtosParams, writeRtosParams, type RtosParams, type RtosParamsInput, type RtosResults } from '../../src/guests/rtos-params.js';
import type { BootParams, ThreadParams } from '../../src/machine/boot-params.js';
import { ExitStats } from '../../src/trace/exit-stats.js';
import { StageBreakdown } from '../../src/trace/stages.js';
import { TraceKind, type TraceEvent } from '../../src/trace/trace.js';
import { TRACEPOINT_ID } from '../../src/isa/tracepoints.js';
import { exitReasonName } from '../../src/vmx/exit-reasons.js';
import { CPU_KHZ, SchedPolicy, SystemRun, testGuest } from './kernel.js';

export const RTOS_IMAGE = testGuest('../rtos/main.s');
export const RTOS_MEMORY = 4 << 20;

export interface TogetherOptions {
  /** the RTOS's parameter block (tscKhz defaults to the host's clock) */
  rtos?: RtosParamsInput;
  /** the GPOS guest's options (cyclictest, loads); null: no GPOS VM */
  gpos?: GposOptions | null;
  /** host boot parameters (cosched, tickHz, ...) */
  host?: Partial<BootParams>;
  /** the RTOS vCPU thread (default SCHED_FIFO 97 on CPU 1) */
  rtosVcpu?: Partial<ThreadParams>;
  /** the GPOS vCPU thread (default SCHED_OTHER on CPU 0) */
  gposVcpu?: Partial<ThreadParams>;
}

export const RTOS_VCPU: Partial<ThreadParams> = { policy: SchedPolicy.SCHED_FIFO, prio: 97, affinity: 0b10 };
export const GPOS_VCPU: Partial<ThreadParams> = { policy: SchedPolicy.SCHED_OTHER, prio: 0, affinity: 0b01 };
const IO_THREAD: Partial<ThreadParams> = { affinity: 0b01 };

export class TogetherRun extends SystemRun {
  readonly rtosParams: RtosParams;
  readonly gposParams: BootParams | null;
  readonly exits: ExitStats;
  readonly stages: StageBreakdown;

  constructor(o: TogetherOptions = {}) {
    const vms = [{ name: 'rtos', image: RTOS_IMAGE, memory: RTOS_MEMORY, vcpuThreads: [{ ...RTOS_VCPU, ...o.rtosVcpu }], ioThread: IO_THREAD }];
    if (o.gpos !== null) vms.push({ name: 'gpos', image: GPOS_MAIN, memory: GPOS_MEMORY, vcpuThreads: [{ ...GPOS_VCPU, ...o.gposVcpu }], ioThread: IO_THREAD });
    super({ cpus: 2, params: o.host, vms });
    this.rtosParams = rtosParams({ tscKhz: CPU_KHZ, ...o.rtos });
    writeRtosParams(this.machine.memory, this.sys.vm('rtos').memBase, this.rtosParams);
    this.gposParams = o.gpos === null ? null : gposBootParams(o.gpos);
    if (this.gposParams) writeGposBootParams(this.machine.memory, this.sys.vm('gpos').memBase, this.gposParams);
    this.exits = new ExitStats(this.machine.trace);
    this.stages = new StageBreakdown(this.machine.trace);
  }

  get hasGpos(): boolean {
    return this.gposParams !== null;
  }

  /** The RTOS's results (guests/rtos symbols, read from the VM's memory). */
  get rtos(): RtosResults {
    const vm = this.sys.vm('rtos');
    return readRtosResults((s) => lookupSymbol(vm.image, s)!.value, (gpa) => this.machine.memory.read32(vm.memBase + gpa), this.rtosParams);
  }

  /** The GPOS guest's cyclictest threads. */
  get gpos(): GposCtStat[] {
    return readGposCyclictest(this.sys, 'gpos');
  }

  /** VM exits of one vCPU thread by reason name: each exit is charged to the vCPU thread current on its CPU. */
  exitsOf(vcpuThread: string): Record<string, number> {
    return exitCountsOf(this, this.pid(vcpuThread));
  }

  /** A dword of the RTOS VM's memory at a guest symbol (+ offset). */
  rtos32(label: string, offset = 0): number {
    const vm = this.sys.vm('rtos');
    return this.machine.memory.read32(vm.memBase + lookupSymbol(vm.image, label)!.value + offset) >>> 0;
  }

  /** The RTOS's task names by the id of its task_dispatch tracepoints. */
  rtosTaskNames(): string[] {
    const vm = this.sys.vm('rtos');
    const size = lookupSymbol(vm.image, 'tcb.size')!.value;
    const nameOff = lookupSymbol(vm.image, 'tcb.name')!.value;
    const names: string[] = [];
    for (let i = 0; i < this.rtos32('task_count'); i++) {
      const gpa = this.rtos32('tcb_pool', i * size + nameOff);
      let s = '';
      for (let k = 0; k < 64; k++) {
        const b = this.machine.memory.bytes[vm.memBase + gpa + k];
        if (!b) break;
        s += String.fromCharCode(b);
      }
      names.push(s);
    }
    return names;
  }

  /** Lines of a VM's console (the I/O thread prints them `<vm>: ...`), without the prefix. */
  guestConsole(vm: string): string[] {
    return this.console.split('\n').filter((l) => l.startsWith(`${vm}: `)).map((l) => l.slice(vm.length + 2));
  }
}

const TP_SCHED_SWITCH = TRACEPOINT_ID.get('sched_switch')!;
const TP_SCHED_SETSCHEDULER = TRACEPOINT_ID.get('sched_setscheduler')!;

/**
 * Record a thread's policy and rt priority right after each host
 * sched_setscheduler of it (the tracepoint follows __setscheduler); a guest
 * kernel's own tracepoints (VMX non-root) are ignored.
 */
export function watchSetscheduler(r: SystemRun, pid: number): { policy: number; prio: number }[] {
  const seen: { policy: number; prio: number }[] = [];
  const inGuest = new Set<number>();
  r.machine.trace.on((e) => {
    if (e.kind === TraceKind.VmEntry) inGuest.add(e.cpu);
    else if (e.kind === TraceKind.VmExit) inGuest.delete(e.cpu);
    else if (e.kind === TraceKind.Tracepoint && e.a === TP_SCHED_SETSCHEDULER && (e.b | 0) === pid && !inGuest.has(e.cpu)) {
      seen.push({ policy: r.taskField(pid, 'policy'), prio: r.taskField(pid, 'rt_priority') });
    }
  });
  return seen;
}

/** The events with the mode of their CPU (guest: between a VmEntry and the next VmExit there). */
export function hostEvents(r: SystemRun): { e: TraceEvent; guest: boolean }[] {
  const inGuest = new Set<number>();
  return r.events.map((e) => {
    if (e.kind === TraceKind.VmEntry) inGuest.add(e.cpu);
    else if (e.kind === TraceKind.VmExit) inGuest.delete(e.cpu);
    return { e, guest: inGuest.has(e.cpu) };
  });
}

/**
 * VM exits per reason of the thread `pid`: a VmExit event on a CPU belongs
 * to the task the host last switched to there (sched_switch's value is the
 * next pid). A guest kernel's own sched_switch (the GPOS guest is the host
 * kernel's code) is emitted in VMX non-root mode and ignored.
 */
export function exitCountsOf(r: SystemRun, pid: number): Record<string, number> {
  const curr = new Map<number, number>();
  const out: Record<string, number> = {};
  for (const { e, guest } of hostEvents(r)) {
    if (!guest && e.kind === TraceKind.Tracepoint && e.a === TP_SCHED_SWITCH) curr.set(e.cpu, e.b | 0);
    else if (e.kind === TraceKind.VmExit && curr.get(e.cpu) === pid) {
      const n = exitReasonName(e.a >>> 0);
      out[n] = (out[n] ?? 0) + 1;
    }
  }
  return out;
}

/**
 * Share of [from, to) that CPU `cpu` spent halted (Halt to Wake events).
 */
export function haltedShare(r: SystemRun, cpu: number, from: number, to: number): number {
  let since = -1;
  let total = 0;
  for (const e of r.events) {
    if (e.cpu !== cpu) continue;
    if (e.kind === TraceKind.Halt) since = e.time;
    else if (e.kind === TraceKind.Wake && since >= 0) {
      total += Math.max(0, Math.min(e.time, to) - Math.max(since, from));
      since = -1;
    }
  }
  if (since >= 0) total += Math.max(0, to - Math.max(since, from));
  return total / (to - from);
}

/** Share of [from, to) that CPU `cpu` ran its idle task (sched_switch to pid 0 until the next switch away). */
export function idleShare(r: SystemRun, cpu: number, from: number, to: number): number {
  let idleSince = -1;
  let total = 0;
  for (const { e, guest } of hostEvents(r)) {
    if (guest || e.cpu !== cpu || e.kind !== TraceKind.Tracepoint || e.a !== TP_SCHED_SWITCH) continue;
    if ((e.b | 0) === 0) {
      if (idleSince < 0) idleSince = e.time;
    } else if (idleSince >= 0) {
      total += Math.max(0, Math.min(e.time, to) - Math.max(idleSince, from));
      idleSince = -1;
    }
  }
  if (idleSince >= 0) total += Math.max(0, to - Math.max(idleSince, from));
  return total / (to - from);
}
