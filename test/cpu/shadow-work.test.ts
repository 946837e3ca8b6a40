/**
 * Interrupt timing at instruction boundaries: the STI shadow, HLT woken by
 * the APIC timer, and the REP-like WORK instruction interrupted between units.
 */
import { describe, expect, it } from 'vitest';
import { CpuState } from '../../src/cpu/cpu.js';
import type { FormName } from '../../src/isa/forms.js';
import { NEHALEM } from '../../src/machine/cpu-model.js';
import { TraceKind } from '../../src/trace/trace.js';
import { run } from '../helpers/runner.js';
import { APIC_ENABLE, DELIVERY, IDT_DATA, cost, idtSetup } from './util.js';

const sum = (list: [string, FormName][]): number => list.reduce((n, [m, f]) => n + cost(m, f), 0);
const EOI_AND_RET: [string, FormName][] = [
  ['mov', 'ri'], ['xor', 'rr'], ['xor', 'rr'], ['wrmsr', 'none'], ['pop', 'r'], ['pop', 'r'], ['pop', 'r'], ['iret', 'none'],
];
const EOI_AND_RET_SRC = `
    mov ecx, X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    pop edx
    pop ecx
    pop eax
    iret`;

describe('STI shadow', () => {
  const prog = (pre: string) => `
_start:
${idtSetup({ '0x40': 'isr' })}
${APIC_ENABLE}
${pre}
    xor eax, eax
site:
    sti
first:
    inc eax
second:
    inc eax
done:
    hlt
isr:
    hlt
${IDT_DATA}`;
  const selfIpi = 'mov ecx, X2APIC_SELF_IPI\n    mov eax, 0x40\n    wrmsr';

  it('an interrupt pending when STI (IF = 0) executes is taken after the next instruction', () => {
    const r = run(prog(selfIpi)).runTo('site');
    expect(r.machine.apics[0].peekState(0).irr).toEqual([0x40]);
    r.step().expectEip('first');
    r.step().expectEip('second').expectRegs({ eax: 1 }); // the shadow: inc executes first
    r.step().expectEip('isr').expectRegs({ eax: 1 }).expectCycles(DELIVERY);
    expect(r.mem32(r.reg('esp'))).toBe(r.addr('second'));
  });

  it('an interrupt arriving in the shadow also waits one instruction', () => {
    const r = run(prog('')).runTo('site').step();
    r.machine.apics[0].accept(0x40, r.cpu.cycles);
    r.step().expectEip('second');
    r.step().expectEip('isr');
  });

  it('STI with IF already 1 sets no shadow', () => {
    const r = run(prog('    sti')).runTo('site').step().expectFlags({ IF: 1 });
    r.machine.apics[0].accept(0x40, r.cpu.cycles);
    r.step().expectEip('isr').expectRegs({ eax: 0 });
    expect(r.mem32(r.reg('esp'))).toBe(r.addr('first'));
  });

  it('STI; CLI lets no pending interrupt in', () => {
    const r = run(prog(selfIpi).replace('first:\n    inc eax', 'first:\n    cli')).runTo('site').step(3);
    r.expectEip('done').expectFlags({ IF: 0 });
    expect(r.machine.apics[0].peekState(0).irr).toEqual([0x40]);
  });
});

describe('HLT and the APIC timer', () => {
  const prog = (ifOn: boolean) => `
_start:
${idtSetup({ '0x30': 'tick' })}
${APIC_ENABLE}
    mov ecx, X2APIC_TIMER_DIVIDE
    mov eax, 0xb
    wrmsr
    mov ecx, X2APIC_LVT_TIMER
    mov eax, 0x30
    wrmsr
    ${ifOn ? 'sti' : 'cli'}
    mov ecx, X2APIC_TIMER_INITIAL_COUNT
    mov eax, 1000
    wrmsr
    hlt
after:
    mov eax, 0x77
    out EXIT_PORT, eax
tick:
    inc dword [ticks]
    push eax
    push ecx
    push edx
${EOI_AND_RET_SRC}
.data
ticks: .long 0
${IDT_DATA}`;

  it('a halted CPU wakes at the timer expiry, runs the handler and continues after HLT', () => {
    const r = run(prog(true), { traceKeep: 1000 });
    const res = r.machine.run({ untilCycles: 1e7 });
    expect([res.reason, res.exitCode, r.mem32('ticks')]).toEqual(['exit', 0x77, 1]);
    const ev = r.machine.trace.recent();
    const timer = ev.find((e) => e.kind === TraceKind.ApicTimer)!;
    const wake = ev.find((e) => e.kind === TraceKind.Wake)!;
    const irq = ev.find((e) => e.kind === TraceKind.Interrupt)!;
    const halt = ev.find((e) => e.kind === TraceKind.Halt)!;
    expect(halt.time).toBeLessThan(timer.time);
    expect(wake.time).toBe(timer.time);
    expect([irq.a, irq.time]).toEqual([0x30, timer.time + DELIVERY]);
  });

  it('HLT with IF = 0 is not woken by the timer (the machine goes idle, interrupt left pending)', () => {
    const r = run(prog(false), { traceKeep: 1000 });
    const res = r.machine.run({ untilCycles: 1e7 });
    expect(res.reason).toBe('idle');
    expect(r.cpu.state).toBe(CpuState.Halted);
    expect(r.machine.trace.recent().some((e) => e.kind === TraceKind.ApicTimer)).toBe(true);
    expect(r.machine.apics[0].peekState(r.cpu.cycles).irr).toEqual([0x30]);
    expect(r.mem32('ticks')).toBe(0);
  });
});

describe('WORK', () => {
  it.each([
    ['work 1000', 10, 1000, {}],
    ['work ebx', 7, 333, { ebx: 333 }],
    ['work 1000', 0, 1000, {}],
  ] as const)('%s with ECX = %i runs ECX units of the unit cost', (insn, units, unit, regs) => {
    const r = run(`${insn}\ncli\nhlt`).regs({ ecx: units, ...regs });
    r.machine.run({ untilCycles: 1e8 });
    const execs = r.cpu.instructions - 2; // WORK re-executes once per batch of units
    const form = insn.includes('ebx') ? 'r' : 'i';
    expect(execs).toBeGreaterThanOrEqual(1);
    r.expectRegs({ ecx: 0 });
    const emptyRep = units === 0 ? 1 : 0; // an empty REP-like WORK still takes a cycle
    expect(r.cpu.cycles).toBe(units * unit + execs * cost('work', form) + emptyRep + cost('cli', 'none') + cost('hlt', 'none'));
  });

  it('is interrupted between units by the timer, resumes, and costs units x unit + the interrupt', () => {
    const UNITS = 100, UNIT = 1000, COUNT = 2000;
    const r = run(`
_start:
${idtSetup({ '0x30': 'tick' })}
${APIC_ENABLE}
    mov ecx, X2APIC_TIMER_DIVIDE
    mov eax, 0xb
    wrmsr
    mov ecx, X2APIC_LVT_TIMER
    mov eax, 0x30
    wrmsr
    sti
    mov ecx, X2APIC_TIMER_INITIAL_COUNT
    mov eax, ${COUNT}
    wrmsr
    mov ecx, ${UNITS}
    rdtsc
    mov [t0], eax
work_insn:
    work ${UNIT}
    rdtsc
    mov [t1], eax
    cli
    hlt
tick:
    push eax
    mov eax, [esp + 4]
    mov [ret_seen], eax
    mov [ecx_seen], ecx
    inc dword [ticks]
    push ecx
    push edx
${EOI_AND_RET_SRC}
.data
t0: .long 0
t1: .long 0
ret_seen: .long 0
ecx_seen: .long 0
ticks: .long 0
${IDT_DATA}`, { traceKeep: 1000 });
    r.machine.run({ untilCycles: 1e8 });
    expect(r.mem32('ticks')).toBe(1);
    expect(r.mem32('ret_seen')).toBe(r.addr('work_insn'));
    const seen = r.mem32('ecx_seen');
    expect(seen).toBeGreaterThan(0);
    expect(seen).toBeLessThan(UNITS);
    r.expectRegs({ ecx: 0 });
    const handler = sum([['push', 'r'], ['mov', 'rm'], ['mov', 'mr'], ['mov', 'mr'], ['inc', 'm'], ['push', 'r'], ['push', 'r'], ...EOI_AND_RET]);
    expect(NEHALEM.classes.work.cycles, 'units carry the whole cost').toBe(0);
    expect(r.mem32('t1') - r.mem32('t0')).toBe(cost('rdtsc', 'none') + cost('mov', 'mr') + UNITS * UNIT + DELIVERY + handler);
    // delivered at the first unit boundary at or after the expiry
    const ev = r.machine.trace.recent();
    const expiry = ev.find((e) => e.kind === TraceKind.ApicTimer)!.time;
    const start = ev.find((e) => e.kind === TraceKind.Interrupt)!.time - DELIVERY;
    const workStart = r.mem32('t0') + cost('rdtsc', 'none') + cost('mov', 'mr');
    expect((start - workStart) % UNIT).toBe(0);
    expect(start).toBeGreaterThanOrEqual(expiry);
    expect(start - expiry).toBeLessThan(UNIT);
    expect((start - workStart) / UNIT).toBe(UNITS - seen);
  });
});
