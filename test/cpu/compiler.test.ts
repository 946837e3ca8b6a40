/**
 * The block compiler (src/cpu/compiler/) against the plain interpreter
 * (compile: false): the same programs must end in the same registers,
 * flags, EIP, memory, cycles, instruction counts and trace hash — on the
 * bench loops, the SMP demo, the VMX demo and a few hundred random programs
 * generated from the opcode table (faults, memory beyond RAM, device
 * accesses, self-modifying stores, timer interrupts). Low compile
 * thresholds make nearly everything run compiled. Plus: each inline
 * snippet against its exec/ handler, invalidation (self-modifying code,
 * code across a page boundary, DMA), faults and VM exits inside blocks,
 * and device accesses (their time, the interrupts they raise).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { assemble, assembleSource } from '../../src/asm/assembler.js';
import { lookupSymbol } from '../../src/asm/image.js';
import { runProgram } from '../../src/cli/program.js';
import { Cpu, CpuState } from '../../src/cpu/cpu.js';
import { HANDLER_FNS, UD_INDEX } from '../../src/cpu/dispatch.js';
import { carry, condition } from '../../src/cpu/lazy-flags.js';
import { BLOCK_END, KINDS, Kind, kindOf } from '../../src/cpu/compiler/classify.js';
import { Emitter, GUARDED, LOAD_FLAGS, SPECIALISED_KEYS, STORE_FLAGS } from '../../src/cpu/compiler/special.js';
import { DEFAULT_THRESHOLD } from '../../src/cpu/compiler/cache.js';
import { packMem } from '../../src/isa/forms.js';
import { BY_OPCODE, OPCODES, handlerKey, type OpcodeEntry } from '../../src/isa/opcodes.js';
import { NO_REG } from '../../src/isa/registers.js';
import { loadImage } from '../../src/machine/loader.js';
import { Machine, type MachineConfig, type RunResult } from '../../src/machine/machine.js';
import { PLATFORM_SYMBOLS } from '../../src/machine/platform-symbols.js';
import { F, GUEST_SIZE, runHost } from '../helpers/vmx-host.js';
import { prng } from './util.js';

const root = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));

// ---- comparing whole machines ---------------------------------------------

interface Snapshot {
  result: RunResult;
  hash: string;
  events: number;
  cpus: { regs: number[]; eflags: number; eip: number; cycles: number; instructions: number; state: CpuState; lazy: number[] }[];
  uart: string;
}

function snapshot(m: Machine, result: RunResult): Snapshot {
  return {
    result,
    hash: m.trace.hash,
    events: m.trace.count,
    cpus: m.cpus.map((c) => ({
      regs: [...c.regs],
      eflags: c.eflags,
      eip: c.eip,
      cycles: c.cycles,
      instructions: c.instructions,
      state: c.state,
      lazy: [c.fOp, c.fA, c.fB, c.fRes, c.fAux],
    })),
    uart: m.uart.lines().map((l) => `${l.source}:${l.text}`).join('\n'),
  };
}

const sameMemory = (a: Machine, b: Machine): boolean =>
  Buffer.from(a.memory.bytes.buffer).equals(Buffer.from(b.memory.bytes.buffer));

/** Block executions and compiles over all CPUs' caches (they share one per machine). */
const stats = (m: Machine) => m.cpus[0].code!.stats;

/** Build and run the same machine twice: interpreter only, then with the compiler (`cfg`); expect identical ends. */
function expectEquivalent(
  build: (cfg: Partial<MachineConfig>) => Machine,
  run: (m: Machine) => RunResult,
  cfg: Partial<MachineConfig>,
): { plain: Machine; compiled: Machine; snap: Snapshot } {
  const plain = build({ ...cfg, compile: false });
  const a = snapshot(plain, run(plain));
  const compiled = build({ ...cfg, compile: true });
  const b = snapshot(compiled, run(compiled));
  expect(b).toEqual(a);
  expect(sameMemory(plain, compiled)).toBe(true);
  return { plain, compiled, snap: a };
}

function machineFor(source: string, cfg: Partial<MachineConfig>, defines: Record<string, number> = {}): Machine {
  const image = assembleSource(source, { fileName: 'test.s', defines: { ...PLATFORM_SYMBOLS, ...defines } });
  const m = new Machine({ cpus: 1, memoryBytes: 1 << 20, ...cfg });
  loadImage(m.memory, image, 'test.s');
  m.start(image.entry);
  return m;
}

// ---- classification ---------------------------------------------------------

describe('what a block may contain', () => {
  const PURE = ['alu', 'mov', 'load', 'store', 'rmw', 'lea', 'shift', 'mul', 'bitscan', 'div', 'push', 'pop', 'nop', 'xchg', 'cmpxchg', 'locked'];

  it('pure CPU/memory classes are compiled, control transfers end or continue blocks, everything else stops them', () => {
    for (const e of OPCODES) {
      const k = kindOf(e);
      const key = handlerKey(e);
      if (key === 'ud2.none' || key === 'sidt.m') expect(k, key).toBe(Kind.Stop);
      else if (PURE.includes(e.cost)) expect(k, key).toBe(Kind.Plain);
      else if (['branch', 'jmp', 'call', 'ret'].includes(e.cost)) expect(k, key).not.toBe(Kind.Stop);
      else expect(k, key).toBe(Kind.Stop);
    }
    expect(KINDS[UD_INDEX]).toBe(Kind.Stop);
  });

  it('the interpreter counts block starts after every control transfer and uncompilable instruction', () => {
    for (let i = 0; i <= UD_INDEX; i++) expect(BLOCK_END[i], `index ${i}`).toBe(KINDS[i] === Kind.Plain ? 0 : 1);
  });
});

// ---- inline snippets against the handlers ----------------------------------

/** A fresh CPU on 64 KiB of RAM, outside any machine (no devices needed: all addresses stay in RAM). */
function bareCpu(): Cpu {
  const m = new Machine({ cpus: 1, memoryBytes: 64 << 10, compile: false });
  return m.cpus[0];
}

const rand32 = (rng: () => number): number => {
  const r = rng();
  if (r < 0.1) return 0;
  if (r < 0.2) return [1, -1, 0x7fffffff, -0x80000000, 0x80, 0xff, 0x7f, 2, -2][Math.floor(rng() * 9)];
  return (rng() * 0x100000000) | 0;
};

/** Random lazy-flag state (any op, including Resolved with arbitrary status bits). */
function randomFlags(c: Cpu, rng: () => number): void {
  c.fOp = Math.floor(rng() * 8);
  c.fA = rand32(rng);
  c.fB = rand32(rng);
  c.fRes = rng() < 0.5 ? (c.fA + c.fB) | 0 : rand32(rng);
  c.fAux = c.fOp === 7 ? Math.floor(rng() * 0x1000) & 0x8d5 : Math.floor(rng() * 2);
}

/** Decoded fields for entry e: registers 0-7, immediates, memory operands inside 64 KiB. */
function randomFields(e: OpcodeEntry, rng: () => number): number[] {
  const f: number[] = [];
  for (const k of e.form.operands) {
    if (k === 'r32' || k === 'r16' || k === 'r8') f.push(Math.floor(rng() * 8));
    else if (k === 'imm32') f.push(rand32(rng));
    else if (k === 'imm8') f.push(Math.floor(rng() * 256));
    else if (k === 'rel32') f.push(Math.floor(rng() * 0x8000));
    else if (k === 'm' || k === 'm32' || k === 'm16' || k === 'm8') {
      const base = rng() < 0.8 ? Math.floor(rng() * 8) : NO_REG;
      const index = rng() < 0.5 ? Math.floor(rng() * 8) : NO_REG;
      f.push(packMem(base, index, Math.floor(rng() * 4)), Math.floor(rng() * 0x100));
    }
  }
  while (f.length < 3) f.push(0);
  return f;
}

const indexOfKey = (key: string): number => OPCODES.find((e) => handlerKey(e) === key)!.opcode;

/** How often a guarded snippet left its inline path (so the tests know both paths ran). */
const BAILS = { n: 0 };

/** Run instructions by handler on one CPU and by compiled snippets on another, from the same state; compare. */
function checkSnippets(seq: { idx: number; f: number[] }[], rng: () => number): void {
  const a = bareCpu(), b = bareCpu();
  const regs = Array.from({ length: 8 }, () => (rng() < 0.5 ? Math.floor(rng() * 0x1000) : rand32(rng)));
  randomFlags(a, rng);
  for (const c of [a, b]) {
    c.regs.set(regs);
    [c.fOp, c.fA, c.fB, c.fRes, c.fAux] = [a.fOp, a.fA, a.fB, a.fRes, a.fAux];
    for (let i = 0; i < 256; i++) c.platform.memory.bytes[i * 16 + 7] = i;
    c.platform.memory.noteDecoded(0x200); // stores near here take the code-check path
  }
  const em = new Emitter();
  // as in a block: flags in locals; a guarded snippet that bails has the handler do the instruction (as the interpreter would)
  let code = `let fo = c.fOp, fa = c.fA, fb = c.fB, fr = c.fRes, fx = c.fAux, nx = 0;\n`;
  const handlers: unknown[] = [];
  seq.forEach(({ idx, f }, i) => {
    const next = 0x100 + i * 16;
    a.next = next;
    HANDLER_FNS[idx](a, f[0], f[1], f[2]);
    handlers.push(HANDLER_FNS[idx]);
    const bail = `{ ${STORE_FLAGS} H[${i}](c, ${f[0]}, ${f[1]}, ${f[2]}); ${LOAD_FLAGS} nx = c.next; BAILS.n++; break I${i}; }`;
    const s = em.emit(i, idx, f[0], f[1], f[2], { bail, next });
    expect(s, handlerKey(BY_OPCODE[idx]!)).not.toBeNull();
    // (only memory forms can bail; they define no names later instructions use)
    const guarded = GUARDED.has(handlerKey(BY_OPCODE[idx]!));
    code += `c.next = ${next}; nx = ${next};\n${guarded ? `I${i}: {\n${s}\n}` : s}\nNEXTS.push(nx);\n`;
  });
  code += STORE_FLAGS;
  const got: number[] = [];
  const mem = b.platform.memory;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  new Function('c', 'R', 'CARRY', 'COND', 'NEXTS', 'MB', 'ML', 'I32', 'WL', 'WH', 'H', 'BAILS', code)(
    b, b.regs, carry, condition, got, b.memBase, b.memLimit, mem.i32, mem.watchLo, mem.watchHi, handlers, BAILS,
  );
  const label = seq.map(({ idx, f }) => `${handlerKey(BY_OPCODE[idx]!)}(${f.join(',')})`).join('; ');
  expect([...b.regs], label).toEqual([...a.regs]);
  expect([b.fOp, b.fA, b.fB, b.fRes, b.fAux], label).toEqual([a.fOp, a.fA, a.fB, a.fRes, a.fAux]);
  expect(b.eflags, label).toBe(a.eflags);
  expect(got[got.length - 1], label).toBe(a.next);
  expect(Buffer.from(b.platform.memory.bytes.buffer).equals(Buffer.from(a.platform.memory.bytes.buffer)), label).toBe(true);
}

describe('inline snippets do exactly what their handlers do', () => {
  const rng = prng(0x5eed);
  const keys = SPECIALISED_KEYS;
  const producers = keys.filter((k) => /^(add|sub|cmp|and|or|xor|test)\.r[ri]$|^(inc|dec)\.r$/.test(k));
  const consumers = keys.filter((k) => /^(j|set)[a-z]+\.(rel|r8)$|^(inc|dec)\.r$/.test(k));

  it('covers the forms it claims', () => {
    expect(keys).toEqual(expect.arrayContaining(['mov.ri', 'mov.rr', 'add.rr', 'cmp.ri', 'jne.rel', 'sete.r8', 'mov.rm', 'mov.mr', 'lea.rm']));
    expect(consumers.length).toBe(34);
  });

  it.each(keys)('%s alone, from random lazy-flag states', (key) => {
    const idx = indexOfKey(key);
    const bails = BAILS.n;
    for (let t = 0; t < 300; t++) checkSnippets([{ idx, f: randomFields(BY_OPCODE[idx]!, rng) }], rng);
    // memory forms: both the inline RAM path and the way out were taken
    if (GUARDED.has(key)) expect(BAILS.n - bails).toBeGreaterThan(10);
    if (GUARDED.has(key)) expect(BAILS.n - bails).toBeLessThan(290);
  });

  it.each(producers)('%s followed by every Jcc, SETcc, INC and DEC (fused flags)', (key) => {
    const p = indexOfKey(key);
    for (const ck of consumers) {
      const c = indexOfKey(ck);
      for (let t = 0; t < 40; t++) {
        checkSnippets([{ idx: p, f: randomFields(BY_OPCODE[p]!, rng) }, { idx: c, f: randomFields(BY_OPCODE[c]!, rng) }], rng);
      }
    }
  });

  it('random chains of snippets keep the lazy flags exact', () => {
    for (let t = 0; t < 2000; t++) {
      const n = 1 + Math.floor(rng() * 6);
      const seq = Array.from({ length: n }, () => {
        const idx = indexOfKey(keys[Math.floor(rng() * keys.length)]);
        return { idx, f: randomFields(BY_OPCODE[idx]!, rng) };
      });
      checkSnippets(seq, rng);
    }
  });
});

// ---- bench loops, demos -------------------------------------------------------

describe('the compiled path ends exactly where the interpreter does', () => {
  const THRESHOLDS = [1, 2, DEFAULT_THRESHOLD];

  it.each(['arith', 'memory', 'callret'])('bench loop %s', (name) => {
    for (const threshold of THRESHOLDS) {
      for (const quantum of [100_000, 997]) {
        const build = (cfg: Partial<MachineConfig>): Machine => {
          const image = assemble(root(`bench/loops/${name}.s`), { defines: { ...PLATFORM_SYMBOLS, ITERATIONS: 20_000 } });
          const m = new Machine({ cpus: 1, quantum, compileThreshold: threshold, ...cfg });
          loadImage(m.memory, image, name);
          m.start(image.entry);
          return m;
        };
        const { compiled, snap } = expectEquivalent(build, (m) => m.run(), {});
        expect(snap.result.reason).toBe('exit');
        expect(stats(compiled).runs).toBeGreaterThan(0);
      }
    }
  });

  it.each([[1, 1000], [2, 13], [DEFAULT_THRESHOLD, 1000], [3, 20_000]])('the SMP demo (threshold %i, quantum %i)', (threshold, quantum) => {
    const build = (cfg: Partial<MachineConfig>): Machine =>
      runProgram(root('firmware/demo/main.s'), { cpus: 2, quantum, compileThreshold: threshold, traceKeep: 0, ...cfg }, { untilCycles: 0 }).machine;
    const { compiled, snap } = expectEquivalent(build, (m) => m.run({ untilCycles: 1e9, maxInstructions: 5e7 }), {});
    expect([snap.result.reason, snap.result.exitCode]).toEqual(['exit', 0]);
    expect(snap.uart).toMatch(/demo: both CPUs done/);
    if (threshold < 10) expect(stats(compiled).runs).toBeGreaterThan(100);
  });

  it.each([1, 2, 5, DEFAULT_THRESHOLD])('the VMX demo with its tiny guest (threshold %i)', (threshold) => {
    const build = (cfg: Partial<MachineConfig>): Machine =>
      runProgram(root('firmware/hv-demo/main.s'), { compileThreshold: threshold, ...cfg }, { untilCycles: 0 }, [
        { path: root('guests/tiny/main.s'), symbol: 'guest_memory' },
      ]).machine;
    const { compiled, snap } = expectEquivalent(build, (m) => m.run({ untilCycles: 1e9, maxInstructions: 5e7 }), {});
    expect([snap.result.reason, snap.result.exitCode]).toEqual(['exit', 0]);
    expect(snap.uart).toMatch(/guest done/);
    if (threshold < 10) expect(stats(compiled).runs).toBeGreaterThan(50);
  });
});

// ---- random programs from the opcode table ---------------------------------------

const DATA_REG = 'ebp';
/** registers random instructions may write (not ecx: loop counter; not esp/ebp: stack, data base) */
const REGS32 = ['eax', 'ebx', 'edx', 'esi', 'edi'];
const REGS16 = ['ax', 'bx', 'dx', 'si', 'di'];
const REGS8 = ['al', 'bl', 'dl', 'sil', 'dil'];
const RAM = 1 << 20;

/** Entries a generated program may use in straight-line code: compilable ones and a few block enders that observe time or flags. */
const PLAIN = OPCODES.filter((e) => kindOf(e) === Kind.Plain && !['push', 'pop'].includes(e.mnemonic));
const STACK = OPCODES.filter((e) => kindOf(e) === Kind.Plain && ['push', 'pop'].includes(e.mnemonic));
const ENDERS = ['rdtsc', 'pushfd\n    pop eax', 'nop', 'pause', 'trace kvm_pio, eax', 'cpuid'];

function randomInstruction(rng: () => number, e: OpcodeEntry): string {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
  const ops = e.form.operands.map((k) => {
    switch (k) {
      case 'r32': return pick(REGS32);
      case 'r16': return pick(REGS16);
      case 'r8': return pick(REGS8);
      case 'imm32': return String(rand32(rng));
      case 'imm8': return String(Math.floor(rng() * (rng() < 0.7 ? 40 : 256)));
      case 'm': case 'm32': case 'm16': case 'm8': {
        const size = k === 'm8' ? 'byte ' : k === 'm16' ? 'word ' : k === 'm32' ? 'dword ' : '';
        const r = rng();
        // mostly the data area; sometimes a random register as index (anywhere in RAM, or code),
        // beyond RAM (floating bus), or the I/O APIC's index register (a device)
        if (r < 0.04) return `${size}[${DATA_REG} + ${pick(REGS32)}*${pick([1, 2, 4, 8])}]`;
        if (r < 0.07) return `${size}[${RAM + 0x1000 + Math.floor(rng() * 0x100) * 4}]`;
        if (r < 0.09) return `${size}[IOAPIC_BASE]`;
        return `${size}[${DATA_REG} + ${Math.floor(rng() * 250)}]`;
      }
      default: return k; // fixed operands (cl, ...)
    }
  });
  return `    ${e.mnemonic} ${ops.join(', ')}`;
}

/** A random program: straight-line runs, counted loops (with side exits, calls, self-patching code), leaf functions. */
function randomProgram(rng: () => number): string {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
  const timer = rng() < 0.5;
  const lines: string[] = [
    '_start:',
    '    mov esp, 0x80000',
    `    mov ${DATA_REG}, data`,
    '    mov ecx, 256',
    '    mov eax, fallback',
    '.fill:',
    '    mov [idt + ecx*8 - 8], eax',
    '    mov dword [idt + ecx*8 - 4], IDT_INTERRUPT_GATE',
    '    dec ecx',
    '    jnz .fill',
    '    mov dword [idt + VEC_DE*8], de_handler',
    '    mov dword [idt + 0x30*8], tick',
    '    lidt [idtr]',
  ];
  if (timer) {
    const period = 5 + Math.floor(rng() * 200);
    lines.push(
      '    mov ecx, X2APIC_SVR', '    xor edx, edx', '    mov eax, SVR_ENABLE | 0xff', '    wrmsr',
      '    mov ecx, X2APIC_LVT_TIMER', '    mov eax, LVT_TIMER_PERIODIC | 0x30', '    wrmsr',
      '    mov ecx, X2APIC_TIMER_INITIAL_COUNT', `    mov eax, ${period}`, '    wrmsr',
      '    sti',
    );
  }
  for (const r of REGS32) lines.push(`    mov ${r}, ${rand32(rng)}`);
  const fns: string[] = [];
  const straight = (n: number, stack: boolean): void => {
    for (let i = 0; i < n; i++) {
      const r = rng();
      if (r < 0.05) lines.push(`    ${pick(ENDERS)}`);
      else if (r < 0.1 && stack) lines.push(randomInstruction(rng, pick(STACK)));
      else lines.push(randomInstruction(rng, pick(PLAIN)));
    }
  };
  const segments = 1 + Math.floor(rng() * 4);
  for (let s = 0; s < segments; s++) {
    if (rng() < 0.3) {
      straight(1 + Math.floor(rng() * 8), true);
      continue;
    }
    // a counted loop; ecx is only read by random instructions
    lines.push(`    mov ecx, ${1 + Math.floor(rng() * 400)}`, `.L${s}:`);
    straight(Math.floor(rng() * 8), false);
    if (rng() < 0.3) {
      // self-modifying: the loop patches the immediate of an instruction in its own body
      // (nops: any alignment of the patched dword, so aligned stores into code take the compiled store path)
      const nops = Array.from({ length: Math.floor(rng() * 4) }, () => '    nop');
      lines.push(`    mov [.P${s} + 2], ${pick(['eax', 'ecx', 'edx'])}`, ...nops, `.P${s}:`, `    add eax, ${rand32(rng)}`);
    }
    if (rng() < 0.4) {
      // a forward branch: a side exit of the block
      lines.push(`    test ${pick(REGS32)}, ${1 << Math.floor(rng() * 4)}`, `    j${pick(['z', 'nz', 'c', 'nc', 's', 'l', 'g', 'be'])} .S${s}`);
      straight(1 + Math.floor(rng() * 4), false);
      lines.push(`.S${s}:`);
    }
    if (rng() < 0.4) {
      lines.push(`    call fn${s}`);
      fns.push(`fn${s}:`);
      const save = lines.length;
      straight(1 + Math.floor(rng() * 5), false);
      fns.push(...lines.splice(save), '    ret');
    }
    straight(Math.floor(rng() * 4), false);
    lines.push('    dec ecx', `    jnz .L${s}`);
  }
  lines.push('    out EXIT_PORT, eax', '    cli', '    hlt');
  lines.push(...fns);
  lines.push(
    // #DE: log the faulting EIP and the EFLAGS it saw, skip the 2-byte DIV/IDIV
    'de_handler:', '    push eax', '    mov eax, [flaglog]', '    rol eax, 5', '    add eax, [esp + 4]', '    xor eax, [esp + 8]',
    '    mov [flaglog], eax', '    pop eax', '    add dword [esp], 2', '    iret',
    // timer: count, log where it landed and the EFLAGS there
    'tick:', '    push eax', '    push ecx', '    push edx', '    inc dword [ticks]', '    mov eax, [flaglog]', '    rol eax, 3',
    '    add eax, [esp + 12]', '    xor eax, [esp + 16]', '    mov [flaglog], eax',
    '    mov ecx, X2APIC_EOI', '    xor eax, eax', '    xor edx, edx', '    wrmsr', '    pop edx', '    pop ecx', '    pop eax', '    iret',
    'fallback:', '    cli', '    hlt',
    '.data', '.align 8', 'idtr: .word 256*8 - 1', '      .long idt', 'ticks: .long 0', 'flaglog: .long 0', '.align 16', 'data: .space 512, 0x5a',
    '.bss', '.align 16', 'idt: .space 256*8',
  );
  return lines.join('\n');
}

describe('random programs from the opcode table', () => {
  const PROGRAMS = 300;
  it(`${PROGRAMS} programs: faults, devices, memory beyond RAM, self-modifying loops, timer interrupts`, { timeout: 120_000 }, () => {
    const rng = prng(20240611);
    const reasons = new Map<string, number>();
    let runs = 0, invalidated = 0;
    for (let i = 0; i < PROGRAMS; i++) {
      const src = randomProgram(rng);
      const threshold = [1, 2, 3, 7][i % 4];
      const quantum = [1000, 37, 5000][i % 3];
      const build = (cfg: Partial<MachineConfig>): Machine => machineFor(src, { quantum, compileThreshold: threshold, ...cfg });
      try {
        const { compiled, snap } = expectEquivalent(build, (m) => m.run({ untilCycles: 3e6, maxInstructions: 40_000 }), {});
        reasons.set(snap.result.reason, (reasons.get(snap.result.reason) ?? 0) + 1);
        runs += stats(compiled).runs;
        invalidated += stats(compiled).invalidated;
      } catch (e) {
        throw new Error(`program ${i} (threshold ${threshold}, quantum ${quantum}):\n${src}\n${String(e)}`);
      }
    }
    // the programs did reach the interesting places
    expect(runs).toBeGreaterThan(PROGRAMS * 20);
    expect(invalidated).toBeGreaterThan(10);
    expect(reasons.get('exit')).toBeGreaterThan(PROGRAMS / 4);
  });
});

// ---- self-modifying code, host-written code, faults, guests ---------------------------

describe('invalidation', () => {
  it.each([0, 1, 2, 3])('a loop patching an immediate in its own body changes behaviour at once (%i nops: alignment)', (nops) => {
    // each pass adds the current immediate to eax, then patches it to the loop counter
    const src = `
_start:
    xor eax, eax
    mov ecx, 500
.align 4
${'    nop\n'.repeat(nops)}.loop:
.patch:
    add eax, 1000
    mov [.patch + 2], ecx
    dec ecx
    jnz .loop
    out EXIT_PORT, eax
    hlt`;
    // pass 1 adds 1000, pass k > 1 adds the counter stored by pass k-1: 501 - (k - 1)
    let expected = 1000;
    for (let k = 2; k <= 500; k++) expected += 502 - k;
    for (const threshold of [1, 2, 10]) {
      const { compiled, snap } = expectEquivalent((cfg) => machineFor(src, { compileThreshold: threshold, ...cfg }), (m) => m.run(), {});
      expect(snap.result.exitCode).toBe(expected);
      expect(stats(compiled).invalidated).toBeGreaterThan(0);
    }
  });

  it.each([0, 1, 2, 3])('a store into the block it is running stops it right after the store (%i nops)', (nops) => {
    // the store rewrites the next instruction (mov ebx, 1 -> mov ebx, 2) in the same block
    const src = `
_start:
    mov ecx, 50
    xor edx, edx
.align 4
${'    nop\n'.repeat(nops)}.loop:
    mov dword [.next + 2], 2
.next:
    mov ebx, 1
    add edx, ebx
    mov dword [.next + 2], 1
    dec ecx
    jnz .loop
    mov eax, edx
    out EXIT_PORT, eax
    hlt`;
    for (const threshold of [1, 3]) {
      const { snap } = expectEquivalent((cfg) => machineFor(src, { compileThreshold: threshold, ...cfg }), (m) => m.run(), {});
      expect(snap.result.exitCode).toBe(100);
    }
  });

  it.each([0, 1, 2, 3])('a compiled loop patching another compiled loop: the patch is seen at once (%i nops: alignment)', (nops) => {
    // loop a (hot) stores counter + outer counter into loop b's immediate on every pass; loop b adds the last value 20 times
    const src = `
_start:
    xor eax, eax
    xor edi, edi
outer:
    mov ecx, 100
loop_a:
    lea edx, [ecx + edi]
    mov [patch_b + 2], edx
    add esi, ecx
    dec ecx
    jnz loop_a
    mov ecx, 20
.align 4
${'    nop\n'.repeat(nops)}loop_b:
patch_b:
    add eax, 7
    dec ecx
    jnz loop_b
    inc edi
    cmp edi, 50
    jne outer
    out EXIT_PORT, eax
    hlt`;
    for (const threshold of [1, 2, 5]) {
      const { compiled, snap } = expectEquivalent((cfg) => machineFor(src, { compileThreshold: threshold, ...cfg }), (m) => m.run(), {});
      expect(snap.result.exitCode).toBe(20 * ((49 * 50) / 2 + 50));
      expect(stats(compiled).runs).toBeGreaterThan(100);
      expect(stats(compiled).invalidated).toBeGreaterThan(10);
    }
  });

  it('a patch into the part of a block on the next page (the block straddles a page boundary)', () => {
    // loop b starts 4 bytes before a page end: the immediate loop a patches is the first dword of the next page
    const src = `
_start:
    xor eax, eax
    mov edi, 40
outer:
    mov ecx, 50
loop_a:
    lea edx, [ecx + edi]
    mov [patch_b + 2], edx
    dec ecx
    jnz loop_a
    mov ecx, 20
    jmp loop_b
.space 0x1ffc - $, 0xa0
loop_b:
    add esi, ecx
patch_b:
    add eax, 7
    dec ecx
    jnz loop_b
    dec edi
    jnz outer
    out EXIT_PORT, eax
    hlt`;
    for (const threshold of [1, 2, 5]) {
      const { compiled, snap } = expectEquivalent((cfg) => machineFor(src, { compileThreshold: threshold, ...cfg }), (m) => m.run(), {});
      expect(snap.result.exitCode).toBe(20 * ((40 * 41) / 2 + 40));
      expect(stats(compiled).runs).toBeGreaterThan(100);
    }
  });

  it('code loaded by the host (DMA) between runs replaces compiled code', () => {
    const src = `
_start:
    mov esp, 0x80000
    xor eax, eax
    mov ecx, 100000000
.loop:
    call fn
    dec ecx
    jnz .loop
    hlt
fn:
    add eax, 1
    ret
.align 16
other:
    add eax, 7
    ret`;
    const image = assembleSource(src, { fileName: 'dma.s', defines: { ...PLATFORM_SYMBOLS } });
    const fn = lookupSymbol(image, 'fn')!.value;
    const other = lookupSymbol(image, 'other')!.value;
    const runs = [false, true].map((compile) => {
      const m = new Machine({ cpus: 1, memoryBytes: 1 << 20, compile, compileThreshold: 2, quantum: 1000 });
      loadImage(m.memory, image, 'dma.s');
      m.start(image.entry);
      m.run({ untilCycles: 50_000 });
      const before = m.cpus[0].regs[0];
      // the host copies `other` over `fn` (as a disk DMA would)
      m.memory.load(fn, m.memory.bytes.slice(other, other + 16));
      const result = m.run({ untilCycles: 100_000 });
      return { m, result, before, after: m.cpus[0].regs[0] };
    });
    const [plain, compiled] = runs;
    expect(snapshot(compiled.m, compiled.result)).toEqual(snapshot(plain.m, plain.result));
    expect(sameMemory(compiled.m, plain.m)).toBe(true);
    expect(stats(compiled.m).runs).toBeGreaterThan(100);
    // after the load each call adds 7
    expect(compiled.after - compiled.before).toBeGreaterThan(7 * 100);
    expect((compiled.after - compiled.before) % 7).toBe(0);
  });
});

describe('faults and exits inside a block', () => {
  it('#DE in the middle of a hot block: the handler sees the faulting EIP and the interpreter cycle count', () => {
    const src = `
_start:
    mov esp, 0x80000
    mov dword [idt + VEC_DE*8], de
    mov dword [idt + VEC_DE*8 + 4], IDT_INTERRUPT_GATE
    lidt [idtr]
    mov ecx, 300
    mov ebx, 7
top:
    add eax, ecx
    xor edx, edx
    cmp ecx, 100
    jne ok
    xor ebx, ebx
ok:
    mov esi, eax
divide:
    div ebx
    add esi, eax
    dec ecx
    jnz top
    out EXIT_PORT, eax
de:
    mov eax, [esp]
    mov [fault_eip], eax
    rdtsc
    mov [fault_tsc], eax
    out EXIT_PORT, eax
.data
.align 8
idtr: .word 256*8 - 1
      .long idt
fault_eip: .long 0
fault_tsc: .long 0
.bss
idt: .space 256*8`;
    for (const threshold of [1, 2, 50]) {
      const { compiled, snap } = expectEquivalent((cfg) => machineFor(src, { compileThreshold: threshold, ...cfg }), (m) => m.run(), {});
      const image = assembleSource(src, { fileName: 'test.s', defines: { ...PLATFORM_SYMBOLS } });
      const at = (name: string): number => lookupSymbol(image, name)!.value;
      expect(snap.result.reason).toBe('exit');
      expect(compiled.memory.read32(at('fault_eip'))).toBe(at('divide'));
      expect(compiled.memory.read32(at('fault_tsc'))).toBe(snap.result.exitCode);
      expect(stats(compiled).runs).toBeGreaterThan(10);
    }
  });

  // the guests walk off their EPT window: upward with loads after a flag producer (the exit must save the
  // flags the interpreter has there), downward with pushes (ESP must be unchanged by the faulting push)
  const GUESTS: Record<string, { guest: string; gpa: number }> = {
    loads: {
      gpa: GUEST_SIZE,
      guest: `
_start:
    xor eax, eax
    mov esi, 0x8ffc
    mov ecx, 100000
.loop:
    add esi, 4
    mov ebx, [esi]
    add eax, ebx
    dec ecx
    jnz .loop
    vmcall`,
    },
    pushes: {
      gpa: GUEST_SIZE,
      guest: `
_start:
    mov esp, 0x800
    mov ecx, 100000
.loop:
    add eax, ecx
    push eax
    call .leaf
    dec ecx
    jnz .loop
    vmcall
.leaf:
    xor eax, 0x55
    ret`,
    },
  };

  it.each(Object.keys(GUESTS))('an EPT violation from a compiled guest loop (%s) exits at the same instruction, time and registers', (name) => {
    const { guest, gpa } = GUESTS[name];
    const results = [false, true].map((compile) => runHost({ guest }, { config: { compile, compileThreshold: 2 } }));
    const [plain, compiled] = results;
    expect(compiled.exits).toEqual(plain.exits);
    // the guest state the exit saved (the records hold the host's ESP)
    const guestState = (r: typeof plain) => [F.GUEST_RSP, F.GUEST_RIP, F.GUEST_RFLAGS, F.GUEST_PHYSICAL_ADDRESS].map((f) => r.vmcs.read(f));
    expect(guestState(compiled)).toEqual(guestState(plain));
    expect(compiled.exits[0].reason).toBe(48); // EPT violation
    expect(compiled.exits[0].guestPhysical).toBeGreaterThanOrEqual(gpa);
    expect(snapshot(compiled.machine, compiled.result)).toEqual(snapshot(plain.machine, plain.result));
    expect(sameMemory(compiled.machine, plain.machine)).toBe(true);
    expect(stats(compiled.machine).runs).toBeGreaterThan(10);
  });
});

describe('device accesses inside a block', () => {
  /** A memory-mapped test device: logs the time of every access; writing 1 raises an interrupt now, 2 schedules one 7 cycles later. */
  function withDevice(m: Machine, log: number[]): Machine {
    m.bus.mem.map(DEVICE, {
      name: 'probe',
      size: 16,
      read: (offset, _size, ctx) => {
        log.push(ctx.time, offset);
        return log.length;
      },
      write: (offset, value, _size, ctx) => {
        log.push(ctx.time, offset, value);
        if (value === 1) m.apics[0].accept(0x40, ctx.time);
        if (value === 2) m.queue.schedule(ctx.time + 7, 'probe', (t) => m.apics[0].accept(0x40, t));
      },
      peek: () => 0,
      nextEvent: () => Infinity,
    });
    return m;
  }
  const DEVICE = 0xf0000000;
  const src = `
_start:
    mov esp, 0x80000
    mov dword [idt + 0x40*8], irq
    mov dword [idt + 0x40*8 + 4], IDT_INTERRUPT_GATE
    lidt [idtr]
    mov ecx, X2APIC_SVR
    xor edx, edx
    mov eax, SVR_ENABLE | 0xff
    wrmsr
    ; an interrupt raised while IF = 0 is taken after the instruction following STI (the shadow), also when that is a hot block
    mov edi, 60
again:
    cli
    mov dword [DEVICE], 1
    sti
shadowed:
    mov ecx, 10
spin:
    add eax, ecx
    dec ecx
    jnz spin
    dec edi
    jnz again
    mov ecx, 3000
top:
    add eax, ecx
    mov ebx, [DEVICE + 4]
    add esi, ebx
    mov edx, ecx
    and edx, 63
    cmp edx, 17
    jne quiet
    mov dword [DEVICE], 1          ; interrupt at once: taken right after this store
quiet:
    cmp edx, 40
    jne calm
    mov dword [DEVICE + 8], 2      ; an event 7 cycles from now: the run limit moves
calm:
    xor edi, esi
    dec ecx
    jnz top
    out EXIT_PORT, eax
irq:
    push eax
    push ecx
    push edx
    mov eax, [esp + 12]
    mov ecx, [nlog]
    mov [log + ecx*8], eax
    rdtsc
    mov [log + ecx*8 + 4], eax
    inc dword [nlog]
    mov ecx, X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    pop edx
    pop ecx
    pop eax
    iret
.data
.align 8
idtr: .word 256*8 - 1
      .long idt
nlog: .long 0
.bss
idt: .space 256*8
log: .space 8*1024`;

  it.each([1, 2, 20])('sees the interpreter time; interrupts and events it causes land on the same instruction (threshold %i)', (threshold) => {
    const logs: number[][] = [[], []];
    let k = 0;
    const { compiled, snap } = expectEquivalent(
      (cfg) => withDevice(machineFor(src, { compileThreshold: threshold, quantum: 500, ...cfg }, { DEVICE }), logs[k++]),
      (m) => m.run({ untilCycles: 1e8 }),
      {},
    );
    expect(snap.result.reason).toBe('exit');
    expect(logs[1]).toEqual(logs[0]);
    expect(logs[0].length).toBeGreaterThan(3000 * 2);
    expect(compiled.memory.read32(lookupSymbol(assembleSource(src, { fileName: 't.s', defines: { ...PLATFORM_SYMBOLS, DEVICE } }), 'nlog')!.value)).toBeGreaterThan(80);
    expect(stats(compiled).runs).toBeGreaterThan(1000);
  });
});
