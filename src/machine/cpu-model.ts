/**
 * The CPU model: cycles per cost class of the opcode table and per machine
 * event. Default: Nehalem-class Core i5-750 (2.67 GHz), the paper's machine.
 * Every number names its source or says "estimate".
 *
 * Sources:
 *  [AF]  Agner Fog, "Instruction tables", Intel Nehalem section (latencies /
 *        reciprocal throughputs of the corresponding x86 instructions).
 *  [OPT] Intel 64 and IA-32 Architectures Optimization Reference Manual
 *        (Nehalem: L1D load-to-use latency 4 cycles; PAUSE ~10 cycles before
 *        Skylake, which raised it to ~140).
 *  [DS]  Intel Core i5-700 series datasheet: BCLK 133.33 MHz, i5-750
 *        ratio 20 → 2.67 GHz.
 *  [SPLITX] Landau, Ben-Yehuda, Gordon, "SplitX: Split Guest/Hypervisor
 *        Execution on Multi-Core", WIOV 2011, Table 1: the direct (world
 *        switch) cost of a VM exit and re-entry is ~2,000 cycles on a Xeon
 *        X5570 (Nehalem-EP, the i5-750's microarchitecture) with KVM.
 */
import { OPCODES, type CostClass } from '../isa/opcodes.js';
import type { CpuCosts } from '../cpu/cpu.js';
import { UD_INDEX } from '../cpu/dispatch.js';

export interface CostEntry {
  cycles: number;
  source: string;
}

export interface CpuModel {
  name: string;
  /** core clock in Hz; the TSC counts at this rate */
  hz: number;
  classes: Record<CostClass, CostEntry>;
  events: {
    /** IDT event delivery: push frame, read gate, jump */
    interruptDelivery: CostEntry;
    /** ICR write to interrupt acceptance at the target APIC */
    ipiLatency: CostEntry;
    /** APIC timer: core cycles per timer-clock tick */
    apicTimerCyclesPerTick: CostEntry;
    /** VMX transitions: guest → host and host → guest (injection is an IDT delivery, interruptDelivery) */
    vmExit: CostEntry;
    vmEntry: CostEntry;
    /** SMI recognition + state save, and RSM's restore (the handler's own work is executed) */
    smmEntry: CostEntry;
    smmExit: CostEntry;
    /** ACPI C2 / C3 exit latency: from the wake-up event to the next instruction (devices/acpi-pm.ts) */
    c2ExitLatency: CostEntry;
    c3ExitLatency: CostEntry;
  };
}

export const NEHALEM: CpuModel = {
  name: 'Nehalem (Core i5-750)',
  hz: 2_670_000_000,
  classes: {
    alu: { cycles: 1, source: '[AF] ADD/SUB/AND/CMP r,r: latency 1' },
    mov: { cycles: 1, source: '[AF] MOV r,r: latency 1' },
    load: { cycles: 4, source: '[OPT] L1D load-to-use latency 4' },
    store: { cycles: 1, source: '[AF] MOV m,r: reciprocal throughput 1' },
    rmw: { cycles: 6, source: 'estimate: load (4) + ALU (1) + store (1)' },
    lea: { cycles: 1, source: '[AF] LEA: latency 1' },
    shift: { cycles: 1, source: '[AF] SHL/SHR/SAR/ROL r,i: latency 1' },
    mul: { cycles: 3, source: '[AF] IMUL r32 / MUL r32: latency 3' },
    bitscan: { cycles: 3, source: '[AF] BSF/BSR r32,r32: latency 3' },
    div: { cycles: 23, source: '[AF] DIV r32 17-28, IDIV r32 19-28: middle of the range' },
    branch: { cycles: 1, source: '[AF] Jcc: reciprocal throughput 1-2 (predicted)' },
    jmp: { cycles: 2, source: '[AF] JMP: reciprocal throughput 2' },
    call: { cycles: 2, source: '[AF] CALL: reciprocal throughput 2' },
    ret: { cycles: 2, source: '[AF] RET: reciprocal throughput 2' },
    push: { cycles: 1, source: '[AF] PUSH r: reciprocal throughput 1' },
    pop: { cycles: 1, source: '[AF] POP r: reciprocal throughput 1' },
    xchg: { cycles: 20, source: '[AF] XCHG r,m (implicit LOCK): ~20' },
    cmpxchg: { cycles: 5, source: 'estimate: CMPXCHG m,r without LOCK, a handful of cycles ([AF] lists ~5 µops)' },
    locked: { cycles: 20, source: '[AF] LOCK CMPXCHG / LOCK XADD: ~20 (uncontended, L1 hit)' },
    nop: { cycles: 1, source: '[AF] NOP: reciprocal throughput 0.25-1 (rounded up: cycles are integers)' },
    pause: { cycles: 10, source: '[OPT] PAUSE ~10 cycles before Skylake' },
    cli: { cycles: 3, source: 'estimate: CLI is a few microcoded µops' },
    sti: { cycles: 3, source: 'estimate: STI is a few microcoded µops' },
    int: { cycles: 20, source: 'estimate: INT n decode/trap overhead; the IDT delivery itself is events.interruptDelivery' },
    iret: { cycles: 80, source: 'estimate: IRET is a long microcoded sequence (serialising)' },
    hlt: { cycles: 1, source: 'estimate: entering HLT; wake-up latency is modelled by the platform' },
    rdtsc: { cycles: 24, source: '[AF] RDTSC: latency 24' },
    rdmsr: { cycles: 100, source: 'estimate: RDMSR is microcoded, ~100 cycles' },
    wrmsr: { cycles: 100, source: 'estimate: WRMSR is microcoded, ~100 cycles' },
    cpuid: { cycles: 200, source: 'estimate: [AF] lists CPUID at ~100-250 on cores of this era' },
    lidt: { cycles: 20, source: 'estimate: LIDT is serialising microcode' },
    io: { cycles: 1000, source: 'estimate: an uncached device register access (~0.4 µs)' },
    work: { cycles: 0, source: 'modelling device: the units carry the cost (with ECX = 0 it costs 1 cycle, like an empty REP)' },
    trace: { cycles: 1, source: 'estimate: a tracepoint is a NOP while not enabled (static key)' },
    flags: { cycles: 5, source: 'estimate: PUSHFD/POPFD are microcoded' },
    vmx: { cycles: 100, source: 'estimate: VMX instructions are microcoded; VMREAD/VMWRITE ~100 on Nehalem' },
    vmcall: { cycles: 1, source: 'the VM exit it causes is charged separately (events.vmExit)' },
    movcr: { cycles: 20, source: 'estimate: MOV to/from CR0/CR4 is serialising microcode' },
    vmentry: { cycles: 0, source: 'VMLAUNCH/VMRESUME: the whole cost is events.vmEntry, charged before the guest starts' },
    rsm: { cycles: 1, source: 'the SMM exit transition is charged as events.smmExit' },
  },
  events: {
    interruptDelivery: { cycles: 100, source: 'estimate: protected-mode IDT delivery, ~100 cycles' },
    ipiLatency: { cycles: 1300, source: 'estimate: ~0.5 µs from ICR write to acceptance on a single-socket Nehalem' },
    apicTimerCyclesPerTick: { cycles: 20, source: '[DS] the APIC timer counts at BCLK 133.33 MHz; core ratio 20' },
    vmExit: { cycles: 1000, source: '[SPLITX] ~2,000 cycles direct cost of an exit + entry on a Nehalem Xeon X5570 under KVM; split evenly (the split is an estimate)' },
    vmEntry: { cycles: 1000, source: '[SPLITX] as vmExit; VMLAUNCH/VMRESUME latency, the other half of the round trip' },
    smmEntry: { cycles: 8000, source: 'estimate: SMI entry with state save, ~3 µs (SMI round trips are reported in the several-µs range before any handler work)' },
    smmExit: { cycles: 8000, source: 'estimate: RSM state restore, ~3 µs' },
    c2ExitLatency: { cycles: 53_400, source: "20 µs: Linux drivers/idle/intel_idle.c nehalem_cstates, the hardware C3 (what a Nehalem desktop BIOS's _CST reports as ACPI C2) exit_latency 20; within the FADT's P_LVL2_LAT limit of 100 µs (ACPI spec, FADT)" },
    c3ExitLatency: { cycles: 267_000, source: "estimate: 100 µs, a Nehalem desktop's ACPI C3 (hardware C6; intel_idle's nehalem_cstates gives C6 exit_latency 200, BIOS _CST tables report ~100-250); within the FADT's P_LVL3_LAT limit of 1000 µs (ACPI spec, FADT)" },
  },
};

/** Per-opcode cycle table for the interpreter, from the opcode table and a model. */
export function cpuCosts(model: CpuModel): CpuCosts {
  const perOpcode = new Int32Array(UD_INDEX + 1);
  for (const e of OPCODES) perOpcode[e.opcode] = model.classes[e.cost].cycles;
  return { perOpcode, interruptDelivery: model.events.interruptDelivery.cycles };
}
