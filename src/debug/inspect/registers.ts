/**
 * `info registers`: a CPU's registers and decoded EFLAGS; in VMX root mode
 * with a current VMCS also the guest's context — RIP/RSP/RFLAGS/CR0/CR4 from
 * the VMCS guest-state fields (the CPU keeps no other copy) and the general
 * registers from where KVM's exit stub saved them (kvm_vcpu.regs of the vCPU
 * loaded on that CPU), or, before the stub ran, from the CPU itself.
 */
import { CpuState, type Cpu } from '../../cpu/cpu.js';
import { describeFlags } from '../../isa/eflags.js';
import { REG32_NAMES } from '../../isa/registers.js';
import { Field as F } from '../../vmx/fields.js';
import { CpuBased, SecondaryExec } from '../../vmx/controls.js';
import { hex, type Space, type Target } from '../target.js';
import type { Vmcs } from '../../vmx/vmcs.js';

const STATE = ['running', 'halted', 'wait-for-SIPI', 'shutdown'];

export function cpuMode(cpu: Cpu): string {
  if (cpu.smm?.active) return 'SMM';
  if (cpu.nonRoot) return 'VMX non-root (guest)';
  return cpu.vmx?.on ? 'VMX root (host)' : 'host';
}

export function formatFlags(eflags: number): string {
  return `${hex(eflags, 8)} [ ${describeFlags(eflags)} ]`;
}

function regLines(regs: ArrayLike<number>, eip: string, eflags: number): string[] {
  const r = (i: number): string => `${REG32_NAMES[i].padEnd(4)}${hex(regs[i], 8)}`;
  return [
    `  ${r(0)}  ${r(1)}  ${r(2)}  ${r(3)}`,
    `  ${r(4)}  ${r(5)}  ${r(6)}  ${r(7)}`,
    `  eip ${eip}`,
    `  eflags ${formatFlags(eflags)}`,
  ];
}

/** Where the guest's general registers of a CPU in root mode are, per KVM's exit stub. */
export function guestGprs(t: Target, cpu: Cpu): { regs: number[]; from: string } | null {
  if (cpu.nonRoot) return { regs: Array.from(cpu.regs, (x) => x >>> 0), from: 'the CPU' };
  // at HOST_RIP (the exit stub's first instruction) nothing is saved or overwritten yet: the CPU still holds the guest's registers
  const v = cpu.vmx?.vmcs;
  if (v && v.launchState === 'launched' && cpu.eip === v.read(F.HOST_RIP)) return { regs: Array.from(cpu.regs, (x) => x >>> 0), from: 'the CPU (at HOST_RIP, before the exit stub saved them)' };
  const loaded = t.symbol('kvm_loaded_vcpu', t.host);
  const regsOff = t.symbol('kvm_vcpu.regs', t.host);
  if (!loaded || !regsOff) return null;
  const vcpu = t.peek32(loaded.value + 4 * cpu.id);
  if (vcpu === 0) return null;
  const base = vcpu + regsOff.value;
  const regs = Array.from({ length: 8 }, (_, i) => t.peek32(base + 4 * i));
  return { regs, from: `kvm_vcpu.regs at ${hex(base)} (saved by vmx_vmexit; ESP is GUEST_RSP)` };
}

export function infoRegisters(t: Target, cpu: Cpu): string[] {
  const space = t.spaceOf(cpu);
  const lines = [
    `cpu${cpu.id}: ${STATE[cpu.state]}, ${cpuMode(cpu)}${cpu.nonRoot ? ` in ${space.name}` : ''}, ${t.time(cpu.cycles)}, ${cpu.instructions} instructions`,
    ...regLines(cpu.regs.map((x) => x >>> 0), t.where(space, cpu.eip), cpu.eflags),
    `  cr0 ${hex(cpu.cr0, 8)}  cr4 ${hex(cpu.cr4, 8)}  idtr base ${hex(cpu.idtBase, 8)} limit ${hex(cpu.idtLimit, 4)}  tsc ${cpu.tsc()}`,
  ];
  if (cpu.nonRoot) lines.push(`  guest-physical addresses; host-physical = guest + ${hex(cpu.memBase)} (EPT)`);
  const v = cpu.vmx?.vmcs;
  if (!cpu.nonRoot && v && cpu.state !== CpuState.WaitForSipi) {
    const gs = vmcsSpace(t, v);
    lines.push(`guest context (current VMCS ${hex(v.address)}${gs !== t.host ? `, ${gs.vm >= 0 ? 'vm ' : ''}${gs.name}` : ''}):`);
    const g = guestGprs(t, cpu);
    if (g) {
      lines.push(...regLines(g.regs.map((x, i) => (i === 4 ? v.read(F.GUEST_RSP) : x)), t.where(gs, v.read(F.GUEST_RIP)), v.read(F.GUEST_RFLAGS)));
      lines.push(`  general registers from ${g.from}`);
    } else {
      lines.push(`  rip ${t.where(gs, v.read(F.GUEST_RIP))}  rsp ${hex(v.read(F.GUEST_RSP), 8)}  rflags ${formatFlags(v.read(F.GUEST_RFLAGS))}`);
      lines.push('  general registers: not in the VMCS (the CPU saves none; no KVM exit stub symbols to find them)');
    }
    lines.push(`  cr0 ${hex(v.read(F.GUEST_CR0), 8)}  cr4 ${hex(v.read(F.GUEST_CR4), 8)}  (VMCS guest-state fields)`);
  }
  return lines;
}

/**
 * The space a VMCS's guest runs in: with EPT, the VM whose memory the
 * (flat) EPT maps — read from the EPT descriptor — or an anonymous space at
 * that base; without EPT guest-physical is host-physical.
 */
export function vmcsSpace(t: Target, v: Vmcs): Space {
  const ept = (v.read(F.CPU_BASED_VM_EXEC_CONTROL) & CpuBased.ACTIVATE_SECONDARY_CONTROLS) !== 0 && (v.read(F.SECONDARY_VM_EXEC_CONTROL) & SecondaryExec.ENABLE_EPT) !== 0;
  const desc = v.read(F.EPT_POINTER) & ~0xfff;
  if (!ept || desc === 0) return t.host;
  const base = t.peek32(desc);
  return t.vmSpaces().find((s) => s.base === base) ?? { name: `guest@${hex(base)}`, image: null, base, size: t.peek32(desc + 4), vm: -1 };
}
