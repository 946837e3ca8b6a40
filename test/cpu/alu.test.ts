/**
 * Arithmetic and logic instructions through the real CPU: results, the six
 * status flags against a BigInt reference (util.ts), and cycles per cost
 * class, for every form of every ALU opcode.
 */
import { describe, expect, it } from 'vitest';
import { EventType } from '../../src/cpu/cpu.js';
import { Vector } from '../../src/cpu/faults.js';
import type { FormName } from '../../src/isa/forms.js';
import { TraceKind } from '../../src/trace/trace.js';
import { run, type FlagName, type Runner } from '../helpers/runner.js';
import {
  DELIVERY, IDT_DATA, again, STATUS, cost, hex, idtSetup, inverted, refAdd, refLogic, refSub, s32, szp, u32, type Flags, type Ref,
} from './util.js';

const V = [0, 1, 2, 0x0f, 0x10, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0x12345678, 0xdeadbeef];
const W = [0, 1, 0x0f, 0x7fffffff, 0x80000000, 0xffffffff, 0xdeadbeef];
const DATA = '\n.data\nx: .long 0\n';

function flagsOf(r: Runner, f: Flags): Flags {
  return Object.fromEntries(Object.keys(f).map((k) => [k, r.flag(k as FlagName)]));
}

describe('hand-checked flag edge cases (SDM examples)', () => {
  // expected values worked out by hand, independent of both the reference and the emulator
  const cases: [string, Parameters<Runner['regs']>[0], Flags, number, Flags][] = [
    ['add eax, ebx', { eax: 0x7fffffff, ebx: 1 }, {}, 0x80000000, { CF: 0, ZF: 0, SF: 1, OF: 1, AF: 1, PF: 1 }],
    ['sub eax, ebx', { eax: 0x80000000, ebx: 1 }, {}, 0x7fffffff, { CF: 0, ZF: 0, SF: 0, OF: 1, AF: 1, PF: 1 }],
    ['add eax, ebx', { eax: 0xffffffff, ebx: 1 }, {}, 0, { CF: 1, ZF: 1, SF: 0, OF: 0, AF: 1, PF: 1 }],
    ['add eax, ebx', { eax: 8, ebx: 8 }, {}, 0x10, { CF: 0, ZF: 0, AF: 1, PF: 0 }],
    ['adc eax, ebx', { eax: 0xffffffff, ebx: 0 }, { CF: 1 }, 0, { CF: 1, ZF: 1, OF: 0, AF: 1 }],
    ['adc eax, ebx', { eax: 0x7fffffff, ebx: 0 }, { CF: 1 }, 0x80000000, { CF: 0, OF: 1, SF: 1 }],
    ['sbb eax, ebx', { eax: 0, ebx: 0 }, { CF: 1 }, 0xffffffff, { CF: 1, ZF: 0, SF: 1, OF: 0, AF: 1, PF: 1 }],
    ['sbb eax, ebx', { eax: 0x80000000, ebx: 0 }, { CF: 1 }, 0x7fffffff, { CF: 0, OF: 1 }],
    ['neg eax', { eax: 0 }, { CF: 1 }, 0, { CF: 0, ZF: 1, OF: 0 }],
    ['neg eax', { eax: 0x80000000 }, {}, 0x80000000, { CF: 1, OF: 1, SF: 1, ZF: 0 }],
    ['neg eax', { eax: 1 }, {}, 0xffffffff, { CF: 1, SF: 1, OF: 0, AF: 1 }],
    ['inc eax', { eax: 0x7fffffff }, { CF: 1 }, 0x80000000, { CF: 1, OF: 1, SF: 1, AF: 1 }],
    ['inc eax', { eax: 0xffffffff }, { CF: 0 }, 0, { CF: 0, ZF: 1, OF: 0 }],
    ['dec eax', { eax: 0x80000000 }, { CF: 1 }, 0x7fffffff, { CF: 1, OF: 1, SF: 0 }],
    ['dec eax', { eax: 0 }, { CF: 0 }, 0xffffffff, { CF: 0, SF: 1, OF: 0, AF: 1 }],
    ['xor eax, eax', { eax: 0x1234 }, { CF: 1, OF: 1 }, 0, { CF: 0, OF: 0, ZF: 1, SF: 0, PF: 1 }],
    ['and eax, ebx', { eax: 0x80000003, ebx: 0x80000001 }, {}, 0x80000001, { SF: 1, PF: 0, ZF: 0 }],
  ];
  it.each(cases)('%s with %o', (src, regs, pre, result, post) => {
    run(src).regs(regs).flags(pre).step().expectRegs({ eax: result }).expectFlags(post);
  });
});

interface Binary { ref: (a: number, b: number, c: 0 | 1) => Ref; carryIn?: boolean; writes?: boolean; logic?: boolean; forms: FormName[] }
const FIVE: FormName[] = ['rr', 'ri', 'rm', 'mr', 'mi'];
const BINARY: Record<string, Binary> = {
  add: { ref: (a, b) => refAdd(a, b), forms: FIVE },
  adc: { ref: refAdd, carryIn: true, forms: FIVE },
  sub: { ref: (a, b) => refSub(a, b), forms: FIVE },
  sbb: { ref: refSub, carryIn: true, forms: FIVE },
  cmp: { ref: (a, b) => refSub(a, b), writes: false, forms: FIVE },
  and: { ref: (a, b) => refLogic(a & b), logic: true, forms: FIVE },
  or: { ref: (a, b) => refLogic(a | b), logic: true, forms: FIVE },
  xor: { ref: (a, b) => refLogic(a ^ b), logic: true, forms: FIVE },
  test: { ref: (a, b) => refLogic(a & b), logic: true, writes: false, forms: ['rr', 'ri', 'mr', 'mi'] },
};

describe.each(Object.entries(BINARY))('%s', (m, op) => {
  const carries: (0 | 1)[] = op.carryIn ? [0, 1] : [0];
  it.each(op.forms)('form %s: result, flags and cycles', (form) => {
    const values = form === 'ri' || form === 'mi' ? W : V;
    const src: Partial<Record<FormName, string>> = { rr: `${m} eax, ebx`, rm: `${m} eax, [x]${DATA}`, mr: `${m} [x], ebx${DATA}` };
    const fixed = src[form] === undefined ? undefined : run(src[form]!);
    for (const a of values) for (const b of values) for (const c of carries) {
      const want = op.ref(a, b, c);
      const pre = { ...inverted(want.f), ...(op.carryIn ? { CF: c } : {}) };
      const label = `${m}.${form} a=${hex(a)} b=${hex(b)} cf=${c}`;
      let r: Runner;
      switch (form) {
        case 'rr': r = again(fixed!, { eax: a, ebx: b }, pre); break;
        case 'rm': r = again(fixed!, { eax: a }, pre, b); break;
        case 'mr': r = again(fixed!, { ebx: b }, pre, a); break;
        case 'ri': r = run(`${m} eax, ${b}`).regs({ eax: a }).flags(pre).step(); break;
        default: r = run(`${m} dword [x], ${b}${DATA}`).poke32('x', a).flags(pre).step(); break;
      }
      const dst = form === 'mr' || form === 'mi' ? r.mem32('x') : r.reg('eax');
      const expected = { dst: op.writes === false ? a : want.r, flags: want.f, cycles: cost(m, form) };
      expect({ dst: dst >>> 0, flags: flagsOf(r, want.f), cycles: r.cycles }, label).toEqual(expected);
      if (form === 'rr' || form === 'mr') expect(r.reg('ebx') >>> 0, `${label}: source`).toBe(b);
      if (form === 'rm') expect(r.mem32('x') >>> 0, `${label}: source`).toBe(b);
    }
  });
});

describe('same register as both operands', () => {
  it.each([
    ['sub', 0], ['xor', 0], ['and', 0x80000001], ['or', 0x80000001], ['add', 2], ['cmp', 0x80000001],
  ] as const)('%s eax, eax', (m, result) => {
    const r = run(`${m} eax, eax`).regs({ eax: 0x80000001 }).step();
    r.expectRegs({ eax: result });
    if (m === 'sub' || m === 'xor' || m === 'cmp') r.expectFlags({ ZF: 1, CF: 0, OF: 0 });
    if (m === 'add') r.expectFlags({ CF: 1, OF: 1, ZF: 0 });
  });
});

describe('INC, DEC, NEG, NOT', () => {
  const unary: Record<string, (a: number, cf: 0 | 1) => Ref> = {
    inc: (a, cf) => { const x = refAdd(a, 1); return { r: x.r, f: { ...x.f, CF: cf } }; },
    dec: (a, cf) => { const x = refSub(a, 1); return { r: x.r, f: { ...x.f, CF: cf } }; },
    neg: (a) => refSub(0, a),
  };
  for (const [m, ref] of Object.entries(unary)) {
    it.each(['r', 'm'] as FormName[])(`${m} form %s`, (form) => {
      const r = run(form === 'r' ? `${m} eax` : `${m} dword [x]${DATA}`);
      for (const a of V) for (const cf of [0, 1] as const) {
        const want = ref(a, cf);
        const pre = { ...inverted(want.f), CF: cf };
        again(r, { eax: a }, pre, form === 'm' ? a : undefined);
        const dst = form === 'r' ? r.reg('eax') : r.mem32('x');
        expect({ dst: dst >>> 0, flags: flagsOf(r, want.f), cycles: r.cycles }, `${m} ${hex(a)} cf=${cf}`)
          .toEqual({ dst: want.r, flags: want.f, cycles: cost(m, form) });
      }
    });
  }
  it.each(['r', 'm'] as FormName[])('not form %s inverts and leaves every flag alone', (form) => {
    const r = run(form === 'r' ? 'not eax' : `not dword [x]${DATA}`);
    for (const a of V) for (const all of [0, 1] as const) {
      const pre = Object.fromEntries(STATUS.map((f) => [f, all])) as Flags;
      again(r, { eax: a }, pre, form === 'm' ? a : undefined);
      expect((form === 'r' ? r.reg('eax') : r.mem32('x')) >>> 0).toBe(~a >>> 0);
      r.expectFlags(pre).expectCycles(cost('not', form));
    }
  });
});

describe('shifts and rotates', () => {
  const A = [0, 1, 0x80000000, 0x80000001, 0x7fffffff, 0xffffffff, 0x12345678, 0xc0000000, 0x40000000, 0x00000081];
  const COUNTS = [0, 1, 2, 4, 7, 8, 16, 31, 32, 33, 63, 255];
  /** result and the flags x86 defines for a masked count n >= 1 (OF only for n = 1; AF never). */
  const SHIFTS: Record<string, (a: number, n: number) => Ref> = {
    shl: (a, n) => {
      const r = u32(BigInt(a >>> 0) << BigInt(n));
      const cf = Number((BigInt(a >>> 0) >> BigInt(32 - n)) & 1n) as 0 | 1;
      return { r, f: { ...szp(r), CF: cf, ...(n === 1 ? { OF: ((r >>> 31) ^ cf) as 0 | 1 } : {}) } };
    },
    shr: (a, n) => {
      const r = u32(BigInt(a >>> 0) >> BigInt(n));
      return { r, f: { ...szp(r), CF: ((a >>> (n - 1)) & 1) as 0 | 1, ...(n === 1 ? { OF: (a >>> 31) as 0 | 1 } : {}) } };
    },
    sar: (a, n) => {
      const r = u32(s32(a) >> BigInt(n));
      return { r, f: { ...szp(r), CF: Number((s32(a) >> BigInt(n - 1)) & 1n) as 0 | 1, ...(n === 1 ? { OF: 0 } : {}) } };
    },
    rol: (a, n) => {
      const r = u32((BigInt(a >>> 0) << BigInt(n)) | (BigInt(a >>> 0) >> BigInt(32 - n)));
      const cf = (r & 1) as 0 | 1;
      return { r, f: { CF: cf, ...(n === 1 ? { OF: ((r >>> 31) ^ cf) as 0 | 1 } : {}) } };
    },
    ror: (a, n) => {
      const r = u32((BigInt(a >>> 0) >> BigInt(n)) | (BigInt(a >>> 0) << BigInt(32 - n)));
      return { r, f: { CF: (r >>> 31) as 0 | 1, ...(n === 1 ? { OF: ((r >>> 31) ^ ((r >>> 30) & 1)) as 0 | 1 } : {}) } };
    },
  };
  for (const [m, ref] of Object.entries(SHIFTS)) {
    it(`${m}: imm8 and CL forms, count masked to 5 bits, zero count changes nothing`, () => {
      const viaCl = run(`${m} eax, cl`);
      for (const count of COUNTS) {
        const viaImm = run(`${m} eax, ${count}`);
        for (const a of A) for (const all of [0, 1] as const) {
          const pre = Object.fromEntries(STATUS.map((f) => [f, all])) as Flags;
          const n = count & 31;
          // count 0: nothing changes; rotates never touch SF ZF PF AF
          const want: Ref = n === 0 ? { r: a >>> 0, f: pre } : ref(a, n);
          if (n !== 0 && (m === 'rol' || m === 'ror')) want.f = { SF: all, ZF: all, PF: all, AF: all, ...want.f };
          for (const [form, r] of [['ri8', again(viaImm, { eax: a }, pre)], ['rcl', again(viaCl, { eax: a, ecx: 0x5a5a0000 | count }, pre)]] as const) {
            expect({ r: r.reg('eax') >>> 0, f: flagsOf(r, want.f), cycles: r.cycles }, `${m}.${form} ${hex(a)} by ${count} flags=${all}`)
              .toEqual({ r: want.r, f: want.f, cycles: cost(m, form) });
          }
          expect(viaCl.reg('ecx') >>> 0).toBe((0x5a5a0000 | count) >>> 0);
        }
      }
    });
  }
});

describe('MUL and IMUL', () => {
  const M = [0, 1, 2, 3, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x12345678];
  it('mul r: EDX:EAX = EAX * src unsigned; CF = OF = (EDX != 0)', () => {
    const r = run('mul ebx');
    for (const a of M) for (const b of M) {
      const p = BigInt(a) * BigInt(b);
      again(r, { eax: a, ebx: b, edx: 0x5555 }, {});
      expect([r.reg('eax') >>> 0, r.reg('edx') >>> 0, r.flag('CF'), r.flag('OF'), r.cycles], `${hex(a)}*${hex(b)}`)
        .toEqual([u32(p), u32(p >> 32n), +(p >> 32n !== 0n), +(p >> 32n !== 0n), cost('mul', 'r')]);
    }
  });
  it('imul r: EDX:EAX = EAX * src signed; CF = OF = (EDX:EAX != sign-extended EAX)', () => {
    const r = run('imul ebx');
    for (const a of M) for (const b of M) {
      const p = s32(a) * s32(b);
      const fits = p === BigInt.asIntN(32, p);
      again(r, { eax: a, ebx: b }, {});
      expect([r.reg('eax') >>> 0, r.reg('edx') >>> 0, r.flag('CF'), r.flag('OF'), r.cycles], `${hex(a)}*${hex(b)}`)
        .toEqual([u32(p), u32(p >> 32n), +!fits, +!fits, cost('imul', 'r')]);
    }
  });
  it('imul rr and ri: truncated product; CF = OF = (it did not fit); EDX untouched', () => {
    const rr = run('imul ecx, ebx');
    for (const a of M) for (const b of M) {
      const p = s32(a) * s32(b);
      const fits = +(p === BigInt.asIntN(32, p));
      for (const [form, r] of [['rr', again(rr, { ecx: a, ebx: b, edx: 0x77 }, {})], ['ri', run(`imul ecx, ${b}`).regs({ ecx: a, edx: 0x77 }).step()]] as const) {
        expect([r.reg('ecx') >>> 0, r.reg('edx'), r.flag('CF'), r.flag('OF'), r.cycles], `${form} ${hex(a)}*${hex(b)}`)
          .toEqual([u32(p), 0x77, 1 - fits, 1 - fits, cost('imul', form)]);
      }
    }
  });
});

describe('DIV, IDIV, CDQ', () => {
  it('div: unsigned quotient in EAX, remainder in EDX', () => {
    const r = run('div ebx');
    const cases: [number, number, number][] = [[0, 100, 7], [0, 0xffffffff, 1], [0, 0xffffffff, 0xffffffff], [1, 0, 2], [0x12345677, 0x9abcdef0, 0x12345678], [0, 5, 10]];
    for (const [hi, lo, d] of cases) {
      const n = (BigInt(hi) << 32n) | BigInt(lo);
      again(r, { edx: hi, eax: lo, ebx: d }, {});
      expect([r.reg('eax') >>> 0, r.reg('edx') >>> 0, r.cycles]).toEqual([u32(n / BigInt(d)), u32(n % BigInt(d)), cost('div', 'r')]);
    }
  });
  it('idiv: quotient truncated toward zero, remainder has the sign of the dividend', () => {
    const r = run('idiv ebx');
    // [dividend, divisor, quotient, remainder] (SDM IDIV: truncation toward zero)
    const cases: [number, number, number, number][] = [[7, 2, 3, 1], [-7, 2, -3, -1], [7, -2, -3, 1], [-7, -2, 3, -1], [-2147483648, 1, -2147483648, 0], [-2147483648, 2, -1073741824, 0], [2147483647, 2, 1073741823, 1], [2147483647, -1, -2147483647, 0], [-1, 2, 0, -1]];
    for (const [n, d, q, rem] of cases) {
      again(r, { eax: n, edx: n < 0 ? -1 : 0, ebx: d }, {});
      expect([r.reg('eax'), r.reg('edx'), r.cycles], `${n}/${d}`).toEqual([q, rem, cost('idiv', 'r')]);
    }
    // a 64-bit dividend: -2^32 / 2^16 = -2^16
    again(r, { edx: -1, eax: 0, ebx: 0x10000 }, {}).expectRegs({ eax: -0x10000, edx: 0 });
  });
  const faulting: [string, string, Parameters<Runner['regs']>[0]][] = [
    ['div by zero', 'div', { edx: 0, eax: 5, ebx: 0 }],
    ['idiv by zero', 'idiv', { edx: 0, eax: 5, ebx: 0 }],
    ['div quotient overflow (EDX >= divisor)', 'div', { edx: 2, eax: 0, ebx: 2 }],
    ['idiv -2^31 / -1', 'idiv', { edx: -1, eax: 0x80000000, ebx: -1 }],
    ['idiv quotient above 2^31 - 1', 'idiv', { edx: 0, eax: 0x80000000, ebx: 1 }],
    ['idiv quotient below -2^31', 'idiv', { edx: -1, eax: 0x7fffffff, ebx: 1 }],
  ];
  it.each(faulting)('%s raises #DE through the IDT, registers unchanged, EIP of the DIV pushed', (_n, m, regs) => {
    const r = run(`_start:\n${idtSetup({ VEC_DE: 'de_handler' })}\nfaulting:\n    ${m} ebx\n    hlt\nde_handler:\n    hlt\n${IDT_DATA}`, { traceKeep: 100 });
    r.regs(regs);
    const esp = r.reg('esp');
    r.runTo('de_handler', 50);
    r.expectRegs({ eax: regs.eax!, edx: regs.edx!, ebx: regs.ebx! });
    expect(r.reg('esp')).toBe(esp - 8); // EFLAGS and EIP, no error code
    expect(r.mem32(r.reg('esp'))).toBe(r.addr('faulting'));
    expect(r.mem32(r.reg('esp') + 4) & 0x202).toBe(0x2); // reserved bit 1 set, IF was 0
    const ev = r.machine.trace.recent().filter((e) => e.kind === TraceKind.Interrupt);
    expect(ev.map((e) => [e.a, e.b])).toEqual([[Vector.DE, EventType.HardwareException]]);
  });
  it('charges the delivery, not the faulting instruction, for #DE', () => {
    const r = run(`_start:\n${idtSetup({ VEC_DE: 'de_handler' })}\nfaulting:\n    div ebx\nde_handler:\n    hlt\n${IDT_DATA}`);
    r.regs({ ebx: 0 }).runTo('faulting').step().expectEip('de_handler').expectCycles(DELIVERY);
  });
  it('cdq: EDX = sign of EAX, flags unchanged', () => {
    const r = run('cdq');
    for (const a of V) {
      again(r, { eax: a, edx: 0x1234 }, { CF: 1, ZF: 0 });
      r.expectRegs({ eax: a, edx: a >>> 31 ? -1 : 0 }).expectFlags({ CF: 1, ZF: 0 }).expectCycles(cost('cdq', 'none'));
    }
  });
});
