/** Host kernel: boot, SMP bring-up, console, idle (issue items 1 and 10). */
import { describe, expect, it } from 'vitest';
import { TraceKind } from '../../src/trace/trace.js';
import { ThreadKind, bootKernel, fifo, ms, thread } from '../helpers/kernel.js';

describe('host kernel boot', () => {
  it('boots on 2 CPUs; both run their idle tasks', () => {
    const k = bootKernel();
    expect(k.console).toContain('vmxsim kernel: 2 CPUs');
    expect(k.console).toContain('smp: CPUs online 0x3');
    const idle = k.tps('cpu_idle');
    for (const cpu of [0, 1]) expect(idle.some((e) => e.cpu === cpu && e.value === 1), `cpu ${cpu} idles`).toBe(true);
    expect(k.result!.exitCode).toBeNull();
  });

  it('starts the AP at the page-aligned trampoline with INIT + STARTUP', () => {
    const k = bootKernel();
    const trampoline = k.sym('ap_trampoline');
    expect(trampoline % 4096).toBe(0);
    expect(k.arch(TraceKind.Startup).map((e) => [e.cpu, e.a])).toEqual([[1, trampoline >> 12]]);
    expect(k.mem32('cpu_online_mask')).toBe(0b11);
    // each CPU runs on its own idle task's stack: thread_info.cpu = the CPU
    for (const cpu of [0, 1]) {
      const esp = k.machine.cpus[cpu].regs[4] >>> 0;
      const ti = esp & ~(k.const('THREAD_SIZE') - 1);
      expect(k.mem32(ti, k.const('thread_info.cpu'))).toBe(cpu);
      expect(k.mem32(ti, k.const('thread_info.task'))).toBe(k.sym('tasks') + cpu * k.const('task.size'));
    }
  });
});

describe('host kernel determinism', () => {
  it('the same boot parameters give the same trace, bit for bit', () => {
    const params = {
      tickHz: 1000,
      cyclictest: { intervalUs: 500, loops: 0, histogram: 100 },
      threads: [thread('ct', ThreadKind.CYCLICTEST, fifo(80)), thread('hog', ThreadKind.LOAD), thread('io', ThreadKind.IO)],
    };
    const a = bootKernel({ until: ms(8), params });
    const b = bootKernel({ until: ms(8), params });
    expect(a.machine.trace.count).toBeGreaterThan(100);
    expect(b.machine.trace.hash).toBe(a.machine.trace.hash);
    expect(b.machine.instructions).toBe(a.machine.instructions);
  });

  it('the block compiler and the interpreter run the kernel identically', () => {
    const params = {
      tickHz: 1000,
      cyclictest: { intervalUs: 500, loops: 0, histogram: 100 },
      threads: [thread('ct', ThreadKind.CYCLICTEST, fifo(80)), thread('hog', ThreadKind.LOAD), thread('io', ThreadKind.IO)],
    };
    const compiled = bootKernel({ until: ms(8), params, machine: { compile: true } });
    const interpreted = bootKernel({ until: ms(8), params, machine: { compile: false } });
    expect(interpreted.machine.trace.hash).toBe(compiled.machine.trace.hash);
  });
});
