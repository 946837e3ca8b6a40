/** Two CPUs: the SMP demo, IPI latency from the model, and INIT-SIPI start-up (SDM Vol. 3 8.4.4). */
import { describe, expect, it } from 'vitest';
import { CpuState } from '../../src/cpu/cpu.js';
import { NEHALEM } from '../../src/machine/cpu-model.js';
import { TraceKind } from '../../src/trace/trace.js';
import { run } from '../helpers/runner.js';
import { APIC_ENABLE, DELIVERY, IDT_DATA, cost, idtSetup } from '../cpu/util.js';
import { runDemo } from './demo.js';

const LATENCY = NEHALEM.events.ipiLatency.cycles;

describe('the SMP demo', () => {
  it('exits 0 with one report line per CPU, each captured from its own CPU', () => {
    const { machine, result } = runDemo();
    expect([result.reason, result.exitCode, machine.exitCode]).toEqual(['exit', 0, 0]);
    for (const cpu of [0, 1]) {
      const own = machine.uart.lines().filter((l) => l.source === cpu && l.text.startsWith('cpu'));
      expect(own.map((l) => l.text.split(',')[0]), `cpu ${cpu}`).toEqual([`cpu${cpu}: 5 timer interrupts`]);
    }
    expect(machine.uart.output(1)).toMatch(/^cpu1: 5 timer interrupts, IPIs received: 1, tsc 0x[0-9a-f]{8}\n$/);
    expect(machine.uart.output(0)).toMatch(/^cpu0: .*\ndemo: both CPUs done\n$/);
  });

  it('each fixed IPI is accepted exactly the model latency after its ICR write', () => {
    const { machine } = runDemo({ traceKeep: 100_000 });
    const ev = machine.trace.recent();
    const fixed = ev.filter((e) => e.kind === TraceKind.Ipi && (e.b & 0xff) === 0xf0 && ((e.b >> 8) & 7) === 0);
    expect(fixed.map((e) => [e.cpu, e.a])).toEqual(expect.arrayContaining([[0, 1], [1, 0]]));
    for (const ipi of fixed) {
      const delivered = ev.find((e) => e.kind === TraceKind.Interrupt && e.cpu === ipi.a && e.a === 0xf0)!;
      expect(delivered.time - DELIVERY).toBeGreaterThanOrEqual(ipi.time + LATENCY);
    }
  });
});

describe('IPIs and start-up between two CPUs', () => {
  const prog = `
_start:
${idtSetup({ '0xf0': 'ipi_handler' })}
${APIC_ENABLE}
    mov ecx, X2APIC_ICR
    mov edx, 1
    mov eax, ICR_INIT | ICR_LEVEL_ASSERT
    wrmsr
    mov eax, ICR_STARTUP | (ap_entry >> 12)
    trace user, eax
    wrmsr
    mov ecx, 200
    work 1000               ; let the AP come up and halt
    mov ecx, X2APIC_ICR
    mov edx, 1
    mov eax, 0xf0
    trace bench_start, eax
    wrmsr
wait:
    pause
    cmp dword [ipi_stamp], 0
    je wait
    mov ecx, X2APIC_ICR     ; a second STARTUP is ignored: CPU 1 is not waiting for SIPI
    mov edx, 1
    mov eax, ICR_STARTUP | (other_page >> 12)
    wrmsr
    mov ecx, 20
    work 1000
    mov eax, [ap_starts]
    out EXIT_PORT, eax

.align 4096
other_page:
    mov dword [ap_starts], 99
    cli
    hlt

.align 4096
ap_entry:
    inc dword [ap_starts]
    mov esp, 0x70000
    lidt [idtr]
${APIC_ENABLE}
    mov ecx, X2APIC_ID
    rdmsr
    mov [ap_id], eax
    sti
ap_wait:
    hlt
    jmp ap_wait

ipi_handler:
    rdtsc
    mov [ipi_stamp], eax
    mov ecx, X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    iret
.data
ap_starts: .long 0
ap_id: .long 0xffffffff
ipi_stamp: .long 0
${IDT_DATA}`;

  function go() {
    const r = run(prog, { cpus: 2, traceKeep: 10_000 });
    expect(r.machine.cpus[1].state).toBe(CpuState.WaitForSipi);
    const res = r.machine.run({ untilCycles: 1e8 });
    const ev = r.machine.trace.recent();
    const tp = (id: number) => ev.find((e) => e.kind === TraceKind.Tracepoint && e.a === id)!.time + cost('trace', 'tp');
    return { r, res, ev, sipiWrite: tp(30), ipiWrite: tp(36) };
  }

  it('INIT-SIPI starts the AP at vector x 4096, the model latency after the write', () => {
    const { r, res, ev, sipiWrite } = go();
    const vector = r.addr('ap_entry') >> 12;
    expect(r.addr('ap_entry')).toBe(vector * 4096);
    expect([res.reason, res.exitCode]).toEqual(['exit', 1]); // started once, and not at other_page
    expect(r.mem32('ap_id')).toBe(1);
    const startups = ev.filter((e) => e.kind === TraceKind.Startup);
    expect(startups.map((e) => [e.cpu, e.a, e.time])).toEqual([[1, vector, sipiWrite + LATENCY]]);
  });

  it('a fixed IPI wakes the halted target exactly the model latency after the ICR write', () => {
    const { r, ev, ipiWrite } = go();
    const wake = ev.find((e) => e.kind === TraceKind.Wake && e.cpu === 1)!;
    expect(wake.time).toBe(ipiWrite + LATENCY);
    expect(r.mem32('ipi_stamp')).toBe(ipiWrite + LATENCY + DELIVERY);
    const ipi = ev.find((e) => e.kind === TraceKind.Ipi && e.b === 0xf0)!;
    expect([ipi.cpu, ipi.a, ipi.time]).toEqual([0, 1, ipiWrite]);
  });
});
