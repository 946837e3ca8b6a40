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
import { ExitReason, VmExit } from '../vmx/exit-reasons.js';
import { IntrType, intrInfo } from '../vmx/controls.js';
import { crFixedOk, type Vmx } from '../vmx/vmx.js';
import type { Smm } from './smm.js';
import { CpuFault, Vector, fault } from './faults.js';
import { FlagOp, carry, condition, statusFlags, type LazyFlags } from './lazy-flags.js';
import { DISPATCH, HANDLER_FNS, LENGTHS, decodeInto } from './dispatch.js';
import { codeCacheFor, type CodeCache } from './compiler/cache.js';
import { BLOCK_END, KINDS, Kind, READ_ONLY } from './compiler/classify.js';

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
  /** a number when it fits in 53 bits, else a bigint (VMX capability MSRs) */
  readMsr(msr: number, time: number): number | bigint | undefined;
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
  /** run hot code through the block compiler (src/cpu/compiler/); default false: interpreter only */
  compile?: boolean;
  /** block-start executions before compiling (default: compiler/cache.ts DEFAULT_THRESHOLD) */
  compileThreshold?: number;
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
  /** instruction count of the instruction executing in an STI shadow (see inStiShadow) */
  private shadowInstruction = -1;
  nmiPending = false;
  /** NMIs are blocked from NMI delivery until the next IRET (SDM 6.7.1) */
  nmiBlocked = false;
  /** an SMI is latched (taken at the next boundary, whatever IF or the STI shadow say) */
  smiPending = false;
  smm: Smm | null = null;
  /** EIP of the next instruction while a handler runs; handlers that branch set it */
  next = 0;
  /** the step loop runs while cycles < runLimit; handlers set it to 0 to stop early */
  runLimit = 0;
  /** time slices run so far (calls of run()) */
  slices = 0;
  /** the slice in which a compiled spin loop last reached its fixed point (compiler/block.ts spinCheck) */
  spinSlice = -1;
  /** machine.ts: the fast-forward epoch in which this CPU was last seen spinning on a fixed point (-1: not) */
  spinEpoch = -1;
  /** executions of WORK (machine.ts tells a slice of nothing but WORK by it) */
  workRuns = 0;

  /** physical address of linear 0 and the size of the accessible window (root mode: all RAM) */
  memBase = 0;
  memLimit: number;

  /** CR0 (reset: PE | ET — this machine starts in flat protected mode) and CR4 */
  cr0 = 0x11;
  cr4 = 0;
  /** VMX non-root operation (running a guest) */
  nonRoot = false;
  vmx: Vmx | null = null;

  apic: InterruptController | null = null;
  readonly msrDevices: MsrDevice[] = [];
  private readonly ctx: AccessContext;
  private readonly mem: PhysicalMemory;
  private readonly decoded: (Int32Array | undefined)[];
  private readonly cost: Int32Array;
  /** the block compiler's cache (shared by the CPUs on this memory), null when compiling is off */
  readonly code: CodeCache | null;

  constructor(
    readonly id: number,
    readonly platform: CpuPlatform,
  ) {
    this.mem = platform.memory;
    this.decoded = platform.memory.decoded;
    this.memLimit = platform.memory.size;
    this.cost = platform.costs.perOpcode;
    this.code = platform.compile ? codeCacheFor(platform.memory, this.cost, platform.compileThreshold) : null;
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
    if (this.mem.watched(p, 4)) this.mem.invalidate(p, 4); // decoded or compiled code there (memory.ts)
  }

  write16(addr: number, v: number): void {
    if (addr + 2 > this.memLimit) return this.writeOutside(addr, v & 0xffff, 2);
    const p = this.memBase + addr;
    const b = this.mem.bytes;
    b[p] = v; b[p + 1] = v >>> 8;
    if (this.mem.watched(p, 2)) this.mem.invalidate(p, 2);
  }

  write8(addr: number, v: number): void {
    if (addr + 1 > this.memLimit) return this.writeOutside(addr, v & 0xff, 1);
    const p = this.memBase + addr;
    this.mem.bytes[p] = v;
    if (this.mem.watched(p, 1)) this.mem.invalidate(p, 1);
  }

  /** Access beyond RAM: memory-mapped devices, else a floating bus (all ones). */
  protected readOutside(addr: number, size: AccessSize): number {
    this.mem.blockBreak = 1; // a device may raise an interrupt or move the run limit: a compiled block stops here
    if (this.nonRoot) throw this.vmx!.eptViolation(Math.max(addr, this.memLimit), this.fetching ? 'fetch' : 'read');
    this.ctx.time = this.cycles;
    return this.platform.bus.mem.read(addr, size, this.ctx);
  }

  protected writeOutside(addr: number, v: number, size: AccessSize): void {
    this.mem.blockBreak = 1;
    if (this.nonRoot) throw this.vmx!.eptViolation(Math.max(addr, this.memLimit), 'write');
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
  readMsr(msr: number): number | bigint {
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

  /** Time-stamp counter: one tick per cycle (invariant TSC); a guest sees TSC_OFFSET added (SDM 25.3). */
  tsc(): number {
    return this.nonRoot ? this.cycles + this.vmx!.tscOffset : this.cycles;
  }

  /** Is the current instruction the one after STI? (a VM exit it causes saves blocking by STI, SDM 27.3.4) */
  inStiShadow(): boolean {
    return this.shadowInstruction === this.instructions;
  }

  /** In non-root mode, raise the VM exit `reason` for the current instruction when `cond` holds. */
  exitIf(cond: boolean, reason: ExitReason, qualification = 0): void {
    if (cond) throw new VmExit(reason, qualification, 0, 0, this.next - this.eip);
  }

  /** MOV from CR0/CR2/CR3/CR4 (others #UD). A guest reads host-owned bits from the read shadow (SDM 25.3). */
  readCr(n: number): number {
    if (n === 0) return this.nonRoot ? this.vmx!.shadowCr(0, this.cr0) : this.cr0;
    if (n === 4) return this.nonRoot ? this.vmx!.shadowCr(4, this.cr4) : this.cr4;
    if (n === 2 || n === 3) return 0; // no paging modelled
    throw fault(Vector.UD);
  }

  /** MOV to CR0/CR4 (CR2/CR3 accepted and ignored: no paging). A guest changing a host-owned bit exits (reason 28). */
  writeCr(n: number, v: number, reg: number): void {
    if (n !== 0 && n !== 2 && n !== 3 && n !== 4) throw fault(Vector.UD);
    if (n !== 0 && n !== 4) return;
    if (this.nonRoot) {
      this.exitIf(this.vmx!.crWriteExits(n, v), ExitReason.CR_ACCESS, n | (reg << 8));
      v = this.vmx!.guestCrWrite(n, v, n === 0 ? this.cr0 : this.cr4);
    }
    // in VMX operation CR0/CR4 must keep their fixed bits (SDM 23.8), e.g. CR4.VMXE
    if ((this.vmx?.on || this.nonRoot) && !crFixedOk(n, v)) throw fault(Vector.GP, 0);
    if (n === 0) this.cr0 = v >>> 0;
    else this.cr4 = v >>> 0;
  }

  // ---- execution ---------------------------------------------------------

  /** Run until `limit` cycles, a halt, or something sets runLimit to 0. */
  run(limit: number): void {
    this.runLimit = limit;
    this.slices++;
    while (this.state === CpuState.Running && this.cycles < this.runLimit) {
      try {
        this.runInner();
      } catch (e) {
        this.handleEvent(e);
      }
    }
  }

  /**
   * Execute exactly one instruction (or deliver one pending event). For tests
   * and the debugger: every step costs at least one cycle (the CPU model has
   * no zero-cost class), so half a cycle of budget is exactly one step.
   */
  stepOne(): void {
    if (this.state !== CpuState.Running) return;
    this.run(this.cycles + 0.5);
  }

  private runInner(): void {
    // locals for everything a handler cannot change, so V8 keeps them in registers
    const decoded = this.decoded;
    const bytes = this.mem.bytes;
    const cost = this.cost;
    const handlers = HANDLER_FNS;
    const lengths = LENGTHS;
    // block compiler: `entry` = this EIP may start a block (after a control transfer, an uncompilable instruction, an event)
    const code = this.code;
    const ends = BLOCK_END;
    let entry = true;
    while (this.cycles < this.runLimit) {
      if (this.intrCheck) {
        if (this.smiPending && !this.smm!.active) {
          this.smiPending = false;
          this.smm!.enter();
          entry = true;
          continue;
        }
        if (this.inhibit) {
          this.inhibit = false;
          this.shadowInstruction = this.instructions; // the instruction about to run is in the STI shadow
        }
        else if (this.pollInterrupts()) { entry = true; continue; }
      }
      const eip = this.eip;
      let idx: number, a: number, b: number, c: number;
      if (eip + 16 <= this.memLimit) {
        const p = this.memBase + eip;
        // block compiler: run the compiled block starting here (exact: see compiler/block.ts), or count towards compiling it
        if (entry && code !== null && !this.intrCheck && code.tryRun(this, p, eip)) continue;
        let page = decoded[p >>> 12];
        if (page === undefined) page = decoded[p >>> 12] = new Int32Array(PAGE_SIZE * 4);
        const o = (p & 4095) << 2;
        let op = page[o];
        if (op === 0) {
          op = decodeInto(bytes, p, eip, page, o);
          this.mem.noteDecoded(p); // keeps writes to data next to code cheap (memory.ts invalidate)
        }
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
      entry = ends[idx] !== 0;
    }
  }

  /**
   * The unit (cycles) of the WORK instruction this CPU is about to execute
   * with ECX > 0 and nothing pending, or 0. Such a CPU touches nothing but
   * its cycles, instruction count and ECX until an event (exec/model.ts).
   */
  workUnit(): number {
    if (this.state !== CpuState.Running || this.intrCheck || this.inhibit || this.regs[1] === 0) return 0;
    const eip = this.eip;
    if (eip + 16 > this.memLimit) return 0;
    const p = this.memBase + eip;
    const page = this.decoded[p >>> 12];
    if (page === undefined) return 0;
    const o = (p & 4095) << 2;
    const idx = page[o] - 1;
    if (idx === WORK_R) return page[o + 1] === 1 ? 0 : this.regs[page[o + 1]] >>> 0 || 1; // a unit in ECX itself changes as it counts
    if (idx === WORK_I) return page[o + 1] >>> 0 || 1;
    return 0;
  }

  /**
   * Whether this CPU is in a loop of WORK and read-only instructions with no
   * branch but direct JMPs (a CPU hog: `mov ecx, N; work U; jmp back`), so
   * that, until an interrupt, it never writes memory or touches a device,
   * however many times its WORK runs out. Decodes at most a few
   * instructions from EIP through the decode cache (nothing decoded there
   * yet: no).
   */
  inPureWorkLoop(): boolean {
    if (this.state !== CpuState.Running || this.intrCheck || this.inhibit) return false;
    const start = this.eip;
    let eip = start, work = false;
    for (let i = 0; i < 8; i++) {
      if (eip + 16 > this.memLimit) return false;
      const p = this.memBase + eip;
      const page = this.decoded[p >>> 12];
      if (page === undefined) return false;
      const o = (p & 4095) << 2;
      const idx = page[o] - 1;
      if (idx < 0) return false;
      if (idx === WORK_I || idx === WORK_R) work = true;
      else if (READ_ONLY[idx] !== 1 || KINDS[idx] === Kind.Jcc) return false;
      eip = KINDS[idx] === Kind.JmpRel ? page[o + 1] >>> 0 : (eip + LENGTHS[idx]) >>> 0;
      if (eip === start) return work;
    }
    return false;
  }

  /**
   * WORK under the machine's time slices, in closed form. While this CPU
   * sits in WORK (workUnit() > 0) and nothing else can reach it, each slice
   * run(cycles + quantum) executes WORK the same way (the units that fit are
   * a function of runLimit - cycles only, see exec/model.ts), so it adds the
   * same cycles, instructions and units. Skip the whole slices that end by
   * `limit` and start before `before` (or at it, with `tie`), leaving
   * ECX > 0; returns whether any were skipped. Exactly what the machine
   * would get slice by slice, at O(1) (only for integer times, where the
   * arithmetic is exact).
   */
  skipWorkSlices(quantum: number, limit: number, before = Infinity, tie = false): boolean {
    const u = this.workUnit();
    if (u === 0 || !Number.isInteger(this.cycles) || !Number.isInteger(limit) || !Number.isInteger(quantum)) return false;
    const w = this.cost[WORK_I];
    if (this.cost[WORK_R] !== w) return false; // both forms are one cost class
    let dc = 0, dn = 0, di = 0; // one slice: cycles, units, executions (runInner's loop with runLimit = quantum)
    while (dc < quantum) {
      const k = Math.max(1, Math.floor((quantum - dc) / u));
      dc += k * u + w;
      dn += k;
      di++;
    }
    const n = this.regs[1] >>> 0;
    const starts = before === Infinity ? Infinity : tie ? Math.floor((before - this.cycles) / dc) + 1 : Math.ceil((before - this.cycles) / dc);
    const m = Math.min(Math.floor((limit - quantum - this.cycles) / dc) + 1, Math.floor((n - 1) / dn), starts);
    if (!(m > 0)) return false;
    this.cycles += m * dc;
    this.instructions += m * di;
    this.workRuns += m * di;
    this.regs[1] = n - m * dn;
    return true;
  }

  /**
   * Decode at an EIP near or beyond the end of the accessible window: byte by
   * byte through the normal read path (MMIO, floating bus, or, in a guest,
   * an EPT violation), uncached. Kept out of runInner so the hot loop
   * allocates no closure context.
   */
  private fetchOutside(eip: number): Int32Array {
    this.fetching = true;
    try {
      decodeInto(null, 0, eip, FETCH_SCRATCH, 0, (i) => this.read8((eip + i) >>> 0));
    } finally {
      this.fetching = false;
    }
    return FETCH_SCRATCH;
  }
  private fetching = false;

  /** At an instruction boundary: deliver a pending NMI or external interrupt if allowed. */
  protected pollInterrupts(): boolean {
    if (this.nonRoot) {
      const exit = this.vmx!.pendingExit();
      if (exit) throw exit;
      this.vmx!.wokeFromHlt = false; // no exit: the guest simply resumes after its HLT
    }
    if (this.nmiPending && !this.nmiBlocked && !this.smm?.active) {
      this.nmiPending = false;
      this.nmiBlocked = true;
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

  /**
   * The one place where what an instruction raised is handled: a fault is
   * delivered (or, in a guest, may exit through the exception bitmap); a VM
   * exit — raised by an instruction, at a boundary, or while delivering an
   * event — goes through Vmx.exit.
   */
  protected handleEvent(e: unknown): void {
    try {
      if (e instanceof CpuFault) this.exception(e.vector, e.errorCode, this.eip);
      else if (e instanceof VmExit) this.vmx!.exit(e);
      else throw e;
    } catch (nested) {
      if (nested instanceof VmExit) this.vmx!.exit(nested);
      else throw nested;
    }
  }

  /** Raise exception `vector`: a VM exit if the guest's exception bitmap says so (SDM 25.2), else IDT delivery. */
  exception(vector: number, errorCode: number | undefined, returnEip: number): void {
    if (this.nonRoot && this.vmx!.exceptionExits(vector)) {
      throw new VmExit(ExitReason.EXCEPTION_NMI, 0, intrInfo(vector, IntrType.HARD_EXCEPTION, errorCode !== undefined), errorCode ?? 0);
    }
    this.deliver(vector, EventType.HardwareException, errorCode, returnEip);
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
      // SDM Table 6-5: only contributory/#PF on contributory/#PF is a double fault; otherwise the second is handled serially
      if (type === EventType.HardwareException && causesDoubleFault(vector, e.vector)) this.exception(Vector.DF, 0, returnEip);
      else this.exception(e.vector, e.errorCode, this.eip);
    }
  }

  private deliverThroughIdt(vector: number, type: EventType, errorCode: number | undefined, returnEip: number): void {
    const gate = vector * 8;
    if (this.nonRoot) {
      // recorded before the gate is read: an exit while delivering reports this event (SDM 27.2.4)
      this.vmx!.vectoring = intrInfo(vector, type as number as IntrType, errorCode !== undefined);
      this.vmx!.vectoringError = errorCode ?? 0;
    }
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
    if (this.nonRoot) this.vmx!.vectoring = 0;
    this.cycles += this.platform.costs.interruptDelivery;
    this.platform.trace.emit(this.cycles, this.id, TraceKind.Interrupt, vector, type);
  }

  /** Triple fault: shutdown (SDM 6.15); in a guest, a VM exit with reason 2 instead. */
  tripleFault(): void {
    if (this.nonRoot) throw new VmExit(ExitReason.TRIPLE_FAULT);
    this.state = CpuState.Shutdown;
    this.runLimit = 0;
    this.platform.trace.emit(this.cycles, this.id, TraceKind.TripleFault, this.eip, 0);
    this.platform.onShutdown?.(this);
  }

  /** Cycles charged when this halted CPU next wakes (an ACPI C-state's exit latency; 0 for HLT = C1). */
  wakePenalty = 0;

  /** Enter a deeper C-state (an ACPI P_LVLx read): halt as HLT does, paying `exitLatency` on wake-up. */
  enterCState(exitLatency: number): void {
    this.halt();
    if (this.state === CpuState.Halted) this.wakePenalty = exitLatency; // not woken at once by a pending interrupt
  }

  /** HLT: stop until an interrupt (or forever with IF=0). An interrupt already pending ends it at once (the `sti; hlt` idiom). */
  halt(): void {
    this.state = CpuState.Halted;
    this.runLimit = 0;
    this.platform.trace.emit(this.cycles, this.id, TraceKind.Halt, this.next, 0);
    this.wakeIfInterrupted(this.cycles);
  }

  /** Assert SMI# (from the platform's SMI source): wakes HLT; taken at the next boundary. */
  raiseSmi(time: number): void {
    if (this.state === CpuState.WaitForSipi || this.state === CpuState.Shutdown) return;
    this.smiPending = true;
    this.intrCheck = true;
    if (this.state === CpuState.Halted) {
      this.smm!.wokeFromHlt = true; // saved as auto-HALT restart (SDM 34.10)
      this.state = CpuState.Running;
      if (time > this.cycles) this.cycles = time;
    }
  }

  /** Called by the machine when an interrupt may wake this CPU at `time`. */
  wakeIfInterrupted(time: number): void {
    this.intrCheck = true;
    if (this.state !== CpuState.Halted) return;
    const apicPending = this.apic !== null && this.apic.pendingVector() >= 0;
    // in a guest with external-interrupt exiting, any pending interrupt ends HLT (as an exit) whatever IF says
    // an interrupt-window exit also ends HLT (SDM 25.2): the guest can take the interrupt its VMM holds
    const windowExit = this.nonRoot && (this.eflagsRest & IF) !== 0 && this.vmx!.interruptWindowExiting;
    const deliverable = windowExit || this.nmiPending || (apicPending && ((this.eflagsRest & IF) !== 0 || (this.nonRoot && this.vmx!.externalInterruptExiting)));
    if (!deliverable) return;
    if (this.nonRoot) this.vmx!.wokeFromHlt = true;
    this.state = CpuState.Running;
    if (time > this.cycles) this.cycles = time;
    // leaving an ACPI C-state (devices/acpi-pm.ts): its exit latency passes before the next instruction
    this.cycles += this.wakePenalty;
    this.wakePenalty = 0;
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

/** SDM Table 6-5: contributory exceptions (#DE, #TS, #NP, #SS, #GP) and #PF. */
const CONTRIBUTORY = new Set([0, 10, 11, 12, 13]);
function causesDoubleFault(first: number, second: number): boolean {
  if (CONTRIBUTORY.has(first)) return CONTRIBUTORY.has(second);
  if (first === 14) return second === 14 || CONTRIBUTORY.has(second);
  return false;
}
/** IDT gate types (SDM 6.11): 32-bit interrupt gate clears IF, trap gate does not. */
export const GATE_INTERRUPT = 0xe;
export const GATE_TRAP = 0xf;

const FETCH_SCRATCH = new Int32Array(4);
const WORK_R = DISPATCH.findIndex((d) => d.entry?.mnemonic === 'work' && d.entry.form.name === 'r');
const WORK_I = DISPATCH.findIndex((d) => d.entry?.mnemonic === 'work' && d.entry.form.name === 'i');
