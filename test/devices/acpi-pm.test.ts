/** The ACPI processor control block: P_LVL2/P_LVL3 reads enter C2/C3 with their exit latencies. */
import { describe, expect, it } from 'vitest';
import { AcpiProcessorBlock, P_CNT, P_LVL2, P_LVL3 } from '../../src/devices/acpi-pm.js';
import { NEHALEM } from '../../src/machine/cpu-model.js';

describe('ACPI processor block', () => {
  it('a P_LVLx read enters the C-state on the reading CPU with its exit latency; P_CNT does not', () => {
    const entered: [number, number][] = [];
    const pblk = new AcpiProcessorBlock({ c2Exit: 10, c3Exit: 30 }, (cpu, lat) => entered.push([cpu, lat]));
    expect(pblk.read(P_CNT, 4, { cpu: 0, time: 0 })).toBe(0);
    pblk.read(P_LVL2, 1, { cpu: 1, time: 5 });
    pblk.read(P_LVL3, 1, { cpu: 0, time: 6 });
    expect(entered).toEqual([[1, 10], [0, 30]]);
    expect(pblk.entries[0]).toEqual({ c2: 0, c3: 1 });
    expect(pblk.peek(P_LVL3, 1)).toBe(0); // peek has no side effect
    expect(entered.length).toBe(2);
  });

  it('the model gives C2 < C3 exit latencies within the FADT limits (100 µs, 1000 µs)', () => {
    const us = (c: number) => (c / NEHALEM.hz) * 1e6;
    const c2 = us(NEHALEM.events.c2ExitLatency.cycles);
    const c3 = us(NEHALEM.events.c3ExitLatency.cycles);
    expect(c2).toBeLessThanOrEqual(100);
    expect(c3).toBeLessThanOrEqual(1000);
    expect(c2).toBeLessThan(c3);
  });
});
