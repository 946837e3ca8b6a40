/**
 * VMX bugs found by the VMX test suite and fixed; each test failed before its
 * fix (SDM references in the test names' subjects: 27.1, 27.2.4, 27.3.4,
 * 23.8, 25.3, 26.3.1.5).
 */
import { expect, it } from 'vitest';
import { Field } from '../../src/vmx/fields.js';
import { NEHALEM } from '../../src/machine/cpu-model.js';
import { EXIT_HOST_FAULT, GUEST_SIZE, TraceKind, guestIdt, runHost, vmwrite } from '../helpers/vmx-host.js';

const APIC_TIMER = `
    mov ecx, X2APIC_SVR
    xor edx, edx
    mov eax, SVR_ENABLE | 0xff
    wrmsr
    mov ecx, X2APIC_LVT_TIMER
    mov eax, 0x50
    wrmsr
    mov ecx, X2APIC_TIMER_INITIAL_COUNT
    mov eax, 200
    wrmsr`;

it('sti; vmcall saves blocking by STI', () => {
  const r = runHost({ guest: '_start:\n    sti\n    vmcall\n' });
  expect(r.exits[0].interruptibility).toBe(1);
});
it('exit out of HLT saves activity state HLT', () => {
  const r = runHost({ guest: '_start:\n    hlt\n    vmcall\n', pin: 'PIN_BASED_EXT_INTR_MASK', setup: APIC_TIMER });
  expect(r.exitReasons).toEqual([1]);
  expect(r.vmcs.read(Field.GUEST_ACTIVITY_STATE)).toBe(1);
});
it('IDT_VECTORING_ERROR_CODE', () => {
  const r = runHost({ guest: `_start:\n    vmcall\nh:\n    vmcall\n${guestIdt({}, 'h')}`, guestIdt: true, setup: [
    vmwrite('GUEST_RSP', GUEST_SIZE + 0x100),
    vmwrite('VM_ENTRY_INTR_INFO_FIELD', '13 | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_DELIVER_CODE_MASK | INTR_INFO_VALID_MASK'),
    vmwrite('VM_ENTRY_EXCEPTION_ERROR_CODE', 0x10)].join('\n') });
  expect(r.exits[0].idtVectoring >>> 0).toBe(0x80000b0d);
  expect(r.vmcs.read(Field.IDT_VECTORING_ERROR_CODE)).toBe(0x10);
});
it('IDT-vectoring info for an EPT violation reading the IDT gate', () => {
  const r = runHost({ guest: '_start:\n    vmcall\n', guestRflags: 0x202, setup: [
    vmwrite('GUEST_IDTR_BASE', 0x20000), vmwrite('GUEST_IDTR_LIMIT', 0x7ff),
    vmwrite('VM_ENTRY_INTR_INFO_FIELD', '0x40 | INTR_TYPE_EXT_INTR | INTR_INFO_VALID_MASK')].join('\n') });
  expect(r.exitReasons).toEqual([48]);
  expect(r.exits[0].guestPhysical).toBe(0x20200);
  expect(r.exits[0].idtVectoring >>> 0).toBe(0x80000040);
});
it('VMXON with CR0.NE = 0 is #GP(0)', () => {
  const r = runHost({ vmxon: false, body: `
    mov eax, cr4
    or eax, X86_CR4_VMXE
    mov cr4, eax
    call stamp_regions
    vmxon [vmxon_pointer]` });
  expect(r.exitCode).toBe(EXIT_HOST_FAULT + 13);
});
it('clearing CR0.NE in VMX operation is #GP(0)', () => {
  const r = runHost({ body: `
    mov eax, cr0
    and eax, ~0x20 & 0xffffffff
    mov cr0, eax` });
  expect(r.exitCode).toBe(EXIT_HOST_FAULT + 13);
});
it('guest MOV to CR4 keeps host-owned bits', () => {
  const r = runHost({ guest: '_start:\n    mov eax, cr4\n    mov cr4, eax\n    vmcall\n' });
  expect(r.exitReasons).toEqual([18]);
  expect(r.vmcs.read(Field.GUEST_CR4) & 0x2000).toBe(0x2000);
});
it('guest starts at the VmEntry stamp', () => {
  const r = runHost({ guest: '_start:\n    trace 1, eax\n    vmcall\n' });
  const entry = r.events(TraceKind.VmEntry)[0].time;
  expect(r.events(TraceKind.Tracepoint)[0].time).toBe(entry);
});
it('preemption timer value 1 expires 32 cycles after entry', () => {
  const r = runHost({ guest: '_start:\nspin: jmp spin\n', pin: 'PIN_BASED_VMX_PREEMPTION_TIMER', setup: vmwrite('VMX_PREEMPTION_TIMER_VALUE', 1) });
  const t = r.events(TraceKind.VmExit)[0].time - NEHALEM.events.vmExit.cycles - r.events(TraceKind.VmEntry)[0].time;
  expect(t).toBeLessThanOrEqual(34);
});
it('software interrupt 18 cannot be injected into the HLT state', () => {
  const r = runHost({ guest: '_start:\n    vmcall\n', setup: [vmwrite('GUEST_ACTIVITY_STATE', 1),
    vmwrite('VM_ENTRY_INTR_INFO_FIELD', '18 | INTR_TYPE_SOFT_INTR | INTR_INFO_VALID_MASK'), vmwrite('VM_ENTRY_INSTRUCTION_LEN', 2)].join('\n') });
  expect(r.exitReasons).toEqual([0x80000021]);
});
it('HLT activity state with blocking by STI is invalid guest state', () => {
  const r = runHost({ guest: '_start:\n    vmcall\n', guestRflags: 0x202, setup: [vmwrite('GUEST_ACTIVITY_STATE', 1), vmwrite('GUEST_INTERRUPTIBILITY_INFO', 1)].join('\n') }, { untilCycles: 1e6 });
  expect(r.exitReasons).toEqual([0x80000021]);
});
