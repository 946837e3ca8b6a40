/**
 * Host programs for the VMX tests, built from parts: a standard prologue
 * (host IDT whose stubs report the vector, VMXON, VMCLEAR + VMPTRLD, VMCS
 * set-up with controls adjusted from the capability MSRs plus the bits a
 * test asks for, flat EPT over a guest window in the host's .bss, host
 * state), a VM-exit entry point that appends an exit record (exit reason,
 * qualification, interruption info, ... and the guest's registers) to a log,
 * and per-test code: what to write into the VMCS before VMLAUNCH and what
 * to do at each exit (stop, or skip the instruction and resume, ...).
 *
 * The guest is a separate image assembled at GUEST_BASE (guest-physical)
 * and loaded into the window, as `run --guest FILE@guest_memory` does; its
 * labels are visible to the host as `G_<label>`.
 *
 * Exit codes of the host (EXIT_PORT): 0 by default at host_stop (a test may
 * set [stop_code]), EXIT_VMFAIL when a VMX instruction of the prologue or
 * VMLAUNCH/VMRESUME fails, EXIT_HOST_FAULT + vector for an exception in VMX
 * root operation, EXIT_TOO_MANY after MAX_EXITS exits.
 */
import { assembleSource } from '../../src/asm/assembler.js';
import { lookupSymbol, type Image } from '../../src/asm/image.js';
import { loadImage } from '../../src/machine/loader.js';
import { Machine, type MachineConfig, type RunResult } from '../../src/machine/machine.js';
import { PLATFORM_SYMBOLS } from '../../src/machine/platform-symbols.js';
import { TraceKind, type TraceEvent } from '../../src/trace/trace.js';
import { Field } from '../../src/vmx/fields.js';
import type { Vmcs } from '../../src/vmx/vmcs.js';

export const GUEST_SIZE = 0x10000;
export const GUEST_BASE = 0x1000;
export const GUEST_STACK = 0x8000;
export const EXIT_VMFAIL = 0xfa11;
export const EXIT_HOST_FAULT = 0x100;
export const EXIT_TOO_MANY = 0xdead;
export const MAX_EXITS = 32;

/** One exit record: the fields the exit entry reads with VMREAD, in this order, then the guest's eax..edi. */
export const RECORD_FIELDS = [
  'VM_EXIT_REASON', 'EXIT_QUALIFICATION', 'VM_EXIT_INTR_INFO', 'VM_EXIT_INTR_ERROR_CODE', 'VM_EXIT_INSTRUCTION_LEN',
  'GUEST_RIP', 'GUEST_PHYSICAL_ADDRESS', 'IDT_VECTORING_INFO_FIELD', 'GUEST_INTERRUPTIBILITY_INFO', 'GUEST_RFLAGS',
  'VMX_PREEMPTION_TIMER_VALUE', 'VM_ENTRY_INTR_INFO_FIELD',
] as const satisfies readonly (keyof typeof Field)[];
const REGS = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;
const RECORD_DWORDS = RECORD_FIELDS.length + REGS.length;

export interface ExitRecord {
  reason: number;
  qualification: number;
  intrInfo: number;
  intrErrorCode: number;
  instructionLength: number;
  guestRip: number;
  guestPhysical: number;
  idtVectoring: number;
  interruptibility: number;
  guestRflags: number;
  preemptionTimer: number;
  entryIntrInfo: number;
  /** the guest's general registers at the exit (esp is the host's: use GUEST_RSP) */
  regs: Record<(typeof REGS)[number], number>;
}

export interface HostSpec {
  /** guest program (without .base); omit for root-mode-only programs */
  guest?: string;
  /** extra bits (assembler expressions) wanted in each control word; the must-be-1 bits are added from the capability MSRs */
  pin?: string;
  proc?: string;
  /** secondary controls: EPT is always on */
  proc2?: string;
  exit?: string;
  entry?: string;
  exceptionBitmap?: string;
  /** GUEST_RFLAGS (default 2: IF = 0) */
  guestRflags?: string | number;
  /** GUEST_RIP (default G__start) */
  guestRip?: string;
  /** set GUEST_IDTR to the guest's `idt` label (see guestIdt()) */
  guestIdt?: boolean;
  /** run after the standard VMCS set-up, before VMLAUNCH */
  setup?: string;
  /** code at each exit after the record is written (edi = the record, eax = the exit reason); default: stop */
  onExit?: string;
  /** replaces "set up the VMCS, setup, VMLAUNCH" (root-mode tests); runs after VMXON/VMPTRLD unless told otherwise */
  body?: string;
  /** execute VMXON in the prologue (default true) */
  vmxon?: boolean;
  /** VMCLEAR + VMPTRLD the VMCS in the prologue (default true) */
  loadVmcs?: boolean;
  /** more host code and data */
  extra?: string;
  /** size of the exit log; one more exit stops the host with EXIT_TOO_MANY (default MAX_EXITS) */
  maxExits?: number;
}

const bits = (e: string | undefined): string => (e ? `(${e})` : '0');

/** A 256-gate guest IDT at label `idt` (interrupt gates); vectors without a handler go to `fallback`. */
export function guestIdt(handlers: Record<number, string>, fallback = 'unexpected'): string {
  const gates = Array.from({ length: 256 }, (_, v) => `    .long ${handlers[v] ?? fallback}, IDT_INTERRUPT_GATE`);
  return `\n.data\n.align 8\nidt:\n${gates.join('\n')}\n.text\n`;
}

/** Assembly setting bit `bit` of the bitmap at host label `label` (I/O or MSR bitmaps). */
export function setBit(label: string, bit: number): string {
  return `    or dword [${label} + ${(bit >>> 5) * 4}], ${(1 << (bit & 31)) >>> 0}`;
}

/** Assembly: write `value` (an expression) into VMCS field `field` (checked: a VMfail stops the host). */
export function vmwrite(field: string, value: string | number): string {
  return `    mov eax, ${value}\n    mov ecx, ${field}\n    call vmcs_write`;
}

/** Macros for test bodies (defined before any code that uses them). */
const HOST_MACROS = `
; SAVE_FLAGS slot — results[slot] = EFLAGS
.macro SAVE_FLAGS slot
    pushfd
    pop dword [results + (\\slot)*4]
.endm
; SAVE_ERROR slot — results[slot] = VM_INSTRUCTION_ERROR (-1 if VMREAD fails)
.macro SAVE_ERROR slot
    mov eax, -1
    mov ecx, VM_INSTRUCTION_ERROR
    vmread eax, ecx
    mov [results + (\\slot)*4], eax
.endm
; SET_FLAGS value — EFLAGS = value (to see which flags an instruction changes)
.macro SET_FLAGS value
    push \\value
    popfd
.endm
`;

const HOST_LIB = `
; ---- host library --------------------------------------------------------

; vmx_enable — CR0.NE and CR4.VMXE (fixed in VMX operation), revision id in
; the VMXON region and both VMCS regions, VMXON
vmx_enable:
    mov eax, cr0
    or eax, 0x20
    mov cr0, eax
    mov eax, cr4
    or eax, X86_CR4_VMXE
    mov cr4, eax
    call stamp_regions
    vmxon [vmxon_pointer]
    jbe vmx_insn_failed
    ret

; stamp_regions — write IA32_VMX_BASIC[30:0] (the revision id) into every region
stamp_regions:
    mov ecx, IA32_VMX_BASIC
    rdmsr
    mov [vmxon_region], eax
    mov [vmcs_region], eax
    mov [vmcs2_region], eax
    ret

; vmcs_load — VMCLEAR and VMPTRLD the VMCS at [vmcs_pointer]
vmcs_load:
    vmclear [vmcs_pointer]
    jbe vmx_insn_failed
    vmptrld [vmcs_pointer]
    jbe vmx_insn_failed
    ret

; adjust_controls — eax = wanted bits, ecx = capability MSR: add the
; must-be-1 bits (low dword), drop what is not allowed (high dword)
adjust_controls:
    push ebx
    mov ebx, eax
    rdmsr
    or ebx, eax
    and ebx, edx
    mov eax, ebx
    pop ebx
    ret

; vmcs_write — VMWRITE field ecx = eax; a VMfail stops the host
vmcs_write:
    vmwrite ecx, eax
    jbe vmx_insn_failed
    ret

; vmcs_read — eax = VMREAD field ecx
vmcs_read:
    vmread eax, ecx
    jbe vmx_insn_failed
    ret

; skip_instruction — GUEST_RIP += VM_EXIT_INSTRUCTION_LEN
skip_instruction:
    mov ecx, VM_EXIT_INSTRUCTION_LEN
    call vmcs_read
    mov ebx, eax
    mov ecx, GUEST_RIP
    call vmcs_read
    add eax, ebx
    call vmcs_write
    ret

; resume_guest — the guest's general registers back, VMRESUME
resume_guest:
    mov eax, [guest_regs + 0]
    mov ecx, [guest_regs + 4]
    mov edx, [guest_regs + 8]
    mov ebx, [guest_regs + 12]
    mov ebp, [guest_regs + 20]
    mov esi, [guest_regs + 24]
    mov edi, [guest_regs + 28]
    vmresume
    jmp vmx_insn_failed

; vmx_insn_failed — record EFLAGS, VM_INSTRUCTION_ERROR (-1 without a
; current VMCS) and the caller, stop with EXIT_VMFAIL
vmx_insn_failed:
    pushfd
    pop dword [vmfail_flags]
    mov eax, [esp]
    mov [vmfail_site], eax
    mov eax, -1
    mov ecx, VM_INSTRUCTION_ERROR
    vmread eax, ecx
    mov [vmfail_error], eax
    mov eax, EXIT_VMFAIL
    out EXIT_PORT, eax
    cli
    hlt

; host_stop — end the run with exit code [stop_code]
host_stop:
    mov eax, [stop_code]
    out EXIT_PORT, eax
    cli
    hlt

; host_fault — an exception in VMX root operation: keep the vector and the
; top of the stack (return EIP, or error code then return EIP), stop with
; EXIT_HOST_FAULT + vector
host_fault:
    mov eax, [esp]
    mov [host_fault_frame], eax
    mov eax, [esp + 4]
    mov [host_fault_frame + 4], eax
    mov eax, [host_fault_vector]
    add eax, EXIT_HOST_FAULT
    out EXIT_PORT, eax
    cli
    hlt

; host_idt_init — every vector to its stub, LIDT
host_idt_init:
    xor ecx, ecx
.fill:
    mov eax, [host_stub_table + ecx*4]
    mov [host_idt + ecx*8], eax
    mov dword [host_idt + ecx*8 + 4], IDT_INTERRUPT_GATE
    inc ecx
    cmp ecx, 256
    jb .fill
    lidt [host_idtr]
    ret

`;

/** The VM-exit entry point (HOST_RIP): save the guest's registers, append a record, then the test's code. */
function exitEntry(onExit: string): string {
  const reads = RECORD_FIELDS.map((f, i) => `    mov ecx, ${f}\n    vmread [edi + ${i * 4}], ecx`);
  const regs = REGS.map((r, i) => `    mov eax, [guest_regs + ${i * 4}]\n    mov [edi + ${(RECORD_FIELDS.length + i) * 4}], eax`);
  return `
; vmexit_entry — HOST_RIP. The CPU saves no general registers: keep the
; guest's, then append an exit record to exit_log
vmexit_entry:
${REGS.map((r, i) => (r === 'esp' ? '' : `    mov [guest_regs + ${i * 4}], ${r}`)).filter(Boolean).join('\n')}
    mov eax, [exit_count]
    cmp eax, MAX_EXITS
    jae .too_many
    mov edi, eax
    imul edi, RECORD_SIZE
    add edi, exit_log
${reads.join('\n')}
${regs.join('\n')}
    inc dword [exit_count]
    mov eax, [edi]
    ; ---- the test's exit handling (edi = record, eax = exit reason)
${onExit}
    jmp host_stop
.too_many:
    mov eax, EXIT_TOO_MANY
    out EXIT_PORT, eax
    cli
    hlt
`;
}

/** The standard VMCS: controls, EPT window, host state, flat guest state at the guest's entry. */
function vmcsSetup(s: HostSpec): string {
  const control = (want: string, msr: string, field: string): string =>
    `    mov eax, ${want}\n    mov ecx, ${msr}\n    call adjust_controls\n    mov ecx, ${field}\n    call vmcs_write`;
  return `
; vmcs_setup — controls adjusted from the capability MSRs, EPT, host and guest state
vmcs_setup:
${control(bits(s.pin), 'IA32_VMX_PINBASED_CTLS', 'PIN_BASED_VM_EXEC_CONTROL')}
${control(`${bits(s.proc)} | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS`, 'IA32_VMX_PROCBASED_CTLS', 'CPU_BASED_VM_EXEC_CONTROL')}
    mov [proc_controls], eax
${control(`${bits(s.proc2)} | SECONDARY_EXEC_ENABLE_EPT`, 'IA32_VMX_PROCBASED_CTLS2', 'SECONDARY_VM_EXEC_CONTROL')}
${control(bits(s.exit), 'IA32_VMX_EXIT_CTLS', 'VM_EXIT_CONTROLS')}
${control(bits(s.entry), 'IA32_VMX_ENTRY_CTLS', 'VM_ENTRY_CONTROLS')}
${vmwrite('EXCEPTION_BITMAP', bits(s.exceptionBitmap))}
    ; flat EPT: descriptor {host base of guest-physical 0, window size}
    mov dword [ept_descriptor], guest_memory
    mov dword [ept_descriptor + 4], GUEST_SIZE
${vmwrite('EPT_POINTER', 'ept_descriptor | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4')}
    ; bitmaps (used only when their controls are on; tests set bits)
${vmwrite('IO_BITMAP_A', 'io_bitmap_a')}
${vmwrite('IO_BITMAP_B', 'io_bitmap_b')}
${vmwrite('MSR_BITMAP', 'msr_bitmap')}
    ; host state: exits land at vmexit_entry on a fresh stack
    mov eax, cr0
    mov ecx, HOST_CR0
    call vmcs_write
    mov eax, cr4
    mov ecx, HOST_CR4
    call vmcs_write
${vmwrite('HOST_RIP', 'vmexit_entry')}
${vmwrite('HOST_RSP', 'host_stack_top')}
${vmwrite('HOST_IDTR_BASE', 'host_idt')}
    ; guest state: flat protected mode, CR4.VMXE hidden by the mask
${vmwrite('GUEST_CR0', '0x21')}
${vmwrite('GUEST_CR4', 'X86_CR4_VMXE')}
${vmwrite('CR4_GUEST_HOST_MASK', 'X86_CR4_VMXE')}
${vmwrite('GUEST_RIP', s.guestRip ?? (s.guest ? 'G__start' : 0))}
${vmwrite('GUEST_RSP', 'GUEST_STACK')}
${vmwrite('GUEST_RFLAGS', s.guestRflags ?? 2)}
${s.guestIdt ? `${vmwrite('GUEST_IDTR_BASE', 'G_idt')}\n${vmwrite('GUEST_IDTR_LIMIT', '256*8 - 1')}` : ''}
    ; no shadow VMCS: link pointer = all ones (both halves)
${vmwrite('VMCS_LINK_POINTER', -1)}
${vmwrite('VMCS_LINK_POINTER + 1', -1)}
    ret
`;
}

/** The whole host program. */
export function hostSource(s: HostSpec): string {
  const stubs = Array.from({ length: 256 }, (_, v) => `host_vec_${v}:\n    mov dword [host_fault_vector], ${v}\n    jmp host_fault`);
  const vmxon = s.vmxon ?? true;
  const load = vmxon && (s.loadVmcs ?? true);
  const body = s.body ?? `    call vmcs_setup\n    ; ---- the test's set-up\n${s.setup ?? ''}\n    vmlaunch\n    jmp vmx_insn_failed       ; VMLAUNCH falls through only on VMfail`;
  return `
GUEST_SIZE   = ${GUEST_SIZE}
GUEST_STACK  = ${GUEST_STACK}
EXIT_VMFAIL  = ${EXIT_VMFAIL}
EXIT_HOST_FAULT = ${EXIT_HOST_FAULT}
EXIT_TOO_MANY = ${EXIT_TOO_MANY}
MAX_EXITS    = ${s.maxExits ?? MAX_EXITS}
RECORD_SIZE  = ${RECORD_DWORDS * 4}

${HOST_MACROS}
.text
_start:
    mov esp, host_stack_top
    call host_idt_init
${vmxon ? '    call vmx_enable' : ''}
${load ? '    call vmcs_load' : ''}
${body}
    jmp host_stop
${HOST_LIB}
${exitEntry(s.onExit ?? '')}
${vmcsSetup(s)}
; host exception stubs: one per vector
${stubs.join('\n')}
${s.extra ?? ''}

.data
.align 8
vmxon_pointer:  .long vmxon_region, 0
vmcs_pointer:   .long vmcs_region, 0
vmcs2_pointer:  .long vmcs2_region, 0
host_idtr:      .word 256*8 - 1
                .long host_idt
.align 4
host_stub_table:
${Array.from({ length: 256 }, (_, v) => `    .long host_vec_${v}`).join('\n')}
stop_code:         .long 0
proc_controls:     .long 0
exit_count:        .long 0
vmfail_flags:      .long 0
vmfail_error:      .long 0
vmfail_site:       .long 0
host_fault_vector: .long 0
host_fault_frame:  .long 0, 0
guest_regs:        .space 32
results:           .space 64*4
exit_log:          .space MAX_EXITS * RECORD_SIZE

.bss
.align 4096
vmxon_region:   .space 4096
vmcs_region:    .space 4096
vmcs2_region:   .space 4096
ept_descriptor: .space 4096
io_bitmap_a:    .space 4096
io_bitmap_b:    .space 4096
msr_bitmap:     .space 4096
guest_memory:   .space GUEST_SIZE
host_idt:       .space 256*8
                .space 4096
host_stack_top:
`;
}

const assemble = (text: string, fileName: string, defines: Record<string, number> = {}): Image =>
  assembleSource(text, { fileName, defines: { ...PLATFORM_SYMBOLS, ...defines } });

/** The guest image, assembled at GUEST_BASE (guest-physical). */
export function guestImage(source: string): Image {
  return assemble(`.base ${GUEST_BASE}\nGUEST_STACK = ${GUEST_STACK}\n${source}`, 'guest.s');
}

export class HostRun {
  constructor(
    readonly machine: Machine,
    readonly host: Image,
    readonly guest: Image | undefined,
    readonly result: RunResult,
  ) {}

  /** Address of a host label. */
  sym(name: string): number {
    const s = lookupSymbol(this.host, name);
    if (!s) throw new Error(`host has no symbol ${name}`);
    return s.value;
  }

  /** Guest-physical address of a guest label. */
  gsym(name: string): number {
    const s = this.guest && lookupSymbol(this.guest, name);
    if (!s) throw new Error(`guest has no symbol ${name}`);
    return s.value;
  }

  mem32(a: number | string): number {
    return this.machine.memory.read32(typeof a === 'string' ? this.sym(a) : a) >>> 0;
  }

  /** A dword of guest memory, by guest-physical address or guest label. */
  guest32(a: number | string): number {
    return this.mem32(this.sym('guest_memory') + (typeof a === 'string' ? this.gsym(a) : a));
  }

  /** results[i] (SAVE_FLAGS / SAVE_ERROR / stores by the test body). */
  results(i: number): number {
    return this.mem32(this.sym('results') + 4 * i);
  }

  get exitCode(): number | null {
    return this.result.exitCode;
  }

  /** The exit records, oldest first. */
  get exits(): ExitRecord[] {
    const n = this.mem32('exit_count');
    const base = this.sym('exit_log');
    return Array.from({ length: n }, (_, i) => {
      const d = (j: number): number => this.mem32(base + (i * RECORD_DWORDS + j) * 4);
      return {
        reason: d(0), qualification: d(1), intrInfo: d(2), intrErrorCode: d(3), instructionLength: d(4), guestRip: d(5),
        guestPhysical: d(6), idtVectoring: d(7), interruptibility: d(8), guestRflags: d(9), preemptionTimer: d(10), entryIntrInfo: d(11),
        regs: Object.fromEntries(REGS.map((r, k) => [r, d(RECORD_FIELDS.length + k)])) as ExitRecord['regs'],
      };
    });
  }

  get exitReasons(): number[] {
    return this.exits.map((e) => e.reason);
  }

  /** VM-instruction failure recorded by vmx_insn_failed. */
  get vmfail(): { flags: number; error: number } {
    return { flags: this.mem32('vmfail_flags'), error: this.mem32('vmfail_error') };
  }

  /** Exception taken in VMX root operation: vector and the two dwords at the top of the handler's stack. */
  get hostFault(): { vector: number; frame: [number, number] } {
    return { vector: this.mem32('host_fault_vector'), frame: [this.mem32('host_fault_frame'), this.mem32(this.sym('host_fault_frame') + 4)] };
  }

  /** The current VMCS (read without side effects). */
  get vmcs(): Vmcs {
    const v = this.machine.cpus[0].vmx!.vmcs;
    if (!v) throw new Error('no current VMCS');
    return v;
  }

  /** Kept trace events, optionally of some kinds only. */
  events(...kinds: TraceKind[]): TraceEvent[] {
    const all = this.machine.trace.recent();
    return kinds.length ? all.filter((e) => kinds.includes(e.kind)) : all;
  }
}

export interface RunOptions {
  config?: Partial<MachineConfig>;
  untilCycles?: number;
  maxInstructions?: number;
}

/** Assemble guest and host, load both, run until the host stops. */
export function runHost(spec: HostSpec, opts: RunOptions = {}): HostRun {
  const guest = spec.guest !== undefined ? guestImage(spec.guest) : undefined;
  const defines: Record<string, number> = {};
  for (const s of guest?.symbols ?? []) if (!s.name.includes('.')) defines[`G_${s.name}`] = s.value;
  const host = assemble(hostSource(spec), 'host.s', defines);
  const machine = new Machine({ cpus: 1, memoryBytes: 2 << 20, traceKeep: 4096, ...opts.config });
  loadImage(machine.memory, host, 'host.s');
  if (guest) {
    const at = lookupSymbol(host, 'guest_memory')!.value;
    loadImage(machine.memory, guest, 'guest.s', at, GUEST_SIZE);
  }
  machine.start(host.entry);
  const result = machine.run({ untilCycles: opts.untilCycles ?? 1e8, maxInstructions: opts.maxInstructions ?? 2e6 });
  return new HostRun(machine, host, guest, result);
}

/** onExit code: skip the exiting instruction and resume, until a VMCALL exit (then stop). */
export const RESUME_UNTIL_VMCALL = `
    cmp eax, EXIT_REASON_VMCALL
    je host_stop
    cmp dword [edi + 16], 0      ; VM_EXIT_INSTRUCTION_LEN: 0 for exits not caused by an instruction
    je resume_guest
    call skip_instruction
    jmp resume_guest`;

/** Exit reason with the "VM-entry failure" bit (SDM 24.9.1). */
export const ENTRY_FAILURE = 0x80000000;

export { Field as F, TraceKind };
