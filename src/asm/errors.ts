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

/** Edit distance with adjacent transpositions (for "did you mean" suggestions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
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
  return best !== undefined && bestD < word.length && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** `; did you mean 'x'?` or an empty string. */
export function suggest(word: string, candidates: Iterable<string>): string {
  const c = closest(word, candidates);
  return c ? `; did you mean '${c}'?` : '';
}
