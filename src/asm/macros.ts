/**
 * Line structure: conditional assembly (.if/.elseif/.else/.endif) and
 * macros, `.macro NAME [arg[, arg...]]` ... `.endm`. In the body, `\arg` is
 * replaced by the argument text, `\@` by a number unique to the expansion
 * (for labels) and `\()` by nothing (to separate `\arg` from following text).
 * A backslash followed by anything else is left alone (string escapes).
 */
import { StmtError, type SrcLoc } from './errors.js';

/** One line of source, with where it came from. */
export interface SrcLine {
  readonly text: string;
  readonly file: string;
  readonly line: number;
  /** "macro NAME at file:line" for expanded lines */
  readonly expansion?: string;
}

export interface Macro {
  readonly name: string;
  readonly params: readonly string[];
  readonly body: readonly SrcLine[];
  readonly loc: SrcLoc;
}

export const lineLoc = (l: SrcLine, col = 1): SrcLoc => ({ file: l.file, line: l.line, col, expansion: l.expansion });

/** Parse the `NAME a, b` part of a `.macro` line. */
export function parseMacroHeader(text: string, loc: SrcLoc): { name: string; params: string[] } {
  const m = /^\s*([A-Za-z_.$][A-Za-z0-9_.$]*)\s*(.*)$/.exec(text);
  if (!m) throw new StmtError(loc, '.macro needs a name, expected .macro NAME [arg[, arg...]]');
  const rest = m[2].trim();
  const params = rest === '' ? [] : rest.split(/\s*,\s*|\s+/);
  for (const p of params) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) {
      throw new StmtError(loc, `bad macro parameter name '${p}', expected letters, digits and _`);
    }
  }
  if (new Set(params).size !== params.length) throw new StmtError(loc, `duplicate macro parameter in .macro ${m[1]}`);
  return { name: m[1], params };
}

/** Substitute arguments into the body lines of `mac`. */
export function expandMacro(mac: Macro, args: readonly string[], unique: number, at: SrcLoc): SrcLine[] {
  const expansion = `macro ${mac.name} at ${at.file}:${at.line}`;
  const values = new Map(mac.params.map((p, i) => [p, args[i] ?? '']));
  return mac.body.map((l) => ({ text: substitute(l.text, values, unique), file: l.file, line: l.line, expansion }));
}

function substitute(text: string, values: ReadonlyMap<string, string>, unique: number): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const nx = text[i + 1];
    if (nx === '\\') {
      out += '\\\\';
      i++;
    } else if (nx === '@') {
      out += String(unique);
      i++;
    } else if (nx === '(' && text[i + 2] === ')') {
      i += 2;
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
      if (m && values.has(m[0])) {
        out += values.get(m[0]);
        i += m[0].length;
      } else out += c;
    }
  }
  return out;
}

export const CONDS: ReadonlySet<string> = new Set(['.if', '.elseif', '.else', '.endif']);

interface Cond { loc: SrcLoc; active: boolean; taken: boolean; parentActive: boolean; seenElse: boolean }

/** The open .if blocks of one file or macro expansion. */
export class CondStack {
  private readonly conds: Cond[] = [];

  /** Are lines at this point assembled? */
  active(): boolean {
    return this.conds.length === 0 || this.conds[this.conds.length - 1].active;
  }

  /** Handle one conditional directive; `value` evaluates its condition (only called when it matters). */
  handle(word: string, loc: SrcLoc, value: () => boolean): void {
    const top = this.conds[this.conds.length - 1];
    if (word === '.if') {
      const parentActive = this.active();
      const v = parentActive ? value() : false;
      this.conds.push({ loc, active: v, taken: v || !parentActive, parentActive, seenElse: false });
      return;
    }
    if (!top) throw new StmtError(loc, `${word} without .if`);
    if (word === '.endif') {
      this.conds.pop();
      return;
    }
    if (top.seenElse) throw new StmtError(loc, `${word} after .else; expected .endif`);
    if (word === '.else') {
      top.active = top.parentActive && !top.taken;
      top.taken = true;
      top.seenElse = true;
    } else if (!top.parentActive || top.taken) {
      top.active = false;
    } else {
      top.active = value();
      top.taken = top.active;
    }
  }

  /** Locations of the .if blocks still open. */
  open(): SrcLoc[] {
    return this.conds.map((c) => c.loc);
  }
}
