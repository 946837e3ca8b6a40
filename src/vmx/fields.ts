/**
 * VMCS fields, keyed by their Intel encodings (SDM Vol. 3, Appendix B). The
 * encoding itself says the field's width (bits 14:13: 0 16-bit, 1 64-bit,
 * 2 32-bit, 3 natural width) and type (bits 11:10: 0 control, 1 VM-exit
 * information = read-only, 2 guest state, 3 host state); bit 0 selects the
 * high half of a 64-bit field. This is the one table: VMREAD/VMWRITE, the
 * entry checks, the exit path and the debugger's VMCS dump all read it.
 * Names are KVM's (arch/x86/include/asm/vmx.h). Natural width is 32 bits on
 * this 32-bit machine.
 */
export const Field = {
  // 16-bit
  VIRTUAL_PROCESSOR_ID: 0x0000,
  GUEST_ES_SELECTOR: 0x0800,
  GUEST_CS_SELECTOR: 0x0802,
  GUEST_SS_SELECTOR: 0x0804,
  GUEST_DS_SELECTOR: 0x0806,
  GUEST_TR_SELECTOR: 0x080e,
  HOST_ES_SELECTOR: 0x0c00,
  HOST_CS_SELECTOR: 0x0c02,
  HOST_SS_SELECTOR: 0x0c04,
  HOST_DS_SELECTOR: 0x0c06,
  HOST_TR_SELECTOR: 0x0c0c,
  // 64-bit control
  IO_BITMAP_A: 0x2000,
  IO_BITMAP_B: 0x2002,
  MSR_BITMAP: 0x2004,
  VM_EXIT_MSR_STORE_ADDR: 0x2006,
  VM_EXIT_MSR_LOAD_ADDR: 0x2008,
  VM_ENTRY_MSR_LOAD_ADDR: 0x200a,
  TSC_OFFSET: 0x2010,
  VIRTUAL_APIC_PAGE_ADDR: 0x2012,
  EPT_POINTER: 0x201a,
  // 64-bit read-only
  GUEST_PHYSICAL_ADDRESS: 0x2400,
  // 64-bit guest state
  VMCS_LINK_POINTER: 0x2800,
  GUEST_IA32_DEBUGCTL: 0x2802,
  // 32-bit control
  PIN_BASED_VM_EXEC_CONTROL: 0x4000,
  CPU_BASED_VM_EXEC_CONTROL: 0x4002,
  EXCEPTION_BITMAP: 0x4004,
  PAGE_FAULT_ERROR_CODE_MASK: 0x4006,
  PAGE_FAULT_ERROR_CODE_MATCH: 0x4008,
  CR3_TARGET_COUNT: 0x400a,
  VM_EXIT_CONTROLS: 0x400c,
  VM_EXIT_MSR_STORE_COUNT: 0x400e,
  VM_EXIT_MSR_LOAD_COUNT: 0x4010,
  VM_ENTRY_CONTROLS: 0x4012,
  VM_ENTRY_MSR_LOAD_COUNT: 0x4014,
  VM_ENTRY_INTR_INFO_FIELD: 0x4016,
  VM_ENTRY_EXCEPTION_ERROR_CODE: 0x4018,
  VM_ENTRY_INSTRUCTION_LEN: 0x401a,
  TPR_THRESHOLD: 0x401c,
  SECONDARY_VM_EXEC_CONTROL: 0x401e,
  PLE_GAP: 0x4020,
  PLE_WINDOW: 0x4022,
  // 32-bit read-only
  VM_INSTRUCTION_ERROR: 0x4400,
  VM_EXIT_REASON: 0x4402,
  VM_EXIT_INTR_INFO: 0x4404,
  VM_EXIT_INTR_ERROR_CODE: 0x4406,
  IDT_VECTORING_INFO_FIELD: 0x4408,
  IDT_VECTORING_ERROR_CODE: 0x440a,
  VM_EXIT_INSTRUCTION_LEN: 0x440c,
  VMX_INSTRUCTION_INFO: 0x440e,
  // 32-bit guest state
  GUEST_ES_LIMIT: 0x4800,
  GUEST_CS_LIMIT: 0x4802,
  GUEST_SS_LIMIT: 0x4804,
  GUEST_DS_LIMIT: 0x4806,
  GUEST_GDTR_LIMIT: 0x4810,
  GUEST_IDTR_LIMIT: 0x4812,
  GUEST_CS_AR_BYTES: 0x4816,
  GUEST_INTERRUPTIBILITY_INFO: 0x4824,
  GUEST_ACTIVITY_STATE: 0x4826,
  GUEST_SYSENTER_CS: 0x482a,
  VMX_PREEMPTION_TIMER_VALUE: 0x482e,
  // 32-bit host state
  HOST_IA32_SYSENTER_CS: 0x4c00,
  // natural-width control
  CR0_GUEST_HOST_MASK: 0x6000,
  CR4_GUEST_HOST_MASK: 0x6002,
  CR0_READ_SHADOW: 0x6004,
  CR4_READ_SHADOW: 0x6006,
  CR3_TARGET_VALUE0: 0x6008,
  CR3_TARGET_VALUE1: 0x600a,
  CR3_TARGET_VALUE2: 0x600c,
  CR3_TARGET_VALUE3: 0x600e,
  // natural-width read-only
  EXIT_QUALIFICATION: 0x6400,
  GUEST_LINEAR_ADDRESS: 0x640a,
  // natural-width guest state
  GUEST_CR0: 0x6800,
  GUEST_CR3: 0x6802,
  GUEST_CR4: 0x6804,
  GUEST_GDTR_BASE: 0x6816,
  GUEST_IDTR_BASE: 0x6818,
  GUEST_DR7: 0x681a,
  GUEST_RSP: 0x681c,
  GUEST_RIP: 0x681e,
  GUEST_RFLAGS: 0x6820,
  GUEST_PENDING_DBG_EXCEPTIONS: 0x6822,
  GUEST_SYSENTER_ESP: 0x6824,
  GUEST_SYSENTER_EIP: 0x6826,
  // natural-width host state
  HOST_CR0: 0x6c00,
  HOST_CR3: 0x6c02,
  HOST_CR4: 0x6c04,
  HOST_GDTR_BASE: 0x6c0c,
  HOST_IDTR_BASE: 0x6c0e,
  HOST_IA32_SYSENTER_ESP: 0x6c10,
  HOST_IA32_SYSENTER_EIP: 0x6c12,
  HOST_RSP: 0x6c14,
  HOST_RIP: 0x6c16,
} as const;

export type FieldName = keyof typeof Field;

export type FieldWidth = 16 | 64 | 32 | 'natural';
export type FieldType = 'control' | 'exit-info' | 'guest' | 'host';

export interface FieldInfo {
  readonly encoding: number;
  readonly name: FieldName;
  readonly width: FieldWidth;
  readonly type: FieldType;
  /** VM-exit information fields are read-only to VMWRITE (SDM 24.9) */
  readonly readOnly: boolean;
}

const WIDTHS: FieldWidth[] = [16, 64, 32, 'natural'];
const TYPES: FieldType[] = ['control', 'exit-info', 'guest', 'host'];

export const fieldWidth = (enc: number): FieldWidth => WIDTHS[(enc >> 13) & 3];
export const fieldType = (enc: number): FieldType => TYPES[(enc >> 10) & 3];

/** encoding (of the full field) → info */
export const FIELDS: ReadonlyMap<number, FieldInfo> = new Map(
  (Object.entries(Field) as [FieldName, number][]).map(([name, encoding]) => [
    encoding,
    { encoding, name, width: fieldWidth(encoding), type: fieldType(encoding), readOnly: fieldType(encoding) === 'exit-info' },
  ]),
);

/**
 * Resolve a VMREAD/VMWRITE encoding: the field and whether it is the high
 * half (bit 0 set; only 64-bit fields have one). Undefined = unsupported
 * component (VM-instruction error 12).
 */
export function resolveField(enc: number): { info: FieldInfo; high: boolean } | undefined {
  if (enc >>> 15 !== 0) return undefined; // bits 31:15 must be 0
  const high = (enc & 1) === 1;
  const info = FIELDS.get(enc & ~1);
  if (!info || (high && info.width !== 64)) return undefined;
  return { info, high };
}

/** Mask of a field's value as stored (natural width = 32 bits here). */
export function fieldMask(info: FieldInfo): number {
  return info.width === 16 ? 0xffff : 0xffffffff;
}
