/** Host kernel interrupts (issue items 1, 5): I/O APIC routing from bp.irq_affinity, tracepoints, fatal exceptions. */
import { describe, expect, it } from 'vitest';
import { TraceKind } from '../../src/trace/trace.js';
import { ThreadKind, bootKernel, fifo, ms, thread } from '../helpers/kernel.js';

const { IO, IRQ } = ThreadKind;
const DISK_IRQ = 14;
const IRQ0_VECTOR = 0x30;

describe('host kernel IRQ affinity', () => {
  it.each([
    [0b01, 0],
    [0b10, 1],
    [0b11, 0], // lowest CPU of the mask
    [0b00, 0], // no CPU: the default
  ])('the disk IRQ with affinity %i goes to CPU %i', (mask, cpu) => {
    const k = bootKernel({
      until: ms(30), // a read waits for seek and rotation: a few ms each
      params: { irqAffinity: Object.assign(Array(24).fill(0), { [DISK_IRQ]: mask }), threads: [thread('io', IO, { affinity: 0b11 })] },
    });
    const redirection = k.machine.ioApic.redirection(DISK_IRQ);
    expect([redirection.vector, redirection.dest, redirection.masked]).toEqual([IRQ0_VECTOR + DISK_IRQ, cpu, false]);
    expect(k.mem32('irq_dest_cpu', 4 * DISK_IRQ)).toBe(cpu);
    const entries = k.tps('irq_handler_entry');
    expect(entries.length).toBeGreaterThanOrEqual(2);
    expect(entries.every((e) => e.cpu === cpu && e.value === DISK_IRQ)).toBe(true);
    expect(k.tps('irq_handler_exit').length).toBe(entries.length);
    expect(k.mem32('kstat_irqs', 4 * DISK_IRQ)).toBe(entries.length);
    // pins without a handler stay masked
    for (const pin of [0, 1, 13, 15, 23]) expect(k.machine.ioApic.redirection(pin).masked).toBe(true);
  });
});

describe('host kernel exceptions', () => {
  it('an exception in a kernel thread is reported and stops the machine with EXIT_PANIC + vector', () => {
    const extra = `
fault_body:
    mov eax, 0x1234
    nop
faulting_insn:
    ud2
`;
    const k = bootKernel({ until: ms(2), extra, bodies: { [IRQ]: 'fault_body' }, params: { threads: [thread('faulty', IRQ, fifo(10, 0b10))] } });
    expect(k.result!.reason).toBe('exit');
    expect(k.result!.exitCode).toBe(0x100 + 6);
    const eip = k.sym('faulting_insn').toString(16);
    expect(k.console).toContain(`kernel: exception 6 (#UD invalid opcode) at eip 0x${eip}, error code 0x0, cpu 1, task faulty (pid 1)`);
    expect(k.console).toContain('Kernel panic - not syncing: Fatal exception');
    expect(k.arch(TraceKind.MachineExit).map((e) => [e.cpu, e.a])).toEqual([[1, 0x106]]);
  });

  it('a #GP reports its error code', () => {
    const extra = `
gp_body:
    mov eax, 0x7777
    mov ecx, eax
    wrmsr                        ; no such MSR: #GP(0)
`;
    const k = bootKernel({ until: ms(2), extra, bodies: { [IRQ]: 'gp_body' }, params: { threads: [thread('gp', IRQ, fifo(10, 0b01))] } });
    expect(k.result!.exitCode).toBe(0x100 + 13);
    expect(k.console).toMatch(/exception 13 \(#GP general protection\) at eip 0x[0-9a-f]+, error code 0x0, cpu 0, task gp \(pid 1\)/);
  });
});
