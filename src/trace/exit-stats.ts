/**
 * VM-exit statistics from the architectural trace, in the layout of
 * `perf kvm stat report`: per exit reason the number of exits, their share,
 * and the time spent in the host from the exit to the next VM entry on
 * that CPU (the exit's "handling time").
 */
import { exitReasonName } from '../vmx/exit-reasons.js';
import { TraceKind, type Trace } from './trace.js';

interface ReasonStats {
  count: number;
  /** exits followed by a VM entry (the last one of a run may not be) */
  handled: number;
  total: number;
  min: number;
  max: number;
}

export class ExitStats {
  readonly byReason = new Map<number, ReasonStats>();
  private pending = new Map<number, { reason: number; time: number }>();

  constructor(trace: Trace) {
    trace.on((e) => {
      if (e.kind === TraceKind.VmExit) {
        this.pending.set(e.cpu, { reason: e.a >>> 0, time: e.time });
        const s = this.byReason.get(e.a >>> 0) ?? { count: 0, handled: 0, total: 0, min: Infinity, max: 0 };
        s.count++;
        this.byReason.set(e.a >>> 0, s);
      } else if (e.kind === TraceKind.VmEntry) {
        const p = this.pending.get(e.cpu);
        if (!p) return;
        this.pending.delete(e.cpu);
        const s = this.byReason.get(p.reason)!;
        const dt = e.time - p.time;
        s.handled++;
        s.total += dt;
        s.min = Math.min(s.min, dt);
        s.max = Math.max(s.max, dt);
      }
    });
  }

  get total(): number {
    let n = 0;
    for (const s of this.byReason.values()) n += s.count;
    return n;
  }

  /** Counts by reason name (for JSON results and golden files). */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.byReason.entries()].sort((a, b) => a[0] - b[0]).map(([r, s]) => [exitReasonName(r), s.count]));
  }

  /** `perf kvm stat report`-style table; times in microseconds at `hz`. */
  format(hz: number): string {
    const us = (cycles: number): string => `${((cycles / hz) * 1e6).toFixed(2)}us`;
    const total = this.total;
    const time = [...this.byReason.values()].reduce((a, s) => a + s.total, 0);
    const rows = [...this.byReason.entries()].sort((a, b) => b[1].count - a[1].count || a[0] - b[0]);
    const lines = [
      `${'VM-EXIT'.padStart(22)}${'Samples'.padStart(10)}${'Samples%'.padStart(10)}${'Time%'.padStart(10)}${'Min Time'.padStart(12)}${'Max Time'.padStart(12)}${'Avg time'.padStart(12)}`,
    ];
    for (const [r, s] of rows) {
      const handled = s.min !== Infinity;
      lines.push(
        `${exitReasonName(r).padStart(22)}${String(s.count).padStart(10)}${((100 * s.count) / total).toFixed(2).padStart(9)}%` +
          `${(time ? (100 * s.total) / time : 0).toFixed(2).padStart(9)}%${(handled ? us(s.min) : '-').padStart(12)}` +
          `${(handled ? us(s.max) : '-').padStart(12)}${(handled ? us(s.total / s.handled) : '-').padStart(12)}`,
      );
    }
    lines.push('', `Total Samples:${total}, Total events handled time:${us(time)}.`);
    return lines.join('\n');
  }
}
