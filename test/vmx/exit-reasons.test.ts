/**
 * Instruction-caused VM exits and the exit information they record (SDM
 * Vol. 3 ch. 25 "VMX non-root operation", 27.2 "Recording VM-exit
 * information"; reasons from Appendix C). Each row is a guest whose
 * instruction at label `at` should exit; `after` follows it, so the
 * instruction length is after - at. The host (test/helpers/vmx-host.ts)
 * records VM_EXIT_REASON, EXIT_QUALIFICATION, VM_EXIT_INTR_INFO, ... at
 * HOST_RIP and stops at the first exit.
 */
import { describe, expect, it } from 'vitest';
import {
  ENTRY_FAILURE, GUEST_SIZE, RESUME_UNTIL_VMCALL, guestIdt, runHost, setBit, vmwrite, type ExitRecord, type HostRun, type HostSpec,
} from '../helpers/vmx-host.js';
import { ExitReason as R } from '../../src/vmx/exit-reasons.js';

const VALID = 0x80000000;
const HW_EXCEPTION = 3 << 8;
const DELIVER_CODE = 1 << 11;

type Want = Partial<Omit<ExitRecord, 'regs'>> & { regs?: Partial<ExitRecord['regs']> };

interface Row {
  name: string;
  guest: string;
  spec?: Omit<HostSpec, 'guest'>;
  reason: number;
  /** expected record fields (or a function of the run, for guest labels); guestRip defaults to label `at` */
  want?: Want | ((r: HostRun) => Want);
  /** VM_EXIT_INSTRUCTION_LEN = after - at (instruction-caused exits) */
  length?: boolean;
}

/** A guest that runs `pre`, then the instruction under test at `at`, then reports "no exit" by VMCALL. */
const g = (insn: string, pre = ''): string => `_start:\n${pre}\nat: ${insn}\nafter:\n    vmcall\n    jmp $\n`;

function check(r: HostRun, row: Row): ExitRecord {
  expect(r.exitCode, 'host stopped normally').toBe(0);
  const e = r.exits[0];
  expect(e, 'an exit was recorded').toBeDefined();
  expect(e.reason >>> 0, 'VM_EXIT_REASON').toBe(row.reason >>> 0);
  const { regs, ...fields } = (typeof row.want === 'function' ? row.want(r) : row.want) ?? {};
  expect(e.guestRip, 'GUEST_RIP').toBe(fields.guestRip ?? r.gsym('at'));
  for (const [k, v] of Object.entries(fields)) expect(e[k as keyof typeof fields] >>> 0, k).toBe((v as number) >>> 0);
  for (const [k, v] of Object.entries(regs ?? {})) expect(e.regs[k as keyof ExitRecord['regs']] >>> 0, k).toBe(v! >>> 0);
  if (row.length) expect(e.instructionLength, 'VM_EXIT_INSTRUCTION_LEN').toBe(r.gsym('after') - r.gsym('at'));
  return e;
}

/** The instruction at `at` did not exit: the VMCALL at `after` did. */
const atAfter = (r: HostRun): Want => ({ guestRip: r.gsym('after') });

const runRow = (row: Row): HostRun => runHost({ guest: row.guest, ...row.spec });

describe('exception bitmap (reason 0, EXCEPTION_NMI)', () => {
  const rows: Row[] = [
    {
      name: '#UD from ud2 with bitmap bit 6: hardware exception, no error code',
      guest: g('ud2'),
      spec: { exceptionBitmap: '1 << VEC_UD' },
      reason: R.EXCEPTION_NMI,
      want: { intrInfo: VALID | HW_EXCEPTION | 6, intrErrorCode: 0 },
    },
    {
      // MSR bitmaps all zero: the RDMSR runs in the guest and faults instead of exiting
      name: '#GP(0) from RDMSR of an unknown MSR with bitmap bit 13: error code valid',
      guest: g('rdmsr', '    mov ecx, 0x1ff0'),
      spec: { exceptionBitmap: '1 << VEC_GP', proc: 'CPU_BASED_USE_MSR_BITMAPS' },
      reason: R.EXCEPTION_NMI,
      want: { intrInfo: VALID | HW_EXCEPTION | DELIVER_CODE | 13, intrErrorCode: 0 },
    },
    {
      // the same #UD without its bitmap bit goes through the guest IDT: its handler's VMCALL exits
      name: '#UD without bitmap bit 6 is delivered to the guest',
      guest: `${g('ud2')}\nud_handler:\n    mov ebx, [esp]\nhandler_call:\n    vmcall\n${guestIdt({ 6: 'ud_handler' }, 'ud_handler')}`,
      spec: { exceptionBitmap: '~(1 << VEC_UD) & 0xffffffff', guestIdt: true },
      reason: R.VMCALL,
      // the fault's return EIP (top of the handler's stack) is the ud2
      want: (r) => ({ guestRip: r.gsym('handler_call'), intrInfo: 0, regs: { ebx: r.gsym('at') } }),
    },
  ];
  it.each(rows)('$name', (row) => void check(runRow(row), row));
});

describe('unconditional instruction exits', () => {
  const rows: Row[] = [
    { name: 'CPUID always exits (10)', guest: g('cpuid', '    xor eax, eax'), reason: R.CPUID, length: true, want: { qualification: 0 } },
    { name: 'VMCALL (18)', guest: g('vmcall'), reason: R.VMCALL, length: true },
    { name: 'HLT with HLT exiting (12)', guest: g('hlt'), spec: { proc: 'CPU_BASED_HLT_EXITING' }, reason: R.HLT, length: true },
    { name: 'RDTSC with RDTSC exiting (16)', guest: g('rdtsc'), spec: { proc: 'CPU_BASED_RDTSC_EXITING' }, reason: R.RDTSC, length: true },
    { name: 'PAUSE with PAUSE exiting (40)', guest: g('pause'), spec: { proc: 'CPU_BASED_PAUSE_EXITING' }, reason: R.PAUSE_INSTRUCTION, length: true },
    // without the controls the same instructions run in the guest: the VMCALL after them is the first exit
    { name: 'RDTSC without RDTSC exiting runs in the guest', guest: g('rdtsc'), reason: R.VMCALL, want: atAfter },
    { name: 'PAUSE without PAUSE exiting runs in the guest', guest: g('pause'), reason: R.VMCALL, want: atAfter },
  ];
  it.each(rows)('$name', (row) => void check(runRow(row), row));
});

describe('VMX instructions in VMX non-root operation exit with their own reasons (19-27)', () => {
  const rows: [string, string, number][] = [
    ['vmclear', 'vmclear [0x2000]', R.VMCLEAR],
    ['vmlaunch', 'vmlaunch', R.VMLAUNCH],
    ['vmptrld', 'vmptrld [0x2000]', R.VMPTRLD],
    ['vmptrst', 'vmptrst [0x2000]', R.VMPTRST],
    ['vmread', 'vmread eax, ecx', R.VMREAD],
    ['vmresume', 'vmresume', R.VMRESUME],
    ['vmwrite', 'vmwrite ecx, eax', R.VMWRITE],
    ['vmxoff', 'vmxoff', R.VMOFF],
    ['vmxon', 'vmxon [0x2000]', R.VMON],
  ];
  it.each(rows)('%s → exit %d', (_name, insn, reason) => {
    // ecx holds a valid encoding so that a VMREAD/VMWRITE run as root would succeed
    const r = runRow({ name: insn, guest: g(insn, '    mov ecx, GUEST_RIP\n    xor eax, eax'), reason });
    check(r, { name: insn, guest: '', reason, length: true });
    // the guest's instruction did nothing to the host's VMX state: the VMCS is still current and launched
    expect(r.machine.cpus[0].vmx!.vmcs, 'current VMCS').not.toBeNull();
  });
});

// I/O exit qualification, SDM Table 27-5: size - 1 in bits 2:0, direction in bit 3 (1 = IN),
// operand encoding in bit 6 (1 = immediate), port in bits 31:16
const ioQual = (port: number, size: number, isIn: boolean, imm: boolean): number =>
  ((size - 1) | (isIn ? 8 : 0) | (imm ? 64 : 0) | (port << 16)) >>> 0;

describe('I/O instructions (30)', () => {
  const uncond = { proc: 'CPU_BASED_UNCOND_IO_EXITING' };
  const bitmaps = (...setup: string[]): Omit<HostSpec, 'guest'> => ({
    // with "use I/O bitmaps" the unconditional control is ignored (SDM 25.1.3)
    proc: 'CPU_BASED_USE_IO_BITMAPS | CPU_BASED_UNCOND_IO_EXITING',
    setup: setup.join('\n'),
  });
  const rows: Row[] = [
    { name: 'out dx, al (unconditional)', guest: g('out dx, al', '    mov edx, 0x3f8'), spec: uncond, reason: R.IO_INSTRUCTION, length: true, want: { qualification: ioQual(0x3f8, 1, false, false) } },
    { name: 'in eax, 0x60 (unconditional)', guest: g('in eax, 0x60'), spec: uncond, reason: R.IO_INSTRUCTION, length: true, want: { qualification: ioQual(0x60, 4, true, true) } },
    { name: 'out 0x80, ax (unconditional)', guest: g('out 0x80, ax'), spec: uncond, reason: R.IO_INSTRUCTION, length: true, want: { qualification: ioQual(0x80, 2, false, true) } },
    { name: 'in al, dx from port 0x1234 (unconditional)', guest: g('in al, dx', '    mov edx, 0x1234'), spec: uncond, reason: R.IO_INSTRUCTION, length: true, want: { qualification: ioQual(0x1234, 1, true, false) } },
    {
      name: 'bitmap A: port 0x61 runs, port 0x60 (its bit set) exits',
      guest: g('in eax, 0x60', '    in eax, 0x61\n    mov ebx, 0x5a5a'),
      spec: bitmaps(setBit('io_bitmap_a', 0x60)),
      reason: R.IO_INSTRUCTION, length: true,
      want: { qualification: ioQual(0x60, 4, true, true), regs: { ebx: 0x5a5a } },
    },
    {
      name: 'bitmap A: a 4-byte access from 0x5e exits because it covers port 0x60',
      guest: g('in eax, dx', '    mov edx, 0x5e'),
      spec: bitmaps(setBit('io_bitmap_a', 0x60)),
      reason: R.IO_INSTRUCTION, length: true,
      want: { qualification: ioQual(0x5e, 4, true, false) },
    },
    {
      name: 'bitmap B: port 0x8002 runs, port 0x8001 (its bit set) exits',
      guest: g('out dx, al', '    mov edx, 0x8002\n    out dx, al\n    mov edx, 0x8001'),
      spec: bitmaps(setBit('io_bitmap_b', 0x8001 - 0x8000)),
      reason: R.IO_INSTRUCTION, length: true,
      want: { qualification: ioQual(0x8001, 1, false, false) },
    },
    {
      name: 'bitmaps all zero: no I/O exits at all',
      guest: g('in eax, 0x60', '    out 0x80, al'),
      spec: bitmaps(),
      reason: R.VMCALL,
      want: atAfter,
    },
  ];
  it.each(rows)('$name', (row) => void check(runRow(row), row));
});

// MSR bitmap (SDM 24.6.9): read-low, read-high, write-low, write-high, 1 KiB each
const msrBit = (msr: number, write: boolean): number => ((write ? 2048 : 0) + (msr >= 0xc0000000 ? 1024 : 0)) * 8 + (msr & 0x1fff);

describe('RDMSR / WRMSR (31, 32)', () => {
  const withBitmaps = (...setup: string[]): Omit<HostSpec, 'guest'> => ({ proc: 'CPU_BASED_USE_MSR_BITMAPS', setup: setup.join('\n') });
  const rows: Row[] = [
    { name: 'no MSR bitmaps: RDMSR of the TSC exits', guest: g('rdmsr', '    mov ecx, IA32_TIME_STAMP_COUNTER'), reason: R.MSR_READ, length: true, want: { regs: { ecx: 0x10 } } },
    { name: 'no MSR bitmaps: WRMSR of IA32_TSC_DEADLINE exits', guest: g('wrmsr', '    mov ecx, IA32_TSC_DEADLINE'), reason: R.MSR_WRITE, length: true, want: { regs: { ecx: 0x6e0 } } },
    {
      name: 'bitmaps: RDMSR of IA32_APIC_BASE (bit clear) runs, of the TSC (read-low bit set) exits',
      guest: g('rdmsr', '    mov ecx, IA32_APIC_BASE\n    rdmsr\n    mov ebx, eax\n    mov ecx, IA32_TIME_STAMP_COUNTER'),
      spec: withBitmaps(setBit('msr_bitmap', msrBit(0x10, false))),
      reason: R.MSR_READ, length: true,
      want: { regs: { ebx: 0xfee00d00 } }, // base | enable | x2APIC | BSP, read from the real APIC
    },
    {
      name: 'bitmaps: WRMSR of the TPR (bit clear) runs, of IA32_TSC_DEADLINE (write-low bit set) exits',
      guest: g('wrmsr', '    mov ecx, X2APIC_TPR\n    xor eax, eax\n    xor edx, edx\n    wrmsr\n    mov ecx, IA32_TSC_DEADLINE'),
      spec: withBitmaps(setBit('msr_bitmap', msrBit(0x6e0, true))),
      reason: R.MSR_WRITE, length: true,
    },
    {
      name: 'bitmaps: the read bit does not make WRMSR exit',
      guest: g('vmcall', '    mov ecx, X2APIC_TPR\n    xor eax, eax\n    xor edx, edx\n    wrmsr'),
      spec: withBitmaps(setBit('msr_bitmap', msrBit(0x808, false))),
      reason: R.VMCALL, length: true,
    },
    {
      name: 'bitmaps: read-high bit for 0xC0000080 makes its RDMSR exit',
      guest: g('rdmsr', '    mov ecx, 0xc0000080'),
      spec: withBitmaps(setBit('msr_bitmap', msrBit(0xc0000080, false))),
      reason: R.MSR_READ, length: true,
    },
    {
      name: 'bitmaps: write-high bit for 0xC0000100 makes its WRMSR exit',
      guest: g('wrmsr', '    mov ecx, 0xc0000100'),
      spec: withBitmaps(setBit('msr_bitmap', msrBit(0xc0000100, true))),
      reason: R.MSR_WRITE, length: true,
    },
    {
      name: 'bitmaps all zero: an MSR outside both ranges still exits',
      guest: g('rdmsr', '    mov ecx, 0x40000000'),
      spec: withBitmaps(),
      reason: R.MSR_READ, length: true,
    },
  ];
  it.each(rows)('$name', (row) => void check(runRow(row), row));
});

describe('EPT violations (48): accesses beyond the guest-physical window', () => {
  const rows: [string, string, number, number][] = [
    ['read', 'mov eax, [0x20000]', 1, 0x20000],
    ['write', 'mov dword [0x10010], 5', 2, 0x10010],
    ['read straddling the end of the window (first byte outside)', `mov eax, [${GUEST_SIZE - 2}]`, 1, GUEST_SIZE],
    ['write by PUSH with ESP at the end of the window + 8', `push eax`, 2, GUEST_SIZE + 4],
  ];
  it.each(rows)('%s', (_name, insn, access, gpa) => {
    const pre = insn === 'push eax' ? `    mov esp, ${GUEST_SIZE + 8}` : '';
    const r = runRow({ name: insn, guest: g(insn, pre), reason: R.EPT_VIOLATION });
    const e = check(r, { name: insn, guest: '', reason: R.EPT_VIOLATION, want: { guestPhysical: gpa } });
    expect(e.qualification & 7, 'qualification bits 2:0 (read, write, fetch)').toBe(access);
  });

  it('fetch: a jump beyond the window exits at the target with bit 2', () => {
    const r = runRow({ name: 'fetch', guest: g('jmp 0x30000'), reason: R.EPT_VIOLATION });
    const e = check(r, { name: 'fetch', guest: '', reason: R.EPT_VIOLATION, want: { guestRip: 0x30000, guestPhysical: 0x30000 } });
    expect(e.qualification & 7).toBe(4);
  });

  it('fetch: code running off the end of the window exits at the first byte beyond', () => {
    // a one-byte NOP (opcode 0xa0) in the last byte of the window
    const r = runRow({ name: 'edge', guest: '_start:\n    mov byte [0xffff], 0xa0\n    jmp 0xffff\n', reason: R.EPT_VIOLATION });
    const e = check(r, { name: 'edge', guest: '', reason: R.EPT_VIOLATION, want: { guestRip: GUEST_SIZE, guestPhysical: GUEST_SIZE } });
    expect(e.qualification & 7).toBe(4);
  });

  it('the last dword inside the window is no violation', () => {
    const r = runRow({ name: 'last', guest: g(`mov eax, [${GUEST_SIZE - 4}]`), reason: R.VMCALL });
    check(r, { name: 'last', guest: '', reason: R.VMCALL, want: atAfter });
  });

  it('the violating write did not reach host memory behind the window', () => {
    const r = runRow({ name: 'w', guest: g('mov dword [0x10010], 0x5eed'), reason: R.EPT_VIOLATION });
    expect(r.exits[0].reason).toBe(R.EPT_VIOLATION);
    expect(r.mem32(r.sym('guest_memory') + 0x10010)).not.toBe(0x5eed);
  });
});

describe('control-register accesses (28)', () => {
  // exit qualification, SDM Table 27-3: CR number in bits 3:0, access type in 5:4 (0 = MOV to CR), GPR in 11:8
  const rows: Row[] = [
    {
      name: 'MOV to CR4 changing a host-owned bit away from the read shadow (ebx)',
      guest: g('mov cr4, ebx', '    mov ebx, 0x80'),
      spec: { setup: vmwrite('CR4_READ_SHADOW', 'X86_CR4_VMXE') },
      reason: R.CR_ACCESS, length: true, want: { qualification: 0x304 },
    },
    {
      name: 'MOV to CR4 setting VMXE while the shadow says 0 (eax)',
      guest: g('mov cr4, eax', '    mov eax, 0x2080'),
      reason: R.CR_ACCESS, length: true, want: { qualification: 4 },
    },
    {
      name: 'MOV to CR0 setting TS owned by the host (ecx)',
      guest: g('mov cr0, ecx', '    mov ecx, 0x29'),
      spec: { setup: vmwrite('CR0_GUEST_HOST_MASK', 8) },
      reason: R.CR_ACCESS, length: true, want: { qualification: 0x100 },
    },
    {
      name: 'MOV to CR4 matching the shadow in the host-owned bits does not exit',
      guest: g('vmcall', '    mov eax, 0x2080\n    mov cr4, eax'),
      spec: { setup: vmwrite('CR4_READ_SHADOW', 'X86_CR4_VMXE') },
      reason: R.VMCALL, length: true,
    },
    {
      name: 'MOV from CR4 reads host-owned bits from the shadow (VMXE hidden)',
      guest: g('vmcall', '    mov eax, cr4'),
      reason: R.VMCALL, length: true, want: { regs: { eax: 0 } },
    },
  ];
  it.each(rows)('$name', (row) => void check(runRow(row), row));
  // covered in regressions.test.ts: MOV to CR4 of the value read back (VMXE = 0 from the shadow) must keep
  // the host-owned VMXE and not fault (SDM 25.3); here it raises #GP in the guest
});

describe('VM-entry failure: invalid guest state (33 | 0x80000000)', () => {
  // After the failure the host repairs the field and VMLAUNCHes again: a failed entry leaves
  // the VMCS clear (SDM 26.8), so the second VMLAUNCH must succeed and reach the guest's VMCALL.
  const repair = [
    vmwrite('GUEST_RFLAGS', 2), vmwrite('GUEST_CR0', '0x21'), vmwrite('GUEST_ACTIVITY_STATE', 0),
    vmwrite('GUEST_INTERRUPTIBILITY_INFO', 0), vmwrite('VM_ENTRY_INTR_INFO_FIELD', 0), vmwrite('VMCS_LINK_POINTER', -1), vmwrite('VMCS_LINK_POINTER + 1', -1),
  ].join('\n');
  const onExit = `
    test eax, 0x80000000
    je host_stop
${repair}
    vmlaunch
    jmp vmx_insn_failed`;
  const rows: [string, string][] = [
    ['GUEST_RFLAGS bit 1 clear', vmwrite('GUEST_RFLAGS', 0)],
    ['GUEST_RFLAGS reserved bit 3 set', vmwrite('GUEST_RFLAGS', 0xa)],
    ['VMCS link pointer low half not all ones', vmwrite('VMCS_LINK_POINTER', 0)],
    ['VMCS link pointer high half not all ones', vmwrite('VMCS_LINK_POINTER + 1', 0)],
    ['GUEST_CR0 without NE (CR0 fixed-0 bits)', vmwrite('GUEST_CR0', 1)],
    ['GUEST_ACTIVITY_STATE 4 (reserved)', vmwrite('GUEST_ACTIVITY_STATE', 4)],
    ['blocking by STI with IF = 0', vmwrite('GUEST_INTERRUPTIBILITY_INFO', 1)],
    ['injecting #UD into the HLT activity state', `${vmwrite('GUEST_ACTIVITY_STATE', 1)}\n${vmwrite('VM_ENTRY_INTR_INFO_FIELD', '6 | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_VALID_MASK')}`],
    // covered in regressions.test.ts: HLT activity state with blocking by STI; HLT with an injected
    // software interrupt of vector 18 — both should fail (SDM 26.3.1.5) but enter
  ];
  it.each(rows)('%s', (_name, setup) => {
    const r = runHost({ guest: g('vmcall'), setup, onExit });
    expect(r.exitCode).toBe(0);
    expect(r.exitReasons).toEqual([(R.INVALID_STATE | ENTRY_FAILURE) >>> 0, R.VMCALL]);
    expect(r.exits[0].qualification).toBe(0);
    expect(r.exits[1].guestRip).toBe(r.gsym('at'));
  });

  it('the host resumes at HOST_RIP with RFLAGS = 2 and the guest never ran', () => {
    const r = runHost({ guest: `_start:\n    mov dword [0x3000], 1\n    vmcall\n`, setup: vmwrite('GUEST_RFLAGS', 0) });
    expect(r.exitReasons).toEqual([(R.INVALID_STATE | ENTRY_FAILURE) >>> 0]);
    expect(r.guest32(0x3000)).toBe(0);
    expect(r.machine.cpus[0].nonRoot).toBe(false);
    expect(r.events().some((e) => e.kind === 20 /* VmEntry */)).toBe(false);
  });
});

describe('several exits in one run', () => {
  it('the host can serve exits and resume: CPUID, RDMSR, I/O, then VMCALL', () => {
    const r = runHost({
      guest: `_start:\n    cpuid\n    mov ecx, 0x10\n    rdmsr\n    out 0x80, al\n    vmcall\n`,
      proc: 'CPU_BASED_UNCOND_IO_EXITING',
      onExit: RESUME_UNTIL_VMCALL,
    });
    expect(r.exitCode).toBe(0);
    expect(r.exitReasons).toEqual([R.CPUID, R.MSR_READ, R.IO_INSTRUCTION, R.VMCALL]);
  });
});
