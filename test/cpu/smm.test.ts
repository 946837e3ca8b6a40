/**
 * System-management mode: SMI delivery at instruction boundaries, the
 * SDM's state-save map, RSM, auto-HALT restart, SMM time per CPU, and the
 * default treatment in VMX non-root operation (invisible to the VMM).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runProgram } from '../../src/cli/program.js';
import { CpuState } from '../../src/cpu/cpu.js';
import { SmmSave } from '../../src/cpu/smm.js';
import { NEHALEM } from '../../src/machine/cpu-model.js';
import { TraceKind } from '../../src/trace/trace.js';
import { asm, run } from '../helpers/runner.js';

const ROOT = path.resolve(__dirname, '../..');
const SMM_HANDLER = path.join(ROOT, 'firmware/smm/main.s');
const ENTRY = NEHALEM.events.smmEntry.cycles;
const EXIT = NEHALEM.events.smmExit.cycles;

describe('SMM', () => {
  it('a software SMI (APM_CNT) saves state per the SDM map, runs the handler, and RSM resumes after the OUT', () => {
    const r = run(`
_start:
    mov ebx, 0x1234
    mov esi, 0xbeef
    xor eax, eax
    out APM_CNT_PORT, al
after:
    mov edi, 7
    hlt
`, { memoryBytes: 1 << 20, smi: { period: 0, work: 5000, phase: 0 } });
    r.machine.loadSmmHandler(asm('.include "smm.s"', { 'smm.s': require('node:fs').readFileSync(SMM_HANDLER, 'utf8') }), 'smm');
    r.runMachine(1e7);
    const c = r.cpu;
    const save = c.smm!.smbase + 0x8000;
    const mem = r.machine.memory;
    expect(mem.read32(save + SmmSave.EIP) >>> 0).toBe(r.addr('after'));
    expect(mem.read32(save + SmmSave.EBX)).toBe(0x1234);
    expect(mem.read32(save + SmmSave.ESI)).toBe(0xbeef);
    expect(mem.read32(save + SmmSave.SMBASE) >>> 0).toBe(c.smm!.smbase);
    // the handler clobbered registers; RSM restored them
    r.expectRegs({ ebx: 0x1234, esi: 0xbeef, edi: 7 }).expectEip(r.addr('after') + 7);
    const kinds = r.machine.trace.recent().map((e) => e.kind);
    expect(kinds.indexOf(TraceKind.SmiEnter)).toBeLessThan(kinds.indexOf(TraceKind.SmiLeave));
    // SMM time: entry + the handler's work (5000 cycles of WORK) + its few instructions + exit
    expect(c.smm!.cycles).toBeGreaterThanOrEqual(ENTRY + 5000 + EXIT);
    expect(c.smm!.cycles).toBeLessThan(ENTRY + 5000 + EXIT + 3000);
  });

  it('RSM outside SMM raises #UD', () => {
    const r = run(`
_start:
    lidt [idtr]
    rsm
    hlt
ud: mov eax, 6
    hlt
.data
idtr: .word 8*8 - 1
      .long idt
idt: .long 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ud, IDT_INTERRUPT_GATE, 0, 0
`);
    r.runMachine(1e6).expectRegs({ eax: 6 });
  });

  it('an SMI while halted returns to HLT after RSM (auto-HALT restart)', () => {
    const r = run(`
_start:
    cli
    hlt
`, { memoryBytes: 1 << 20, smi: { period: 30_000, work: 1000, phase: 10_000 } });
    r.machine.loadSmmHandler(asm('.include "smm.s"', { 'smm.s': require('node:fs').readFileSync(SMM_HANDLER, 'utf8') }), 'smm');
    // SMIs at 10k, 40k, 70k, 100k; each takes ~17k cycles, so at 125k the last one is over
    r.machine.run({ untilCycles: 125_000 });
    expect(r.machine.smiSource.count).toBe(4);
    expect(r.cpu.state).toBe(CpuState.Halted);
    expect(r.cpu.eip).toBe(r.image.entry + 2); // still parked after the HLT, never ran on
    expect(r.cpu.smm!.cycles).toBeGreaterThanOrEqual(4 * (ENTRY + 1000 + EXIT));
  });

  it('SMIs in VMX non-root operation are invisible to the VMM: same exits, the time shows up as SMM time', () => {
    const demo = (smi: boolean) =>
      runProgram(
        path.join(ROOT, 'firmware/hv-demo/main.s'),
        { cpus: 1, smi: smi ? { period: 100_000, work: 50_000, phase: 100_000 } : null },
        { untilCycles: 1e8 },
        [{ path: path.join(ROOT, 'guests/tiny/main.s'), symbol: 'guest_memory' }],
        smi ? SMM_HANDLER : undefined,
      );
    const quiet = demo(false);
    const noisy = demo(true);
    expect(noisy.result.exitCode).toBe(0);
    expect(Object.keys(noisy.exits.counts())).toEqual(Object.keys(quiet.exits.counts()));
    expect(noisy.machine.smiSource.count).toBeGreaterThan(3);
    expect(noisy.machine.cpus[0].smm!.cycles).toBeGreaterThan(3 * 50_000);
    expect(quiet.machine.cpus[0].smm!.cycles).toBe(0);
    // SMIs that hit the guest (SmiEnter a = 1) are followed by SmiLeave and the guest goes on: no VM exit at RSM
    const again = runProgram(
      path.join(ROOT, 'firmware/hv-demo/main.s'),
      { cpus: 1, traceKeep: 100_000, smi: { period: 100_000, work: 50_000, phase: 100_000 } },
      { untilCycles: 1e8 },
      [{ path: path.join(ROOT, 'guests/tiny/main.s'), symbol: 'guest_memory' }],
      SMM_HANDLER,
    );
    const ev = again.machine.trace.recent().filter((e) => e.kind !== TraceKind.Tracepoint);
    const hitGuest: number[] = [];
    ev.forEach((e, i) => {
      if (e.kind !== TraceKind.SmiEnter) return;
      hitGuest.push(e.a);
      expect(ev[i + 1].kind).toBe(TraceKind.SmiLeave);
      if (e.a === 1 && ev[i + 2]) expect(ev[i + 2].kind === TraceKind.VmExit && ev[i + 2].time === ev[i + 1].time).toBe(false);
    });
    expect(hitGuest).toContain(1);
  });
});
