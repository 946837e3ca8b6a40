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
;   gpos_start_kernel  start_kernel without init_IRQ (no I/O APIC in a VM)
;   gpos_cyclictest    cyclictest_thread, then VMXSIM_HC_DONE instead of
;                      kernel_power_off's EXIT_PORT write (no such port)
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

.text

; gpos_start_kernel — the guest's entry: boot.s start_kernel step for step,
; minus init_IRQ (setup_IO_APIC would touch the I/O APIC's MMIO page, which
; a VM does not have: EPT violation), with the guest's thread bodies
; installed in kthread_bodies first (Linux: xen_start_kernel /
; x86_init.irqs.intr_init = a no-op for a guest without an I/O APIC)
gpos_start_kernel:
    cli
    mov esp, KSTACK_AREA + THREAD_STACK_TOP
    mov dword [KSTACK_AREA + thread_info.task], tasks
    mov dword [KSTACK_AREA + thread_info.cpu], 0
    mov dword [KSTACK_AREA + thread_info.preempt_count], PREEMPT_DISABLED
    call trap_init
    cmp dword [BOOT_PARAMS + bp.magic], BOOT_PARAMS_MAGIC
    jne .bad_params
    mov eax, [BOOT_PARAMS + bp.cpu_khz]
    test eax, eax
    je .bad_params
    mov [cpu_khz], eax
    mov eax, [BOOT_PARAMS + bp.cpu_count]
    cmp eax, NR_CPUS
    jbe .cpus
    mov eax, NR_CPUS
.cpus:
    mov [nr_cpu_ids], eax
    mov dword [kthread_bodies + THREAD_CYCLICTEST * 4], gpos_cyclictest
    mov dword [kthread_bodies + THREAD_LOAD * 4], gpos_load_thread
    call sched_init
    call hrtimers_init
    push dword [BOOT_PARAMS + bp.thread_count]
    push dword [BOOT_PARAMS + bp.tick_hz]
    push dword [cpu_khz]
    push dword [nr_cpu_ids]
    push msg_banner
    call printk
    add esp, 20
    call setup_local_APIC
    mov eax, cpu_online_mask
    mov edx, 1                   ; CPU 0
    call atomic_or
    call tick_setup_sched_timer
    call smp_init                ; nr_cpu_ids 1: no AP to start
    call kthreads_init
    inc dword [ct_nr_expected]   ; one more than there are: cyclictest_thread never powers off (gpos_cyclictest does)
    push dword [cpu_online_mask]
    push msg_up
    call printk
    add esp, 8
    push msg_gpos
    call printk
    add esp, 4
    jmp cpu_startup_entry        ; rest_init: the boot task is CPU 0's idle task
.bad_params:
    mov eax, msg_bad_params
    mov edx, EXIT_BAD_BOOT_PARAMS
    jmp panic

; gpos_cyclictest — THREAD_CYCLICTEST in the guest: the kernel's
; cyclictest_thread (which returns after its loops, as ct_nr_expected
; counts one thread too many), then, when every cyclictest thread is done,
; VMXSIM_HC_DONE(0): the VM stops (the guest's pm_power_off)
gpos_cyclictest:
    call cyclictest_thread
    mov eax, [ct_nr_expected]
    dec eax
    cmp [ct_nr_done], eax
    jb .exit
    push msg_ct_done
    call printk
    add esp, 4
    mov eax, VMXSIM_HC_DONE
    xor ebx, ebx
    vmcall
.exit:
    ret                          ; back to ret_from_fork: do_exit

.rodata
msg_gpos:    .asciz "Linux-like guest up (host kernel code, 1 vCPU)\n"
msg_ct_done: .asciz "cyclictest done, powering off\n"
