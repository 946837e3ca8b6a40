/**
 * The command line as a user meets it: real processes, real exit codes,
 * one-line errors and no stack traces.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr.split('\n').filter((l) => l && !l.startsWith('npm warn')) };
};
const tmp = mkdtempSync(path.join(tmpdir(), 'vmxsim-cli-'));

describe('CLI', () => {
  it('with no command: a short run of the Fig. 10 scenario, then how to run the rest', () => {
    const r = cli();
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^scenario fig10-rtos-irt-prio-load: /m);
    expect(r.out).toMatch(/^rtos: T: 0 \(\s+\d+\) P:97 I:200 C:\s+100 Min:/m);
    expect(r.out).toMatch(/^CPU\s+busy %/m);
    expect(r.out).toMatch(/`npm start -- list`/);
    expect(r.out).toMatch(/`npm start -- run NAME/);
    expect(r.out).toMatch(/`npm start -- paper --quick`/);
  }, 60_000);

  it('smp-demo: the machine-core demo, both CPUs report, exit code 0', () => {
    const r = cli('smp-demo');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/cpu0: 5 timer interrupts, IPIs received: 1/);
    expect(r.out).toMatch(/cpu1: 5 timer interrupts, IPIs received: 1/);
    expect(r.out).toMatch(/stopped: exit code 0 at [\d.]+ ms simulated \(\d+ cycles at 2\.67 GHz\), \d+ instructions/);
  }, 30_000);

  it('runs the VMX demo and prints the exit statistics', () => {
    const r = cli('vmx-demo');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/timer interrupts injected: 5/);
    expect(r.out).toMatch(/^\s+VMCALL\s+2\s/m);
    expect(r.out).toMatch(/^\s+EXTERNAL_INTERRUPT\s+5\s/m);
  }, 30_000);

  it('kvm-demo: the host kernel runs two guests and prints the Fig. 2 stage breakdown', () => {
    const r = cli('kvm-demo', '--spin');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^vm0: timer guest: hello$/m);
    expect(r.out).toMatch(/^vm1: timer guest: hello$/m);
    const stage = (name: string) => Number(new RegExp(`^${name}\\s+([\\d.]+)`, 'm').exec(r.out)![1]);
    const parts = ['VM exit \\(b-a\\)', 'after VM exit \\(c-b\\)', 'host ISR \\(d-c\\)', 'host scheduling \\(e-d\\)', 'before VM entry \\(f-e\\)', 'VM entry \\(h-f\\)'].map(stage);
    expect(parts.every((x) => x > 0)).toBe(true); // a running guest: an EXTERNAL_INTERRUPT exit, every stage non-empty
    expect(Math.abs(parts.reduce((a, b) => a + b) - stage('total \\(h-a\\)'))).toBeLessThan(0.01);
    expect(r.out).toMatch(/^\s+EXTERNAL_INTERRUPT\s+\d+/m);
  }, 60_000);

  it('guests-demo: RTOS and GPOS together under the host kernel, both results in cyclictest format', () => {
    const r = cli('guests-demo', '--loops', '40');
    expect(r.code).toBe(0);
    const line = /^(rtos|gpos): T: 0 \(\s*\d+\) P:(\d+) I:(\d+) C:\s*(\d+) Min:\s*(\d+) Act:\s*(\d+) Avg:\s*(\d+) Max:\s*(\d+)$/gm;
    const rows = [...r.out.matchAll(line)].map((m) => ({ vm: m[1], prio: +m[2], interval: +m[3], count: +m[4], min: +m[5], avg: +m[7], max: +m[8] }));
    expect(rows.map((x) => [x.vm, x.prio, x.interval, x.count])).toEqual([['rtos', 97, 200, 40], ['gpos', 80, 1000, 10]]);
    for (const x of rows) expect(x.min <= x.avg && x.avg <= x.max).toBe(true);
  }, 60_000);

  it('a mistyped scenario name gets a suggestion, one line', () => {
    const r = cli('run', 'fig10-rtos-irt-prio-lod');
    expect(r.code).not.toBe(0);
    expect(r.err).toEqual(['error: unknown scenario "fig10-rtos-irt-prio-lod" (did you mean "fig10-rtos-irt-prio-load"?); see `list`']);
  }, 30_000);

  it('a missing file is one line and exit code 2', () => {
    const r = cli('run', path.join(tmp, 'nope.elf'));
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`error: ${path.join(tmp, 'nope.elf')}: no such file`]);
  }, 30_000);

  it('a bad image is one line naming the file, exit code 1', () => {
    const f = path.join(tmp, 'garbage.elf');
    writeFileSync(f, Buffer.from('definitely not an ELF file'));
    const r = cli('run', f);
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toContain('garbage.elf');
    expect(r.err.join('\n')).not.toMatch(/\n\s+at /);
  }, 30_000);

  it('assembly errors are file:line:col lines, exit code 1', () => {
    const f = path.join(tmp, 'bad.s');
    writeFileSync(f, '_start:\n    mvo eax, 1\n    add eax\n');
    const r = cli('asm', f, '-o', path.join(tmp, 'bad.elf'));
    expect(r.code).toBe(1);
    expect(r.err[0]).toMatch(/bad\.s:2:5: error: unknown mnemonic 'mvo'/);
    expect(r.err[1]).toMatch(/bad\.s:3:\d+: error: add expects/);
  }, 30_000);

  it('a bad option value is one line and exit code 2', () => {
    const r = cli('run', path.join(ROOT, 'firmware/demo/main.s'), '--cpus', '0');
    expect(r.code).toBe(2);
    expect(r.err).toEqual(['error: --cpus 0: expected 1-64']);
  }, 30_000);

  it('asm then disasm round-trips through the CLI', () => {
    const elf = path.join(tmp, 'demo.elf');
    expect(cli('asm', path.join(ROOT, 'firmware/demo/main.s'), '-o', elf).code).toBe(0);
    const listing = execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), 'disasm', elf], { cwd: ROOT, encoding: 'utf8' });
    expect(listing).toMatch(/^cpu_main:/m);
    const back = path.join(tmp, 'back.s');
    writeFileSync(back, listing);
    expect(cli('asm', back, '-o', path.join(tmp, 'back.elf')).code).toBe(0);
  }, 60_000);
});
