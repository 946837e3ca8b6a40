/**
 * Constants every firmware and guest program sees as predefined assembler
 * symbols: MSR numbers, ports, register bits, exception vectors. They come
 * from the TypeScript definitions the emulator itself uses, so assembly and
 * emulator cannot drift apart (no hand-kept .inc file).
 */
import * as Msr from '../apic/msr.js';
import { IOAPIC_BASE, IOREGSEL, IOWIN, IOREDTBL } from '../apic/io-apic.js';
import { IA32_TIME_STAMP_COUNTER, GATE_INTERRUPT, GATE_TRAP } from '../cpu/cpu.js';
import { Vector } from '../cpu/faults.js';
import * as Disk from '../devices/disk.js';
import { EXIT_PORT } from '../devices/exit-port.js';
import { COM1_PORT, UART_LSR } from '../devices/uart.js';
import { APM_CNT_PORT } from '../devices/smi-source.js';
import { ACPI_PBLK_PORT, P_LVL2, P_LVL3 } from '../devices/acpi-pm.js';
import { DISK_IRQ } from './machine.js';
import { bootParamSymbols } from './boot-params.js';
import { CpuBased, EntryControls, ExitControls, INTR_INFO_DELIVER_CODE, INTR_INFO_VALID, IntrType, Msr as VmxMsr, PinBased, SecondaryExec, CR4_VMXE } from '../vmx/controls.js';
import { ExitReason } from '../vmx/exit-reasons.js';
import { Field } from '../vmx/fields.js';
import { Hypercall, KVM_ENOSYS } from '../vmx/hypercalls.js';
import { EPTP_MEMTYPE_WB, EPTP_WALK_LENGTH_4 } from '../vmx/ept.js';

const prefixed = (prefix: string, o: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [prefix + k, v]));
const enumEntries = (e: Record<string, string | number>): Record<string, number> =>
  Object.fromEntries(Object.entries(e).filter(([, v]) => typeof v === 'number')) as Record<string, number>;

function numeric(mod: Record<string, unknown>, filter: (name: string) => boolean = () => true): Record<string, number> {
  return Object.fromEntries(Object.entries(mod).filter(([k, v]) => typeof v === 'number' && filter(k))) as Record<string, number>;
}

export const PLATFORM_SYMBOLS: Readonly<Record<string, number>> = {
  ...numeric(Msr, (k) => /^(IA32_|X2APIC_|DELIVERY_|ESR_|SVR_|LVT_MASK)/.test(k)),
  IA32_TIME_STAMP_COUNTER,
  // LVT timer modes (SDM 10.5.4.1) and ICR fields (SDM 10.6.1)
  LVT_TIMER_ONESHOT: 0,
  LVT_TIMER_PERIODIC: 1 << 17,
  LVT_TIMER_TSC_DEADLINE: 2 << 17,
  ICR_INIT: Msr.DELIVERY_INIT << 8,
  ICR_STARTUP: Msr.DELIVERY_STARTUP << 8,
  ICR_NMI: Msr.DELIVERY_NMI << 8,
  ICR_LEVEL_ASSERT: 1 << 14,
  ICR_SELF: 1 << 18,
  ICR_ALL_INCLUDING_SELF: 2 << 18,
  ICR_ALL_EXCLUDING_SELF: 3 << 18,
  // IDT gate attribute words: present | type << 8 (see Cpu.deliverThroughIdt)
  IDT_INTERRUPT_GATE: 0x8000 | (GATE_INTERRUPT << 8),
  IDT_TRAP_GATE: 0x8000 | (GATE_TRAP << 8),
  ...Object.fromEntries(Object.entries(Vector).filter(([, v]) => typeof v === 'number').map(([k, v]) => [`VEC_${k}`, v as number])),
  IOAPIC_BASE, IOAPIC_IOREGSEL: IOREGSEL, IOAPIC_IOWIN: IOWIN, IOAPIC_IOREDTBL: IOREDTBL,
  COM1_PORT, UART_LSR, UART_LSR_THRE: 0x20,
  EXIT_PORT,
  APM_CNT_PORT,
  ACPI_PBLK_PORT, ACPI_P_LVL2: P_LVL2, ACPI_P_LVL3: P_LVL3,
  ...numeric(Disk, (k) => /^(DISK_|SECTOR_SIZE)/.test(k)),
  DISK_IRQ,
  // VMX: VMCS field encodings, exit reasons, controls and MSRs under KVM's names
  ...Field,
  ...prefixed('EXIT_REASON_', enumEntries(ExitReason)),
  ...prefixed('PIN_BASED_', PinBased),
  ...prefixed('CPU_BASED_', CpuBased),
  ...prefixed('SECONDARY_EXEC_', SecondaryExec),
  ...prefixed('VM_EXIT_', ExitControls),
  ...prefixed('VM_ENTRY_', EntryControls),
  ...VmxMsr,
  X86_CR4_VMXE: CR4_VMXE,
  INTR_INFO_VALID_MASK: INTR_INFO_VALID,
  INTR_INFO_DELIVER_CODE_MASK: INTR_INFO_DELIVER_CODE,
  ...Object.fromEntries(Object.entries(enumEntries(IntrType)).map(([k, v]) => [`INTR_TYPE_${k}`, v << 8])),
  VMX_EPTP_MT_WB: EPTP_MEMTYPE_WB,
  VMX_EPTP_PWL_4: EPTP_WALK_LENGTH_4,
  ...Hypercall,
  KVM_ENOSYS,
  // the boot-parameter block written by the emulator (boot-params.ts)
  ...bootParamSymbols(),
};
