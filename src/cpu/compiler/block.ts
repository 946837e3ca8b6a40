/**
 * Building one compiled block: decode from a start EIP through the same
 * decoded-instruction slots the interpreter uses, then emit one JS function
 * (`new Function`) that calls the existing exec/ handlers directly with
 * constant operands. Each handler is a parameter of the generated factory,
 * so every call site is monomorphic and V8 can inline the handler; the
 * instruction semantics stay in exec/.
 *
 * Shape of a block (see README of this directory, cache.ts):
 *  - straight-line pure CPU/memory instructions;
 *  - direct JMP and CALL are followed (the block continues at the target);
 *  - RET after a CALL in the same block continues at the predicted return
 *    address behind a guard (c.next === predicted), else leaves;
 *  - a Jcc not going back to the block start is a side exit when taken;
 *  - a Jcc or JMP back to the block start makes the block a bounded JS loop
 *    that re-checks the cycle budget and the interrupt flag per iteration;
 *  - indirect JMP/CALL, an uncompilable instruction, the EPT window's end
 *    or MAX_BLOCK_INSNS end it.
 *
 * Exactness with the interpreter:
 *  - c.cycles is written before every instruction that may touch memory (a
 *    device outside RAM sees the time the interpreter would give it);
 *  - after such an instruction the block leaves if memory.blockBreak was
 *    set (a device was accessed — it may have raised an interrupt or moved
 *    the run limit — or a compiled block was invalidated: self-modifying
 *    code), so the interpreter takes the next boundary exactly;
 *  - a throw (CpuFault, VmExit) is caught to restore eip, next, cycles and
 *    instructions to the faulting instruction's, then rethrown.
 */
import { BY_OPCODE } from '../../isa/opcodes.js';
import { PAGE_SHIFT, PAGE_SIZE, type PhysicalMemory } from '../../machine/memory.js';
import type { Cpu } from '../cpu.js';
import { HANDLER_FNS, LENGTHS, decodeInto, type Handler } from '../dispatch.js';
import { carry, condition } from '../lazy-flags.js';
import { KINDS, Kind, MEMORY, THROWS } from './classify.js';
import { Emitter } from './special.js';

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
      memory.noteDecoded(p);
    }
    const idx = op - 1;
    const kind = KINDS[idx] as Kind;
    if (kind === Kind.Stop) break;
    const len = LENGTHS[idx];
    // an instruction reaching into the next page: that page must be watched for writes too
    const last = (p + len - 1) >>> PAGE_SHIFT;
    if (decoded[last] === undefined) decoded[last] = new Int32Array(PAGE_SIZE * 4);
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

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
const push = (to: string[], code: string): void => {
  if (code !== '') to.push(code);
};

/**
 * Loop blocks run their first WARM_CALLS calls one iteration each, so V8
 * has type feedback for the exit path before it compiles the loop (OSR):
 * optimised code without it deoptimises at every exit, and V8 keeps
 * re-entering that same OSR code.
 */
const WARM_CALLS = 12;

/**
 * Emit the block's function. Every way out — end of the block, a side exit
 * (memory.blockBreak, a taken Jcc, a mispredicted RET), a throw — only sets
 * the local `x` and leaves through one shared tail, which restores eip,
 * next, cycles and instructions from per-exit tables (and rethrows). So
 * side exits and the catch hold no property accesses of their own: V8 has
 * feedback for all of it from the first calls, and a rare exit never
 * deoptimises the block.
 *
 * Exit codes: 0 = normal end (cy and n already advanced past the pass);
 * 1 + i = left after instruction i; n + 1 + k = instruction k threw.
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

  // exit tables: EIP to continue at (-1: c.next), c.next to leave (-1: = eip), cycles and instructions to add
  const last = insns[n - 1];
  const xEip: number[] = [last.kind === Kind.Plain ? last.next : -1];
  const xNext: number[] = [-1];
  const xCycles: number[] = [0];
  const xInsns: number[] = [0];
  insns.forEach((ins, i) => {
    xEip.push(ins.kind === Kind.Plain ? ins.next : -1);
    xNext.push(-1);
    xCycles.push(pre[i + 1]);
    xInsns.push(i + 1);
  });
  insns.forEach((ins, k) => {
    xEip.push(ins.eip);
    xNext.push(ins.next);
    xCycles.push(pre[k]);
    xInsns.push(k);
  });

  const anyMemory = insns.some((i) => MEMORY[i.idx]);
  const anyThrow = insns.some((i) => THROWS[i.idx]);
  const body: string[] = [];
  const emitter = new Emitter();
  insns.forEach((ins, i) => {
    const e = BY_OPCODE[ins.idx];
    const mem = MEMORY[ins.idx] === 1;
    body.push(`// ${hex(ins.eip)}: ${e ? `${e.mnemonic}.${e.form.name}` : '?'}`);
    // flags must be in the CPU before anything that may throw (the fault sees them) or a handler
    const code = emitter.emit(i, ins.idx, ins.a, ins.b, ins.c);
    if (code === null) push(body, emitter.handler());
    else if (THROWS[ins.idx]) push(body, emitter.sync());
    if (THROWS[ins.idx]) body.push(`k = ${i};`);
    if (mem) body.push(`c.cycles = cy + ${pre[i]};`);
    // Jcc needs the fall-through preset, CALL pushes c.next
    if (ins.kind === Kind.Jcc || (e && e.mnemonic === 'call')) body.push(`c.next = ${ins.next};`);
    body.push(code ?? `${nameOf(ins.idx)}(c, ${ins.a}, ${ins.b}, ${ins.c});`);
    if (i === n - 1) return;
    const conds: string[] = [];
    if (mem) conds.push('M.blockBreak !== 0');
    if (ins.kind === Kind.Jcc) conds.push(`c.next !== ${ins.next}`);
    if (ins.kind === Kind.Ret) conds.push(`c.next !== ${ins.predicted}`);
    if (conds.length > 0) {
      push(body, emitter.sync());
      body.push(`if (${conds.join(' || ')}) { x = ${i + 1}; break body; }`);
    }
  });
  push(body, emitter.sync());
  body.push(`cy += ${total}; n += ${n};`);
  if (loop) {
    if (last.kind === Kind.Jcc) body.push(`if (c.next !== ${plan.eip}) break;`);
    body.push(`if (cy + ${preLast} >= lim || c.intrCheck) break;`);
  }

  const indent = (s: string[], by: string): string[] => s.map((l) => by + l);
  const lines: string[] = ['"use strict";'];
  if (loop) lines.push(`let warm = ${WARM_CALLS};`);
  lines.push(`return function block_${hex(plan.eip)}(c) {`);
  lines.push('  const R = c.regs;', '  let cy = c.cycles, n = 0, x = 0, k = 0, err = null;');
  if (loop) {
    // a local run limit: only a device access can move c.runLimit inside a block, and that leaves through blockBreak
    lines.push('  let lim = c.runLimit;', '  if (warm !== 0) { warm--; lim = 0; }');
  }
  if (anyMemory) lines.push('  M.blockBreak = 0;');
  const inner = [loop ? 'body: for (;;) {' : 'body: {', ...indent(body, '  '), '}'];
  if (anyThrow) lines.push('  try {', ...indent(inner, '    '), `  } catch (e) { err = e; x = ${n + 1} + k; }`);
  else lines.push(...indent(inner, '  '));
  lines.push(
    '  const xe = XE[x], xn = XN[x];',
    '  const e = xe >= 0 ? xe : c.next;',
    '  c.eip = e; c.next = xn >= 0 ? xn : e; c.cycles = cy + XC[x]; c.instructions += n + XI[x];',
    '  if (err !== null) throw err;',
    '};',
  );
  const source = lines.join('\n');
  const names = ['M', 'XE', 'XN', 'XC', 'XI', 'CARRY', 'COND', ...handlers.map((_, i) => `h${i}`)];
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function(...names, source) as (...args: unknown[]) => BlockFn;
  const fn = factory(memory, Float64Array.from(xEip), Float64Array.from(xNext), Float64Array.from(xCycles), Int32Array.from(xInsns), carry, condition, ...handlers);
  return { fn, source };
}
