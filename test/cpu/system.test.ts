/**
 * System instructions through the real CPU and machine: INT/IRET and gates,
 * exceptions (#UD, #GP with error code, #DF, triple fault), RDTSC, CPUID,
 * LIDT/SIDT, CLI/STI/HLT, PAUSE/NOP, port I/O, TRACE.
 */
import { describe, expect, it } from 'vitest';
import { CPUID_FEATURES_ECX } from '../../src/cpu/cpuid.js';
import { CpuState, EventType } from '../../src/cpu/cpu.js';
import { Vector } from '../../src/cpu/faults.js';
import { TRACEPOINT_ID } from '../../src/isa/tracepoints.js';
import { TraceKind } from '../../src/trace/trace.js';
import { run } from '../helpers/runner.js';
import { DELIVERY, IDT_DATA, cost, idtSetup } from './util.js';

const IF = 1 << 9;

describe('INT n and IRET', () => {
  const prog = (gate: string) => `
_start:
${idtSetup({ '0x80': 'isr' }, gate)}
    sti
site:
    int 0x80
back:
    hlt
isr:
    cmp esp, esp
    iret
${IDT_DATA}`;
  it.each([
    ['interrupt gate clears IF', 'IDT_INTERRUPT_GATE', 0],
    ['trap gate keeps IF', 'IDT_TRAP_GATE', 1],
  ] as const)('%s; the frame is EFLAGS then the return EIP', (_n, gate, ifInHandler) => {
    const r = run(prog(gate)).runTo('site').flags({ CF: 1, ZF: 0, SF: 1 });
    const flagsBefore = r.cpu.eflags;
    expect(flagsBefore & IF).toBe(IF);
    r.step().expectEip('isr').expectRegs({ esp: 0x80000 - 8 }).expectCycles(cost('int', 'i8') + DELIVERY).expectFlags({ IF: ifInHandler });
    expect(r.mem32(0x80000 - 8)).toBe(r.addr('back'));
    expect(r.mem32(0x80000 - 4)).toBe(flagsBefore);
    r.step().expectFlags({ ZF: 1, CF: 0 }); // handler changes flags ...
    r.step().expectEip('back').expectRegs({ esp: 0x80000 }).expectCycles(cost('iret', 'none'));
    expect(r.cpu.eflags).toBe(flagsBefore); // ... IRET restores them all, IF included
    const ev = r.machine.trace.recent().filter((e) => e.kind === TraceKind.Interrupt);
    expect(ev.map((e) => [e.a, e.b])).toEqual([[0x80, EventType.SoftwareInterrupt]]);
  });
});

describe('exceptions', () => {
  const handlerProg = (vec: string, body: string) => `
_start:
${idtSetup({ [vec]: 'handler' })}
faulting:
${body}
    hlt
handler:
    hlt
${IDT_DATA}`;

  it.each([
    ['an undefined opcode byte', '.byte 0xff'],
    ['UD2', 'ud2'],
    ['a register field out of range', '.byte 0x01, 0x08'], // add.rr with register 8
  ])('#UD for %s: no error code, EIP of the instruction pushed', (_n, body) => {
    const r = run(handlerProg('VEC_UD', body)).runTo('faulting').step().expectEip('handler').expectCycles(DELIVERY);
    r.expectRegs({ esp: 0x80000 - 8 });
    expect(r.mem32(r.reg('esp'))).toBe(r.addr('faulting'));
  });

  it.each([
    ['RDMSR of an unknown MSR', 'mov ecx, 0x12345\nfaulting2:\n    rdmsr'],
    ['WRMSR to a read-only x2APIC register (ID)', 'mov ecx, X2APIC_ID\n xor eax, eax\n xor edx, edx\nfaulting2:\n    wrmsr'],
    ['RDMSR of the write-only EOI register', 'mov ecx, X2APIC_EOI\nfaulting2:\n    rdmsr'],
  ])('#GP(0) for %s: error code 0 pushed below the return EIP', (_n, body) => {
    const r = run(handlerProg('VEC_GP', body)).regs({ eax: 0x1111, edx: 0x2222 }).runTo('faulting2');
    const [eax, edx] = [r.reg('eax'), r.reg('edx')];
    r.step().expectEip('handler').expectRegs({ esp: 0x80000 - 12, eax, edx });
    expect(r.mem32(0x80000 - 12), 'error code').toBe(0);
    expect(r.mem32(0x80000 - 8), 'return EIP').toBe(r.addr('faulting2'));
  });

  it('a #GP whose gate is not present becomes #DF (error code 0)', () => {
    const r = run(handlerProg('VEC_DF', 'mov ecx, 0x12345\nfaulting2:\n    rdmsr'), { traceKeep: 100 });
    r.runTo('handler', 50).expectRegs({ esp: 0x80000 - 12 });
    expect([r.mem32(0x80000 - 12), r.mem32(0x80000 - 8)]).toEqual([0, r.addr('faulting2')]);
    expect(r.machine.trace.recent().filter((e) => e.kind === TraceKind.Interrupt).map((e) => e.a)).toEqual([Vector.DF]);
  });

  it.each([
    ['no IDT at all', '    ud2'],
    ['an IDT limit too small for #GP and #DF', '    lidt [small]\n    int 0x40'],
  ])('triple fault with %s: shutdown, trace event, machine.run returns', (_n, body) => {
    const r = run(`_start:\n${body}\nafter: hlt\n.data\nsmall: .word 7\n .long 0x8000\n`, { traceKeep: 100, cpus: 2 });
    const res = r.machine.run({ untilCycles: 1e6 });
    expect(r.cpu.state).toBe(CpuState.Shutdown);
    expect(res.reason).toBe('shutdown');
    const tf = r.machine.trace.recent().filter((e) => e.kind === TraceKind.TripleFault);
    expect(tf).toHaveLength(1);
    expect(tf[0].a).toBe(r.addr('after') - (body.includes('int') ? 2 : 1)); // EIP of the faulting instruction
    expect(r.machine.trace.recent().some((e) => e.kind === TraceKind.Interrupt)).toBe(false);
  });
});

describe('RDTSC, RDMSR TSC, CPUID, LIDT/SIDT', () => {
  it('RDTSC returns the cycle count at the instruction', () => {
    const r = run('nop\npause\nrdtsc').step(3);
    r.expectRegs({ eax: cost('nop', 'none') + cost('pause', 'none'), edx: 0 }).expectCycles(cost('nop', 'none') + cost('pause', 'none') + cost('rdtsc', 'none'));
  });
  it('RDTSC splits counts beyond 32 bits into EDX:EAX', () => {
    const r = run('rdtsc\ncli\nhlt');
    r.cpu.cycles = 2 ** 32 * 3 + 5;
    r.machine.run({ untilCycles: 2 ** 34 });
    r.expectRegs({ eax: 5, edx: 3 });
  });
  it('RDMSR IA32_TIME_STAMP_COUNTER reads the same counter', () => {
    run('mov ecx, IA32_TIME_STAMP_COUNTER\nrdmsr').step(2).expectRegs({ eax: cost('mov', 'ri'), edx: 0 }).expectCycles(cost('mov', 'ri') + cost('rdmsr', 'none'));
  });
  it('CPUID leaf 0: maximum leaf and "GenuineIntel" in EBX, EDX, ECX', () => {
    const r = run('cpuid').regs({ eax: 0 }).step().expectCycles(cost('cpuid', 'none'));
    const str = (v: number) => String.fromCharCode(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
    expect(str(r.reg('ebx')) + str(r.reg('edx')) + str(r.reg('ecx'))).toBe('GenuineIntel');
    expect(r.reg('eax')).toBeGreaterThanOrEqual(1);
  });
  it('CPUID leaf 1: VMX (ECX bit 5), x2APIC (bit 21), TSC-deadline (bit 24); TSC, MSR, APIC in EDX; family 6', () => {
    const r = run('cpuid').regs({ eax: 1, ecx: 0 }).step();
    const ecx = r.reg('ecx');
    expect([(ecx >> 5) & 1, (ecx >> 21) & 1, (ecx >> 24) & 1]).toEqual([1, 1, 1]);
    expect(CPUID_FEATURES_ECX).toEqual({ VMX: 1 << 5, X2APIC: 1 << 21, TSC_DEADLINE: 1 << 24 });
    const edx = r.reg('edx');
    expect([(edx >> 4) & 1, (edx >> 5) & 1, (edx >> 9) & 1]).toEqual([1, 1, 1]);
    expect((r.reg('eax') >> 8) & 0xf).toBe(6);
    expect(r.reg('ebx') >>> 24, 'initial APIC ID').toBe(0);
  });
  it('LIDT loads limit and base; SIDT stores them back', () => {
    const r = run('lidt [d1]\nsidt [d2]\n.data\nd1: .word 0x1234\n .long 0xdeadbeef\nd2: .space 6, 0\n .space 2, 0x55\n');
    r.step().expectCycles(cost('lidt', 'm'));
    expect([r.cpu.idtLimit, r.cpu.idtBase >>> 0]).toEqual([0x1234, 0xdeadbeef]);
    r.step().expectCycles(cost('sidt', 'm'));
    const d2 = r.addr('d2');
    expect(r.mem32(d2) >>> 0).toBe(0xbeef1234);
    expect(r.mem32(d2 + 4) >>> 0).toBe(0x5555dead); // exactly 6 bytes written
  });
});

describe('CLI, STI, HLT, PAUSE, NOP', () => {
  it('CLI clears and STI sets IF, at their cost', () => {
    const r = run('cli\nsti');
    r.step().expectFlags({ IF: 0 }).expectCycles(cost('cli', 'none'));
    r.step().expectFlags({ IF: 1 }).expectCycles(cost('sti', 'none'));
  });
  it('PAUSE and NOP cost their classes and change nothing else', () => {
    const r = run('pause\nnop').regs({ eax: 7 }).flags({ CF: 1 });
    r.step().expectCycles(cost('pause', 'none')).expectRegs({ eax: 7 }).expectFlags({ CF: 1 });
    r.step().expectCycles(cost('nop', 'none'));
    expect(cost('pause', 'none')).toBeGreaterThan(cost('nop', 'none'));
  });
  it('HLT with IF = 0 and nothing pending: the machine goes idle', () => {
    const r = run('cli\nhlt\nafter: nop', { traceKeep: 100 });
    const res = r.machine.run({ untilCycles: 1e7 });
    expect(res.reason).toBe('idle');
    expect(r.cpu.state).toBe(CpuState.Halted);
    expect(r.cpu.eip).toBe(r.addr('after'));
    expect(r.machine.trace.recent().filter((e) => e.kind === TraceKind.Halt)).toHaveLength(1);
  });
});

describe('port I/O', () => {
  it('OUT to the UART is captured for the writing CPU (only AL for a byte OUT), IN reads its LSR', () => {
    const r = run(`
    mov edx, COM1_PORT
    mov eax, 'H'
    out dx, al
    mov eax, 0x169          ; only AL is written
    out dx, al
    mov eax, 10
    out dx, al
    mov edx, COM1_PORT + UART_LSR
    xor eax, eax
    in al, dx
    cli
    hlt
`);
    r.runMachine(1e7);
    expect(r.machine.uart.output(0)).toBe('Hi\n');
    expect(r.machine.uart.lines()).toEqual([{ source: 0, text: 'Hi' }]);
    expect(r.reg('eax') & 0x20, 'THRE').toBe(0x20);
  });
  it('every IN/OUT costs the io class', () => {
    run('mov edx, COM1_PORT\nout dx, al').step(2).expectCycles(cost('mov', 'ri') + cost('out', 'out8_dx'));
    expect(cost('in', 'in8_dx')).toBe(cost('out', 'out32_i'));
  });
  it.each([
    ['in al, 0x80', 0x123456ff],
    ['in ax, 0x80', 0x1234ffff],
    ['in eax, 0x80', 0xffffffff],
    ['in al, dx', 0x123456ff],
    ['in ax, dx', 0x1234ffff],
    ['in eax, dx', 0xffffffff],
  ])('%s from an unmapped port reads all ones into the operand size only', (src, want) => {
    run(src).regs({ eax: 0x12345678, edx: 0x80 }).step().expectRegs({ eax: want });
  });
  it.each([
    ['out EXIT_PORT, eax', 0x12345678, 0x12345678],
    ['out EXIT_PORT, al', 0x12345678, 0x78],
    ['mov edx, EXIT_PORT\nout dx, ax', 0x12345678, 0x5678],
  ])('%s ends the run with the exit code', (src, eax, code) => {
    const r = run(`${src}\nspin: jmp spin`).regs({ eax });
    const res = r.machine.run({ untilCycles: 1e6 });
    expect(res.reason).toBe('exit');
    expect(res.exitCode).toBe(code);
    expect(r.machine.exitCode).toBe(code);
  });
});

describe('TRACE', () => {
  it('emits a tracepoint event with the id and the register value, at the current cycle', () => {
    const r = run('nop\ntrace user, eax\ntrace 37, ebx', { traceKeep: 100 }).regs({ eax: 0x1234, ebx: -1 });
    r.step(3).expectCycles(cost('nop', 'none') + 2 * cost('trace', 'tp'));
    const ev = r.machine.trace.recent().filter((e) => e.kind === TraceKind.Tracepoint);
    expect(ev.map((e) => ({ t: e.time, cpu: e.cpu, a: e.a, b: e.b }))).toEqual([
      { t: cost('nop', 'none'), cpu: 0, a: TRACEPOINT_ID.get('user'), b: 0x1234 },
      { t: cost('nop', 'none') + cost('trace', 'tp'), cpu: 0, a: 37, b: -1 },
    ]);
  });
});
