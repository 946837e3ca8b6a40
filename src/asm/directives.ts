/**
 * Assembler directives (everything starting with `.` except labels,
 * conditionals and macro definitions, which parser.ts handles).
 */
import * as path from 'node:path';
import { BY_MNEMONIC } from '../isa/opcodes.js';
import { StmtError, type SrcLoc } from './errors.js';
import { parseExpr, TokenStream, describe, type Expr } from './expr.js';
import { locAt, splitCommas, type Token } from './lexer.js';
import type { SrcLine } from './macros.js';
import type { Pass } from './parser.js';
import { SECTIONS, type SectionName } from './section.js';

const DATA_SIZES: Record<string, number> = { '.byte': 1, '.word': 2, '.long': 4, '.dword': 4, '.quad': 8 };

export const DIRECTIVES: ReadonlySet<string> = new Set([
  '.section', ...SECTIONS, ...Object.keys(DATA_SIZES), '.ascii', '.asciz', '.space', '.zero', '.align',
  '.global', '.globl', '.entry', '.base', '.include', '.struct', '.field', '.ends', '.equ', '.set', '.error',
]);

/** Opcode used to pad .text (the table's one-byte `nop`). */
const PAD_OPCODE: number = BY_MNEMONIC.get('nop')?.find((e) => e.form.length === 1)?.opcode ?? 0;

const MAX_SPACE = 1 << 28;
const MAX_ALIGN = 1 << 20;

export interface DirCtx {
  /** the line (column 1) */
  readonly loc: SrcLoc;
  /** the directive itself */
  readonly at: SrcLoc;
  /** end offset of the statement text */
  readonly end: number;
  readonly seq: number;
  readonly depth: number;
  readonly text: string;
}

/** Split a source text into lines. */
export function splitLines(text: string, file: string): SrcLine[] {
  return text.split(/\r?\n/).map((t, i) => ({ text: t, file, line: i + 1 }));
}

export function directive(p: Pass, name: string, args: Token[], c: DirCtx): void {
  const groups = splitCommas(args);
  const expr = (g: Token[] | undefined, what: string): Expr => {
    if (!g || g.length === 0) throw new StmtError(c.at, `${name} expects ${what}`);
    const ts = new TokenStream(g, c.loc, c.end);
    const e = parseExpr(ts);
    if (!ts.atEnd()) throw ts.error(`unexpected ${describe(ts.peek())}, expected ',' or end of line`);
    return e;
  };
  const ident = (g: Token[] | undefined, what: string): Token => {
    if (!g || g.length !== 1 || g[0].kind !== 'id') {
      throw new StmtError(g?.[0] ? locAt(c.loc, g[0].pos) : c.at, `${name} expects ${what}`);
    }
    return g[0];
  };
  const count = (n: number, what: string): void => {
    if (groups.length !== n) throw new StmtError(c.at, `${name} expects ${what}`);
  };
  const noBss = (): void => {
    if (p.cur === '.bss') throw new StmtError(c.at, `${name} in .bss; expected only .space, .zero or .align there`);
  };
  const sec = p.section();
  const store = p.pass === 2;

  if ((SECTIONS as readonly string[]).includes(name) || name === '.section') {
    let s = name;
    if (name === '.section') {
      count(1, 'a section name: .text, .rodata, .data or .bss');
      s = ident(groups[0], 'a section name: .text, .rodata, .data or .bss').text;
      if (!(SECTIONS as readonly string[]).includes(s)) {
        throw new StmtError(locAt(c.loc, groups[0][0].pos), `unknown section '${s}', expected .text, .rodata, .data or .bss`);
      }
    } else if (groups.length) throw new StmtError(c.at, `${name} takes no operands`);
    p.cur = s as SectionName;
    return;
  }

  switch (name) {
    case '.byte': case '.word': case '.long': case '.dword': case '.quad': {
      const n = DATA_SIZES[name];
      if (!groups.length) throw new StmtError(c.at, `${name} expects one or more values`);
      noBss();
      p.contentSeen = true;
      const bits = BigInt(n * 8);
      const lo = n === 8 ? -(1n << 63n) : -(1n << (bits - 1n));
      const hi = (1n << bits) - 1n;
      const exprs = groups.map((g) => expr(g, 'a value'));
      let first: unknown = null;
      for (const e of exprs) {
        let v = 0n;
        if (store) {
          try {
            v = p.evaluate(e, c.loc)?.v ?? 0n;
            if (v < lo || v > hi) throw new StmtError(locAt(c.loc, e.pos), `value ${v} out of range for ${name} (${lo}..${hi})`);
          } catch (err) {
            first ??= err;
            v = 0n;
          }
        }
        const u = BigInt.asUintN(n * 8, v);
        const bytes: number[] = [];
        for (let i = 0; i < n; i++) bytes.push(Number((u >> BigInt(8 * i)) & 0xffn));
        sec.push(bytes, store);
      }
      if (first) throw first;
      return;
    }
    case '.ascii': case '.asciz': {
      if (!groups.length) throw new StmtError(c.at, `${name} expects one or more strings`);
      noBss();
      p.contentSeen = true;
      for (const g of groups) {
        if (g.length !== 1 || g[0].kind !== 'str') throw new StmtError(locAt(c.loc, g[0]?.pos ?? c.end), `${name} expects a quoted string`);
        sec.push(name === '.asciz' ? [...g[0].bytes!, 0] : g[0].bytes!, store);
      }
      return;
    }
    case '.space': case '.zero': {
      if (groups.length < 1 || groups.length > (name === '.space' ? 2 : 1)) {
        throw new StmtError(c.at, `${name} expects ${name === '.space' ? 'a size and an optional fill byte' : 'a size'}`);
      }
      const n = p.known(expr(groups[0], 'a size'), c.at, c.seq, `${name} size`);
      if (n < 0n || n > BigInt(MAX_SPACE)) throw new StmtError(c.at, `${name} size ${n} out of range, expected 0..${MAX_SPACE}`);
      p.contentSeen = true;
      let fill = 0n;
      if (groups[1]) {
        const fe = expr(groups[1], 'a fill byte');
        if (store) fill = p.evaluate(fe, c.loc)?.v ?? 0n;
        if (fill < -128n || fill > 255n) throw new StmtError(locAt(c.loc, fe.pos), `fill value ${fill} out of range, expected -128..255`);
        if (fill !== 0n) noBss();
      }
      sec.fill(Number(n), Number(fill), store && p.cur !== '.bss');
      return;
    }
    case '.align': {
      count(1, 'an alignment in bytes (a power of two)');
      const n = p.known(expr(groups[0], 'an alignment'), c.at, c.seq, '.align');
      if (n < 1n || n > BigInt(MAX_ALIGN) || (n & (n - 1n)) !== 0n) {
        throw new StmtError(c.at, `.align ${n} is not a power of two, expected 1, 2, 4, ... ${MAX_ALIGN}`);
      }
      const a = Number(n);
      if (a > sec.maxAlign) {
        sec.maxAlign = a;
        sec.alignLoc = c.at;
      }
      sec.fill((a - (sec.size % a)) % a, p.cur === '.text' ? PAD_OPCODE : 0, store && p.cur !== '.bss');
      return;
    }
    case '.global': case '.globl':
      if (!groups.length) throw new StmtError(c.at, `${name} expects one or more symbol names`);
      for (const g of groups) {
        const full = p.fullName(ident(g, 'symbol names').text, p.scope);
        if (!p.globals.has(full)) p.globals.set(full, locAt(c.loc, g[0].pos));
      }
      return;
    case '.entry':
      count(1, 'the entry symbol');
      if (p.entry) throw new StmtError(c.at, `duplicate .entry (first at ${p.entry.loc.file}:${p.entry.loc.line})`);
      p.entry = { expr: expr(groups[0], 'the entry symbol'), scope: p.scope, loc: c.at, here: p.here() };
      return;
    case '.base': {
      count(1, 'a load address');
      const v = p.known(expr(groups[0], 'a load address'), c.at, c.seq, '.base address');
      if (p.contentSeen) throw new StmtError(c.at, '.base after code, data or labels; expected it before any of them');
      if (v < 0n || v >= 1n << 32n) throw new StmtError(c.at, `.base ${v} out of range, expected a 32-bit address`);
      if (p.shared.opts.base === undefined) p.base = Number(v);
      return;
    }
    case '.include': {
      if (groups.length !== 1 || groups[0].length !== 1 || groups[0][0].kind !== 'str') {
        throw new StmtError(c.at, '.include expects a quoted file name');
      }
      const rel = new TextDecoder().decode(new Uint8Array(groups[0][0].bytes!));
      const file = path.isAbsolute(rel) ? rel : path.join(path.dirname(c.loc.file), rel);
      if (p.includeStack.includes(file)) {
        const chain = [...p.includeStack.slice(p.includeStack.indexOf(file)), file].join(' -> ');
        throw new StmtError(c.at, `include cycle: ${chain}`);
      }
      let text: string;
      try {
        text = p.shared.opts.readFile(file);
      } catch {
        throw new StmtError(c.at, `include file '${rel}' not found (looked for ${file})`);
      }
      p.includeStack.push(file);
      try {
        p.processLines(splitLines(text, file), c.depth);
      } finally {
        p.includeStack.pop();
      }
      return;
    }
    case '.struct': {
      count(1, 'a structure name');
      if (p.struct) throw new StmtError(c.at, `.struct inside .struct ${p.struct.name}; expected .ends first`);
      p.struct = { name: ident(groups[0], 'a structure name').text, off: 0n, loc: c.at };
      return;
    }
    case '.field': {
      if (!p.struct) throw new StmtError(c.at, '.field outside .struct; expected .struct NAME first');
      count(2, 'a field name and a size: .field NAME, SIZE');
      const f = ident(groups[0], 'a field name and a size: .field NAME, SIZE');
      const size = p.known(expr(groups[1], 'a size'), c.at, c.seq, '.field size');
      if (size < 0n) throw new StmtError(c.at, `.field size ${size} is negative, expected 0 or more`);
      const full = `${p.struct.name}.${f.text}`;
      p.define(full, { kind: 'abs', val: p.struct.off, loc: locAt(c.loc, f.pos) }, locAt(c.loc, f.pos));
      p.struct.off += size;
      return;
    }
    case '.ends': {
      if (!p.struct) throw new StmtError(c.at, '.ends without .struct');
      const s = p.struct;
      p.struct = null;
      p.define(`${s.name}.size`, { kind: 'abs', val: s.off, loc: s.loc }, c.at);
      return;
    }
    case '.equ': case '.set': {
      count(2, 'a name and a value: NAME, expr');
      const n = ident(groups[0], 'a name and a value: NAME, expr');
      const full = p.fullName(n.text, p.scope);
      const e = expr(groups[1], 'a value');
      const at = locAt(c.loc, n.pos);
      if (name === '.set') {
        p.define(full, { kind: 'set', val: p.evaluate(e, c.loc), loc: at }, at);
      } else {
        p.define(full, { kind: 'equ', expr: e, here: p.here(), scope: p.scope, loc: c.loc }, at);
        if (store) p.evaluate(e, c.loc);
      }
      return;
    }
    case '.error': {
      const t = groups[0]?.[0];
      if (groups.length !== 1 || groups[0].length !== 1 || t?.kind !== 'str') throw new StmtError(c.at, '.error expects a quoted message');
      throw new StmtError(c.at, new TextDecoder().decode(new Uint8Array(t.bytes!)));
    }
  }
  throw new StmtError(c.at, `unknown directive '${name}'`);
}
