/**
 * Line lexer. A source line becomes identifiers, numbers (bigint), strings
 * (decoded to bytes), and operator/punctuation tokens; a comment (`;` or `#`
 * outside a string or character literal) ends the line.
 */
import { StmtError, type SrcLoc } from './errors.js';

export type TokKind = 'id' | 'num' | 'str' | 'op';

export interface Token {
  readonly kind: TokKind;
  /** source text of the token (for strings: the raw quoted text) */
  readonly text: string;
  /** 0-based offset in the line */
  readonly pos: number;
  /** numbers and character literals */
  readonly value?: bigint;
  /** strings: the decoded bytes */
  readonly bytes?: readonly number[];
}

export interface LexedLine {
  readonly tokens: Token[];
  /** offset where the statement text ends (start of the comment, or the line length) */
  readonly end: number;
}

const OPS2 = ['<<', '>>', '<=', '>=', '==', '!=', '&&', '||'];
const OPS1 = '()[],:+-*/%&|^~!<>=';

export const isSymStart = (c: string): boolean => /[A-Za-z_.$]/.test(c);
export const isSymChar = (c: string): boolean => /[A-Za-z0-9_.$]/.test(c);
export const isSymbolName = (s: string): boolean => /^[A-Za-z_.$][A-Za-z0-9_.$]*$/.test(s);

/** Location of column `pos` (0-based) on the line described by `loc`. */
export const locAt = (loc: SrcLoc, pos: number): SrcLoc => ({ ...loc, col: pos + 1 });

/**
 * Decode one escape sequence starting at text[i] === '\\'.
 * Returns [byte, index after the escape].
 */
function escape(text: string, i: number, loc: SrcLoc): [number, number] {
  const c = text[i + 1];
  switch (c) {
    case 'n': return [10, i + 2];
    case 't': return [9, i + 2];
    case 'r': return [13, i + 2];
    case '0': return [0, i + 2];
    case '\\': return [92, i + 2];
    case '"': return [34, i + 2];
    case "'": return [39, i + 2];
    case 'x': {
      const m = /^[0-9a-fA-F]{1,2}/.exec(text.slice(i + 2));
      if (!m) throw new StmtError(locAt(loc, i), 'bad escape \\x, expected one or two hex digits');
      return [parseInt(m[0], 16), i + 2 + m[0].length];
    }
    default:
      throw new StmtError(locAt(loc, i), `unknown escape '\\${c ?? ''}', expected one of \\n \\t \\r \\\\ \\" \\' \\0 \\xNN`);
  }
}

/** Bytes of a quoted literal starting at text[start] (the quote); returns [bytes, index after]. */
function quoted(text: string, start: number, loc: SrcLoc): [number[], number] {
  const q = text[start];
  const out: number[] = [];
  const enc = new TextEncoder();
  let i = start + 1;
  for (;;) {
    if (i >= text.length) {
      throw new StmtError(locAt(loc, start), q === '"' ? 'unterminated string, expected a closing "' : "unterminated character literal, expected a closing '");
    }
    const c = text[i];
    if (c === q) return [out, i + 1];
    if (c === '\\') {
      const [b, n] = escape(text, i, loc);
      out.push(b);
      i = n;
    } else {
      const cp = text.codePointAt(i)!;
      const s = String.fromCodePoint(cp);
      out.push(...enc.encode(s));
      i += s.length;
    }
  }
}

/** Index where the statement part of `text` ends (a comment outside quotes starts). */
export function statementEnd(text: string): number {
  let q: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '\\') i++;
      else if (c === q) q = null;
    } else if (c === '"' || c === "'") q = c;
    else if (c === ';' || c === '#') return i;
  }
  return text.length;
}

export function lexLine(text: string, loc: SrcLoc): LexedLine {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') { i++; continue; }
    if (c === ';' || c === '#') return { tokens, end: i };
    const start = i;
    if (/[0-9]/.test(c)) {
      const m = /^(0[xX][0-9a-fA-F_]+|0[bB][01_]+|[0-9][0-9_]*)/.exec(text.slice(i))!;
      i += m[0].length;
      if (i < text.length && isSymChar(text[i])) {
        const bad = /^[A-Za-z0-9_.$]*/.exec(text.slice(start))![0];
        throw new StmtError(locAt(loc, start), `bad number '${bad}', expected decimal, 0x hex or 0b binary digits`);
      }
      const digits = m[0].replace(/_/g, '');
      const value = /^0[bB]/.test(digits) ? BigInt('0b' + digits.slice(2)) : BigInt(digits);
      tokens.push({ kind: 'num', text: m[0], pos: start, value });
      continue;
    }
    if (isSymStart(c)) {
      while (i < text.length && isSymChar(text[i])) i++;
      tokens.push({ kind: 'id', text: text.slice(start, i), pos: start });
      continue;
    }
    if (c === '"') {
      const [bytes, n] = quoted(text, i, loc);
      i = n;
      tokens.push({ kind: 'str', text: text.slice(start, i), pos: start, bytes });
      continue;
    }
    if (c === "'") {
      const [bytes, n] = quoted(text, i, loc);
      i = n;
      if (bytes.length !== 1) {
        throw new StmtError(locAt(loc, start), `character literal ${text.slice(start, i)} must hold exactly one byte`);
      }
      tokens.push({ kind: 'num', text: text.slice(start, i), pos: start, value: BigInt(bytes[0]) });
      continue;
    }
    const two = text.slice(i, i + 2);
    if (OPS2.includes(two)) {
      tokens.push({ kind: 'op', text: two, pos: start });
      i += 2;
      continue;
    }
    if (OPS1.includes(c)) {
      tokens.push({ kind: 'op', text: c, pos: start });
      i++;
      continue;
    }
    throw new StmtError(locAt(loc, start), `unexpected character '${c}'`);
  }
  return { tokens, end: text.length };
}

/**
 * Split tokens at top-level commas (not inside (), []). Returns the groups;
 * an empty token list gives no groups.
 */
export function splitCommas(tokens: readonly Token[]): Token[][] {
  if (tokens.length === 0) return [];
  const out: Token[][] = [[]];
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === 'op' && (t.text === '(' || t.text === '[')) depth++;
    if (t.kind === 'op' && (t.text === ')' || t.text === ']')) depth--;
    if (depth === 0 && t.kind === 'op' && t.text === ',') out.push([]);
    else out[out.length - 1].push(t);
  }
  return out;
}

/** Split raw text at top-level commas (outside quotes, (), []); used for macro arguments. */
export function splitRawArgs(text: string): string[] {
  if (text.trim() === '') return [];
  const out: string[] = [];
  let depth = 0;
  let q: string | null = null;
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      cur += c;
      if (c === '\\' && i + 1 < text.length) cur += text[++i];
      else if (c === q) q = null;
      continue;
    }
    if (c === '"' || c === "'") q = c;
    else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  out.push(cur.trim());
  return out;
}
