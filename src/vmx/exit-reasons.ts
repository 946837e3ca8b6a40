/**
 * Basic exit reasons (SDM Vol. 3, Appendix C) with KVM's names
 * (EXIT_REASON_* in arch/x86/include/uapi/asm/vmx.h).
 */
export enum ExitReason {
  EXCEPTION_NMI = 0,
  EXTERNAL_INTERRUPT = 1,
  TRIPLE_FAULT = 2,
  INIT_SIGNAL = 3,
  SIPI_SIGNAL = 4,
  INTERRUPT_WINDOW = 7,
  NMI_WINDOW = 8,
  TASK_SWITCH = 9,
  CPUID = 10,
  HLT = 12,
  INVD = 13,
  INVLPG = 14,
  RDPMC = 15,
  RDTSC = 16,
  RSM = 17,
  VMCALL = 18,
  VMCLEAR = 19,
  VMLAUNCH = 20,
  VMPTRLD = 21,
  VMPTRST = 22,
  VMREAD = 23,
  VMRESUME = 24,
  VMWRITE = 25,
  VMOFF = 26,
  VMON = 27,
  CR_ACCESS = 28,
  DR_ACCESS = 29,
  IO_INSTRUCTION = 30,
  MSR_READ = 31,
  MSR_WRITE = 32,
  INVALID_STATE = 33,
  MSR_LOAD_FAIL = 34,
  MWAIT_INSTRUCTION = 36,
  MONITOR_TRAP_FLAG = 37,
  MONITOR_INSTRUCTION = 39,
  PAUSE_INSTRUCTION = 40,
  MCE_DURING_VMENTRY = 41,
  TPR_BELOW_THRESHOLD = 43,
  APIC_ACCESS = 44,
  GDTR_IDTR = 46,
  EPT_VIOLATION = 48,
  EPT_MISCONFIG = 49,
  PREEMPTION_TIMER = 52,
}

/** Bit 31 of VM_EXIT_REASON: the exit is a VM-entry failure (SDM 24.9.1). */
export const EXIT_REASON_FAILED_VMENTRY = 0x80000000;

export function exitReasonName(reason: number): string {
  const basic = reason & 0xffff;
  const name = ExitReason[basic] ?? `reason ${basic}`;
  return reason & EXIT_REASON_FAILED_VMENTRY ? `${name} (VM-entry failure)` : name;
}

/**
 * A VM exit raised inside an instruction or at an instruction boundary,
 * handled in one place (the CPU's step loop → Vmx.exit). A typed object, not
 * an Error: no stack is captured.
 */
export class VmExit {
  constructor(
    readonly reason: number,
    readonly qualification = 0,
    /** VM_EXIT_INTR_INFO for exception/NMI/external-interrupt exits */
    readonly intrInfo = 0,
    readonly intrErrorCode = 0,
    /** VM_EXIT_INSTRUCTION_LEN for instruction-caused exits */
    readonly instructionLength = 0,
    readonly guestPhysical = 0,
  ) {}
}
