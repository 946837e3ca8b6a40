/**
 * A progress bar on stderr for long scenario runs: simulated time done /
 * total, drawn only on a TTY, only once the run has taken ~2 s of wall time,
 * at most ten times a second, and erased at the end. Driven by runScenario's
 * `onProgress`. Wall-clock time is read here, in the CLI layer, never in the
 * model.
 */
export interface Progress {
  update(doneNs: number, totalNs: number): void;
  finish(): void;
}

export function progressBar(opts: { quiet?: boolean; stream?: NodeJS.WriteStream; delayMs?: number } = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const enabled = !opts.quiet && stream.isTTY === true;
  const start = Date.now();
  const delay = opts.delayMs ?? 2000;
  let last = 0;
  let drawn = false;
  return {
    update(doneNs, totalNs) {
      if (!enabled) return;
      const now = Date.now();
      if (now - start < delay || now - last < 100) return;
      last = now;
      const f = totalNs > 0 ? Math.min(1, doneNs / totalNs) : 0;
      const width = 30;
      const fill = Math.round(f * width);
      const s = (ns: number): string => (ns / 1e9).toFixed(3);
      stream.write(`\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(f * 100).toFixed(0).padStart(3)}%  ${s(doneNs)} / ${s(totalNs)} s simulated`);
      drawn = true;
    },
    finish() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}
