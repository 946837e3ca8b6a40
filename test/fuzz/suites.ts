/**
 * The fuzz suites (fast-check): each turns one kind of hostile input into a
 * run and names its outcome. The test suite runs them with a fixed seed and
 * small counts (test/fuzz/*.test.ts); `npm run fuzz` (test/fuzz/run.ts)
 * runs them long.
 *
 *   images      random bytes and mutated ELF files → readElf, loadImage, run
 *   host-code   random instruction bytes as VMX-root/bare-machine code, run
 *               twice: interpreted and through the block compiler (threshold
 *               1), which must agree exactly
 *   guest-code  random instruction bytes as a guest under the VMX test host
 *               (test/helpers/vmx-host.ts; exits are resumed past the
 *               instruction, guest exceptions go to a guest IDT stub)
 *   vmx-ops     random VMREAD/VMWRITE/VMLAUNCH/VMRESUME/VMCLEAR/VMPTRLD/...
 *               sequences with hostile operands on a host with a set-up VMCS
 *   scenarios   random JSON, mutated built-in scenarios and --set overrides
 *               → validateScenario / applySets
 */
import fc from 'fast-check';
import { assembleSource } from '../../src/asm/assembler.js';
import { writeElf, readElf } from '../../src/asm/elf.js';
import { lookupSymbol, type Image } from '../../src/asm/image.js';
import { decodeCheckpoint, encodeCheckpoint, machineFromPayload, restoreMachine, saveMachine, type MachineState } from '../../src/machine/checkpoint.js';
import { loadImage } from '../../src/machine/loader.js';
import { Machine } from '../../src/machine/machine.js';
import { OPCODES } from '../../src/isa/opcodes.js';
import { FIXED_KINDS, encodeForm, immBytes, isMem, isReg, packMem } from '../../src/isa/forms.js';
import { NO_REG } from '../../src/isa/registers.js';
import { PLATFORM_SYMBOLS } from '../../src/machine/platform-symbols.js';
import { applySets, builtinScenarioNames, parseScenario, readScenarioJson, validateScenario } from '../../src/experiments/scenario.js';
import { FIELDS } from '../../src/vmx/fields.js';
import { Field } from '../../src/vmx/fields.js';
import { ExitReason } from '../../src/vmx/exit-reasons.js';
import { EXIT_HOST_FAULT, EXIT_TOO_MANY, EXIT_VMFAIL, GUEST_SIZE, RESUME_UNTIL_VMCALL, guestIdt, guestImage, hostSource } from '../helpers/vmx-host.js';
import { Finding, count, machineOutcome, timed, userError, type Counts } from './harness.js';

export interface Suite {
  name: string;
  /** what a case is, for the README table */
  input: string;
  /** run `runs` cases from `seed`; outcomes are added to `counts` */
  run(runs: number, seed: number, counts: Counts): void;
}

const CASE_MS = 5000;
const assemble = (text: string, fileName: string, defines: Record<string, number> = {}): Image =>
  assembleSource(text, { fileName, defines: { ...PLATFORM_SYMBOLS, ...defines } });
const sym = (img: Image, name: string): number => lookupSymbol(img, name)!.value;
const reasonName = (r: number): string => (r & 0x80000000 ? `VM-entry failure (${ExitReason[r & 0xffff] ?? r & 0xffff})` : `VM exit ${ExitReason[r] ?? r}`);

function check<T>(arb: fc.Arbitrary<T>, runs: number, seed: number, body: (x: T) => void): void {
  fc.assert(fc.property(arb, (x) => body(x)), { numRuns: runs, seed, endOnFailure: false });
}

// ---- images ------------------------------------------------------------------

const SAMPLE = assemble(`
.text
_start:
    mov esp, 0x8000
    mov eax, [value]
    add eax, 1
    mov [value], eax
    out EXIT_PORT, eax
    hlt
.data
value: .long 41
.bss
buf: .space 64
`, 'sample.s');
const SAMPLE_ELF = writeElf(SAMPLE);

/** A valid ELF with some bytes overwritten, some dwords replaced, maybe truncated or extended. */
const mutatedElf = fc.record({
  flips: fc.array(fc.tuple(fc.nat(SAMPLE_ELF.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
  dwords: fc.array(fc.tuple(fc.nat(Math.min(SAMPLE_ELF.length, 160) - 4), fc.oneof(fc.constantFrom(0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 0x100000, 0xfff00000), fc.nat())), { maxLength: 3 }),
  cut: fc.option(fc.nat(SAMPLE_ELF.length), { nil: undefined }),
  tail: fc.uint8Array({ maxLength: 16 }),
}).map(({ flips, dwords, cut, tail }) => {
  const b = new Uint8Array([...SAMPLE_ELF.subarray(0, cut ?? SAMPLE_ELF.length), ...tail]);
  const v = new DataView(b.buffer);
  for (const [o, x] of flips) if (o < b.length) b[o] = x;
  for (const [o, x] of dwords) if (o + 4 <= b.length) v.setUint32(o, x >>> 0, true);
  return b;
});

const randomBytes = fc.oneof(
  fc.uint8Array({ maxLength: 256 }),
  fc.uint8Array({ maxLength: 256 }).map((t) => new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, ...t])), // ELF magic + noise
);

function runImage(bytes: Uint8Array, c: Counts): void {
  let image: Image;
  try {
    image = readElf(bytes, 'fuzz.elf');
  } catch (e) {
    return count(c, userError(e, 'fuzz.elf', 'bad ELF'));
  }
  const m = new Machine({ cpus: 1, memoryBytes: 1 << 20 });
  try {
    loadImage(m.memory, image, 'fuzz.elf');
  } catch (e) {
    return count(c, userError(e, 'fuzz.elf', 'does not fit in memory'));
  }
  m.start(image.entry);
  count(c, `loaded, ran: ${machineOutcome(m, m.run({ maxInstructions: 300, untilCycles: 1e6 }), {}, false)}`);
}

export const images: Suite = {
  name: 'images',
  input: 'random bytes and mutated ELF files as program images',
  run(runs, seed, c) {
    check(fc.oneof({ arbitrary: randomBytes, weight: 1 }, { arbitrary: mutatedElf, weight: 2 }), runs, seed, (b) => timed(() => runImage(b, c), CASE_MS, () => `image ${Buffer.from(b).toString('hex')}`));
  },
};

// ---- code on the bare machine / VMX root ------------------------------------------

const FUZZ_BYTES = 256;
const DONE = 0xd0e;

/**
 * Random instruction streams: mostly valid opcodes of the one opcode table
 * with random operand bytes (registers, addressing, immediates), some raw
 * bytes (the decoder's #UD paths).
 */
type Insn = { raw: number[] } | { entry: (typeof OPCODES)[number]; seeds: number[] };
const reg = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 7 }), weight: 20 }, { arbitrary: fc.integer({ min: 0, max: 15 }), weight: 1 });
const addr = fc.oneof(fc.integer({ min: 0, max: 0x1fffff }), fc.constantFrom(0, 0x7ffc, 0x80000, 0x1ffffc, 0x200000, 0xfec00000, 0xfee00000, 0xfffffffc), fc.nat());
const imm = fc.oneof(fc.integer({ min: -16, max: 255 }), fc.constantFrom(0, 1, 0x80000000, 0xffffffff, 0x3f8, 0xf4, 0xc000, 0xb2, 0x410, 0x1b, 0x6e0, 0x802, 0x830, 0x838, 0x480), fc.nat());
const instruction: fc.Arbitrary<Insn> = fc.oneof(
  { arbitrary: fc.record({ entry: fc.constantFrom(...OPCODES), seeds: fc.tuple(reg, reg, reg, fc.integer({ min: 0, max: 3 }), addr, imm, fc.integer({ min: -16, max: 48 }), fc.integer({ min: 0, max: 1 })) }), weight: 40 },
  { arbitrary: fc.record({ raw: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 4 }) }), weight: 1 },
);

/** Encode the stream at address `at` (rel32 targets land near the jump, often inside the stream). */
function encodeStream(xs: Insn[], at: number): Uint8Array {
  const out: number[] = [];
  for (const x of xs) {
    if ('raw' in x) { out.push(...x.raw); continue; }
    const { entry: e, seeds: [r0, r1, base, scale, disp, im, rel, noBase] } = x;
    const f: number[] = [];
    let regs = 0;
    for (const k of e.form.operands) {
      if (FIXED_KINDS.has(k)) continue;
      if (isMem(k)) f.push(packMem(noBase ? NO_REG : base, noBase ? NO_REG : r1, scale), disp | 0);
      else if (isReg(k)) f.push(regs++ === 0 ? r0 : r1);
      else if (k === 'rel32') f.push((at + out.length + e.form.length + rel) >>> 0);
      else f.push(immBytes(k) === 1 ? im & 0xff : immBytes(k) === 2 ? im & 0xffff : im | 0);
    }
    out.push(...encodeForm(e.form, e.opcode, f, at + out.length));
  }
  return Uint8Array.from(out.slice(0, FUZZ_BYTES));
}
const instructionStream = fc.array(instruction, { minLength: 1, maxLength: 24 });

/** A machine state at the point where the program under test starts (reached once, restored per case). */
function template(img: Image, at: (m: Machine) => boolean, setup: (m: Machine) => void = () => {}): MachineState {
  const m = new Machine({ cpus: 1, memoryBytes: 2 << 20 });
  loadImage(m.memory, img, 'host.s');
  setup(m);
  m.start(img.entry);
  for (let i = 0; i < 100_000 && !at(m); i++) m.cpus[0].stepOne();
  if (!at(m)) throw new Error('fuzz template: start point not reached');
  return saveMachine(m);
}

/** A host with an IDT whose stubs exit with EXIT_HOST_FAULT + vector, then `body`, code area `fuzz_code`. */
function host(spec: Parameters<typeof hostSource>[0], extra = ''): Image {
  return assemble(hostSource({ ...spec, extra: `${spec.extra ?? ''}\n${extra}\n.text\n.align 16\nfuzz_code:\n    .space 4096\n` }), 'host.s');
}

const END_CODE = assemble(`.base 0x1000\n mov eax, ${DONE}\n out EXIT_PORT, eax\n hlt\n`, 'end.s').segments[0].data;
/** Built on first use (each test file needs only its own). */
function lazy<T>(f: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= f());
}
const bare = lazy(() => {
  const img = host({ vmxon: false, body: '    mov ebp, 0x80000\n    jmp fuzz_code' });
  const at = sym(img, 'fuzz_code');
  return { at, start: template(img, (m) => m.cpus[0].eip === at) };
});
const hostExitNames = { 0: 'host stopped', [EXIT_VMFAIL]: 'VM-instruction error (host stopped)', [EXIT_TOO_MANY]: 'VM exits (resumed, limit reached)', [DONE]: 'sequence done' };

/** From the template, `code` (then END_CODE) at fuzz_code, at most `instructions` more instructions. */
function hostRun(start: MachineState, at: number, code: Uint8Array, compile: { compile: boolean; threshold?: number }, instructions: number): { m: Machine; outcome: string } {
  const m = restoreMachine(start, { compile: compile.compile, compileThreshold: compile.threshold });
  m.memory.load(at, Uint8Array.from([...code, ...END_CODE]));
  const r = m.run({ maxInstructions: m.instructions + instructions, untilCycles: m.now + 5e6 });
  return { m, outcome: machineOutcome(m, r, hostExitNames) };
}

/** Everything that must be equal between the interpreted and the compiled run. */
function state(m: Machine) {
  const c = m.cpus[0];
  return { hash: m.trace.hash, count: m.trace.count, regs: [...c.regs], eip: c.eip, eflags: c.eflags, cycles: c.cycles, instructions: c.instructions, state: c.state };
}

export const hostCode: Suite = {
  name: 'host-code',
  input: 'random instruction bytes as host code (bare machine, interpreted vs. compiled)',
  run(runs, seed, c) {
    const { at, start } = bare();
    check(instructionStream, runs, seed, (xs) => { const code = encodeStream(xs, at); timed(() => {
      const a = hostRun(start, at, code, { compile: false }, 400);
      const b = hostRun(start, at, code, { compile: true, threshold: 1 }, 400);
      const sa = state(a.m), sb = state(b.m);
      if (JSON.stringify(sa) !== JSON.stringify(sb)) throw new Finding(`compiled run differs from interpreted: ${JSON.stringify(sa)} vs ${JSON.stringify(sb)}`);
      count(c, a.outcome);
    }, CASE_MS, () => `code ${Buffer.from(code).toString('hex')}`); });
  },
};

// ---- guest code under the VMX test host ---------------------------------------------

const guestHost = lazy(() => {
const GUEST = guestImage(`
_start:
    jmp fuzz_code
exception:
    vmcall                      ; every guest exception vector lands here
${guestIdt({}, 'exception')}
.text
.align 16
fuzz_code:
    .space ${FUZZ_BYTES + 16}
`);
const GUEST_DEFINES = Object.fromEntries(GUEST.symbols.filter((s) => !s.name.includes('.')).map((s) => [`G_${s.name}`, s.value]));
const VMX_GUEST_HOST = assemble(hostSource({
  guest: '', guestRip: 'G__start', proc: 'CPU_BASED_UNCOND_IO_EXITING | CPU_BASED_HLT_EXITING', pin: 'PIN_BASED_EXT_INTR_MASK', guestIdt: true, onExit: RESUME_UNTIL_VMCALL,
}), 'host.s', GUEST_DEFINES);
const GUEST_START = template(VMX_GUEST_HOST, (m) => m.cpus[0].nonRoot, (m) => loadImage(m.memory, GUEST, 'guest.s', sym(VMX_GUEST_HOST, 'guest_memory'), GUEST_SIZE));
return { GUEST_DEFINES, VMX_GUEST_HOST, GUEST_START };
});
/** after the stream: VMCALL (the run ends with the host's stop) */
const VMCALL = assemble('.base 0x1000\n vmcall\n', 'vmcall.s').segments[0].data;

function guestOutcome(m: Machine, img: Image, outcome: string, GUEST_DEFINES: Record<string, number>): string {
  const mem = (a: number): number => m.memory.read32(a) >>> 0;
  const n = mem(sym(img, 'exit_count'));
  if (outcome !== 'host stopped' || n === 0) return outcome.startsWith('exception') ? `host ${outcome}` : outcome;
  // the last exit record: a VMCALL from the IDT stub is a guest exception
  const rec = sym(img, 'exit_log') + (n - 1) * (12 + 8) * 4;
  const reason = mem(rec);
  if (reason === ExitReason.VMCALL && mem(rec + 5 * 4) === GUEST_DEFINES.G_exception) return 'guest exception (through the guest IDT)';
  if (reason === ExitReason.VMCALL) return n > 1 ? 'VM exits (resumed), then the final VMCALL' : 'no exit until the final VMCALL';
  return reasonName(reason);
}

export const guestCode: Suite = {
  name: 'guest-code',
  input: 'random instruction bytes as guest code under the VMX test host',
  run(runs, seed, c) {
    const { GUEST_DEFINES, VMX_GUEST_HOST, GUEST_START } = guestHost();
    check(instructionStream, runs, seed, (xs) => { const code = encodeStream(xs, GUEST_DEFINES.G_fuzz_code); timed(() => {
      const m = restoreMachine(GUEST_START);
      m.memory.load(sym(VMX_GUEST_HOST, 'guest_memory') + GUEST_DEFINES.G_fuzz_code, Uint8Array.from([...code, ...VMCALL]));
      const r = m.run({ maxInstructions: m.instructions + 1000, untilCycles: m.now + 5e6 });
      count(c, guestOutcome(m, VMX_GUEST_HOST, machineOutcome(m, r, hostExitNames), GUEST_DEFINES));
    }, CASE_MS, () => `guest code ${Buffer.from(code).toString('hex')}`); });
  },
};

// ---- VMX instruction sequences ---------------------------------------------------------

const IMM_A = 0x11111111;
const IMM_B = 0x22222222;
/** One snippet per operation: immediates IMM_A (value / pointer low) and IMM_B (field / pointer high), then EFLAGS to the log at [ebp]. */
const SNIPPETS: Record<string, string> = {
  vmwrite: `mov eax, ${IMM_A}\n mov ecx, ${IMM_B}\n vmwrite ecx, eax`,
  vmread: `mov ecx, ${IMM_B}\n vmread eax, ecx`,
  vmlaunch: 'vmlaunch',
  vmresume: 'vmresume',
  vmclear: `mov dword [FUZZ_PTR], ${IMM_A}\n mov dword [FUZZ_PTR + 4], ${IMM_B}\n vmclear [FUZZ_PTR]`,
  vmptrld: `mov dword [FUZZ_PTR], ${IMM_A}\n mov dword [FUZZ_PTR + 4], ${IMM_B}\n vmptrld [FUZZ_PTR]`,
  vmptrst: 'vmptrst [FUZZ_PTR]',
  vmxon: `mov dword [FUZZ_PTR], ${IMM_A}\n mov dword [FUZZ_PTR + 4], ${IMM_B}\n vmxon [FUZZ_PTR]`,
  vmxoff: 'vmxoff',
  vmcall: 'vmcall',
  movcr4: `mov eax, ${IMM_A}\n mov cr4, eax`,
};
const OPS = Object.keys(SNIPPETS);
const vmxOpsHost = lazy(() => {
  const img = host({ body: `    call vmcs_setup\n    mov ebp, fuzz_log\n    jmp fuzz_code` }, 'fuzz_ptr: .long 0, 0\nfuzz_log: .space 64*4');
  const at = sym(img, 'fuzz_code');
  const FUZZ_PTR = sym(img, 'fuzz_ptr');
  /** each snippet's bytes and where its immediates are */
  const code = Object.fromEntries(OPS.map((op) => {
    const bytes = assemble(`.base 0x1000\n${SNIPPETS[op]}\n pushfd\n pop dword [ebp]\n add ebp, 4\n`, `${op}.s`, { FUZZ_PTR }).segments[0].data;
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    const find = (v: number): number[] => [...bytes.keys()].filter((i) => i + 4 <= bytes.length && dv.getUint32(i, true) === v);
    return [op, { bytes, a: find(IMM_A), b: find(IMM_B) }];
  }));
  const region = (name: string): number => sym(img, name);
  const regions = [region('vmcs_region'), region('vmcs2_region'), region('vmxon_region'), region('vmcs_region') + 8];
  return { at, log: sym(img, 'fuzz_log'), code, regions, start: template(img, (m) => m.cpus[0].eip === at) };
});

const fieldEnc = fc.oneof(
  { arbitrary: fc.constantFrom(...[...FIELDS.keys()]), weight: 6 },
  { arbitrary: fc.constantFrom(...[...FIELDS.keys()].map((k) => k + 1)), weight: 1 }, // high halves (and invalid ones)
  { arbitrary: fc.nat(), weight: 1 },
);
const value = fc.oneof(fc.constantFrom(0, 1, 0xffffffff, 0x80000000, 0x21, 0x2000, 0x1000, 0xfff), fc.nat(), fc.nat(0xffff));
/** a VMCS/VMXON region of the host (index into `regions`, as -1..-4), or a hostile address */
const pointer = fc.oneof(fc.constantFrom(-1, -2, -3, -4, 0, 0xfffff000, 0x7ffff000), fc.nat());
const op = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('vmwrite'), a: value, b: fieldEnc }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant('vmread'), a: fc.constant(0), b: fieldEnc }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constantFrom('vmclear', 'vmptrld', 'vmxon'), a: pointer, b: fc.oneof(fc.constant(0), fc.nat()) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constantFrom('vmlaunch', 'vmresume', 'vmptrst', 'vmxoff', 'vmcall'), a: fc.constant(0), b: fc.constant(0) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('movcr4'), a: fc.oneof(fc.constant(0x2000), fc.nat(0x3fffff)), b: fc.constant(0) }), weight: 1 },
);
type Op = { op: string; a: number; b: number };

function sequenceCode(ops: Op[], h: ReturnType<typeof vmxOpsHost>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const o of ops) {
    const s = h.code[o.op];
    const b = s.bytes.slice();
    const v = new DataView(b.buffer);
    const a = o.a < 0 && o.a >= -4 ? h.regions[-o.a - 1] : o.a;
    for (const i of s.a) v.setUint32(i, a >>> 0, true);
    for (const i of s.b) v.setUint32(i, o.b >>> 0, true);
    parts.push(b);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export const vmxOps: Suite = {
  name: 'vmx-ops',
  input: 'random VMX instruction sequences (VMWRITE/VMREAD/VMLAUNCH/VMRESUME/VMCLEAR/VMPTRLD/VMXON/...) with hostile operands',
  run(runs, seed, c) {
    const h = vmxOpsHost();
    check(fc.array(op, { minLength: 1, maxLength: 24 }), runs, seed, (ops) => timed(() => {
      const { m, outcome } = hostRun(h.start, h.at, sequenceCode(ops, h), { compile: true }, 3000);
      if (outcome !== 'sequence done') {
        if (outcome === 'host stopped') {
          const reason = m.cpus[0].vmx!.vmcs?.read(Field.VM_EXIT_REASON) ?? -1;
          return count(c, `${reasonName(reason >>> 0)} (host handled it)`);
        }
        return count(c, outcome);
      }
      // the flags each operation left: CF = VMfailInvalid, ZF = VMfailValid (SDM 30.2)
      const flags = ops.map((_, i) => m.memory.read32(h.log + 4 * i));
      if (flags.some((f) => f & 0x40)) return count(c, 'VM-instruction error (VMfailValid)');
      if (flags.some((f) => f & 1)) return count(c, 'VMfailInvalid');
      count(c, 'all VMsucceed');
    }, CASE_MS, () => JSON.stringify(ops)));
  },
};

// ---- scenarios -------------------------------------------------------------------------------

const builtin = lazy(() => builtinScenarioNames().map((n) => readScenarioJson(n).value));

/** Every path (as --set keys) into a JSON value. */
function paths(v: unknown, at = ''): string[] {
  if (Array.isArray(v)) return [at, ...v.flatMap((x, i) => paths(x, `${at}[${i}]`))].filter(Boolean);
  if (v && typeof v === 'object') return [at, ...Object.entries(v).flatMap(([k, x]) => paths(x, at ? `${at}.${k}` : k))].filter(Boolean);
  return at ? [at] : [];
}

const jsonish = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(-1, 0, 1, 1.5, 99, 100, 1e9, '', 'fifo', 'rtos', 'hlt', [], [0], [0, 1], [7], null, true, {}));
const scenarioCase = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('json' as const), v: fc.jsonValue({ maxDepth: 3 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('text' as const), t: fc.oneof(fc.string(), fc.constant('{"name": "x",'), fc.array(fc.constantFrom('{', '}', '\n', ' "name"', ':', '1', ',', '[', ']', 'x', '"'), { maxLength: 12 }).map((t) => t.join(''))) }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('mutate' as const),
      base: fc.nat(63),
      sets: fc.array(fc.tuple(fc.nat(), jsonish, fc.constantFrom('set', 'delete', 'typo')), { minLength: 1, maxLength: 3 }),
    }),
    weight: 6,
  },
);

function runScenarioCase(x: { kind: string; [k: string]: unknown }, c: Counts): void {
  const src = 'fuzz.json';
  try {
    if (x.kind === 'json') validateScenario(x.v, src);
    else if (x.kind === 'text') parseScenario(x.t as string, src);
    else {
      const { base, sets } = x as unknown as { base: number; sets: [number, unknown, string][] };
      let v = structuredClone(builtin()[base % builtin().length]) as Record<string, unknown>;
      for (const [i, val, how] of sets) {
        const ps = paths(v);
        if (ps.length === 0) break;
        const p = ps[i % ps.length];
        if (how === 'set') v = applySets(v, [`${p}=${JSON.stringify(val)}`], src) as Record<string, unknown>;
        else {
          // delete the key, or rename it with a typo: walk to the parent
          const keys = p.split('.');
          const last = keys.pop()!;
          if (/\[/.test(last)) continue;
          let o: unknown = v;
          for (const k of keys) for (const part of k.split(/[[\]]+/).filter(Boolean)) o = o && typeof o === 'object' ? (o as Record<string, unknown>)[/^\d+$/.test(part) ? Number(part) : part] : undefined;
          if (!o || typeof o !== 'object') continue;
          const rec = o as Record<string, unknown>;
          if (how === 'typo') rec[`${last.slice(0, -1)}${last.at(-1) === 's' ? 'z' : 's'}`] = rec[last];
          delete rec[last];
        }
      }
      validateScenario(v, src);
    }
    count(c, 'valid scenario');
  } catch (e) {
    count(c, userError(e, [src, '--set'], 'scenario rejected'));
  }
}

export const scenarios: Suite = {
  name: 'scenarios',
  input: 'random JSON, mutated built-in scenarios, --set overrides',
  run(runs, seed, c) {
    check(scenarioCase, runs, seed, (x) => runScenarioCase(x, c));
  },
};

// ---- checkpoint files ----------------------------------------------------------------------------

/** A small machine part-way through the sample program, as a checkpoint file. */
const checkpointFile = lazy(() => {
  const m = new Machine({ cpus: 1, memoryBytes: 1 << 20, smi: { period: 500, work: 10, phase: 300 } });
  loadImage(m.memory, SAMPLE, 'sample.s');
  m.start(SAMPLE.entry);
  m.run({ maxInstructions: 3 });
  return encodeCheckpoint({ kind: 'machine', machine: saveMachine(m) }, { kind: 'machine' });
});

/** Mutations of the state itself (as a corrupt-but-well-formed payload would be): a field dropped, nulled or retyped. */
function mutateState(st: Record<string, unknown>, path: number[], how: number): void {
  let o: unknown = st;
  for (const i of path) {
    if (!o || typeof o !== 'object' || ArrayBuffer.isView(o)) return;
    const keys = o instanceof Map ? [...o.keys()] : Object.keys(o);
    if (keys.length === 0) return;
    const k = keys[i % keys.length];
    if (path.indexOf(i) === path.length - 1 || typeof (o instanceof Map ? o.get(k) : (o as Record<string, unknown>)[k as string]) !== 'object') {
      const v = [undefined, null, 'x', -1, {}, [], 1e300][how % 7];
      if (o instanceof Map) { if (v === undefined) o.delete(k); else o.set(k, v); }
      else if (v === undefined) delete (o as Record<string, unknown>)[k as string];
      else (o as Record<string, unknown>)[k as string] = v;
      return;
    }
    o = o instanceof Map ? o.get(k) : (o as Record<string, unknown>)[k as string];
  }
}

export const checkpoints: Suite = {
  name: 'checkpoints',
  input: 'mutated checkpoint files (bytes, header, well-formed payloads with fields dropped or retyped)',
  run(runs, seed, c) {
    const arb = fc.oneof(
      fc.record({ flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), cut: fc.option(fc.nat(), { nil: undefined }) }),
      fc.record({ path: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), how: fc.nat(6) }),
    );
    check(arb, runs, seed, (x) => timed(() => {
      const file = 'fuzz.ckpt';
      try {
        let m: Machine;
        if ('flips' in x) {
          const b = Buffer.from(checkpointFile());
          for (const [o, v] of x.flips) b[o % b.length] = v;
          m = machineFromPayload(decodeCheckpoint(x.cut === undefined ? b : b.subarray(0, x.cut % b.length), file).payload, file);
        } else {
          const { payload } = decodeCheckpoint(checkpointFile(), file);
          mutateState((payload as { machine: Record<string, unknown> }).machine, x.path, x.how);
          m = machineFromPayload(payload, file);
        }
        count(c, `restored, ran: ${machineOutcome(m, m.run({ maxInstructions: m.instructions + 200, untilCycles: m.now + 1e5 }), {}, false)}`);
      } catch (e) {
        count(c, userError(e, file, 'checkpoint refused'));
      }
    }, CASE_MS, () => JSON.stringify(x)));
  },
};

export const SUITES: Suite[] = [images, hostCode, guestCode, vmxOps, scenarios, checkpoints];
