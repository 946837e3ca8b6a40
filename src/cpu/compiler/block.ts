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
import { snippet } from './special.js';

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
    if (op === 0) op = decodeInto(memory.bytes, p, at, page, o);
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

/**
 * Emit the block's function. `memory` is passed in for the blockBreak
 * flag; handlers, and the per-instruction EIP / fall-through / cycle
 * prefix tables used only when something throws, are factory parameters.
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

  const anyMemory = insns.some((i) => MEMORY[i.idx]);
  const anyThrow = insns.some((i) => THROWS[i.idx]);
  // instructions retired before this point in the current pass, as an expression
  const retired = (count: number): string => (loop ? `n + ${count}` : `${count}`);
  const exit = (i: number, eipExpr: string): string =>
    `{ const e = ${eipExpr}; c.eip = e; c.next = e; c.cycles = cy + ${pre[i + 1]}; c.instructions += ${retired(i + 1)}; return; }`;

  const body: string[] = [];
  insns.forEach((ins, i) => {
    const e = BY_OPCODE[ins.idx];
    const mem = MEMORY[ins.idx] === 1;
    const isLast = i === n - 1;
    body.push(`// ${hex(ins.eip)}: ${e ? `${e.mnemonic}.${e.form.name}` : '?'}`);
    if (THROWS[ins.idx]) body.push(`k = ${i};`);
    if (mem) body.push(`c.cycles = cy + ${pre[i]};`);
    // Jcc needs the fall-through preset, CALL pushes c.next
    if (ins.kind === Kind.Jcc || (e && e.mnemonic === 'call')) body.push(`c.next = ${ins.next};`);
    body.push(snippet(ins.idx, ins.a, ins.b, ins.c) ?? `${nameOf(ins.idx)}(c, ${ins.a}, ${ins.b}, ${ins.c});`);
    if (isLast) return;
    const conds: string[] = [];
    if (mem) conds.push('M.blockBreak !== 0');
    if (ins.kind === Kind.Jcc) conds.push(`c.next !== ${ins.next}`);
    if (ins.kind === Kind.Ret) conds.push(`c.next !== ${ins.predicted}`);
    if (conds.length > 0) body.push(`if (${conds.join(' || ')}) ${exit(i, ins.kind === Kind.Plain ? String(ins.next) : 'c.next')}`);
  });

  const last = insns[n - 1];
  const lines: string[] = ['"use strict";', `return function block_${hex(plan.eip)}(c) {`];
  lines.push('  const R = c.regs;', '  let cy = c.cycles;');
  if (anyThrow) lines.push('  let k = 0;');
  if (loop) lines.push('  let n = 0;');
  if (anyMemory) lines.push('  M.blockBreak = 0;');
  const indent = (s: string[], by: string): string[] => s.map((l) => by + l);
  const endEip = last.kind === Kind.Plain ? String(last.next) : 'c.next';
  let inner: string[];
  if (loop) {
    inner = [
      'for (;;) {',
      ...indent(body, '  '),
      `  cy += ${total}; n += ${n};`,
      ...(last.kind === Kind.Jcc ? [`  if (c.next !== ${plan.eip}) break;`] : []),
      `  if (cy + ${preLast} >= c.runLimit || c.intrCheck) break;`,
      '}',
      'c.cycles = cy; c.instructions += n; c.eip = c.next;',
    ];
  } else {
    inner = [...body, `{ const e = ${endEip}; c.eip = e; c.next = e; }`, `c.cycles = cy + ${total}; c.instructions += ${n};`];
  }
  if (anyThrow) {
    lines.push('  try {', ...indent(inner, '    '), '  } catch (err) {');
    lines.push(`    c.eip = EIPS[k]; c.next = NEXTS[k]; c.cycles = cy + PRE[k]; c.instructions += ${loop ? 'n + k' : 'k'};`);
    lines.push('    throw err;', '  }');
  } else {
    lines.push(...indent(inner, '  '));
  }
  lines.push('};');
  const source = lines.join('\n');
  const names = ['M', 'EIPS', 'NEXTS', 'PRE', 'CARRY', 'COND', ...handlers.map((_, i) => `h${i}`)];
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function(...names, source) as (...args: unknown[]) => BlockFn;
  const fn = factory(memory, insns.map((i) => i.eip), insns.map((i) => i.next), pre, carry, condition, ...handlers);
  return { fn, source };
}
