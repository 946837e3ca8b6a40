import { describe, expect, it } from 'vitest';
import { run } from '../helpers/runner.js';

describe('Machine.run limits', () => {
  it('with every CPU halted and nothing due before the limit, time advances to the limit (callers can step on)', () => {
    const r = run(`
_start:
    sti
    hlt
    jmp _start
`);
    r.machine.queue.schedule(1e9, 'far-away', () => {});
    const a = r.machine.run({ untilCycles: 10_000 });
    expect(a).toMatchObject({ reason: 'time-limit', cycles: 10_000 });
    const b = r.machine.run({ untilCycles: 20_000 });
    expect(b).toMatchObject({ reason: 'time-limit', cycles: 20_000 });
    expect(r.cpu.cycles).toBe(20_000);
  });

  it('an instruction limit stops a CPU that never halts (a watchdog)', () => {
    const r = run('_start:\n    jmp _start\n');
    const res = r.machine.run({ maxInstructions: 50_000 });
    expect(res.reason).toBe('instruction-limit');
    expect(res.instructions).toBeGreaterThanOrEqual(50_000);
  });
});
