/**
 * Building one compiled block: decode from a start EIP through the same
 * decoded-instruction slots the interpreter uses, then emit one JS function
 * (`new Function`) that calls the existing exec/ handlers directly with
 * constant operands. Each handler is a parameter of the generated factory,
 * so every call site is monomorphic and V8 can inline the handler; the
 * instruction semantics stay in exec/ — except the few common forms
 * special.ts emits inline, each checked against its handler by test.
 *
 * Shape of a block:
 *  - straight-line pure CPU/memory instructions (classify.ts);
 *  - direct JMP and CALL are followed (the block continues at the target);
 *  - RET after a CALL in the same block continues at the predicted return
 *    address behind a guard (the popped EIP === predicted), else leaves;
 *  - a Jcc not going back to the block start is a side exit when taken;
 *  - a Jcc or JMP back to the block start makes the block a bounded JS loop
 *    that re-checks the cycle budget and the interrupt flag per iteration;
 *  - indirect JMP/CALL, an uncompilable instruction, the EPT window's end
 *    or MAX_BLOCK_INSNS end it.
 *
 * Exactness with the interpreter (cache.ts decides when a block may run at
 * all: no interrupt check pending, cycles + cost before the last
 * instruction < runLimit, its code inside the current window):
 *  - c.cycles is written before every instruction that may reach a device
 *    (for the inline loads/stores: only on their way out of RAM), so a
 *    device sees the time the interpreter would give it;
 *  - after such an access the block leaves if memory.blockBreak was set (a
 *    device was accessed — it may have raised an interrupt or moved the run
 *    limit — or a compiled block was invalidated: self-modifying code), so
 *    the interpreter takes the next boundary exactly;
 *  - lazy flags are stored before anything that can observe them;
 *  - a throw (CpuFault, VmExit) is caught to restore eip, next, cycles and
 *    instructions to the faulting instruction's, then rethrown.
 */
import { BY_OPCODE } from '../../isa/opcodes.js';
import { PAGE_SHIFT, PAGE_SIZE, type PhysicalMemory } from '../../machine/memory.js';
import type { Cpu } from '../cpu.js';
import { HANDLER_FNS, LENGTHS, decodeInto, type Handler } from '../dispatch.js';
import { carry, condition } from '../lazy-flags.js';
import { KINDS, Kind, MEMORY, READ_ONLY, THROWS } from './classify.js';
import { Emitter, GUARDED, LOAD_FLAGS, STORE_FLAGS } from './special.js';

/** Longest block, in instructions (bounds compile time and the generated function's size). */
export const MAX_BLOCK_INSNS = 64;
/** The interpreter decodes from RAM slots only when EIP + 16 fits in the window; blocks follow the same rule. */
const FETCH_WINDOW = 16;

export interface Insn {
  idx: number;
  a: number;
  b: number;
  c: number;
  eip: number;
  /** fall-through EIP (what the interpreter puts in c.next before the handler) */
  next: number;
  /** host-physical address of the first byte */
  p: number;
  len: number;
  cost: number;
  kind: Kind;
  /** for a RET followed inside the block: the return address it must produce */
  predicted?: number;
}

export interface Plan {
  eip: number;
  insns: Insn[];
  /** the last instruction jumps back to the start (Jcc or JMP): compile as a loop */
  loop: boolean;
}

/** Decode the block starting at `eip` (host-physical p) as the interpreter would see it now. */
export function planBlock(cpu: Cpu, memory: PhysicalMemory, costs: Int32Array, eip: number): Plan {
  const memBase = cpu.memBase, memLimit = cpu.memLimit;
  const decoded = memory.decoded;
  const insns: Insn[] = [];
  const visited = new Set<number>();
  const returns: number[] = [];
  let loop = false;
  let at = eip >>> 0;
  const start = at;
  // may execution continue at `to` inside this block?
  const canContinue = (to: number): boolean => to >= 0 && to !== start && !visited.has(to) && to + FETCH_WINDOW <= memLimit;
  while (insns.length < MAX_BLOCK_INSNS && at + FETCH_WINDOW <= memLimit) {
    const p = memBase + at;
    let page = decoded[p >>> PAGE_SHIFT];
    if (page === undefined) page = decoded[p >>> PAGE_SHIFT] = new Int32Array(PAGE_SIZE * 4);
    const o = (p & (PAGE_SIZE - 1)) << 2;
    let op = page[o];
    if (op === 0) {
      op = decodeInto(memory.bytes, p, at, page, o);
      memory.noteDecoded(p); // writes to these bytes (also into the next page) now reach invalidate()
    }
    const idx = op - 1;
    const kind = KINDS[idx] as Kind;
    if (kind === Kind.Stop) break;
    const len = LENGTHS[idx];
    const ins: Insn = { idx, a: page[o + 1], b: page[o + 2], c: page[o + 3], eip: at, next: (at + len) >>> 0, p, len, cost: costs[idx], kind };
    insns.push(ins);
    visited.add(at);
    if (kind === Kind.Plain) {
      at = ins.next;
      continue;
    }
    if (kind === Kind.Jcc) {
      if (ins.a === start) { loop = true; break; }
      if (!canContinue(ins.next)) break;
      at = ins.next; // taken: side exit
      continue;
    }
    if (kind === Kind.JmpRel) {
      if (ins.a === start) { loop = true; break; }
      if (!canContinue(ins.a)) break;
      at = ins.a;
      continue;
    }
    if (kind === Kind.CallRel) {
      if (!canContinue(ins.a)) break;
      returns.push(ins.next);
      at = ins.a;
      continue;
    }
    if (kind === Kind.Ret && returns.length > 0) {
      const ra = returns.pop()!;
      if (!canContinue(ra)) break;
      ins.predicted = ra;
      at = ra;
      continue;
    }
    break; // RET without a known return address, indirect JMP/CALL
  }
  return { eip: start, insns, loop };
}

export type BlockFn = (c: Cpu) => void;


/**
 * The spin fast-forward, in the first two passes of a loop block whose
 * instructions only read memory (classify.ts READ_ONLY), peeled off the
 * loop so that the loop itself costs nothing more (a counting loop never
 * reaches a fixed point). After the first
 * pass the registers and flags are remembered; if the second pass leaves
 * them identical, every further pass is identical too: nothing else runs
 * during a CPU's time slice (the other CPUs wait, an event ends the slice,
 * see machine.ts), so the memory the loop reads cannot change, and the
 * pass has no effect but on cycles and the instruction count. The passes
 * the loop would still run before its budget check fails — ceil((lim - cy
 * - preLast) / total) — are then skipped but one, in O(1): the block and
 * the interpreter take it from there exactly as if it had iterated, so
 * the CPU stops (and takes an interrupt) at the same instruction.
 * c.spinSlice records that this CPU's time slice ended on such a fixed
 * point (machine.ts may then run it up to the next event in one slice).
 */
function spinCheck(total: number, preLast: number, n: number): [after1: string[], after2: string[]] {
  // the state after the first pass goes to SP (the block's own scratch array); the skipped instructions go to
  // nf, so that n stays a small integer
  const state = ['R[0]', 'R[1]', 'R[2]', 'R[3]', 'R[4]', 'R[5]', 'R[6]', 'R[7]', 'fo', 'fa', 'fb', 'fr', 'fx'];
  const same = state.map((v, i) => `${v} === SP[${i}]`).join(' && ');
  return [
    [state.map((v, i) => `SP[${i}] = ${v};`).join(' ')],
    [
      `if (${same}) {`,
      `  const ff = Math.ceil((lim - cy - ${preLast}) / ${total}) - 1;`,
      `  if (ff > 0 && ff < 1e15) { cy += ff * ${total}; nf += ff * ${n}; }`,
      '  c.spinSlice = c.slices;',
      '}',
    ],
  ];
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/**
 * Loop blocks run their first WARM_CALLS calls one iteration each, so V8
 * has type feedback for the exit path before it compiles the loop (OSR):
 * optimised code without it deoptimises at every exit, and V8 keeps
 * re-entering that same OSR code.
 */
const WARM_CALLS = 12;

type Factory = (...args: unknown[]) => BlockFn;
/**
 * Factories by source text, shared by all machines in the process: the
 * same code compiled again (another machine, a block dropped and rebuilt)
 * reuses the function literal, so V8's feedback and optimised code carry
 * over and `new Function` is not paid twice. Bounded (oldest dropped first).
 */
const FACTORIES = new Map<string, Factory>();
const MAX_FACTORIES = 4096;

function factoryFor(source: string, handlers: number): Factory {
  let f = FACTORIES.get(source);
  if (f === undefined) {
    const names = ['M', 'XE', 'XN', 'XC', 'XI', 'CARRY', 'COND', 'SP', ...Array.from({ length: handlers }, (_, i) => `h${i}`)];
    f = new Function(...names, source) as Factory;
    if (FACTORIES.size >= MAX_FACTORIES) FACTORIES.delete(FACTORIES.keys().next().value!);
    FACTORIES.set(source, f);
  }
  return f;
}

/**
 * Emit the block's function. Every way out — end of the block, a side exit
 * (memory.blockBreak after a handler's memory access, a taken Jcc, a
 * mispredicted RET), a bail-out before a memory access the inline path
 * does not handle, a throw — only sets the local `x` and leaves through one
 * shared tail, which restores eip, next, cycles and instructions from
 * per-exit tables, stores the flags (and rethrows). So exits hold no
 * property access of their own: V8 has feedback for all of it from the
 * first calls, and a rare exit never deoptimises the block.
 *
 * The lazy flags live in locals fo..fx: copied in at entry, stored around
 * handler calls (fs = 0 while the CPU's copy is the true one: a handler
 * that throws may have changed it) and at the tail.
 *
 * Exit codes: 0 = normal end (cy and n already advanced past the pass);
 * 1 + i = left after instruction i; n + 1 + k = instruction k threw;
 * 2n + 1 + i = left before instruction i (the interpreter executes it).
 */
export function generate(plan: Plan, memory: PhysicalMemory): { fn: BlockFn; source: string } {
  const { insns, loop } = plan;
  const n = insns.length;
  const pre: number[] = [0];
  for (const ins of insns) pre.push(pre[pre.length - 1] + ins.cost);
  const total = pre[n];
  const preLast = pre[n - 1];

  const handlers: Handler[] = [];
  const handlerName = new Map<Handler, string>();
  const nameOf = (idx: number): string => {
    const h = HANDLER_FNS[idx];
    let name = handlerName.get(h);
    if (name === undefined) {
      name = `h${handlers.length}`;
      handlers.push(h);
      handlerName.set(h, name);
    }
    return name;
  };

  // exit tables: EIP to continue at (-1: nx, where the last control transfer went), c.next to leave (-1: = eip), cycles and instructions to add
  const last = insns[n - 1];
  const xEip: number[] = [last.kind === Kind.Plain ? last.next : -1];
  const xNext: number[] = [-1];
  const xCycles: number[] = [0];
  const xInsns: number[] = [0];
  const exitRow = (eip: number, next: number, cycles: number, count: number): void => {
    xEip.push(eip);
    xNext.push(next);
    xCycles.push(cycles);
    xInsns.push(count);
  };
  insns.forEach((ins, i) => exitRow(ins.kind === Kind.Plain ? ins.next : -1, -1, pre[i + 1], i + 1));
  insns.forEach((ins, k) => exitRow(ins.eip, ins.next, pre[k], k));
  insns.forEach((ins, i) => exitRow(ins.eip, -1, pre[i], i));
  const FAULT = n + 1, BEFORE = 2 * n + 1;

  let anyMemoryHandler = false, anyThrow = false;
  const body: string[] = [];
  const emitter = new Emitter();
  insns.forEach((ins, i) => {
    const e = BY_OPCODE[ins.idx];
    const key = e ? `${e.mnemonic}.${e.form.name}` : '';
    const isLast = i === n - 1;
    body.push(`// ${hex(ins.eip)}: ${key || '?'}`);
    if (GUARDED.has(key)) {
      // a memory access inline for RAM; anything else leaves before the instruction
      body.push(emitter.emit(i, ins.idx, ins.a, ins.b, ins.c, { bail: `{ x = ${BEFORE + i}; break body; }`, next: ins.next })!);
      // a RET followed inside the block: leave if it did not return where predicted
      if (ins.kind === Kind.Ret && !isLast) body.push(`if (nx !== ${ins.predicted}) { x = ${i + 1}; break body; }`);
      return;
    }
    const code = emitter.emit(i, ins.idx, ins.a, ins.b, ins.c);
    const mem = code === null && MEMORY[ins.idx] === 1;
    // Jcc needs the fall-through preset; a CALL handler pushes c.next
    if (ins.kind === Kind.Jcc) body.push(`nx = ${ins.next};`);
    else if (code === null && e && e.mnemonic === 'call') body.push(`c.next = ${ins.next};`);
    if (code !== null) body.push(code);
    else {
      // a handler: the CPU holds the flags while it runs; it may read memory, fault, reach a device
      emitter.handler();
      body.push(`${STORE_FLAGS} fs = 0;`);
      if (THROWS[ins.idx]) {
        anyThrow = true;
        body.push(`k = ${i};`);
      }
      if (mem) {
        anyMemoryHandler = true;
        body.push(`c.cycles = cy + ${pre[i]};`); // a device sees the interpreter's time
      }
      body.push(`${nameOf(ins.idx)}(c, ${ins.a}, ${ins.b}, ${ins.c});`, `${LOAD_FLAGS} fs = 1;`);
      if (ins.kind !== Kind.Plain) body.push('nx = c.next;'); // a branch handler (JMP, indirect JMP/CALL) set it
    }
    if (isLast) return;
    const conds: string[] = [];
    if (mem) conds.push('M.blockBreak !== 0');
    if (ins.kind === Kind.Jcc) conds.push(`nx !== ${ins.next}`);
    if (conds.length > 0) body.push(`if (${conds.join(' || ')}) { x = ${i + 1}; break body; }`);
  });
  body.push(`cy += ${total}; n += ${n};`);
  // a loop that only reads memory (a spin-wait): once a pass leaves registers and flags as it found them, every later pass does too
  const spin = loop && insns.every((ins) => READ_ONLY[ins.idx] === 1);
  const pass = [...body];
  if (loop) {
    if (last.kind === Kind.Jcc) body.push(`if (nx !== ${plan.eip}) break;`);
    body.push(`if (cy + ${preLast} >= lim || c.intrCheck) break;`);
  }

  const indent = (s: string[], by: string): string[] => s.map((l) => by + l);
  const lines: string[] = ['"use strict";'];
  if (loop) lines.push(`let warm = ${WARM_CALLS};`);
  lines.push(`return function block_${hex(plan.eip)}(c) {`);
  lines.push(
    '  const R = c.regs, MB = c.memBase, ML = c.memLimit, I32 = M.i32, WL = M.watchLo, WH = M.watchHi;',
    '  let cy = c.cycles, n = 0, x = 0, k = 0, nx = 0, err = null;',
    '  let fo = c.fOp, fa = c.fA, fb = c.fB, fr = c.fRes, fx = c.fAux, fs = 1;',
  );
  if (spin) lines.push('  let nf = 0;');
  if (loop) {
    // a local run limit: only a device access can move c.runLimit inside a block, and that leaves through blockBreak
    lines.push('  let lim = c.runLimit;', '  if (warm !== 0) { warm--; lim = 0; }');
  }
  if (anyMemoryHandler) lines.push('  M.blockBreak = 0;');
  let inner = [loop ? 'body: for (;;) {' : 'body: {', ...indent(body, '  '), '}'];
  if (spin) {
    // the first two passes peeled off, with the fixed-point check between them: the loop itself stays as it was
    const peeled = (check: string[]): string[] => [
      '{',
      ...indent(pass, '  '),
      ...(last.kind === Kind.Jcc ? [`  if (nx !== ${plan.eip}) break body;`] : []),
      ...indent(check, '  '),
      `  if (cy + ${preLast} >= lim || c.intrCheck) break body;`,
      '}',
    ];
    const [first, second] = spinCheck(total, preLast, n);
    inner = ['body: {', ...indent(peeled(first), '  '), ...indent(peeled(second), '  '), '  for (;;) {', ...indent(body, '    '), '  }', '}'];
  }
  if (anyThrow) lines.push('  try {', ...indent(inner, '    '), `  } catch (e) { err = e; x = ${FAULT} + k; }`);
  else lines.push(...indent(inner, '  '));
  lines.push(
    `  if (fs !== 0) { ${STORE_FLAGS} }`,
    '  const xe = XE[x], xn = XN[x];',
    '  const e = xe >= 0 ? xe : nx;',
    `  c.eip = e; c.next = xn >= 0 ? xn : e; c.cycles = cy + XC[x]; c.instructions += n + XI[x]${spin ? ' + nf' : ''};`,
    '  if (err !== null) throw err;',
    '};',
  );
  const source = lines.join('\n');
  const factory = factoryFor(source, handlers.length);
  const fn = factory(memory, Float64Array.from(xEip), Float64Array.from(xNext), Float64Array.from(xCycles), Int32Array.from(xInsns), carry, condition, new Float64Array(13), ...handlers);
  return { fn, source };
}
