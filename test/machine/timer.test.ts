/**
 * The local APIC timer driven by programs on the machine (SDM Vol. 3
 * 10.5.4): one-shot, periodic and TSC-deadline modes, divide configurations
 * and masking, timed with TRACE/RDTSC against the model's tick length.
 */
import { describe, expect, it } from 'vitest';
import { NEHALEM } from '../../src/machine/cpu-model.js';
import { TraceKind } from '../../src/trace/trace.js';
import { run, type Runner } from '../helpers/runner.js';
import { APIC_ENABLE, DELIVERY, IDT_DATA, cost, idtSetup } from '../cpu/util.js';

const TICK = NEHALEM.events.apicTimerCyclesPerTick.cycles;
const VEC = 0x30;
/** handler cycles before its RDTSC samples the TSC */
const PROLOGUE = 3 * cost('push', 'r');

function program(setup: string, main: string): string {
  return `
_start:
${idtSetup({ [VEC]: 'tick' })}
${APIC_ENABLE}
${setup}
${main}
    cli
    hlt
tick:
    push eax
    push edx
    push ecx
    rdtsc
    mov ecx, [ticks]
    mov [stamps + ecx*4], eax
    inc dword [ticks]
    mov ecx, X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    pop ecx
    pop edx
    pop eax
    iret
.data
ticks: .long 0
deadline: .long 0, 0
current: .long 0xffffffff
stamps: .space 64*4, 0
${IDT_DATA}`;
}

const wrmsr = (msr: string, value: string | number) => `    mov ecx, ${msr}\n    mov eax, ${value}\n    xor edx, edx\n    wrmsr`;

function go(src: string): { r: Runner; stamps: number[]; writeTime: number } {
  const r = run(src, { traceKeep: 10000 });
  const res = r.machine.run({ untilCycles: 1e9 });
  expect(res.reason).toBe('idle');
  const n = r.mem32('ticks');
  const stamps = Array.from({ length: n }, (_, i) => r.mem32(r.addr('stamps') + 4 * i));
  const tp = r.machine.trace.recent().find((e) => e.kind === TraceKind.Tracepoint);
  return { r, stamps, writeTime: tp ? tp.time + cost('trace', 'tp') : NaN };
}

/** SDM Figure 10-10: divide configuration register value → divisor. */
const DIVIDES: [number, number][] = [[0b0000, 2], [0b0001, 4], [0b0010, 8], [0b0011, 16], [0b1000, 32], [0b1001, 64], [0b1010, 128], [0b1011, 1]];

describe('one-shot', () => {
  it.each(DIVIDES)('divide config %i (÷%i): fires once, count × divide × tick after the write', (config, divisor) => {
    const COUNT = 300;
    const period = COUNT * divisor * TICK;
    const { r, stamps, writeTime } = go(program(`${wrmsr('X2APIC_TIMER_DIVIDE', config)}\n${wrmsr('X2APIC_LVT_TIMER', VEC)}\n    sti`, `
    mov ecx, X2APIC_TIMER_INITIAL_COUNT
    mov eax, ${COUNT}
    trace user, eax
    wrmsr
wait:
    hlt
    cmp dword [ticks], 0
    je wait
    mov ecx, 3
    work ${period}          ; three more periods: no second expiry
    mov ecx, X2APIC_TIMER_CURRENT_COUNT
    rdmsr
    mov [current], eax`));
    const timers = r.machine.trace.recent().filter((e) => e.kind === TraceKind.ApicTimer);
    expect(timers.map((e) => e.time)).toEqual([writeTime + period]);
    // the CPU sleeps in HLT, so it takes the interrupt exactly at the expiry
    expect(stamps).toEqual([writeTime + period + DELIVERY + PROLOGUE]);
    expect(r.mem32('current'), 'current count after expiry').toBe(0);
  });

  it('a busy CPU takes it at the first instruction boundary after the expiry', () => {
    const COUNT = 1000;
    const { stamps, writeTime } = go(program(`${wrmsr('X2APIC_TIMER_DIVIDE', 0b1011)}\n${wrmsr('X2APIC_LVT_TIMER', VEC)}\n    sti`, `
    mov ecx, X2APIC_TIMER_INITIAL_COUNT
    mov eax, ${COUNT}
    trace user, eax
    wrmsr
spin:
    cmp dword [ticks], 0
    je spin`));
    const late = stamps[0] - (writeTime + COUNT * TICK) - DELIVERY - PROLOGUE;
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(cost('cmp', 'mi') + cost('je', 'rel'));
  });
});

describe('periodic', () => {
  it.each([[0b1011, 1, 100], [0b0001, 4, 50]])('divide config %i (÷%i), count %i: fires every count × divide × tick', (config, divisor, count) => {
    const N = 5;
    const period = count * divisor * TICK;
    const { r, stamps, writeTime } = go(program(`${wrmsr('X2APIC_TIMER_DIVIDE', config)}\n${wrmsr('X2APIC_LVT_TIMER', `LVT_TIMER_PERIODIC | ${VEC}`)}\n    sti`, `
    mov ecx, X2APIC_TIMER_INITIAL_COUNT
    mov eax, ${count}
    trace user, eax
    wrmsr
wait:
    hlt
    cmp dword [ticks], ${N}
    jb wait
${wrmsr('X2APIC_TIMER_INITIAL_COUNT', 0)}
    mov ecx, 5
    work ${period}          ; stopped: no more ticks`));
    expect(stamps).toEqual(Array.from({ length: N }, (_, k) => writeTime + (k + 1) * period + DELIVERY + PROLOGUE));
    expect(r.machine.trace.recent().filter((e) => e.kind === TraceKind.ApicTimer)).toHaveLength(N);
  });
});

describe('TSC-deadline', () => {
  const setup = `${wrmsr('X2APIC_LVT_TIMER', `LVT_TIMER_TSC_DEADLINE | ${VEC}`)}\n    sti`;
  it('fires when the TSC reaches the deadline', () => {
    const { r, stamps } = go(program(setup, `
    rdtsc
    add eax, 5000
    adc edx, 0
    mov [deadline], eax
    mov [deadline + 4], edx
    mov ecx, IA32_TSC_DEADLINE
    wrmsr
spin:
    cmp dword [ticks], 0
    je spin`));
    const deadline = r.mem32('deadline');
    expect(r.mem32(r.addr('deadline') + 4)).toBe(0);
    expect(stamps).toHaveLength(1);
    expect(stamps[0]).toBeGreaterThanOrEqual(deadline);
    expect(stamps[0] - deadline).toBeLessThanOrEqual(200);
    const late = stamps[0] - deadline - DELIVERY - PROLOGUE;
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(cost('cmp', 'mi') + cost('je', 'rel'));
  });
  it('a deadline already passed fires at once; writing 0 disarms', () => {
    const past = go(program(setup, `
${wrmsr('IA32_TSC_DEADLINE', 1).replace('wrmsr', 'trace user, eax\n    wrmsr')}
    nop
    nop`));
    // delivered at the first boundary after the WRMSR
    expect(past.stamps).toEqual([past.writeTime + cost('wrmsr', 'none') + DELIVERY + PROLOGUE]);
    const disarmed = go(program(setup, `
    rdtsc
    add eax, 2000
    mov ecx, IA32_TSC_DEADLINE
    wrmsr
${wrmsr('IA32_TSC_DEADLINE', 0)}
    mov ecx, 10
    work 1000`));
    expect(disarmed.stamps).toEqual([]);
    expect(disarmed.r.machine.trace.recent().some((e) => e.kind === TraceKind.ApicTimer)).toBe(false);
  });
});

describe('masked LVT', () => {
  it('expires but delivers nothing', () => {
    const { r, stamps } = go(program(`${wrmsr('X2APIC_TIMER_DIVIDE', 0b1011)}\n${wrmsr('X2APIC_LVT_TIMER', `LVT_MASK | LVT_TIMER_PERIODIC | ${VEC}`)}\n    sti`, `
${wrmsr('X2APIC_TIMER_INITIAL_COUNT', 100)}
    mov ecx, 10
    work ${100 * TICK}
${wrmsr('X2APIC_TIMER_INITIAL_COUNT', 0)}`));
    expect(stamps).toEqual([]);
    const ev = r.machine.trace.recent();
    const timers = ev.filter((e) => e.kind === TraceKind.ApicTimer);
    expect(timers.length).toBeGreaterThanOrEqual(9);
    expect(timers.every((e) => e.a === VEC && e.b === 1)).toBe(true);
    expect(ev.some((e) => e.kind === TraceKind.Interrupt)).toBe(false);
    expect(r.machine.apics[0].peekState(r.cpu.cycles).irr).toEqual([]);
  });
});
