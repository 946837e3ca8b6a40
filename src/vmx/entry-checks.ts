/**
 * The VM-entry checks, in the SDM's order (Vol. 3, 26.2-26.3): VM-execution,
 * exit and entry controls, then host state (a failure of either is
 * VMfailValid 7 or 8 and the VMLAUNCH/VMRESUME falls through), then guest
 * state (a failure is a VM-entry-failure exit, reason 33 | 0x80000000).
 * Each returns the first rule broken, as a sentence, or null.
 */
import { RESERVED1 } from '../isa/eflags.js';
import {
  ALLOWED, ActivityState, CR0_FIXED0, CR0_FIXED1, CR4_FIXED0, CR4_FIXED1, CpuBased, INTR_INFO_DELIVER_CODE,
  INTR_INFO_VALID, IntrType, Interruptibility, PinBased, SecondaryExec, controlsValid,
} from './controls.js';
import { readEpt } from './ept.js';
import { Field as F } from './fields.js';
import type { Vmcs } from './vmcs.js';

const hasErrorCode = (v: number): boolean => v === 8 || (v >= 10 && v <= 14) || v === 17;
const fixedOk = (v: number, fixed0: number, fixed1: number): boolean => ((v & fixed0) >>> 0) === fixed0 && ((v & ~fixed1) >>> 0) === 0;

/** SDM 26.2.1: VM-execution, VM-exit and VM-entry control fields. */
export function checkControls(v: Vmcs, read32: (a: number) => number, ramSize: number): string | null {
  const pin = v.read(F.PIN_BASED_VM_EXEC_CONTROL);
  const proc = v.read(F.CPU_BASED_VM_EXEC_CONTROL);
  const proc2 = proc & CpuBased.ACTIVATE_SECONDARY_CONTROLS ? v.read(F.SECONDARY_VM_EXEC_CONTROL) : 0;
  if (!controlsValid(pin, ALLOWED.pin)) return 'pin-based controls violate IA32_VMX_PINBASED_CTLS';
  if (!controlsValid(proc, ALLOWED.proc)) return 'processor-based controls violate IA32_VMX_PROCBASED_CTLS';
  if (!controlsValid(proc2, ALLOWED.secondary)) return 'secondary controls violate IA32_VMX_PROCBASED_CTLS2';
  if (v.read(F.CR3_TARGET_COUNT) > 4) return 'CR3-target count above 4';
  if (proc & CpuBased.USE_IO_BITMAPS) {
    for (const f of [F.IO_BITMAP_A, F.IO_BITMAP_B]) if (v.read(f) % 4096 !== 0 || v.readHigh(f) !== 0 || v.read(f) + 4096 > ramSize) return 'I/O bitmap address not a 4 KiB-aligned RAM address';
  }
  if (proc & CpuBased.USE_MSR_BITMAPS) {
    if (v.read(F.MSR_BITMAP) % 4096 !== 0 || v.readHigh(F.MSR_BITMAP) !== 0 || v.read(F.MSR_BITMAP) + 4096 > ramSize) return 'MSR bitmap address not a 4 KiB-aligned RAM address';
  }
  if (!(pin & PinBased.NMI_EXITING) && pin & PinBased.VIRTUAL_NMIS) return '"virtual NMIs" requires "NMI exiting"';
  if (proc2 & SecondaryExec.ENABLE_EPT && !readEpt(v.read(F.EPT_POINTER), read32, ramSize)) return 'EPT pointer invalid';
  if (proc2 & SecondaryExec.UNRESTRICTED_GUEST && !(proc2 & SecondaryExec.ENABLE_EPT)) return '"unrestricted guest" requires "enable EPT"';
  if (!controlsValid(v.read(F.VM_EXIT_CONTROLS), ALLOWED.exit)) return 'VM-exit controls violate IA32_VMX_EXIT_CTLS';
  if (!controlsValid(v.read(F.VM_ENTRY_CONTROLS), ALLOWED.entry)) return 'VM-entry controls violate IA32_VMX_ENTRY_CTLS';
  return checkInjection(v);
}

/** SDM 26.2.1.3: the VM-entry interruption-information field. */
function checkInjection(v: Vmcs): string | null {
  const info = v.read(F.VM_ENTRY_INTR_INFO_FIELD);
  if (!(info & INTR_INFO_VALID)) return null;
  const vector = info & 0xff;
  const type = (info >> 8) & 7;
  if (info & 0x7ffff000) return 'reserved bits set in VM_ENTRY_INTR_INFO_FIELD';
  if (type === 1 || type === IntrType.OTHER_EVENT) return `interruption type ${type} not supported`;
  if (type === IntrType.NMI && vector !== 2) return 'NMI injection with a vector other than 2';
  if (type === IntrType.HARD_EXCEPTION && vector > 31) return 'hardware exception with a vector above 31';
  const wantsCode = type === IntrType.HARD_EXCEPTION && hasErrorCode(vector);
  if (!!(info & INTR_INFO_DELIVER_CODE) !== wantsCode) return 'deliver-error-code bit does not match the event';
  if (type === IntrType.SOFT_INTR || type === IntrType.PRIV_SW_EXCEPTION || type === IntrType.SOFT_EXCEPTION) {
    const len = v.read(F.VM_ENTRY_INSTRUCTION_LEN);
    if (len < 1 || len > 15) return 'VM-entry instruction length outside 1-15 for a software event';
  }
  return null;
}

/** SDM 26.2.2-26.2.4: host control registers and RIP/RSP. */
export function checkHostState(v: Vmcs): string | null {
  if (!fixedOk(v.read(F.HOST_CR0), CR0_FIXED0, CR0_FIXED1)) return 'HOST_CR0 violates IA32_VMX_CR0_FIXED0/1';
  if (!fixedOk(v.read(F.HOST_CR4), CR4_FIXED0, CR4_FIXED1)) return 'HOST_CR4 violates IA32_VMX_CR4_FIXED0/1';
  return null;
}

/** SDM 26.3.1: guest registers, RFLAGS, non-register state. */
export function checkGuestState(v: Vmcs): string | null {
  const proc2 = v.read(F.CPU_BASED_VM_EXEC_CONTROL) & CpuBased.ACTIVATE_SECONDARY_CONTROLS ? v.read(F.SECONDARY_VM_EXEC_CONTROL) : 0;
  // unrestricted guests may run with CR0.PE = 0 (SDM 26.3.1.1)
  const cr0Fixed0 = proc2 & SecondaryExec.UNRESTRICTED_GUEST ? CR0_FIXED0 & ~1 : CR0_FIXED0;
  if (!fixedOk(v.read(F.GUEST_CR0), cr0Fixed0, CR0_FIXED1)) return 'GUEST_CR0 violates IA32_VMX_CR0_FIXED0/1';
  if (!fixedOk(v.read(F.GUEST_CR4), CR4_FIXED0, CR4_FIXED1)) return 'GUEST_CR4 violates IA32_VMX_CR4_FIXED0/1';
  const rflags = v.read(F.GUEST_RFLAGS);
  if ((rflags & RESERVED1) === 0 || rflags & 0xffc08028) return 'GUEST_RFLAGS reserved bits (bit 1 must be 1; 3, 5, 15, 22-31 must be 0)';
  const info = v.read(F.VM_ENTRY_INTR_INFO_FIELD);
  const injectingExt = (info & INTR_INFO_VALID) !== 0 && ((info >> 8) & 7) === IntrType.EXT_INTR;
  if (injectingExt && !(rflags & 0x200)) return 'injecting an external interrupt with GUEST_RFLAGS.IF = 0';
  const act = v.read(F.GUEST_ACTIVITY_STATE);
  if (act > ActivityState.WAIT_SIPI) return 'GUEST_ACTIVITY_STATE not 0-3';
  const intr = v.read(F.GUEST_INTERRUPTIBILITY_INFO);
  if (intr & ~0xf) return 'GUEST_INTERRUPTIBILITY_INFO reserved bits set';
  if ((intr & Interruptibility.STI) && (intr & Interruptibility.MOV_SS)) return 'blocking by STI and by MOV SS both set';
  if ((intr & Interruptibility.STI) && !(rflags & 0x200)) return 'blocking by STI with GUEST_RFLAGS.IF = 0';
  if (injectingExt && intr & (Interruptibility.STI | Interruptibility.MOV_SS)) return 'injecting an external interrupt while blocked by STI/MOV SS';
  if (act === ActivityState.HLT && intr & (Interruptibility.STI | Interruptibility.MOV_SS)) return 'HLT activity state with blocking by STI or MOV SS';
  if (act === ActivityState.HLT && info & INTR_INFO_VALID) {
    const type = (info >> 8) & 7;
    const vector = info & 0xff;
    if (type !== IntrType.EXT_INTR && type !== IntrType.NMI && !(type === IntrType.HARD_EXCEPTION && (vector === 1 || vector === 18)))
      return 'event injected into the HLT state is not an external interrupt, NMI, #DB or #MC';
  }
  if (v.read(F.VMCS_LINK_POINTER) !== 0xffffffff || v.readHigh(F.VMCS_LINK_POINTER) !== 0xffffffff) return 'VMCS link pointer is not 0xFFFFFFFF_FFFFFFFF';
  return null;
}
