/**
 * Local APIC priority through the real CPU (SDM Vol. 3 10.8.3): pending
 * interrupts are delivered highest priority class first, a higher class
 * preempts a running handler while the same class waits for EOI, TPR masks
 * classes, and EOI retires the highest in-service vector.
 */
import { describe, expect, it } from 'vitest';
import { run, type Runner } from '../helpers/runner.js';
import { APIC_ENABLE, IDT_DATA, idtSetup } from './util.js';

const MACROS = `
.macro LOG v
    push eax
    push edx
    mov eax, \\v
    mov edx, [log_n]
    mov [log + edx*4], eax
    inc dword [log_n]
    pop edx
    pop eax
.endm
.macro MSR reg, v
    push eax
    push ecx
    push edx
    mov ecx, \\reg
    mov eax, \\v
    xor edx, edx
    wrmsr
    pop edx
    pop ecx
    pop eax
.endm
`;
const DATA = `
.data
log_n: .long 0
log:   .space 64*4, 0
ppr_seen: .long 0
${IDT_DATA}`;

/** A program with handlers `h<vector>` that log their vector, EOI and return, plus custom ones. */
function program(vectors: number[], main: string, custom: Record<number, string> = {}): string {
  const handlers = vectors.map((v) => `h${v.toString(16)}:\n${custom[v] ?? `    LOG 0x${v.toString(16)}\n    MSR X2APIC_EOI, 0\n    iret`}`);
  return `${MACROS}
_start:
${idtSetup(Object.fromEntries(vectors.map((v) => [`0x${v.toString(16)}`, `h${v.toString(16)}`])))}
${APIC_ENABLE}
${main}
    cli
    hlt
${handlers.join('\n')}
${DATA}`;
}

function log(r: Runner): number[] {
  const n = r.mem32('log_n');
  return Array.from({ length: n }, (_, i) => r.mem32(r.addr('log') + 4 * i) >>> 0);
}

function runToIdle(r: Runner): Runner {
  const res = r.machine.run({ untilCycles: 1e7 });
  expect(res.reason).toBe('idle');
  return r;
}

describe('interrupt priority and EOI', () => {
  it('delivers pending interrupts highest priority class first', () => {
    const r = run(program([0x23, 0x41, 0x92, 0xe0], `
    MSR X2APIC_SELF_IPI, 0x41
    MSR X2APIC_SELF_IPI, 0x23
    MSR X2APIC_SELF_IPI, 0xe0
    MSR X2APIC_SELF_IPI, 0x92
    sti
    nop`));
    expect(log(runToIdle(r))).toEqual([0xe0, 0x92, 0x41, 0x23]);
  });

  it('within one class the higher vector goes first', () => {
    const r = run(program([0x41, 0x4e], `
    MSR X2APIC_SELF_IPI, 0x41
    MSR X2APIC_SELF_IPI, 0x4e
    sti
    nop`));
    expect(log(runToIdle(r))).toEqual([0x4e, 0x41]);
  });

  it('a higher class preempts a running handler; the same class (even a higher vector) waits for its EOI', () => {
    const r = run(program([0x41, 0x4f, 0x92], `
    MSR X2APIC_SELF_IPI, 0x41
    sti
    nop`, {
      0x41: `
    LOG 0x41
    sti
    MSR X2APIC_SELF_IPI, 0x4f
    MSR X2APIC_SELF_IPI, 0x92
    LOG 0x1041
    MSR X2APIC_EOI, 0
    LOG 0x2041
    iret`,
    }));
    expect(log(runToIdle(r))).toEqual([0x41, 0x92, 0x1041, 0x4f, 0x2041]);
  });

  it('a lower class waits while a higher one is in service, even with IF = 1', () => {
    const r = run(program([0x41, 0x92], `
    MSR X2APIC_SELF_IPI, 0x92
    sti
    nop`, {
      0x92: `
    LOG 0x92
    sti
    MSR X2APIC_SELF_IPI, 0x41
    nop
    LOG 0x1092
    MSR X2APIC_EOI, 0
    LOG 0x2092
    iret`,
    }));
    expect(log(runToIdle(r))).toEqual([0x92, 0x1092, 0x41, 0x2092]);
  });

  it('TPR blocks every class at or below its own; lowering it releases them', () => {
    const r = run(program([0x50, 0x5f, 0x61], `
    MSR X2APIC_TPR, 0x5f
    MSR X2APIC_SELF_IPI, 0x50
    MSR X2APIC_SELF_IPI, 0x5f
    MSR X2APIC_SELF_IPI, 0x61
    sti
    nop
    LOG 0xaaaa
    MSR X2APIC_TPR, 0x50
    LOG 0xbbbb
    MSR X2APIC_TPR, 0x4f
    nop`));
    expect(log(runToIdle(r))).toEqual([0x61, 0xaaaa, 0xbbbb, 0x5f, 0x50]);
  });

  it('EOI clears the highest in-service vector; PPR follows the in-service class', () => {
    const r = run(program([0x41, 0x92], `
    MSR X2APIC_SELF_IPI, 0x41
    sti
    nop`, {
      0x41: `
    sti
    MSR X2APIC_SELF_IPI, 0x92
back41:
    MSR X2APIC_EOI, 0
done41:
    iret`,
      0x92: `
    mov ecx, X2APIC_PPR
    rdmsr
    mov [ppr_seen], eax
in92:
    MSR X2APIC_EOI, 0
eoi92:
    iret`,
    }));
    const isr = (): number[] => r.machine.apics[0].peekState(r.cpu.cycles).isr;
    r.runTo('in92');
    expect(isr()).toEqual([0x41, 0x92]);
    expect(r.mem32('ppr_seen')).toBe(0x90);
    r.runTo('eoi92');
    expect(isr()).toEqual([0x41]);
    r.runTo('back41');
    r.runTo('done41');
    expect(isr()).toEqual([]);
  });
});
