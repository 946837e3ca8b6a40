/**
 * The host kernel's KVM module (issue 4 items 6, 7, 11): guests run under
 * the real host kernel — one VMCS per vCPU thread, the exit stub, exit
 * dispatch, the virtual x2APIC whose TSC-deadline timer is a host hrtimer,
 * injection with interrupt-window exiting, hypercalls, and VMs that stop.
 */
import { describe, expect, it } from 'vitest';
import { TraceKind, type TraceEvent } from '../../src/trace/trace.js';
import { ExitStats } from '../../src/trace/exit-stats.js';
import { computeStages } from '../../src/trace/stages.js';
import { tracepointName } from '../../src/isa/tracepoints.js';
import { ExitReason } from '../../src/vmx/exit-reasons.js';
import { KVM_ENOSYS } from '../../src/vmx/hypercalls.js';
import { SystemRun, ms, testGuest } from '../helpers/kernel.js';

const LOCAL_TIMER_VECTOR = 0xec;
const GUEST_TIMER_VECTOR = 0x30; // guests/test/timer.s

/** An event as a short name: tracepoint names, architectural kinds (with the vector/reason). */
function label(e: TraceEvent): string {
  if (e.kind === TraceKind.Tracepoint) return tracepointName(e.a);
  if (e.kind === TraceKind.VmExit) return `VmExit(${e.a})`;
  if (e.kind === TraceKind.Interrupt) return `Interrupt(0x${e.a.toString(16)})`;
  return TraceKind[e.kind];
}

/** Is `want` a subsequence of the labels of `events`? */
function hasSubsequence(events: TraceEvent[], want: string[]): boolean {
  let i = 0;
  for (const e of events) if (i < want.length && label(e) === want[i]) i++;
  return i === want.length;
}

/** One VM running guests/test/timer.s, its vCPU thread pinned to CPU 1. */
function timerVm(knobs: Record<string, number> = {}, extra: Partial<ConstructorParameters<typeof SystemRun>[0]> = {}): SystemRun {
  const r = new SystemRun({ vms: [{ name: 'vm0', image: testGuest('timer.s'), vcpuThreads: [{ affinity: 0b10 }], ioThread: { affinity: 0b01 } }], ...extra });
  for (const [k, v] of Object.entries(knobs)) r.guestPoke('vm0', k, v);
  return r;
}

describe('KVM: one VM, one vCPU', () => {
  it('runs a guest on CPU 1: hypercalls, CPUID, done — then the kernel powers off', () => {
    const r = new SystemRun({ vms: [{ name: 'vm0', image: testGuest('hypercall.s'), vcpuThreads: [{ affinity: 0b10 }] }] });
    const stats = new ExitStats(r.machine.trace);
    r.run(ms(5));
    expect(r.result!.reason).toBe('exit');
    expect(r.result!.exitCode).toBe(0);
    expect(r.console).toContain('kvm: vm vm0: 1 vcpus, 1024 KiB at 0x200000, entry 0x1000');
    expect(r.console).toContain('kvm: vm vm0 vcpu0: print 42');
    expect(r.console).toContain('kvm: vm vm0: done, status 0');
    expect(r.console).toContain('kernel: power off (exit code 0)');
    // guest view: its hypercall result, CPUID as KVM shapes it
    expect(r.guest32('vm0', 'print_result')).toBe(0);
    expect(r.guest32('vm0', 'vendor')).toBe(0x756e6547); // "Genu"
    const features = r.guest32('vm0', 'features');
    expect(features & (1 << 5)).toBe(0); // VMX hidden
    expect(features >>> 31).toBe(1); // hypervisor present
    expect(r.guest32('vm0', 'apic_ids') >>> 16).toBe(0x0001); // APIC ID 0, one logical CPU
    expect(r.guest32('vm0', 'kvm_signature')).toBe(0x4b4d564b); // "KVMK"
    expect(r.guest32('vm0', 'enosys') | 0).toBe(-KVM_ENOSYS);
    // every entry and exit on CPU 1, traced by KVM with the exit reason
    const entries = r.arch(TraceKind.VmEntry);
    expect(entries.length).toBe(6);
    expect(new Set([...entries, ...r.arch(TraceKind.VmExit)].map((e) => e.cpu))).toEqual(new Set([1]));
    expect(r.tps('kvm_exit').map((e) => e.value)).toEqual([18, 10, 10, 10, 18, 18]);
    expect(r.tps('kvm_hypercall').map((e) => e.value)).toEqual([1000, 12345, 1001]);
    expect(stats.counts()).toEqual({ CPUID: 3, VMCALL: 3 });
    // the last vCPU of the last VM powered the machine off; its VMCS was cleared first
    expect(r.mem32('kvm_vms_running')).toBe(0);
    expect(r.vcpuField('vm0/vcpu0', 'cpu') | 0).toBe(-1);
  });

  it("a guest's TSC-deadline timer interrupt travels the whole path: guest write -> host hrtimer -> EXTERNAL_INTERRUPT exit -> injection -> guest ISR", () => {
    const r = timerVm({ cfg_halt: 0 }); // spinning: the host timer interrupts the running guest
    r.run(ms(10));
    expect(r.result!.exitCode).toBe(0);
    expect(r.guest32('vm0', 'ticks')).toBe(5);
    const cpu1 = r.events.filter((e) => e.cpu === 1);
    const timer = r.vcpu('vm0/vcpu0') + r.sym('kvm_vcpu.lapic') + r.sym('kvm_lapic.timer');
    // the guest's deadline writes arm the vCPU's hrtimer (kvm_msr 0x6e0, then hrtimer_start of that timer)
    const starts = r.tps('hrtimer_start').filter((e) => e.value === timer);
    expect(starts.length).toBe(5);
    expect(r.tps('kvm_msr').filter((e) => e.value === 0x6e0).length).toBe(5);
    const fires = r.arch(TraceKind.ApicTimer).filter((e) => e.cpu === 1);
    const delivered = cpu1.filter((e) => e.kind === TraceKind.Interrupt && e.a === GUEST_TIMER_VECTOR);
    expect(delivered.length).toBe(5);
    for (const fire of fires) {
      const h = delivered.find((e) => e.time > fire.time)!;
      const path = cpu1.filter((e) => e.time >= fire.time && e.time <= h.time);
      expect(
        hasSubsequence(path, [
          'ApicTimer', `VmExit(${ExitReason.EXTERNAL_INTERRUPT})`, 'kvm_exit', 'irq_enable', 'local_timer_entry',
          'hrtimer_expire_entry', 'kvm_set_irq', 'hrtimer_expire_exit', 'local_timer_exit', 'kvm_sched_done',
          'kvm_inj_virq', 'kvm_entry', 'VmEntry', 'VmInject', `Interrupt(0x${GUEST_TIMER_VECTOR.toString(16)})`,
        ]),
        path.map(label).join(' '),
      ).toBe(true);
      expect(path.find((e) => label(e) === 'irq_enable')!.b).toBe(LOCAL_TIMER_VECTOR);
      expect(path.find((e) => label(e) === 'hrtimer_expire_entry')!.b >>> 0).toBe(timer);
      expect(path.find((e) => label(e) === 'kvm_set_irq')!.b).toBe((r.sys.threadIndex('vm0/vcpu0') << 8) | GUEST_TIMER_VECTOR);
      expect(path.find((e) => e.kind === TraceKind.VmInject)!.a >>> 0).toBe((0x80000000 | GUEST_TIMER_VECTOR) >>> 0);
    }
    // the host interrupt was acknowledged at the exit and EOIed by the host ISR: nothing stays in service
    expect(r.machine.apics[1].peekState(r.machine.now).isr).toEqual([]);
  });

  it('a halted guest blocks its vCPU thread; the timer wakes it (kvm_vcpu_wakeup) and the interrupt is injected', () => {
    const r = timerVm({ cfg_halt: 1 });
    const stats = new ExitStats(r.machine.trace);
    r.run(ms(10));
    expect(r.guest32('vm0', 'ticks')).toBe(5);
    const pid = r.pid('vm0/vcpu0');
    expect(stats.counts()).toMatchObject({ HLT: 5 });
    expect(stats.counts().EXTERNAL_INTERRUPT).toBeUndefined(); // the vCPU never runs when its timer fires
    expect(r.tps('kvm_vcpu_wakeup').length).toBe(5);
    // after each HLT exit the CPU goes idle; each wake-up comes from the timer's hrtimer callback
    const sw = r.tps('sched_switch').filter((e) => e.cpu === 1);
    for (const hlt of r.tps('kvm_exit').filter((e) => e.value === ExitReason.HLT)) {
      expect(sw.find((e) => e.time > hlt.time)!.value).toBe(0);
    }
    const wakeups = r.tps('sched_wakeup').filter((e) => e.value === pid);
    for (const w of wakeups.slice(-5)) {
      const expire = r.tps('hrtimer_expire_entry', 'hrtimer_expire_exit').filter((e) => e.cpu === 1 && e.time <= w.time).at(-1)!;
      expect(expire.name).toBe('hrtimer_expire_entry');
    }
    const s = computeStages(r.events);
    expect(s.records.length).toBe(5);
    expect(s.records.every((x) => !x.exited)).toBe(true);
  });

  it('an interrupt that finds the guest with IF = 0 waits for the interrupt window', () => {
    const r = timerVm({ cfg_halt: 0, cfg_cli: 1, cfg_ticks: 8 });
    const stats = new ExitStats(r.machine.trace);
    r.run(ms(10));
    expect(r.guest32('vm0', 'ticks')).toBe(8);
    const counts = stats.counts();
    expect(counts.INTERRUPT_WINDOW).toBeGreaterThanOrEqual(6);
    expect(counts.INTERRUPT_WINDOW).toBe(counts.EXTERNAL_INTERRUPT);
    // the injecting entry follows a window exit
    for (const inj of r.tps('kvm_inj_virq')) {
      const exit = r.tps('kvm_exit').filter((e) => e.time < inj.time).at(-1)!;
      expect([ExitReason.INTERRUPT_WINDOW, ExitReason.EXTERNAL_INTERRUPT]).toContain(exit.value);
    }
    const s = computeStages(r.events);
    expect(s.records.length).toBe(8);
    for (const x of s.records) expect(Object.values(x.stages).reduce((a, b) => a + b, 0)).toBe(x.total);
  });
});

describe('KVM: the virtual x2APIC', () => {
  it('self-IPIs and fixed IPIs to vCPU 0 are injected; TPR holds back a lower class until lowered; EOI retires in priority order', () => {
    const guest = `
.base 0x1000
_start:
    mov eax, unexpected_interrupt
    call idt_set_all
    mov ecx, 0x40
    mov eax, isr40
    call idt_set_gate
    mov ecx, 0x50
    mov eax, isr50
    call idt_set_gate
    mov ecx, X2APIC_TPR
    mov eax, 0x50
    xor edx, edx
    wrmsr                        ; block classes <= 5
    mov ecx, X2APIC_SELF_IPI
    mov eax, 0x40
    wrmsr                        ; held back by the TPR
    mov ecx, X2APIC_ICR
    mov eax, 0x50                ; fixed, physical destination vCPU 0
    xor edx, edx
    wrmsr                        ; also held back (class 5)
    sti
    mov ecx, 100
    work 10
    mov eax, [order]
    mov [before], eax            ; nothing yet
    mov ecx, X2APIC_TPR
    xor eax, eax
    xor edx, edx
    wrmsr                        ; now both: 0x50 first
    mov ecx, 100
    work 10
    cli
    mov eax, VMXSIM_HC_PRINT
    mov ebx, [order]
    vmcall
    mov eax, VMXSIM_HC_DONE
    mov ebx, [before]
    vmcall
isr40:
    push eax
    mov eax, 0x40
    jmp record
isr50:
    push eax
    mov eax, 0x50
record:
    push ecx
    push edx
    mov ecx, [order]
    shl ecx, 8
    or ecx, eax
    mov [order], ecx
    mov ecx, X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    pop edx
    pop ecx
    pop eax
    iret
order:  .long 0
before: .long 0
.include "firmware/lib/idt.s"
.include "firmware/lib/console.s"
`;
    const r = new SystemRun({ vms: [{ name: 'ipi', source: guest, vcpuThreads: [{ affinity: 0b10 }] }] });
    r.run(ms(5));
    expect(r.console).toContain(`kvm: vm ipi vcpu0: print ${0x5040}`); // 0x50 then 0x40
    expect(r.console).toContain('kvm: vm ipi: done, status 0'); // nothing before the TPR was lowered
    expect(r.tps('kvm_inj_virq').map((e) => e.value)).toEqual([0x50, 0x40]);
  });
});

describe('KVM: a vCPU that moves', () => {
  it('migrates to another CPU when its affinity changes: VMCLEAR, VMPTRLD and VMLAUNCH there; its timer still reaches it', () => {
    const r = timerVm({ cfg_halt: 1, cfg_ticks: 20, cfg_period: 267000 });
    const pid = r.pid('vm0/vcpu0');
    expect(r.runUntil(() => r.guest32('vm0', 'ticks') >= 10, ms(10), 20000)).toBe(true);
    // what sched_setaffinity(CPU 0) would leave: the next wake-up places it on CPU 0
    r.poke32(r.task(pid) + r.sym('task.cpus_allowed'), 0b01);
    r.run(ms(12));
    expect(r.guest32('vm0', 'ticks')).toBe(20);
    expect(r.console).toContain('kvm: vm vm0: done, status 0');
    expect(r.tps('sched_migrate_task').filter((e) => e.value === pid).length).toBe(1);
    const entries = r.tps('kvm_entry');
    const moved = entries.findIndex((e) => e.cpu === 0);
    expect(moved).toBeGreaterThan(0);
    expect(entries.slice(moved).every((e) => e.cpu === 0)).toBe(true);
    // the interrupt that woke it was raised on CPU 1 (its hrtimer was armed there) and injected on CPU 0
    const s = computeStages(r.events);
    expect(s.records.length).toBe(20);
    const cross = s.records.filter((x) => x.raiseCpu !== x.cpu);
    expect(cross.map((x) => [x.raiseCpu, x.cpu])).toEqual([[1, 0]]);
  });
});

describe('KVM: two VMs', () => {
  it('run concurrently on CPUs 0 and 1, each vCPU on its own CPU, and both finish', () => {
    const r = new SystemRun({
      vms: [
        { name: 'left', image: testGuest('timer.s'), vcpuThreads: [{ affinity: 0b01 }], ioThread: { affinity: 0b01 } },
        { name: 'right', image: testGuest('timer.s'), vcpuThreads: [{ affinity: 0b10 }], ioThread: { affinity: 0b10 } },
      ],
    });
    for (const vm of ['left', 'right']) {
      r.guestPoke(vm, 'cfg_ticks', 10);
      r.guestPoke(vm, 'cfg_period', 150000);
      r.guestPoke(vm, 'cfg_hello', 1);
    }
    r.guestPoke('right', 'cfg_halt', 0);
    r.run(ms(20));
    expect(r.result!.exitCode).toBe(0);
    expect(r.console).toContain('left: timer guest: hello');
    expect(r.console).toContain('right: timer guest: hello');
    expect(r.console).toContain('kvm: vm left: done, status 0');
    expect(r.console).toContain('kvm: vm right: done, status 0');
    expect(r.guest32('left', 'ticks')).toBe(10);
    expect(r.guest32('right', 'ticks')).toBe(10);
    // separate memory: the VMs sit 1 MiB apart
    expect(r.sys.vm('right').memBase - r.sys.vm('left').memBase).toBe(1 << 20);
    const ids = [r.sys.threadIndex('left/vcpu0'), r.sys.threadIndex('right/vcpu0')];
    const entries = r.tps('kvm_entry');
    expect(new Set(entries.filter((e) => e.value === ids[0]).map((e) => e.cpu))).toEqual(new Set([0]));
    expect(new Set(entries.filter((e) => e.value === ids[1]).map((e) => e.cpu))).toEqual(new Set([1]));
    // concurrently: their guest runs overlap in time
    const span = (id: number) => {
      const es = entries.filter((e) => e.value === id);
      return [es[0].time, es.at(-1)!.time];
    };
    const [l, rr] = [span(ids[0]), span(ids[1])];
    expect(Math.max(l[0], rr[0])).toBeLessThan(Math.min(l[1], rr[1]));
    const s = computeStages(r.events);
    expect(s.records.filter((x) => x.vcpu === ids[0]).length).toBe(10);
    expect(s.records.filter((x) => x.vcpu === ids[1]).length).toBe(10);
  });
});

describe('KVM: VMs that fail', () => {
  it('a triple fault stops that VM and is reported; the other VM goes on; power-off says a VM failed', () => {
    const crash = `
.base 0x1000
_start:
    lidt [empty_idt]
    ud2                          ; #UD -> #GP (no IDT) -> #DF -> triple fault
empty_idt: .word 0
           .long 0
`;
    const r = new SystemRun({
      vms: [
        { name: 'crash', source: crash, vcpuThreads: [{ affinity: 0b01 }] },
        { name: 'ok', image: testGuest('hypercall.s'), vcpuThreads: [{ affinity: 0b10 }] },
      ],
    });
    r.run(ms(10));
    expect(r.console).toMatch(/kvm: vm crash vcpu0: triple fault, exit reason 0x2 at rip 0x1\w+, VM stopped/);
    expect(r.console).toContain('kvm: vm crash: stopped (failed)');
    expect(r.console).toContain('kvm: vm ok: done, status 0');
    expect(r.result!.exitCode).toBe(0x300);
  });

  it('a VM whose memory would overlap the kernel is refused at boot; its vCPU thread sleeps; the other VM runs', () => {
    const r = new SystemRun({ vms: [{ name: 'ok', image: testGuest('hypercall.s'), vcpuThreads: [{ affinity: 0b10 }] }] });
    const p = r.params;
    r.machine.writeBootParams({
      ...p,
      vms: [...p.vms, { ...p.vms[0], name: 'bad', memBase: 0x100000 }],
      threads: [...p.threads, { ...p.threads[0], name: 'bad/vcpu0', vm: 1, affinity: 0b01 }],
    });
    r.run(ms(5));
    expect(r.console).toContain('kvm: vm bad: memory 0x100000 (1048576 bytes) not page aligned above the KVM area: not started');
    expect(r.console).toContain('kvm: vm ok: done, status 0');
    expect(r.result!.exitCode).toBe(0);
    const bad = p.threads.length + 1; // its pid
    expect(r.taskField(bad, 'state')).toBe(r.sym('TASK_INTERRUPTIBLE'));
    expect(r.taskField(bad, 'se_sum_exec_runtime')).toBeLessThan(10000);
  });

  it('memory outside the VM is an EPT violation: the VM stops', () => {
    const r = new SystemRun({
      vms: [{ name: 'wild', source: '.base 0x1000\n_start:\n    mov eax, [0x200000]\n    jmp $\n', memory: 0x10000, vcpuThreads: [{ affinity: 0b10 }] }],
    });
    r.run(ms(5));
    expect(r.console).toContain('kvm: vm wild vcpu0: EPT violation (no memory there), guest-physical 0x200000 at rip 0x1000, VM stopped');
    expect(r.result!.exitCode).toBe(0x300);
  });

  it('an unknown MSR is #GP in the guest (no ignore_msrs)', () => {
    const guest = `
.base 0x1000
_start:
    mov eax, gp_handler
    call idt_set_all
    mov ecx, 0x1234
    rdmsr
    mov eax, VMXSIM_HC_DONE
    mov ebx, 1
    vmcall
gp_handler:
    mov eax, VMXSIM_HC_DONE
    mov ebx, [esp]               ; the error code
    vmcall
.include "firmware/lib/idt.s"
.include "firmware/lib/console.s"
`;
    const r = new SystemRun({ vms: [{ name: 'msr', source: guest, vcpuThreads: [{ affinity: 0b10 }] }] });
    r.run(ms(5));
    expect(r.console).toContain('kvm: vm msr: done, status 0');
    expect(r.result!.exitCode).toBe(0);
  });
});
