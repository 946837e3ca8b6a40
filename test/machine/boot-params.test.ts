import { describe, expect, it } from 'vitest';
import {
  BOOT_PARAMS_ADDR, BP_LAYOUT, BootParamsError, PreemptModel, SchedPolicy, ThreadKind, VmRole, decodeBootParams, encodeBootParams,
  type BootParams,
} from '../../src/machine/boot-params.js';
import { run } from '../helpers/runner.js';

const params = (): BootParams => ({
  cpuCount: 2,
  cpuKhz: 2_670_000,
  preemptModel: PreemptModel.PREEMPT_RT,
  cosched: true,
  acpiProcessor: false,
  tickHz: 0,
  irqAffinity: [1, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
  cyclictest: { intervalUs: 10_000, loops: 100_000, histogram: 1000 },
  vms: [
    { name: 'rtos', memBase: 0x1000000, memSize: 0x400000, entry: 0x1000, vcpus: 1, role: VmRole.RTOS, ioThread: 1 },
    { name: 'gpos', memBase: 0x1400000, memSize: 0x800000, entry: 0x1000, vcpus: 1, role: VmRole.GPOS, ioThread: 3 },
  ],
  threads: [
    { name: 'rtos/vcpu0', kind: ThreadKind.VCPU, policy: SchedPolicy.SCHED_FIFO, prio: 97, nice: 0, affinity: 2, vm: 0, vcpu: 0 },
    { name: 'rtos/io', kind: ThreadKind.IO, policy: SchedPolicy.SCHED_FIFO, prio: 98, nice: 0, affinity: 3, vm: 0, vcpu: 0 },
    { name: 'gpos/vcpu0', kind: ThreadKind.VCPU, policy: SchedPolicy.SCHED_OTHER, prio: 0, nice: -5, affinity: 1, vm: 1, vcpu: 0 },
    { name: 'gpos/io', kind: ThreadKind.IO, policy: SchedPolicy.SCHED_OTHER, prio: 0, nice: 0, affinity: 1, vm: 1, vcpu: 0 },
    { name: 'ktimersoftd', kind: ThreadKind.HRTIMER, policy: SchedPolicy.SCHED_FIFO, prio: 99, nice: 0, affinity: 3, vm: 0, vcpu: 0 },
  ],
});

describe('boot parameters', () => {
  it('round-trip through the byte layout', () => {
    const p = params();
    const back = decodeBootParams(encodeBootParams(p));
    expect(back).toEqual({ ...p, irqAffinity: [...p.irqAffinity, ...Array(24 - p.irqAffinity.length).fill(0)] });
  });

  it.each([
    [(p: BootParams) => (p.threads[0].prio = 0), 'threads[0] (rtos/vcpu0).prio 0: 1-99 for SCHED_FIFO/SCHED_RR'],
    [(p: BootParams) => (p.threads[2].prio = 5), 'threads[2] (gpos/vcpu0).prio 5: 0 for SCHED_OTHER'],
    [(p: BootParams) => (p.threads[1].affinity = 4), 'threads[1] (rtos/io).affinity 0x4: a non-empty mask of CPUs 0-1'],
    [(p: BootParams) => (p.vms[0].ioThread = 9), 'vms[0].io_thread 9: no such thread'],
    [(p: BootParams) => (p.vms[1].name = 'a-very-long-vm-name'), "vms[1].name 'a-very-long-vm-name': at most 15 printable ASCII characters"],
  ])('rejects bad values with a one-line error naming the field (%#)', (mutate, message) => {
    const p = params();
    mutate(p);
    expect(() => encodeBootParams(p)).toThrow(BootParamsError);
    expect(() => encodeBootParams(p)).toThrow(`boot parameters: ${message}`);
  });

  it('assembly reads the block through the generated field symbols', () => {
    const r = run(`
_start:
    mov eax, [BOOT_PARAMS + bp.cpu_count]
    mov [out + 0], eax
    ; threads[1].prio and threads[2].nice (signed)
    mov ebx, BOOT_PARAMS + bp.threads + 1*bp_thread.size
    mov eax, [ebx + bp_thread.prio]
    mov [out + 4], eax
    mov eax, [ebx + bp_thread.size + bp_thread.nice]
    mov [out + 8], eax
    ; vms[1].mem_base, the affinity of IRQ 14, the cyclictest interval
    mov eax, [BOOT_PARAMS + bp.vms + 1*bp_vm.size + bp_vm.mem_base]
    mov [out + 12], eax
    mov eax, [BOOT_PARAMS + bp.irq_affinity + 14*4]
    mov [out + 16], eax
    mov eax, [BOOT_PARAMS + bp.cyclictest_interval_us]
    mov [out + 20], eax
    xor eax, eax
    cmp dword [BOOT_PARAMS + bp.magic], BOOT_PARAMS_MAGIC
    sete al
    mov [out + 24], eax
    hlt
.data
out: .space 28
`);
    r.machine.writeBootParams(params());
    r.runMachine(1e6);
    const out = [0, 4, 8, 12, 16, 20, 24].map((o) => r.mem32(r.addr('out') + o) | 0);
    expect(out).toEqual([2, 98, -5, 0x1400000, 1, 10_000, 1]);
  });

  it('sits at the zero-page address and fits below the 640 KiB line', () => {
    expect(BOOT_PARAMS_ADDR).toBe(0x90000);
    expect(BOOT_PARAMS_ADDR + BP_LAYOUT.size).toBeLessThanOrEqual(0xa0000);
  });
});
