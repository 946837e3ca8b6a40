/**
 * VMX instruction outcomes (SDM Vol. 3 30.2 conventions, 30.4 error
 * numbers): VMsucceed clears CF PF AF ZF SF OF; VMfailInvalid sets only CF
 * (no current VMCS to hold an error); VMfailValid sets only ZF and writes
 * VM_INSTRUCTION_ERROR. Each row runs in VMX root operation: `pre` sets
 * things up, SET_FLAGS turns every status flag on, `insn` is the instruction
 * under test, then EFLAGS → results[0] and VM_INSTRUCTION_ERROR →
 * results[1] (-1 when VMREAD itself fails: no current VMCS).
 *
 * Errors not covered: 6 (VMRESUME after VMXOFF: not modelled, a VMCS keeps
 * its launch state across VMXOFF/VMXON; the SDM expects software to VMCLEAR
 * before VMXOFF), 16-25 (dual-monitor SMM treatment),
 * 26 (VM entry with events blocked by MOV SS: this ISA has no MOV SS or
 * POP SS), 28 (no INVEPT/INVVPID).
 */
import { describe, expect, it } from 'vitest';
import { VmInstructionError as E } from '../../src/vmx/instruction-errors.js';
import { ExitReason as R } from '../../src/vmx/exit-reasons.js';
import { EXIT_HOST_FAULT, runHost, vmwrite, type HostRun, type HostSpec } from '../helpers/vmx-host.js';

const CF = 1;
const ZF = 0x40;
const STATUS = 0x8d5; // CF PF AF ZF SF OF
const ALL_STATUS = STATUS | 2;

type Outcome = 'succeed' | 'failInvalid' | E;

/** Operand pointers and regions the rows need (besides vmxon_pointer, vmcs_pointer, vmcs2_pointer). */
const DATA = `
.data
.align 8
ptr_misaligned: .long vmcs2_region + 0x10, 0
ptr_above_4g:   .long vmcs2_region, 1          ; bits beyond the 32-bit physical-address width
ptr_no_revision: .long io_bitmap_b, 0          ; a zeroed page: revision id 0
ptr_beyond_ram: .long 0xfff00000, 0
`;

interface Row {
  name: string;
  pre?: string;
  insn: string;
  outcome: Outcome;
  /** prologue: VMXON (default true), VMCLEAR + VMPTRLD (default true), vmcs_setup (default false) */
  vmxon?: boolean;
  loadVmcs?: boolean;
  setup?: boolean;
}

/** A failed VMXON leaves the CPU outside VMX operation, where VMREAD would be #UD. */
const outsideVmx = (row: Row): boolean => row.vmxon === false && row.outcome !== 'succeed';

function runRow(row: Row): HostRun {
  const body = `${row.setup ? '    call vmcs_setup' : ''}
${row.pre ?? ''}
    SET_FLAGS ${ALL_STATUS}
insn:
    ${row.insn}
    SAVE_FLAGS 0
${outsideVmx(row) ? '' : '    SAVE_ERROR 1'}`;
  return runHost({ body, vmxon: row.vmxon, loadVmcs: row.loadVmcs, extra: DATA });
}

function expectOutcome(r: HostRun, outcome: Outcome, flagsSlot = 0, errorSlot = 1): void {
  expect(r.exitCode, 'host ran to the end').toBe(0);
  const flags = r.results(flagsSlot) & STATUS;
  if (outcome === 'succeed') expect(flags, 'VMsucceed: CF = ZF = 0 (all six cleared)').toBe(0);
  else if (outcome === 'failInvalid') expect(flags, 'VMfailInvalid: CF = 1, ZF = 0').toBe(CF);
  else {
    expect(flags, 'VMfailValid: ZF = 1, CF = 0').toBe(ZF);
    expect(r.results(errorSlot), 'VM_INSTRUCTION_ERROR').toBe(outcome);
  }
}

describe('VMfailValid: VM-instruction error numbers', () => {
  const rows: Row[] = [
    { name: '1: VMCALL in VMX root operation', insn: 'vmcall', outcome: E.VMCALL_IN_VMX_ROOT },
    { name: '2: VMCLEAR with a misaligned address', insn: 'vmclear [ptr_misaligned]', outcome: E.VMCLEAR_INVALID_ADDRESS },
    { name: '2: VMCLEAR with an address beyond 32 bits', insn: 'vmclear [ptr_above_4g]', outcome: E.VMCLEAR_INVALID_ADDRESS },
    { name: '3: VMCLEAR with the VMXON pointer', insn: 'vmclear [vmxon_pointer]', outcome: E.VMCLEAR_VMXON_POINTER },
    { name: '5: VMRESUME with a clear VMCS', setup: true, insn: 'vmresume', outcome: E.VMRESUME_NONLAUNCHED_VMCS },
    { name: '7: pin-based control bit 7 outside allowed-1', setup: true, pre: vmwrite('PIN_BASED_VM_EXEC_CONTROL', '0x16 | 0x80'), insn: 'vmlaunch', outcome: E.ENTRY_INVALID_CONTROL_FIELD },
    { name: '7: pin-based default-1 bits clear', setup: true, pre: vmwrite('PIN_BASED_VM_EXEC_CONTROL', 0), insn: 'vmlaunch', outcome: E.ENTRY_INVALID_CONTROL_FIELD },
    { name: '7: EPT pointer with memory type 1', setup: true, pre: vmwrite('EPT_POINTER', 'ept_descriptor | 1 | VMX_EPTP_PWL_4'), insn: 'vmlaunch', outcome: E.ENTRY_INVALID_CONTROL_FIELD },
    { name: '7: EPT window size not a multiple of 4 KiB', setup: true, pre: '    mov dword [ept_descriptor + 4], 0x1800', insn: 'vmlaunch', outcome: E.ENTRY_INVALID_CONTROL_FIELD },
    { name: '7: CR3-target count 5', setup: true, pre: vmwrite('CR3_TARGET_COUNT', 5), insn: 'vmlaunch', outcome: E.ENTRY_INVALID_CONTROL_FIELD },
    {
      name: '7: "use I/O bitmaps" with a misaligned bitmap A',
      setup: true,
      pre: `    mov eax, [proc_controls]\n    or eax, CPU_BASED_USE_IO_BITMAPS\n    mov ecx, CPU_BASED_VM_EXEC_CONTROL\n    call vmcs_write\n${vmwrite('IO_BITMAP_A', 'io_bitmap_a + 8')}`,
      insn: 'vmlaunch',
      outcome: E.ENTRY_INVALID_CONTROL_FIELD,
    },
    { name: '7: "virtual NMIs" without "NMI exiting"', setup: true, pre: vmwrite('PIN_BASED_VM_EXEC_CONTROL', '0x16 | PIN_BASED_VIRTUAL_NMIS'), insn: 'vmlaunch', outcome: E.ENTRY_INVALID_CONTROL_FIELD },
    { name: '7: VM-entry control "IA-32e mode guest" (not allowed)', setup: true, pre: vmwrite('VM_ENTRY_CONTROLS', '0x11ff | VM_ENTRY_IA32E_MODE'), insn: 'vmlaunch', outcome: E.ENTRY_INVALID_CONTROL_FIELD },
    {
      name: '7: injecting #UD with "deliver error code"',
      setup: true,
      pre: vmwrite('VM_ENTRY_INTR_INFO_FIELD', '6 | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_DELIVER_CODE_MASK | INTR_INFO_VALID_MASK'),
      insn: 'vmlaunch',
      outcome: E.ENTRY_INVALID_CONTROL_FIELD,
    },
    { name: '7: injecting an NMI with vector 3', setup: true, pre: vmwrite('VM_ENTRY_INTR_INFO_FIELD', '3 | INTR_TYPE_NMI | INTR_INFO_VALID_MASK'), insn: 'vmlaunch', outcome: E.ENTRY_INVALID_CONTROL_FIELD },
    { name: '8: HOST_CR4 without VMXE', setup: true, pre: vmwrite('HOST_CR4', 0), insn: 'vmlaunch', outcome: E.ENTRY_INVALID_HOST_STATE_FIELD },
    { name: '8: HOST_CR0 without NE', setup: true, pre: vmwrite('HOST_CR0', 0x11), insn: 'vmlaunch', outcome: E.ENTRY_INVALID_HOST_STATE_FIELD },
    { name: '9: VMPTRLD with a misaligned address', insn: 'vmptrld [ptr_misaligned]', outcome: E.VMPTRLD_INVALID_ADDRESS },
    { name: '9: VMPTRLD with an address beyond RAM', insn: 'vmptrld [ptr_beyond_ram]', outcome: E.VMPTRLD_INVALID_ADDRESS },
    { name: '10: VMPTRLD with the VMXON pointer', insn: 'vmptrld [vmxon_pointer]', outcome: E.VMPTRLD_VMXON_POINTER },
    { name: '11: VMPTRLD of a region with the wrong revision id', insn: 'vmptrld [ptr_no_revision]', outcome: E.VMPTRLD_INCORRECT_VMCS_REVISION_ID },
    { name: '12: VMREAD of an unsupported encoding', pre: '    mov ecx, 0x1234', insn: 'vmread eax, ecx', outcome: E.UNSUPPORTED_VMCS_COMPONENT },
    { name: '12: VMWRITE of an unsupported encoding', pre: '    mov ecx, 0x1234', insn: 'vmwrite ecx, eax', outcome: E.UNSUPPORTED_VMCS_COMPONENT },
    { name: '12: VMREAD of the "high half" of a 32-bit field', pre: '    mov ecx, VM_EXIT_REASON + 1', insn: 'vmread eax, ecx', outcome: E.UNSUPPORTED_VMCS_COMPONENT },
    { name: '12: VMREAD with encoding bits 31:15 set', pre: '    mov ecx, 0x10000 | GUEST_RIP', insn: 'vmread eax, ecx', outcome: E.UNSUPPORTED_VMCS_COMPONENT },
    { name: '13: VMWRITE to VM_EXIT_REASON (read-only)', pre: '    mov ecx, VM_EXIT_REASON', insn: 'vmwrite ecx, eax', outcome: E.VMWRITE_READ_ONLY_VMCS_COMPONENT },
    { name: '13: VMWRITE to EXIT_QUALIFICATION (read-only)', pre: '    mov ecx, EXIT_QUALIFICATION', insn: 'vmwrite ecx, eax', outcome: E.VMWRITE_READ_ONLY_VMCS_COMPONENT },
    { name: '15: VMXON in VMX root operation', insn: 'vmxon [vmxon_pointer]', outcome: E.VMXON_IN_VMX_ROOT_OPERATION },
  ];
  it.each(rows)('$name', (row) => expectOutcome(runRow(row), row.outcome));

  it('4: VMLAUNCH with a launched VMCS (after a VM exit)', () => {
    const r = runHost({ guest: '_start:\n    vmcall\n', onExit: `    SET_FLAGS ${ALL_STATUS}\n    vmlaunch\n    SAVE_FLAGS 0\n    SAVE_ERROR 1` });
    expect(r.exitReasons).toEqual([R.VMCALL]);
    expectOutcome(r, E.VMLAUNCH_NONCLEAR_VMCS);
  });

  it('VMCLEAR makes a launched VMCS clear again: VMLAUNCH then succeeds', () => {
    const r = runHost({
      guest: '_start:\n    vmcall\n',
      onExit: `    cmp dword [exit_count], 2\n    jae host_stop\n    call vmcs_load\n    vmlaunch\n    jmp vmx_insn_failed`,
    });
    expect(r.exitCode).toBe(0);
    expect(r.exitReasons).toEqual([R.VMCALL, R.VMCALL]);
  });

  it('a failing VMLAUNCH falls through with the VMCS still clear and the guest not entered', () => {
    const r = runRow({ name: '', setup: true, pre: vmwrite('HOST_CR4', 0), insn: 'vmlaunch', outcome: 8 });
    expect(r.machine.cpus[0].nonRoot).toBe(false);
    expect(r.vmcs.launchState).toBe('clear');
  });
});

describe('VMfailInvalid: no current VMCS, or a bad VMXON region', () => {
  const rows: Row[] = [
    { name: 'VMREAD with no current VMCS', loadVmcs: false, pre: '    mov ecx, GUEST_RIP', insn: 'vmread eax, ecx', outcome: 'failInvalid' },
    { name: 'VMWRITE with no current VMCS', loadVmcs: false, pre: '    mov ecx, GUEST_RIP', insn: 'vmwrite ecx, eax', outcome: 'failInvalid' },
    { name: 'VMLAUNCH with no current VMCS', loadVmcs: false, insn: 'vmlaunch', outcome: 'failInvalid' },
    { name: 'VMCALL with no current VMCS', loadVmcs: false, insn: 'vmcall', outcome: 'failInvalid' },
    { name: 'VMREAD after VMCLEAR of the current VMCS', pre: '    vmclear [vmcs_pointer]\n    mov ecx, GUEST_RIP', insn: 'vmread eax, ecx', outcome: 'failInvalid' },
    ...(
      [
        ['a region without the revision id', '    mov dword [vmxon_region], 0'],
        ['a misaligned region', '    mov dword [vmxon_pointer], vmxon_region + 0x10'],
        ['a region above 4 GiB', '    mov dword [vmxon_pointer + 4], 1'],
      ] as const
    ).map(([what, spoil]): Row => ({
      name: `VMXON with ${what}`,
      vmxon: false,
      pre: `    mov eax, cr0\n    or eax, 0x20\n    mov cr0, eax\n    mov eax, cr4\n    or eax, X86_CR4_VMXE\n    mov cr4, eax\n    call stamp_regions\n${spoil}`,
      insn: 'vmxon [vmxon_pointer]',
      outcome: 'failInvalid',
    })),
  ];
  it.each(rows)('$name', (row) => {
    const r = runRow(row);
    expectOutcome(r, row.outcome);
    if (outsideVmx(row)) expect(r.machine.cpus[0].vmx!.on, 'still outside VMX operation').toBe(false);
    else expect(r.results(1), 'VMREAD of VM_INSTRUCTION_ERROR fails too').toBe(0xffffffff);
  });

  it('VMPTRST with no current VMCS stores all ones', () => {
    const r = runRow({ name: '', loadVmcs: false, insn: 'vmptrst [results + 8]', outcome: 'succeed' });
    expectOutcome(r, 'succeed');
    expect([r.results(2), r.results(3)]).toEqual([0xffffffff, 0xffffffff]);
  });
});

describe('VMsucceed clears all six status flags', () => {
  const rows: Row[] = [
    { name: 'VMWRITE', pre: '    mov ecx, GUEST_RIP\n    mov eax, 0x1234', insn: 'vmwrite ecx, eax', outcome: 'succeed' },
    { name: 'VMREAD', pre: '    mov ecx, VMCS_LINK_POINTER', insn: 'vmread eax, ecx', outcome: 'succeed' },
    { name: 'VMCLEAR', insn: 'vmclear [vmcs2_pointer]', outcome: 'succeed' },
    { name: 'VMPTRLD', insn: 'vmptrld [vmcs2_pointer]', outcome: 'succeed' },
    { name: 'VMPTRST', insn: 'vmptrst [results + 8]', outcome: 'succeed' },
    { name: 'VMXON', vmxon: false, pre: '    mov eax, cr0\n    or eax, 0x20\n    mov cr0, eax\n    mov eax, cr4\n    or eax, X86_CR4_VMXE\n    mov cr4, eax\n    call stamp_regions', insn: 'vmxon [vmxon_pointer]', outcome: 'succeed' },
  ];
  it.each(rows)('$name', (row) => expectOutcome(runRow(row), 'succeed'));

  it('VMPTRLD switches the current VMCS: each VMCS keeps its own fields', () => {
    const body = `
    mov ecx, GUEST_RIP
    mov eax, 0x1111
    vmwrite ecx, eax            ; into vmcs_region
    vmclear [vmcs2_pointer]
    vmptrld [vmcs2_pointer]
    mov eax, 0x2222
    vmwrite ecx, eax            ; into vmcs2_region
    vmptrst [results + 8]
    vmptrld [vmcs_pointer]
    vmread [results + 16], ecx
    vmptrld [vmcs2_pointer]
    vmread [results + 20], ecx`;
    const r = runHost({ body });
    expect(r.exitCode).toBe(0);
    expect(r.results(2)).toBe(r.sym('vmcs2_region'));
    expect([r.results(4), r.results(5)]).toEqual([0x1111, 0x2222]);
  });

  it('VMWRITE then VMREAD round-trips a value; 64-bit fields have a high half', () => {
    const body = `
    mov ecx, GUEST_RSP
    mov eax, 0x00c0ffee
    vmwrite ecx, eax
    mov ecx, GUEST_RSP
    vmread [results + 8], ecx
    mov ecx, TSC_OFFSET + 1
    mov eax, 0xfedcba98
    vmwrite ecx, eax
    mov ecx, TSC_OFFSET + 1
    vmread [results + 12], ecx
    vmptrst [results + 16]`;
    const r = runHost({ body });
    expect([r.results(2), r.results(3)]).toEqual([0x00c0ffee, 0xfedcba98]);
    expect(r.results(4)).toBe(r.sym('vmcs_region'));
    expect(r.vmcs.readHigh(0x2010)).toBe(0xfedcba98);
  });
});

describe('#UD and #GP in and out of VMX operation', () => {
  const UD = 6;
  const outside: [string, string][] = [
    ['vmxoff', 'vmxoff'], ['vmclear', 'vmclear [vmcs_pointer]'], ['vmptrld', 'vmptrld [vmcs_pointer]'], ['vmptrst', 'vmptrst [results]'],
    ['vmread', 'vmread eax, ecx'], ['vmwrite', 'vmwrite ecx, eax'], ['vmlaunch', 'vmlaunch'], ['vmresume', 'vmresume'], ['vmcall', 'vmcall'],
  ];
  const expectUd = (spec: HostSpec): void => {
    const r = runHost({ extra: DATA, ...spec });
    expect(r.exitCode, 'the host IDT handler saw #UD').toBe(EXIT_HOST_FAULT + UD);
    expect(r.hostFault.frame[0], 'return EIP = the faulting instruction').toBe(r.sym('insn'));
  };

  it.each(outside)('%s outside VMX operation → #UD', (_n, insn) => {
    expectUd({ vmxon: false, body: `    mov ecx, GUEST_RIP\ninsn:\n    ${insn}` });
  });

  it.each(outside)('%s after VMXOFF → #UD', (_n, insn) => {
    expectUd({ body: `    vmxoff\n    mov ecx, GUEST_RIP\ninsn:\n    ${insn}` });
  });

  it('VMXON with CR4.VMXE = 0 → #UD', () => {
    expectUd({ vmxon: false, body: '    call stamp_regions\ninsn:\n    vmxon [vmxon_pointer]' });
  });

  it('clearing CR4.VMXE in VMX operation → #GP(0)', () => {
    const r = runHost({ body: '    mov eax, cr4\n    and eax, ~X86_CR4_VMXE & 0xffffffff\ninsn:\n    mov cr4, eax' });
    expect(r.exitCode).toBe(EXIT_HOST_FAULT + 13);
    expect(r.hostFault.frame).toEqual([0, r.sym('insn')]); // error code, then return EIP
  });
});
