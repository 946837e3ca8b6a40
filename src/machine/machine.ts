/**
 * The board: RAM, the two address spaces, the one event queue, N CPUs with
 * their local APICs, the I/O APIC and the devices; and the run loop that
 * advances CPUs in bounded quanta, lowest local time first, firing events
 * in time order. A halted CPU takes no time slots; it is woken by an
 * interrupt at the event's time. Nothing here reads the wall clock: the same
 * image and configuration give the same trace, bit for bit.
 */
import { LocalApic, type ApicHost } from '../apic/local-apic.js';
import { IOAPIC_BASE, IoApic } from '../apic/io-apic.js';
import { Cpu, CpuState } from '../cpu/cpu.js';
import { Bus } from '../devices/bus.js';
import { DISK_PORT, DiskController, type DiskModel } from '../devices/disk.js';
import { EXIT_PORT, ExitPort } from '../devices/exit-port.js';
import { COM1_PORT, Uart16550 } from '../devices/uart.js';
import { ACPI_PBLK_PORT, AcpiProcessorBlock } from '../devices/acpi-pm.js';
import { APM_CNT_PORT, UsbLegacySmi, type UsbLegacySmiConfig } from '../devices/smi-source.js';
import { Smm } from '../cpu/smm.js';
import type { Image } from '../asm/image.js';
import { loadImage } from './loader.js';
import { BOOT_PARAMS_ADDR, encodeBootParams, type BootParams } from './boot-params.js';
import { Trace } from '../trace/trace.js';
import { Vmx, VmcsStore } from '../vmx/vmx.js';
import { NEHALEM, cpuCosts, type CpuModel } from './cpu-model.js';
import { EventQueue } from './event-queue.js';
import { PhysicalMemory } from './memory.js';

/** Legacy ISA IRQ of the disk controller (IDE primary), wired to this I/O APIC pin. */
export const DISK_IRQ = 14;

export interface MachineConfig {
  cpus: number;
  memoryBytes: number;
  model: CpuModel;
  /** longest stretch (cycles) one CPU runs before the others catch up */
  quantum: number;
  /** how many recent trace events to keep (debugger, tests) */
  traceKeep: number;
  disk: Partial<DiskModel>;
  /** USB-legacy SMI source; null = none (the port block is still there for software SMIs) */
  smi: UsbLegacySmiConfig | null;
  /** run hot code through the block compiler (same results as the interpreter, faster); false: interpreter only */
  compile: boolean;
  /** block-start executions before a block is compiled (default 1000; tests lower it to stress the compiler) */
  compileThreshold?: number;
  /**
   * skip, in O(1), time slices in which every running CPU spins on a fixed point or sits in WORK (same
   * results; see run()); default: on when compiling (the spin fast-forward needs compiled blocks)
   */
  fastForward?: boolean;
  /**
   * watchdog (like Linux's hard-lockup detector): stop with reason 'watchdog' when a CPU has run this many
   * cycles in VMX root operation outside SMM with interrupts off (`cli; jmp $`); 0 or unset: off
   */
  watchdogCycles?: number;
  onUartOutput?: (source: number, text: string) => void;
}

export const DEFAULT_CONFIG: MachineConfig = {
  cpus: 2,
  memoryBytes: 64 << 20,
  model: NEHALEM,
  quantum: 1000,
  traceKeep: 0,
  disk: {},
  smi: null,
  compile: true,
};

/** SMRAM: the top 64 KiB × CPUs of RAM, like a TSEG; CPU n's SMBASE (as firmware would relocate it). */
export const SMRAM_PER_CPU = 0x10000;

/** How a CPU would run, for the fast-forward (Machine.run). */
const enum Pure {
  NONE = 0,
  SPIN = 1,
  WORK = 2,
  LOOP = 3,
}

export type StopReason = 'exit' | 'time-limit' | 'instruction-limit' | 'idle' | 'shutdown' | 'watchdog';

export interface RunLimits {
  /** stop when every runnable CPU has reached this many cycles */
  untilCycles?: number;
  /** stop after this many instructions in total (a watchdog) */
  maxInstructions?: number;
  /** overrides MachineConfig.watchdogCycles for this run */
  watchdogCycles?: number;
}

export interface RunResult {
  reason: StopReason;
  /** simulated time at the stop, in cycles */
  cycles: number;
  instructions: number;
  exitCode: number | null;
  /** reason 'watchdog': the CPU that was stuck (src/machine/watchdog.ts describes where) */
  stuckCpu?: number;
}

export class Machine {
  readonly config: MachineConfig;
  readonly memory: PhysicalMemory;
  readonly bus = new Bus();
  readonly queue = new EventQueue();
  readonly trace: Trace;
  readonly cpus: Cpu[] = [];
  readonly apics: LocalApic[] = [];
  readonly ioApic: IoApic;
  readonly uart: Uart16550;
  readonly disk: DiskController;
  readonly smiSource: UsbLegacySmi;
  /** VMCS data, keyed by VMCS region address (shared: a VMCS may move between CPUs after VMCLEAR) */
  readonly vmcsStore = new VmcsStore();
  exitCode: number | null = null;
  private exitTime = 0;
  /** CPU currently inside run(), so events scheduled meanwhile can shorten its slice */
  private running: Cpu | null = null;
  /**
   * Fast-forward epoch: advanced by anything that may change what a spinning CPU reads (an event, a
   * slice that was not pure spinning or WORK, a return to the caller, a debugger stop); a CPU's spin
   * marker (Cpu.spinEpoch) is valid only in the epoch it was set.
   */
  private epoch = 0;
  /** watchdog: per CPU, the local time since which it was seen with interrupts off in root mode (-1: not) */
  private irqOffSince: number[] = [];
  /** debugger: called at the boundary where a requested stop is served (requestStop) */
  onStop: (() => void) | null = null;
  /** debugger: while set, slices run an instruction at a time and this says after which one to stop (true) */
  onStep: ((cpu: Cpu) => boolean) | null = null;
  /** debugger: stop at the first slice boundary at or after this time (cycles) */
  stopAt = Infinity;
  private stopRequested = false;
  /** a slice cut short by a stop: finished first when the run goes on */
  private paused: { cpu: Cpu; limit: number } | null = null;
  private stepping = false;
  private sliceLimit = 0;

  constructor(config: Partial<MachineConfig> = {}) {
    this.config = { ...DEFAULT_CONFIG, ...config };
    const cfg = this.config;
    this.memory = new PhysicalMemory(cfg.memoryBytes);
    this.trace = new Trace(cfg.traceKeep);
    const costs = cpuCosts(cfg.model);
    this.queue.onSchedule = (time) => {
      if (this.running === null) return;
      if (time < this.running.runLimit) this.running.runLimit = time;
      if (time < this.sliceLimit) this.sliceLimit = time;
      if (this.paused && time < this.paused.limit) this.paused.limit = time;
    };
    for (let i = 0; i < cfg.cpus; i++) {
      const cpu = new Cpu(i, { memory: this.memory, bus: this.bus, trace: this.trace, costs, cpuCount: cfg.cpus, compile: cfg.compile, compileThreshold: cfg.compileThreshold });
      const apic = new LocalApic(i, this.queue, this.trace, this.apicHost(cpu), {
        cyclesPerTimerTick: cfg.model.events.apicTimerCyclesPerTick.cycles,
      });
      cpu.apic = apic;
      cpu.vmx = new Vmx(cpu, this.vmcsStore, this.queue, { vmExit: cfg.model.events.vmExit.cycles, vmEntry: cfg.model.events.vmEntry.cycles });
      cpu.msrDevices.push(apic, { readMsr: (msr) => cpu.vmx!.readMsr(msr), writeMsr: () => false });
      cpu.smm = new Smm(cpu, this.smbase(i), { entry: cfg.model.events.smmEntry.cycles, exit: cfg.model.events.smmExit.cycles });
      if (i > 0) cpu.state = CpuState.WaitForSipi; // APs wait for INIT-SIPI (SDM 8.4)
      this.cpus.push(cpu);
      this.apics.push(apic);
    }
    this.ioApic = new IoApic(this.trace, (dest, vector, mode, time) => {
      const apic = this.apics[dest];
      if (!apic) return;
      if (mode === 4) apic.receiveIpi(4, 0, time);
      else apic.accept(vector, time);
    });
    this.uart = new Uart16550(this.trace, { onOutput: cfg.onUartOutput });
    this.disk = new DiskController(
      this.queue,
      this.trace,
      {
        readMem: (addr, len) => this.memory.bytes.slice(addr, addr + len),
        writeMem: (addr, data) => this.memory.load(addr, data),
      },
      this.ioApic.irq(DISK_IRQ),
      { cpuHz: cfg.model.hz, ...cfg.disk },
    );
    this.smiSource = new UsbLegacySmi(
      this.queue,
      (target, time) => {
        for (const c of this.cpus) if (target === 'all' || c.id === target) c.raiseSmi(time);
        if (this.running && (target === 'all' || this.running.id === target)) this.cutSlice();
      },
      cfg.smi ?? { period: 0, work: 0, phase: 0 },
    );
    this.bus.io.map(APM_CNT_PORT, this.smiSource);
    const ev = cfg.model.events; // ACPI P_BLK: a P_LVLx read idles the reading CPU in C2/C3
    this.bus.io.map(ACPI_PBLK_PORT, new AcpiProcessorBlock({ c2Exit: ev.c2ExitLatency.cycles, c3Exit: ev.c3ExitLatency.cycles }, (c, lat) => this.cpus[c].enterCState(lat)));
    this.bus.mem.map(IOAPIC_BASE, this.ioApic);
    this.bus.io.map(COM1_PORT, this.uart);
    this.bus.io.map(DISK_PORT, this.disk);
    this.bus.io.map(
      EXIT_PORT,
      new ExitPort(this.trace, (code, time) => {
        if (this.exitCode !== null) return;
        this.exitCode = code;
        this.exitTime = time;
        this.cutSlice();
      }),
    );
  }

  private apicHost(cpu: Cpu): ApicHost {
    return {
      interruptsChanged: (time) => cpu.wakeIfInterrupted(time),
      sendIpi: (dest, icrLow, time) => this.routeIpi(cpu.id, dest, icrLow, time),
      init: () => cpu.init(),
      startup: (vector, time) => cpu.startup(vector, time),
      nmi: (time) => {
        cpu.nmiPending = true;
        cpu.wakeIfInterrupted(time);
      },
      eoi: (vector, time) => this.ioApic.eoi(vector, time),
    };
  }

  /** ICR destination shorthand (SDM 10.6.1): 0 none, 1 self, 2 all including self, 3 all excluding self. */
  private routeIpi(from: number, dest: number, icrLow: number, time: number): void {
    const mode = (icrLow >> 8) & 7;
    const vector = icrLow & 0xff;
    const shorthand = (icrLow >> 18) & 3;
    const all = this.apics.map((a) => a.id);
    const targets =
      shorthand === 1 ? [from]
      : shorthand === 2 ? all
      : shorthand === 3 ? all.filter((id) => id !== from)
      : dest === 0xffffffff ? all
      : all.filter((id) => id === dest);
    const at = time + this.config.model.events.ipiLatency.cycles;
    for (const t of targets) this.scheduleIpi(at, t, mode, vector);
  }

  /** An IPI in flight reaches APIC `t` at `at` (also: checkpoint restore). */
  scheduleIpi(at: number, t: number, mode: number, vector: number): void {
    this.queue.schedule(at, `ipi->${t}`, (tt) => this.apics[t].receiveIpi(mode, vector, tt), { owner: 'ipi', cpu: t, args: [mode, vector] });
  }

  /** SMBASE of CPU `id`: SMRAM is the top SMRAM_PER_CPU × CPUs of RAM. */
  smbase(id: number): number {
    return this.config.memoryBytes - SMRAM_PER_CPU * (this.config.cpus - id);
  }

  /** Load the SMM handler (linked at .base 0x8000, i.e. SMBASE-relative) into every CPU's SMRAM. */
  loadSmmHandler(image: Image, fileName: string): void {
    for (const c of this.cpus) loadImage(this.memory, image, fileName, this.smbase(c.id), SMRAM_PER_CPU);
  }

  /** Write the boot-parameter block the host kernel reads (boot-params.ts) at BOOT_PARAMS_ADDR. */
  writeBootParams(p: BootParams): void {
    this.memory.load(BOOT_PARAMS_ADDR, encodeBootParams(p));
  }

  /** Start the bootstrap processor at `entry`. */
  start(entry: number): void {
    this.cpus[0].eip = entry >>> 0;
    this.cpus[0].state = CpuState.Running;
  }

  /** Simulated time: the earliest local time of any CPU still running (or the exit time). */
  get now(): number {
    if (this.exitCode !== null) return this.exitTime;
    let t = Infinity;
    for (const c of this.cpus) if (c.state === CpuState.Running && c.cycles < t) t = c.cycles;
    return t === Infinity ? Math.max(this.queue.now, ...this.cpus.map((c) => c.cycles)) : t;
  }

  get instructions(): number {
    let n = 0;
    for (const c of this.cpus) n += c.instructions;
    return n;
  }

  /**
   * How CPU c would run now, if nothing reaches it: SPIN on a fixed point, WORK, LOOP (in a loop of WORK and
   * read-only instructions: Cpu.inPureWorkLoop), or NONE (anything else).
   */
  private pureKind(c: Cpu): Pure {
    if (c.spinEpoch === this.epoch && c.state === CpuState.Running && !c.intrCheck && !c.inhibit) return Pure.SPIN;
    if (c.workUnit() !== 0) return Pure.WORK;
    return c.inPureWorkLoop() ? Pure.LOOP : Pure.NONE;
  }

  /**
   * Until when every running CPU but `cpu` is sure to stay as it is (spinning on its fixed point: until
   * something else changes; in WORK: at least until its remaining units have passed), -Infinity if one is not.
   */
  private othersPureUntil(cpu: Cpu): number {
    let until = Infinity;
    for (const c of this.cpus) {
      if (c === cpu || c.state !== CpuState.Running) continue;
      const kind = this.pureKind(c);
      if (kind === Pure.NONE) return -Infinity;
      if (kind === Pure.WORK && !c.inPureWorkLoop()) until = Math.min(until, c.cycles + (c.regs[1] >>> 0) * c.workUnit());
    }
    return until;
  }

  /**
   * After CPU c's slice (kind: how it ran at the start): keep the epoch if the slice only spun on its fixed
   * point or only executed WORK (nothing another CPU can see changed), else advance it; then note whether
   * c ended spinning on a fixed point (reached in this slice: its state before that is accounted for).
   */
  private afterSlice(c: Cpu, kind: Pure, loop: boolean, instructions: number, workRuns: number): void {
    if (kind === Pure.SPIN && c.state === CpuState.Running && !c.intrCheck) return;
    if (kind === Pure.WORK && c.instructions - instructions === c.workRuns - workRuns) return;
    if ((kind === Pure.LOOP || kind === Pure.WORK) && loop) return; // stayed in its loop: nothing but registers changed
    this.epoch++;
    if (c.spinSlice === c.slices && c.state === CpuState.Running && !c.intrCheck && !c.inhibit) c.spinEpoch = this.epoch;
  }

  /**
   * Run until a limit, an exit, or nothing is left to run.
   *
   * Fast-forward (config.fastForward): while every running CPU spins on a
   * fixed point (a compiled read-only loop whose pass changes nothing:
   * compiler/block.ts) or sits in WORK, no CPU can see another until the
   * next event, so their slices need not alternate: a spinning CPU runs to
   * the next event (or `until`) in one slice — where it pauses does not
   * matter, its instruction boundaries are fixed — and a CPU in WORK skips
   * its whole quanta in closed form (Cpu.skipWorkSlices: WORK's steps do
   * depend on the slice limit, so the quanta are kept, only computed at
   * once). Events, and slices that may have changed anything, end it.
   */
  run(limits: RunLimits = {}): RunResult {
    const until = limits.untilCycles ?? Infinity;
    const maxIns = limits.maxInstructions ?? Infinity;
    const watchdog = limits.watchdogCycles ?? this.config.watchdogCycles ?? 0;
    let stuckCpu: number | undefined;
    const quantum = this.config.quantum;
    const ff = (this.config.fastForward ?? this.config.compile) && maxIns === Infinity;
    this.epoch++; // the caller may have changed memory or CPUs since the last run
    let reason: StopReason | null = null;
    while (reason === null) {
      while (this.stopRequested) {
        this.serveStop();
        this.epoch++;
      }
      if (this.exitCode !== null) { reason = 'exit'; break; }
      let cpu: Cpu | null = null;
      for (const c of this.cpus) if (c.state === CpuState.Running && (cpu === null || c.cycles < cpu.cycles)) cpu = c;
      const tEvent = this.queue.nextTime();
      if (cpu === null) {
        if (tEvent === Infinity) { reason = this.cpus.some((c) => c.state === CpuState.Halted) ? 'idle' : 'shutdown'; break; }
        if (tEvent > until) {
          // nothing runs before `until`: idle CPUs reach it (so `now` is the limit, and a caller can step on)
          for (const c of this.cpus) if (c.state === CpuState.Halted && c.cycles < until) c.cycles = until;
          reason = 'time-limit';
          break;
        }
        this.queue.fireNext();
        continue;
      }
      if (tEvent <= cpu.cycles) {
        this.queue.fireNext();
        this.epoch++;
        continue;
      }
      if (cpu.cycles >= this.stopAt) { this.stopAt = Infinity; this.requestStop(); continue; }
      if (cpu.cycles >= until) { reason = 'time-limit'; break; }
      if (this.instructions >= maxIns) { reason = 'instruction-limit'; break; }
      if (watchdog > 0 && this.lockedUp(cpu, watchdog)) { reason = 'watchdog'; stuckCpu = cpu.id; break; }
      let limit = Math.min(cpu.cycles + quantum, tEvent, until);
      if (!ff || this.onStep !== null) {
        this.running = cpu;
        this.slice(cpu, limit);
        this.running = null;
        this.epoch++;
        continue;
      }
      const kind = this.pureKind(cpu);
      const to = Math.min(tEvent, until, this.watchdogDeadline(cpu, watchdog));
      if (kind !== Pure.NONE && to !== Infinity) {
        const others = this.othersPureUntil(cpu);
        if (kind === Pure.SPIN && others >= to) limit = to; // stops where the interpreter would: at the first boundary after `to`
        else if (kind === Pure.WORK && others > cpu.cycles && cpu.skipWorkSlices(quantum, Math.min(to, others))) continue;
        else if (kind === Pure.WORK) {
          // the others wait while this CPU is behind them (lowest local time first, the lower id on a tie)
          let before = Infinity, tie = true;
          for (const c of this.cpus) {
            if (c === cpu || c.state !== CpuState.Running) continue;
            if (c.cycles < before || (c.cycles === before && c.id < cpu.id)) { before = c.cycles; tie = c.id > cpu.id; }
          }
          if (cpu.skipWorkSlices(quantum, to, before, tie)) continue;
        }
      }
      const instructions = cpu.instructions, workRuns = cpu.workRuns;
      const loop = kind !== Pure.NONE && kind !== Pure.SPIN && cpu.inPureWorkLoop();
      this.running = cpu;
      this.slice(cpu, limit);
      this.running = null;
      this.afterSlice(cpu, kind, loop, instructions, workRuns);
    }
    return { reason, cycles: this.now, instructions: this.instructions, exitCode: this.exitCode, ...(stuckCpu !== undefined && { stuckCpu }) };
  }

  /**
   * Watchdog, sampled at each slice start: has `cpu` run `limit` cycles in VMX root operation, outside SMM,
   * with interrupts off? (A guest cannot lock a CPU up: an external interrupt exits; SMM ends with RSM.)
   */
  /** When the watchdog would fire for `cpu` (a fast-forward must not jump past it). */
  private watchdogDeadline(cpu: Cpu, limit: number): number {
    const since = this.irqOffSince[cpu.id] ?? -1;
    return limit > 0 && since >= 0 ? since + limit : Infinity;
  }

  private lockedUp(cpu: Cpu, limit: number): boolean {
    const off = !cpu.nonRoot && !cpu.smm?.active && !cpu.interruptsEnabled;
    const since = this.irqOffSince[cpu.id] ?? -1;
    if (!off) {
      this.irqOffSince[cpu.id] = -1;
      return false;
    }
    if (since < 0) {
      this.irqOffSince[cpu.id] = cpu.cycles;
      return false;
    }
    return cpu.cycles - since >= limit;
  }

  // ---- debugger hooks (src/debug): stop at an event, continue exactly where the run was ----

  /**
   * Stop at the next boundary: the running CPU's slice is cut after the
   * current instruction and remembered, onStop is called, then that slice
   * is finished with its own limit before anything else runs — so a stopped
   * and continued run is the same run (same slices, same trace).
   */
  requestStop(): void {
    this.stopRequested = true;
    const r = this.running;
    if (r === null || this.paused !== null) return;
    this.paused = { cpu: r, limit: this.stepping && r.runLimit !== 0 ? this.sliceLimit : r.runLimit };
    r.runLimit = 0;
  }

  private serveStop(): void {
    this.stopRequested = false;
    this.onStop?.();
    const p = this.paused;
    if (p === null) return;
    this.paused = null;
    this.running = p.cpu;
    this.slice(p.cpu, p.limit);
    this.running = null;
  }

  /** The running CPU's slice ends now (an SMI, the exit port), a paused one too. */
  private cutSlice(): void {
    if (this.running) this.running.runLimit = 0;
    if (this.paused) this.paused.limit = 0;
  }

  /** One slice; with onStep set, an instruction (or event delivery) at a time through Cpu.stepOne, same results. */
  private slice(cpu: Cpu, limit: number): void {
    const onStep = this.onStep;
    if (onStep === null) return cpu.run(limit);
    this.stepping = true;
    this.sliceLimit = limit;
    while (cpu.state === CpuState.Running && cpu.cycles < this.sliceLimit) {
      cpu.stepOne();
      if (cpu.runLimit === 0) break; // cut: a handler, an SMI, the exit port, a stop
      if (onStep(cpu)) { this.requestStop(); break; }
    }
    this.stepping = false;
  }
}
