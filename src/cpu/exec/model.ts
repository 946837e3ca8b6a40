/** Modelling and tracing instructions (not x86). */
import { TraceKind } from '../../trace/trace.js';
import type { Cpu } from '../cpu.js';
import type { Handler } from '../dispatch.js';

/**
 * WORK: a modelling device for long computations. ECX units of `unit`
 * cycles each, REP-like: as many units as fit before the CPU's current run
 * limit (the next event or the end of its quantum) run at once, ECX counts
 * down, and while ECX > 0 the instruction re-executes, so interrupts are
 * taken between units and it resumes after them. Minutes of loaded
 * simulated time therefore cost a few steps each.
 */
function work(c: Cpu, unit: number): void {
  c.workRuns++;
  const n = c.regs[1] >>> 0;
  if (n === 0) {
    c.cycles += 1; // an empty REP still takes a cycle; also keeps every step ≥ 1 cycle (Cpu.stepOne)
    return;
  }
  const u = unit >>> 0 || 1;
  let k = Math.floor((c.runLimit - c.cycles) / u);
  if (k < 1) k = 1;
  if (k > n) k = n;
  c.cycles += k * u;
  c.regs[1] = n - k;
  if (n - k > 0) c.next = c.eip;
}

export const MODEL_HANDLERS: Record<string, Handler> = {
  'work.r': (c, r) => work(c, c.regs[r]),
  'work.i': (c, i) => work(c, i),
  'trace.tp': (c, id, r) => c.platform.trace.emit(c.cycles, c.id, TraceKind.Tracepoint, id, c.regs[r]),
};
