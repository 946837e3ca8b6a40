/**
 * Fuzzing harness: every case must end in an outcome a user can read — a
 * guest-visible exception, a VM exit, a VM-instruction error, a stopped VM
 * or machine, or a one-line error naming the problem. Anything else is a
 * finding: a JS error that is not one of our typed user errors (an emulator
 * bug), a multi-line or anonymous error message, or a case that ran past its
 * wall-clock budget. Outcomes are counted per suite, so a run says what the
 * inputs did, not only that nothing broke.
 */
import { AsmError, ImageError } from '../../src/asm/errors.js';
import { UsageError } from '../../src/cli/errors.js';
import type { Machine, RunResult } from '../../src/machine/machine.js';

export type Counts = Record<string, number>;

export class Finding extends Error {}

export function count(c: Counts, outcome: string): void {
  c[outcome] = (c[outcome] ?? 0) + 1;
}

/**
 * A typed user error becomes its outcome ('error: <kind>'); it must be one
 * line and name `source` (the file or scenario the user gave). Anything else
 * thrown is a Finding.
 */
export function userError(e: unknown, source: string | string[], kind: string): string {
  const names = Array.isArray(source) ? source : [source];
  if (e instanceof AsmError || e instanceof ImageError || e instanceof UsageError) {
    const lines = e instanceof AsmError ? e.errors : [e.message];
    for (const l of lines) {
      if (l.includes('\n')) throw new Finding(`multi-line error message: ${JSON.stringify(l)}`);
      if (!names.some((n) => l.includes(n))) throw new Finding(`error message does not name ${names.join(' or ')}: ${l}`);
    }
    return `error: ${kind}`;
  }
  const err = e as Error;
  throw new Finding(`uncaught ${err?.name ?? typeof e}: ${err?.message ?? String(e)}\n${err?.stack ?? ''}`);
}

/** How a bare-machine run ended, in the user's words (`stubs`: exit codes 0x100 + vector come from IDT stubs). */
export function machineOutcome(m: Machine, r: RunResult, exitNames: Record<number, string> = {}, stubs = true): string {
  switch (r.reason) {
    case 'exit': {
      const v = r.exitCode! - 0x100;
      return exitNames[r.exitCode!] ?? (!stubs ? 'program exit' : v >= 0 && v < 32 ? `exception #${v}` : v >= 32 && v < 256 ? 'interrupt vector 32-255 (INT n)' : 'program exit');
    }
    case 'shutdown': return m.cpus.some((c) => c.state === 3) ? 'triple fault (shutdown)' : 'stopped';
    case 'idle': return 'halted';
    case 'time-limit':
    case 'instruction-limit': return 'time/instruction limit (a loop)';
    case 'watchdog': return 'watchdog (interrupts off too long)';
  }
  return r.reason;
}

/** Run `f` and fail if it took more than `ms` of wall time (a hang shows as a slow case long before a timeout). */
export function timed<T>(f: () => T, ms: number, what: () => string): T {
  const t0 = performance.now();
  const r = f();
  const dt = performance.now() - t0;
  if (dt > ms) throw new Finding(`case took ${dt.toFixed(0)} ms (budget ${ms} ms): ${what()}`);
  return r;
}

/** A fixed seed for the test suite, so a failure reproduces; `npm run fuzz` takes its own. */
export const TEST_SEED = 0x5eed;
