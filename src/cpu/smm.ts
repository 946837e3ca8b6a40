/**
 * System-management mode (SDM Vol. 3, ch. 34). An SMI is taken at an
 * instruction boundary in any mode — also in VMX non-root operation, where
 * the default treatment makes SMM invisible to the VMM (SDM 34.14.1): no VM
 * exit, the guest simply loses the time. The processor saves its state in
 * SMRAM at SMBASE + 0xFE00-0xFFFF (offsets below are the SDM's 32-bit
 * state-save map, relative to SMBASE + 0x8000), runs the handler at
 * SMBASE + 0x8000 with interrupts off and flat physical addressing, and RSM
 * restores everything. Non-architectural state (VMX non-root, the EPT
 * window, the STI shadow) stays inside the CPU, as on hardware.
 */
import { RESERVED1 } from '../isa/eflags.js';
import { TraceKind } from '../trace/trace.js';
import { CpuState, type Cpu } from './cpu.js';
import { Vector, fault } from './faults.js';

/** State-save map offsets from SMBASE + 0x8000 (SDM Table 34-1). */
export const SmmSave = {
  CR0: 0x7ffc,
  CR3: 0x7ff8,
  EFLAGS: 0x7ff4,
  EIP: 0x7ff0,
  EDI: 0x7fec,
  ESI: 0x7fe8,
  EBP: 0x7fe4,
  ESP: 0x7fe0,
  EBX: 0x7fdc,
  EDX: 0x7fd8,
  ECX: 0x7fd4,
  EAX: 0x7fd0,
  /** auto-HALT restart: bit 0 set if the SMI interrupted HLT (SDM 34.10) */
  AUTO_HALT_RESTART: 0x7f02,
  CR4: 0x7f14,
  SMM_REVISION_ID: 0x7efc,
  SMBASE: 0x7ef8,
  // vmxsim: IDTR in the implementation-specific part of the map
  IDTR_BASE: 0x7e00,
  IDTR_LIMIT: 0x7e04,
} as const;

/** SMM revision identifier: bit 17 = SMBASE relocation supported (SDM 34.11); low word an estimate. */
export const SMM_REVISION = (1 << 17) | 0x0064;
/** EAX..EDI in register order → save-map offsets */
const GPR = [SmmSave.EAX, SmmSave.ECX, SmmSave.EDX, SmmSave.EBX, SmmSave.ESP, SmmSave.EBP, SmmSave.ESI, SmmSave.EDI];

export interface SmmCosts {
  entry: number;
  exit: number;
}

/** Hidden state kept across SMM. */
interface Hidden {
  nonRoot: boolean;
  memBase: number;
  memLimit: number;
  inhibit: boolean;
}

export class Smm {
  active = false;
  smbase: number;
  /** cycles spent in SMM so far */
  cycles = 0;
  private enteredAt = 0;
  /** the SMI woke the CPU from HLT (the CPU is running again by the time enter() saves state) */
  wokeFromHlt = false;
  private hidden: Hidden | null = null;

  constructor(
    private readonly cpu: Cpu,
    smbase: number,
    private readonly costs: SmmCosts,
  ) {
    this.smbase = smbase;
  }

  /** Take a pending SMI now (the CPU calls this at an instruction boundary). */
  enter(): void {
    const c = this.cpu;
    const mem = c.platform.memory;
    const save = this.smbase + 0x8000;
    const w = (off: number, v: number): void => mem.write32(save + off, v);
    this.enteredAt = c.cycles;
    this.hidden = { nonRoot: c.nonRoot, memBase: c.memBase, memLimit: c.memLimit, inhibit: c.inhibit };
    GPR.forEach((off, i) => w(off, c.regs[i]));
    w(SmmSave.EIP, c.eip);
    w(SmmSave.EFLAGS, c.eflags);
    w(SmmSave.CR0, c.cr0);
    w(SmmSave.CR3, 0);
    w(SmmSave.CR4, c.cr4);
    w(SmmSave.IDTR_BASE, c.idtBase);
    w(SmmSave.IDTR_LIMIT, c.idtLimit);
    w(SmmSave.SMM_REVISION_ID, SMM_REVISION);
    w(SmmSave.SMBASE, this.smbase);
    mem.bytes[save + SmmSave.AUTO_HALT_RESTART] = c.state === CpuState.Halted || this.wokeFromHlt ? 1 : 0;
    this.wokeFromHlt = false;
    // SMM execution environment (SDM 34.5.1): flat, IF = 0, handler at SMBASE + 0x8000
    this.active = true;
    c.nonRoot = false;
    c.memBase = 0;
    c.memLimit = mem.size;
    c.inhibit = false;
    c.state = CpuState.Running;
    c.eflags = RESERVED1;
    c.cr0 &= ~0x80000001;
    c.cr4 = 0;
    c.eip = save;
    c.cycles += this.costs.entry;
    c.platform.trace.emit(c.cycles, c.id, TraceKind.SmiEnter, this.hidden.nonRoot ? 1 : 0, 0);
  }

  /** RSM: #UD outside SMM; restore the saved state (SDM 34.13). */
  rsm(): void {
    const c = this.cpu;
    if (!this.active) throw fault(Vector.UD);
    const mem = c.platform.memory;
    const save = this.smbase + 0x8000;
    const r = (off: number): number => mem.read32(save + off);
    GPR.forEach((off, i) => (c.regs[i] = r(off)));
    c.eflags = r(SmmSave.EFLAGS);
    c.cr0 = r(SmmSave.CR0) >>> 0;
    c.cr4 = r(SmmSave.CR4) >>> 0;
    c.idtBase = r(SmmSave.IDTR_BASE) >>> 0;
    c.idtLimit = r(SmmSave.IDTR_LIMIT) & 0xffff;
    c.next = r(SmmSave.EIP) >>> 0;
    this.smbase = r(SmmSave.SMBASE) >>> 0; // SMBASE relocation takes effect at RSM
    const h = this.hidden!;
    c.nonRoot = h.nonRoot;
    c.memBase = h.memBase;
    c.memLimit = h.memLimit;
    c.inhibit = h.inhibit;
    this.active = false;
    c.cycles += this.costs.exit;
    this.cycles += c.cycles - this.enteredAt;
    if (mem.bytes[save + SmmSave.AUTO_HALT_RESTART] & 1) {
      c.state = CpuState.Halted;
      c.runLimit = 0;
    }
    c.intrCheck = true;
    c.platform.trace.emit(c.cycles, c.id, TraceKind.SmiLeave, 0, 0);
  }
}
