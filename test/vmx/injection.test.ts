/**
 * Event injection on VM entry (SDM Vol. 3 26.6): the VM-entry
 * interruption-information field delivers an event through the guest IDT
 * before the guest's first instruction; external interrupts need IF = 1
 * and no STI blocking, so a host that cannot inject asks for an
 * interrupt-window exit first (KVM: enable_irq_window → vmx_inject_irq).
 * The guest ISR's first instruction is a tracepoint, so the trace shows
 * VmEntry, VmInject, the IDT delivery and the ISR in that order.
 */
import { describe, expect, it } from 'vitest';
import { ExitReason as R } from '../../src/vmx/exit-reasons.js';
import { Field } from '../../src/vmx/fields.js';
import { ENTRY_FAILURE, GUEST_SIZE, TraceKind, guestIdt, runHost, vmwrite, type HostRun } from '../helpers/vmx-host.js';

const VECTOR = 0x40;
const VALID = 0x80000000;
const ISR_TRACEPOINT = 0x77;
const IF = 0x200;

/**
 * The guest: ISRs record what they saw (return EIP in ebx, pushed EFLAGS in
 * esi, error code in edx for #GP) and VMCALL. `body` is what the guest runs.
 */
const guest = (body: string): string => `
_start:
${body}
spin:
    jmp spin

; isr — the injected interrupt: its first instruction is a tracepoint
isr:
    trace ${ISR_TRACEPOINT}, eax
    mov dword [marker], 0x1234
    mov ebx, [esp]              ; return EIP
    mov esi, [esp + 4]          ; EFLAGS at the event
    mov edi, [shadow_ran]
    vmcall

; gp_handler — #GP pushes an error code below the return EIP
gp_handler:
    pop edx                     ; error code
    mov ebx, [esp]
    mov esi, [esp + 4]
    vmcall

unexpected:
    mov ebx, 0xbad
    vmcall
${guestIdt({ [VECTOR]: 'isr', 6: 'isr', 2: 'isr', 0x80: 'isr', 13: 'gp_handler' })}
.data
marker:     .long 0
shadow_ran: .long 0
`;

const injectExt = vmwrite('VM_ENTRY_INTR_INFO_FIELD', `${VECTOR} | INTR_TYPE_EXT_INTR | INTR_INFO_VALID_MASK`);

/** The kept trace from the last VM entry on, as [kind, a] pairs. */
function afterEntry(r: HostRun): [TraceKind, number][] {
  const ev = r.events(TraceKind.VmEntry, TraceKind.VmInject, TraceKind.Interrupt, TraceKind.Tracepoint, TraceKind.VmExit);
  const i = ev.map((e) => e.kind).lastIndexOf(TraceKind.VmEntry);
  return ev.slice(i).map((e) => [e.kind, e.a >>> 0]);
}

describe('injecting an external interrupt', () => {
  it('with IF = 1 the guest handler runs at once, before the first guest instruction', () => {
    const r = runHost({ guest: guest('    mov dword [0x3000], 1'), guestIdt: true, guestRflags: 0x202, setup: injectExt });
    expect(r.exitCode).toBe(0);
    expect(r.exitReasons).toEqual([R.VMCALL]);
    expect(afterEntry(r)).toEqual([
      [TraceKind.VmEntry, r.gsym('_start')],
      [TraceKind.VmInject, (VALID | VECTOR) >>> 0],
      [TraceKind.Interrupt, VECTOR],
      [TraceKind.Tracepoint, ISR_TRACEPOINT],
      [TraceKind.VmExit, R.VMCALL],
    ]);
    const e = r.exits[0];
    expect(r.guest32('marker')).toBe(0x1234);
    expect(r.guest32(0x3000), 'the guest body did not run first').toBe(0);
    expect(e.regs.ebx, 'return EIP = GUEST_RIP at entry').toBe(r.gsym('_start'));
    expect(e.regs.esi & IF, 'EFLAGS pushed with IF = 1').toBe(IF);
    expect(e.guestRflags & IF, 'the interrupt gate cleared IF').toBe(0);
    // the valid bit of VM_ENTRY_INTR_INFO_FIELD is cleared by the entry (and by every exit)
    expect(e.entryIntrInfo & VALID).toBe(0);
    expect(r.vmcs.read(Field.VM_ENTRY_INTR_INFO_FIELD) & VALID).toBe(0);
  });

  // The host cannot inject while the guest has IF = 0 (or STI blocking): it sets interrupt-window
  // exiting, and at exit 7 clears it and injects; the guest handler then runs on VMRESUME.
  const throughWindow = `
    cmp eax, EXIT_REASON_INTERRUPT_WINDOW
    jne host_stop
    mov eax, [proc_controls]
    and eax, ~CPU_BASED_VIRTUAL_INTR_PENDING & 0xffffffff
    mov ecx, CPU_BASED_VM_EXEC_CONTROL
    call vmcs_write
${injectExt}
    jmp resume_guest`;
  const rows: { name: string; body: string; rflags: number; setup?: string }[] = [
    {
      name: 'IF = 0, then sti; <insn>: the window opens after the instruction following STI',
      body: '    nop\n    sti\n    mov dword [shadow_ran], 1    ; in the STI shadow\nwindow:\n    nop',
      rflags: 2,
    },
    {
      name: 'entering with blocking by STI and IF = 1: the window opens after one instruction',
      body: '    mov dword [shadow_ran], 1\nwindow:\n    nop',
      rflags: 0x202,
      setup: vmwrite('GUEST_INTERRUPTIBILITY_INFO', 1),
    },
    {
      name: 'IF = 0, then popfd with IF = 1 (no shadow)',
      body: '    push 0x202\n    popfd\nwindow:\n    mov dword [shadow_ran], 1',
      rflags: 2,
    },
  ];
  it.each(rows)('$name', ({ body, rflags, setup }) => {
    const r = runHost({ guest: guest(body), guestIdt: true, guestRflags: rflags, proc: 'CPU_BASED_VIRTUAL_INTR_PENDING', setup, onExit: throughWindow });
    expect(r.exitCode).toBe(0);
    expect(r.exitReasons).toEqual([R.INTERRUPT_WINDOW, R.VMCALL]);
    const [win, call] = r.exits;
    expect(win.guestRip, 'window exit after the shadow').toBe(r.gsym('window'));
    expect(win.interruptibility & 1).toBe(0);
    expect(call.regs.ebx, 'the ISR interrupted the guest at the window').toBe(r.gsym('window'));
    expect(call.regs.edi, 'the instruction in the shadow ran before the ISR').toBe(body.includes('popfd') ? 0 : 1);
    expect(r.guest32('marker')).toBe(0x1234);
    expect(afterEntry(r).slice(0, 4)).toEqual([
      [TraceKind.VmEntry, r.gsym('window')],
      [TraceKind.VmInject, (VALID | VECTOR) >>> 0],
      [TraceKind.Interrupt, VECTOR],
      [TraceKind.Tracepoint, ISR_TRACEPOINT],
    ]);
  });

  const failing: [string, number, string][] = [
    ['IF = 0', 2, ''],
    ['blocking by STI', 0x202, vmwrite('GUEST_INTERRUPTIBILITY_INFO', 1)],
  ];
  it.each(failing)('injection with %s is invalid guest state (VM-entry failure 33)', (_name, rflags, setup) => {
    const r = runHost({ guest: guest(''), guestIdt: true, guestRflags: rflags, setup: `${setup}\n${injectExt}` });
    expect(r.exitReasons).toEqual([(R.INVALID_STATE | ENTRY_FAILURE) >>> 0]);
    expect(r.events(TraceKind.VmInject)).toEqual([]);
  });
});

describe('injecting exceptions and other events', () => {
  const rows: { name: string; info: string; setup?: string; want: (r: HostRun) => Partial<Record<'ebx' | 'edx', number>> }[] = [
    {
      name: '#GP with error code 0x10: the handler finds the code on its stack',
      info: '13 | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_DELIVER_CODE_MASK | INTR_INFO_VALID_MASK',
      setup: vmwrite('VM_ENTRY_EXCEPTION_ERROR_CODE', 0x10),
      want: (r) => ({ edx: 0x10, ebx: r.gsym('_start') }),
    },
    {
      name: '#UD (no error code): return EIP = GUEST_RIP',
      info: '6 | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_VALID_MASK',
      want: (r) => ({ ebx: r.gsym('_start') }),
    },
    {
      name: 'NMI (type 2, vector 2)',
      info: '2 | INTR_TYPE_NMI | INTR_INFO_VALID_MASK',
      want: (r) => ({ ebx: r.gsym('_start') }),
    },
    {
      name: 'software interrupt 0x80 (type 4): return EIP = GUEST_RIP + VM_ENTRY_INSTRUCTION_LEN',
      info: '0x80 | INTR_TYPE_SOFT_INTR | INTR_INFO_VALID_MASK',
      setup: vmwrite('VM_ENTRY_INSTRUCTION_LEN', 2),
      want: (r) => ({ ebx: r.gsym('_start') + 2 }),
    },
  ];
  it.each(rows)('$name', ({ info, setup, want }) => {
    // IF = 0: exceptions, NMIs and software interrupts are injected regardless
    const r = runHost({ guest: guest('    nop\n    nop'), guestIdt: true, setup: `${setup ?? ''}\n${vmwrite('VM_ENTRY_INTR_INFO_FIELD', info)}` });
    expect(r.exitCode).toBe(0);
    expect(r.exitReasons).toEqual([R.VMCALL]);
    const e = r.exits[0];
    for (const [reg, v] of Object.entries(want(r))) expect(e.regs[reg as 'ebx' | 'edx'], reg).toBe(v);
    expect(e.entryIntrInfo & VALID).toBe(0);
    expect(r.events(TraceKind.VmInject)).toHaveLength(1);
  });

  it('an external interrupt injected into the HLT activity state wakes the guest into its handler', () => {
    const r = runHost({
      guest: guest('    mov dword [0x3000], 1'), guestIdt: true, guestRflags: 0x202,
      setup: `${vmwrite('GUEST_ACTIVITY_STATE', 1)}\n${injectExt}`,
    });
    expect(r.exitReasons).toEqual([R.VMCALL]);
    expect(r.guest32('marker')).toBe(0x1234);
    expect(r.exits[0].regs.ebx).toBe(r.gsym('_start'));
  });

  it('an injected exception is not subject to the exception bitmap', () => {
    const r = runHost({
      guest: guest(''), guestIdt: true, exceptionBitmap: '1 << VEC_UD',
      setup: vmwrite('VM_ENTRY_INTR_INFO_FIELD', '6 | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_VALID_MASK'),
    });
    expect(r.exitReasons).toEqual([R.VMCALL]);
    expect(r.guest32('marker')).toBe(0x1234);
  });

  it('a VM exit during delivery of the injected event records it in IDT_VECTORING_INFO', () => {
    // the guest stack is beyond the window: pushing the frame is an EPT violation
    const r = runHost({
      guest: guest(''), guestIdt: true,
      setup: [
        vmwrite('GUEST_RSP', GUEST_SIZE + 0x100),
        vmwrite('VM_ENTRY_INTR_INFO_FIELD', '13 | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_DELIVER_CODE_MASK | INTR_INFO_VALID_MASK'),
        vmwrite('VM_ENTRY_EXCEPTION_ERROR_CODE', 0x10),
      ].join('\n'),
    });
    expect(r.exitReasons).toEqual([R.EPT_VIOLATION]);
    const e = r.exits[0];
    expect(e.idtVectoring >>> 0).toBe((VALID | (1 << 11) | (3 << 8) | 13) >>> 0);
    expect(e.guestPhysical).toBe(GUEST_SIZE + 0x100 - 4);
    expect(e.guestRip, 'the event was not delivered').toBe(r.gsym('_start'));
    expect(e.entryIntrInfo & VALID).toBe(0);
    // IDT_VECTORING_ERROR_CODE = 0x10 (SDM 27.2.4): see regressions.test.ts
  });

  it('an exit not during event delivery leaves IDT_VECTORING_INFO invalid', () => {
    const r = runHost({ guest: guest('    vmcall'), guestIdt: true });
    expect(r.exits[0].idtVectoring).toBe(0);
  });
});
