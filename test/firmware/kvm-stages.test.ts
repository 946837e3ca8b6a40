/**
 * The paper's Fig. 2 stage breakdown measured on the real path (host
 * kernel + KVM + guest), exit statistics of a deterministic run, and
 * bit-identical traces of two runs.
 */
import { describe, expect, it } from 'vitest';
import { ExitStats } from '../../src/trace/exit-stats.js';
import { STAGES, StageBreakdown } from '../../src/trace/stages.js';
import { TraceKind } from '../../src/trace/trace.js';
import { NEHALEM } from '../../src/machine/cpu-model.js';
import { SchedPolicy, SystemRun, ms, testGuest } from '../helpers/kernel.js';
import { lookupSymbol } from '../../src/asm/image.js';
import { readRtosResults, rtosParams, writeRtosParams } from '../../src/guests/rtos-params.js';

const PROLOGUE = 3; // guests/test/timer.s: three PUSHes before its RDTSC

function timerRun(knobs: Record<string, number>, until = ms(10)) {
  const r = new SystemRun({ vms: [{ name: 'rt', image: testGuest('timer.s'), vcpuThreads: [{ affinity: 0b10 }], ioThread: { affinity: 0b01 } }] });
  for (const [k, v] of Object.entries(knobs)) r.guestPoke('rt', k, v);
  const stages = new StageBreakdown(r.machine.trace);
  const exits = new ExitStats(r.machine.trace);
  r.run(until);
  return { r, stages, exits };
}

describe('Fig. 2 stage breakdown of the guest timer path', () => {
  it('guest running (EXTERNAL_INTERRUPT exit): eight points in order, six stages summing exactly to h - a, agreeing with the guest RDTSC', () => {
    const { r, stages } = timerRun({ cfg_halt: 0, cfg_ticks: 10 });
    expect(r.guest32('rt', 'ticks')).toBe(10);
    const recs = stages.records;
    expect(recs.length).toBe(10);
    const id = r.sys.threadIndex('rt/vcpu0');
    for (const x of recs) {
      expect([x.vcpu, x.vector, x.source, x.exited, x.raiseCpu, x.cpu]).toEqual([id, 0x30, 'timer', true, 1, 1]);
      const p = x.points;
      expect([p.a, p.b, p.c, p.d, p.e, p.f, p.g, p.h]).toEqual([...[p.a, p.b, p.c, p.d, p.e, p.f, p.g, p.h]].sort((m, n) => m - n));
      expect(STAGES.reduce((s, n) => s + x.stages[n], 0)).toBe(x.total);
      expect(x.total).toBe(p.h - p.a);
      expect(x.stages.vm_exit).toBeGreaterThanOrEqual(NEHALEM.events.vmExit.cycles); // the exit transition itself
      expect(p.g - p.f).toBeGreaterThanOrEqual(NEHALEM.events.vmEntry.cycles);
    }
    // a is the host deadline = the guest's deadline - TSC_OFFSET (the vCPU's hrtimer)
    const kvm = r.sym('kvm_vms');
    const offset = r.mem32(kvm, r.sym('kvm.tsc_offset'));
    const last = recs.at(-1)!;
    expect((last.points.a + offset) % 2 ** 32).toBe(r.guest32('rt', 'deadline'));
    // the guest's own measurement = ground truth + its ISR prologue
    expect(r.guest32('rt', 'lat_last') - last.total).toBe(PROLOGUE);
    expect(r.guest32('rt', 'lat_max') - stages.summary().total.max).toBe(PROLOGUE);
    const table = stages.format(NEHALEM.hz);
    for (const t of ['VM exit (b-a)', 'after VM exit (c-b)', 'host ISR (d-c)', 'host scheduling (e-d)', 'before VM entry (f-e)', 'VM entry (h-f)', 'total (h-a)']) {
      expect(table).toContain(t);
    }
    expect(table).toContain('10 interrupts delivered to guests');
  });

  it('guest halted (vCPU thread blocked): no VM exit, b = c; host scheduling includes the switch to the vCPU thread', () => {
    const { r, stages } = timerRun({ cfg_halt: 1, cfg_ticks: 10 });
    expect(stages.records.length).toBe(10);
    for (const x of stages.records) {
      expect(x.exited).toBe(false);
      expect(x.points.b).toBe(x.points.c);
      expect(STAGES.reduce((s, n) => s + x.stages[n], 0)).toBe(x.total);
      // between d and e the vCPU thread was switched in
      const sw = r.tps('sched_switch').filter((e) => e.cpu === 1 && e.time > x.points.d && e.time < x.points.e);
      expect(sw.map((e) => e.value)).toEqual([r.pid('rt/vcpu0')]);
    }
    expect(r.guest32('rt', 'lat_last') - stages.records.at(-1)!.total).toBe(PROLOGUE);
  });
});

describe('the RTOS guest (guests/rtos) under the host kernel', () => {
  it('boots, runs its IRT benchmark on a FIFO 97 vCPU shielded on CPU 1, and its in-guest IRT agrees with the Fig. 2 ground truth', () => {
    const loops = 100;
    const r = new SystemRun({
      params: { tickHz: 1000 },
      vms: [{ name: 'rtos', image: testGuest('../rtos/main.s'), memory: 4 << 20, vcpuThreads: [{ policy: SchedPolicy.SCHED_FIFO, prio: 97, affinity: 0b10 }], ioThread: { affinity: 0b01 } }],
    });
    const vm = r.sys.vm('rtos');
    const params = rtosParams({ irt: { loops, intervalUs: 100 } });
    writeRtosParams(r.machine.memory, vm.memBase, params);
    const stages = new StageBreakdown(r.machine.trace);
    r.run(ms(60));
    expect(r.console).toContain('kvm: vm rtos: done, status 0');
    expect(r.result!.exitCode).toBe(0);
    const res = readRtosResults((s) => lookupSymbol(vm.image, s)!.value, (gpa) => r.machine.memory.read32(vm.memBase + gpa), params);
    expect(res.irt.count).toBe(loops);
    expect(stages.records.length).toBeGreaterThanOrEqual(loops); // the IRT deadlines and the RTOS's own ticks
    for (const x of stages.records) expect(STAGES.reduce((a, n) => a + x.stages[n], 0)).toBe(x.total);
    const irtAvg = res.irt.sum / res.irt.count;
    expect(Math.abs(irtAvg - stages.summary().total.avg)).toBeLessThan(NEHALEM.hz / 1e7); // 0.1 µs
  });
});

describe('KVM determinism and exit statistics', () => {
  it('a short run has the expected exits per reason, and two runs give the same trace hash', () => {
    const runs = [0, 1].map(() => timerRun({ cfg_halt: 1, cfg_hello: 1 }));
    for (const { r, exits } of runs) {
      expect(r.result!.exitCode).toBe(0);
      // LVT timer + first deadline + (EOI + re-arm) per tick but the last; a HLT before each tick;
      // "timer guest: hello\n" = 19 characters of LSR poll + THR write; PRINT and DONE
      expect(exits.counts()).toEqual({ HLT: 5, VMCALL: 2, IO_INSTRUCTION: 38, MSR_WRITE: 11 });
    }
    const [a, b] = runs;
    expect(a.r.machine.trace.hash).toBe(b.r.machine.trace.hash);
    expect(a.r.machine.trace.count).toBe(b.r.machine.trace.count);
    expect(a.stages.records).toEqual(b.stages.records);
    expect(a.r.arch(TraceKind.VmExit).length).toBe(56);
  });
});
