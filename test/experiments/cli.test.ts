/**
 * `run SCENARIO` options as a user meets them: --set, --duration, --seed,
 * --histfile, --cyclictest-json (rt-tests' layout), --trace, --quick, the
 * progress bar (TTY only), one-line errors.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/experiments/cli.js';
import { progressBar } from '../../src/experiments/progress.js';

const ROOT = path.resolve(__dirname, '../..');
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr.split('\n').filter((l) => l && !l.startsWith('npm warn')) };
};
const tmp = mkdtempSync(path.join(tmpdir(), 'vmxsim-run-'));

describe('run SCENARIO options', () => {
  it('--set, --seed, --histfile, --cyclictest-json, --trace, --json', () => {
    const f = (n: string): string => path.join(tmp, n);
    const r = cli('run', 'fig10-rtos-irt-prio-base', '--loops', '20', '--interval', '300', '--set', 'vms[0].vcpu.prio=90', '--set', 'host.hrtimer_prio=95',
      '--seed', '42', '--histfile', f('h.txt'), '--cyclictest-json', f('ct.json'), '--trace', f('trace.json'), '--json', f('r.json'), '--quiet');
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^rtos: T: 0 \(\s+\d+\) P:90 I:300 C:\s+20 /m);
    const j = JSON.parse(readFileSync(f('r.json'), 'utf8'));
    expect(j.seed).toBe(42);
    expect(readFileSync(f('h.txt'), 'utf8')).toMatch(/^# Histogram\n000000 \d{6}\n[\s\S]*# Total: 000000020\n[\s\S]*# Histogram Overflows: 00000\n$/);
    const ct = JSON.parse(readFileSync(f('ct.json'), 'utf8'));
    expect(Object.keys(ct)).toEqual(['file_version', 'cmdline:', 'rt_test_version:', 'start_time', 'end_time', 'return_code', 'sysinfo', 'num_threads', 'resolution_in_ns', 'thread']);
    expect(ct.num_threads).toBe(1);
    expect(Object.keys(ct.thread['0'])).toEqual(['histogram', 'cycles', 'min', 'max', 'avg', 'cpu', 'node']);
    expect(ct.thread['0'].cycles).toBe(20);
    expect(Object.values(ct.thread['0'].histogram as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(20);
    expect(ct.thread['0'].max).toBe(Math.floor(j.latency.max));
    const tr = JSON.parse(readFileSync(f('trace.json'), 'utf8'));
    expect(tr.traceEvents.length).toBeGreaterThan(100);
  }, 60_000);

  it('--duration bounds simulated time (exit code 0), --quick uses the scenario\'s short sizes', () => {
    const d = cli('run', 'fig8-rtos-irt-load', '--duration', '15ms', '--interval', '200', '--quiet');
    expect(d.err).toEqual([]);
    expect(d.code).toBe(0);
    expect(d.out).toMatch(/^stopped: stopped at --duration at 15\.000 ms simulated/m);
    const q = cli('run', 'fig9-rtos-irt-shield-base', '--quick');
    expect(q.code).toBe(0);
    expect(q.out).toMatch(/^rtos: T: 0 \(\s+\d+\) P: 0 I:200 C:\s+100 /m);
  }, 60_000);

  it('one-line errors: a bad --set, a bad --duration, a value that fails validation', () => {
    expect(cli('run', 'fig10-rtos-irt-prio-base', '--set', 'vms[0].vcpu.prio=120').err).toEqual(['error: scenario fig10-rtos-irt-prio-base: vms[0].vcpu.prio: 120 is not 1-99']);
    expect(cli('run', 'fig10-rtos-irt-prio-base', '--set', 'host.cosched').err).toEqual(['error: --set host.cosched: expected key=value (e.g. host.cosched=true, vms[1].vcpu.prio=90)']);
    const d = cli('run', 'fig10-rtos-irt-prio-base', '--duration', '10 parsecs');
    expect(d.code).toBe(2);
    expect(d.err).toEqual(['error: --duration 10 parsecs: expected a simulated time like 10s, 500ms, 250us or a number of seconds']);
  }, 60_000);

  it('parses durations', () => {
    expect(parseDuration('10s')).toBe(10e9);
    expect(parseDuration('500ms')).toBe(500e6);
    expect(parseDuration('250us')).toBe(250e3);
    expect(parseDuration(2)).toBe(2e9);
    expect(parseDuration('0.5')).toBe(0.5e9);
    expect(() => parseDuration('0s')).toThrow('must be more than zero');
  });

  it('progress bar: silent on a non-TTY and with --quiet; on a TTY drawn after the delay and erased', () => {
    const out: string[] = [];
    const tty = { isTTY: true, write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream;
    const pipe = { isTTY: false, write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream;
    const p1 = progressBar({ stream: pipe, delayMs: 0 });
    p1.update(5e8, 1e9);
    p1.finish();
    const p2 = progressBar({ stream: tty, delayMs: 0, quiet: true });
    p2.update(5e8, 1e9);
    expect(out).toEqual([]);
    const p3 = progressBar({ stream: tty, delayMs: 0 });
    p3.update(5e8, 1e9);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^\r\[#{15}\.{15}\]\s+50%\s+0\.500 \/ 1\.000 s simulated$/);
    p3.finish();
    expect(out[1]).toBe('\r\x1b[K');
    const p4 = progressBar({ stream: tty, delayMs: 60_000 });
    p4.update(5e8, 1e9);
    expect(out).toHaveLength(2); // a short run draws nothing
  });
});
