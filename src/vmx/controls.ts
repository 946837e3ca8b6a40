/**
 * VM-execution, VM-exit and VM-entry control bits (SDM Vol. 3, 24.6-24.8),
 * with KVM's names, and the capability MSRs that report which settings the
 * processor allows (SDM Appendix A). The defaults are a Nehalem-class part's;
 * where a value is not documented per model it says "estimate".
 */
export const PinBased = {
  EXT_INTR_MASK: 1 << 0,
  NMI_EXITING: 1 << 3,
  VIRTUAL_NMIS: 1 << 5,
  VMX_PREEMPTION_TIMER: 1 << 6,
} as const;

export const CpuBased = {
  VIRTUAL_INTR_PENDING: 1 << 2, // interrupt-window exiting
  USE_TSC_OFFSETTING: 1 << 3,
  HLT_EXITING: 1 << 7,
  INVLPG_EXITING: 1 << 9,
  MWAIT_EXITING: 1 << 10,
  RDPMC_EXITING: 1 << 11,
  RDTSC_EXITING: 1 << 12,
  CR3_LOAD_EXITING: 1 << 15,
  CR3_STORE_EXITING: 1 << 16,
  CR8_LOAD_EXITING: 1 << 19,
  CR8_STORE_EXITING: 1 << 20,
  TPR_SHADOW: 1 << 21,
  VIRTUAL_NMI_PENDING: 1 << 22, // NMI-window exiting
  MOV_DR_EXITING: 1 << 23,
  UNCOND_IO_EXITING: 1 << 24,
  USE_IO_BITMAPS: 1 << 25,
  MONITOR_TRAP_FLAG: 1 << 27,
  USE_MSR_BITMAPS: 1 << 28,
  MONITOR_EXITING: 1 << 29,
  PAUSE_EXITING: 1 << 30,
  ACTIVATE_SECONDARY_CONTROLS: 1 << 31,
} as const;

export const SecondaryExec = {
  ENABLE_EPT: 1 << 1,
  DESC: 1 << 2,
  ENABLE_VPID: 1 << 5,
  UNRESTRICTED_GUEST: 1 << 7,
} as const;

export const ExitControls = {
  HOST_ADDR_SPACE_SIZE: 1 << 9,
  ACK_INTR_ON_EXIT: 1 << 15,
  SAVE_VMX_PREEMPTION_TIMER: 1 << 22,
} as const;

export const EntryControls = {
  IA32E_MODE: 1 << 9,
} as const;

/** Interruption-information format (SDM 24.8.3 / 24.9.2): vector | type << 8 | error-code valid << 11 | valid << 31. */
export const INTR_INFO_VALID = 0x80000000;
export const INTR_INFO_DELIVER_CODE = 1 << 11;
export const INTR_INFO_NMI_UNBLOCKED_BY_IRET = 1 << 12;
export enum IntrType {
  EXT_INTR = 0,
  NMI = 2,
  HARD_EXCEPTION = 3,
  SOFT_INTR = 4,
  PRIV_SW_EXCEPTION = 5,
  SOFT_EXCEPTION = 6,
  OTHER_EVENT = 7,
}
export const intrInfo = (vector: number, type: IntrType, errorCode = false): number =>
  (INTR_INFO_VALID | (vector & 0xff) | (type << 8) | (errorCode ? INTR_INFO_DELIVER_CODE : 0)) >>> 0;

/** Guest interruptibility state (SDM 24.4.2) and activity states. */
export const Interruptibility = {
  STI: 1 << 0,
  MOV_SS: 1 << 1,
  SMI: 1 << 2,
  NMI: 1 << 3,
} as const;

export enum ActivityState {
  ACTIVE = 0,
  HLT = 1,
  SHUTDOWN = 2,
  WAIT_SIPI = 3,
}

/** Capability MSR numbers (SDM Appendix A / Vol. 4). */
export const Msr = {
  IA32_FEATURE_CONTROL: 0x3a,
  IA32_VMX_BASIC: 0x480,
  IA32_VMX_PINBASED_CTLS: 0x481,
  IA32_VMX_PROCBASED_CTLS: 0x482,
  IA32_VMX_EXIT_CTLS: 0x483,
  IA32_VMX_ENTRY_CTLS: 0x484,
  IA32_VMX_MISC: 0x485,
  IA32_VMX_CR0_FIXED0: 0x486,
  IA32_VMX_CR0_FIXED1: 0x487,
  IA32_VMX_CR4_FIXED0: 0x488,
  IA32_VMX_CR4_FIXED1: 0x489,
  IA32_VMX_VMCS_ENUM: 0x48a,
  IA32_VMX_PROCBASED_CTLS2: 0x48b,
  IA32_VMX_EPT_VPID_CAP: 0x48c,
} as const;

/** One control word's allowed settings: bits that must be 1 (allowed-0 = 0 means "must be 1") and bits that may be 1. */
export interface AllowedBits {
  mustBe1: number;
  mayBe1: number;
}

/** The "default1" bits of each control (SDM A.2): reserved bits that must be 1. */
const PIN_DEFAULT1 = 0x16;
const PROC_DEFAULT1 = 0x0401e172;
const EXIT_DEFAULT1 = 0x00036dff;
const ENTRY_DEFAULT1 = 0x000011ff;

export const VMX_REVISION_ID = 0x0e; // estimate: a Nehalem-era revision identifier
export const VMCS_REGION_SIZE = 0x400; // estimate: 1 KiB, as reported by parts of that era
/** TSC bits the VMX-preemption timer is shifted by (IA32_VMX_MISC[4:0]); estimate for Nehalem. */
export const PREEMPTION_TIMER_RATE = 5;

export const ALLOWED = {
  pin: { mustBe1: PIN_DEFAULT1, mayBe1: PIN_DEFAULT1 | PinBased.EXT_INTR_MASK | PinBased.NMI_EXITING | PinBased.VIRTUAL_NMIS | PinBased.VMX_PREEMPTION_TIMER },
  proc: {
    mustBe1: PROC_DEFAULT1 & ~(CpuBased.CR3_LOAD_EXITING | CpuBased.CR3_STORE_EXITING), // CR3 exiting may be cleared (with EPT)
    mayBe1: PROC_DEFAULT1 | CpuBased.VIRTUAL_INTR_PENDING | CpuBased.USE_TSC_OFFSETTING | CpuBased.HLT_EXITING | CpuBased.INVLPG_EXITING |
      CpuBased.MWAIT_EXITING | CpuBased.RDPMC_EXITING | CpuBased.RDTSC_EXITING | CpuBased.CR8_LOAD_EXITING | CpuBased.CR8_STORE_EXITING |
      CpuBased.VIRTUAL_NMI_PENDING | CpuBased.MOV_DR_EXITING | CpuBased.UNCOND_IO_EXITING | CpuBased.USE_IO_BITMAPS | CpuBased.USE_MSR_BITMAPS |
      CpuBased.MONITOR_EXITING | CpuBased.PAUSE_EXITING | CpuBased.ACTIVATE_SECONDARY_CONTROLS,
  },
  secondary: { mustBe1: 0, mayBe1: SecondaryExec.ENABLE_EPT | SecondaryExec.DESC | SecondaryExec.ENABLE_VPID | SecondaryExec.UNRESTRICTED_GUEST },
  // a 32-bit processor: "host address-space size" may not be set (SDM 26.2.1.2)
  exit: { mustBe1: EXIT_DEFAULT1 & ~ExitControls.HOST_ADDR_SPACE_SIZE, mayBe1: (EXIT_DEFAULT1 & ~ExitControls.HOST_ADDR_SPACE_SIZE) | ExitControls.ACK_INTR_ON_EXIT | ExitControls.SAVE_VMX_PREEMPTION_TIMER },
  entry: { mustBe1: ENTRY_DEFAULT1, mayBe1: ENTRY_DEFAULT1 },
} satisfies Record<string, AllowedBits>;

/**
 * CR0/CR4 bits fixed in VMX operation (IA32_VMX_CR{0,4}_FIXED{0,1}). Real
 * parts report CR0_FIXED0 = 0x80000021 (PE, NE, PG); this machine models no
 * paging, so only PE and NE are required. CR4.VMXE (bit 13) must be 1.
 */
export const CR0_FIXED0 = 0x00000021;
export const CR0_FIXED1 = 0xffffffff;
export const CR4_FIXED0 = 0x00002000;
export const CR4_FIXED1 = 0x000027ff;
export const CR4_VMXE = 1 << 13;

/** Supported activity states in IA32_VMX_MISC bits 8:6 (HLT, shutdown, wait-for-SIPI). */
const MISC = PREEMPTION_TIMER_RATE | (0b111 << 6) | (4 << 16);

const pair = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

/** RDMSR values of the capability MSRs (read-only; WRMSR to them is #GP). */
export function vmxCapabilityMsr(msr: number): number | bigint | undefined {
  switch (msr) {
    case Msr.IA32_FEATURE_CONTROL:
      return 0x5; // lock (bit 0) + VMX outside SMX (bit 2), as the BIOS leaves it
    case Msr.IA32_VMX_BASIC:
      // bits 44:32 region size, bit 48 32-bit physical addresses only, bits 53:50 memory type 6 (WB)
      return pair(VMX_REVISION_ID, VMCS_REGION_SIZE | (1 << 16) | (6 << 18));
    case Msr.IA32_VMX_PINBASED_CTLS: return pair(ALLOWED.pin.mustBe1, ALLOWED.pin.mayBe1);
    case Msr.IA32_VMX_PROCBASED_CTLS: return pair(ALLOWED.proc.mustBe1, ALLOWED.proc.mayBe1);
    case Msr.IA32_VMX_EXIT_CTLS: return pair(ALLOWED.exit.mustBe1, ALLOWED.exit.mayBe1);
    case Msr.IA32_VMX_ENTRY_CTLS: return pair(ALLOWED.entry.mustBe1, ALLOWED.entry.mayBe1);
    case Msr.IA32_VMX_PROCBASED_CTLS2: return pair(ALLOWED.secondary.mustBe1, ALLOWED.secondary.mayBe1);
    case Msr.IA32_VMX_MISC: return MISC;
    case Msr.IA32_VMX_CR0_FIXED0: return CR0_FIXED0;
    case Msr.IA32_VMX_CR0_FIXED1: return CR0_FIXED1;
    case Msr.IA32_VMX_CR4_FIXED0: return CR4_FIXED0;
    case Msr.IA32_VMX_CR4_FIXED1: return CR4_FIXED1;
    case Msr.IA32_VMX_VMCS_ENUM: return 0x2e << 1; // highest index used in our encodings (VMX_PREEMPTION_TIMER_VALUE = 0x482e)
    case Msr.IA32_VMX_EPT_VPID_CAP: return 0; // our EPT is the flat base+limit model, see ept.ts
    default: return undefined;
  }
}

/** Does a control word satisfy its allowed settings? */
export const controlsValid = (value: number, a: AllowedBits): boolean =>
  ((value & a.mustBe1) >>> 0) === a.mustBe1 >>> 0 && ((value & ~a.mayBe1) >>> 0) === 0;
