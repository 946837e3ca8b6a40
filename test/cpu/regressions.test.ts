/**
 * Bugs found by the CPU test suite and fixed; each test failed before its fix.
 */
import { describe, expect, it } from 'vitest';
import { DELIVERY_NMI } from '../../src/apic/msr.js';
import { run } from '../helpers/runner.js';
import { APIC_ENABLE, IDT_DATA, idtSetup } from './util.js';

describe('regressions', () => {
  it('STI; HLT with an interrupt already pending wakes at once (Linux safe_halt)', () => {
    const r = run(`
_start:
${idtSetup({ '0x40': 'isr' })}
${APIC_ENABLE}
    mov ecx, X2APIC_SELF_IPI
    mov eax, 0x40
    wrmsr
    sti
    hlt
    mov eax, 1
    out EXIT_PORT, eax
isr:
    mov ecx, X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    iret
${IDT_DATA}`);
    const res = r.machine.run({ untilCycles: 1e7 });
    expect([res.reason, res.exitCode]).toEqual(['exit', 1]);
  });

  it('INT n beyond the IDT limit raises #GP(n*8+2) for the INT, not #DF (SDM Table 6-5)', () => {
    const r = run(`
_start:
${idtSetup({ VEC_GP: 'gp', VEC_DF: 'df' })}
    lidt [small]
faulting:
    int 0x40
gp: hlt
df: hlt
.data
small: .word 0x20*8 - 1
       .long idt
${IDT_DATA}`);
    r.runTo('faulting').step().expectEip('gp');
    expect([r.mem32(r.reg('esp')), r.mem32(r.reg('esp') + 4)]).toEqual([0x40 * 8 + 2, r.addr('faulting')]);
  });

  it('a second NMI waits for the IRET of the first (SDM 6.7.1)', () => {
    const r = run(`
_start:
${idtSetup({ VEC_NMI: 'nmi' })}
ready:
    nop
    nop
nmi:
    nop
in_nmi:
    nop
    iret
${IDT_DATA}`);
    const nmi = () => r.machine.apics[0].receiveIpi(DELIVERY_NMI, 0, r.cpu.cycles);
    r.runTo('ready');
    nmi();
    r.step().expectEip('nmi');
    r.runTo('in_nmi');
    nmi();
    r.step().expectEip(r.addr('in_nmi') + 1);
    r.step().step().expectEip('nmi');
  });

  it('stepOne executes one instruction at any simulated time', () => {
    const r = run('nop\nnop\nnop');
    r.cpu.cycles = 2 ** 40;
    r.step().expectEip(r.image.entry + 1);
    r.step().expectEip(r.image.entry + 2);
  });
});
