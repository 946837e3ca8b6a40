/**
 * User-facing errors: each becomes one line on stderr and an exit code,
 * never a stack trace. Exit codes: 0 success, 1 bad input (assembly, image,
 * scenario, checkpoint file), 2 usage (arguments, missing files), 3 the
 * simulated machine failed (a triple fault in the program under test, the
 * watchdog, a scenario that did not finish), 70 an internal error (our bug).
 */
import { AsmError, ImageError } from '../asm/errors.js';

export class UsageError extends Error {}

export const EXIT_OK = 0;
export const EXIT_BAD_INPUT = 1;
export const EXIT_USAGE = 2;
export const EXIT_MACHINE = 3;

/** Print an error the way the CLI promises and return its exit code. */
export function reportError(e: unknown): number {
  if (e instanceof AsmError) {
    for (const l of e.errors) console.error(l);
    return EXIT_BAD_INPUT;
  }
  if (e instanceof ImageError) {
    console.error(e.message);
    return EXIT_BAD_INPUT;
  }
  if (e instanceof UsageError) {
    console.error(`error: ${e.message}`);
    return EXIT_USAGE;
  }
  // anything else is our bug: still one line, with a hint to get the stack
  console.error(`internal error: ${(e as Error)?.message ?? String(e)} (set VMXSIM_DEBUG=1 for a stack trace)`);
  if (process.env.VMXSIM_DEBUG) console.error((e as Error)?.stack);
  return 70;
}
