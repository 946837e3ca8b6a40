/**
 * Trace events as the debugger shows them (`trace`, stop messages), with the
 * context the session tracked when they were emitted: which VM the CPU was
 * running (VmEntry to VmExit), and which vCPU (the last `kvm_entry`).
 */
import { tracepointName } from '../isa/tracepoints.js';
import { TraceKind, type TraceEvent } from '../trace/trace.js';
import { exitReasonName } from '../vmx/exit-reasons.js';
import { decodeIntrInfo } from './inspect/vmcs.js';
import { hex, type Target } from './target.js';

export interface SeenEvent {
  e: TraceEvent;
  /** the VM the CPU was in when the event was emitted (null: host) */
  guest: string | null;
  /** for VmExit: the VM left and the vCPU (global id) that ran it */
  vm?: string | null;
  vcpu?: number;
}

const EVENT_TYPE = ['external', '?', 'NMI', 'exception', 'software'];

export function describeEvent(x: SeenEvent): string {
  const { e } = x;
  switch (e.kind) {
    case TraceKind.Tracepoint: return `${x.guest ? `${x.guest}: ` : ''}${tracepointName(e.a)} ${hex(e.b)}`;
    case TraceKind.Interrupt: return `interrupt vector ${hex(e.a, 2)} (${EVENT_TYPE[e.b] ?? e.b})${x.guest ? ` in ${x.guest}` : ''}`;
    case TraceKind.Halt: return `hlt${x.guest ? ` in ${x.guest}` : ''}`;
    case TraceKind.Wake: return 'wake';
    case TraceKind.Ipi: return `IPI to ${e.a} icr ${hex(e.b, 8)}`;
    case TraceKind.TripleFault: return 'triple fault';
    case TraceKind.ApicTimer: return `APIC timer vector ${hex(e.a, 2)}${e.b ? ' (masked)' : ''}`;
    case TraceKind.IoApicIrq: return `I/O APIC irq ${e.a} vector ${hex(e.b, 2)}`;
    case TraceKind.UartTx: return `uart tx ${hex(e.a, 2)}`;
    case TraceKind.DiskComplete: return `disk complete status ${e.a} lba ${e.b}`;
    case TraceKind.MachineExit: return `machine exit code ${e.a}`;
    case TraceKind.Startup: return `startup vector ${hex(e.a, 2)}`;
    case TraceKind.VmEntry: return `VM entry${x.guest ? ` ${x.guest}` : ''} rip ${hex(e.a)}`;
    case TraceKind.VmExit: return `VM exit ${exitReasonName(e.a >>> 0)}${x.vm ? ` from ${x.vm}` : ''} qual ${hex(e.b)}`;
    case TraceKind.VmInject: return `inject ${decodeIntrInfo(e.a >>> 0)}`;
    case TraceKind.SmiEnter: return `SMI: enter SMM${e.a ? ' (from a guest)' : ''}`;
    case TraceKind.SmiLeave: return 'RSM: leave SMM';
    default: return `event ${e.kind} ${hex(e.a)} ${hex(e.b)}`;
  }
}

export function formatEvent(t: Target, x: SeenEvent): string {
  const us = ((x.e.time / t.hz) * 1e6).toFixed(3).padStart(12);
  return `${us} us  cpu${x.e.cpu}  ${describeEvent(x)}`;
}
