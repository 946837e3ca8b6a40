/** Jumps, calls, returns, every Jcc and SETcc condition (SDM Vol. 1 Appendix B), with cycles. */
import { describe, expect, it } from 'vitest';
import { CONDITIONS, type Condition } from '../../src/isa/conditions.js';
import type { FormName } from '../../src/isa/forms.js';
import { run, type Runner } from '../helpers/runner.js';
import { again, cost, hex, refAdd, refLogic, refSub, type Flags } from './util.js';

/** The x86 condition definitions (SDM Vol. 1, Table B-1), from flag values. */
const HOLDS: Record<Condition, (f: Required<Pick<Flags, 'CF' | 'ZF' | 'SF' | 'OF' | 'PF'>>) => boolean> = {
  o: (f) => f.OF === 1, no: (f) => f.OF === 0,
  b: (f) => f.CF === 1, ae: (f) => f.CF === 0,
  e: (f) => f.ZF === 1, ne: (f) => f.ZF === 0,
  be: (f) => f.CF === 1 || f.ZF === 1, a: (f) => f.CF === 0 && f.ZF === 0,
  s: (f) => f.SF === 1, ns: (f) => f.SF === 0,
  p: (f) => f.PF === 1, np: (f) => f.PF === 0,
  l: (f) => f.SF !== f.OF, ge: (f) => f.SF === f.OF,
  le: (f) => f.ZF === 1 || f.SF !== f.OF, g: (f) => f.ZF === 0 && f.SF === f.OF,
};

describe('JMP, CALL, RET', () => {
  const prog = `
_start:
    nop
site:
    INSN
after:
    hlt
target:
    hlt
.data
ptr: .long target
`;
  /** [instruction, form, registers as label + offset] */
  const jumps: [string, FormName, Record<string, [string, number]>][] = [
    ['jmp target', 'rel', {}],
    ['jmp eax', 'r', { eax: ['target', 0] }],
    ['jmp [ptr]', 'm', {}],
    ['jmp [ebx + 4]', 'm', { ebx: ['ptr', -4] }],
  ];
  it.each(jumps)('%s goes to the target without touching the stack', (insn, form, regs) => {
    const r = run(prog.replace('INSN', insn));
    r.regs(Object.fromEntries(Object.entries(regs).map(([k, [label, off]]) => [k, r.addr(label) + off])));
    r.step().step().expectEip('target').expectRegs({ esp: 0x80000 }).expectCycles(cost('jmp', form));
  });
  const calls: [string, FormName, Record<string, string>][] = [
    ['call target', 'rel', {}],
    ['call eax', 'r', { eax: 'target' }],
    ['call [ptr]', 'm', {}],
  ];
  it.each(calls)('%s pushes the address of the next instruction; ret returns there', (insn, form, regs) => {
    const r = run(prog.replace('INSN', insn).replace('target:\n    hlt', 'target:\n    ret'));
    r.regs(Object.fromEntries(Object.entries(regs).map(([k, v]) => [k, r.addr(v)]))).step();
    r.step().expectEip('target').expectRegs({ esp: 0x7fffc }).expectCycles(cost('call', form));
    expect(r.mem32(0x7fffc)).toBe(r.addr('after'));
    r.step().expectEip('after').expectRegs({ esp: 0x80000 }).expectCycles(cost('ret', 'none'));
  });
  it('call [esp] reads the target before pushing', () => {
    const r = run(prog.replace('INSN', 'call [esp]'));
    r.poke32(0x80000, r.addr('target')).step(2).expectEip('target').expectRegs({ esp: 0x7fffc });
    expect(r.mem32(0x7fffc)).toBe(r.addr('after'));
  });
  it('nested calls and a counted backward loop', () => {
    const r = run(`
_start:
    mov ecx, 5
    xor eax, eax
loop:
    call f
    dec ecx
    jne loop
done:
    hlt
f:  call g
    ret
g:  inc eax
    ret
`);
    r.runTo('done').expectRegs({ eax: 5, ecx: 0, esp: 0x80000 });
    const perIter = 2 * cost('call', 'rel') + cost('inc', 'r') + 2 * cost('ret', 'none') + cost('dec', 'r') + cost('jne', 'rel');
    r.expectCycles(cost('mov', 'ri') + cost('xor', 'rr') + 5 * perIter);
  });
});

describe('Jcc and SETcc from flags set directly (every combination)', () => {
  const combos: Required<Pick<Flags, 'CF' | 'ZF' | 'SF' | 'OF' | 'PF'>>[] = [];
  for (let i = 0; i < 32; i++) combos.push({ CF: (i & 1) as 0 | 1, ZF: ((i >> 1) & 1) as 0 | 1, SF: ((i >> 2) & 1) as 0 | 1, OF: ((i >> 3) & 1) as 0 | 1, PF: ((i >> 4) & 1) as 0 | 1 });
  it.each([...CONDITIONS])('j%s / set%s', (cc) => {
    const j = run(`j${cc} taken\nfall: hlt\ntaken: hlt`);
    const s = run(`set${cc} bl`);
    for (const f of combos) {
      const want = HOLDS[cc](f);
      again(j, {}, f).expectEip(want ? 'taken' : 'fall').expectCycles(cost(`j${cc}`, 'rel'));
      again(s, { ebx: 0x12345678 }, f).expectRegs({ ebx: 0x12345600 | (want ? 1 : 0) }).expectFlags(f).expectCycles(cost(`set${cc}`, 'r8'));
    }
  });
});

describe('Jcc and SETcc after real instructions (signed vs unsigned)', () => {
  it('cmp eax, ebx with eax = -1, ebx = 1: jl taken, jb not taken, jg/ja opposite', () => {
    const taken = (cc: string): boolean => {
      const r = run(`cmp eax, ebx\nj${cc} yes\nno: hlt\nyes: hlt`).regs({ eax: -1, ebx: 1 }).step(2);
      return r.cpu.eip === r.addr('yes');
    };
    expect([taken('l'), taken('b'), taken('g'), taken('a'), taken('le'), taken('ae'), taken('ne'), taken('e')])
      .toEqual([true, false, false, true, true, true, true, false]);
  });

  const V = [0, 1, 2, 0x7f, 0x80, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff];
  const OPS: [string, (a: number, b: number) => Flags][] = [
    ['cmp eax, ebx', (a, b) => refSub(a, b).f],
    ['sub eax, ebx', (a, b) => refSub(a, b).f],
    ['add eax, ebx', (a, b) => refAdd(a, b).f],
    ['test eax, ebx', (a, b) => refLogic(a & b).f],
    ['and eax, ebx', (a, b) => refLogic(a & b).f],
    ['xor eax, ebx', (a, b) => refLogic(a ^ b).f],
    ['inc eax', (a) => ({ ...refAdd(a, 1).f, CF: 1 })], // CF preserved from the initial CF = 1
    ['dec eax', (a) => ({ ...refSub(a, 1).f, CF: 1 })],
    ['neg eax', (a) => refSub(0, a).f],
    ['cmp eax, 0x80000000', (a) => refSub(a, 0x80000000).f],
  ];
  it.each(OPS)('after %s', (op, ref) => {
    for (const cc of CONDITIONS) {
      const j: Runner = run(`${op}\nj${cc} yes\nno: hlt\nyes: hlt`);
      const s: Runner = run(`${op}\nset${cc} cl`);
      for (const a of V) for (const b of V) {
        const f = ref(a, b) as Required<Pick<Flags, 'CF' | 'ZF' | 'SF' | 'OF' | 'PF'>>;
        const want = HOLDS[cc](f);
        const label = `${op} a=${hex(a)} b=${hex(b)} j${cc}`;
        again(j, { eax: a, ebx: b }, { CF: 1 }, undefined, 2);
        expect(j.cpu.eip, label).toBe(j.addr(want ? 'yes' : 'no'));
        again(s, { eax: a, ebx: b, ecx: 0xffffffff }, { CF: 1 }, undefined, 2);
        expect(s.reg('ecx') >>> 0, label).toBe(want ? 0xffffff01 : 0xffffff00);
      }
    }
  });
});
