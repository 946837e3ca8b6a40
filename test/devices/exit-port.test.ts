import { describe, expect, it } from 'vitest';
import { EXIT_PORT, ExitPort } from '../../src/devices/exit-port.js';
import { Trace, TraceKind } from '../../src/trace/trace.js';

describe('ExitPort', () => {
  it('reports a write at offset 0 with time and CPU, and traces it', () => {
    const trace = new Trace(10);
    const exits: number[][] = [];
    const p = new ExitPort(trace, (code, time, cpu) => exits.push([code, time, cpu]));
    expect(EXIT_PORT).toBe(0xf4);
    expect(p.size).toBe(4);
    p.write(0, 0x31, 1, { cpu: 2, time: 900 });
    p.write(0, 0xdeadbeef, 4, { cpu: 0, time: 901 });
    p.write(0, 0x12345, 2, { cpu: 0, time: 902 });
    expect(exits).toEqual([[0x31, 900, 2], [0xdeadbeef, 901, 0], [0x2345, 902, 0]]);
    expect(trace.recent()[0]).toEqual({ time: 900, cpu: 2, kind: TraceKind.MachineExit, a: 0x31, b: 0 });
  });

  it('ignores other offsets; reads and peeks return 0 without exiting', () => {
    let n = 0;
    const p = new ExitPort(new Trace(), () => n++);
    p.write(1, 1, 1, { cpu: 0, time: 0 });
    expect(p.read(0, 4, { cpu: 0, time: 0 })).toBe(0);
    expect(p.peek(0, 1)).toBe(0);
    expect(n).toBe(0);
  });
});
