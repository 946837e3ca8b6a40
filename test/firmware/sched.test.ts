/**
 * Host kernel scheduler (issue item 4): FIFO/RR priorities above the fair
 * class, wake-up preemption, affinity, shielding, reschedule IPIs,
 * sched_setscheduler, SCHED_RR slices and fair shares.
 */
import { describe, expect, it } from 'vitest';
import { TraceKind } from '../../src/trace/trace.js';
import { SchedPolicy, ThreadKind, bootKernel, fifo, ms, thread, us, type KernelRun } from '../helpers/kernel.js';

const { LOAD, CYCLICTEST, IO, IRQ } = ThreadKind;
const RESCHEDULE_VECTOR = 0xfd;

/** sched_switch events of one CPU (value = next pid). */
const switchesOn = (k: KernelRun, cpu: number) => k.tps('sched_switch').filter((e) => e.cpu === cpu);

/** CPU time (cycles) a thread has run so far: its se.sum_exec_runtime. */
const runtime = (k: KernelRun, pid: number) => k.mem32(k.task(pid), k.const('task.se_sum_exec_runtime'));

describe('host kernel scheduler', () => {
  it('a FIFO sleeper preempts a fair load on wake-up, within a bound', () => {
    const k = bootKernel({
      until: ms(25),
      params: {
        tickHz: 1000,
        cyclictest: { intervalUs: 1000, loops: 20, histogram: 100 },
        threads: [thread('ct', CYCLICTEST, fifo(80, 0b01)), thread('load', LOAD, { affinity: 0b01 })],
      },
    });
    const ct = k.pid('ct');
    const load = k.pid('load');
    const wakeups = k.tps('sched_wakeup').filter((e) => e.value === ct && e.cpu === 0);
    expect(wakeups.length).toBeGreaterThanOrEqual(19);
    const sw = switchesOn(k, 0);
    for (const w of wakeups.slice(1)) {
      // the running task at the wake-up is the load, and the switch to the sleeper follows at once
      const before = sw.filter((e) => e.time < w.time).at(-1)!;
      expect(before.value, 'load was running').toBe(load);
      const next = sw.find((e) => e.time > w.time)!;
      expect(next.value).toBe(ct);
      expect(next.time - w.time).toBeLessThan(us(2));
    }
    expect(k.result!.exitCode).toBe(0); // cyclictest finished its loops and powered off
    expect(runtime(k, load)).toBeGreaterThan(ms(15));
  });

  it('a higher FIFO preempts a lower FIFO on the same CPU; a lower one waits', () => {
    const k = bootKernel({
      until: ms(12),
      params: {
        cyclictest: { intervalUs: 1000, loops: 0, histogram: 100 },
        threads: [
          thread('ct-high', CYCLICTEST, fifo(80, 0b01)),
          thread('hog', LOAD, fifo(50, 0b01)),
          thread('ct-low', CYCLICTEST, fifo(10, 0b01)),
        ],
      },
    });
    const [high, hog, low] = ['ct-high', 'hog', 'ct-low'].map((n) => k.pid(n));
    const sw = switchesOn(k, 0);
    const toHigh = sw.filter((e) => e.value === high);
    expect(toHigh.length).toBeGreaterThanOrEqual(10);
    // each switch to the high sleeper comes from the hog, and goes back to it
    for (const s of toHigh.slice(1)) {
      expect(sw[sw.indexOf(s) - 1].value).toBe(hog);
      expect(sw[sw.indexOf(s) + 1]?.value ?? hog).toBe(hog);
    }
    // the FIFO 10 sleeper ran once (its first wake-up came before the hog) and never again
    expect(sw.filter((e) => e.value === low).length).toBeLessThanOrEqual(1);
    expect(k.mem32('ct_stats', k.const('ct_stat.count') + k.const('ct_stat.size'))).toBe(0);
  });

  it('CPU affinity holds under load: loads pinned to CPU 0 never run on CPU 1', () => {
    const k = bootKernel({
      until: ms(20),
      params: {
        tickHz: 1000,
        cyclictest: { intervalUs: 500, loops: 0, histogram: 100 },
        threads: [
          thread('load-a', LOAD, { affinity: 0b01 }),
          thread('load-b', LOAD, { affinity: 0b01, nice: 5 }),
          thread('ct', CYCLICTEST, fifo(80)),
          thread('load-c', LOAD, { affinity: 0b11 }),
        ],
      },
    });
    const pinned = new Set([k.pid('load-a'), k.pid('load-b')]);
    expect(switchesOn(k, 1).filter((e) => pinned.has(e.value))).toEqual([]);
    // ... while they do share CPU 0 (the tick rotates them)
    const on0 = new Set(switchesOn(k, 0).map((e) => e.value));
    for (const p of pinned) expect(on0.has(p)).toBe(true);
    expect(k.arch(TraceKind.TripleFault)).toEqual([]);
  });

  it('shielding: with only the RT thread allowed on CPU 1, every switch there is to it or idle', () => {
    const k = bootKernel({
      until: ms(20),
      params: {
        tickHz: 1000,
        irqAffinity: Array(24).fill(0b01),
        cyclictest: { intervalUs: 1000, loops: 0, histogram: 100 },
        threads: [
          thread('load-a', LOAD, { affinity: 0b01 }),
          thread('rt', CYCLICTEST, fifo(80, 0b10)),
          thread('io', IO, { affinity: 0b01 }),
          thread('load-b', LOAD, { affinity: 0b01, nice: -5 }),
        ],
      },
    });
    const rt = k.pid('rt');
    const on1 = switchesOn(k, 1);
    expect(on1.filter((e) => e.value === rt).length).toBeGreaterThanOrEqual(18);
    expect(on1.every((e) => e.value === rt || e.value === 0)).toBe(true);
    // the disk interrupt stays on CPU 0
    expect(k.tps('irq_handler_entry').every((e) => e.cpu === 0)).toBe(true);
    expect(k.tps('irq_handler_entry').length).toBeGreaterThan(0);
  });

  it('a wake-up for another CPU goes through the reschedule IPI', () => {
    // the disk IRQ is routed to CPU 0; the I/O thread waiting for it is pinned to CPU 1
    const k = bootKernel({
      until: ms(20),
      params: { irqAffinity: Object.assign(Array(24).fill(0), { 14: 0b01 }), threads: [thread('io', IO, { affinity: 0b10 })] },
    });
    const io = k.pid('io');
    const irqs = k.tps('irq_handler_entry').filter((e) => e.value === 14);
    expect(irqs.length).toBeGreaterThan(0);
    for (const irq of irqs) {
      expect(irq.cpu).toBe(0);
      const wake = k.tps('sched_wakeup').find((e) => e.time > irq.time && e.value === io)!;
      expect(wake.cpu).toBe(0);
      const ipi = k.tps('ipi_entry').find((e) => e.time > wake.time)!;
      expect([ipi.cpu, ipi.value]).toEqual([1, RESCHEDULE_VECTOR]);
      const sw = switchesOn(k, 1).find((e) => e.time > ipi.time)!;
      expect(sw.value).toBe(io);
      expect(sw.time - irq.time).toBeLessThan(us(5));
    }
  });

  it('sched_setscheduler moves a thread between classes, visibly', () => {
    // X: a fair hog on CPU 0 under a FIFO 10 hog; a controller on CPU 1 makes X FIFO 20, then fair again
    const extra = `
setsched_body:
    mov eax, 1000
    call hrtimer_nanosleep_us
    mov eax, tasks + NR_CPUS * task.size      ; pid 1, thread 0
    mov edx, SCHED_FIFO
    mov ecx, 20
    call sched_setscheduler
    mov [setsched_results], eax
    mov eax, tasks + NR_CPUS * task.size
    mov edx, SCHED_FIFO
    mov ecx, 100                              ; out of range
    call sched_setscheduler
    mov [setsched_results + 4], eax
    mov eax, 1000
    call hrtimer_nanosleep_us
    mov eax, tasks + NR_CPUS * task.size
    mov edx, SCHED_OTHER
    xor ecx, ecx
    call sched_setscheduler
    mov [setsched_results + 8], eax
    jmp sleeper_thread
.data
setsched_results: .long 1, 1, 1
`;
    const k = bootKernel({
      until: ms(3),
      extra,
      bodies: { [IRQ]: 'setsched_body' },
      params: {
        threads: [
          thread('x', LOAD, { affinity: 0b01 }),
          thread('fifo10', LOAD, fifo(10, 0b01)),
          thread('ctl', IRQ, fifo(90, 0b10)),
        ],
      },
    });
    const [x, f10] = [k.pid('x'), k.pid('fifo10')];
    expect([0, 4, 8].map((o) => k.mem32('setsched_results', o) | 0)).toEqual([0, -22, 0]);
    const set = k.tps('sched_setscheduler');
    expect(set.map((e) => [e.cpu, e.value])).toEqual([[1, x], [1, x]]);
    const sw = switchesOn(k, 0);
    // before: the FIFO 10 hog owns CPU 0; after the first call X preempts it (through an IPI); after the second, it is back
    expect(sw.filter((e) => e.time < set[0].time).at(-1)!.value).toBe(f10);
    const up = sw.find((e) => e.time > set[0].time)!;
    expect(up.value).toBe(x);
    expect(up.time - set[0].time).toBeLessThan(us(3));
    expect(sw.filter((e) => e.time > set[0].time && e.time < set[1].time).map((e) => e.value)).toEqual([x]);
    const down = sw.find((e) => e.time > set[1].time)!;
    expect(down.value).toBe(f10);
    expect(k.mem32(k.task(x), k.const('task.policy'))).toBe(SchedPolicy.SCHED_OTHER);
  });

  it('fair threads made real-time and fair again keep their vruntime lead', () => {
    // A and B: fair hogs on CPU 0; after 5 ms a FIFO controller on CPU 0, interrupts off, notes their
    // vruntimes and min_vruntime, makes each FIFO 1 and fair again (co-scheduling's boost and deboost),
    // and notes them again. Linux keeps a non-sleeping dequeue's vruntime relative to min_vruntime; were
    // a task placed at min_vruntime instead, a vCPU boosted every tick would never be charged its fair
    // runtime and a fair thread beside it would wait (Fig. 11 under co-scheduling).
    const extra = `
flip_body:
    mov eax, 5000
    call hrtimer_nanosleep_us
    cli
    mov edi, flip_before
    call flip_note
    mov eax, tasks + NR_CPUS * task.size      ; pid 1, A
    call flip_task
    mov eax, tasks + (NR_CPUS + 1) * task.size ; pid 2, B
    call flip_task
    mov edi, flip_after
    call flip_note
    sti
    jmp sleeper_thread
flip_task:
    push eax
    mov edx, SCHED_FIFO
    mov ecx, 1
    call sched_setscheduler
    pop eax
    mov edx, SCHED_OTHER
    xor ecx, ecx
    jmp sched_setscheduler
flip_note:
    mov eax, [tasks + NR_CPUS * task.size + task.se_vruntime]
    mov [edi], eax
    mov eax, [tasks + (NR_CPUS + 1) * task.size + task.se_vruntime]
    mov [edi + 4], eax
    mov eax, [runqueues + rq.cfs + cfs_rq.min_vruntime]
    mov [edi + 8], eax
    ret
.data
flip_before: .long 0, 0, 0
flip_after: .long 0, 0, 0
`;
    const k = bootKernel({
      until: ms(6),
      extra,
      bodies: { [IRQ]: 'flip_body' },
      params: {
        tickHz: 1000,
        threads: [thread('a', LOAD, { affinity: 0b01 }), thread('b', LOAD, { affinity: 0b01 }), thread('ctl', IRQ, fifo(90, 0b01))],
      },
    });
    const note = (label: string) => [0, 4, 8].map((o) => k.mem32(label, o));
    const [va, vb, min] = note('flip_before');
    const [va2, vb2, min2] = note('flip_after');
    expect(k.tps('sched_setscheduler').length).toBe(4);
    expect(min).toBe(Math.min(va, vb));
    expect(Math.abs(va - vb)).toBeGreaterThan(us(100)); // one leads the other by most of a tick
    // each is re-queued at the new min_vruntime plus its old distance to min_vruntime at its dequeue
    // (B's dequeue moves min_vruntime up to A's), so the lead between them is kept
    expect(min2).toBe(Math.max(va, vb));
    expect(va2 - vb2).toBe(va - vb);
  });

  it('raising a task above the caller on the same CPU preempts the caller at once', () => {
    const extra = `
raise_body:
    mov eax, 200
    call hrtimer_nanosleep_us
    rdtsc
    mov [raise_before], eax
    mov eax, tasks + NR_CPUS * task.size      ; pid 1
    mov edx, SCHED_FIFO
    mov ecx, 95
    call sched_setscheduler
    rdtsc
    mov [raise_after], eax
    jmp sleeper_thread
.data
raise_before: .long 0
raise_after: .long 0
`;
    const k = bootKernel({
      until: ms(2),
      extra,
      bodies: { [IRQ]: 'raise_body' },
      params: { threads: [thread('x', LOAD, { affinity: 0b01 }), thread('ctl', IRQ, fifo(90, 0b01))] },
    });
    const [x, ctl] = [k.pid('x'), k.pid('ctl')];
    const set = k.tps('sched_setscheduler');
    expect(set.map((e) => [e.cpu, e.value])).toEqual([[0, x]]);
    const sw = switchesOn(k, 0).filter((e) => e.time > set[0].time);
    // X runs right after the call, before the caller gets back from it; the FIFO 95 hog then keeps the CPU
    expect(sw[0].value).toBe(x);
    expect(sw[0].time - set[0].time).toBeLessThan(us(1));
    expect(sw.some((e) => e.value === ctl)).toBe(false);
    expect(k.mem32('raise_before')).toBeGreaterThan(0);
    expect(k.mem32('raise_after')).toBe(0);
  });

  it('SCHED_RR threads of one priority take turns every 100 ms with a tick', () => {
    const rr = { policy: SchedPolicy.SCHED_RR, prio: 30, affinity: 0b01 };
    const k = bootKernel({ until: ms(350), params: { tickHz: 1000, threads: [thread('rr-a', LOAD, rr), thread('rr-b', LOAD, rr)] } });
    const [a, b] = [k.pid('rr-a'), k.pid('rr-b')];
    const sw = switchesOn(k, 0).filter((e) => e.value === a || e.value === b);
    expect(sw.map((e) => e.value).slice(0, 4)).toEqual([a, b, a, b]);
    for (let i = 1; i < sw.length; i++) {
      const slice = sw[i].time - sw[i - 1].time;
      expect(slice).toBeGreaterThan(ms(99));
      expect(slice).toBeLessThan(ms(102));
    }
  });

  it('fair threads share a CPU by weight (nice 0 vs nice 5: 1024 vs 335)', () => {
    const k = bootKernel({
      until: ms(120),
      params: { tickHz: 1000, threads: [thread('n0', LOAD, { affinity: 0b01 }), thread('n5', LOAD, { affinity: 0b01, nice: 5 })] },
    });
    const r0 = runtime(k, k.pid('n0'));
    const r5 = runtime(k, k.pid('n5'));
    expect(r0 + r5).toBeGreaterThan(ms(110));
    expect(r0 / r5).toBeGreaterThan(2.6);
    expect(r0 / r5).toBeLessThan(3.6);
  });
});
