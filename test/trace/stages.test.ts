/** Fig. 2 stage reconstruction on hand-made event sequences (src/trace/stages.ts). */
import { describe, expect, it } from 'vitest';
import { TRACEPOINT_ID } from '../../src/isa/tracepoints.js';
import { computeStages } from '../../src/trace/stages.js';
import { TraceKind, type TraceEvent } from '../../src/trace/trace.js';

const ev = (time: number, cpu: number, kind: TraceKind, a = 0, b = 0): TraceEvent => ({ time, cpu, kind, a, b });
const tp = (time: number, cpu: number, name: string, value: number): TraceEvent => ev(time, cpu, TraceKind.Tracepoint, TRACEPOINT_ID.get(name)!, value);
const VCPU = 3;
const HOST = 0xec;
const GUEST = 0x30;

/** The exit path of one guest timer interrupt on CPU 1, points a..h at the given times. */
function exitPath(t: { a: number; b: number; c: number; d: number; e: number; f: number; g: number; h: number }): TraceEvent[] {
  return [
    ev(t.a - 50, 1, TraceKind.VmEntry),
    ev(t.a, 1, TraceKind.ApicTimer, HOST),
    ev(t.b, 1, TraceKind.VmExit, 1),
    tp(t.b + 5, 1, 'kvm_exit', 1),
    tp(t.c, 1, 'irq_enable', HOST),
    tp(t.c + 5, 1, 'local_timer_entry', HOST),
    tp(t.c + 10, 1, 'kvm_set_irq', (VCPU << 8) | GUEST),
    tp(t.d, 1, 'local_timer_exit', HOST),
    tp(t.e, 1, 'kvm_sched_done', VCPU),
    tp(t.f - 10, 1, 'kvm_inj_virq', GUEST),
    tp(t.f, 1, 'kvm_entry', VCPU),
    ev(t.g, 1, TraceKind.VmEntry),
    ev(t.g, 1, TraceKind.VmInject, (0x80000000 | GUEST) >>> 0),
    ev(t.h, 1, TraceKind.Interrupt, GUEST, 0),
  ];
}

describe('stage breakdown', () => {
  it('reads the eight points of an exit path; the six stages sum to h - a', () => {
    const pts = { a: 1000, b: 2000, c: 2300, d: 2800, e: 3000, f: 3900, g: 4950, h: 5050 };
    const s = computeStages(exitPath(pts));
    expect(s.records).toHaveLength(1);
    const r = s.records[0];
    expect(r.points).toEqual(pts);
    expect(r.stages).toEqual({ vm_exit: 1000, after_vm_exit: 300, host_isr: 500, host_scheduling: 200, before_vm_entry: 900, vm_entry: 1150 });
    expect(r.total).toBe(4050);
    expect([r.vcpu, r.vector, r.source, r.exited]).toEqual([VCPU, GUEST, 'timer', true]);
    expect(s.summary().stages.host_isr).toEqual({ count: 1, avg: 500, min: 500, max: 500 });
  });

  it('an interrupt taken in the host (vCPU halted) has no exit: b = c', () => {
    const events = [
      ev(100, 1, TraceKind.ApicTimer, HOST),
      ev(100, 1, TraceKind.Wake),
      ev(200, 1, TraceKind.Interrupt, HOST, 0),
      tp(300, 1, 'kvm_set_irq', (VCPU << 8) | GUEST),
      tp(400, 1, 'local_timer_exit', HOST),
      tp(900, 1, 'kvm_vcpu_wakeup', VCPU),
      tp(950, 1, 'kvm_sched_done', VCPU),
      tp(1500, 1, 'kvm_entry', VCPU),
      ev(2500, 1, TraceKind.VmEntry),
      ev(2500, 1, TraceKind.VmInject, (0x80000000 | GUEST) >>> 0),
      ev(2600, 1, TraceKind.Interrupt, GUEST, 0),
    ];
    const [r] = computeStages(events).records;
    expect(r.exited).toBe(false);
    expect(r.points).toEqual({ a: 100, b: 200, c: 200, d: 400, e: 950, f: 1500, g: 2500, h: 2600 });
    expect(r.total).toBe(2500);
  });

  it('host timer interrupts that raise nothing for a guest, and injections of unknown origin, make no record', () => {
    const events = [
      ev(100, 0, TraceKind.ApicTimer, HOST),
      ev(200, 0, TraceKind.Interrupt, HOST, 0),
      tp(300, 0, 'local_timer_exit', HOST),
      tp(400, 0, 'kvm_entry', VCPU),
      ev(500, 0, TraceKind.VmEntry),
      ev(500, 0, TraceKind.VmInject, (0x80000000 | GUEST) >>> 0),
      ev(600, 0, TraceKind.Interrupt, GUEST, 0),
    ];
    expect(computeStages(events).records).toEqual([]);
  });

  it('a vector raised twice before its injection is delivered once (coalesced)', () => {
    const pts = { a: 1000, b: 2000, c: 2300, d: 2800, e: 3000, f: 3900, g: 4950, h: 5050 };
    const events = exitPath(pts);
    events.splice(8, 0, tp(2900, 1, 'kvm_set_irq', (VCPU << 8) | GUEST)); // a self-IPI of the same vector
    const s = computeStages(events);
    expect(s.records).toHaveLength(1);
    expect(s.records[0].points.a).toBe(1000);
    expect(s.coalesced).toBe(1);
  });
});
