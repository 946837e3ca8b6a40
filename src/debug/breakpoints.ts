/**
 * Breakpoints: on VM exits (any, or by reason name/number), VM entries,
 * VMCALL (by hypercall number or name: `hc_boost` = KVM_HC_BOOST), injection
 * of a vector, a tracepoint (Linux names), SMIs, and code addresses of a
 * space (`rtos:irt_isr`, `host:vmx_handle_exit`, `*0x1234`). Filters: `vm
 * NAME`, `vcpu N` (index in its VM), `cpu N`, `host`/`guest` for
 * tracepoints; a condition after `if` (see expr.ts).
 */
import { TRACEPOINT_ID, tracepointName } from '../isa/tracepoints.js';
import { TraceKind } from '../trace/trace.js';
import { ExitReason, exitReasonName } from '../vmx/exit-reasons.js';
import { Hypercall } from '../vmx/hypercalls.js';
import type { SeenEvent } from './events.js';
import { hypercallName } from './inspect/vmcs.js';
import { DebugError, hex, type Space } from './target.js';

export type BreakKind = 'exit' | 'entry' | 'vmcall' | 'inject' | 'tracepoint' | 'smi' | 'address';

export interface Breakpoint {
  id: number;
  kind: BreakKind;
  enabled: boolean;
  hits: number;
  cond?: string;
  reason?: number;
  nr?: number;
  vector?: number;
  tp?: number;
  vm?: string;
  vcpu?: number;
  cpu?: number;
  where?: 'host' | 'guest';
  space?: Space;
  addr?: number;
  /** an address breakpoint's symbolic name */
  label?: string;
}

const KINDS: Record<string, BreakKind> = {
  exit: 'exit', 'vm-exit': 'exit', vmexit: 'exit', entry: 'entry', 'vm-entry': 'entry', vmentry: 'entry', vmcall: 'vmcall', hypercall: 'vmcall',
  inject: 'inject', injection: 'inject', tp: 'tracepoint', tracepoint: 'tracepoint', smi: 'smi',
};

export function parseExitReason(s: string): number {
  if (/^\d+$/.test(s)) return Number(s);
  const name = s.toUpperCase().replace(/^EXIT_REASON_/, '');
  const v = (ExitReason as unknown as Record<string, number>)[name];
  if (v === undefined) throw new DebugError(`no exit reason '${s}' (e.g. EXTERNAL_INTERRUPT, HLT, VMCALL, IO_INSTRUCTION, or a number)`);
  return v;
}

export function parseHypercall(s: string): number {
  if (/^(0x[0-9a-f]+|\d+)$/i.test(s)) return Number(s);
  const u = s.toUpperCase();
  const short = u.replace(/^HC_/, '');
  for (const [name, nr] of Object.entries(Hypercall)) {
    if (name === u || name === `KVM_HC_${short}` || name === `VMXSIM_HC_${short}`) return nr;
  }
  throw new DebugError(`no hypercall '${s}' (known: ${Object.keys(Hypercall).join(', ')}; hc_boost = KVM_HC_BOOST)`);
}

const num = (s: string | undefined, what: string): number => {
  if (s === undefined || !/^(0x[0-9a-f]+|\d+)$/i.test(s)) throw new DebugError(`${what}: expected a number, got '${s ?? ''}'`);
  return Number(s);
};

/** Parse the text after `break`. `resolve` turns an address expression into a space and address. */
export function parseBreakpoint(text: string, resolve: (expr: string) => { space: Space; addr: number }): Omit<Breakpoint, 'id' | 'hits' | 'enabled'> {
  const ifAt = text.search(/\bif\b/);
  const cond = ifAt >= 0 ? text.slice(ifAt + 2).trim() : undefined;
  if (ifAt >= 0 && !cond) throw new DebugError('`if` needs a condition, e.g. `b vmcall if ebx == 0`');
  const words = (ifAt >= 0 ? text.slice(0, ifAt) : text).trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) throw new DebugError('break what? e.g. `b exit EXTERNAL_INTERRUPT vm rtos`, `b vmcall hc_boost`, `b rtos:irt_isr` (help break)');
  const kind = KINDS[words[0].toLowerCase()];
  if (!kind) {
    const r = resolve(words[0].replace(/^\*/, ''));
    const bp: Omit<Breakpoint, 'id' | 'hits' | 'enabled'> = { kind: 'address', space: r.space, addr: r.addr, cond };
    filters(bp, words.slice(1));
    return bp;
  }
  const bp: Omit<Breakpoint, 'id' | 'hits' | 'enabled'> = { kind, cond };
  let rest = words.slice(1);
  const arg = rest[0] !== undefined && !['vm', 'vcpu', 'cpu', 'host', 'guest'].includes(rest[0].toLowerCase()) ? rest[0] : undefined;
  if (arg !== undefined) {
    rest = rest.slice(1);
    if (kind === 'exit') bp.reason = parseExitReason(arg);
    else if (kind === 'vmcall') bp.nr = parseHypercall(arg);
    else if (kind === 'inject') bp.vector = num(arg, 'inject VECTOR');
    else if (kind === 'tracepoint') {
      const id = /^\d+$/.test(arg) ? Number(arg) : TRACEPOINT_ID.get(arg);
      if (id === undefined) throw new DebugError(`no tracepoint '${arg}' (e.g. kvm_entry, sched_switch, irq_enable; see \`help break\`)`);
      bp.tp = id;
    } else throw new DebugError(`break ${kind} takes no '${arg}'`);
  } else if (kind === 'tracepoint') throw new DebugError('break tracepoint NAME');
  filters(bp, rest);
  return bp;
}

function filters(bp: Omit<Breakpoint, 'id' | 'hits' | 'enabled'>, words: string[]): void {
  for (let i = 0; i < words.length; i++) {
    const w = words[i].toLowerCase();
    if (w === 'vm') bp.vm = words[++i] ?? (() => { throw new DebugError('vm NAME'); })();
    else if (w === 'vcpu') bp.vcpu = num(words[++i], 'vcpu N');
    else if (w === 'cpu') bp.cpu = num(words[++i], 'cpu N');
    else if (w === 'host' || w === 'guest') bp.where = w;
    else throw new DebugError(`unexpected '${words[i]}' (filters: vm NAME, vcpu N, cpu N, host, guest; condition: if EXPR)`);
  }
}

export function describeBreakpoint(b: Omit<Breakpoint, 'id' | 'hits' | 'enabled'>): string {
  const f = [b.vm && `vm ${b.vm}`, b.vcpu !== undefined && `vcpu ${b.vcpu}`, b.cpu !== undefined && `cpu ${b.cpu}`, b.where].filter(Boolean).join(' ');
  let what: string;
  switch (b.kind) {
    case 'exit': what = `VM exit ${b.reason === undefined ? '(any)' : `${exitReasonName(b.reason)} (${b.reason})`}`; break;
    case 'entry': what = 'VM entry'; break;
    case 'vmcall': what = `VMCALL ${b.nr === undefined ? '(any)' : `${hypercallName(b.nr)} (${b.nr})`}`; break;
    case 'inject': what = `injection${b.vector === undefined ? '' : ` of vector ${hex(b.vector, 2)}`}`; break;
    case 'tracepoint': what = `tracepoint ${tracepointName(b.tp!)}`; break;
    case 'smi': what = 'SMI'; break;
    default: what = b.label ? `${b.label} (${hex(b.addr!)})` : `${b.space!.name}:${hex(b.addr!)}`;
  }
  return `${what}${f ? ` ${f}` : ''}${b.cond ? ` if ${b.cond}` : ''}`;
}

/** Does an event match a breakpoint's kind and filters (not its condition)? `nr` = EAX at a VMCALL exit; `vcpuIndex` = index in its VM. */
export function eventMatches(b: Breakpoint, x: SeenEvent, nr: number, vcpuIndex: number | undefined): boolean {
  const { e } = x;
  if (b.cpu !== undefined && b.cpu !== e.cpu) return false;
  switch (b.kind) {
    case 'exit':
      if (e.kind !== TraceKind.VmExit) return false;
      if (b.reason !== undefined && (e.a & 0xffff) !== b.reason) return false;
      break;
    case 'vmcall':
      if (e.kind !== TraceKind.VmExit || (e.a & 0xffff) !== ExitReason.VMCALL) return false;
      if (b.nr !== undefined && nr !== b.nr) return false;
      break;
    case 'entry':
      if (e.kind !== TraceKind.VmEntry) return false;
      break;
    case 'inject':
      if (e.kind !== TraceKind.VmInject) return false;
      if (b.vector !== undefined && (e.a & 0xff) !== b.vector) return false;
      break;
    case 'tracepoint':
      if (e.kind !== TraceKind.Tracepoint || e.a !== b.tp) return false;
      if (b.where === 'host' && x.guest) return false;
      if (b.where === 'guest' && !x.guest) return false;
      if (b.vm !== undefined && x.guest !== b.vm) return false;
      return true;
    case 'smi':
      return e.kind === TraceKind.SmiEnter;
    default:
      return false;
  }
  const vm = e.kind === TraceKind.VmExit ? x.vm : x.guest;
  if (b.vm !== undefined && vm !== b.vm) return false;
  if (b.vcpu !== undefined && vcpuIndex !== b.vcpu) return false;
  return true;
}
