/**
 * `vmxsim debug` as a process: commands from stdin when it is not a
 * terminal (CI), one-line errors for bad arguments.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const debug = (args: string[], input: string) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), 'debug', ...args], { cwd: ROOT, encoding: 'utf8', input });
  return { code: r.status, out: r.stdout, err: r.stderr.split('\n').filter((l) => l && !l.startsWith('npm warn')) };
};

describe('vmxsim debug (process)', () => {
  it('reads commands from piped stdin, echoes them, and quits with code 0', () => {
    const r = debug(['test/debug/fixtures/rtos-cosched.json'], 'b vmcall hc_boost vm rtos\nc\ninfo hypercall\nq\n');
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\(vmxsim\) b vmcall hc_boost vm rtos\nBreakpoint 1: VMCALL KVM_HC_BOOST \(100\) vm rtos$/m);
    expect(r.out).toMatch(/^Breakpoint 1, VM exit VMCALL \(18\) from rtos\/vcpu0 on cpu1 at /m);
    expect(r.out).toMatch(/^hypercall KVM_HC_BOOST \(rax 100\): rbx 0x0 rcx 0x1 rdx 0x61 rsi 0x0 {2}= hc_boost\(cpu 0, policy SCHED_FIFO, prio 97\)$/m);
  }, 60_000);

  it('bad arguments: one-line errors, no stack traces', () => {
    const noScript = debug(['test/debug/fixtures/rtos-cosched.json', '--script', 'no/such.gdb'], '');
    expect(noScript.code).toBe(2);
    expect(noScript.err).toEqual(['error: --script no/such.gdb: no such file']);
    const noTarget = debug(['no-such-scenario-or-file'], '');
    expect(noTarget.code).not.toBe(0);
    expect(noTarget.err).toHaveLength(1);
    expect(noTarget.err[0]).toMatch(/^error: .*no-such-scenario-or-file/);
  }, 60_000);
});
