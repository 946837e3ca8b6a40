import { describe, expect, it } from 'vitest';
import { ExitStats } from '../../src/trace/exit-stats.js';
import { Trace, TraceKind } from '../../src/trace/trace.js';
import { ExitReason } from '../../src/vmx/exit-reasons.js';

describe('ExitStats', () => {
  it('counts exits per reason and times exit → next entry per CPU', () => {
    const t = new Trace();
    const s = new ExitStats(t);
    t.emit(100, 0, TraceKind.VmExit, ExitReason.VMCALL, 0);
    t.emit(150, 1, TraceKind.VmExit, ExitReason.HLT, 0);
    t.emit(400, 0, TraceKind.VmEntry, 0, 0); // 300 cycles for the VMCALL on cpu 0
    t.emit(1150, 1, TraceKind.VmEntry, 0, 0); // 1000 for the HLT on cpu 1
    t.emit(2000, 0, TraceKind.VmExit, ExitReason.VMCALL, 0);
    t.emit(2100, 0, TraceKind.VmEntry, 0, 0); // 100
    expect(s.counts()).toEqual({ HLT: 1, VMCALL: 2 });
    expect(s.byReason.get(ExitReason.VMCALL)).toMatchObject({ count: 2, handled: 2, total: 400, min: 100, max: 300 });
    const table = s.format(1e6); // 1 MHz: cycles = microseconds
    expect(table).toMatch(/^\s+VMCALL\s+2\s+66\.67%\s+28\.57%\s+100\.00us\s+300\.00us\s+200\.00us$/m);
    expect(table).toContain('Total Samples:3, Total events handled time:1400.00us.');
  });

  it('an exit without a following entry counts but is not timed', () => {
    const t = new Trace();
    const s = new ExitStats(t);
    t.emit(10, 0, TraceKind.VmExit, ExitReason.TRIPLE_FAULT, 0);
    expect(s.counts()).toEqual({ TRIPLE_FAULT: 1 });
    expect(s.format(1e6)).toMatch(/TRIPLE_FAULT\s+1\s+100\.00%\s+0\.00%\s+-\s+-\s+-/);
  });
});
