/**
 * KVM and the host scheduler: the co-scheduling hypercalls (paper §4.2),
 * HLT freeing the CPU for other host threads, and port I/O handed to the
 * VM's I/O thread while the vCPU thread sleeps.
 */
import { describe, expect, it } from 'vitest';
import { ExitStats } from '../../src/trace/exit-stats.js';
import { computeStages } from '../../src/trace/stages.js';
import { ExitReason } from '../../src/vmx/exit-reasons.js';
import { tracepointName } from '../../src/isa/tracepoints.js';
import { TraceKind } from '../../src/trace/trace.js';
import { SchedPolicy, SystemRun, ThreadKind, ms, testGuest, thread, us } from '../helpers/kernel.js';

const { SCHED_OTHER, SCHED_FIFO } = SchedPolicy;
const KVM_EPERM = 1;
const KVM_EINVAL = 22;
const TIMER_VECTOR = 0x30; // guests/test/timer.s
const X2APIC_EOI = 0x80b;
const KVM_HC_BOOST = 100;

function boostVm(cosched: boolean, vcpu: { policy: SchedPolicy; prio: number }): SystemRun {
  return new SystemRun({
    params: { cosched },
    vms: [{ name: 'rt', image: testGuest('boost.s'), vcpuThreads: [{ ...vcpu, affinity: 0b10 }] }],
  });
}

describe('KVM co-scheduling hypercalls (hc_boost / hc_deboost)', () => {
  it.each([
    ['SCHED_OTHER', { policy: SCHED_OTHER, prio: 0 }],
    ['SCHED_FIFO 10', { policy: SCHED_FIFO, prio: 10 }],
  ])('with bp.cosched, hc_boost makes the vCPU thread SCHED_FIFO 60 and hc_deboost restores its configured %s', (_, configured) => {
    const r = boostVm(true, configured);
    const pid = r.pid('rt/vcpu0');
    expect(r.runUntil(() => r.console.includes('kvm: vm rt vcpu0: print 0'), ms(5))).toBe(true);
    // boosted: the task's policy and rt priority, a sched_setscheduler event for it
    expect(r.guest32('rt', 'boost_result')).toBe(0);
    expect(r.taskField(pid, 'policy')).toBe(SCHED_FIFO);
    expect(r.taskField(pid, 'rt_priority')).toBe(60);
    expect(r.taskField(pid, 'prio')).toBe(99 - 60);
    const boosts = r.tps('sched_setscheduler').filter((e) => e.value === pid);
    expect(boosts.length).toBe(1);
    r.guestPoke('rt', 'cfg_release', 1);
    r.run(ms(10));
    expect(r.console).toContain('kvm: vm rt: done, status 0');
    expect(r.guest32('rt', 'deboost_result')).toBe(0);
    expect(r.taskField(pid, 'policy')).toBe(configured.policy);
    expect(r.taskField(pid, 'rt_priority')).toBe(configured.prio);
    expect(r.tps('sched_setscheduler').filter((e) => e.value === pid).length).toBe(2);
    // no such vCPU; an invalid priority (sched_setscheduler's -EINVAL)
    expect(r.guest32('rt', 'einval_result') | 0).toBe(-KVM_EINVAL);
    expect(r.guest32('rt', 'badprio_result') | 0).toBe(-KVM_EINVAL);
    expect(r.tps('kvm_hypercall').map((e) => e.value)).toEqual([100, 1000, 101, 1000, 100, 100, 1001]);
  });

  it('without bp.cosched both are refused (-KVM_EPERM) and change nothing', () => {
    const r = boostVm(false, { policy: SCHED_OTHER, prio: 0 });
    const pid = r.pid('rt/vcpu0');
    expect(r.runUntil(() => r.console.includes('kvm: vm rt vcpu0: print'), ms(5))).toBe(true);
    expect(r.guest32('rt', 'boost_result') | 0).toBe(-KVM_EPERM);
    expect(r.taskField(pid, 'policy')).toBe(SCHED_OTHER);
    r.guestPoke('rt', 'cfg_release', 1);
    r.run(ms(10));
    expect(r.console).toContain('kvm: vm rt: done, status 0');
    expect(r.guest32('rt', 'deboost_result') | 0).toBe(-KVM_EPERM);
    expect(r.tps('sched_setscheduler').filter((e) => e.value === pid)).toEqual([]);
    expect(r.taskField(pid, 'policy')).toBe(SCHED_OTHER);
    expect(r.taskField(pid, 'prio')).toBe(120);
  });

  it('the timer guest boosts at each ISR entry and deboosts at its end: two extra VMCALL exits per interrupt', () => {
    const r = new SystemRun({
      params: { cosched: true },
      vms: [{ name: 'rt', image: testGuest('timer.s'), vcpuThreads: [{ affinity: 0b10 }] }],
    });
    r.guestPoke('rt', 'cfg_boost', 1);
    const stats = new ExitStats(r.machine.trace);
    r.run(ms(10));
    expect(r.guest32('rt', 'ticks')).toBe(5);
    expect(stats.counts().VMCALL).toBe(2 * 5 + 2);
    const pid = r.pid('rt/vcpu0');
    const changes = r.tps('sched_setscheduler').filter((e) => e.value === pid);
    // the guest's 5 boosts and 5 deboosts, and KVM's interrupt boost of ticks 2-5 (tick 1 comes
    // before the guest has reported a policy): each right after the tick is raised, before the wake-up
    expect(changes.length).toBe(10 + 4);
    const raised = r.tps('kvm_set_irq').filter((e) => e.value === ((pid - 1) << 8 | TIMER_VECTOR));
    expect(raised.length).toBe(5);
    for (const t of raised.slice(1)) {
      const next = r.tps('sched_setscheduler', 'kvm_vcpu_wakeup', 'kvm_hypercall').find((e) => e.time >= t.time)!;
      expect([next.name, next.value]).toEqual(['sched_setscheduler', pid]);
    }
    expect(r.taskField(pid, 'policy')).toBe(SCHED_OTHER);
    expect(r.vcpuField('rt/vcpu0', 'pv_state')).toBe(0); // KVM_PV_DEBOOSTED
  });
});

describe("KVM co-scheduling: the interrupt boost (Kiszka's paravirtual scheduling, the paper's [10])", () => {
  /**
   * A spinning timer guest (its vCPU SCHED_OTHER, always runnable) and a fair hog of nice -10 (about
   * nine tenths of the CPU) share CPU 1 with a 1000 Hz tick; the guest calls hc_boost(FIFO 50) at each
   * ISR entry and hc_deboost at its end.
   */
  function sharedCpu(cosched: boolean, ticks = 8): { r: SystemRun; hog: number; vcpu: number } {
    const r = new SystemRun({
      params: { cosched, tickHz: 1000, threads: [thread('hog', ThreadKind.LOAD, { affinity: 0b10, nice: -10 })] },
      vms: [{ name: 'rt', image: testGuest('timer.s'), vcpuThreads: [{ affinity: 0b10 }], ioThread: { affinity: 0b01 } }],
    });
    r.guestPoke('rt', 'cfg_boost', 1);
    r.guestPoke('rt', 'cfg_halt', 0);
    r.guestPoke('rt', 'cfg_ticks', ticks);
    r.guestPoke('rt', 'cfg_period', us(700));
    return { r, hog: r.pid('hog'), vcpu: r.pid('rt/vcpu0') };
  }
  /** Per tick: from KVM raising the timer vector to its injection (µs). */
  function delays(r: SystemRun, vcpu: number): number[] {
    const inj = r.tps('kvm_inj_virq').filter((e) => e.value === TIMER_VECTOR);
    return r.tps('kvm_set_irq').filter((e) => e.value === ((vcpu - 1) << 8 | TIMER_VECTOR))
      .map((t) => (inj.find((e) => e.time >= t.time)!.time - t.time) / us(1));
  }

  it('a deboosted vCPU behind a fair hog is boosted to the FIFO priority its guest reported when its timer fires, and runs within microseconds', () => {
    const { r, hog, vcpu } = sharedCpu(true);
    // time, policy and priority of the vCPU thread each time CPU 1 switches to it
    const atSwitch: number[][] = [];
    let hogAtEntry = -1; // the hog's runtime when the guest starts
    r.machine.trace.on((e) => {
      if (e.kind === TraceKind.Tracepoint && tracepointName(e.a) === 'sched_switch' && e.cpu === 1 && (e.b | 0) === vcpu) {
        atSwitch.push([e.time, r.taskField(vcpu, 'policy'), r.taskField(vcpu, 'rt_priority')]);
      }
      if (hogAtEntry < 0 && e.kind === TraceKind.Tracepoint && tracepointName(e.a) === 'kvm_entry') hogAtEntry = r.mem32(r.task(hog), r.const('task.se_sum_exec_runtime'));
    });
    expect(r.runUntil(() => r.console.includes('kvm: vm rt: done'), ms(40))).toBe(true);
    expect(r.guest32('rt', 'ticks')).toBe(8);
    // ticks 2-8: raised while the vCPU is deboosted, injected within a few µs although the hog holds CPU 1
    const d = delays(r, vcpu);
    expect(d.length).toBe(8);
    for (const x of d.slice(1)) expect(x).toBeLessThan(10);
    // the interrupt boost precedes the guest's own hc_boost in each of them: 3 changes per tick after the first
    const changes = r.tps('sched_setscheduler').filter((e) => e.value === vcpu);
    expect(changes.length).toBe(2 + 3 * 7);
    const hc = r.tps('kvm_hypercall').filter((e) => e.value === KVM_HC_BOOST);
    expect(hc.length).toBe(8);
    for (const b of hc.slice(1)) {
      const before = changes.filter((e) => e.time < b.time).at(-1)!;
      const raised = r.tps('kvm_set_irq').filter((e) => e.time < b.time).at(-1)!;
      expect(before.time).toBeGreaterThan(raised.time);
    }
    // a tick that finds the hog on CPU 1 preempts it: the switch to the vCPU finds it at SCHED_FIFO 50
    const inj = r.tps('kvm_inj_virq').filter((e) => e.value === TIMER_VECTOR);
    const preempting = hc.slice(1).map((b) => {
      const raised = r.tps('kvm_set_irq').filter((e) => e.time < b.time).at(-1)!.time;
      const injected = inj.find((e) => e.time >= raised)!.time;
      return atSwitch.find(([t]) => t > raised && t < injected);
    }).filter((x) => x !== undefined);
    expect(preempting.length).toBeGreaterThanOrEqual(4);
    for (const [, policy, prio] of preempting) expect([policy, prio]).toEqual([SCHED_FIFO, 50]);
    expect(r.taskField(vcpu, 'policy')).toBe(SCHED_OTHER);
    // the boosts are short and the vCPU's fair runtime is still charged (its vruntime lead survives each
    // boost/deboost: __setscheduler keeps it relative to min_vruntime), so the hog keeps about its weight's
    // share of CPU 1 (9548 / (9548 + 1024) = 90 %) while the guest runs
    const last = r.tps('kvm_exit').at(-1)!.time;
    const hogRan = r.mem32(r.task(hog), r.const('task.se_sum_exec_runtime')) - hogAtEntry;
    expect(hogRan).toBeGreaterThan(0.8 * (last - r.tps('kvm_entry')[0].time));
  });

  it('without bp.cosched nothing is boosted: the vCPU waits behind the hog for the fair scheduler', () => {
    const { r, vcpu } = sharedCpu(false);
    expect(r.runUntil(() => r.console.includes('kvm: vm rt: done'), ms(60))).toBe(true);
    expect(r.tps('sched_setscheduler').filter((e) => e.value === vcpu)).toEqual([]);
    expect(r.vcpuField('rt/vcpu0', 'pv_policy')).toBe(SCHED_OTHER);
    expect(Math.max(...delays(r, vcpu))).toBeGreaterThan(1000); // a tick that finds the hog running waits for its slice
  });

  it('an interrupt boost the guest does not claim with hc_boost ends at the EOI that leaves nothing in service', () => {
    const { r, vcpu } = sharedCpu(true, 5);
    // tick 1 as usual (hc_boost records FIFO 50, hc_deboost), then the guest stops calling them
    expect(r.runUntil(() => r.tps('kvm_hypercall').filter((e) => e.value === KVM_HC_BOOST + 1).length === 1, ms(20))).toBe(true);
    r.guestPoke('rt', 'cfg_boost', 0);
    expect(r.runUntil(() => r.console.includes('kvm: vm rt: done'), ms(40))).toBe(true);
    expect(r.guest32('rt', 'ticks')).toBe(5);
    expect(r.tps('kvm_hypercall').filter((e) => e.value === KVM_HC_BOOST).length).toBe(1);
    const d = delays(r, vcpu);
    for (const x of d.slice(1)) expect(x).toBeLessThan(10);
    // ticks 2-5: boosted when raised, deboosted by the guest's EOI write (kvm_msr 0x80b)
    const changes = r.tps('sched_setscheduler').filter((e) => e.value === vcpu);
    expect(changes.length).toBe(2 + 2 * 4);
    const eois = r.tps('kvm_msr').filter((e) => e.value === X2APIC_EOI);
    for (const c of changes.slice(2).filter((_, i) => i % 2 === 1)) {
      const before = r.tps('kvm_msr', 'kvm_set_irq').filter((e) => e.time < c.time).at(-1)!;
      expect(before.name).toBe('kvm_msr');
      expect(eois).toContainEqual(before);
    }
    expect(r.taskField(vcpu, 'policy')).toBe(SCHED_OTHER);
    expect(r.vcpuField('rt/vcpu0', 'pv_state')).toBe(0);
  });
});

describe('KVM HLT', () => {
  /** vCPU FIFO 50 and a fair CPU hog, both pinned to CPU 1; the guest ticks every 100 µs for 20 ticks. */
  function hogAndGuest(halt: number): { r: SystemRun; hog: number; vcpu: number } {
    const r = new SystemRun({
      params: { threads: [thread('hog', ThreadKind.LOAD, { affinity: 0b10 })] },
      vms: [{ name: 'g', image: testGuest('timer.s'), vcpuThreads: [{ policy: SCHED_FIFO, prio: 50, affinity: 0b10 }], ioThread: { affinity: 0b01 } }],
    });
    r.guestPoke('g', 'cfg_halt', halt);
    r.guestPoke('g', 'cfg_ticks', 20);
    r.guestPoke('g', 'cfg_period', us(100));
    return { r, hog: r.pid('hog'), vcpu: r.pid('g/vcpu0') };
  }
  const runtime = (r: SystemRun, pid: number) => r.mem32(r.task(pid), r.const('task.se_sum_exec_runtime'));

  it('a halting guest frees its CPU: the fair hog on the same CPU runs while the guest halts, and the vCPU wakes on its timer', () => {
    const { r, hog, vcpu } = hogAndGuest(1);
    r.run(ms(4));
    expect(r.guest32('g', 'ticks')).toBe(20);
    expect(r.console).toContain('kvm: vm g: done, status 0');
    const first = r.tps('kvm_entry')[0].time;
    const last = r.tps('kvm_exit').at(-1)!.time;
    // the hog got most of CPU 1 while the guest lived
    expect(runtime(r, hog)).toBeGreaterThan(0.7 * (last - first));
    expect(r.tps('kvm_vcpu_wakeup').length).toBe(20);
    // every HLT exit is followed on CPU 1 by a switch to the hog, every wake-up by a switch back
    const sw = r.tps('sched_switch').filter((e) => e.cpu === 1);
    for (const hlt of r.tps('kvm_exit').filter((e) => e.value === ExitReason.HLT)) expect(sw.find((e) => e.time > hlt.time)!.value).toBe(hog);
    for (const w of r.tps('sched_wakeup').filter((e) => e.value === vcpu).slice(1)) expect(sw.find((e) => e.time > w.time)!.value).toBe(vcpu);
  });

  it('a spinning guest keeps its FIFO vCPU on the CPU: the hog starves meanwhile', () => {
    const { r, hog } = hogAndGuest(0);
    r.run(ms(4));
    expect(r.guest32('g', 'ticks')).toBe(20);
    const first = r.tps('kvm_entry')[0].time;
    const last = r.tps('kvm_exit').at(-1)!.time;
    expect(last - first).toBeGreaterThan(us(1900)); // 20 ticks of 100 µs
    expect(r.tps('sched_switch').filter((e) => e.cpu === 1 && e.value === hog && e.time > first && e.time < last)).toEqual([]);
  });
});

describe('KVM port I/O through the I/O thread', () => {
  it("guest console output appears on the UART prefixed with the VM's name; the vCPU thread sleeps during each request", () => {
    const r = new SystemRun({
      vms: [{ name: 'chatty', image: testGuest('timer.s'), vcpuThreads: [{ affinity: 0b10 }], ioThread: { policy: SCHED_FIFO, prio: 60, affinity: 0b01 } }],
    });
    r.guestPoke('chatty', 'cfg_hello', 1);
    r.guestPoke('chatty', 'cfg_ticks', 1);
    const stats = new ExitStats(r.machine.trace);
    r.run(ms(5));
    expect(r.machine.uart.lines().map((l) => l.text)).toContain('chatty: timer guest: hello');
    const text = 'timer guest: hello\n';
    expect(stats.counts().IO_INSTRUCTION).toBe(2 * text.length); // LSR poll + THR write per character
    const vcpu = r.pid('chatty/vcpu0');
    const io = r.pid('chatty/io');
    const pios = r.tps('kvm_pio');
    expect(pios.filter((e) => e.value === 0x3f8).length).toBe(text.length);
    expect(pios.filter((e) => e.value === 0x3fd).length).toBe(text.length);
    // each request: the vCPU's CPU goes idle, the I/O thread runs on CPU 0, wakes the vCPU, which enters again
    const sw1 = r.tps('sched_switch').filter((e) => e.cpu === 1);
    const sw0 = r.tps('sched_switch').filter((e) => e.cpu === 0);
    const entries = r.tps('kvm_entry');
    for (const p of pios) {
      const next = entries.find((e) => e.time > p.time)!;
      const away = sw1.find((e) => e.time > p.time)!;
      expect(away.value).toBe(0);
      expect(away.time).toBeLessThan(next.time);
      expect(sw0.some((e) => e.value === io && e.time > p.time && e.time < next.time)).toBe(true);
      expect(r.tps('sched_wakeup').some((e) => e.value === vcpu && e.cpu === 0 && e.time > p.time && e.time < next.time)).toBe(true);
    }
    expect(r.taskField(vcpu, 'nvcsw')).toBeGreaterThanOrEqual(pios.length);
  });
});

describe('KVM virtual disk through the I/O thread', () => {
  it('a guest writes and reads its disk: translated to its own region of the physical disk; the disk IRQ wakes the I/O thread, which injects the completion', () => {
    const fastDisk = { rpm: 60000, trackToTrackMs: 0.05, fullStrokeMs: 0.2 };
    const r = new SystemRun({
      machine: { disk: fastDisk },
      params: { irqAffinity: Object.assign(Array(24).fill(0), { 14: 0b01 }) },
      vms: [
        { name: 'd0', image: testGuest('disk.s'), vcpuThreads: [{ affinity: 0b10 }], ioThread: { affinity: 0b01 } },
        { name: 'd1', image: testGuest('disk.s'), vcpuThreads: [{ affinity: 0b10 }], ioThread: { affinity: 0b01 } },
      ],
    });
    r.guestPoke('d1', 'cfg_seed', 0x777);
    r.run(ms(20));
    expect(r.result!.exitCode).toBe(0);
    for (const vm of ['d0', 'd1']) {
      expect(r.console).toContain(`kvm: vm ${vm} vcpu0: print 128`); // all 128 dwords read back
      expect(r.console).toContain(`kvm: vm ${vm} vcpu0: print 6`); // DONE | ERROR: beyond the virtual disk
      expect(r.guest32(vm, 'interrupts')).toBe(3);
    }
    // VM n's sector 5 is physical sector n * 2^19 + 5
    const sector = (lba: number) => new DataView(r.machine.disk.readSectors(lba, 1).buffer);
    expect(sector(5).getUint32(4, true)).toBe(0x1001);
    expect(sector((1 << 19) + 5).getUint32(4, true)).toBe(0x778);
    // the path of each completion: physical IRQ on CPU 0 -> I/O thread woken -> kvm_set_irq -> injected on CPU 1
    const irqs = r.tps('irq_handler_entry').filter((e) => e.value === 14);
    expect(irqs.length).toBe(4);
    expect(r.tps('block_rq_issue').length).toBe(4);
    const s = computeStages(r.events);
    const viaIrq = s.records.filter((x) => x.source === 'irq');
    expect(viaIrq.length).toBe(4);
    expect(s.records.filter((x) => x.source === 'virtual').length).toBe(2); // the bad requests
    for (const x of viaIrq) {
      expect([x.vector, x.raiseCpu, x.cpu]).toEqual([0x3e, 0, 1]);
      expect(irqs.some((e) => e.time > x.points.a && e.time < x.points.d)).toBe(true);
      expect(x.total).toBe(x.points.h - x.points.a);
    }
  });

  it('a completion for a guest that is running on another CPU kicks it with the reschedule IPI: an EXTERNAL_INTERRUPT exit, then the injection', () => {
    const r = new SystemRun({
      machine: { disk: { rpm: 60000, trackToTrackMs: 0.05, fullStrokeMs: 0.2 } },
      vms: [{ name: 'd0', image: testGuest('disk.s'), vcpuThreads: [{ affinity: 0b10 }], ioThread: { affinity: 0b01 } }],
    });
    r.guestPoke('d0', 'cfg_spin', 1);
    const stats = new ExitStats(r.machine.trace);
    r.run(ms(20));
    expect(r.console).toContain('kvm: vm d0 vcpu0: print 128');
    expect(r.guest32('d0', 'interrupts')).toBe(3);
    expect(stats.counts().EXTERNAL_INTERRUPT).toBe(2);
    expect(stats.counts().HLT).toBeUndefined();
    const RESCHEDULE_VECTOR = 0xfd;
    const kicks = r.tps('irq_enable');
    expect(kicks.map((e) => [e.cpu, e.value])).toEqual([[1, RESCHEDULE_VECTOR], [1, RESCHEDULE_VECTOR]]);
    for (const k of kicks) {
      const set = r.tps('kvm_set_irq').filter((e) => e.time < k.time).at(-1)!;
      expect(set.cpu).toBe(0); // raised by the I/O thread on CPU 0
      const inj = r.tps('kvm_inj_virq').find((e) => e.time > k.time)!;
      expect([inj.cpu, inj.value]).toEqual([1, 0x3e]);
    }
  });
});
