/** VMX instructions: each a line into the CPU's VMX unit (src/vmx/vmx.ts), which also raises #UD outside VMX operation. */
import { Vector, fault } from '../faults.js';
import type { Cpu } from '../cpu.js';
import type { Handler } from '../dispatch.js';
import type { Vmx } from '../../vmx/vmx.js';

const vmx = (c: Cpu): Vmx => c.vmx ?? (() => { throw fault(Vector.UD); })();

export const VMX_HANDLERS: Record<string, Handler> = {
  'vmxon.m': (c, m, d) => vmx(c).vmxon(c.ea(m, d)),
  'vmxoff.none': (c) => vmx(c).vmxoff(),
  'vmclear.m': (c, m, d) => vmx(c).vmclear(c.ea(m, d)),
  'vmptrld.m': (c, m, d) => vmx(c).vmptrld(c.ea(m, d)),
  'vmptrst.m': (c, m, d) => vmx(c).vmptrst(c.ea(m, d)),
  'vmread.rr': (c, dst, f) => { const v = vmx(c).vmread(c.regs[f]); if (v !== undefined) c.regs[dst] = v; },
  'vmread.mr': (c, m, d, f) => { const v = vmx(c).vmread(c.regs[f]); if (v !== undefined) c.write32(c.ea(m, d), v); },
  'vmwrite.rr': (c, f, s) => vmx(c).vmwrite(c.regs[f], c.regs[s]),
  'vmwrite.rm': (c, f, m, d) => vmx(c).vmwrite(c.regs[f], c.read32(c.ea(m, d))),
  'vmlaunch.none': (c) => vmx(c).enter(false),
  'vmresume.none': (c) => vmx(c).enter(true),
  'vmcall.none': (c) => vmx(c).vmcall(),
};
