/**
 * One x86 core: registers, lazy flags, memory access, the instruction step
 * loop, and interrupt/exception delivery through the IDT. Instruction
 * semantics live in exec/ (one small handler per table entry); this file is
 * only the machinery around them. Exceptions are thrown as CpuFault inside a
 * handler and handled in one place, handleFault().
 */
import { IF, RESERVED1, STATUS_FLAGS, TF, WRITABLE_FLAGS } from '../isa/eflags.js';
import { NO_REG } from '../isa/registers.js';
import type { Bus } from '../devices/bus.js';
import type { AccessContext, AccessSize } from '../devices/device.js';
import { PAGE_SHIFT, PAGE_SIZE, type PhysicalMemory } from '../machine/memory.js';
import { TraceKind, type Trace } from '../trace/trace.js';
import { CpuFault, Vector, fault } from './faults.js';
import { FlagOp, carry, condition, statusFlags, type LazyFlags } from './lazy-flags.js';
import { HANDLER_FNS, LENGTHS, decodeInto } from './dispatch.js';

export enum CpuState {
  Running = 0,
  Halted = 1,
  /** an AP after reset, until a STARTUP IPI */
  WaitForSipi = 2,
  /** after a triple fault: stopped until INIT (SDM 6.15, "shutdown") */
  Shutdown = 3,
}

/** How an event reaches the IDT (also the VMX interruption type, SDM 24.8.3). */
export enum EventType {
  External = 0,
  Nmi = 2,
  HardwareException = 3,
  SoftwareInterrupt = 4,
}

export interface MsrDevice {
  readMsr(msr: number, time: number): number | undefined;
  writeMsr(msr: number, value: number, time: number): boolean;
}

/** What a CPU needs from its local APIC (see src/apic/local-apic.ts). */
export interface InterruptController extends MsrDevice {
  pendingVector(): number;
  acknowledge(time: number): number;
}

export interface CpuCosts {
  /** cycles per opcode index (from the CPU model and the opcode table) */
  perOpcode: Int32Array;
  /** IDT event delivery (push frame, load gate) */
  interruptDelivery: number;
}

export interface CpuPlatform {
  memory: PhysicalMemory;
  bus: Bus;
  trace: Trace;
  costs: CpuCosts;
  /** number of CPUs in the machine (CPUID topology) */
  cpuCount?: number;
  /** called when this CPU enters shutdown (triple fault) */
  onShutdown?(cpu: Cpu): void;
}

export class Cpu implements LazyFlags {
  readonly regs = new Int32Array(8);
  eip = 0;
  // lazy status flags (see lazy-flags.ts)
  fOp: FlagOp = FlagOp.Resolved;
  fA = 0;
  fB = 0;
  fRes = 0;
  fAux = 0;
  /** EFLAGS bits other than the six status flags (IF, DF, TF, reserved bit 1) */
  eflagsRest = RESERVED1;

  cycles = 0;
  instructions = 0;
  state = CpuState.Running;
  idtBase = 0;
  idtLimit = 0;

  /** set when the deliverable-interrupt picture may have changed */
  intrCheck = false;
  /** STI shadow: blocks interrupts before the next instruction */
  inhibit = false;
  nmiPending = false;
  /** EIP of the next instruction while a handler runs; handlers that branch set it */
  next = 0;
  /** the step loop runs while cycles < runLimit; handlers set it to 0 to stop early */
  runLimit = 0;

  /** physical address of linear 0 and the size of the accessible window (root mode: all RAM) */
  memBase = 0;
  memLimit: number;

  apic: InterruptController | null = null;
  readonly msrDevices: MsrDevice[] = [];
  private readonly ctx: AccessContext;
  private readonly mem: PhysicalMemory;
  private readonly decoded: (Int32Array | undefined)[];
  private readonly cost: Int32Array;

  constructor(
    readonly id: number,
    readonly platform: CpuPlatform,
  ) {
    this.mem = platform.memory;
    this.decoded = platform.memory.decoded;
    this.memLimit = platform.memory.size;
    this.cost = platform.costs.perOpcode;
    this.ctx = { cpu: id, time: 0 };
  }

  // ---- flags -------------------------------------------------------------

  get eflags(): number {
    return (statusFlags(this) & STATUS_FLAGS) | this.eflagsRest | RESERVED1;
  }

  set eflags(v: number) {
    const old = this.eflagsRest;
    this.fOp = FlagOp.Resolved;
    this.fAux = v & STATUS_FLAGS;
    this.eflagsRest = (v & WRITABLE_FLAGS & ~STATUS_FLAGS) | RESERVED1;
    if ((this.eflagsRest & IF) && !(old & IF)) this.intrCheck = true;
  }

  get interruptsEnabled(): boolean {
    return (this.eflagsRest & IF) !== 0;
  }

  cond(cc: number): boolean {
    return condition(this, cc);
  }

  carry(): number {
    return carry(this);
  }

  // ---- memory (linear = guest-physical in non-root mode, physical in root) -

  /** Effective address of a decoded memory operand. */
  ea(spec: number, disp: number): number {
    let a = disp;
    const base = spec & 0xf;
    if (base !== NO_REG) a += this.regs[base];
    const index = (spec >> 4) & 0xf;
    if (index !== NO_REG) a += this.regs[index] << (spec >> 8);
    return a >>> 0;
  }

  read32(addr: number): number {
    if (addr + 4 > this.memLimit) return this.readOutside(addr, 4) | 0;
    const p = this.memBase + addr;
    if ((p & 3) === 0) return this.mem.i32[p >>> 2];
    const b = this.mem.bytes;
    return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
  }

  read16(addr: number): number {
    if (addr + 2 > this.memLimit) return this.readOutside(addr, 2);
    const p = this.memBase + addr;
    const b = this.mem.bytes;
    return b[p] | (b[p + 1] << 8);
  }

  read8(addr: number): number {
    if (addr + 1 > this.memLimit) return this.readOutside(addr, 1);
    return this.mem.bytes[this.memBase + addr];
  }

  write32(addr: number, v: number): void {
    if (addr + 4 > this.memLimit) return this.writeOutside(addr, v >>> 0, 4);
    const p = this.memBase + addr;
    if ((p & 3) === 0) this.mem.i32[p >>> 2] = v;
    else {
      const b = this.mem.bytes;
      b[p] = v; b[p + 1] = v >>> 8; b[p + 2] = v >>> 16; b[p + 3] = v >>> 24;
    }
    if (this.decoded[p >>> PAGE_SHIFT] !== undefined || this.decoded[(p + 3) >>> PAGE_SHIFT] !== undefined) this.mem.invalidate(p, 4);
  }

  write16(addr: number, v: number): void {
    if (addr + 2 > this.memLimit) return this.writeOutside(addr, v & 0xffff, 2);
    const p = this.memBase + addr;
    const b = this.mem.bytes;
    b[p] = v; b[p + 1] = v >>> 8;
    if (this.decoded[p >>> PAGE_SHIFT] !== undefined || this.decoded[(p + 1) >>> PAGE_SHIFT] !== undefined) this.mem.invalidate(p, 2);
  }

  write8(addr: number, v: number): void {
    if (addr + 1 > this.memLimit) return this.writeOutside(addr, v & 0xff, 1);
    const p = this.memBase + addr;
    this.mem.bytes[p] = v;
    if (this.decoded[p >>> PAGE_SHIFT] !== undefined) this.mem.invalidate(p, 1);
  }

  /** Access beyond RAM: memory-mapped devices, else a floating bus (all ones). */
  protected readOutside(addr: number, size: AccessSize): number {
    this.ctx.time = this.cycles;
    return this.platform.bus.mem.read(addr, size, this.ctx);
  }

  protected writeOutside(addr: number, v: number, size: AccessSize): void {
    this.ctx.time = this.cycles;
    this.platform.bus.mem.write(addr, v, size, this.ctx);
  }

  push(v: number): void {
    const sp = (this.regs[4] - 4) >>> 0;
    this.write32(sp, v);
    this.regs[4] = sp;
  }

  pop(): number {
    const sp = this.regs[4] >>> 0;
    const v = this.read32(sp);
    this.regs[4] = sp + 4;
    return v;
  }

  // ---- port I/O and MSRs -------------------------------------------------

  ioRead(port: number, size: AccessSize): number {
    this.ctx.time = this.cycles;
    return this.platform.bus.io.read(port & 0xffff, size, this.ctx);
  }

  ioWrite(port: number, v: number, size: AccessSize): void {
    this.ctx.time = this.cycles;
    this.platform.bus.io.write(port & 0xffff, v, size, this.ctx);
  }

  /** RDMSR: the TSC here, everything else from the devices (APIC, VMX capabilities, ...). #GP(0) if nobody knows it. */
  readMsr(msr: number): number {
    if (msr === IA32_TIME_STAMP_COUNTER) return this.tsc();
    for (const d of this.msrDevices) {
      const v = d.readMsr(msr, this.cycles);
      if (v !== undefined) return v;
    }
    throw fault(Vector.GP, 0);
  }

  writeMsr(msr: number, value: number): void {
    for (const d of this.msrDevices) if (d.writeMsr(msr, value, this.cycles)) return;
    throw fault(Vector.GP, 0);
  }

  /** Time-stamp counter: one tick per cycle (invariant TSC). */
  tsc(): number {
    return this.cycles;
  }

  // ---- execution ---------------------------------------------------------

  /** Run until `limit` cycles, a halt, or something sets runLimit to 0. */
  run(limit: number): void {
    this.runLimit = limit;
    while (this.state === CpuState.Running && this.cycles < this.runLimit) {
      try {
        this.runInner();
      } catch (e) {
        if (e instanceof CpuFault) this.handleFault(e);
        else throw e;
      }
    }
  }

  /** Execute exactly one instruction (or deliver one pending interrupt). For tests and the debugger. */
  stepOne(): void {
    if (this.state !== CpuState.Running) return;
    this.run(this.cycles + 1e-9); // any positive budget runs one boundary
  }

  private runInner(): void {
    // locals for everything a handler cannot change, so V8 keeps them in registers
    const decoded = this.decoded;
    const bytes = this.mem.bytes;
    const cost = this.cost;
    const handlers = HANDLER_FNS;
    const lengths = LENGTHS;
    while (this.cycles < this.runLimit) {
      if (this.intrCheck) {
        if (this.inhibit) this.inhibit = false;
        else if (this.pollInterrupts()) continue;
      }
      const eip = this.eip;
      let idx: number, a: number, b: number, c: number;
      if (eip + 16 <= this.memLimit) {
        const p = this.memBase + eip;
        let page = decoded[p >>> 12];
        if (page === undefined) page = decoded[p >>> 12] = new Int32Array(PAGE_SIZE * 4);
        const o = (p & 4095) << 2;
        let op = page[o];
        if (op === 0) op = decodeInto(bytes, p, eip, page, o);
        idx = op - 1;
        a = page[o + 1]; b = page[o + 2]; c = page[o + 3];
      } else {
        const f = this.fetchOutside(eip);
        idx = f[0] - 1;
        a = f[1]; b = f[2]; c = f[3];
      }
      this.next = (eip + lengths[idx]) >>> 0;
      handlers[idx](this, a, b, c);
      this.eip = this.next;
      this.cycles += cost[idx];
      this.instructions++;
    }
  }

  /**
   * Decode at an EIP near or beyond the end of the accessible window: byte by
   * byte through the normal read path (MMIO, floating bus, or, in a guest,
   * an EPT violation), uncached. Kept out of runInner so the hot loop
   * allocates no closure context.
   */
  private fetchOutside(eip: number): Int32Array {
    decodeInto(null, 0, eip, FETCH_SCRATCH, 0, (i) => this.read8((eip + i) >>> 0));
    return FETCH_SCRATCH;
  }

  /** At an instruction boundary: deliver a pending NMI or external interrupt if allowed. */
  protected pollInterrupts(): boolean {
    if (this.nmiPending) {
      this.nmiPending = false;
      this.deliver(Vector.NMI, EventType.Nmi, undefined, this.eip);
      return true;
    }
    if ((this.eflagsRest & IF) === 0 || this.apic === null) {
      this.intrCheck = false;
      return false;
    }
    if (this.apic.pendingVector() < 0) {
      this.intrCheck = false;
      return false;
    }
    const v = this.apic.acknowledge(this.cycles);
    if (v < 0) return false;
    this.deliver(v, EventType.External, undefined, this.eip);
    return true;
  }

  /** One place where faults raised by instructions are handled. */
  protected handleFault(f: CpuFault): void {
    this.deliver(f.vector, EventType.HardwareException, f.errorCode, this.eip);
  }

  /** INT n: a trap, returns to the next instruction. */
  softwareInterrupt(vector: number): void {
    this.deliver(vector, EventType.SoftwareInterrupt, undefined, this.next);
    this.next = this.eip;
  }

  /**
   * Deliver an event through the IDT: push EFLAGS, return EIP (and an error
   * code), load the gate. A flat ring-0 machine has no CS to push. A fault
   * while delivering becomes #DF; a fault while delivering #DF is a triple
   * fault (shutdown), SDM 6.15. (x86's benign/contributory classes are
   * simplified to "any".)
   */
  deliver(vector: number, type: EventType, errorCode: number | undefined, returnEip: number): void {
    try {
      this.deliverThroughIdt(vector, type, errorCode, returnEip);
    } catch (e) {
      if (!(e instanceof CpuFault)) throw e;
      if (vector === Vector.DF && type === EventType.HardwareException) {
        this.tripleFault();
        return;
      }
      this.deliver(Vector.DF, EventType.HardwareException, 0, returnEip);
    }
  }

  private deliverThroughIdt(vector: number, type: EventType, errorCode: number | undefined, returnEip: number): void {
    const gate = vector * 8;
    if (gate + 7 > this.idtLimit) throw fault(Vector.GP, gate + 2);
    const offset = this.read32((this.idtBase + gate) >>> 0) >>> 0;
    const attr = this.read32((this.idtBase + gate + 4) >>> 0);
    if ((attr & 0x8000) === 0) throw fault(Vector.NP, gate + 2);
    const gateType = (attr >> 8) & 0xf;
    if (gateType !== GATE_INTERRUPT && gateType !== GATE_TRAP) throw fault(Vector.GP, gate + 2);
    const flags = this.eflags;
    this.push(flags);
    this.push(returnEip);
    if (errorCode !== undefined) this.push(errorCode);
    this.eflagsRest &= ~TF;
    if (gateType === GATE_INTERRUPT) this.eflagsRest &= ~IF;
    this.eip = offset;
    this.cycles += this.platform.costs.interruptDelivery;
    this.platform.trace.emit(this.cycles, this.id, TraceKind.Interrupt, vector, type);
  }

  tripleFault(): void {
    this.state = CpuState.Shutdown;
    this.runLimit = 0;
    this.platform.trace.emit(this.cycles, this.id, TraceKind.TripleFault, this.eip, 0);
    this.platform.onShutdown?.(this);
  }

  /** HLT: stop until an interrupt (or forever with IF=0). */
  halt(): void {
    this.state = CpuState.Halted;
    this.runLimit = 0;
    this.platform.trace.emit(this.cycles, this.id, TraceKind.Halt, this.next, 0);
  }

  /** Called by the machine when an interrupt may wake this CPU at `time`. */
  wakeIfInterrupted(time: number): void {
    this.intrCheck = true;
    if (this.state !== CpuState.Halted) return;
    const deliverable = this.nmiPending || ((this.eflagsRest & IF) !== 0 && this.apic !== null && this.apic.pendingVector() >= 0);
    if (!deliverable) return;
    this.state = CpuState.Running;
    if (time > this.cycles) this.cycles = time;
    this.platform.trace.emit(this.cycles, this.id, TraceKind.Wake, 0, 0);
  }

  /** A STARTUP IPI: begin executing at vector * 4 KiB (SDM 8.4.4.1). */
  startup(vector: number, time: number): void {
    if (this.state !== CpuState.WaitForSipi) return;
    this.state = CpuState.Running;
    this.eip = vector << 12;
    if (time > this.cycles) this.cycles = time;
    this.platform.trace.emit(this.cycles, this.id, TraceKind.Startup, vector, 0);
  }

  /** INIT: back to the wait-for-SIPI state with registers reset (SDM 9.1.1, simplified). */
  init(): void {
    this.regs.fill(0);
    this.eflags = 0;
    this.idtBase = 0;
    this.idtLimit = 0;
    this.inhibit = false;
    this.state = CpuState.WaitForSipi;
    this.runLimit = 0;
  }
}

export const IA32_TIME_STAMP_COUNTER = 0x10;
/** IDT gate types (SDM 6.11): 32-bit interrupt gate clears IF, trap gate does not. */
export const GATE_INTERRUPT = 0xe;
export const GATE_TRAP = 0xf;

const FETCH_SCRATCH = new Int32Array(4);
