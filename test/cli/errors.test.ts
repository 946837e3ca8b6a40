/**
 * Every wrong input gets one line naming the file, field or option and the
 * fix, and the documented exit code (src/cli/errors.ts): 1 bad input
 * (assembly, image, scenario content, checkpoint), 2 usage (arguments,
 * missing files, scenario names), 3 the simulated machine failed (triple
 * fault, watchdog). Real processes, run concurrently to keep this fast.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const tmp = mkdtempSync(path.join(tmpdir(), 'vmxsim-errors-'));
const file = (name: string, text: string | Buffer): string => {
  const f = path.join(tmp, name);
  writeFileSync(f, text);
  return f;
};

interface Out { code: number | null; out: string; err: string[] }
function cli(...args: string[]): Promise<Out> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), ...args], { cwd: ROOT });
    let out = '', err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve({ code, out, err: err.split('\n').filter((l) => l && !l.startsWith('npm warn')) }));
  });
}

/** Each case: arguments, expected exit code, the one stderr line (pattern). */
const CASES: [string, () => string[], number, RegExp][] = [
  ['an unknown option stops before anything runs (a scenario)', () => ['run', 'fig10-rtos-irt-prio-load', '--loosp', '5'], 2, /^error: Unknown argument: loosp \(see --help\)$/],
  ['an unknown option stops before anything runs (asm writes no file)', () => ['asm', path.join(ROOT, 'firmware/demo/main.s'), '-o', path.join(tmp, 'never.elf'), '--bsae', '0'], 2, /^error: Unknown argument: bsae/],
  ['scenario JSON that does not parse: one line, even when JSON.parse quotes a newline', () => ['run', file('broken.json', 'bad\n{')], 2, /^error: scenario broken\.json: not JSON: .* is not valid JSON$/],
  ['a scenario field out of range: its path, the value, the allowed range', () => ['run', 'fig10-rtos-irt-prio-load', '--set', 'machine.cpus=99'], 2, /^error: scenario fig10-rtos-irt-prio-load: machine\.cpus: 99 is not 1-8$/],
  ['a mistyped value: the allowed values and a suggestion', () => ['run', 'fig10-rtos-irt-prio-load', '--set', 'vms[0].vcpu.policy=fifi'], 2, /^error: scenario fig10-rtos-irt-prio-load: vms\[0\]\.vcpu\.policy: "fifi" is not one of "fifo", "rr", "other" \(did you mean "fifo"\?\)$/],
  ['a mistyped scenario name: a suggestion', () => ['run', 'fig9-rtos-irt-shield-lod'], 2, /^error: unknown scenario "fig9-rtos-irt-shield-lod" \(did you mean "fig9-rtos-irt-shield-load"\?\); see `list`$/],
  ['an image that does not fit its machine: file, segment, size and the fix', () => ['run', file('big.s', '_start:\n    hlt\n.bss\nbuf: .space 0x800000\n'), '--memory', '4'], 1, /^.*big\.s: segment \.bss at 0x[0-9a-f]+ \(8388608 bytes\) does not fit in 4 MiB of memory; link it lower or give the machine more memory$/],
  ['a VM whose RAM does not fit the machine: the VM, sizes and the fix (was an internal error)', () => ['run', 'fig10-rtos-irt-prio-load', '--set', 'vms[0].memory_mib=64'], 1, /^vm rtos: its 64 MiB of RAM at 0x[0-9a-f]+ do not fit below SMRAM at [\d.]+ MiB \(the host's 64 MiB\); give the VM less memory \(memory_mib\) or the machine more$/],
  ['assembly errors: file:line:column', () => ['run', file('typo.s', '_start:\n    mov eax, 1\n    jmpp _start\n')], 1, /^.*typo\.s:3:5: error: unknown mnemonic 'jmpp'/],
  ['a missing file', () => ['run', path.join(tmp, 'missing.elf')], 2, /^error: .*missing\.elf: no such file$/],
  ['the watchdog: cli; jmp $ in the host stops the run, naming cpu, mode, EIP and symbol; exit 3', () => ['run', file('lockup.s', '_start:\n    mov esp, 0x8000\n    cli\nspin:\n    jmp spin\n'), '--watchdog', '2'], 3, /^watchdog: cpu0 in root mode at eip 0x[0-9a-f]+ <spin>, interrupts off, 2\.0\d\d ms; it ran over 2\.000 ms in root mode with interrupts off \(a lockup, e\.g\. cli; jmp \$\)$/],
  ['a checkpoint of another format version: refused in one line', () => ['run', '--restore', file('old.ckpt', '{"magic":"vmxsim-checkpoint","format":0,"vmxsim":"0.0.1"}\n')], 1, /^.*old\.ckpt: checkpoint format 0 \(vmxsim 0\.0\.1\) is not the format this vmxsim [\w.]+ reads \(1\); re-create it with this version$/],
  ['--checkpoint-at without --checkpoint', () => ['run', 'fig10-rtos-irt-prio-load', '--checkpoint-at', '1ms'], 2, /^error: --checkpoint-at T and --checkpoint FILE go together$/],
  ['--restore with options that would change the run', () => ['run', '--restore', file('x.ckpt', 'x'), '--loops', '5'], 2, /^error: --restore continues the run as it was saved: drop --loops$/],
  ['a malformed --guest', () => ['run', path.join(ROOT, 'firmware/demo/main.s'), '--guest', 'tiny.s'], 2, /^error: --guest tiny\.s: expected FILE@SYMBOL/],
];

describe('CLI errors: one line, the right exit code', () => {
  const results = Promise.all(CASES.map(([, args]) => cli(...args())));

  it.each(CASES.map((c, i) => [c[0], i] as const))('%s', async (_name, i) => {
    const [, , code, line] = CASES[i];
    const r = (await results)[i];
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(line);
    expect(r.code).toBe(code);
    expect(r.err.join('\n')).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('nothing was written by the rejected asm command', async () => {
    await results;
    expect(existsSync(path.join(tmp, 'never.elf'))).toBe(false);
  }, 60_000);
});
