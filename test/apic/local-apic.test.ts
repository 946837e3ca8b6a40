import { describe, expect, it } from 'vitest';
import { LocalApic, type ApicHost } from '../../src/apic/local-apic.js';
import * as M from '../../src/apic/msr.js';
import { EventQueue } from '../../src/machine/event-queue.js';
import { Trace, TraceKind } from '../../src/trace/trace.js';

class FakeHost implements ApicHost {
  calls: string[] = [];
  changed = 0;
  interruptsChanged(): void { this.changed++; }
  sendIpi(dest: number, icrLow: number, time: number): void { this.calls.push(`ipi ${dest} ${icrLow.toString(16)} @${time}`); }
  init(time: number): void { this.calls.push(`init @${time}`); }
  startup(vector: number, time: number): void { this.calls.push(`sipi ${vector.toString(16)} @${time}`); }
  nmi(time: number): void { this.calls.push(`nmi @${time}`); }
  eoi(vector: number, time: number): void { this.calls.push(`eoi ${vector.toString(16)} @${time}`); }
}

function setup(id = 0) {
  const queue = new EventQueue();
  const trace = new Trace(100);
  const host = new FakeHost();
  const apic = new LocalApic(id, queue, trace, host);
  const run = (until: number) => { while (queue.nextTime() <= until) queue.fireNext(); };
  const w = (msr: number, v: number, t = 0) => expect(apic.writeMsr(msr, v, t)).toBe(true);
  return { queue, trace, host, apic, run, w };
}

function enabled(id = 0) {
  const s = setup(id);
  s.w(M.X2APIC_SVR, 0x1ff);
  return s;
}

describe('LocalApic registers', () => {
  it('starts software-disabled with masked LVTs and ignores fixed interrupts', () => {
    const { apic } = setup();
    expect(apic.readMsr(M.X2APIC_SVR, 0)).toBe(0xff);
    for (const m of [0x832, 0x833, 0x834, 0x835, 0x836, 0x837]) expect(apic.readMsr(m, 0)).toBe(1 << 16);
    apic.accept(0x40, 0);
    expect(apic.pendingVector()).toBe(-1);
    expect(apic.peekState(0).irr).toEqual([]);
  });

  it('keeps LVT masks set while disabled and sets them on disable', () => {
    const { apic, w } = setup();
    w(M.X2APIC_LVT_TIMER, 0x40);
    expect(apic.readMsr(M.X2APIC_LVT_TIMER, 0)).toBe(0x10040);
    w(M.X2APIC_SVR, 0x1ff);
    w(M.X2APIC_LVT_LINT0, 0x700);
    expect(apic.readMsr(M.X2APIC_LVT_LINT0, 0)).toBe(0x700);
    w(M.X2APIC_SVR, 0xff);
    expect(apic.readMsr(M.X2APIC_LVT_LINT0, 0)).toBe(0x10700);
  });

  it('reports ID, version, logical ID and APIC base', () => {
    const bsp = setup(0).apic, ap = setup(0x13).apic;
    expect(ap.readMsr(M.X2APIC_ID, 0)).toBe(0x13);
    expect(ap.readMsr(M.X2APIC_VERSION, 0)).toBe(0x00060015);
    expect(ap.readMsr(M.X2APIC_LDR, 0)).toBe((1 << 16) | (1 << 3));
    expect(bsp.readMsr(M.IA32_APIC_BASE, 0)).toBe(0xfee00000 + 0xd00);
    expect(ap.readMsr(M.IA32_APIC_BASE, 0)).toBe(0xfee00000 + 0xc00);
  });

  it('keeps an IA32_APIC_BASE write except the read-only BSP flag', () => {
    const { apic, w } = setup(1);
    w(M.IA32_APIC_BASE, 0xfee00000 + 0xd00);
    expect(apic.readMsr(M.IA32_APIC_BASE, 0)).toBe(0xfee00000 + 0xc00);
    expect(apic.writeMsr(M.IA32_APIC_BASE, 0xfee00001, 0)).toBe(false);
  });

  it('claims exactly its MSRs', () => {
    const { apic } = setup();
    expect([0x1b, 0x6e0, 0x800, 0x8ff, 0x830].every((m) => apic.handlesMsr(m))).toBe(true);
    expect([0x10, 0x1a, 0x6e1, 0x7ff, 0x900].some((m) => apic.handlesMsr(m))).toBe(false);
  });

  it('raises #GP for read-only, write-only, reserved and over-wide accesses', () => {
    const { apic } = enabled();
    for (const m of [M.X2APIC_ID, M.X2APIC_VERSION, M.X2APIC_PPR, M.X2APIC_LDR, M.X2APIC_ISR0, M.X2APIC_IRR7, M.X2APIC_TMR0, M.X2APIC_TIMER_CURRENT_COUNT, 0x804]) {
      expect(apic.writeMsr(m, 0, 0)).toBe(false);
    }
    expect(apic.readMsr(M.X2APIC_EOI, 0)).toBeUndefined();
    expect(apic.readMsr(M.X2APIC_SELF_IPI, 0)).toBeUndefined();
    expect(apic.readMsr(0x831, 0)).toBeUndefined(); // no ICR high half in x2APIC
    expect(apic.writeMsr(M.X2APIC_EOI, 1, 0)).toBe(false);
    expect(apic.writeMsr(M.X2APIC_TPR, 0x100, 0)).toBe(false);
    expect(apic.writeMsr(M.X2APIC_SVR, 2 ** 32, 0)).toBe(false);
    expect(apic.writeMsr(M.X2APIC_LVT_TIMER, 3 << 17, 0)).toBe(false);
    expect(apic.writeMsr(M.X2APIC_TIMER_DIVIDE, 4, 0)).toBe(false);
    expect(apic.writeMsr(M.X2APIC_ESR, 1, 0)).toBe(false);
  });
});

describe('LocalApic interrupt priority', () => {
  it('delivers the highest IRR vector, moves it to ISR and clears it on EOI', () => {
    const { apic, host, w } = enabled();
    const before = host.changed;
    apic.accept(0x41, 5);
    apic.accept(0x80, 5);
    expect(host.changed).toBe(before + 2);
    expect(apic.pendingVector()).toBe(0x80);
    expect(apic.acknowledge(6)).toBe(0x80);
    expect(apic.readMsr(M.X2APIC_ISR0 + 4, 0)).toBe(1);
    expect(apic.readMsr(M.X2APIC_IRR0 + 2, 0)).toBe(2);
    expect(apic.readMsr(M.X2APIC_PPR, 0)).toBe(0x80);
    expect(apic.pendingVector()).toBe(-1); // 0x41 is below the in-service class
    w(M.X2APIC_EOI, 0);
    expect(apic.peekState(0).isr).toEqual([]);
    expect(apic.acknowledge(7)).toBe(0x41);
  });

  it('holds back vectors whose class does not exceed PPR', () => {
    const { apic, w } = enabled();
    w(M.X2APIC_TPR, 0x5a);
    expect(apic.readMsr(M.X2APIC_PPR, 0)).toBe(0x5a);
    apic.accept(0x5f, 0);
    expect(apic.pendingVector()).toBe(-1);
    apic.accept(0x60, 0);
    expect(apic.pendingVector()).toBe(0x60);
    apic.acknowledge(0);
    expect(apic.readMsr(M.X2APIC_PPR, 0)).toBe(0x60); // ISR class above TPR class: low nibble 0
    w(M.X2APIC_TPR, 0x6c);
    expect(apic.readMsr(M.X2APIC_PPR, 0)).toBe(0x6c); // equal classes: PPR = TPR
    w(M.X2APIC_EOI, 0);
    w(M.X2APIC_TPR, 0);
    expect(apic.pendingVector()).toBe(0x5f);
  });

  it('EOI retires the highest in-service vector first (nesting) and tells the host', () => {
    const { apic, host, w } = enabled();
    apic.accept(0x30, 0);
    apic.acknowledge(0);
    apic.accept(0xe0, 0);
    apic.acknowledge(0);
    expect(apic.peekState(0).isr).toEqual([0x30, 0xe0]);
    w(M.X2APIC_EOI, 0, 9);
    expect(apic.peekState(0).isr).toEqual([0x30]);
    expect(apic.acknowledge(0)).toBe(-1);
    w(M.X2APIC_EOI, 0, 10);
    w(M.X2APIC_EOI, 0, 11); // nothing in service: no EOI to forward
    expect(host.calls).toEqual(['eoi e0 @9', 'eoi 30 @10']);
  });

  it('flags illegal vectors in ESR after an ESR write and raises the LVT error interrupt', () => {
    const { apic, w } = enabled();
    w(M.X2APIC_LVT_ERROR, 0xfe);
    apic.accept(3, 0);
    expect(apic.readMsr(M.X2APIC_ESR, 0)).toBe(0); // not visible until ESR is written
    w(M.X2APIC_ESR, 0);
    expect(apic.readMsr(M.X2APIC_ESR, 0)).toBe(M.ESR_RECEIVE_ILLEGAL_VECTOR);
    expect(apic.peekState(0).irr).toEqual([0xfe]);
    w(M.X2APIC_ESR, 0);
    expect(apic.readMsr(M.X2APIC_ESR, 0)).toBe(0);
  });
});

describe('LocalApic IPIs', () => {
  it('passes ICR writes to the router and traces them', () => {
    const { apic, host, trace, w } = enabled(2);
    w(M.X2APIC_ICR, 7 * 2 ** 32 + 0x4031, 100);
    expect(host.calls).toEqual(['ipi 7 4031 @100']);
    expect(apic.readMsr(M.X2APIC_ICR, 0)).toBe(7 * 2 ** 32 + 0x4031);
    expect(trace.recent().at(-1)).toMatchObject({ time: 100, cpu: 2, kind: TraceKind.Ipi, a: 7, b: 0x4031 });
    w(M.X2APIC_ICR, 0xc0000 + 0x500, 101); // INIT, all excluding self: shorthand is the router's business
    expect(host.calls[1]).toBe('ipi 0 c0500 @101');
    expect(apic.writeMsr(M.X2APIC_ICR, 0x1031, 0)).toBe(false); // delivery status is reserved in x2APIC
    expect(apic.writeMsr(M.X2APIC_ICR, 0x100031, 0)).toBe(false);
  });

  it('does not send a fixed IPI with an illegal vector', () => {
    const { apic, host, w } = enabled();
    w(M.X2APIC_ICR, 2 ** 32 + 0x0005);
    expect(host.calls).toEqual([]);
    w(M.X2APIC_ESR, 0);
    expect(apic.readMsr(M.X2APIC_ESR, 0)).toBe(M.ESR_SEND_ILLEGAL_VECTOR);
  });

  it('SELF_IPI sets the vector in its own IRR', () => {
    const { apic, w } = enabled();
    w(M.X2APIC_SELF_IPI, 0xef);
    expect(apic.pendingVector()).toBe(0xef);
    expect(apic.writeMsr(M.X2APIC_SELF_IPI, 0x1ef, 0)).toBe(false);
    w(M.X2APIC_SELF_IPI, 0x0e);
    w(M.X2APIC_ESR, 0);
    expect(apic.readMsr(M.X2APIC_ESR, 0)).toBe(M.ESR_SEND_ILLEGAL_VECTOR);
  });

  it('routes received NMI, INIT and STARTUP to the host; INIT resets the APIC', () => {
    const { apic, host, w } = enabled(1);
    w(M.X2APIC_TPR, 0x20);
    apic.receiveIpi(M.DELIVERY_FIXED, 0x44, 1);
    apic.receiveIpi(M.DELIVERY_NMI, 0, 2);
    apic.receiveIpi(M.DELIVERY_INIT, 0, 3);
    apic.receiveIpi(M.DELIVERY_STARTUP, 0x9a, 4);
    expect(host.calls).toEqual(['nmi @2', 'init @3', 'sipi 9a @4']);
    const s = apic.peekState(5);
    expect([s.irr, s.tpr, s.svr, s.enabled]).toEqual([[], 0, 0xff, false]);
    expect(apic.readMsr(M.X2APIC_ID, 0)).toBe(1);
  });

  it('accepts INIT, NMI and STARTUP while software-disabled', () => {
    const { apic, host } = setup();
    apic.receiveIpi(M.DELIVERY_NMI, 0, 1);
    apic.receiveIpi(M.DELIVERY_STARTUP, 0x10, 2);
    expect(host.calls).toEqual(['nmi @1', 'sipi 10 @2']);
  });
});

describe('LocalApic timer', () => {
  it('one-shot: fires after count x divide x 20 cycles, counts down from time', () => {
    const { apic, trace, run, w } = enabled();
    w(M.X2APIC_LVT_TIMER, 0x31);
    w(M.X2APIC_TIMER_DIVIDE, 0x0); // divide by 2
    w(M.X2APIC_TIMER_INITIAL_COUNT, 100, 1000);
    expect(apic.nextEvent()).toBe(1000 + 100 * 2 * 20);
    expect(apic.readMsr(M.X2APIC_TIMER_CURRENT_COUNT, 2000)).toBe(75);
    expect(apic.readMsr(M.X2APIC_TIMER_CURRENT_COUNT, 2000)).toBe(75); // reading has no side effect
    run(4999);
    expect(apic.pendingVector()).toBe(-1);
    run(5000);
    expect(apic.pendingVector()).toBe(0x31);
    expect(trace.recent().at(-1)).toMatchObject({ time: 5000, kind: TraceKind.ApicTimer, a: 0x31, b: 0 });
    expect(apic.readMsr(M.X2APIC_TIMER_CURRENT_COUNT, 6000)).toBe(0);
    expect(apic.nextEvent()).toBe(Infinity);
  });

  it('periodic: reloads the initial count', () => {
    const { apic, queue, trace, run, w } = enabled();
    w(M.X2APIC_LVT_TIMER, (1 << 17) | 0x40);
    w(M.X2APIC_TIMER_DIVIDE, 0xb); // divide by 1
    w(M.X2APIC_TIMER_INITIAL_COUNT, 10);
    run(1000);
    expect(trace.recent().filter((e) => e.kind === TraceKind.ApicTimer).map((e) => e.time)).toEqual([200, 400, 600, 800, 1000]);
    expect(apic.readMsr(M.X2APIC_TIMER_CURRENT_COUNT, 1000)).toBe(10);
    expect(apic.readMsr(M.X2APIC_TIMER_CURRENT_COUNT, 1100)).toBe(5);
    expect(queue.list()).toEqual([{ time: 1200, name: 'lapic0.timer' }]);
    w(M.X2APIC_TIMER_INITIAL_COUNT, 0, 1100); // 0 stops the timer
    expect(apic.nextEvent()).toBe(Infinity);
    expect(queue.size).toBe(0);
  });

  it('decodes every divide configuration (SDM Figure 10-10)', () => {
    const table: [number, number][] = [[0, 2], [1, 4], [2, 8], [3, 16], [8, 32], [9, 64], [10, 128], [11, 1]];
    for (const [cfg, div] of table) {
      const { apic, w } = enabled();
      w(M.X2APIC_TIMER_DIVIDE, cfg);
      w(M.X2APIC_TIMER_INITIAL_COUNT, 3);
      expect(apic.nextEvent()).toBe(3 * div * 20);
      expect(apic.peekState(0).divide).toBe(div);
    }
  });

  it('a divide change continues the running count at the new rate', () => {
    const { apic, w } = enabled();
    w(M.X2APIC_TIMER_DIVIDE, 0xb); // by 1: 20 cycles per count
    w(M.X2APIC_TIMER_INITIAL_COUNT, 100, 0);
    w(M.X2APIC_TIMER_DIVIDE, 0x1, 1000); // by 4 with 50 counts left
    expect(apic.readMsr(M.X2APIC_TIMER_CURRENT_COUNT, 1000)).toBe(50);
    expect(apic.nextEvent()).toBe(1000 + 50 * 4 * 20);
  });

  it('a masked timer expires without an interrupt', () => {
    const { apic, trace, run, w } = enabled();
    w(M.X2APIC_LVT_TIMER, (1 << 16) | 0x50);
    w(M.X2APIC_TIMER_INITIAL_COUNT, 1);
    run(100);
    expect(apic.peekState(100).irr).toEqual([]);
    expect(trace.recent().at(-1)).toMatchObject({ kind: TraceKind.ApicTimer, a: 0x50, b: 1 });
  });

  it('TSC-deadline: arms at the written TSC, reads 0 after firing, ignores initial count', () => {
    const { apic, run, w } = enabled();
    w(M.IA32_TSC_DEADLINE, 5000); // ignored outside deadline mode
    expect(apic.readMsr(M.IA32_TSC_DEADLINE, 0)).toBe(0);
    expect(apic.nextEvent()).toBe(Infinity);
    w(M.X2APIC_LVT_TIMER, (2 << 17) | 0xd0);
    w(M.X2APIC_TIMER_INITIAL_COUNT, 100);
    expect(apic.nextEvent()).toBe(Infinity);
    w(M.IA32_TSC_DEADLINE, 5000, 10);
    expect(apic.readMsr(M.IA32_TSC_DEADLINE, 0)).toBe(5000);
    expect(apic.peekState(0).timerMode).toBe('tsc-deadline');
    run(5000);
    expect(apic.pendingVector()).toBe(0xd0);
    expect(apic.readMsr(M.IA32_TSC_DEADLINE, 0)).toBe(0);
  });

  it('TSC-deadline: a past deadline fires at the write time, 0 disarms', () => {
    const { apic, run, w } = enabled();
    w(M.X2APIC_LVT_TIMER, (2 << 17) | 0xd0);
    w(M.IA32_TSC_DEADLINE, 10, 700);
    expect(apic.nextEvent()).toBe(700);
    w(M.IA32_TSC_DEADLINE, 0, 700);
    expect(apic.nextEvent()).toBe(Infinity);
    run(1000);
    expect(apic.pendingVector()).toBe(-1);
  });

  it('switching into or out of TSC-deadline mode disarms the timer', () => {
    const { apic, w } = enabled();
    w(M.X2APIC_TIMER_INITIAL_COUNT, 100);
    w(M.X2APIC_LVT_TIMER, 1 << 17); // one-shot -> periodic keeps running
    expect(apic.nextEvent()).toBe(100 * 2 * 20);
    w(M.X2APIC_LVT_TIMER, 2 << 17);
    expect(apic.nextEvent()).toBe(Infinity);
    w(M.IA32_TSC_DEADLINE, 900);
    w(M.X2APIC_LVT_TIMER, 0);
    expect(apic.nextEvent()).toBe(Infinity);
    expect(apic.readMsr(M.X2APIC_TIMER_CURRENT_COUNT, 0)).toBe(0);
  });

  it('peekState has no side effects and is reproducible', () => {
    const { apic, queue, w } = enabled();
    w(M.X2APIC_TIMER_INITIAL_COUNT, 50);
    const a = apic.peekState(400);
    expect(apic.peekState(400)).toEqual(a);
    expect(a).toMatchObject({ timerMode: 'one-shot', initialCount: 50, currentCount: 40, nextTimerEvent: 2000 });
    expect(queue.list()).toEqual([{ time: 2000, name: 'lapic0.timer' }]);
  });
});
