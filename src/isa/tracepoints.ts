/**
 * Tracepoint numbers for the TRACE instruction. Names are Linux's (and
 * KVM's) tracepoints, so a trace reads like `perf trace`/ftrace output.
 * The assembler accepts a name or a number; the trace records the number.
 * Numbers are stable: append, never renumber (golden files depend on them).
 */
export const TRACEPOINTS = [
  'kvm_exit', // 0: value = exit reason
  'kvm_entry', // 1: value = vcpu id
  'kvm_inj_virq', // 2: value = vector
  'kvm_hypercall', // 3: value = hypercall number
  'kvm_pio', // 4: value = port
  'kvm_msr', // 5: value = msr
  'kvm_set_irq', // 6
  'kvm_vcpu_wakeup', // 7
  'kvm_userspace_exit', // 8
  'sched_switch', // 9: value = next thread id
  'sched_wakeup', // 10: value = woken thread id
  'sched_migrate_task', // 11
  'sched_setscheduler', // 12
  'irq_handler_entry', // 13: value = irq/vector
  'irq_handler_exit', // 14
  'softirq_entry', // 15
  'softirq_exit', // 16
  'hrtimer_start', // 17
  'hrtimer_expire_entry', // 18
  'hrtimer_expire_exit', // 19
  'hrtimer_cancel', // 20
  'local_timer_entry', // 21
  'local_timer_exit', // 22
  'ipi_entry', // 23
  'ipi_exit', // 24
  'cpu_idle', // 25: value = state (-1 = exit)
  'block_rq_issue', // 26
  'block_rq_complete', // 27
  'sys_enter', // 28
  'sys_exit', // 29
  'user', // 30: free for programs and tests
  'smm_enter', // 31
  'smm_exit', // 32
  'task_dispatch', // 33 (RTOS)
  'isr_entry', // 34 (guest ISR first instruction marker)
  'isr_exit', // 35
  'bench_start', // 36
  'bench_done', // 37
  'irq_enable', // 38: value = vector; KVM hands the interrupt acknowledged at an EXTERNAL_INTERRUPT exit to the host ISR (Fig. 2 point c)
  'kvm_sched_done', // 39: value = vcpu id; the vCPU thread passed its reschedule point and goes to enter the guest (Fig. 2 point e)
] as const;

export type TracepointName = (typeof TRACEPOINTS)[number];

export const TRACEPOINT_ID: ReadonlyMap<string, number> = new Map(TRACEPOINTS.map((n, i) => [n, i]));

export function tracepointName(id: number): string {
  return TRACEPOINTS[id] ?? `tp${id}`;
}
