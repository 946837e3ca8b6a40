/**
 * THE opcode table: the single source of truth for the project's ISA.
 * The assembler, the disassembler, the decoder, the interpreter's dispatch,
 * per-opcode cycle costs (through the cost class, see cpu-model.ts) and the
 * README's ISA reference all read it. test/isa/opcodes.test.ts fails on a
 * colliding encoding, a missing handler or a README out of date.
 *
 * Semantics follow x86 (SDM Vol. 2) wherever x86 has them; the encoding is
 * our own compact bytecode (see forms.ts).
 */
import { CONDITIONS } from './conditions.js';
import { FORMS, type Form, type FormName } from './forms.js';

/** Cost classes; cycles per class come from the CPU model (src/machine/cpu-model.ts). */
export type CostClass =
  | 'alu' | 'mov' | 'load' | 'store' | 'rmw' | 'lea' | 'shift' | 'mul' | 'div' | 'branch' | 'jmp' | 'call' | 'ret'
  | 'push' | 'pop' | 'xchg' | 'cmpxchg' | 'locked' | 'nop' | 'pause' | 'cli' | 'sti' | 'int' | 'iret' | 'hlt'
  | 'rdtsc' | 'rdmsr' | 'wrmsr' | 'cpuid' | 'lidt' | 'io' | 'work' | 'trace' | 'flags' | 'vmx' | 'vmcall' | 'vmentry' | 'movcr' | 'rsm' | 'bitscan';

export interface OpcodeEntry {
  readonly opcode: number;
  readonly mnemonic: string;
  readonly form: Form;
  readonly cost: CostClass;
  /** one-line description for the ISA reference */
  readonly doc: string;
  /** extra documentation group for the reference */
  readonly group: string;
}

type Row = [opcode: number, mnemonic: string, form: FormName, cost: CostClass, doc: string];

const rows: [group: string, rows: Row[]][] = [];
function group(name: string, r: Row[]): void {
  rows.push([name, r]);
}

/** The eight x86 two-operand ALU operations, five forms each (CMP only reads memory: a load, not a read-modify-write). */
function alu(mnem: string, base: number, what: string, writes = true): Row[] {
  const memDst: CostClass = writes ? 'rmw' : 'load';
  return [
    [base + 0, mnem, 'rr', 'alu', writes ? `dst = dst ${what} src` : `flags of dst ${what} src`],
    [base + 1, mnem, 'ri', 'alu', writes ? `dst = dst ${what} imm32` : `flags of dst ${what} imm32`],
    [base + 2, mnem, 'rm', 'load', writes ? `dst = dst ${what} [mem]` : `flags of dst ${what} [mem]`],
    [base + 3, mnem, 'mr', memDst, writes ? `[mem] = [mem] ${what} src` : `flags of [mem] ${what} src`],
    [base + 4, mnem, 'mi', memDst, writes ? `[mem] = [mem] ${what} imm32` : `flags of [mem] ${what} imm32`],
  ];
}

group('Arithmetic and logic (x86 flag rules: CF ZF SF OF PF AF)', [
  ...alu('add', 0x01, '+'),
  ...alu('or', 0x06, '|'),
  ...alu('adc', 0x0b, '+ CF +'),
  ...alu('sbb', 0x10, '- CF -'),
  ...alu('and', 0x15, '&'),
  ...alu('sub', 0x1a, '-'),
  ...alu('xor', 0x1f, '^'),
  ...alu('cmp', 0x24, '-', false),
  [0x29, 'test', 'rr', 'alu', 'flags of dst & src'],
  [0x2a, 'test', 'ri', 'alu', 'flags of dst & imm32'],
  [0x2b, 'test', 'mr', 'load', 'flags of [mem] & src'],
  [0x2c, 'test', 'mi', 'load', 'flags of [mem] & imm32'],
  [0x40, 'inc', 'r', 'alu', 'dst + 1 (CF unchanged)'],
  [0x41, 'inc', 'm', 'rmw', '[mem] + 1 (CF unchanged)'],
  [0x42, 'dec', 'r', 'alu', 'dst - 1 (CF unchanged)'],
  [0x43, 'dec', 'm', 'rmw', '[mem] - 1 (CF unchanged)'],
  [0x44, 'neg', 'r', 'alu', 'dst = -dst (CF = dst != 0)'],
  [0x45, 'neg', 'm', 'rmw', '[mem] = -[mem]'],
  [0x46, 'not', 'r', 'alu', 'dst = ~dst (flags unchanged)'],
  [0x47, 'not', 'm', 'rmw', '[mem] = ~[mem] (flags unchanged)'],
  [0x48, 'shl', 'ri8', 'shift', 'dst <<= imm (count masked to 5 bits)'],
  [0x49, 'shl', 'rcl', 'shift', 'dst <<= CL'],
  [0x4a, 'shr', 'ri8', 'shift', 'dst >>>= imm (logical)'],
  [0x4b, 'shr', 'rcl', 'shift', 'dst >>>= CL'],
  [0x4c, 'sar', 'ri8', 'shift', 'dst >>= imm (arithmetic)'],
  [0x4d, 'sar', 'rcl', 'shift', 'dst >>= CL'],
  [0x4e, 'rol', 'ri8', 'shift', 'rotate left by imm'],
  [0x4f, 'rol', 'rcl', 'shift', 'rotate left by CL'],
  [0x50, 'ror', 'ri8', 'shift', 'rotate right by imm'],
  [0x51, 'ror', 'rcl', 'shift', 'rotate right by CL'],
  [0x52, 'mul', 'r', 'mul', 'EDX:EAX = EAX * src (unsigned)'],
  [0x53, 'imul', 'r', 'mul', 'EDX:EAX = EAX * src (signed)'],
  [0x54, 'imul', 'rr', 'mul', 'dst = dst * src (signed, truncated)'],
  [0x55, 'imul', 'ri', 'mul', 'dst = dst * imm32 (signed, truncated)'],
  [0x56, 'div', 'r', 'div', 'EAX = EDX:EAX / src, EDX = remainder (unsigned; #DE on /0 or overflow)'],
  [0x57, 'idiv', 'r', 'div', 'EAX = EDX:EAX / src, EDX = remainder (signed; #DE on /0 or overflow)'],
  [0x58, 'cdq', 'none', 'alu', 'EDX = sign of EAX'],
  [0x59, 'bsf', 'rr', 'bitscan', 'dst = index of the lowest set bit of src; ZF = (src == 0), dst unchanged then'],
  [0x5a, 'bsr', 'rr', 'bitscan', 'dst = index of the highest set bit of src; ZF = (src == 0), dst unchanged then'],
  [0x5b, 'bt', 'rr', 'alu', 'CF = bit (src & 31) of dst'],
  [0x5c, 'bt', 'ri8', 'alu', 'CF = bit (imm & 31) of dst'],
  [0x5d, 'bts', 'ri8', 'alu', 'CF = bit (imm & 31) of dst; set it'],
  [0x5e, 'btr', 'ri8', 'alu', 'CF = bit (imm & 31) of dst; clear it'],
]);

group('Data movement', [
  [0x30, 'mov', 'rr', 'mov', 'dst = src'],
  [0x31, 'mov', 'ri', 'mov', 'dst = imm32'],
  [0x32, 'mov', 'rm', 'load', 'dst = [mem]'],
  [0x33, 'mov', 'mr', 'store', '[mem] = src'],
  [0x34, 'mov', 'mi', 'store', '[mem] = imm32'],
  [0x35, 'movzx', 'rm8', 'load', 'dst = zero-extended byte [mem]'],
  [0x36, 'movzx', 'rm16', 'load', 'dst = zero-extended word [mem]'],
  [0x37, 'movsx', 'rm8', 'load', 'dst = sign-extended byte [mem]'],
  [0x38, 'movsx', 'rm16', 'load', 'dst = sign-extended word [mem]'],
  [0x39, 'mov', 'm8r', 'store', 'byte [mem] = src8'],
  [0x3a, 'mov', 'm16r', 'store', 'word [mem] = src16'],
  [0x3b, 'mov', 'm8i', 'store', 'byte [mem] = imm8'],
  [0x3c, 'lea', 'rm', 'lea', 'dst = address of mem'],
  [0x3d, 'xchg', 'rr', 'mov', 'swap dst and src'],
  [0x3e, 'xchg', 'rm', 'xchg', 'swap dst and [mem] (implicitly locked, as on x86)'],
  [0x60, 'push', 'r', 'push', 'ESP -= 4; [ESP] = src'],
  [0x61, 'push', 'i', 'push', 'ESP -= 4; [ESP] = imm32'],
  [0x62, 'push', 'm', 'load', 'ESP -= 4; [ESP] = [mem]'],
  [0x63, 'pop', 'r', 'pop', 'dst = [ESP]; ESP += 4'],
  [0x64, 'pop', 'm', 'rmw', '[mem] = [ESP]; ESP += 4'],
  [0x65, 'pushfd', 'none', 'flags', 'push EFLAGS'],
  [0x66, 'popfd', 'none', 'flags', 'pop EFLAGS (status, TF, IF, DF)'],
  [0xc0, 'cmpxchg', 'mr', 'cmpxchg', 'if EAX == [mem] then [mem] = src, ZF=1 else EAX = [mem], ZF=0 (not atomic across CPUs on x86; here every instruction is atomic)'],
  [0xc1, 'lock cmpxchg', 'mr', 'locked', 'LOCK-prefixed CMPXCHG: the atomic compare-and-swap'],
  [0xc2, 'xadd', 'mr', 'cmpxchg', 'tmp = [mem]; [mem] += src; src = tmp'],
  [0xc3, 'lock xadd', 'mr', 'locked', 'LOCK-prefixed XADD: atomic fetch-and-add'],
  [0xc4, 'lock bts', 'mr', 'locked', 'atomic test-and-set of bit src of the bit string at [mem] (CF = old bit; Linux test_and_set_bit)'],
  [0xc5, 'lock btr', 'mr', 'locked', 'atomic test-and-clear of bit src of the bit string at [mem] (CF = old bit; Linux test_and_clear_bit)'],
  [0xc6, 'lock or', 'mr', 'locked', 'atomic [mem] |= src (Linux set_mask / atomic_or)'],
  [0xc7, 'lock and', 'mr', 'locked', 'atomic [mem] &= src (Linux atomic_and)'],
]);

group('Control transfer', [
  [0x70, 'jmp', 'rel', 'jmp', 'EIP = target'],
  [0x71, 'jmp', 'r', 'jmp', 'EIP = src (indirect)'],
  [0x72, 'jmp', 'm', 'jmp', 'EIP = [mem] (indirect)'],
  [0x73, 'call', 'rel', 'call', 'push EIP of next; EIP = target'],
  [0x74, 'call', 'r', 'call', 'push next; EIP = src (indirect)'],
  [0x75, 'call', 'm', 'call', 'push next; EIP = [mem] (indirect)'],
  [0x76, 'ret', 'none', 'ret', 'EIP = pop'],
  ...CONDITIONS.map((cc, i): Row => [0x80 + i, `j${cc}`, 'rel', 'branch', `jump if ${cc.toUpperCase()} (x86 condition ${i})`]),
  ...CONDITIONS.map((cc, i): Row => [0x90 + i, `set${cc}`, 'r8', 'alu', `byte dst = ${cc.toUpperCase()} ? 1 : 0`]),
]);

group('System', [
  [0xa0, 'nop', 'none', 'nop', 'no operation'],
  [0xa1, 'hlt', 'none', 'hlt', 'halt until an interrupt (or forever with IF=0)'],
  [0xa2, 'pause', 'none', 'pause', 'spin-loop hint'],
  [0xa3, 'cli', 'none', 'cli', 'IF = 0'],
  [0xa4, 'sti', 'none', 'sti', 'IF = 1; interrupts stay blocked for one more instruction (STI shadow)'],
  [0xa5, 'int', 'i8', 'int', 'software interrupt through IDT vector imm8'],
  [0xa6, 'iret', 'none', 'iret', 'EIP = pop; EFLAGS = pop'],
  [0xa7, 'ud2', 'none', 'nop', 'raise #UD'],
  [0xa8, 'rdtsc', 'none', 'rdtsc', 'EDX:EAX = TSC'],
  [0xa9, 'rdmsr', 'none', 'rdmsr', 'EDX:EAX = MSR[ECX] (#GP if unknown)'],
  [0xaa, 'wrmsr', 'none', 'wrmsr', 'MSR[ECX] = EDX:EAX (#GP if unknown or read-only)'],
  [0xab, 'cpuid', 'none', 'cpuid', 'EAX,EBX,ECX,EDX = CPUID leaf EAX, subleaf ECX'],
  [0xac, 'lidt', 'm', 'lidt', 'IDTR = limit16, base32 at [mem]'],
  [0xae, 'mov', 'crr', 'movcr', 'control register = src (CR0, CR4; CR2/CR3 ignored: no paging)'],
  [0xaf, 'mov', 'rcr', 'movcr', 'dst = control register'],
  [0xad, 'sidt', 'm', 'store', '[mem] = limit16, base32 of IDTR'],
  [0xb0, 'in', 'in8_dx', 'io', 'AL = port[DX]'],
  [0xb1, 'in', 'in16_dx', 'io', 'AX = port[DX]'],
  [0xb2, 'in', 'in32_dx', 'io', 'EAX = port[DX]'],
  [0xb3, 'in', 'in8_i', 'io', 'AL = port[imm8]'],
  [0xb4, 'in', 'in16_i', 'io', 'AX = port[imm8]'],
  [0xb5, 'in', 'in32_i', 'io', 'EAX = port[imm8]'],
  [0xb6, 'out', 'out8_dx', 'io', 'port[DX] = AL'],
  [0xb7, 'out', 'out16_dx', 'io', 'port[DX] = AX'],
  [0xb8, 'out', 'out32_dx', 'io', 'port[DX] = EAX'],
  [0xb9, 'out', 'out8_i', 'io', 'port[imm8] = AL'],
  [0xba, 'out', 'out16_i', 'io', 'port[imm8] = AX'],
  [0xbb, 'out', 'out32_i', 'io', 'port[imm8] = EAX'],
]);

group('VMX and SMM (SDM Vol. 3 ch. 30, 34; VMfailInvalid: CF=1, VMfailValid: ZF=1 + VM_INSTRUCTION_ERROR)', [
  [0xd0, 'vmxon', 'm', 'vmx', 'enter VMX operation; [mem] = 64-bit physical address of the VMXON region'],
  [0xd1, 'vmxoff', 'none', 'vmx', 'leave VMX operation'],
  [0xd2, 'vmclear', 'm', 'vmx', 'launch state of the VMCS at [mem] = clear; not current any more'],
  [0xd3, 'vmptrld', 'm', 'vmx', 'current VMCS = the VMCS at [mem]'],
  [0xd4, 'vmptrst', 'm', 'vmx', '[mem] = current-VMCS pointer'],
  [0xd5, 'vmread', 'rr', 'vmx', 'dst = VMCS field whose encoding is in src'],
  [0xd6, 'vmread', 'mr', 'vmx', '[mem] = VMCS field whose encoding is in src'],
  [0xd7, 'vmwrite', 'rr', 'vmx', 'VMCS field whose encoding is in the first operand = src'],
  [0xd8, 'vmwrite', 'rm', 'vmx', 'VMCS field whose encoding is in the first operand = [mem]'],
  [0xd9, 'vmlaunch', 'none', 'vmentry', 'VM entry with a clear VMCS (cost: events.vmEntry)'],
  [0xda, 'vmresume', 'none', 'vmentry', 'VM entry with a launched VMCS (cost: events.vmEntry)'],
  [0xdb, 'vmcall', 'none', 'vmcall', 'in a guest: VM exit 18 (hypercall); in VMX root: VMfailValid(1)'],
  [0xdc, 'rsm', 'none', 'rsm', 'resume from system-management mode (#UD outside SMM)'],
]);

group('Modelling and tracing (not x86)', [
  [0xbc, 'work', 'r', 'work', 'modelling device: ECX units of src cycles each, REP-like (ECX counts down, interrupts are taken between units, resumes)'],
  [0xbd, 'work', 'i', 'work', 'modelling device: ECX units of imm32 cycles each, REP-like'],
  [0xbe, 'trace', 'tp', 'trace', 'record tracepoint (name or number) with a register value'],
]);

function build(): OpcodeEntry[] {
  const out: OpcodeEntry[] = [];
  for (const [g, rs] of rows) {
    for (const [opcode, mnemonic, form, cost, doc] of rs) {
      out.push({ opcode, mnemonic, form: FORMS[form], cost, doc, group: g });
    }
  }
  return out;
}

/** Every instruction, in reference order. */
export const OPCODES: readonly OpcodeEntry[] = build();

/** Key naming an entry's handler: mnemonic + '.' + form. */
export const handlerKey = (e: Pick<OpcodeEntry, 'mnemonic' | 'form'>): string => `${e.mnemonic}.${e.form.name}`;

/** opcode byte → entry (undefined = #UD). Built from OPCODES; a collision throws here and in the test. */
export const BY_OPCODE: readonly (OpcodeEntry | undefined)[] = (() => {
  const t: (OpcodeEntry | undefined)[] = new Array(256).fill(undefined);
  for (const e of OPCODES) {
    if (t[e.opcode]) throw new Error(`opcode 0x${e.opcode.toString(16)} assigned to both ${handlerKey(t[e.opcode]!)} and ${handlerKey(e)}`);
    t[e.opcode] = e;
  }
  return t;
})();

/** mnemonic → entries (several forms). */
export const BY_MNEMONIC: ReadonlyMap<string, readonly OpcodeEntry[]> = (() => {
  const m = new Map<string, OpcodeEntry[]>();
  for (const e of OPCODES) {
    const l = m.get(e.mnemonic) ?? [];
    l.push(e);
    m.set(e.mnemonic, l);
  }
  return m;
})();
