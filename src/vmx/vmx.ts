/**
 * The VMX unit of one CPU: VMX operation (VMXON region, current VMCS),
 * the VMX instructions' outcomes (VMsucceed / VMfailInvalid / VMfailValid
 * with SDM flag conventions), VM entry (checks, guest-state load, TSC
 * offset, preemption timer, event injection) and the one function that
 * performs every VM exit. Instruction handlers (src/cpu/exec/vmx.ts) are a
 * line each and call into this.
 */
import { CF, IF, RESERVED1, ZF } from '../isa/eflags.js';
import { CpuState, EventType, type Cpu } from '../cpu/cpu.js';
import { Vector, fault } from '../cpu/faults.js';
import type { EventHandle, EventQueue } from '../machine/event-queue.js';
import { TraceKind } from '../trace/trace.js';
import {
  ActivityState, CR0_FIXED0, CR0_FIXED1, CR4_FIXED0, CR4_FIXED1, CR4_VMXE, CpuBased, ExitControls, INTR_INFO_DELIVER_CODE, INTR_INFO_VALID, IntrType, Interruptibility,
  PREEMPTION_TIMER_RATE, PinBased, SecondaryExec, VMX_REVISION_ID, intrInfo, vmxCapabilityMsr,
} from './controls.js';
import { checkControls, checkGuestState, checkHostState } from './entry-checks.js';
import { readEpt, eptViolationQualification } from './ept.js';
import { EXIT_REASON_FAILED_VMENTRY, ExitReason, VmExit } from './exit-reasons.js';
import { Field as F, resolveField } from './fields.js';
import { VmInstructionError as Err } from './instruction-errors.js';
import { LaunchState, Vmcs } from './vmcs.js';

/** "No current VMCS": all ones (SDM 24.1). */
const INVALID_POINTER = -1;

export interface VmxCosts {
  vmExit: number;
  vmEntry: number;
}

/** VMCS data lives here, keyed by region address, shared by all CPUs (a VMCS may migrate after VMCLEAR). */
export class VmcsStore {
  readonly byAddress = new Map<number, Vmcs>();
  get(addr: number): Vmcs {
    let v = this.byAddress.get(addr);
    if (!v) this.byAddress.set(addr, (v = new Vmcs(addr)));
    return v;
  }
}

export class Vmx {
  /** in VMX operation (after VMXON) */
  on = false;
  vmxonPointer = INVALID_POINTER;
  currentPointer = INVALID_POINTER;
  /** the event being delivered in non-root mode (for IDT-vectoring information) and its error code */
  vectoring = 0;
  vectoringError = 0;
  /** the guest was in HLT when what causes the pending exit woke it (saved as activity state HLT, SDM 27.1) */
  wokeFromHlt = false;
  // controls of the running guest, cached at VM entry for the hot paths
  pin = 0;
  proc = 0;
  proc2 = 0;
  exceptionBitmap = 0;
  tscOffset = 0;
  private preemption: EventHandle | null = null;
  preemptionExpired = false;

  constructor(
    private readonly cpu: Cpu,
    private readonly store: VmcsStore,
    private readonly queue: EventQueue,
    private readonly costs: VmxCosts,
  ) {}

  get vmcs(): Vmcs | null {
    return this.currentPointer === INVALID_POINTER ? null : this.store.get(this.currentPointer);
  }

  readMsr(msr: number): number | bigint | undefined {
    return vmxCapabilityMsr(msr);
  }

  // ---- outcomes (SDM 30.2) -------------------------------------------------

  private succeed(): void {
    this.cpu.eflags = this.cpu.eflags & ~0x8d5; // CF PF AF ZF SF OF = 0
  }

  private failInvalid(): void {
    this.cpu.eflags = (this.cpu.eflags & ~0x8d5) | CF;
  }

  private failValid(err: Err): void {
    const v = this.vmcs;
    if (!v) return this.failInvalid();
    this.cpu.eflags = (this.cpu.eflags & ~0x8d5) | ZF;
    v.write(F.VM_INSTRUCTION_ERROR, err);
  }

  /** #UD outside VMX operation; in non-root mode the instruction exits with `reason`. */
  require(reason: ExitReason): void {
    const c = this.cpu;
    if (c.nonRoot) throw new VmExit(reason, 0, 0, 0, c.next - c.eip);
    if (!this.on) throw fault(Vector.UD);
  }

  // ---- instructions ---------------------------------------------------------

  vmxon(addr: number): void {
    const c = this.cpu;
    if (c.nonRoot) throw new VmExit(ExitReason.VMON, 0, 0, 0, c.next - c.eip);
    if (!(c.cr4 & CR4_VMXE)) throw fault(Vector.UD);
    if (this.on) return this.failValid(Err.VMXON_IN_VMX_ROOT_OPERATION);
    if (!crFixedOk(0, c.cr0) || !crFixedOk(4, c.cr4)) throw fault(Vector.GP, 0);
    if ((Number(vmxCapabilityMsr(0x3a)!) & 5) !== 5) throw fault(Vector.GP, 0);
    const region = c.read32(addr);
    if (c.read32(addr + 4) !== 0 || region % 4096 !== 0 || region + 4096 > c.platform.memory.size) return this.failInvalid();
    if ((c.platform.memory.read32(region) & 0x7fffffff) !== VMX_REVISION_ID) return this.failInvalid();
    this.on = true;
    this.vmxonPointer = region;
    this.currentPointer = INVALID_POINTER;
    this.succeed();
  }

  vmxoff(): void {
    this.require(ExitReason.VMOFF);
    this.on = false;
    this.vmxonPointer = this.currentPointer = INVALID_POINTER;
    this.succeed();
  }

  /** Read a 64-bit physical-address operand (high dword must be 0: IA32_VMX_BASIC[48]). */
  private pointerOperand(addr: number): number {
    const lo = this.cpu.read32(addr) >>> 0;
    return this.cpu.read32(addr + 4) === 0 && lo % 4096 === 0 && lo + 4096 <= this.cpu.platform.memory.size ? lo : INVALID_POINTER;
  }

  vmclear(addr: number): void {
    this.require(ExitReason.VMCLEAR);
    const p = this.pointerOperand(addr);
    if (p === INVALID_POINTER) return this.failValid(Err.VMCLEAR_INVALID_ADDRESS);
    if (p === this.vmxonPointer) return this.failValid(Err.VMCLEAR_VMXON_POINTER);
    this.store.get(p).launchState = LaunchState.Clear;
    if (p === this.currentPointer) this.currentPointer = INVALID_POINTER;
    this.succeed();
  }

  vmptrld(addr: number): void {
    this.require(ExitReason.VMPTRLD);
    const p = this.pointerOperand(addr);
    if (p === INVALID_POINTER) return this.failValid(Err.VMPTRLD_INVALID_ADDRESS);
    if (p === this.vmxonPointer) return this.failValid(Err.VMPTRLD_VMXON_POINTER);
    if ((this.cpu.platform.memory.read32(p) & 0x7fffffff) !== VMX_REVISION_ID) return this.failValid(Err.VMPTRLD_INCORRECT_VMCS_REVISION_ID);
    this.currentPointer = p;
    this.succeed();
  }

  vmptrst(addr: number): void {
    this.require(ExitReason.VMPTRST);
    this.cpu.write32(addr, this.currentPointer);
    this.cpu.write32(addr + 4, this.currentPointer === INVALID_POINTER ? -1 : 0);
    this.succeed();
  }

  /** VMREAD: the value, or undefined after a VMfail (destination unchanged). */
  vmread(encoding: number): number | undefined {
    this.require(ExitReason.VMREAD);
    const v = this.vmcs;
    if (!v) return void this.failInvalid();
    const f = resolveField(encoding >>> 0);
    if (!f) return void this.failValid(Err.UNSUPPORTED_VMCS_COMPONENT);
    this.succeed();
    return f.high ? v.readHigh(f.info.encoding) : v.read(f.info.encoding);
  }

  vmwrite(encoding: number, value: number): void {
    this.require(ExitReason.VMWRITE);
    const v = this.vmcs;
    if (!v) return this.failInvalid();
    const f = resolveField(encoding >>> 0);
    if (!f) return this.failValid(Err.UNSUPPORTED_VMCS_COMPONENT);
    if (f.info.readOnly) return this.failValid(Err.VMWRITE_READ_ONLY_VMCS_COMPONENT);
    if (f.high) v.writeHigh(f.info.encoding, value);
    else v.write(f.info.encoding, value);
    this.succeed();
  }

  /** VMCALL: an exit in non-root mode; in root mode VMfailValid(1) (no dual-monitor SMM treatment here). */
  vmcall(): void {
    const c = this.cpu;
    if (c.nonRoot) throw new VmExit(ExitReason.VMCALL, 0, 0, 0, c.next - c.eip);
    if (!this.on) throw fault(Vector.UD);
    this.failValid(Err.VMCALL_IN_VMX_ROOT);
  }

  // ---- VM entry (SDM 26) ----------------------------------------------------

  enter(resume: boolean): void {
    this.require(resume ? ExitReason.VMRESUME : ExitReason.VMLAUNCH);
    const c = this.cpu;
    // the instruction's whole cost is the transition, charged before the guest's first instruction
    c.cycles += this.costs.vmEntry;
    const v = this.vmcs;
    if (!v) return this.failInvalid();
    if (!resume && v.launchState !== LaunchState.Clear) return this.failValid(Err.VMLAUNCH_NONCLEAR_VMCS);
    if (resume && v.launchState !== LaunchState.Launched) return this.failValid(Err.VMRESUME_NONLAUNCHED_VMCS);
    const ram = c.platform.memory;
    if (checkControls(v, (a) => ram.read32(a), ram.size)) return this.failValid(Err.ENTRY_INVALID_CONTROL_FIELD);
    if (checkHostState(v)) return this.failValid(Err.ENTRY_INVALID_HOST_STATE_FIELD);
    if (checkGuestState(v)) {
      // VM-entry failure: host state is loaded as for a VM exit, guest state is not saved (SDM 26.8)
      v.write(F.VM_EXIT_REASON, (ExitReason.INVALID_STATE | EXIT_REASON_FAILED_VMENTRY) >>> 0);
      v.write(F.EXIT_QUALIFICATION, 0);
      this.loadHostState(v);
      c.platform.trace.emit(c.cycles, c.id, TraceKind.VmExit, v.read(F.VM_EXIT_REASON), 0);
      c.next = c.eip;
      return;
    }
    this.loadGuestState(v);
    if (!resume) v.launchState = LaunchState.Launched;
    c.platform.trace.emit(c.cycles, c.id, TraceKind.VmEntry, v.read(F.GUEST_RIP), 0);
    this.armPreemptionTimer(v);
    this.inject(v);
    if (c.state === CpuState.Halted) c.wakeIfInterrupted(c.cycles); // entered in HLT with something already due
    c.next = c.eip;
  }

  private loadGuestState(v: Vmcs): void {
    const c = this.cpu;
    this.pin = v.read(F.PIN_BASED_VM_EXEC_CONTROL);
    this.proc = v.read(F.CPU_BASED_VM_EXEC_CONTROL);
    this.proc2 = this.proc & CpuBased.ACTIVATE_SECONDARY_CONTROLS ? v.read(F.SECONDARY_VM_EXEC_CONTROL) : 0;
    this.exceptionBitmap = v.read(F.EXCEPTION_BITMAP);
    this.tscOffset = this.proc & CpuBased.USE_TSC_OFFSETTING ? signed64(v.readHigh(F.TSC_OFFSET), v.read(F.TSC_OFFSET)) : 0;
    const ram = c.platform.memory;
    const ept = this.proc2 & SecondaryExec.ENABLE_EPT ? readEpt(v.read(F.EPT_POINTER), (a) => ram.read32(a), ram.size)! : { base: 0, size: ram.size };
    c.memBase = ept.base;
    c.memLimit = ept.size;
    c.nonRoot = true;
    c.cr0 = v.read(F.GUEST_CR0);
    c.cr4 = v.read(F.GUEST_CR4);
    c.eip = v.read(F.GUEST_RIP);
    c.regs[4] = v.read(F.GUEST_RSP);
    c.eflags = v.read(F.GUEST_RFLAGS);
    c.idtBase = v.read(F.GUEST_IDTR_BASE);
    c.idtLimit = v.read(F.GUEST_IDTR_LIMIT);
    c.inhibit = (v.read(F.GUEST_INTERRUPTIBILITY_INFO) & Interruptibility.STI) !== 0;
    const act = v.read(F.GUEST_ACTIVITY_STATE);
    c.state = act === ActivityState.HLT ? CpuState.Halted : act === ActivityState.ACTIVE ? CpuState.Running : act === ActivityState.SHUTDOWN ? CpuState.Shutdown : CpuState.WaitForSipi;
    this.vectoring = 0;
    this.preemptionExpired = false;
    this.wokeFromHlt = false;
    c.intrCheck = true;
    if (c.state !== CpuState.Running) c.runLimit = 0;
  }

  /** Event injection through VM_ENTRY_INTR_INFO_FIELD (SDM 26.6): delivered through the guest IDT at once. */
  private inject(v: Vmcs): void {
    const info = v.read(F.VM_ENTRY_INTR_INFO_FIELD);
    if (!(info & INTR_INFO_VALID)) return;
    const c = this.cpu;
    const vector = info & 0xff;
    const type = (info >> 8) & 7;
    const code = info & INTR_INFO_DELIVER_CODE ? v.read(F.VM_ENTRY_EXCEPTION_ERROR_CODE) : undefined;
    const soft = type === IntrType.SOFT_INTR || type === IntrType.PRIV_SW_EXCEPTION || type === IntrType.SOFT_EXCEPTION;
    const returnEip = soft ? (c.eip + v.read(F.VM_ENTRY_INSTRUCTION_LEN)) >>> 0 : c.eip;
    if (c.state === CpuState.Halted) c.state = CpuState.Running; // injection wakes a HLTed guest (SDM 26.6.2)
    v.write(F.VM_ENTRY_INTR_INFO_FIELD, info & ~INTR_INFO_VALID);
    c.platform.trace.emit(c.cycles, c.id, TraceKind.VmInject, info, 0);
    c.deliver(vector, eventType(type), code, returnEip);
  }

  private armPreemptionTimer(v: Vmcs): void {
    this.queue.cancel(this.preemption);
    this.preemption = null;
    if (!(this.pin & PinBased.VMX_PREEMPTION_TIMER)) return;
    const c = this.cpu;
    this.schedulePreemption(c.cycles + v.read(F.VMX_PREEMPTION_TIMER_VALUE) * 2 ** PREEMPTION_TIMER_RATE);
  }

  /** The VMX-preemption timer fires at `at` (also: checkpoint restore, machine.ts). */
  schedulePreemption(at: number): void {
    const c = this.cpu;
    this.preemption = this.queue.schedule(at, `vmx-preemption-timer cpu${c.id}`, (t) => {
      this.preemptionExpired = true;
      c.intrCheck = true;
      if (c.state === CpuState.Halted) {
        this.wokeFromHlt = true;
        c.state = CpuState.Running;
        if (t > c.cycles) c.cycles = t;
      }
    }, { owner: 'vmx', cpu: c.id });
  }

  // ---- non-root events at an instruction boundary (SDM 25.2, 26.7.5) ---------

  /** Returns a VmExit if one is due at this boundary, else null (the CPU then delivers guest interrupts as usual). */
  pendingExit(): VmExit | null {
    const c = this.cpu;
    if (this.preemptionExpired) return new VmExit(ExitReason.PREEMPTION_TIMER);
    if (c.nmiPending && this.pin & PinBased.NMI_EXITING) {
      c.nmiPending = false;
      return new VmExit(ExitReason.EXCEPTION_NMI, 0, intrInfo(Vector.NMI, IntrType.NMI));
    }
    if (this.pin & PinBased.EXT_INTR_MASK && c.apic !== null && c.apic.pendingVector() >= 0) {
      const ack = (this.vmcs!.read(F.VM_EXIT_CONTROLS) & ExitControls.ACK_INTR_ON_EXIT) !== 0;
      const info = ack ? intrInfo(c.apic.acknowledge(c.cycles), IntrType.EXT_INTR) : 0;
      return new VmExit(ExitReason.EXTERNAL_INTERRUPT, 0, info);
    }
    if (this.proc & CpuBased.VIRTUAL_INTR_PENDING && c.eflagsRest & IF) return new VmExit(ExitReason.INTERRUPT_WINDOW);
    return null;
  }

  /** Interrupt-window exiting is on for the running guest. */
  get interruptWindowExiting(): boolean {
    return (this.proc & CpuBased.VIRTUAL_INTR_PENDING) !== 0;
  }

  /** Would a pending external interrupt end a HLT in non-root mode (as an exit)? */
  get externalInterruptExiting(): boolean {
    return (this.pin & PinBased.EXT_INTR_MASK) !== 0;
  }

  /** The exception bitmap decides whether a guest exception exits (SDM 25.2). */
  exceptionExits(vector: number): boolean {
    return ((this.exceptionBitmap >>> vector) & 1) === 1;
  }

  /** Unconditional I/O exiting, or the I/O bitmaps (A: ports 0-0x7FFF, B: 0x8000-0xFFFF; SDM 25.1.3). */
  ioExits(port: number, size: number): boolean {
    if (!(this.proc & CpuBased.USE_IO_BITMAPS)) return (this.proc & CpuBased.UNCOND_IO_EXITING) !== 0;
    const v = this.vmcs!;
    const mem = this.cpu.platform.memory;
    for (let p = port; p < port + size; p++) {
      if (p > 0xffff) return true; // wrap-around exits
      const bitmap = v.read(p < 0x8000 ? F.IO_BITMAP_A : F.IO_BITMAP_B) + ((p & 0x7fff) >> 3);
      if ((mem.bytes[bitmap] >> (p & 7)) & 1) return true;
    }
    return false;
  }

  /**
   * Without MSR bitmaps every RDMSR/WRMSR exits; with them the bit for the
   * MSR decides (SDM 24.6.9: read-low, read-high, write-low, write-high
   * bitmaps of 1 KiB each for MSRs 0-0x1FFF and 0xC0000000-0xC0001FFF).
   */
  msrExits(msr: number, write: boolean): boolean {
    if (!(this.proc & CpuBased.USE_MSR_BITMAPS)) return true;
    const high = msr >= 0xc0000000 && msr <= 0xc0001fff;
    if (msr > 0x1fff && !high) return true;
    const bit = msr & 0x1fff;
    const addr = this.vmcs!.read(F.MSR_BITMAP) + (write ? 2048 : 0) + (high ? 1024 : 0) + (bit >> 3);
    return ((this.cpu.platform.memory.bytes[addr] >> (bit & 7)) & 1) === 1;
  }

  /** Guest view of CR0/CR4: bits set in the guest/host mask read from the read shadow. */
  shadowCr(n: 0 | 4, value: number): number {
    const v = this.vmcs!;
    const mask = v.read(n === 0 ? F.CR0_GUEST_HOST_MASK : F.CR4_GUEST_HOST_MASK);
    const shadow = v.read(n === 0 ? F.CR0_READ_SHADOW : F.CR4_READ_SHADOW);
    return ((value & ~mask) | (shadow & mask)) >>> 0;
  }

  /** A guest MOV to CR0/CR4 that does not exit leaves the host-owned (masked) bits as they are (SDM 25.3). */
  guestCrWrite(n: 0 | 4, value: number, current: number): number {
    const mask = this.vmcs!.read(n === 0 ? F.CR0_GUEST_HOST_MASK : F.CR4_GUEST_HOST_MASK);
    return ((value & ~mask) | (current & mask)) >>> 0;
  }

  /** MOV to CR0/CR4 exits when it would change a host-owned bit away from the read shadow (SDM 25.1.3). */
  crWriteExits(n: 0 | 4, value: number): boolean {
    const v = this.vmcs!;
    const mask = v.read(n === 0 ? F.CR0_GUEST_HOST_MASK : F.CR4_GUEST_HOST_MASK);
    const shadow = v.read(n === 0 ? F.CR0_READ_SHADOW : F.CR4_READ_SHADOW);
    return ((value ^ shadow) & mask) !== 0;
  }

  eptViolation(gpa: number, access: 'read' | 'write' | 'fetch'): VmExit {
    return new VmExit(ExitReason.EPT_VIOLATION, eptViolationQualification(access), 0, 0, 0, gpa >>> 0);
  }

  // ---- VM exit (SDM 27): the one path --------------------------------------

  exit(e: VmExit): void {
    const c = this.cpu;
    const v = this.vmcs!;
    // save guest state (general registers are the host's job, as on hardware)
    v.write(F.GUEST_RIP, c.eip);
    v.write(F.GUEST_RSP, c.regs[4]);
    v.write(F.GUEST_RFLAGS, c.eflags);
    v.write(F.GUEST_CR0, c.cr0);
    v.write(F.GUEST_CR4, c.cr4);
    v.write(F.GUEST_IDTR_BASE, c.idtBase);
    v.write(F.GUEST_IDTR_LIMIT, c.idtLimit);
    v.write(F.GUEST_INTERRUPTIBILITY_INFO, c.inhibit || c.inStiShadow() ? Interruptibility.STI : 0);
    v.write(F.GUEST_ACTIVITY_STATE, c.state === CpuState.Halted || this.wokeFromHlt ? ActivityState.HLT : ActivityState.ACTIVE);
    this.wokeFromHlt = false;
    if (this.preemption) {
      if (v.read(F.VM_EXIT_CONTROLS) & ExitControls.SAVE_VMX_PREEMPTION_TIMER) {
        const left = Math.max(0, this.preemption.time - c.cycles);
        v.write(F.VMX_PREEMPTION_TIMER_VALUE, this.preemptionExpired ? 0 : Math.ceil(left / 2 ** PREEMPTION_TIMER_RATE));
      }
      this.queue.cancel(this.preemption);
      this.preemption = null;
    }
    // exit information
    v.write(F.VM_EXIT_REASON, e.reason);
    v.write(F.EXIT_QUALIFICATION, e.qualification);
    v.write(F.VM_EXIT_INTR_INFO, e.intrInfo);
    v.write(F.VM_EXIT_INTR_ERROR_CODE, e.intrErrorCode);
    v.write(F.VM_EXIT_INSTRUCTION_LEN, e.instructionLength);
    v.write(F.IDT_VECTORING_INFO_FIELD, this.vectoring);
    v.write(F.IDT_VECTORING_ERROR_CODE, this.vectoringError);
    if (e.reason === ExitReason.EPT_VIOLATION) v.write(F.GUEST_PHYSICAL_ADDRESS, e.guestPhysical);
    v.write(F.VM_ENTRY_INTR_INFO_FIELD, v.read(F.VM_ENTRY_INTR_INFO_FIELD) & ~INTR_INFO_VALID);
    this.vectoring = 0;
    this.loadHostState(v);
    c.cycles += this.costs.vmExit;
    c.platform.trace.emit(c.cycles, c.id, TraceKind.VmExit, e.reason, e.qualification);
  }

  /** SDM 27.5: host RIP/RSP, RFLAGS = 2, IDTR base (limit 0xFFFF), CR0/CR4; leave non-root mode. */
  private loadHostState(v: Vmcs): void {
    const c = this.cpu;
    c.nonRoot = false;
    c.memBase = 0;
    c.memLimit = c.platform.memory.size;
    c.cr0 = v.read(F.HOST_CR0);
    c.cr4 = v.read(F.HOST_CR4);
    c.eip = v.read(F.HOST_RIP);
    c.regs[4] = v.read(F.HOST_RSP);
    c.eflags = RESERVED1;
    c.idtBase = v.read(F.HOST_IDTR_BASE);
    c.idtLimit = 0xffff;
    c.inhibit = false;
    c.state = CpuState.Running;
    this.preemptionExpired = false;
    c.intrCheck = true;
  }
}

function signed64(hi: number, lo: number): number {
  return (hi | 0) * 0x100000000 + (lo >>> 0);
}

function eventType(t: IntrType): EventType {
  switch (t) {
    case IntrType.EXT_INTR: return EventType.External;
    case IntrType.NMI: return EventType.Nmi;
    case IntrType.HARD_EXCEPTION: return EventType.HardwareException;
    default: return EventType.SoftwareInterrupt;
  }
}

/** CR0/CR4 against IA32_VMX_CR{0,4}_FIXED{0,1} (SDM 23.8: enforced in VMX operation). */
export function crFixedOk(n: 0 | 4, v: number): boolean {
  const [f0, f1] = n === 0 ? [CR0_FIXED0, CR0_FIXED1] : [CR4_FIXED0, CR4_FIXED1];
  return ((v & f0) >>> 0) === f0 && ((v & ~f1) >>> 0) === 0;
}
