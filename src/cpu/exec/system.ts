/** System instructions: interrupts, halting, MSRs, CPUID, IDT, port I/O. */
import { IF } from '../../isa/eflags.js';
import type { AccessSize } from '../../devices/device.js';
import { cpuid } from '../cpuid.js';
import type { Cpu } from '../cpu.js';
import type { Handler } from '../dispatch.js';
import { Vector, fault } from '../faults.js';
import { CpuBased } from '../../vmx/controls.js';
import { ExitReason } from '../../vmx/exit-reasons.js';

const lo = (v: number | bigint): number => (typeof v === 'bigint' ? Number(BigInt.asIntN(32, v)) : v % 0x100000000 | 0);
const hi = (v: number | bigint): number => (typeof v === 'bigint' ? Number(BigInt.asIntN(32, v >> 32n)) : Math.floor(v / 0x100000000) | 0);

/** Merge a value of `size` bytes into the low part of EAX (IN AL/AX). */
function setAccumulator(c: Cpu, v: number, size: AccessSize): void {
  c.regs[0] = size === 4 ? v | 0 : size === 2 ? (c.regs[0] & ~0xffff) | (v & 0xffff) : (c.regs[0] & ~0xff) | (v & 0xff);
}

/** IO_INSTRUCTION exit qualification (SDM Table 27-5): size-1, direction (1 = IN), operand encoding (1 = immediate), port. */
const ioQualification = (port: number, size: AccessSize, isIn: boolean, imm: boolean): number =>
  ((size - 1) | (isIn ? 8 : 0) | (imm ? 64 : 0) | (port << 16)) >>> 0;

function io(size: AccessSize, fromDx: boolean): { in: Handler; out: Handler } {
  const mask = size === 4 ? -1 : size === 2 ? 0xffff : 0xff;
  const port = (c: Cpu, imm: number, isIn: boolean): number => {
    const p = fromDx ? c.regs[2] & 0xffff : imm;
    if (c.nonRoot) c.exitIf(c.vmx!.ioExits(p, size), ExitReason.IO_INSTRUCTION, ioQualification(p, size, isIn, !fromDx));
    return p;
  };
  return {
    in: (c, imm) => setAccumulator(c, c.ioRead(port(c, imm, true), size), size),
    out: (c, imm) => c.ioWrite(port(c, imm, false), (c.regs[0] & mask) >>> 0, size),
  };
}

const ioForms: Record<string, Handler> = {};
for (const size of [1, 2, 4] as AccessSize[]) {
  for (const dx of [true, false]) {
    const h = io(size, dx);
    const suffix = `${size * 8}_${dx ? 'dx' : 'i'}`;
    ioForms[`in.in${suffix}`] = h.in;
    ioForms[`out.out${suffix}`] = h.out;
  }
}

export const SYSTEM_HANDLERS: Record<string, Handler> = {
  'nop.none': () => {},
  'hlt.none': (c) => {
    c.exitIf(c.nonRoot && (c.vmx!.proc & CpuBased.HLT_EXITING) !== 0, ExitReason.HLT);
    c.halt();
  },
  'pause.none': (c) => c.exitIf(c.nonRoot && (c.vmx!.proc & CpuBased.PAUSE_EXITING) !== 0, ExitReason.PAUSE_INSTRUCTION),
  'cli.none': (c) => { c.eflagsRest &= ~IF; },
  // STI sets the shadow only when IF was 0 (SDM STI: "interrupts ... after the next instruction")
  'sti.none': (c) => {
    if (c.eflagsRest & IF) return;
    c.eflagsRest |= IF;
    c.inhibit = true;
    c.intrCheck = true;
  },
  'int.i8': (c, v) => c.softwareInterrupt(v),
  'iret.none': (c) => {
    c.next = c.pop() >>> 0;
    c.eflags = c.pop();
    c.nmiBlocked = false; // IRET ends NMI blocking (SDM 6.7.1): a latched NMI is taken at the next boundary
    if (c.nmiPending) c.intrCheck = true;
  },
  'ud2.none': () => { throw fault(Vector.UD); },
  'rdtsc.none': (c) => {
    c.exitIf(c.nonRoot && (c.vmx!.proc & CpuBased.RDTSC_EXITING) !== 0, ExitReason.RDTSC);
    const t = c.tsc(); c.regs[0] = lo(t); c.regs[2] = hi(t);
  },
  'rdmsr.none': (c) => {
    c.exitIf(c.nonRoot && c.vmx!.msrExits(c.regs[1] >>> 0, false), ExitReason.MSR_READ);
    const v = c.readMsr(c.regs[1] >>> 0); c.regs[0] = lo(v); c.regs[2] = hi(v);
  },
  'wrmsr.none': (c) => {
    c.exitIf(c.nonRoot && c.vmx!.msrExits(c.regs[1] >>> 0, true), ExitReason.MSR_WRITE);
    c.writeMsr(c.regs[1] >>> 0, (c.regs[2] >>> 0) * 0x100000000 + (c.regs[0] >>> 0));
  },
  'cpuid.none': (c) => {
    c.exitIf(c.nonRoot, ExitReason.CPUID); // CPUID always exits (SDM 25.1.2)
    const r = cpuid(c.regs[0], c.regs[1], c.id, c.platform.cpuCount ?? 1);
    c.regs[0] = r[0]; c.regs[3] = r[1]; c.regs[1] = r[2]; c.regs[2] = r[3];
  },
  'lidt.m': (c, m, disp) => { const ea = c.ea(m, disp); c.idtLimit = c.read16(ea); c.idtBase = c.read32((ea + 2) >>> 0) >>> 0; },
  'sidt.m': (c, m, disp) => { const ea = c.ea(m, disp); c.write16(ea, c.idtLimit); c.write32((ea + 2) >>> 0, c.idtBase); },
  'mov.crr': (c, cr, r) => c.writeCr(cr, c.regs[r], r),
  'rsm.none': (c) => { if (!c.smm) throw fault(Vector.UD); c.smm.rsm(); },
  'mov.rcr': (c, r, cr) => { c.regs[r] = c.readCr(cr); },
  ...ioForms,
};
