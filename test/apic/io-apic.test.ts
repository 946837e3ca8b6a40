import { describe, expect, it } from 'vitest';
import { IOAPIC_BASE, IoApic } from '../../src/apic/io-apic.js';
import { Trace, TraceKind } from '../../src/trace/trace.js';

const ctx = { cpu: 0, time: 0 };

function setup() {
  const trace = new Trace(50);
  const delivered: string[] = [];
  const io = new IoApic(trace, (dest, vector, mode, time) => delivered.push(`${dest}:${vector.toString(16)}:${mode}@${time}`));
  const reg = (r: number) => { io.write(0, r, 4, ctx); return io.read(0x10, 4, ctx); };
  const set = (r: number, v: number) => { io.write(0, r, 4, ctx); io.write(0x10, v, 4, ctx); };
  return { trace, delivered, io, reg, set };
}

describe('IoApic registers', () => {
  it('sits at 0xFEC00000 and reports the 82093AA version with 24 entries', () => {
    const { io, reg } = setup();
    expect(IOAPIC_BASE).toBe(0xfec00000);
    expect(io.size).toBe(0x20);
    expect(reg(1)).toBe(0x00170011);
  });

  it('keeps the ID in bits 27:24 and mirrors it in arbitration', () => {
    const { reg, set } = setup();
    set(0, 0xffffffff);
    expect(reg(0)).toBe(0x0f000000);
    expect(reg(2)).toBe(0x0f000000);
    set(1, 0);
    expect(reg(1)).toBe(0x00170011);
  });

  it('resets every entry masked, and stores writable bits only', () => {
    const { io, reg, set } = setup();
    for (let n = 0; n < 24; n++) expect(io.redirection(n).masked).toBe(true);
    set(0x10 + 2 * 5, 0xffffffff);
    expect(reg(0x10 + 2 * 5)).toBe(0x1afff); // delivery status and remote IRR are read-only
    set(0x11 + 2 * 5, 0xffffffff);
    expect(reg(0x11 + 2 * 5)).toBe(0xff000000);
    expect(io.redirection(5)).toEqual({ vector: 0xff, dest: 0xff, masked: true, deliveryMode: 7, raw: 0xff0000000001afffn });
    expect(reg(0x10 + 2 * 24)).toBe(0); // beyond entry 23
  });

  it('peek reads the selected register without side effects', () => {
    const { io, set } = setup();
    set(0x12, 0x31);
    expect(io.peek(0x10, 4)).toBe(0x31);
    expect(io.peek(0x00, 4)).toBe(0x12);
    expect(io.peek(0x10, 4)).toBe(io.read(0x10, 4, ctx));
  });

  it('rejects pins beyond 23', () => {
    expect(() => setup().io.irq(24)).toThrow(RangeError);
  });
});

describe('IoApic delivery', () => {
  it('delivers an unmasked edge to its destination and traces it', () => {
    const { io, set, delivered, trace } = setup();
    set(0x10 + 2 * 4, 0x0024);
    set(0x11 + 2 * 4, 3 << 24);
    io.irq(4).raise(77);
    expect(delivered).toEqual(['3:24:0@77']);
    expect(trace.recent()).toEqual([{ time: 77, cpu: 3, kind: TraceKind.IoApicIrq, a: 4, b: 0x24 }]);
  });

  it('delivers one interrupt per rising edge', () => {
    const { io, set, delivered } = setup();
    set(0x10, 0x30);
    const line = io.irq(0);
    line.raise(1);
    line.raise(2);
    line.lower(3);
    line.raise(4);
    expect(delivered).toEqual(['0:30:0@1', '0:30:0@4']);
  });

  it('loses edges that arrive while masked (82093AA)', () => {
    const { io, set, delivered } = setup();
    set(0x10 + 2, 0x10000 | 0x33);
    io.irq(1).raise(1);
    set(0x10 + 2, 0x33);
    expect(delivered).toEqual([]);
    io.irq(1).lower(2);
    io.irq(1).raise(3);
    expect(delivered).toEqual(['0:33:0@3']);
  });

  it('level-triggered: remote IRR holds the pin until EOI, then re-delivers if still asserted', () => {
    const { io, set, reg, delivered } = setup();
    set(0x10 + 2 * 9, 0x8000 | 0x29);
    io.irq(9).raise(10);
    expect(reg(0x10 + 2 * 9) & 0x4000).toBe(0x4000);
    io.irq(9).raise(11);
    expect(delivered).toEqual(['0:29:0@10']);
    io.eoi(0x29, 20);
    expect(delivered).toEqual(['0:29:0@10', '0:29:0@20']);
    io.irq(9).lower(21);
    io.eoi(0x29, 22);
    expect(delivered.length).toBe(2);
    expect(reg(0x10 + 2 * 9) & 0x4000).toBe(0);
  });

  it('level-triggered: unmasking an asserted pin delivers it', () => {
    const { io, set, delivered } = setup();
    set(0x10 + 2 * 2, 0x18000 | 0x61);
    io.irq(2).raise(5);
    expect(delivered).toEqual([]);
    io.write(0x10, 0x8000 | 0x61, 4, { cpu: 0, time: 9 });
    expect(delivered).toEqual(['0:61:0@9']);
  });
});
