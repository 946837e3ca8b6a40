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

export type StopReason = 'exit' | 'time-limit' | 'instruction-limit' | 'idle' | 'shutdown';

export interface RunLimits {
  /** stop when every runnable CPU has reached this many cycles */
  untilCycles?: number;
  /** stop after this many instructions in total (a watchdog) */
  maxInstructions?: number;
}

export interface RunResult {
  reason: StopReason;
  /** simulated time at the stop, in cycles */
  cycles: number;
  instructions: number;
  exitCode: number | null;
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

  constructor(config: Partial<MachineConfig> = {}) {
    this.config = { ...DEFAULT_CONFIG, ...config };
    const cfg = this.config;
    this.memory = new PhysicalMemory(cfg.memoryBytes);
    this.trace = new Trace(cfg.traceKeep);
    const costs = cpuCosts(cfg.model);
    this.queue.onSchedule = (time) => {
      if (this.running && time < this.running.runLimit) this.running.runLimit = time;
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
        if (this.running && (target === 'all' || this.running.id === target)) this.running.runLimit = 0;
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
        if (this.running) this.running.runLimit = 0;
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
    for (const t of targets) this.queue.schedule(at, `ipi->${t}`, (tt) => this.apics[t].receiveIpi(mode, vector, tt));
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

  run(limits: RunLimits = {}): RunResult {
    const until = limits.untilCycles ?? Infinity;
    const maxIns = limits.maxInstructions ?? Infinity;
    const quantum = this.config.quantum;
    let reason: StopReason | null = null;
    while (reason === null) {
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
      if (tEvent <= cpu.cycles) { this.queue.fireNext(); continue; }
      if (cpu.cycles >= until) { reason = 'time-limit'; break; }
      if (this.instructions >= maxIns) { reason = 'instruction-limit'; break; }
      this.running = cpu;
      cpu.run(Math.min(cpu.cycles + quantum, tEvent, until));
      this.running = null;
    }
    return { reason, cycles: this.now, instructions: this.instructions, exitCode: this.exitCode };
  }
}
