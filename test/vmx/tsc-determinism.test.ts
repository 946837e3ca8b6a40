/**
 * TSC offsetting (SDM Vol. 3 25.3: with "use TSC offsetting", RDTSC and
 * RDMSR of IA32_TIME_STAMP_COUNTER in the guest return the TSC plus the
 * 64-bit TSC_OFFSET, modulo 2^64) and determinism of VMX runs (the same
 * program gives the same trace hash).
 */
import { describe, expect, it } from 'vitest';
import { NEHALEM } from '../../src/machine/cpu-model.js';
import { ExitReason as R } from '../../src/vmx/exit-reasons.js';
import { Field } from '../../src/vmx/fields.js';
import { RESUME_UNTIL_VMCALL, TraceKind, runHost, vmwrite, type HostRun } from '../helpers/vmx-host.js';

const TRACE_COST = NEHALEM.classes.trace.cycles;
const VMX_INSN_COST = NEHALEM.classes.vmx.cycles;
const MOV_COST = NEHALEM.classes.mov.cycles;
const M64 = (1n << 64n) - 1n;

/** The guest: a tracepoint stamps the time, then the TSC is read (two ways) into guest memory. */
const guest = (read: string): string => `
_start:
    mov ecx, IA32_TIME_STAMP_COUNTER
    trace 1, eax                ; time stamp: the read below runs TRACE_COST cycles later
    ${read}
    mov [tsc], eax
    mov [tsc + 4], edx
    vmcall
.data
tsc: .long 0, 0
`;
const RDTSC = 'rdtsc';
const RDMSR = 'rdmsr';

const guestTsc = (r: HostRun): bigint => (BigInt(r.guest32(r.gsym('tsc') + 4)) << 32n) | BigInt(r.guest32('tsc'));
const offsetOf = (r: HostRun): bigint => BigInt.asIntN(64, (BigInt(r.vmcs.readHigh(Field.TSC_OFFSET)) << 32n) | BigInt(r.vmcs.read(Field.TSC_OFFSET)));
const stamp = (r: HostRun): number => r.events(TraceKind.Tracepoint)[0].time;
const entry = (r: HostRun): number => r.events(TraceKind.VmEntry)[0].time;

describe('TSC offsetting', () => {
  const offsets: [string, number, number][] = [
    ['-4096', 0xfffff000, 0xffffffff],
    ['-2^32 (the guest TSC wraps below zero)', 0, 0xffffffff],
    ['+2^32 + 16', 0x10, 1],
  ];
  const cases = offsets.flatMap(([name, lo, hi]) => [
    [`${name}, RDTSC`, lo, hi, RDTSC] as const,
    [`${name}, RDMSR IA32_TIME_STAMP_COUNTER`, lo, hi, RDMSR] as const,
  ]);
  it.each(cases)('offset %s: guest TSC = host TSC + TSC_OFFSET mod 2^64', (_name, lo, hi, read) => {
    const r = runHost({
      guest: guest(read),
      proc: 'CPU_BASED_USE_TSC_OFFSETTING | CPU_BASED_USE_MSR_BITMAPS', // MSR bitmaps all zero: RDMSR runs in the guest
      setup: `${vmwrite('TSC_OFFSET', lo)}\n${vmwrite('TSC_OFFSET + 1', hi)}`,
    });
    expect(r.exitReasons).toEqual([R.VMCALL]);
    const offset = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
    expect(offsetOf(r)).toBe(offset);
    const hostTsc = BigInt(stamp(r) + TRACE_COST);
    expect(guestTsc(r)).toBe((hostTsc + offset) & M64);
    // against the VmEntry stamp: the read comes after a MOV and the tracepoint. The exact
    // the exact "= MOV_COST + TRACE_COST" relation is in regressions.test.ts (guest starts at the VmEntry stamp)
    const sinceEntry = Number(((guestTsc(r) - offset) & M64) - BigInt(entry(r)));
    expect(sinceEntry).toBeGreaterThanOrEqual(MOV_COST + TRACE_COST);
    expect(sinceEntry).toBeLessThanOrEqual(MOV_COST + TRACE_COST + VMX_INSN_COST);
  });

  it('a host that sets TSC_OFFSET = -TSC gives the guest a TSC starting near 0', () => {
    const setup = `
    rdtsc                       ; TSC_OFFSET = 0 - TSC, as a 64-bit subtraction
    mov ebx, eax
    mov esi, edx
    xor eax, eax
    xor edx, edx
    sub eax, ebx
    sbb edx, esi
    mov edi, edx
    mov ecx, TSC_OFFSET
    call vmcs_write
    mov eax, edi
    mov ecx, TSC_OFFSET + 1
    call vmcs_write`;
    const r = runHost({ guest: guest(RDTSC), proc: 'CPU_BASED_USE_TSC_OFFSETTING', setup });
    const offset = offsetOf(r);
    expect(offset < 0n).toBe(true);
    expect(guestTsc(r)).toBe(BigInt(stamp(r) + TRACE_COST) + offset);
    expect(guestTsc(r) < 5000n).toBe(true);
  });

  it.each([RDTSC, RDMSR])('without "use TSC offsetting" TSC_OFFSET is ignored (%s)', (read) => {
    const r = runHost({
      guest: guest(read),
      proc: 'CPU_BASED_USE_MSR_BITMAPS',
      setup: `${vmwrite('TSC_OFFSET', 0)}\n${vmwrite('TSC_OFFSET + 1', 0xffffffff)}`,
    });
    expect(guestTsc(r)).toBe(BigInt(stamp(r) + TRACE_COST));
  });

  it('the host TSC is not offset after the exit', () => {
    const r = runHost({
      guest: guest(RDTSC),
      proc: 'CPU_BASED_USE_TSC_OFFSETTING',
      setup: `${vmwrite('TSC_OFFSET', 0)}\n${vmwrite('TSC_OFFSET + 1', 0xffffffff)}`,
      onExit: '    trace 2, eax\n    rdtsc\n    mov [results], eax\n    mov [results + 4], edx',
    });
    const hostStamp = r.events(TraceKind.Tracepoint)[1].time;
    expect([r.results(0), r.results(1)]).toEqual([hostStamp + TRACE_COST, 0]);
  });
});

describe('determinism', () => {
  // A busy VMX program: host APIC timer interrupts (external-interrupt exits, acknowledged and
  // EOI'd by the host), preemption-timer exits, CPUID and I/O exits served by skipping, TSC offsetting.
  const busy = (timerValue: number): HostRun =>
    runHost({
      guest: `
_start:
    mov ebx, 40
.loop:
    cpuid
    out 0x80, al
    rdtsc
    mov ecx, 20
    work 50
    dec ebx
    jne .loop
    vmcall
`,
      pin: 'PIN_BASED_EXT_INTR_MASK | PIN_BASED_VMX_PREEMPTION_TIMER',
      proc: 'CPU_BASED_UNCOND_IO_EXITING | CPU_BASED_USE_TSC_OFFSETTING',
      exit: 'VM_EXIT_ACK_INTR_ON_EXIT | VM_EXIT_SAVE_VMX_PREEMPTION_TIMER', // the timer counts across entries
      setup: `
${vmwrite('VMX_PREEMPTION_TIMER_VALUE', timerValue)}
${vmwrite('TSC_OFFSET', 0x12345678)}
    mov ecx, X2APIC_SVR
    xor edx, edx
    mov eax, SVR_ENABLE | 0xff
    wrmsr
    mov ecx, X2APIC_TIMER_DIVIDE
    mov eax, 0xb
    wrmsr
    mov ecx, X2APIC_LVT_TIMER
    mov eax, LVT_TIMER_PERIODIC | 0x50
    wrmsr
    mov ecx, X2APIC_TIMER_INITIAL_COUNT
    mov eax, 700
    wrmsr`,
      onExit: `
    cmp eax, EXIT_REASON_EXTERNAL_INTERRUPT
    jne .not_irq
    mov ecx, X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    jmp resume_guest
.not_irq:
    cmp eax, EXIT_REASON_PREEMPTION_TIMER
    jne .other
${vmwrite('VMX_PREEMPTION_TIMER_VALUE', timerValue)}
    jmp resume_guest
.other:
    mov eax, [edi]
${RESUME_UNTIL_VMCALL}`,
      maxExits: 1000,
    }, { config: { traceKeep: 100_000 } });

  it('the same VMX program run twice gives the same trace hash', () => {
    const a = busy(300);
    const b = busy(300);
    expect(a.exitCode).toBe(0);
    const reasons = new Set(a.events(TraceKind.VmExit).map((e) => e.a));
    for (const r of [R.EXTERNAL_INTERRUPT, R.PREEMPTION_TIMER, R.CPUID, R.IO_INSTRUCTION, R.VMCALL]) expect(reasons.has(r), `exit ${R[r]}`).toBe(true);
    expect(b.machine.trace.count).toBe(a.machine.trace.count);
    expect(b.machine.trace.hash).toBe(a.machine.trace.hash);
    expect(b.result).toEqual(a.result);
  });

  it('the hash sees VMX timing: another preemption-timer value changes it', () => {
    expect(busy(301).machine.trace.hash).not.toBe(busy(300).machine.trace.hash);
  });
});
