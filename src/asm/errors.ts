/**
 * Error types of the assembler and the image reader. Both carry one-line,
 * human-readable messages; callers print `message` and never a stack trace.
 */

/** A place in a source file (1-based line and column). */
export interface SrcLoc {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** set for lines produced by a macro expansion: "macro NAME at file:line" */
  readonly expansion?: string;
}

/** `file:line:col: error: msg` (plus the macro expansion it came from, if any). */
export function formatError(loc: SrcLoc, msg: string): string {
  const where = `${loc.file}:${loc.line}:${loc.col}: error: ${msg}`;
  return loc.expansion ? `${where} (in expansion of ${loc.expansion})` : where;
}

/** One or more assembly errors; `errors` holds one formatted line each. */
export class AsmError extends Error {
  readonly errors: readonly string[];
  constructor(errors: readonly string[]) {
    super(errors.join('\n'));
    this.name = 'AsmError';
    this.errors = errors;
  }
}

/** A malformed or unsupported executable image (message names the file). */
export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageError';
  }
}

/** Internal: an error at a location, thrown inside a statement and collected by the pass. */
export class StmtError extends Error {
  constructor(
    readonly loc: SrcLoc,
    readonly msg: string,
  ) {
    super(formatError(loc, msg));
  }
}

/** Levenshtein distance (for "did you mean" suggestions). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** The closest candidate to `word`, if reasonably close. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD || (d === bestD && best !== undefined && c < best)) {
      best = c;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 2)) ? best : undefined;
}

/** `; did you mean 'x'?` or an empty string. */
export function suggest(word: string, candidates: Iterable<string>): string {
  const c = closest(word, candidates);
  return c ? `; did you mean '${c}'?` : '';
}
