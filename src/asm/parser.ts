/**
 * One assembler pass over the source: line processing (conditionals, macro
 * definitions and expansions, includes), labels, symbols and instructions.
 * Directives live in directives.ts. The same code runs twice (see
 * assembler.ts); values that decide sizes or control flow are computed in
 * pass 1 and replayed in pass 2, so both passes walk identical statements.
 */
import { encodeForm } from '../isa/forms.js';
import { StmtError, suggest, type SrcLoc } from './errors.js';
import { evaluate, parseExpr, registerByName, TokenStream, type Expr, type Val } from './expr.js';
import { lexLine, locAt, splitCommas, splitRawArgs, statementEnd, type Token } from './lexer.js';
import { CONDS, CondStack, expandMacro, lineLoc, parseMacroHeader, type Macro, type SrcLine } from './macros.js';
import { ALL_MNEMONICS, lookupMnemonic, matchEntry, MULTIWORD_FIRST, operandFields, parseOperand, type ValueOf } from './operands.js';
import { directive, DIRECTIVES } from './directives.js';
import { Section, SECTIONS, type SectionName } from './section.js';

export type SymDef =
  | { readonly kind: 'label'; readonly sec: SectionName; readonly off: number; readonly loc: SrcLoc }
  | { readonly kind: 'equ'; readonly expr: Expr; readonly here: Val; readonly scope: string; readonly loc: SrcLoc }
  | { readonly kind: 'set'; readonly val: Val | null; readonly loc: SrcLoc }
  | { readonly kind: 'abs'; readonly val: bigint; readonly loc: SrcLoc | null };

export interface AsmOptions {
  readonly base?: number;
  readonly readFile: (path: string) => string;
  readonly defines?: Readonly<Record<string, number>>;
}

/** State shared by both passes. */
export interface Shared {
  readonly opts: AsmOptions;
  readonly errors: { seq: number; msg: string }[];
  /** pass-1 values of size/flow-deciding expressions, by statement number */
  readonly decisions: Map<number, bigint>;
  /** pass-1 instruction lengths, by statement number */
  readonly lengths: Map<number, number>;
}

class CycleError extends Error {}

export class Pass {
  readonly syms = new Map<string, SymDef>();
  readonly sections = new Map<SectionName, Section>(SECTIONS.map((s) => [s, new Section(s)]));
  cur: SectionName = '.text';
  scope = '';
  seq = 0;
  readonly macros = new Map<string, Macro>();
  uniq = 0;
  readonly includeStack: string[] = [];
  struct: { name: string; off: bigint; loc: SrcLoc } | null = null;
  readonly globals = new Map<string, SrcLoc>();
  entry: { expr: Expr; scope: string; loc: SrcLoc; here: Val } | null = null;
  base: number;
  contentSeen = false;
  lastUnknown: string | null = null;
  private readonly cache = new Map<string, Val>();
  private readonly evaluating = new Set<string>();

  constructor(
    readonly pass: 1 | 2,
    readonly shared: Shared,
    /** pass 2: the finished first pass and the section addresses */
    readonly prev?: Pass,
    readonly bases?: ReadonlyMap<SectionName, number>,
  ) {
    this.base = prev ? prev.base : (shared.opts.base ?? 0x1000);
    for (const [name, v] of Object.entries(shared.opts.defines ?? {})) {
      if (Number.isSafeInteger(v)) this.syms.set(name, { kind: 'abs', val: BigInt(v), loc: null });
      else if (pass === 1) shared.errors.push({ seq: -1, msg: `error: defined constant ${name} = ${v} is not an integer` });
    }
  }

  section(): Section {
    return this.sections.get(this.cur)!;
  }

  report(e: unknown, seq: number): void {
    if (e instanceof StmtError) this.shared.errors.push({ seq, msg: e.message });
    else throw e;
  }

  // ---- symbols and values ----------------------------------------------

  fullName(name: string, scope: string): string {
    return name.startsWith('.') ? scope + name : name;
  }

  absolutize(v: Val): Val {
    if (v.sec === null) return v;
    if (this.pass === 2) return { v: BigInt(this.bases!.get(v.sec as SectionName)!) + v.v, sec: null };
    return v.sec === '.text' ? { v: BigInt(this.base) + v.v, sec: null } : v;
  }

  here(): Val {
    return this.absolutize({ v: BigInt(this.section().size), sec: this.cur });
  }

  lookup(name: string, pos: number, loc: SrcLoc, scope: string): Val | null {
    const full = this.fullName(name, scope);
    const d = this.syms.get(full) ?? this.prev?.syms.get(full);
    if (!d) {
      if (this.pass === 1) {
        this.lastUnknown ??= full;
        return null;
      }
      const names = [...this.syms.keys(), ...(this.prev?.syms.keys() ?? [])];
      throw new StmtError(locAt(loc, pos), `undefined symbol '${full}'${suggest(full, names)}`);
    }
    switch (d.kind) {
      case 'label': return this.absolutize({ v: BigInt(d.off), sec: d.sec });
      case 'set': return d.val && this.absolutize(d.val);
      case 'abs': return { v: d.val, sec: null };
      case 'equ':
        try {
          return this.equValue(full, d);
        } catch (e) {
          if (e instanceof CycleError) throw e;
          return null;
        }
    }
  }

  /** Value of an `=`/.equ constant (lazily evaluated; cycles throw). */
  equValue(full: string, d: SymDef & { kind: 'equ' }): Val | null {
    const c = this.cache.get(full);
    if (c) return c;
    if (this.evaluating.has(full)) throw new CycleError(full);
    this.evaluating.add(full);
    try {
      const v = evaluate(d.expr, {
        loc: d.loc,
        here: this.absolutize(d.here),
        lookup: (n, p) => this.lookup(n, p, d.loc, d.scope),
      });
      const r = v && this.absolutize(v);
      if (r) this.cache.set(full, r);
      return r;
    } finally {
      this.evaluating.delete(full);
    }
  }

  evaluate(e: Expr, loc: SrcLoc, scope = this.scope): Val | null {
    try {
      const v = evaluate(e, { loc, here: this.here(), lookup: (n, p) => this.lookup(n, p, loc, scope) });
      return v && this.absolutize(v);
    } catch (err) {
      if (err instanceof CycleError) throw new StmtError(loc, `circular definition of '${err.message}'`);
      throw err;
    }
  }

  /** A value that must be known now (sizes, .if): computed in pass 1, replayed in pass 2. */
  known(e: Expr, loc: SrcLoc, seq: number, what: string): bigint {
    if (this.pass === 2) return this.shared.decisions.get(seq) ?? 0n;
    this.shared.decisions.set(seq, 0n);
    this.lastUnknown = null;
    const v = this.evaluate(e, loc);
    if (v === null) {
      const sym = this.lastUnknown
        ? ` ('${this.lastUnknown}' is not defined before this line)`
        : ' (it depends on an address outside .text, known only at the end)';
      throw new StmtError(loc, `${what} must be known at this point${sym}; expected an expression of symbols defined earlier`);
    }
    if (v.sec !== null) {
      throw new StmtError(loc, `${what} depends on the address of ${v.sec}, which is not known yet; expected a constant or a difference of labels`);
    }
    this.shared.decisions.set(seq, v.v);
    return v.v;
  }

  define(full: string, def: SymDef, loc: SrcLoc): void {
    const old = this.syms.get(full);
    if (old && !(old.kind === 'set' && def.kind === 'set')) {
      const where = old.loc ? ` (first defined at ${old.loc.file}:${old.loc.line})` : ' (defined on the command line)';
      throw new StmtError(loc, `duplicate symbol '${full}'${where}; expected a new name`);
    }
    if (registerByName(full)) throw new StmtError(loc, `'${full}' is a register name, expected a symbol name`);
    this.syms.set(full, def);
  }

  defineLabel(t: Token, loc: SrcLoc): void {
    const full = this.fullName(t.text, this.scope);
    const at = locAt(loc, t.pos);
    if (this.struct) throw new StmtError(at, `label inside .struct ${this.struct.name}; expected .field or .ends`);
    if (!t.text.startsWith('.')) this.scope = t.text;
    this.contentSeen = true;
    const def: SymDef = { kind: 'label', sec: this.cur, off: this.section().size, loc: at };
    this.define(full, def, at);
    const old = this.prev?.syms.get(full);
    if (old && old.kind === 'label' && (old.off !== def.off || old.sec !== def.sec) && this.shared.errors.length === 0) {
      throw new StmtError(at, `internal error: label '${full}' moved between passes`);
    }
  }

  // ---- lines -------------------------------------------------------------

  processLines(lines: readonly SrcLine[], depth: number): void {
    const conds = new CondStack();
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      const seq = this.seq++;
      const text = l.text.slice(0, statementEnd(l.text));
      const m = /^(\s*)([A-Za-z_.$][A-Za-z0-9_.$]*)/.exec(text);
      const word = m ? m[2].toLowerCase() : '';
      const loc = lineLoc(l, m ? m[1].length + 1 : 1);
      try {
        if (CONDS.has(word)) {
          conds.handle(word, loc, () => this.condition(word, text, m![0].length, l, loc, seq));
          continue;
        }
        if (!conds.active()) continue;
        if (word === '.macro') {
          i = this.defineMacro(lines, i, text.slice(m![0].length), loc);
          continue;
        }
        if (word === '.endm') throw new StmtError(loc, '.endm without .macro');
        this.statement(l, text, seq, depth);
      } catch (e) {
        this.report(e, seq);
      }
    }
    for (const c of conds.open()) this.report(new StmtError(c, 'unterminated .if, expected .endif'), this.seq);
  }

  /** Value of an .if/.elseif condition (errors are reported and count as false). */
  private condition(word: string, text: string, off: number, l: SrcLine, loc: SrcLoc, seq: number): boolean {
    try {
      const lx = lexLine(' '.repeat(off) + text.slice(off), lineLoc(l));
      const ts = new TokenStream(lx.tokens, lineLoc(l), lx.end);
      const e = parseExpr(ts);
      if (!ts.atEnd()) throw ts.error(`unexpected '${ts.peek()!.text}' after ${word} expression`);
      return this.known(e, loc, seq, `${word} condition`) !== 0n;
    } catch (e) {
      this.report(e, seq);
      return false;
    }
  }

  private defineMacro(lines: readonly SrcLine[], i: number, header: string, loc: SrcLoc): number {
    let nest = 0;
    let j = i + 1;
    for (; j < lines.length; j++) {
      const w = /^\s*(\.[A-Za-z]+)/.exec(lines[j].text.slice(0, statementEnd(lines[j].text)))?.[1].toLowerCase();
      if (w === '.macro') nest++;
      if (w === '.endm' && nest-- === 0) break;
    }
    const { name, params } = parseMacroHeader(header, loc);
    if (j >= lines.length) {
      this.report(new StmtError(loc, `unterminated .macro ${name}, expected .endm`), this.seq);
      return lines.length;
    }
    if (lookupMnemonic(name)) throw new StmtError(loc, `macro name '${name}' is an instruction mnemonic; expected a new name`);
    if (this.macros.has(name)) throw new StmtError(loc, `duplicate macro '${name}'; expected a new name`);
    this.macros.set(name, { name, params, body: lines.slice(i + 1, j), loc });
    return j;
  }

  // ---- statements ----------------------------------------------------------

  private statement(l: SrcLine, text: string, seq: number, depth: number): void {
    const loc = lineLoc(l);
    const { tokens, end } = lexLine(text, loc);
    let i = 0;
    while (tokens[i]?.kind === 'id' && tokens[i + 1]?.kind === 'op' && tokens[i + 1].text === ':') {
      this.defineLabel(tokens[i], loc);
      i += 2;
    }
    if (i >= tokens.length) return;
    const t = tokens[i];
    const at = locAt(loc, t.pos);
    if (t.kind !== 'id') throw new StmtError(at, `unexpected '${t.text}', expected a label, directive or instruction`);
    const rest = tokens.slice(i + 1);
    if (rest[0]?.kind === 'op' && rest[0].text === '=') {
      directive(this, '.equ', [t, { kind: 'op', text: ',', pos: rest[0].pos }, ...rest.slice(1)], { loc, at, end, seq, depth, text });
      return;
    }
    if (this.struct && !['.field', '.ends'].includes(t.text.toLowerCase())) {
      throw new StmtError(at, `'${t.text}' inside .struct ${this.struct.name}; expected .field NAME, SIZE or .ends`);
    }
    if (t.text.startsWith('.')) {
      const name = t.text.toLowerCase();
      if (CONDS.has(name) || name === '.macro' || name === '.endm') {
        throw new StmtError(at, `${name} must be the first word of its line (no label before it)`);
      }
      if (!DIRECTIVES.has(name)) throw new StmtError(at, `unknown directive '${t.text}'${suggest(name, [...DIRECTIVES, '.macro', '.endm', ...CONDS])}`);
      directive(this, name, rest, { loc, at, end, seq, depth, text });
      return;
    }
    const mac = this.macros.get(t.text);
    if (mac) {
      this.invoke(mac, text.slice(t.pos + t.text.length), at, depth);
      return;
    }
    this.instruction(tokens, i, loc, end, seq);
  }

  private invoke(mac: Macro, argText: string, at: SrcLoc, depth: number): void {
    if (depth >= 64) throw new StmtError(at, `macro ${mac.name} nested too deeply (recursive?); expected at most 64 levels`);
    const args = splitRawArgs(argText);
    if (args.length !== mac.params.length) {
      throw new StmtError(at, `macro ${mac.name} expects ${mac.params.length} argument(s)${mac.params.length ? ` (${mac.params.join(', ')})` : ''}, got ${args.length}`);
    }
    this.processLines(expandMacro(mac, args, this.uniq++, at), depth + 1);
  }

  private instruction(tokens: Token[], i: number, loc: SrcLoc, end: number, seq: number): void {
    const t = tokens[i];
    let name = t.text.toLowerCase();
    let n = i + 1;
    const t2 = tokens[n];
    if (MULTIWORD_FIRST.has(name) && t2?.kind === 'id' && lookupMnemonic(`${name} ${t2.text}`)) {
      name = `${name} ${t2.text.toLowerCase()}`;
      n++;
    }
    const at = locAt(loc, t.pos);
    const entries = lookupMnemonic(name);
    if (!entries) {
      throw new StmtError(at, `unknown mnemonic '${t.text}'${suggest(name, [...ALL_MNEMONICS, ...this.macros.keys()])}`);
    }
    if (this.struct) throw new StmtError(at, 'instruction inside .struct');
    const ops = splitCommas(tokens.slice(n)).map((g, k, all) =>
      parseOperand(g, loc, k + 1 < all.length ? all[k + 1][0]?.pos ?? end : end),
    );
    const soft: ValueOf = (e) => {
      try {
        const v = this.evaluate(e, loc);
        return v && v.sec === null ? v.v : null;
      } catch {
        return null;
      }
    };
    const entry = matchEntry(name, entries, ops, soft, loc, t.pos);
    const len = entry.form.length;
    this.contentSeen = true;
    if (this.cur === '.bss') throw new StmtError(at, 'instruction in .bss; expected .space, .zero or .align there');
    if (this.pass === 1) {
      this.shared.lengths.set(seq, len);
      this.section().size += len;
      return;
    }
    const want = this.shared.lengths.get(seq) ?? len;
    const addr = Number(this.here().v);
    let bytes: number[];
    try {
      const fields = operandFields(entry.form, ops, (e) => this.evaluate(e, loc)?.v ?? null, loc);
      bytes = encodeForm(entry.form, entry.opcode, fields, addr);
    } catch (e) {
      this.section().fill(want, 0, true);
      throw e;
    }
    this.section().push(bytes.concat(new Array(Math.max(0, want - len)).fill(0)).slice(0, want), true);
    if (want !== len) {
      throw new StmtError(at, `instruction size depends on a symbol defined later (${want} bytes in pass 1, ${len} now); define it before this line`);
    }
  }
}
