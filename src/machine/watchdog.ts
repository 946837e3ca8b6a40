/**
 * Where a run stopped, in one line: the CPU, its mode (VMX root, non-root,
 * SMM), EIP and the nearest symbol — for the watchdog (MachineConfig.
 * watchdogCycles: a CPU in root mode with interrupts off for too long) and
 * the simulated-time and instruction limits.
 */
import type { Cpu } from '../cpu/cpu.js';
import { symbolize, type Image } from '../asm/image.js';
import type { Machine, RunResult } from './machine.js';

export type CpuMode = 'SMM' | 'VMX non-root' | 'VMX root' | 'root';

export function cpuMode(c: Cpu): CpuMode {
  if (c.smm?.active) return 'SMM';
  if (c.nonRoot) return 'VMX non-root';
  return c.vmx?.on ? 'VMX root' : 'root';
}

/**
 * Symbols to name an EIP with: the host image for root mode (and SMM, given
 * the SMM handler's image and base), a guest image by its host-physical base
 * for non-root mode. Any may be missing.
 */
export interface Symbols {
  host?: Image;
  smm?: Image;
  /** guest images, each with the host-physical address of its guest-physical 0 */
  guests?: { image: Image; memBase: number }[];
}

/** `cpu1 in VMX root mode at eip 0x1234 <spin+0x4>, interrupts off` */
export function describeCpu(m: Machine, c: Cpu, syms: Symbols = {}): string {
  const mode = cpuMode(c);
  let image: Image | undefined;
  let at = c.eip;
  if (mode === 'SMM') {
    image = syms.smm;
    at = c.eip - (c.smm!.smbase ?? 0);
  } else if (mode === 'VMX non-root') {
    image = syms.guests?.find((g) => g.memBase === c.memBase)?.image;
  } else {
    image = syms.host;
  }
  const name = image ? symbolize(image, at >>> 0) : undefined;
  const hz = m.config.model.hz;
  return `cpu${c.id} in ${mode} mode at eip 0x${c.eip.toString(16)}${name ? ` <${name}>` : ''}, interrupts ${c.interruptsEnabled ? 'on' : 'off'}, ${((c.cycles / hz) * 1e3).toFixed(3)} ms`;
}

/** One line for a run that ended by the watchdog or a limit; null for other stops. */
export function describeStop(m: Machine, r: RunResult, syms: Symbols = {}, watchdogCycles = m.config.watchdogCycles ?? 0): string | null {
  const hz = m.config.model.hz;
  const ms = (cycles: number): string => `${((cycles / hz) * 1e3).toFixed(3)} ms`;
  if (r.reason === 'watchdog') {
    const c = m.cpus[r.stuckCpu ?? 0];
    return `watchdog: ${describeCpu(m, c, syms)}; it ran ${watchdogCycles ? `over ${ms(watchdogCycles)}` : 'too long'} in root mode with interrupts off (a lockup, e.g. cli; jmp $)`;
  }
  if (r.reason === 'time-limit' || r.reason === 'instruction-limit') {
    const running = m.cpus.filter((c) => c.state === 0);
    const where = running.length ? running.map((c) => describeCpu(m, c, syms)).join('; ') : 'every CPU halted';
    return `${r.reason === 'time-limit' ? `simulated-time limit (${ms(r.cycles)})` : `instruction limit (${r.instructions} instructions)`} reached: ${where}`;
  }
  return null;
}
