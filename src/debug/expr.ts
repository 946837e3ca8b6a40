/**
 * The debugger's small expression language (addresses, `print`, breakpoint
 * conditions), gdb-like: numbers (0x.., decimal), registers (`$eax`, or bare
 * `eax` where no symbol has that name; `rax` etc. alias the 32-bit ones),
 * symbols (`irt_isr`, `rtos:irt_isr`, `host:runqueues`), `*expr` (a dword
 * at that address), + - * & |, comparisons, && || and parentheses.
 */
import { DebugError } from './target.js';

export interface Value {
  value: number;
  /** the address space a symbol in the expression came from (the first one) */
  space?: string;
}

export interface Env {
  /** a register or event variable (eax, eip, reason, nr, ...) */
  variable(name: string): number | undefined;
  /** `name` or `space:name` */
  symbol(name: string): { value: number; space: string } | undefined;
  /** dword at an address of `space` (default: the current one) */
  deref(addr: number, space: string | undefined): number;
}

type Tok = { t: 'num'; v: number } | { t: 'id'; v: string } | { t: 'op'; v: string };

const OPS = ['||', '&&', '==', '!=', '<=', '>=', '<', '>', '+', '-', '*', '&', '|', '(', ')', '!'];

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) { i++; continue; }
    const num = /^(0x[0-9a-fA-F]+|\d+)/.exec(src.slice(i));
    if (num) { out.push({ t: 'num', v: Number(num[1]) }); i += num[1].length; continue; }
    const id = /^\$?[A-Za-z_.][\w.]*(:[A-Za-z_.][\w.]*)?/.exec(src.slice(i));
    if (id) { out.push({ t: 'id', v: id[0] }); i += id[0].length; continue; }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new DebugError(`unexpected '${c}' in expression '${src}'`);
    out.push({ t: 'op', v: op });
    i += op.length;
  }
  return out;
}

export function evaluate(src: string, env: Env): Value {
  const toks = tokenize(src);
  if (toks.length === 0) throw new DebugError('empty expression');
  let pos = 0;
  let space: string | undefined;
  const peek = (): Tok | undefined => toks[pos];
  const isOp = (v: string): boolean => peek()?.t === 'op' && peek()!.v === v;
  const expect = (v: string): void => {
    if (!isOp(v)) throw new DebugError(`expected '${v}' in '${src}'`);
    pos++;
  };
  const primary = (): number => {
    const t = toks[pos++];
    if (!t) throw new DebugError(`incomplete expression '${src}'`);
    if (t.t === 'num') return t.v;
    if (t.t === 'op') {
      if (t.v === '(') { const v = or(); expect(')'); return v; }
      if (t.v === '-') return -primary() | 0;
      if (t.v === '!') return primary() ? 0 : 1;
      if (t.v === '*') { const a = primary(); return env.deref(a, space); }
      throw new DebugError(`unexpected '${t.v}' in '${src}'`);
    }
    const name = t.v;
    if (name.startsWith('$')) {
      const v = env.variable(name.slice(1).toLowerCase());
      if (v === undefined) throw new DebugError(`no register or variable ${name}`);
      return v;
    }
    const sym = env.symbol(name);
    if (sym) { space ??= sym.space; return sym.value; }
    const v = env.variable(name.toLowerCase());
    if (v !== undefined) return v;
    throw new DebugError(`no symbol or register '${name}'`);
  };
  const sum = (): number => {
    let v = primary();
    for (;;) {
      if (isOp('+')) { pos++; v = (v + primary()) >>> 0; }
      else if (isOp('-')) { pos++; v = (v - primary()) >>> 0; }
      else if (isOp('*')) { pos++; v = Math.imul(v, primary()) >>> 0; }
      else if (isOp('&')) { pos++; v = (v & primary()) >>> 0; }
      else if (isOp('|')) { pos++; v = (v | primary()) >>> 0; }
      else return v;
    }
  };
  const cmp = (): number => {
    const a = sum();
    const t = peek();
    if (t?.t !== 'op' || !['==', '!=', '<', '>', '<=', '>='].includes(t.v)) return a;
    pos++;
    const b = sum();
    const x = a >>> 0;
    const y = b >>> 0;
    switch (t.v) {
      case '==': return x === y ? 1 : 0;
      case '!=': return x !== y ? 1 : 0;
      case '<': return x < y ? 1 : 0;
      case '>': return x > y ? 1 : 0;
      case '<=': return x <= y ? 1 : 0;
      default: return x >= y ? 1 : 0;
    }
  };
  const and = (): number => {
    let v = cmp();
    while (isOp('&&')) { pos++; const w = cmp(); v = v && w ? 1 : 0; }
    return v;
  };
  const or = (): number => {
    let v = and();
    while (isOp('||')) { pos++; const w = and(); v = v || w ? 1 : 0; }
    return v;
  };
  const value = or();
  if (pos !== toks.length) throw new DebugError(`unexpected '${(toks[pos] as { v: unknown }).v}' in '${src}'`);
  return { value: value >>> 0, space };
}
