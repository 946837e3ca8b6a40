/**
 * Expressions: parsing (precedence climbing over line tokens) and evaluation
 * with exact integer arithmetic (bigint, kept within 64 bits).
 *
 * Precedence, loosest first: || ; && ; | ; ^ ; & ; == != ; < <= > >= ;
 * << >> ; + - ; * / % ; unary - + ~ !. Comparisons and logical operators
 * give 1 or 0; / and % truncate toward zero; ~x is -x-1.
 *
 * During the first pass a label outside .text is known only relative to its
 * section (its section's address depends on the sizes before it); such values
 * carry `sec`. Differences of two labels of one section are plain numbers.
 */
import { CR_NAMES, REG16_NAMES, REG32_NAMES, REG8_NAMES } from '../isa/registers.js';
import { StmtError, type SrcLoc } from './errors.js';
import { locAt, type Token } from './lexer.js';

export type Expr =
  | { readonly t: 'num'; readonly v: bigint; readonly pos: number }
  | { readonly t: 'sym'; readonly name: string; readonly pos: number }
  | { readonly t: 'here'; readonly pos: number }
  | { readonly t: 'reg'; readonly size: 0 | 8 | 16 | 32; readonly num: number; readonly name: string; readonly pos: number }
  | { readonly t: 'un'; readonly op: string; readonly e: Expr; readonly pos: number }
  | { readonly t: 'bin'; readonly op: string; readonly l: Expr; readonly r: Expr; readonly pos: number };

/** Register by (case-insensitive) name. */
export function registerByName(name: string): { size: 0 | 8 | 16 | 32; num: number; name: string } | undefined {
  const n = name.toLowerCase();
  for (const [size, names] of [[32, REG32_NAMES], [16, REG16_NAMES], [8, REG8_NAMES], [0, CR_NAMES]] as const) {
    const i = (names as readonly string[]).indexOf(n);
    if (i >= 0) return { size, num: i, name: n };
  }
  return undefined;
}

/** Cursor over the tokens of one statement. */
export class TokenStream {
  i = 0;
  constructor(
    readonly tokens: readonly Token[],
    readonly loc: SrcLoc,
    /** offset of the end of the statement (for "at end" errors) */
    readonly end: number,
  ) {}
  peek(k = 0): Token | undefined {
    return this.tokens[this.i + k];
  }
  next(): Token | undefined {
    return this.tokens[this.i++];
  }
  atEnd(): boolean {
    return this.i >= this.tokens.length;
  }
  isOp(text: string, k = 0): boolean {
    const t = this.tokens[this.i + k];
    return t !== undefined && t.kind === 'op' && t.text === text;
  }
  /** Location of the current token (or the end of the statement). */
  here(): SrcLoc {
    return locAt(this.loc, this.peek()?.pos ?? this.end);
  }
  error(msg: string): StmtError {
    return new StmtError(this.here(), msg);
  }
  expectOp(text: string, what: string): void {
    if (!this.isOp(text)) throw this.error(`expected '${text}' ${what}, found ${describe(this.peek())}`);
    this.i++;
  }
}

export function describe(t: Token | undefined): string {
  return t === undefined ? 'end of line' : `'${t.text}'`;
}

const LEVELS: readonly (readonly string[])[] = [
  ['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '<=', '>', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%'],
];

/** Parse an expression; with `allowRegs` register names become 'reg' leaves (memory operands). */
export function parseExpr(ts: TokenStream, allowRegs = false): Expr {
  return level(ts, 0, allowRegs);
}

function level(ts: TokenStream, n: number, allowRegs: boolean): Expr {
  if (n === LEVELS.length) return unary(ts, allowRegs);
  let l = level(ts, n + 1, allowRegs);
  for (;;) {
    const t = ts.peek();
    if (!t || t.kind !== 'op' || !LEVELS[n].includes(t.text)) return l;
    ts.next();
    const r = level(ts, n + 1, allowRegs);
    l = { t: 'bin', op: t.text, l, r, pos: t.pos };
  }
}

function unary(ts: TokenStream, allowRegs: boolean): Expr {
  const t = ts.peek();
  if (t === undefined) throw ts.error('bad expression: missing operand at end of line, expected a number, symbol or (');
  if (t.kind === 'op' && ['-', '+', '~', '!'].includes(t.text)) {
    ts.next();
    const e = unary(ts, allowRegs);
    return t.text === '+' ? e : { t: 'un', op: t.text, e, pos: t.pos };
  }
  ts.next();
  if (t.kind === 'num') return { t: 'num', v: t.value!, pos: t.pos };
  if (t.kind === 'id') {
    if (t.text === '$') return { t: 'here', pos: t.pos };
    const reg = registerByName(t.text);
    if (reg) {
      if (!allowRegs) {
        throw new StmtError(locAt(ts.loc, t.pos), `register '${t.text}' cannot be used in an expression (registers are allowed only alone or inside [ ])`);
      }
      return { t: 'reg', ...reg, pos: t.pos };
    }
    return { t: 'sym', name: t.text, pos: t.pos };
  }
  if (t.kind === 'op' && t.text === '(') {
    const e = level(ts, 0, allowRegs);
    ts.expectOp(')', 'to close the parenthesis');
    return e;
  }
  throw new StmtError(locAt(ts.loc, t.pos), `bad expression: unexpected ${describe(t)}, expected a number, symbol or (`);
}

/** A value: absolute (`sec` null) or, in the first pass, relative to the start of section `sec`. */
export interface Val {
  readonly v: bigint;
  readonly sec: string | null;
}

export interface EvalCtx {
  readonly loc: SrcLoc;
  /** address of the current statement */
  readonly here: Val;
  /** value of a symbol; null = not known yet (first pass). May throw StmtError. */
  lookup(name: string, pos: number): Val | null;
}

const LIMIT = 1n << 64n;

/** Evaluate; null means "not known in this pass". */
export function evaluate(e: Expr, ctx: EvalCtx): Val | null {
  switch (e.t) {
    case 'num': return { v: e.v, sec: null };
    case 'here': return ctx.here;
    case 'sym': return ctx.lookup(e.name, e.pos);
    case 'reg':
      throw new StmtError(locAt(ctx.loc, e.pos), `register '${e.name}' cannot be used here`);
    case 'un': {
      const a = evaluate(e.e, ctx);
      if (a === null) return null;
      if (a.sec !== null) return null;
      const v = e.op === '-' ? -a.v : e.op === '~' ? -a.v - 1n : a.v === 0n ? 1n : 0n;
      return { v, sec: null };
    }
    case 'bin': {
      const a = evaluate(e.l, ctx);
      const b = evaluate(e.r, ctx);
      if (a === null || b === null) return null;
      return binary(e.op, a, b, ctx, e.pos);
    }
  }
}

function binary(op: string, a: Val, b: Val, ctx: EvalCtx, pos: number): Val | null {
  if (a.sec !== null || b.sec !== null) {
    if (op === '+' && (a.sec === null || b.sec === null)) return { v: a.v + b.v, sec: a.sec ?? b.sec };
    if (op === '-' && b.sec === null) return { v: a.v - b.v, sec: a.sec };
    if (a.sec !== b.sec) return null;
    if (op === '-') return { v: a.v - b.v, sec: null };
    if (!['==', '!=', '<', '<=', '>', '>='].includes(op)) return null;
  }
  const x = a.v;
  const y = b.v;
  const err = (m: string): StmtError => new StmtError(locAt(ctx.loc, pos), m);
  let v: bigint;
  switch (op) {
    case '+': v = x + y; break;
    case '-': v = x - y; break;
    case '*': v = x * y; break;
    case '/': case '%':
      if (y === 0n) throw err(`division by zero in expression, expected a non-zero divisor for '${op}'`);
      v = op === '/' ? x / y : x % y;
      break;
    case '<<': case '>>':
      if (y < 0n || y > 63n) throw err(`shift count ${y} out of range, expected 0..63`);
      v = op === '<<' ? x << y : x >> y;
      break;
    case '&': v = x & y; break;
    case '|': v = x | y; break;
    case '^': v = x ^ y; break;
    case '==': v = x === y ? 1n : 0n; break;
    case '!=': v = x !== y ? 1n : 0n; break;
    case '<': v = x < y ? 1n : 0n; break;
    case '<=': v = x <= y ? 1n : 0n; break;
    case '>': v = x > y ? 1n : 0n; break;
    case '>=': v = x >= y ? 1n : 0n; break;
    case '&&': v = x !== 0n && y !== 0n ? 1n : 0n; break;
    case '||': v = x !== 0n || y !== 0n ? 1n : 0n; break;
    default: throw err(`unknown operator '${op}'`);
  }
  if (v >= LIMIT || v <= -LIMIT) throw err(`value of expression does not fit in 64 bits`);
  return { v, sec: null };
}

/** Symbols referenced by an expression (for messages). */
export function symbolsOf(e: Expr, out: string[] = []): string[] {
  if (e.t === 'sym') out.push(e.name);
  else if (e.t === 'un') symbolsOf(e.e, out);
  else if (e.t === 'bin') {
    symbolsOf(e.l, out);
    symbolsOf(e.r, out);
  }
  return out;
}
