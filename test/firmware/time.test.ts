/** Host kernel time (issue items 3 and 8): hrtimer queues on the TSC-deadline timer, the tick, the host cyclictest. */
import { describe, expect, it } from 'vitest';
import { TraceKind } from '../../src/trace/trace.js';
import { ThreadKind, bootKernel, fifo, ms, thread, us } from '../helpers/kernel.js';

const { LOAD, CYCLICTEST, IRQ } = ThreadKind;

describe('host kernel hrtimers', () => {
  // a thread arms five timers out of order (offsets in µs), cancels one, and each callback logs itself
  const OFFSETS = [400, 100, 300, 250, 200];
  const CANCELLED = 3;
  const extra = `
HT_N = ${OFFSETS.length}
hrtimer_test_body:
    rdtsc
    mov [ht_base], eax
    mov [ht_base + 4], edx
    xor esi, esi
.arm:
    mov ebx, esi
    imul ebx, hrtimer.size
    add ebx, ht_timers
    mov eax, ebx
    mov edx, ht_callback
    call hrtimer_init
    mov eax, [ht_offsets_us + esi*4]
    call usecs_to_cycles
    xor edx, edx
    add eax, [ht_base]
    adc edx, [ht_base + 4]
    mov [ht_deadline + esi*4], eax
    mov ecx, edx
    mov edx, eax
    mov eax, ebx
    call hrtimer_start
    inc esi
    cmp esi, HT_N
    jb .arm
    mov eax, ht_timers + ${CANCELLED} * hrtimer.size
    call hrtimer_cancel
    mov [ht_cancel_result], eax
    jmp sleeper_thread

ht_callback:
    mov ecx, [ht_count]
    mov [ht_fired + ecx*4], eax
    push eax
    rdtsc
    mov ecx, [ht_count]
    mov [ht_fired_at + ecx*4], eax
    inc dword [ht_count]
    pop eax
    mov eax, HRTIMER_NORESTART
    ret
.data
ht_offsets_us: .long ${OFFSETS.join(', ')}
ht_count: .long 0
ht_cancel_result: .long 0
.bss
.align 8
ht_base: .space 8
ht_deadline: .space HT_N * 4
ht_fired: .space HT_N * 4
ht_fired_at: .space HT_N * 4
ht_timers: .space HT_N * hrtimer.size
`;

  it('expire in deadline order, never early; a cancelled one never fires', () => {
    const k = bootKernel({ until: ms(2), extra, bodies: { [IRQ]: 'hrtimer_test_body' }, params: { threads: [thread('ht', IRQ, fifo(50, 0b01))] } });
    const timer = (i: number) => k.sym('ht_timers') + i * k.const('hrtimer.size');
    const expected = OFFSETS.map((o, i) => ({ o, i })).filter((x) => x.i !== CANCELLED).sort((a, b) => a.o - b.o).map((x) => x.i);
    expect(k.mem32('ht_count')).toBe(expected.length);
    expect(k.mem32('ht_cancel_result')).toBe(1);
    const fired = expected.map((_, n) => k.mem32('ht_fired', 4 * n));
    expect(fired).toEqual(expected.map(timer));
    expected.forEach((i, n) => {
      const at = k.mem32('ht_fired_at', 4 * n);
      const deadline = k.mem32('ht_deadline', 4 * i);
      expect(at).toBeGreaterThanOrEqual(deadline);
      expect(at - deadline).toBeLessThan(us(2));
    });
    // the tracepoints tell the same story, and the hardware deadline was armed for each in turn
    expect(k.tps('hrtimer_expire_entry').map((e) => e.value >>> 0)).toEqual(expected.map(timer));
    expect(k.tps('hrtimer_cancel').map((e) => e.value >>> 0)).toEqual([timer(CANCELLED)]);
    expect(k.tps('hrtimer_start').filter((e) => e.value >>> 0 >= timer(0)).length).toBe(OFFSETS.length);
    expect(k.arch(TraceKind.ApicTimer).length).toBeGreaterThanOrEqual(expected.length);
    for (const [a, b] of [['local_timer_entry', 'local_timer_exit'], ['hrtimer_expire_entry', 'hrtimer_expire_exit']]) {
      expect(k.tps(a).length, `${a} / ${b} pairs`).toBe(k.tps(b).length);
    }
  });

  it('a tick of bp.tick_hz runs on every CPU at its period', () => {
    const k = bootKernel({ until: ms(10.5), params: { tickHz: 1000 } });
    for (const cpu of [0, 1]) {
      const ticks = k.arch(TraceKind.ApicTimer).filter((e) => e.cpu === cpu);
      expect(ticks.length, `cpu ${cpu}`).toBe(10);
      for (let i = 1; i < ticks.length; i++) expect(ticks[i].time - ticks[i - 1].time).toBe(ms(1));
    }
  });

  it('tickless (tick_hz 0): no timer interrupts on an idle machine', () => {
    const k = bootKernel({ until: ms(5) });
    expect(k.arch(TraceKind.ApicTimer)).toEqual([]);
    expect(k.result!.reason).toBe('idle');
  });
});

describe('host cyclictest', () => {
  const LOOPS = 200;
  const stat = (k: ReturnType<typeof bootKernel>, field: string) => k.mem32('ct_stats', k.const(`ct_stat.${field}`));

  it('no load: most samples below 10 µs (paper Fig. 4); min/avg/max from the kernel', () => {
    const k = bootKernel({
      until: ms(LOOPS + 10),
      params: { tickHz: 1000, cyclictest: { intervalUs: 1000, loops: LOOPS, histogram: 100 }, threads: [thread('cyclictest', CYCLICTEST, fifo(80))] },
    });
    expect(k.result!.exitCode).toBe(0); // powered off after its loops
    expect(stat(k, 'count')).toBe(LOOPS);
    const min = stat(k, 'min_ns');
    const max = stat(k, 'max_ns');
    const avg = stat(k, 'sum_ns') / LOOPS;
    expect(min).toBeGreaterThan(0);
    expect(min).toBeLessThanOrEqual(avg);
    expect(avg).toBeLessThanOrEqual(max);
    expect(max).toBeLessThan(10_000);
    const hist = Array.from({ length: 100 }, (_, i) => k.mem32(stat(k, 'hist'), 4 * i));
    expect(hist.reduce((a, b) => a + b, 0)).toBe(LOOPS);
    expect(hist.slice(0, 10).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(0.9 * LOOPS);
    expect(k.console).toMatch(new RegExp(`T:0 \\(1\\) P:80 I:1000 C:${LOOPS} Min:\\d+ Act:\\d+ Avg:\\d+ Max:\\d+`));
    // every sample is the wake-up after a timer interrupt on the thread's CPU
    expect(k.tps('hrtimer_expire_entry').length).toBeGreaterThanOrEqual(LOOPS);
  });

  it('a fair load on the same CPU barely moves the FIFO thread latency', () => {
    const k = bootKernel({
      until: ms(60),
      params: {
        tickHz: 1000,
        cyclictest: { intervalUs: 1000, loops: 50, histogram: 100 },
        threads: [thread('cyclictest', CYCLICTEST, fifo(80, 0b01)), thread('hog', LOAD, { affinity: 0b01 })],
      },
    });
    expect(stat(k, 'count')).toBe(50);
    expect(stat(k, 'max_ns')).toBeLessThan(10_000);
  });
});
