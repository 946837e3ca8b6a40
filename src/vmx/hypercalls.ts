/**
 * Hypercall numbers (VMCALL with the number in EAX, arguments in EBX, ECX,
 * EDX, ESI; result in EAX — KVM's x86 convention, Documentation/virt/kvm/
 * x86/hypercalls.rst). The standard ones keep KVM's numbers
 * (include/uapi/linux/kvm_para.h); the paper's co-scheduling calls (§4.2)
 * and vmxsim's test/console calls use numbers KVM leaves free.
 */
export const Hypercall = {
  KVM_HC_VAPIC_POLL_IRQ: 1,
  KVM_HC_FEATURES: 3,
  KVM_HC_KICK_CPU: 5,
  KVM_HC_SEND_IPI: 10,
  KVM_HC_SCHED_YIELD: 11,
  /** hc_boost(cpu, policy, prio): run this vCPU's thread at policy/prio (paper §4.2) */
  KVM_HC_BOOST: 100,
  /** hc_deboost(cpu): restore the vCPU thread's configured policy (paper §4.2) */
  KVM_HC_DEBOOST: 101,
  /** vmxsim: print the number in EBX on the host console (debugging, demos) */
  VMXSIM_HC_PRINT: 1000,
  /** vmxsim: the guest's workload is done; EBX = status */
  VMXSIM_HC_DONE: 1001,
} as const;

/** KVM's hypercall error returns (include/uapi/linux/kvm_para.h). */
export const KVM_ENOSYS = 1000;
