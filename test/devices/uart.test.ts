import { describe, expect, it } from 'vitest';
import { COM1_PORT, Uart16550 } from '../../src/devices/uart.js';
import { Trace, TraceKind } from '../../src/trace/trace.js';

function puts(u: Uart16550, cpu: number, s: string, time = 0) {
  for (const ch of s) u.write(0, ch.charCodeAt(0), 1, { cpu, time });
}

describe('Uart16550', () => {
  it('is 8 ports at COM1', () => {
    expect(COM1_PORT).toBe(0x3f8);
    expect(new Uart16550(new Trace()).size).toBe(8);
  });

  it('captures output per source CPU and completes lines in order', () => {
    const u = new Uart16550(new Trace());
    puts(u, 0, 'hel');
    puts(u, 1, 'ap one\n');
    puts(u, 0, 'lo\nbye');
    expect(u.output(0)).toBe('hello\nbye');
    expect(u.output(1)).toBe('ap one\n');
    expect(u.output(2)).toBe('');
    expect(u.lines()).toEqual([{ source: 1, text: 'ap one' }, { source: 0, text: 'hello' }]);
  });

  it('forwards each byte to onOutput and traces it', () => {
    const trace = new Trace(10);
    const seen: string[] = [];
    const u = new Uart16550(trace, { onOutput: (src, text) => seen.push(`${src}${text}`) });
    puts(u, 3, 'ok', 42);
    expect(seen).toEqual(['3o', '3k']);
    expect(trace.recent()).toEqual([
      { time: 42, cpu: 3, kind: TraceKind.UartTx, a: 0x6f, b: 0 },
      { time: 42, cpu: 3, kind: TraceKind.UartTx, a: 0x6b, b: 0 },
    ]);
  });

  it('always reports the transmitter empty and has nothing to receive', () => {
    const u = new Uart16550(new Trace());
    const ctx = { cpu: 0, time: 0 };
    expect(u.read(5, 1, ctx)).toBe(0x60);
    expect(u.read(0, 1, ctx)).toBe(0);
    expect(u.read(2, 1, ctx) & 1).toBe(1); // IIR: no interrupt pending
  });

  it('stores LCR, IER, MCR and SCR, and DLAB switches offsets 0/1 to the divisor latch', () => {
    const u = new Uart16550(new Trace());
    const ctx = { cpu: 0, time: 0 };
    u.write(3, 0x83, 1, ctx); // DLAB, 8N1
    u.write(0, 0x01, 1, ctx); // 115200 baud
    u.write(1, 0x00, 1, ctx);
    expect([u.read(0, 1, ctx), u.read(1, 1, ctx)]).toEqual([1, 0]);
    expect(u.output(0)).toBe(''); // the divisor write is not output
    u.write(3, 0x03, 1, ctx);
    u.write(1, 0x05, 1, ctx);
    u.write(4, 0x0b, 1, ctx);
    u.write(7, 0xa5, 1, ctx);
    expect([u.read(1, 1, ctx), u.read(3, 1, ctx), u.read(4, 1, ctx), u.read(7, 1, ctx)]).toEqual([5, 3, 0x0b, 0xa5]);
  });

  it('peek has no side effects', () => {
    const u = new Uart16550(new Trace());
    puts(u, 0, 'x');
    const before = [0, 1, 2, 3, 4, 5, 6, 7].map((o) => u.peek(o, 1));
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((o) => u.peek(o, 1))).toEqual(before);
    expect(u.output(0)).toBe('x');
    expect(u.lines()).toEqual([]);
  });
});
