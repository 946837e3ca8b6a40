/** Bit-for-bit determinism of a whole SMP run, and correctness independent of the scheduling quantum. */
import { describe, expect, it } from 'vitest';
import { NEHALEM } from '../../src/machine/cpu-model.js';
import { runDemo } from './demo.js';

const LINE = /^cpu(\d): 5 timer interrupts, IPIs received: 1, tsc 0x[0-9a-f]{8}$/;

function summary(config: Parameters<typeof runDemo>[0] = {}) {
  const { machine, result } = runDemo(config);
  return {
    result,
    hash: machine.trace.hash,
    events: machine.trace.count,
    out0: machine.uart.output(0),
    out1: machine.uart.output(1),
    lines: machine.uart.lines(),
    cycles: machine.cpus.map((c) => c.cycles),
    instructions: machine.cpus.map((c) => c.instructions),
  };
}

describe('determinism', () => {
  it('two runs of the demo on fresh machines are identical', () => {
    const a = summary();
    const b = summary();
    expect(a.result.reason).toBe('exit');
    expect(a.result.exitCode).toBe(0);
    expect(b).toEqual(a);
    expect(a.hash).toMatch(/^[0-9a-f]{8}$/);
    expect(a.events).toBeGreaterThan(0);
  });

  it('keeping trace events (observing) does not change the run', () => {
    const plain = summary();
    const observed = summary({ traceKeep: 100_000 });
    expect(observed).toEqual(plain);
  });

  it('the trace hash tells runs apart: one cycle more IPI latency changes it', () => {
    const base = summary();
    const model = { ...NEHALEM, events: { ...NEHALEM.events, ipiLatency: { ...NEHALEM.events.ipiLatency, cycles: NEHALEM.events.ipiLatency.cycles + 1 } } };
    const other = summary({ model });
    expect(other.result.exitCode).toBe(0);
    expect(other.hash).not.toBe(base.hash);
  });

  it.each([1, 13, 100, 1000, 20_000, 1_000_000])('quantum %i: the demo still exits 0 with a line per CPU', (quantum) => {
    const s = summary({ quantum });
    expect(s.result.reason).toBe('exit');
    expect(s.result.exitCode).toBe(0);
    expect(s.lines).toHaveLength(3);
    const cpuLines = s.lines.filter((l) => LINE.test(l.text));
    expect(cpuLines.map((l) => [l.source, Number(LINE.exec(l.text)![1])]).sort()).toEqual([[0, 0], [1, 1]]);
    expect(s.lines.filter((l) => l.text === 'demo: both CPUs done').map((l) => l.source)).toEqual([0]);
    // the same run repeated with this quantum is identical too
    expect(summary({ quantum })).toEqual(s);
  });
});
