/** Data movement, stack and atomic instructions. */
import type { Handler } from '../dispatch.js';
import { FlagOp } from '../lazy-flags.js';

export const DATA_HANDLERS: Record<string, Handler> = {
  'mov.rr': (c, d, s) => { c.regs[d] = c.regs[s]; },
  'mov.ri': (c, d, i) => { c.regs[d] = i; },
  'mov.rm': (c, d, m, disp) => { c.regs[d] = c.read32(c.ea(m, disp)); },
  'mov.mr': (c, m, disp, s) => { c.write32(c.ea(m, disp), c.regs[s]); },
  'mov.mi': (c, m, disp, i) => { c.write32(c.ea(m, disp), i); },
  'movzx.rm8': (c, d, m, disp) => { c.regs[d] = c.read8(c.ea(m, disp)); },
  'movzx.rm16': (c, d, m, disp) => { c.regs[d] = c.read16(c.ea(m, disp)); },
  'movsx.rm8': (c, d, m, disp) => { c.regs[d] = (c.read8(c.ea(m, disp)) << 24) >> 24; },
  'movsx.rm16': (c, d, m, disp) => { c.regs[d] = (c.read16(c.ea(m, disp)) << 16) >> 16; },
  'mov.m8r': (c, m, disp, s) => { c.write8(c.ea(m, disp), c.regs[s] & 0xff); },
  'mov.m16r': (c, m, disp, s) => { c.write16(c.ea(m, disp), c.regs[s] & 0xffff); },
  'mov.m8i': (c, m, disp, i) => { c.write8(c.ea(m, disp), i & 0xff); },
  'lea.rm': (c, d, m, disp) => { c.regs[d] = c.ea(m, disp); },
  'xchg.rr': (c, d, s) => { const t = c.regs[d]; c.regs[d] = c.regs[s]; c.regs[s] = t; },
  'xchg.rm': (c, d, m, disp) => { const ea = c.ea(m, disp); const t = c.read32(ea); c.write32(ea, c.regs[d]); c.regs[d] = t; },
  'push.r': (c, r) => { c.push(c.regs[r]); },
  'push.i': (c, i) => { c.push(i); },
  'push.m': (c, m, disp) => { c.push(c.read32(c.ea(m, disp))); },
  'pop.r': (c, r) => { const v = c.pop(); c.regs[r] = v; },
  // x86 computes a POP destination address with the incremented ESP
  'pop.m': (c, m, disp) => { const v = c.pop(); c.write32(c.ea(m, disp), v); },
  'pushfd.none': (c) => { c.push(c.eflags); },
  'popfd.none': (c) => { c.eflags = c.pop(); },
  'cmpxchg.mr': (c, m, disp, s) => cmpxchg(c, m, disp, s),
  'lock cmpxchg.mr': (c, m, disp, s) => cmpxchg(c, m, disp, s),
  'xadd.mr': (c, m, disp, s) => xadd(c, m, disp, s),
  'lock xadd.mr': (c, m, disp, s) => xadd(c, m, disp, s),
};

/** CMPXCHG: flags as CMP EAX, [mem]. Every instruction is atomic in this machine, LOCK changes only the cost. */
function cmpxchg(c: Parameters<Handler>[0], m: number, disp: number, s: number): void {
  const ea = c.ea(m, disp);
  const cur = c.read32(ea);
  const eax = c.regs[0];
  c.fOp = FlagOp.Sub; c.fA = eax; c.fB = cur; c.fRes = (eax - cur) | 0; c.fAux = 0;
  if (eax === cur) c.write32(ea, c.regs[s]);
  else c.regs[0] = cur;
}

function xadd(c: Parameters<Handler>[0], m: number, disp: number, s: number): void {
  const ea = c.ea(m, disp);
  const cur = c.read32(ea);
  const src = c.regs[s];
  const sum = (cur + src) | 0;
  c.fOp = FlagOp.Add; c.fA = cur; c.fB = src; c.fRes = sum; c.fAux = 0;
  c.write32(ea, sum);
  c.regs[s] = cur;
}
