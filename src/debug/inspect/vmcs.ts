/**
 * `info vmcs`: the current VMCS of a CPU, field by field (the one field
 * table, src/vmx/fields.ts), with meanings: controls as KVM's flag names
 * (src/vmx/controls.ts), the exit reason by name, interruption information
 * as vector/type/valid, the exit qualification, guest/host RIP with symbols.
 * VMCS reads have no side effects.
 */
import type { Cpu } from '../../cpu/cpu.js';
import {
  ActivityState, CpuBased, EntryControls, ExitControls, INTR_INFO_DELIVER_CODE, INTR_INFO_VALID, IntrType, Interruptibility, PinBased, SecondaryExec,
} from '../../vmx/controls.js';
import { exitReasonName } from '../../vmx/exit-reasons.js';
import { Field as F, type FieldInfo } from '../../vmx/fields.js';
import { Hypercall } from '../../vmx/hypercalls.js';
import type { Vmcs } from '../../vmx/vmcs.js';
import { hex, type Target } from '../target.js';
import { vmcsSpace } from './registers.js';

const flagNames = (table: Record<string, number>, v: number): string => {
  const names = Object.entries(table).filter(([, bit]) => (v & bit) !== 0).map(([n]) => n);
  const known = Object.values(table).reduce((m, b) => m | b, 0);
  const rest = (v & ~known) >>> 0;
  if (rest) names.push(`default1 ${hex(rest)}`); // unnamed bits that may be 1 are the reserved "default1" ones (SDM A.2)
  return names.join(' | ') || '-';
};

/** `vector 0xec type EXT_INTR valid` for an interruption-information field. */
export function decodeIntrInfo(v: number): string {
  if (!(v & INTR_INFO_VALID)) return 'not valid';
  const type = IntrType[(v >> 8) & 7] ?? `type ${(v >> 8) & 7}`;
  return `vector ${hex(v & 0xff, 2)} type ${type}${v & INTR_INFO_DELIVER_CODE ? ' +error code' : ''} valid`;
}

/** Exit qualification in words, where the SDM gives it a format we use. */
function qualification(reason: number, q: number): string {
  switch (reason & 0xffff) {
    case 30: return `port ${hex(q >>> 16, 4)} size ${(q & 7) + 1} ${q & 8 ? 'in' : 'out'}${q & 16 ? ' string' : ''}`;
    case 28: return `cr${q & 15} ${(q >> 4) & 3 ? 'access' : 'mov to'} gpr ${(q >> 8) & 15}`;
    case 48: return `${q & 1 ? 'read ' : ''}${q & 2 ? 'write ' : ''}${q & 4 ? 'fetch' : ''}`.trim();
    default: return '';
  }
}

const HC_NAMES = new Map(Object.entries(Hypercall).map(([n, v]) => [v as number, n]));
export const hypercallName = (nr: number): string => HC_NAMES.get(nr) ?? `hypercall ${nr}`;

/** The meaning of one field's value, or '' when the hex value says it all. */
function meaning(t: Target, v: Vmcs, f: FieldInfo, value: number): string {
  const gs = vmcsSpace(t, v);
  switch (f.encoding) {
    case F.PIN_BASED_VM_EXEC_CONTROL: return flagNames(PinBased, value);
    case F.CPU_BASED_VM_EXEC_CONTROL: return flagNames(CpuBased, value);
    case F.SECONDARY_VM_EXEC_CONTROL: return flagNames(SecondaryExec, value);
    case F.VM_EXIT_CONTROLS: return flagNames(ExitControls, value);
    case F.VM_ENTRY_CONTROLS: return flagNames(EntryControls, value);
    case F.VM_EXIT_REASON: return exitReasonName(value);
    case F.VM_EXIT_INTR_INFO:
    case F.IDT_VECTORING_INFO_FIELD:
    case F.VM_ENTRY_INTR_INFO_FIELD: return decodeIntrInfo(value);
    case F.EXIT_QUALIFICATION: return qualification(v.read(F.VM_EXIT_REASON), value);
    case F.GUEST_INTERRUPTIBILITY_INFO: return flagNames({ 'blocking by STI': Interruptibility.STI, 'by MOV SS': Interruptibility.MOV_SS, 'by SMI': Interruptibility.SMI, 'by NMI': Interruptibility.NMI }, value);
    case F.GUEST_ACTIVITY_STATE: return ActivityState[value] ?? '';
    case F.GUEST_RIP: return t.describe(gs, value);
    case F.HOST_RIP:
    case F.HOST_IDTR_BASE: return t.describe(t.host, value);
    case F.GUEST_RFLAGS: return flagNamesEflags(value);
    case F.EPT_POINTER: return value ? `descriptor ${hex(value & ~0xfff)}: guest-physical 0 = host ${hex(t.peek32(value & ~0xfff))}, ${t.peek32((value & ~0xfff) + 4) >>> 10} KiB${gs !== t.host ? ` (${gs.name})` : ''}` : '';
    case F.VMCS_LINK_POINTER: return value === 0xffffffff ? 'none (all ones)' : '';
    default: return '';
  }
}

const EFLAGS: Record<string, number> = { CF: 1, PF: 4, AF: 16, ZF: 64, SF: 128, TF: 256, IF: 512, DF: 1024, OF: 2048 };
const flagNamesEflags = (v: number): string => Object.entries(EFLAGS).filter(([, b]) => v & b).map(([n]) => n).join(' ') || '-';

const SECTIONS: [FieldInfo['type'], string][] = [['control', 'VM-execution, exit and entry controls'], ['exit-info', 'VM-exit information (read-only)'], ['guest', 'guest state'], ['host', 'host state']];

/**
 * The current VMCS of `cpu`. `all` shows every field; otherwise zero-valued
 * fields are left out (they are listed by name at the end of their section).
 */
export function infoVmcs(t: Target, cpu: Cpu, all = false, only?: string[]): string[] {
  const v = cpu.vmx?.vmcs;
  if (!v) return [`cpu${cpu.id}: no current VMCS (${cpu.vmx?.on ? 'VMX on' : 'not in VMX operation'})`];
  const vm = vmcsSpace(t, v);
  const lines = [`cpu${cpu.id}: current VMCS ${hex(v.address)} (${v.launchState})${vm !== t.host ? `, ${vm.vm >= 0 ? 'vm ' : ''}${vm.name}` : ''}, CPU in ${cpu.nonRoot ? 'non-root (the guest runs it)' : 'root'} mode`];
  const rows = v.dump();
  const pick = only?.map((n) => n.toUpperCase());
  for (const [type, title] of SECTIONS) {
    const sect = rows.filter((r) => r.info.type === type && (!pick || pick.some((p) => r.info.name.includes(p))));
    if (sect.length === 0) continue;
    if (!pick) lines.push(`${title}:`);
    const zero: string[] = [];
    for (const { info, value, high } of sect) {
      if (!all && !pick && value === 0 && high === 0) { zero.push(info.name); continue; }
      const val = info.width === 64 && high ? `${hex(high, 8)}_${(value >>> 0).toString(16).padStart(8, '0')}` : hex(value, info.width === 16 ? 4 : 8);
      const m = meaning(t, v, info, value);
      lines.push(`  ${info.name.padEnd(30)} ${hex(info.encoding, 4)}  ${m ? `${val.padEnd(19)} ${m}` : val}`);
    }
    if (zero.length) lines.push(`  (zero: ${zero.join(' ')})`);
  }
  return lines;
}
