/**
 * VM exits caused by events rather than by an instruction (SDM Vol. 3
 * 25.2, 25.5.1): external interrupts (1) with and without "acknowledge
 * interrupt on exit", triple fault (2), interrupt window (7) with the STI
 * shadow, and the VMX-preemption timer (52). Times come from the trace:
 * VmEntry is stamped when the guest starts, VmExit after the exit's cost.
 */
import { describe, expect, it } from 'vitest';
import { NEHALEM } from '../../src/machine/cpu-model.js';
import { PREEMPTION_TIMER_RATE } from '../../src/vmx/controls.js';
import { ExitReason as R } from '../../src/vmx/exit-reasons.js';
import { CpuState } from '../../src/cpu/cpu.js';
import { TraceKind, guestIdt, runHost, vmwrite, type HostRun, type HostSpec } from '../helpers/vmx-host.js';

const VMEXIT_COST = NEHALEM.events.vmExit.cycles;
const TIMER_VECTOR = 0x50;
const TIMER_TICKS = 200; // APIC timer ticks (divide by 1) after the host arms it
const IF = 0x200;

/** Host set-up: software-enable the local APIC, one-shot timer on TIMER_VECTOR. */
const ARM_HOST_TIMER = `
    mov ecx, X2APIC_SVR
    xor edx, edx
    mov eax, SVR_ENABLE | 0xff
    wrmsr
    mov ecx, X2APIC_TIMER_DIVIDE
    mov eax, 0xb                ; divide by 1
    wrmsr
    mov ecx, X2APIC_LVT_TIMER
    mov eax, LVT_TIMER_ONESHOT | ${TIMER_VECTOR}
    wrmsr
    mov ecx, X2APIC_TIMER_INITIAL_COUNT
    mov eax, ${TIMER_TICKS}
    wrmsr`;

const SPIN = `_start:\nspin:\n    jmp spin\n`;
const time = (r: HostRun, kind: TraceKind): number[] => r.events(kind).map((e) => e.time);

describe('external interrupts (1)', () => {
  const rows: { name: string; exit: string; intrInfo: number; isr: number[]; irr: number[] }[] = [
    { name: 'acknowledged on exit: vector in VM_EXIT_INTR_INFO, in service at the APIC', exit: 'VM_EXIT_ACK_INTR_ON_EXIT', intrInfo: 0x80000000 | TIMER_VECTOR, isr: [TIMER_VECTOR], irr: [] },
    { name: 'not acknowledged: VM_EXIT_INTR_INFO invalid, still requested at the APIC', exit: '0', intrInfo: 0, isr: [], irr: [TIMER_VECTOR] },
  ];
  it.each(rows)('$name', ({ exit, intrInfo, isr, irr }) => {
    const r = runHost({ guest: SPIN, pin: 'PIN_BASED_EXT_INTR_MASK', exit, setup: ARM_HOST_TIMER });
    expect(r.exitCode).toBe(0);
    expect(r.exitReasons).toEqual([R.EXTERNAL_INTERRUPT]);
    const e = r.exits[0];
    expect(e.intrInfo >>> 0).toBe(intrInfo >>> 0);
    expect(e.guestRip).toBe(r.gsym('spin'));
    expect(e.instructionLength).toBe(0);
    const apic = r.machine.apics[0].peekState(r.machine.now);
    expect(apic.isr).toEqual(isr);
    expect(apic.irr).toEqual(irr);
    // the exit follows the timer interrupt at the next instruction boundary (a 2-cycle JMP)
    const [fired] = time(r, TraceKind.ApicTimer);
    const [exited] = time(r, TraceKind.VmExit);
    expect(exited - VMEXIT_COST - fired).toBeGreaterThanOrEqual(0);
    expect(exited - VMEXIT_COST - fired).toBeLessThanOrEqual(2);
  });

  it('exits even with the guest at IF = 0', () => {
    const r = runHost({ guest: SPIN, pin: 'PIN_BASED_EXT_INTR_MASK', exit: 'VM_EXIT_ACK_INTR_ON_EXIT', setup: ARM_HOST_TIMER, guestRflags: 2 });
    expect(r.exitReasons).toEqual([R.EXTERNAL_INTERRUPT]);
    expect(r.exits[0].guestRflags & IF).toBe(0);
  });

  it('wakes a guest halted in HLT; GUEST_RIP is past the HLT', () => {
    const r = runHost({ guest: `_start:\n    hlt\nafter:\n    vmcall\n`, pin: 'PIN_BASED_EXT_INTR_MASK', exit: 'VM_EXIT_ACK_INTR_ON_EXIT', setup: ARM_HOST_TIMER });
    expect(r.exitReasons).toEqual([R.EXTERNAL_INTERRUPT]);
    expect(r.exits[0].guestRip).toBe(r.gsym('after'));
    // SDM 27.1: the exit out of HLT saves activity state HLT: see regressions.test.ts
  });

  it('without external-interrupt exiting the interrupt goes through the guest IDT', () => {
    const guest = `${SPIN}isr:\n    mov ebx, [esp]\n    vmcall\n${guestIdt({ [TIMER_VECTOR]: 'isr' }, 'isr')}`;
    const r = runHost({ guest, guestIdt: true, guestRflags: 0x202, setup: ARM_HOST_TIMER });
    expect(r.exitReasons).toEqual([R.VMCALL]);
    expect(r.exits[0].regs.ebx).toBe(r.gsym('spin')); // interrupted at the loop
    expect(r.machine.apics[0].peekState(r.machine.now).isr).toEqual([TIMER_VECTOR]);
  });
});

describe('NMIs with "NMI exiting" (0)', () => {
  it('an NMI arriving in the guest exits with interruption type 2, vector 2', () => {
    // the host sends itself an NMI just before VMLAUNCH; it arrives after the IPI latency, in the guest
    const setup = `
    mov ecx, X2APIC_SVR
    xor edx, edx
    mov eax, SVR_ENABLE | 0xff
    wrmsr
    mov ecx, X2APIC_ICR
    mov eax, ICR_NMI | ICR_SELF
    wrmsr`;
    const r = runHost({ guest: SPIN, pin: 'PIN_BASED_NMI_EXITING', setup });
    expect(r.exitReasons).toEqual([R.EXCEPTION_NMI]);
    expect(r.exits[0].intrInfo >>> 0).toBe((0x80000000 | (2 << 8) | 2) >>> 0);
    expect(r.exits[0].guestRip).toBe(r.gsym('spin'));
  });
});

describe('triple fault (2)', () => {
  // the guest's IDTR limit is 0 (the VMCS default): the exception's delivery faults, so does #DF's
  const rows: [string, string][] = [
    ['ud2 with an empty IDT', 'ud2'],
    ['int 3 with an empty IDT', 'int 3'],
    ['#GP from RDMSR of an unknown MSR', 'rdmsr'],
  ];
  it.each(rows)('%s → exit 2; the host keeps running and resumes the guest elsewhere', (_name, insn) => {
    const r = runHost({
      guest: `_start:\n    mov ecx, 0x1ff0\nat: ${insn}\n    jmp $\nrecovered:\n    vmcall\n`,
      proc: 'CPU_BASED_USE_MSR_BITMAPS',
      onExit: `
    cmp eax, EXIT_REASON_TRIPLE_FAULT
    jne host_stop
    mov dword [stop_code], 0x7f     ; tell the test the host saw it
${vmwrite('GUEST_RIP', 'G_recovered')}
    jmp resume_guest`,
    });
    expect(r.result.reason).toBe('exit');
    expect(r.exitCode).toBe(0x7f);
    expect(r.exitReasons).toEqual([R.TRIPLE_FAULT, R.VMCALL]);
    expect(r.exits[0].guestRip).toBe(r.gsym('at'));
    expect(r.exits[1].guestRip).toBe(r.gsym('recovered'));
    // no shutdown: the machine's CPU never entered the shutdown state
    expect(r.events(TraceKind.TripleFault)).toEqual([]);
    expect(r.machine.cpus[0].state).not.toBe(CpuState.Shutdown);
  });
});

describe('interrupt window (7)', () => {
  const WINDOW = 'CPU_BASED_VIRTUAL_INTR_PENDING';
  const rows: { name: string; guest: string; spec?: Omit<HostSpec, 'guest'>; at: string }[] = [
    {
      name: 'IF = 0 then STI: the exit comes after the instruction following STI (STI shadow)',
      guest: `_start:\n    nop\n    nop\n    sti\nshadow:\n    nop\nwindow:\n    nop\n    vmcall\n`,
      at: 'window',
    },
    {
      name: 'IF = 1 at entry: the exit comes before the first guest instruction',
      guest: `_start:\n    nop\n    vmcall\n`,
      spec: { guestRflags: 0x202 },
      at: '_start',
    },
    {
      name: 'entering with blocking by STI (interruptibility bit 0) and IF = 1 delays the exit by one instruction',
      guest: `_start:\n    nop\nwindow:\n    nop\n    vmcall\n`,
      spec: { guestRflags: 0x202, setup: vmwrite('GUEST_INTERRUPTIBILITY_INFO', 1) },
      at: 'window',
    },
    {
      name: 'POPFD setting IF has no shadow: the exit comes right after it',
      guest: `_start:\n    push 0x202\n    popfd\nwindow:\n    nop\n    vmcall\n`,
      at: 'window',
    },
    {
      name: 'STI; CLI: the window closed again inside the shadow, no exit until the next STI',
      guest: `_start:\n    sti\n    cli\n    nop\n    sti\n    nop\nwindow:\n    nop\n    vmcall\n`,
      at: 'window',
    },
  ];
  it.each(rows)('$name', ({ guest, spec, at }) => {
    const r = runHost({ guest, ...spec, proc: WINDOW });
    expect(r.exitReasons).toEqual([R.INTERRUPT_WINDOW]);
    const e = r.exits[0];
    expect(e.guestRip).toBe(r.gsym(at));
    expect(e.guestRflags & IF).toBe(IF);
    expect(e.interruptibility & 1, 'no STI blocking left at the window exit').toBe(0);
    expect(e.instructionLength).toBe(0);
  });

  it('without the control STI does not exit', () => {
    const r = runHost({ guest: `_start:\n    sti\n    nop\nat:\n    vmcall\n` });
    expect(r.exitReasons).toEqual([R.VMCALL]);
    expect(r.exits[0].guestRip).toBe(r.gsym('at'));
  });
});

describe('VMX-preemption timer (52)', () => {
  const TICK = 2 ** PREEMPTION_TIMER_RATE; // TSC cycles per timer decrement (IA32_VMX_MISC[4:0] = 5)
  const timer = (value: number, exit = '0', extra = ''): Omit<HostSpec, 'guest'> => ({
    pin: 'PIN_BASED_VMX_PREEMPTION_TIMER',
    exit,
    setup: `${vmwrite('VMX_PREEMPTION_TIMER_VALUE', value)}\n${extra}`,
  });
  /** guest time from entry to the exit (the exit's trace stamp includes its own cost) */
  const guestCycles = (r: HostRun): number => time(r, TraceKind.VmExit)[0] - VMEXIT_COST - time(r, TraceKind.VmEntry)[0];

  it.each([1, 2, 4, 100, 1000])('value %d: the exit comes N << 5 cycles after entry', (n) => {
    const r = runHost({ guest: SPIN, ...timer(n) });
    expect(r.exitReasons).toEqual([R.PREEMPTION_TIMER]);
    expect(r.exits[0].guestRip).toBe(r.gsym('spin'));
    const t = guestCycles(r);
    expect(t).toBeGreaterThanOrEqual(n * TICK);
    expect(t).toBeLessThanOrEqual(n * TICK + 2); // the next boundary of a 2-cycle JMP loop
    expect(r.exits[0].preemptionTimer, 'not saved: the field keeps N').toBe(n);
  });

  it('value 0: the exit comes before the first guest instruction', () => {
    const r = runHost({ guest: `_start:\n    mov dword [0x3000], 1\n    vmcall\n`, ...timer(0) });
    expect(r.exitReasons).toEqual([R.PREEMPTION_TIMER]);
    expect(r.exits[0].guestRip).toBe(r.gsym('_start'));
    expect(r.guest32(0x3000)).toBe(0);
  });

  it('"save VMX-preemption timer value": 0 after expiry', () => {
    const r = runHost({ guest: SPIN, ...timer(100, 'VM_EXIT_SAVE_VMX_PREEMPTION_TIMER') });
    expect(r.exitReasons).toEqual([R.PREEMPTION_TIMER]);
    expect(r.exits[0].preemptionTimer).toBe(0);
  });

  it('"save VMX-preemption timer value": another exit first saves what is left', () => {
    const n = 1000;
    const r = runHost({ guest: `_start:\n    mov ecx, 100\n    work 10\n    vmcall\n`, ...timer(n, 'VM_EXIT_SAVE_VMX_PREEMPTION_TIMER') });
    expect(r.exitReasons).toEqual([R.VMCALL]);
    const used = guestCycles(r);
    const saved = r.exits[0].preemptionTimer;
    expect(used).toBeGreaterThan(TICK);
    expect(saved).toBeLessThan(n);
    expect(saved).toBeGreaterThan(0);
    expect(Math.abs(saved - (n - used / TICK))).toBeLessThanOrEqual(1);
  });

  it('a resumed guest continues from the saved value: total guest time is N << 5', () => {
    const n = 500;
    const r = runHost({
      guest: `_start:\n    mov ecx, 100\n    work 10\n    vmcall\nspin:\n    jmp spin\n`,
      ...timer(n, 'VM_EXIT_SAVE_VMX_PREEMPTION_TIMER'),
      onExit: `\n    cmp eax, EXIT_REASON_VMCALL\n    jne host_stop\n    call skip_instruction\n    jmp resume_guest`,
    });
    expect(r.exitReasons).toEqual([R.VMCALL, R.PREEMPTION_TIMER]);
    const entries = time(r, TraceKind.VmEntry);
    const exits = time(r, TraceKind.VmExit).map((t) => t - VMEXIT_COST);
    const inGuest = exits[0] - entries[0] + exits[1] - entries[1];
    expect(inGuest).toBeGreaterThanOrEqual(n * TICK - TICK);
    expect(inGuest).toBeLessThanOrEqual(n * TICK + TICK);
  });

  it('wakes a guest halted in HLT', () => {
    const r = runHost({ guest: `_start:\n    hlt\nafter:\n    vmcall\n`, ...timer(100) });
    expect(r.exitReasons).toEqual([R.PREEMPTION_TIMER]);
    expect(r.exits[0].guestRip).toBe(r.gsym('after'));
    expect(guestCycles(r)).toBe(100 * TICK);
    // as for external interrupts, SDM 27.1 would save GUEST_ACTIVITY_STATE = HLT (see the report)
  });
});
