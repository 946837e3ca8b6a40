; firmware/kernel/kvm_main.s — the KVM module's core: VMs and vCPUs from the
; boot parameters, the vCPU thread with its run loop (vcpu_run ->
; vcpu_enter_guest), blocking a halted vCPU, kicking one, and stopping a VM
; (Linux: virt/kvm/kvm_main.c, arch/x86/kvm/x86.c; QEMU's vCPU thread
; ioctl(KVM_RUN) loop is folded into the kernel thread).
;
; A vCPU is a host thread of the thread table (THREAD_VCPU, bp_thread.vm,
; bp_thread.vcpu), scheduled like any other with its policy, priority and
; affinity; vCPU global id = its thread-table index (pid - 1).
;
; Fig. 2 of the paper, as traced here (src/trace/stages.ts reads them):
;   b  VM exit done          the VmExit event (EXTERNAL_INTERRUPT)
;   c  host IRQs re-enabled  `irq_enable` (vector) in vmx_handle_external_intr
;   d  host ISR done         `local_timer_exit` / `irq_handler_exit`
;   e  host scheduling done  `kvm_sched_done` (vcpu id) in vcpu_run, after the
;                            reschedule point, before vcpu_enter_guest
;   f  VM entry begun        `kvm_entry` (vcpu id), after injection
;   g, h                     the VmEntry and guest Interrupt events

.text

; kvm_init — one struct kvm per boot-parameter VM with a valid memory layout,
; one struct kvm_vcpu per THREAD_VCPU entry of such a VM (vcpu = thread
; index), the I/O thread of each VM; the guest TSC starts at 0 now
; (kvm_init + kvm_create_vm + kvm_vm_ioctl_create_vcpu, done at boot as
; QEMU would at start-up). Called by kthreads_init before any thread runs.
kvm_init:
    push ebx
    push esi
    push edi
    push ebp
    xor ebx, ebx                 ; VM index
.vm:
    cmp ebx, [BOOT_PARAMS + bp.vm_count]
    jae .threads
    cmp ebx, BP_MAX_VMS
    jae .threads
    mov esi, ebx
    imul esi, kvm.size
    add esi, kvm_vms
    mov edi, ebx
    imul edi, bp_vm.size
    add edi, BOOT_PARAMS + bp.vms
    mov [esi + kvm.index], ebx
    mov [esi + kvm.params], edi
    mov eax, [edi + bp_vm.mem_base]
    mov [esi + kvm.mem_base], eax
    mov ecx, [edi + bp_vm.mem_size]
    mov [esi + kvm.mem_size], ecx
    ; the layout: page aligned, not empty, above the KVM area, no wrap
    test eax, PAGE_SIZE - 1
    jne .bad_layout
    test ecx, PAGE_SIZE - 1
    jne .bad_layout
    test ecx, ecx
    je .bad_layout
    cmp eax, KVM_AREA_END
    jb .bad_layout
    add ecx, eax
    jb .bad_layout
    ; flat EPT descriptor {base, size} in this VM's page of the EPT area
    mov edx, ebx
    shl edx, PAGE_SHIFT
    add edx, EPT_AREA
    mov [edx], eax
    mov ecx, [esi + kvm.mem_size]
    mov [edx + 4], ecx
    or edx, VMX_EPTP_MT_WB | VMX_EPTP_PWL_4
    mov [esi + kvm.eptp], edx
    ; TSC_OFFSET = -TSC: the guest's TSC counts from 0
    rdtsc
    xor ecx, ecx
    neg eax
    sbb ecx, edx
    mov [esi + kvm.tsc_offset], eax
    mov [esi + kvm.tsc_offset + 4], ecx
    ; its I/O thread, if the entry is one
    mov eax, [edi + bp_vm.io_thread]
    cmp eax, [BOOT_PARAMS + bp.thread_count]
    jae .no_io
    mov ecx, eax
    imul ecx, bp_thread.size
    cmp dword [BOOT_PARAMS + bp.threads + ecx + bp_thread.kind], THREAD_IO
    jne .no_io
    add eax, NR_CPUS
    imul eax, task.size
    add eax, tasks
    mov [esi + kvm.io_task], eax
.no_io:
    mov dword [esi + kvm.state], KVM_VM_RUNNING
    jmp .next_vm
.bad_layout:
    push dword [edi + bp_vm.mem_size]
    push dword [edi + bp_vm.mem_base]
    push edi                     ; the name is at offset 0
    push msg_bad_layout
    call printk
    add esp, 16
.next_vm:
    inc ebx
    jmp .vm
.threads:
    xor ebx, ebx                 ; thread index
.thread:
    cmp ebx, [BOOT_PARAMS + bp.thread_count]
    jae .report
    cmp ebx, BP_MAX_THREADS
    jae .report
    mov edi, ebx
    imul edi, bp_thread.size
    add edi, BOOT_PARAMS + bp.threads
    cmp dword [edi + bp_thread.kind], THREAD_VCPU
    jne .next_thread
    mov eax, [edi + bp_thread.vm]
    cmp eax, [BOOT_PARAMS + bp.vm_count]
    jae .next_thread
    cmp eax, BP_MAX_VMS
    jae .next_thread
    mov esi, eax
    imul esi, kvm.size
    add esi, kvm_vms
    cmp dword [esi + kvm.state], KVM_VM_RUNNING
    jne .next_thread
    mov ecx, [edi + bp_thread.vcpu]
    cmp ecx, KVM_MAX_VCPUS
    jae .bad_vcpu
    cmp dword [esi + kvm.vcpus + ecx*4], 0
    jne .bad_vcpu
    mov ebp, ebx
    KVM_VCPU ebp
    mov [esi + kvm.vcpus + ecx*4], ebp
    mov [ebp + kvm_vcpu.vcpu_id], ecx
    mov [ebp + kvm_vcpu.kvm], esi
    mov [ebp + kvm_vcpu.id], ebx
    lea eax, [ebx + NR_CPUS]
    imul eax, task.size
    add eax, tasks
    mov [ebp + kvm_vcpu.task], eax
    mov dword [ebp + kvm_vcpu.cpu], -1
    mov eax, ebx                 ; its VMCS: page `thread index` of the VMCS area
    shl eax, PAGE_SHIFT
    add eax, VMCS_AREA
    mov [ebp + kvm_vcpu.vmcs_ptr], eax
    mov dword [ebp + kvm_vcpu.vmcs_ptr + 4], 0
    mov dword [ebp + kvm_vcpu.mp_state], KVM_MP_STATE_RUNNABLE
    mov eax, ebp
    call kvm_create_lapic
    inc dword [esi + kvm.nr_vcpus]
    inc dword [esi + kvm.online_vcpus]
    jmp .next_thread
.bad_vcpu:
    push ecx
    push dword [esi + kvm.params]
    push msg_bad_vcpu
    call printk
    add esp, 12
.next_thread:
    inc ebx
    jmp .thread
.report:
    xor ebx, ebx                 ; VMs with vCPUs are the ones to wait for
.count:
    cmp ebx, BP_MAX_VMS
    jae .done
    mov esi, ebx
    imul esi, kvm.size
    add esi, kvm_vms
    cmp dword [esi + kvm.state], KVM_VM_RUNNING
    jne .next_count
    cmp dword [esi + kvm.nr_vcpus], 0
    je .next_count
    inc dword [kvm_vms_running]
    mov eax, [esi + kvm.mem_size]
    shr eax, 10
    mov edx, [esi + kvm.params]
    push dword [edx + bp_vm.entry]
    push dword [esi + kvm.mem_base]
    push eax
    push dword [esi + kvm.nr_vcpus]
    push edx
    push msg_vm_created
    call printk
    add esp, 24
.next_count:
    inc ebx
    jmp .count
.done:
    pop ebp
    pop edi
    pop esi
    pop ebx
    ret

; kvm_vcpu_thread — body of a THREAD_VCPU thread, task in eax: set up the
; VMCS on this CPU, run the guest until its VM stops, clean up (QEMU's
; qemu_kvm_cpu_thread_fn: KVM_CREATE_VCPU, KVM_RUN in a loop). A vCPU
; thread whose entry names no VM stays the busy placeholder it was before
; KVM existed (load_thread); one whose VM could not be created (reported by
; kvm_init) sleeps.
kvm_vcpu_thread:
    push ebx
    mov ebx, [eax + task.index]
    KVM_VCPU ebx
    cmp dword [ebx + kvm_vcpu.kvm], 0
    jne .run
    mov ecx, [eax + task.index]
    imul ecx, bp_thread.size
    mov ecx, [BOOT_PARAMS + bp.threads + ecx + bp_thread.vm]
    pop ebx
    cmp ecx, [BOOT_PARAMS + bp.vm_count]
    jb sleeper_thread
    jmp load_thread
.run:
    mov eax, ebx
    call vmx_create_vcpu
    mov eax, ebx
    call vcpu_run
    mov eax, ebx
    call kvm_vcpu_destroy
    pop ebx
    ret                          ; to ret_from_fork: do_exit

; vcpu_run — enter the guest again and again until its VM stops: a halted
; vCPU blocks first; the reschedule point comes before every entry
; (vcpu_run in x86.c + kvm_arch_vcpu_ioctl_run). eax = vcpu.
vcpu_run:
    push ebx
    push esi
    mov ebx, eax
    mov esi, [ebx + kvm_vcpu.kvm]
.loop:
    cmp dword [esi + kvm.state], KVM_VM_RUNNING
    jne .out
    cmp dword [ebx + kvm_vcpu.mp_state], KVM_MP_STATE_HALTED
    jne .resched
    mov eax, ebx
    call kvm_vcpu_block
    jmp .loop
.resched:
    call preempt_check_resched   ; cond_resched()
    mov eax, [ebx + kvm_vcpu.id]
    trace kvm_sched_done, eax    ; Fig. 2 e
    mov eax, ebx
    call vcpu_enter_guest
    test eax, eax
    jne .loop
.out:
    pop esi
    pop ebx
    ret

; vcpu_enter_guest — one guest run: with preemption and interrupts off,
; load the VMCS, inject what is pending, trace kvm_entry, VMRESUME; after
; the exit read the reason, hand an acknowledged host interrupt to the host
; (its ISR runs here), interrupts and preemption back on, then handle the
; exit. eax = vcpu; returns the handler's eax (1: go on, 0: stop this vCPU)
; (vcpu_enter_guest in x86.c).
vcpu_enter_guest:
    push ebx
    mov ebx, eax
    PREEMPT_DISABLE
    cli
    mov eax, ebx
    call vmx_vcpu_load
    mov dword [ebx + kvm_vcpu.mode], IN_GUEST_MODE   ; a kick from now on sends an IPI
    mov eax, ebx
    call vmx_prepare_entry
    mov eax, ebx
    call kvm_check_and_inject_events
    mov eax, [ebx + kvm_vcpu.id]
    trace kvm_entry, eax         ; Fig. 2 f
    mov eax, ebx
    call vmx_vcpu_run
    mov dword [ebx + kvm_vcpu.mode], OUTSIDE_GUEST_MODE
    mov dword [ebx + kvm_vcpu.rip_avail], 0
    inc dword [ebx + kvm_vcpu.stat_exits]
    mov ecx, VM_EXIT_REASON
    vmread eax, ecx
    mov [ebx + kvm_vcpu.exit_reason], eax
    trace kvm_exit, eax
    cmp eax, EXIT_REASON_EXTERNAL_INTERRUPT
    jne .irq_on
    mov eax, ebx
    call vmx_handle_external_intr
.irq_on:
    sti                          ; local_irq_enable()
    PREEMPT_ENABLE_NO_RESCHED
    call preempt_check_resched   ; preempt_enable()
    mov eax, ebx
    call vmx_handle_exit
    pop ebx
    ret

; kvm_vcpu_block — a halted vCPU sleeps until it is runnable: an interrupt
; it can take, or its VM stopping (kvm_vcpu_block / kvm_vcpu_halt). The
; kvm_vcpu_wakeup event marks the thread running again. eax = vcpu.
kvm_vcpu_block:
    push ebx
    push esi
    mov ebx, eax
    mov esi, [ebx + kvm_vcpu.task]
.wait:
    mov dword [esi + task.state], TASK_INTERRUPTIBLE
    mov eax, ebx
    call kvm_arch_vcpu_runnable
    test eax, eax
    jne .runnable
    call schedule
    jmp .wait
.runnable:
    mov dword [esi + task.state], TASK_RUNNING
    mov dword [ebx + kvm_vcpu.mp_state], KVM_MP_STATE_RUNNABLE
    inc dword [ebx + kvm_vcpu.stat_halt_wakeup]
    mov eax, [ebx + kvm_vcpu.id]
    trace kvm_vcpu_wakeup, eax
    pop esi
    pop ebx
    ret

; kvm_arch_vcpu_runnable — eax = 1 if halted vCPU eax should run: its VM
; stopped, or its APIC has an interrupt it can take (IF was 1 at the HLT)
; (kvm_arch_vcpu_runnable -> kvm_vcpu_has_events)
kvm_arch_vcpu_runnable:
    mov ecx, [eax + kvm_vcpu.kvm]
    cmp dword [ecx + kvm.state], KVM_VM_RUNNING
    jne .yes
    test dword [eax + kvm_vcpu.halt_rflags], X86_EFLAGS_IF
    je .no
    call kvm_apic_has_interrupt
    cmp eax, 0
    jl .no
.yes:
    mov eax, 1
    ret
.no:
    xor eax, eax
    ret

; kvm_vcpu_kick — make vCPU eax notice new work: wake its thread if it
; blocks in kvm_vcpu_block (TASK_INTERRUPTIBLE; an I/O wait is
; uninterruptible and stays asleep), and if it runs a guest on another CPU
; send that CPU the reschedule IPI, which forces a VM exit (kvm_vcpu_kick)
kvm_vcpu_kick:
    push ebx
    mov ebx, eax
    mov eax, [ebx + kvm_vcpu.task]
    mov edx, TASK_INTERRUPTIBLE
    call try_to_wake_up
    cmp dword [ebx + kvm_vcpu.mode], IN_GUEST_MODE
    jne .done
    mov eax, [ebx + kvm_vcpu.cpu]
    SMP_PROCESSOR_ID edx
    cmp eax, edx
    je .done
    call smp_send_reschedule
.done:
    pop ebx
    ret

; kvm_vm_stop — VM eax stops with state edx (KVM_VM_DONE / KVM_VM_FAILED)
; and status ecx, once; every vCPU is kicked so it leaves its run loop
; (QEMU's vm_stop / qemu_system_shutdown_request)
kvm_vm_stop:
    push ebx
    push esi
    push edi
    mov ebx, eax
    LOCAL_IRQ_SAVE
    lea eax, [ebx + kvm.lock]
    call raw_spin_lock
    cmp dword [ebx + kvm.state], KVM_VM_RUNNING
    jne .unlock
    mov [ebx + kvm.state], edx
    mov [ebx + kvm.status], ecx
.unlock:
    lea eax, [ebx + kvm.lock]
    call raw_spin_unlock
    LOCAL_IRQ_RESTORE
    xor esi, esi
.kick:
    mov eax, [ebx + kvm.vcpus + esi*4]
    test eax, eax
    je .next
    call kvm_vcpu_kick
.next:
    inc esi
    cmp esi, KVM_MAX_VCPUS
    jb .kick
    pop edi
    pop esi
    pop ebx
    ret

; kvm_vcpu_destroy — vCPU eax leaves for good: its timer cancelled, its VMCS
; cleared; the last vCPU of a VM reports it stopped, and when every VM has
; stopped (and no host cyclictest is still counting) the machine powers off
; (kvm_arch_vcpu_destroy + kvm_destroy_vm; QEMU exiting)
kvm_vcpu_destroy:
    push ebx
    push esi
    mov ebx, eax
    mov esi, [ebx + kvm_vcpu.kvm]
    lea eax, [ebx + kvm_vcpu.lapic + kvm_lapic.timer]
    call hrtimer_cancel
    mov eax, ebx
    call vmx_vcpu_free
    mov eax, -1
    lock xadd [esi + kvm.online_vcpus], eax
    cmp eax, 1
    jne .done
    ; the VM's last vCPU
    mov eax, [esi + kvm.params]
    push dword [esi + kvm.status]
    push eax
    push msg_vm_stopped
    cmp dword [esi + kvm.state], KVM_VM_DONE
    je .print
    mov dword [esp], msg_vm_failed
.print:
    call printk
    add esp, 12
    cmp dword [esi + kvm.state], KVM_VM_DONE
    jne .failed
    cmp dword [esi + kvm.status], 0
    je .last
.failed:
    mov dword [kvm_exit_code], EXIT_KVM_VM_FAILED
.last:
    mov eax, -1
    lock xadd [kvm_vms_running], eax
    cmp eax, 1
    jne .done
    mov eax, [ct_nr_done]        ; a host cyclictest still running powers off itself
    cmp eax, [ct_nr_expected]
    jb .done
    mov eax, [kvm_exit_code]
    call kernel_power_off
.done:
    pop esi
    pop ebx
    ret

.rodata
msg_bad_layout: .asciz "kvm: vm %s: memory 0x%x (%u bytes) not page aligned above the KVM area: not started\n"
msg_bad_vcpu:   .asciz "kvm: vm %s: vcpu %u duplicate or above KVM_MAX_VCPUS: ignored\n"
msg_vm_created: .asciz "kvm: vm %s: %u vcpus, %u KiB at 0x%x, entry 0x%x\n"
msg_vm_stopped: .asciz "kvm: vm %s: done, status %u\n"
msg_vm_failed:  .asciz "kvm: vm %s: stopped (failed)\n"

.data
.align 4
kvm_vms_running: .long 0         ; VMs not yet stopped
kvm_exit_code:   .long EXIT_POWEROFF

.bss
.align 16
kvm_vms:   .space BP_MAX_VMS * kvm.size
kvm_vcpus: .space BP_MAX_THREADS * kvm_vcpu.size
