/**
 * The fast-forward (src/cpu/compiler/block.ts spinCheck, Cpu.skipWorkSlices,
 * Machine.run): a compiled read-only loop whose pass leaves registers and
 * flags unchanged skips to the end of its time slice, a machine whose
 * running CPUs all spin or sit in WORK skips to the next event, and WORK's
 * quanta are computed in closed form. Each program runs with the plain
 * interpreter (compile: false: no fast-forward either) and with both on,
 * over several quanta: registers, flags, EIP, cycles, instruction counts,
 * trace hash and memory must be identical — so a spin loop whose flag is
 * written by an ISR, by the other CPU, by self-modifying code or by the
 * host between runs leaves at exactly the interpreter's instruction.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assembleSource } from '../../../src/asm/assembler.js';
import { lookupSymbol, type Image } from '../../../src/asm/image.js';
import { CpuState } from '../../../src/cpu/cpu.js';
import { loadImage } from '../../../src/machine/loader.js';
import { Machine, type MachineConfig, type RunResult } from '../../../src/machine/machine.js';
import { PLATFORM_SYMBOLS } from '../../../src/machine/platform-symbols.js';
import { APIC_ENABLE, IDT_DATA, idtSetup, prng } from '../util.js';

interface Built {
  m: Machine;
  image: Image;
}

/** Assemble `src`, start CPU 0 at _start and (with `cpu1`) CPU 1 at that label. */
function build(src: string, cfg: Partial<MachineConfig>, cpu1?: string): Built {
  const image = assembleSource(src, { fileName: 'ff.s', defines: { ...PLATFORM_SYMBOLS } });
  const m = new Machine({ cpus: cpu1 ? 2 : 1, memoryBytes: 1 << 20, traceKeep: 0, ...cfg });
  loadImage(m.memory, image, 'ff.s');
  m.start(image.entry);
  if (cpu1) {
    m.cpus[1].state = CpuState.Running;
    m.cpus[1].eip = lookupSymbol(image, cpu1)!.value;
  }
  return { m, image };
}

function snapshot(m: Machine, r: RunResult[]) {
  return {
    r,
    hash: m.trace.hash,
    events: m.trace.count,
    cpus: m.cpus.map((c) => ({ regs: [...c.regs], eflags: c.eflags, eip: c.eip, cycles: c.cycles, instructions: c.instructions, state: c.state })),
    memory: createHash('sha1').update(m.memory.bytes).digest('hex'),
  };
}

/** Run the program both ways (`drive` runs a machine and returns its run results); expect identical ends. Returns the fast one. */
function expectSame(src: string, cfg: Partial<MachineConfig>, drive: (b: Built) => RunResult[], cpu1?: string): { fast: Built; plain: Built } {
  const plain = build(src, { ...cfg, compile: false }, cpu1);
  const a = snapshot(plain.m, drive(plain));
  const fast = build(src, { ...cfg, compile: true, compileThreshold: 2 }, cpu1);
  const b = snapshot(fast.m, drive(fast));
  expect(b).toEqual(a);
  return { fast, plain };
}

const VEC = 0x30;
const wrmsr = (msr: string, value: string | number) => `    mov ecx, ${msr}\n    mov eax, ${value}\n    xor edx, edx\n    wrmsr`;
/** the x2APIC timer in periodic mode (divide by 1) raising VEC every `count` ticks */
const periodicTimer = (count: string | number): string =>
  [wrmsr('X2APIC_TIMER_DIVIDE', 0b1011), wrmsr('X2APIC_LVT_TIMER', `LVT_TIMER_PERIODIC | ${VEC}`), wrmsr('X2APIC_TIMER_INITIAL_COUNT', count)].join('\n');

describe('a spin loop leaves at the interpreter instruction', () => {
  // a periodic APIC timer; the ISR logs the interrupted EIP and bumps `ticks`; the main loop spins (IF = 1) until it changes
  const src = (count: number) => `
_start:
    mov esp, 0x80000
${idtSetup({ [VEC]: 'tick' })}
${APIC_ENABLE}
${periodicTimer(count)}
    sti
    xor edi, edi
    mov esi, 7
wait:
    cmp dword [ticks], edi      ; the spin: reads memory, changes only flags
    je wait
    mov edi, [ticks]
    add esi, edi
    cmp edi, 12
    jb wait
    cli
    hlt
tick:
    push eax
    push ecx
    mov eax, [esp + 8]          ; the interrupted EIP
    mov ecx, [ticks]
    mov [where + ecx*4], eax
    inc dword [ticks]
    mov ecx, X2APIC_EOI
    xor eax, eax
    wrmsr
    pop ecx
    pop eax
    iret
.data
ticks: .long 0
where: .space 64*4, 0
${IDT_DATA}`;

  it.each([[1000, 5000], [997, 7919], [13, 2311], [100_000, 120_000]])('timer ISR writes the flag (quantum %i, timer count %i)', (quantum, count) => {
    const { fast } = expectSame(src(count), { quantum }, ({ m }) => [m.run({ untilCycles: 5e8 })]);
    expect(fast.m.cpus[0].state).toBe(CpuState.Halted);
    expect(fast.m.memory.read32(lookupSymbol(fast.image, 'ticks')!.value)).toBe(12);
    expect(fast.m.cpus[0].spinSlice).toBeGreaterThan(0); // the fixed point was found (and skipped over)
  });

  it('skips whole passes: far fewer block passes than instructions counted', () => {
    const { fast } = expectSame(src(200_000), { quantum: 1000 }, ({ m }) => [m.run({ untilCycles: 5e8 })]);
    const c = fast.m.cpus[0];
    // 12 timer periods of 200k cycles spinning: millions of instructions counted, a few thousand block calls
    expect(c.instructions).toBeGreaterThan(1_000_000);
    expect(c.code!.stats.runs).toBeLessThan(20_000);
  });

  it('the host writes the flag between runs: seen at the next run, as by the interpreter', () => {
    const hostSrc = `
_start:
    mov esp, 0x80000
    mov ebx, 3
wait:
    cmp dword [flag], 0
    je wait
    mov eax, [flag]
    add ebx, eax
    cli
    hlt
.data
flag: .long 0`;
    expectSame(hostSrc, { quantum: 1000 }, ({ m, image }) => {
      const r1 = m.run({ untilCycles: 3_333_333 });
      m.memory.write32(lookupSymbol(image, 'flag')!.value, 41);
      const r2 = m.run({ untilCycles: 9e6 });
      return [r1, r2];
    });
  });
});

describe('two CPUs: spinning, WORK and counting loops hand a token back and forth', () => {
  // CPU 0 works, counts, releases CPU 1 through `flag` and spins on `ack`; CPU 1 spins on `flag`, works, acknowledges
  const src = `
_start:
    mov esp, 0x80000
    xor esi, esi
round:
    mov ecx, 50
    work 37
    mov ebx, 300
count:
    dec ebx
    jnz count
    inc esi
    mov [flag], esi
wait_ack:
    cmp [ack], esi
    jne wait_ack
    cmp esi, 40
    jb round
    cli
    hlt
cpu1:
    mov esp, 0x70000
    xor edi, edi
next:
    cmp [flag], edi
    je next
    mov edi, [flag]
    mov ecx, 20
    work 53
    mov [ack], edi
    cmp edi, 40
    jb next
    cli
    hlt
.data
flag: .long 0
ack: .long 0`;

  it.each([1000, 997, 13, 50_000])('quantum %i', (quantum) => {
    const { fast } = expectSame(src, { quantum }, ({ m }) => [m.run({ untilCycles: 1e9 })], 'cpu1');
    expect(fast.m.cpus.map((c) => c.state)).toEqual([CpuState.Halted, CpuState.Halted]);
    expect(fast.m.memory.read32(lookupSymbol(fast.image, 'ack')!.value)).toBe(40);
  });

  it('run in 1 ms steps (as the scenario runner does)', () => {
    expectSame(src, { quantum: 1000 }, ({ m }) => {
      const rs: RunResult[] = [];
      for (let t = 0; t < 3e6; t += 26_700) rs.push(m.run({ untilCycles: t }));
      return rs;
    }, 'cpu1');
  });
});

describe('WORK under quanta, in closed form', () => {
  // CPU 0 in a long WORK (one unit does not divide the quantum); CPU 1 spins; a timer on CPU 0 interrupts the WORK
  const src = (unit: number) => `
_start:
    mov esp, 0x80000
${idtSetup({ [VEC]: 'tick' })}
${APIC_ENABLE}
${periodicTimer(123_457)}
    sti
again:
    mov ecx, 2000
    work ${unit}
    cmp dword [ticks], 8
    jb again
    mov dword [stop], 1
    cli
    hlt
tick:
    push eax
    push ecx
    inc dword [ticks]
    mov ecx, X2APIC_EOI
    xor eax, eax
    wrmsr
    pop ecx
    pop eax
    iret
cpu1:
    cmp dword [stop], 0
    je cpu1
    cli
    hlt
.data
ticks: .long 0
stop: .long 0
${IDT_DATA}`;

  it.each([[100, 1000], [37, 1000], [333, 997], [7, 113], [1500, 1000]])('unit %i cycles, quantum %i', { timeout: 30_000 }, (unit, quantum) => {
    const { fast } = expectSame(src(unit), { quantum }, ({ m }) => [m.run({ untilCycles: 2e8 })], 'cpu1');
    expect(fast.m.memory.read32(lookupSymbol(fast.image, 'ticks')!.value)).toBeGreaterThan(0);
  });

  it('a lone CPU in WORK reaches the next event in O(1) slices', () => {
    const { fast, plain } = expectSame(src(100), { quantum: 1000 }, ({ m }) => {
      m.cpus[1].state = CpuState.Halted; // CPU 1 out of the way
      return [m.run({ untilCycles: 5e7 })];
    }, 'cpu1');
    expect(fast.m.cpus[0].slices).toBeLessThan(plain.m.cpus[0].slices / 20);
  });
});

describe('self-modifying code ends a spin', () => {
  // CPU 1 spins on a CMP whose immediate CPU 0 patches (the bytes of a compiled, fast-forwarded loop)
  const src = `
_start:
    mov esp, 0x80000
    mov ecx, 3000
    work 101
    mov dword [patch + 7], 5    ; CMP m, imm32: opcode, reg, mem, disp32, then the immediate
    cli
    hlt
cpu1:
    mov ebx, 1
patch:
    cmp dword [flag], 0
    je patch
    mov dword [done], 1
    cli
    hlt
.data
flag: .long 0
done: .long 0`;

  it.each([1000, 997, 50_000])('quantum %i', (quantum) => {
    const { fast } = expectSame(src, { quantum }, ({ m }) => [m.run({ untilCycles: 1e8 })], 'cpu1');
    expect(fast.m.memory.read32(lookupSymbol(fast.image, 'done')!.value)).toBe(1);
    expect(fast.m.cpus[0].code!.stats.invalidated).toBeGreaterThan(0);
  });
});

describe('random spin loops', () => {
  // loop bodies from read-only instructions (loads, CMP/TEST on memory, register ALU, SETcc, BT, LEA): some reach a
  // fixed point after one pass, some never do (a counter); a timer ISR changes what they read
  const BODY = [
    'mov eax, [flag]', 'cmp eax, edi', 'test dword [flag], 1', 'mov ebx, ecx', 'lea edx, [ebx + 4]', 'xor eax, eax',
    'or eax, [flag]', 'movzx eax, byte [flag]', 'bt eax, 3', 'sete bl', 'nop', 'and edx, 0xff', 'add esi, [flag]',
    'inc ecx', 'mov esi, [flag + 4]', 'cmp dword [flag + 4], 0', 'shl edx, 1', 'sub edx, edx',
  ];
  const program = (rng: () => number): string => {
    const body = Array.from({ length: 1 + Math.floor(rng() * 5) }, () => BODY[Math.floor(rng() * BODY.length)]);
    return `
_start:
    mov esp, 0x80000
${idtSetup({ [VEC]: 'tick' })}
${APIC_ENABLE}
${periodicTimer(1000 + Math.floor(rng() * 20_000))}
    sti
    xor edi, edi
top:
${body.map((l) => `    ${l}`).join('\n')}
    cmp dword [flag], edi
    je top
    mov edi, [flag]
    cmp edi, 6
    jb top
    cli
    hlt
tick:
    inc dword [flag]
    push eax
    push ecx
    push edx
    mov ecx, X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    pop edx
    pop ecx
    pop eax
    iret
.data
flag: .long 0, 0
${IDT_DATA}`;
  };

  it('24 programs, random quanta: the same ends as the interpreter', { timeout: 60_000 }, () => {
    const rng = prng(0x5b1);
    let forwarded = 0;
    for (let i = 0; i < 24; i++) {
      const src = program(rng);
      const quantum = [13, 97, 1000, 4099][Math.floor(rng() * 4)];
      const { fast } = expectSame(src, { quantum }, ({ m }) => [m.run({ untilCycles: 3e7 })]);
      expect(fast.m.cpus[0].state, src).toBe(CpuState.Halted);
      if (fast.m.cpus[0].spinSlice > 0) forwarded++;
    }
    expect(forwarded).toBeGreaterThan(4); // most bodies reach a fixed point; those with a counter must not
  });
});
