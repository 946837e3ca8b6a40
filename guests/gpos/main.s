; guests/gpos/main.s — the GPOS guest (issue 5): a one-vCPU Linux-like
; guest that is the host kernel (firmware/kernel) built a second time —
; scheduler, hrtimers, printk, cyclictest and the thread table are the
; host's own code, included below. Linux does the same: one kernel runs on
; bare metal or as a KVM guest, with a few paravirt hooks (x86_init.irqs,
; pm_power_off) chosen at boot. The guest sees only what KVM gives it: the
; x2APIC MSRs (virtual TSC-deadline timer, EOI, self-IPIs), COM1 (the VM's
; I/O-thread console), CPUID, HLT, VMCALL, and its own boot-parameter block
; at guest-physical BOOT_PARAMS (0x90000, written by src/guests/gpos.ts).
;
; Guest-specific pieces (the kernel has no hook for them yet, see
; README.md):
;   gpos_start_kernel  the platform hooks (no I/O APIC, power off by
;                      hypercall), then the host kernel's start_kernel
;   gpos_load_thread   THREAD_LOAD with bp_thread.vcpu as a sub-kind:
;                      0 the CPU hog, 1-6 a CPU benchmark (bench.s)
.entry gpos_start_kernel

.include "../../firmware/kernel/defs.s"
.include "../../firmware/kernel/boot.s"
.include "../../firmware/kernel/lib.s"
.include "../../firmware/kernel/printk.s"
.include "../../firmware/kernel/traps.s"
.include "../../firmware/kernel/apic.s"
.include "../../firmware/kernel/smp.s"
.include "../../firmware/kernel/hrtimer.s"
.include "../../firmware/kernel/sched.s"
.include "../../firmware/kernel/rt.s"
.include "../../firmware/kernel/fair.s"
.include "../../firmware/kernel/idle.s"
.include "../../firmware/kernel/irq.s"
.include "../../firmware/kernel/kthreads.s"
.include "../../firmware/kernel/cyclictest.s"
; the KVM module is built in (kthreads_init calls kvm_init) but, with no
; VMs in the guest's block, does nothing
.include "../../firmware/kernel/kvm_defs.s"
.include "../../firmware/kernel/kvm_main.s"
.include "../../firmware/kernel/kvm_vmx.s"
.include "../../firmware/kernel/kvm_x86.s"
.include "../../firmware/kernel/kvm_lapic.s"
.include "../../firmware/kernel/kvm_hypercall.s"
.include "../../firmware/kernel/iothread.s"
.include "bench.s"
.include "cosched.s"
.include "io.s"

.text

; gpos_start_kernel — the guest's entry: install the guest platform's
; hooks, then the host kernel's own start_kernel. A guest has no I/O APIC
; (its MMIO page is not in the VM: an EPT violation) and powers off with a
; hypercall, not the machine's exit port (Linux: a paravirtual guest's
; x86_init.irqs.intr_init and pm_power_off); the guest's thread bodies go
; into kthread_bodies before any thread is created
gpos_start_kernel:
    mov dword [x86_init_irqs_intr_init], gpos_no_io_apic
    mov dword [pm_power_off], gpos_power_off
    mov dword [kthread_bodies + THREAD_LOAD * 4], gpos_load_thread
    cmp dword [BOOT_PARAMS + bp.cosched], 0
    je .no_cosched
    mov dword [sched_switch_hook], gpos_cosched_switch   ; boost_vcpu_priority
    mov dword [irq_exit_hook], gpos_cosched_irq_exit    ; deboost_priority
.no_cosched:
    jmp start_kernel

; gpos_no_io_apic — no interrupt controller to set up in the guest
gpos_no_io_apic:
    ret

; gpos_power_off — VMXSIM_HC_DONE(status eax): the VM stops (the guest's pm_power_off)
gpos_power_off:
    mov ebx, eax
    mov eax, VMXSIM_HC_DONE
    vmcall
    ret

.rodata
