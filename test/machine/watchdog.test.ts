/**
 * The watchdog (MachineConfig.watchdogCycles / RunLimits.watchdogCycles): a
 * CPU that runs in root mode with interrupts off for longer than the limit
 * stops the run with reason 'watchdog', and describeStop names the CPU, its
 * mode, EIP and nearest symbol in one line. Interrupts-off stretches shorter
 * than the limit, SMM and guests with interrupts off do not trigger it.
 */
import { describe, expect, it } from 'vitest';
import { describeStop } from '../../src/machine/watchdog.js';
import { Runner } from '../helpers/runner.js';
import { runHost } from '../helpers/vmx-host.js';

const HOST_LOOP = `
_start:
    mov esp, 0x8000
    cli
    nop
spin:
    jmp spin
`;

describe('watchdog', () => {
  it('cli; jmp $ in the host: stopped, naming cpu, mode, EIP and symbol', () => {
    const r = new Runner(HOST_LOOP, { watchdogCycles: 100_000 });
    const res = r.machine.run({ untilCycles: 10_000_000 });
    expect(res.reason).toBe('watchdog');
    expect(res.stuckCpu).toBe(0);
    expect(res.cycles).toBeGreaterThanOrEqual(100_000);
    expect(res.cycles).toBeLessThan(100_000 + 2 * r.machine.config.quantum);
    const line = describeStop(r.machine, res, { host: r.image })!;
    expect(line).toMatch(/^watchdog: cpu0 in root mode at eip 0x[0-9a-f]+ <spin>, interrupts off, 0\.0\d\d ms; it ran over 0\.037 ms in root mode with interrupts off/);
    expect(line).not.toContain('\n');
  });

  it('off by default: the same loop runs to the simulated-time limit, which names where each CPU was', () => {
    const r = new Runner(HOST_LOOP);
    const res = r.machine.run({ untilCycles: 1_000_000 });
    expect(res.reason).toBe('time-limit');
    expect(describeStop(r.machine, res, { host: r.image })).toMatch(/^simulated-time limit \(0\.375 ms\) reached: cpu0 in root mode at eip 0x[0-9a-f]+ <spin>, interrupts off/);
  });

  it('a run limit overrides the configured watchdog; interrupts on is no lockup', () => {
    const on = new Runner(HOST_LOOP.replace('cli', 'sti'), { watchdogCycles: 10_000 });
    expect(on.machine.run({ untilCycles: 1_000_000 }).reason).toBe('time-limit');
    const off = new Runner(HOST_LOOP, { watchdogCycles: 10_000 });
    expect(off.machine.run({ untilCycles: 1_000_000, watchdogCycles: 0 }).reason).toBe('time-limit');
  });

  it('interrupts off for a while, then on: no lockup', () => {
    const r = new Runner(`
_start:
    mov esp, 0x8000
    cli
    mov ecx, 5000
.busy:
    dec ecx
    jnz .busy
    sti
spin:
    jmp spin
`, { watchdogCycles: 200_000 });
    expect(r.machine.run({ untilCycles: 2_000_000 }).reason).toBe('time-limit');
  });

  it('a guest spinning with interrupts off is no lockup of the host (its exits are the host\'s business)', () => {
    const h = runHost({ guest: '_start:\n    cli\nspin:\n    jmp spin' }, { config: { watchdogCycles: 50_000 }, untilCycles: 1_000_000 });
    expect(h.result.reason).toBe('time-limit');
    expect(h.machine.cpus[0].nonRoot).toBe(true);
    expect(describeStop(h.machine, h.result, { host: h.host, guests: [{ image: h.guest!, memBase: h.sym('guest_memory') }] })).toMatch(/cpu0 in VMX non-root mode at eip 0x[0-9a-f]+ <spin>, interrupts off/);
  });
});
