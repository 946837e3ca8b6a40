/**
 * Host kernel real-time features: threaded IRQs under PREEMPT_RT vs the
 * disk completion in hard IRQ context under PREEMPT_NONE, ktimersoftd running
 * soft hrtimers, and ACPI C3 idle (bp.acpi_processor) with its exit latency.
 */
import { describe, expect, it } from 'vitest';
import { NEHALEM } from '../../src/machine/cpu-model.js';
import { KernelRun, PreemptModel, ThreadKind, fifo, ms, thread, us, type KernelOptions } from '../helpers/kernel.js';

const { IO, IRQ, HRTIMER, CYCLICTEST, LOAD } = ThreadKind;
const DISK_IRQ = 14;
const diskOnCpu0 = Object.assign(Array(24).fill(0), { [DISK_IRQ]: 0b01 });
const LOOPS = 60;

/** Boot with `pokes` (symbol → value) written into the kernel image before it runs. */
function boot(opts: KernelOptions & { pokes?: Record<string, number> }): KernelRun {
  const k = new KernelRun(opts);
  for (const [name, v] of Object.entries(opts.pokes ?? {})) k.poke32(k.sym(name), v);
  return k.run(opts.until ?? ms(2));
}

const ct = (k: KernelRun) => {
  const f = (field: string) => k.mem32('ct_stats', k.const(`ct_stat.${field}`));
  const count = f('count');
  return { count, minUs: f('min_ns') / 1000, avgUs: f('sum_ns') / count / 1000, maxUs: f('max_ns') / 1000 };
};

/** cyclictest FIFO 80 on CPU 0, the disk IRQ on CPU 0 with `completionUs` of completion work, an I/O thread on CPU 1 reading. */
function diskLoad(model: PreemptModel, completionUs: number, withIrqThread = true) {
  return boot({
    until: ms(LOOPS + 20),
    pokes: { disk_completion_us: completionUs },
    params: {
      preemptModel: model,
      irqAffinity: diskOnCpu0,
      cyclictest: { intervalUs: 1000, loops: LOOPS, histogram: 0 },
      threads: [
        thread('cyclictest', CYCLICTEST, fifo(80, 0b01)),
        thread('io', IO, { affinity: 0b10 }),
        ...(withIrqThread ? [thread('irq/14-disk', IRQ, fifo(50, 0b01))] : []),
      ],
    },
  });
}

describe('threaded IRQs (PREEMPT_RT) vs hard-IRQ completion (PREEMPT_NONE)', () => {
  const COMPLETION_US = 500;

  it('PREEMPT_RT: the disk handler runs in its IRQ thread at FIFO 50; the FIFO 80 cyclictest preempts it', () => {
    const k = diskLoad(PreemptModel.PREEMPT_RT, COMPLETION_US);
    const s = ct(k);
    console.log(`PREEMPT_RT + disk load: cyclictest min ${s.minUs} avg ${s.avgUs.toFixed(2)} max ${s.maxUs} µs, completions ${k.mem32('disk_completions')}`);
    expect(k.result!.exitCode).toBe(0);
    expect(s.count).toBe(LOOPS);
    expect(k.mem32('disk_completions')).toBeGreaterThanOrEqual(5);
    expect(k.mem32('disk_handler_pid')).toBe(k.pid('irq/14-disk'));
    expect(k.mem32('disk_handler_prio')).toBe(99 - 50);
    // the hard handler only woke the thread: the IRQ thread runs after irq_handler_exit
    expect(k.mem32(k.task(k.pid('irq/14-disk')) + k.const('task.nivcsw'))).toBeGreaterThan(0); // preempted by cyclictest
    expect(s.maxUs).toBeLessThan(20);
  });

  it('PREEMPT_NONE: the completion runs in hard IRQ context and delays the FIFO 80 wake-up', () => {
    const k = diskLoad(PreemptModel.PREEMPT_NONE, COMPLETION_US);
    const s = ct(k);
    console.log(`PREEMPT_NONE + disk load: cyclictest min ${s.minUs} avg ${s.avgUs.toFixed(2)} max ${s.maxUs} µs, completions ${k.mem32('disk_completions')}`);
    expect(s.count).toBe(LOOPS);
    expect(k.mem32('disk_completions')).toBeGreaterThanOrEqual(5);
    expect(k.mem32('disk_handler_pid')).not.toBe(k.pid('irq/14-disk')); // whatever the interrupt hit
    expect(s.maxUs).toBeGreaterThan(100);
    expect(s.maxUs).toBeLessThan(COMPLETION_US + 20);
  });

  it('cyclictest max latency: PREEMPT_NONE with disk load is far worse than PREEMPT_RT', () => {
    const rt = ct(diskLoad(PreemptModel.PREEMPT_RT, COMPLETION_US));
    const none = ct(diskLoad(PreemptModel.PREEMPT_NONE, COMPLETION_US));
    expect(none.maxUs).toBeGreaterThan(10 * rt.maxUs);
    expect(none.avgUs).toBeGreaterThan(rt.avgUs);
  });

  it('PREEMPT_RT without an IRQ thread: the handler runs in the hard IRQ', () => {
    const k = diskLoad(PreemptModel.PREEMPT_RT, 0, false);
    expect(k.mem32('disk_completions')).toBeGreaterThanOrEqual(5);
    expect(k.mem32('disk_handler_pid')).not.toBe(k.pid('io')); // not in a thread of its own
    expect(k.mem32('irq_threads', 4 * DISK_IRQ)).toBe(0);
  });
});

describe('ktimersoftd: soft hrtimers under PREEMPT_RT', () => {
  const PERIOD = us(100);
  const extra = `
soft_arm_body:
    mov eax, soft_test_timer
    mov edx, soft_test_fn
    call hrtimer_init_soft
    rdtsc
    add eax, ${PERIOD}
    adc edx, 0
    mov ecx, edx
    mov edx, eax
    mov eax, soft_test_timer
    call hrtimer_start
    jmp sleeper_thread

; the soft callback: record its context; restart twice
soft_test_fn:
    push ebx
    mov ebx, eax
    GET_CURRENT eax
    mov edx, [eax + task.pid]
    mov [soft_test_pid], edx
    mov edx, [eax + task.prio]
    mov [soft_test_prio], edx
    GET_THREAD_INFO eax
    mov edx, [eax + thread_info.preempt_count]
    mov [soft_test_preempt], edx
    inc dword [soft_test_count]
    mov eax, HRTIMER_NORESTART
    cmp dword [soft_test_count], 3
    jae .done
    mov eax, ebx
    mov edx, ${PERIOD}
    call hrtimer_forward_now
    mov eax, HRTIMER_RESTART
.done:
    pop ebx
    ret

.data
.align 4
soft_test_pid:     .long -1
soft_test_prio:    .long -1
soft_test_preempt: .long -1
soft_test_count:   .long 0
soft_test_timer:   .space hrtimer.size
`;
  const run = (model: PreemptModel) =>
    boot({
      until: ms(3),
      extra,
      bodies: { [LOAD]: 'soft_arm_body' },
      params: {
        preemptModel: model,
        threads: [thread('ktimersoftd/0', HRTIMER, fifo(99, 0b01)), thread('arm', LOAD, fifo(10, 0b01))],
      },
    });

  it('PREEMPT_RT: a soft timer callback runs in ktimersoftd at FIFO 99, in task context; restarts work', () => {
    const k = run(PreemptModel.PREEMPT_RT);
    expect(k.mem32('soft_test_count')).toBe(3);
    expect(k.mem32('soft_test_pid')).toBe(k.pid('ktimersoftd/0'));
    expect(k.mem32('soft_test_prio')).toBe(0); // 99 - rt_priority 99
    expect(k.mem32('soft_test_preempt')).toBe(0); // not in hard IRQ context
    expect(k.mem32('hrtimer_bases', k.const('hrtimer_cpu_base.softd'))).toBe(k.task(k.pid('ktimersoftd/0')));
  });

  it('hard timers stay in the interrupt: the sleepers of cyclictest are woken from hard IRQ', () => {
    const k = run(PreemptModel.PREEMPT_RT);
    const timer = k.sym('soft_test_timer');
    // every expiry of another timer happens between local_timer_entry/exit
    const tps = k.tps('local_timer_entry', 'local_timer_exit', 'hrtimer_expire_entry').filter((t) => t.cpu === 0);
    let inIrq = false;
    for (const t of tps) {
      if (t.name === 'local_timer_entry') inIrq = true;
      else if (t.name === 'local_timer_exit') inIrq = false;
      else expect(inIrq).toBe(t.value !== timer);
    }
  });

  it('PREEMPT_NONE: no ktimersoftd; the soft callback runs in the interrupt', () => {
    const k = run(PreemptModel.PREEMPT_NONE);
    expect(k.mem32('soft_test_count')).toBe(3);
    expect(k.mem32('soft_test_pid')).not.toBe(k.pid('ktimersoftd/0'));
    expect(k.mem32('soft_test_preempt') & 0xffff0000).not.toBe(0); // HARDIRQ_OFFSET
  });
});

describe('ACPI processor idle (bp.acpi_processor)', () => {
  const run = (acpi: boolean) =>
    boot({
      until: ms(LOOPS + 10),
      params: { acpiProcessor: acpi, cyclictest: { intervalUs: 1000, loops: LOOPS, histogram: 0 }, threads: [thread('cyclictest', CYCLICTEST, fifo(80, 0b01))] },
    });

  it('idle enters C3 through P_LVL3 and cyclictest max rises by about the C3 exit latency', () => {
    const off = run(false);
    const on = run(true);
    const a = ct(off);
    const b = ct(on);
    console.log(`acpi_processor off: min ${a.minUs} avg ${a.avgUs.toFixed(2)} max ${a.maxUs} µs; on: min ${b.minUs} avg ${b.avgUs.toFixed(2)} max ${b.maxUs} µs`);
    expect(a.count).toBe(LOOPS);
    expect(b.count).toBe(LOOPS);
    const c3Us = (NEHALEM.events.c3ExitLatency.cycles / NEHALEM.hz) * 1e6;
    expect(b.maxUs - a.maxUs).toBeGreaterThan(0.9 * c3Us);
    expect(b.maxUs - a.maxUs).toBeLessThan(1.1 * c3Us);
    expect(on.tps('cpu_idle').some((t) => t.value === 3)).toBe(true);
    expect(off.tps('cpu_idle').some((t) => t.value === 3)).toBe(false);
  });
});
