; firmware/kernel/main.s — the host kernel: a small real-time Linux-like
; kernel for the vmxsim machine (see README.md in this directory).
; Conventions: regparm(3) (eax, edx, ecx; result in eax; ebx esi edi ebp
; preserved); current = esp & ~(THREAD_SIZE - 1) -> thread_info.task.

.entry start_kernel

.include "defs.s"
.include "boot.s"
.include "lib.s"
.include "printk.s"
.include "traps.s"
.include "apic.s"
.include "smp.s"
.include "hrtimer.s"
.include "sched.s"
.include "rt.s"
.include "fair.s"
.include "idle.s"
.include "irq.s"
.include "kthreads.s"
.include "cyclictest.s"
; the KVM module and the VMs' I/O threads (kvm_defs.s first: structure sizes)
.include "kvm_defs.s"
.include "kvm_main.s"
.include "kvm_vmx.s"
.include "kvm_x86.s"
.include "kvm_lapic.s"
.include "kvm_hypercall.s"
.include "iothread.s"
