/** Jumps, calls, returns and conditional instructions. */
import { CONDITIONS } from '../../isa/conditions.js';
import type { Handler } from '../dispatch.js';

export const CONTROL_HANDLERS: Record<string, Handler> = {
  'jmp.rel': (c, t) => { c.next = t; },
  'jmp.r': (c, r) => { c.next = c.regs[r] >>> 0; },
  'jmp.m': (c, m, disp) => { c.next = c.read32(c.ea(m, disp)) >>> 0; },
  'call.rel': (c, t) => { c.push(c.next); c.next = t; },
  'call.r': (c, r) => { const t = c.regs[r] >>> 0; c.push(c.next); c.next = t; },
  'call.m': (c, m, disp) => { const t = c.read32(c.ea(m, disp)) >>> 0; c.push(c.next); c.next = t; },
  'ret.none': (c) => { c.next = c.pop() >>> 0; },
  ...Object.fromEntries(
    CONDITIONS.flatMap((cc, i): [string, Handler][] => [
      [`j${cc}.rel`, (c, t) => { if (c.cond(i)) c.next = t; }],
      [`set${cc}.r8`, (c, r) => { c.regs[r] = (c.regs[r] & ~0xff) | (c.cond(i) ? 1 : 0); }],
    ]),
  ),
};
