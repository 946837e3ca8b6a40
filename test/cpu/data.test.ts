/** Data movement, stack and atomic instructions: state, flags (untouched where x86 says so) and cycles. */
import { describe, expect, it } from 'vitest';
import { run } from '../helpers/runner.js';
import { NEHALEM } from '../../src/machine/cpu-model.js';
import { BY_MNEMONIC } from '../../src/isa/opcodes.js';
import type { FormName } from '../../src/isa/forms.js';
import { STATUS, cost, refAdd, refSub, type Flags } from './util.js';

const ALL_SET = Object.fromEntries(STATUS.map((f) => [f, 1])) as Flags;
const ALL_CLEAR = Object.fromEntries(STATUS.map((f) => [f, 0])) as Flags;
// bytes 01 7f ff 80 | 44 33 22 11 at x
const DATA = '\n.data\n.align 4\nx: .byte 0x01, 0x7f, 0xff, 0x80\ny: .long 0x11223344\nptr: .long 0\n';

describe('MOV', () => {
  const cases: [string, FormName, number][] = [
    // [source, form, expected eax]
    ['mov eax, ebx', 'rr', 0xcafef00d],
    ['mov eax, 0xfffffff0', 'ri', 0xfffffff0],
    ['mov eax, [x]', 'rm', 0x80ff7f01],
    ['mov eax, [x + 1]', 'rm', 0x4480ff7f], // unaligned
    ['movzx eax, byte [x + 2]', 'rm8', 0xff],
    ['movzx eax, byte [x + 1]', 'rm8', 0x7f],
    ['movsx eax, byte [x + 2]', 'rm8', 0xffffffff],
    ['movsx eax, byte [x + 1]', 'rm8', 0x7f],
    ['movzx eax, word [x + 2]', 'rm16', 0x80ff],
    ['movsx eax, word [x + 2]', 'rm16', 0xffff80ff],
    ['movsx eax, word [x]', 'rm16', 0x7f01],
  ];
  it.each(cases)('%s', (src, form, want) => {
    for (const flags of [ALL_SET, ALL_CLEAR]) {
      const mnem = src.split(' ')[0];
      run(src + DATA).regs({ eax: 0x5a5a5a5a, ebx: 0xcafef00d }).flags(flags).step()
        .expectRegs({ eax: want }).expectFlags(flags).expectCycles(cost(mnem, form));
    }
  });

  const stores: [string, FormName, number][] = [
    ['mov [y], ebx', 'mr', 0xcafef00d],
    ['mov dword [y], 0x87654321', 'mi', 0x87654321],
    ['mov byte [y], bl', 'm8r', 0x1122330d],
    ['mov [y], bl', 'm8r', 0x1122330d], // size taken from the register
    ['mov word [y], bx', 'm16r', 0x1122f00d],
    ['mov byte [y], 5', 'm8i', 0x11223305],
    ['mov byte [y + 3], 0xee', 'm8i', 0xee223344],
    ['mov word [y + 1], bx', 'm16r', 0x11f00d44],
  ];
  it.each(stores)('%s', (src, form, want) => {
    const r = run(src + DATA).regs({ ebx: 0xcafef00d }).flags(ALL_SET).step();
    expect(r.mem32('y') >>> 0).toBe(want >>> 0);
    expect(r.mem32('x') >>> 0, 'neighbour below').toBe(0x80ff7f01);
    expect(r.mem32('ptr'), 'neighbour above').toBe(0);
    r.expectFlags(ALL_SET).expectCycles(cost('mov', form));
  });

  it('addresses through every register as base and index', () => {
    const names = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;
    for (const base of names) {
      for (const index of names) {
        if (base === index) continue;
        const r = run(`mov ${base === 'eax' ? 'ecx' : 'eax'}, [${base} + ${index}*2 + 8]\n.data\n.align 4\nt: .space 64, 0\n`);
        const t = r.addr('t');
        r.poke32(t + 16, 0x600d600d).regs({ [base]: t, [index]: 4 }).step();
        expect(r.reg(base === 'eax' ? 'ecx' : 'eax') >>> 0, `${base} + ${index}*2`).toBe(0x600d600d);
      }
    }
  });
});

describe('LEA', () => {
  const cases: [string, Record<string, number>, number][] = [
    ['lea eax, [ebx + ecx*4 + 8]', { ebx: 0x1000, ecx: 3 }, 0x1014],
    ['lea eax, [ebx + ecx*1]', { ebx: 0x1000, ecx: 3 }, 0x1003],
    ['lea eax, [ebx + ecx*2 - 4]', { ebx: 0x1000, ecx: 3 }, 0x1002],
    ['lea eax, [ecx*8 + 0x10]', { ecx: 0x20 }, 0x110],
    ['lea eax, [ebx + ecx*4]', { ebx: 0xfffffffc, ecx: 2 }, 4], // wraps modulo 2^32
    ['lea eax, [ebx + ecx*8 + 0]', { ebx: 0, ecx: 0xffffffff }, 0xfffffff8],
    ['lea esp, [esp + 0x40]', {}, 0x80040],
  ];
  it.each(cases)('%s', (src, regs, want) => {
    run(src).regs(regs).flags(ALL_SET).step().expectRegs({ [src.split(' ')[1].replace(',', '')]: want }).expectFlags(ALL_SET).expectCycles(cost('lea', 'rm'));
  });
});

describe('XCHG', () => {
  it('swaps two registers', () => {
    run('xchg eax, ebx').regs({ eax: 1, ebx: -2 }).step().expectRegs({ eax: -2, ebx: 1 }).expectCycles(cost('xchg', 'rr'));
  });
  it('swaps a register with memory (implicitly locked, so it costs more)', () => {
    const r = run('xchg ecx, [y]' + DATA).regs({ ecx: 0xabcdef01 }).flags(ALL_SET).step();
    r.expectRegs({ ecx: 0x11223344 }).expectFlags(ALL_SET).expectCycles(cost('xchg', 'rm'));
    expect(r.mem32('y') >>> 0).toBe(0xabcdef01);
    expect(cost('xchg', 'rm')).toBeGreaterThan(cost('xchg', 'rr'));
  });
});

describe('PUSH and POP', () => {
  it('push r / push imm / push m decrement ESP by 4 and store', () => {
    const r = run(`push ebx\npush 0x12345678\npush -1\npush dword [y]${DATA}`).regs({ ebx: 0xdeadbeef });
    r.step().expectRegs({ esp: 0x7fffc }).expectCycles(cost('push', 'r'));
    r.step().expectRegs({ esp: 0x7fff8 }).expectCycles(cost('push', 'i'));
    r.step().expectRegs({ esp: 0x7fff4 }).expectCycles(cost('push', 'i'));
    r.step().expectRegs({ esp: 0x7fff0 }).expectCycles(cost('push', 'm'));
    expect([0x7fffc, 0x7fff8, 0x7fff4, 0x7fff0].map((a) => r.mem32(a) >>> 0)).toEqual([0xdeadbeef, 0x12345678, 0xffffffff, 0x11223344]);
  });
  it('pop r / pop m increment ESP by 4', () => {
    const r = run(`pop eax\npop dword [ptr]${DATA}`).poke32(0x80000, 0x1111).poke32(0x80004, 0x2222);
    r.step().expectRegs({ eax: 0x1111, esp: 0x80004 }).expectCycles(cost('pop', 'r'));
    r.step().expectRegs({ esp: 0x80008 }).expectCycles(cost('pop', 'm'));
    expect(r.mem32('ptr')).toBe(0x2222);
  });
  it('push esp stores the value before the decrement (SDM PUSH)', () => {
    const r = run('push esp').step();
    expect(r.mem32(0x7fffc)).toBe(0x80000);
  });
  it('pop esp loads the popped value (SDM POP)', () => {
    run('pop esp').poke32(0x80000, 0x4444).step().expectRegs({ esp: 0x4444 });
  });
  it('pop [esp] addresses with the incremented ESP (SDM POP)', () => {
    const r = run('pop dword [esp]').poke32(0x80000, 0xaaaa).poke32(0x80004, 0).step();
    r.expectRegs({ esp: 0x80004 });
    expect(r.mem32(0x80004)).toBe(0xaaaa);
  });
  it('call/push/pop round trip leaves ESP balanced', () => {
    run('push eax\npush ebx\npop eax\npop ebx').regs({ eax: 1, ebx: 2 }).step(4).expectRegs({ eax: 2, ebx: 1, esp: 0x80000 });
  });
});

describe('PUSHFD and POPFD', () => {
  const RESERVED_ZERO = (1 << 3) | (1 << 5) | (1 << 15) | 0xffc00000; // bits x86 always reads as 0
  it('popfd 0 reads back as just the always-one bit 1', () => {
    const r = run('popfd\npushfd').poke32(0x80000, 0).flags(ALL_SET);
    r.step().expectFlags({ ...ALL_CLEAR, IF: 0, DF: 0 }).expectCycles(cost('popfd', 'none'));
    r.step().expectCycles(cost('pushfd', 'none'));
    expect(r.mem32(0x80000)).toBe(0x2);
  });
  it('popfd sets the status flags, DF and IF but no reserved bit', () => {
    const r = run('popfd\npushfd').poke32(0x80000, ~(1 << 8)); // everything but TF
    r.step(2);
    const f = r.mem32(0x80000) >>> 0;
    expect(f & 0xed7, 'CF PF AF ZF SF IF DF OF').toBe(0xed7);
    expect(f & 2, 'bit 1').toBe(2);
    expect(f & RESERVED_ZERO, 'reserved bits').toBe(0);
    r.expectFlags({ ...ALL_SET, IF: 1, DF: 1 });
  });
  it.each(STATUS)('pushfd reports %s at its x86 bit position', (flag) => {
    const bit = { CF: 0, PF: 2, AF: 4, ZF: 6, SF: 7, OF: 11 }[flag];
    const r = run('pushfd').flags({ ...ALL_CLEAR, [flag]: 1 }).step();
    expect(r.mem32(0x7fffc)).toBe((1 << bit) | 2);
  });
});

describe('CMPXCHG and XADD', () => {
  for (const m of ['cmpxchg', 'lock cmpxchg']) {
    it(`${m}: equal → [mem] = src, ZF = 1, EAX unchanged`, () => {
      const r = run(`${m} [y], ecx${DATA}`).regs({ eax: 0x11223344, ecx: 7 }).step();
      expect(r.mem32('y')).toBe(7);
      r.expectRegs({ eax: 0x11223344, ecx: 7 }).expectFlags({ ZF: 1, CF: 0, SF: 0, OF: 0 }).expectCycles(cost(m, 'mr'));
    });
    it(`${m}: unequal → EAX = [mem], ZF = 0, [mem] unchanged; flags as CMP EAX, [mem]`, () => {
      const r = run(`${m} [y], ecx${DATA}`).regs({ eax: 1, ecx: 7 }).step();
      expect(r.mem32('y')).toBe(0x11223344);
      const want = refSub(1, 0x11223344).f;
      r.expectRegs({ eax: 0x11223344, ecx: 7 }).expectFlags(want).expectCycles(cost(m, 'mr'));
      expect(want.ZF).toBe(0);
    });
  }
  for (const m of ['xadd', 'lock xadd']) {
    it(`${m}: [mem] += src, src = old [mem], flags of the addition`, () => {
      const cases: [number, number][] = [[0x11223344, 1], [0xffffffff, 1], [0x7fffffff, 1], [5, 0xfffffffb]];
      for (const [mem, src] of cases) {
        const r = run(`${m} [y], ecx${DATA}`).poke32('y', mem).regs({ ecx: src }).step();
        const want = refAdd(mem, src);
        expect(r.mem32('y') >>> 0).toBe(want.r);
        r.expectRegs({ ecx: mem }).expectFlags(want.f).expectCycles(cost(m, 'mr'));
      }
    });
  }
  it('LOCK variants cost more than the plain ones (and use the locked class)', () => {
    for (const m of ['cmpxchg', 'xadd']) {
      expect(cost(`lock ${m}`, 'mr')).toBeGreaterThan(cost(m, 'mr'));
      expect(BY_MNEMONIC.get(`lock ${m}`)![0].cost).toBe('locked');
    }
    expect(cost('lock cmpxchg', 'mr')).toBe(NEHALEM.classes.locked.cycles);
  });
});
