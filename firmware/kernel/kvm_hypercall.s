; firmware/kernel/kvm_hypercall.s — VMCALL: KVM's hypercall ABI (number in
; EAX, arguments in EBX, ECX, EDX, ESI, result in EAX), with the paper's
; co-scheduling calls (§4.2) hc_boost(cpu, policy, prio) and hc_deboost(cpu)
; and vmxsim's test calls (Linux: arch/x86/kvm/x86.c kvm_emulate_hypercall;
; numbers in src/vmx/hypercalls.ts).

.text

; handle_vmcall — VMCALL exit: past the instruction, kvm_hypercall (nr),
; dispatch; unknown numbers return -KVM_ENOSYS (kvm_emulate_hypercall).
; eax = vcpu; returns 0 only for VMXSIM_HC_DONE (this vCPU stops).
handle_vmcall:
    push ebx
    push esi
    mov ebx, eax
    call kvm_skip_emulated_instruction
    inc dword [ebx + kvm_vcpu.stat_hypercalls]
    mov eax, [ebx + kvm_vcpu.regs + VCPU_REGS_EAX]
    trace kvm_hypercall, eax
    mov esi, -KVM_ENOSYS
    cmp eax, KVM_HC_BOOST
    je .boost
    cmp eax, KVM_HC_DEBOOST
    je .deboost
    cmp eax, VMXSIM_HC_PRINT
    je .print
    cmp eax, VMXSIM_HC_DONE
    je .done
.ret:
    mov [ebx + kvm_vcpu.regs + VCPU_REGS_EAX], esi
    mov eax, 1
    pop esi
    pop ebx
    ret
.boost:
    mov eax, ebx
    call kvm_hc_boost
    mov esi, eax
    jmp .ret
.deboost:
    mov eax, ebx
    call kvm_hc_deboost
    mov esi, eax
    jmp .ret
.print:
    push dword [ebx + kvm_vcpu.regs + VCPU_REGS_EBX]
    push dword [ebx + kvm_vcpu.vcpu_id]
    mov eax, [ebx + kvm_vcpu.kvm]
    push dword [eax + kvm.params]
    push msg_hc_print
    call printk
    add esp, 16
    xor esi, esi
    jmp .ret
.done:
    mov dword [ebx + kvm_vcpu.regs + VCPU_REGS_EAX], 0
    mov eax, [ebx + kvm_vcpu.kvm]
    mov edx, KVM_VM_DONE
    mov ecx, [ebx + kvm_vcpu.regs + VCPU_REGS_EBX]
    call kvm_vm_stop
    xor eax, eax
    pop esi
    pop ebx
    ret

; kvm_hc_target — the vCPU of vCPU eax's VM named by its EBX argument
; (the hypercall's cpu), or 0 (-KVM_EINVAL for the caller)
kvm_hc_target:
    mov ecx, [eax + kvm_vcpu.regs + VCPU_REGS_EBX]
    mov edx, [eax + kvm_vcpu.kvm]
    xor eax, eax
    cmp ecx, KVM_MAX_VCPUS
    jae .done
    mov eax, [edx + kvm.vcpus + ecx*4]
.done:
    ret

; kvm_hc_cosched_target — the checks hc_boost and hc_deboost share: eax =
; calling vcpu; returns the target vCPU, or -KVM_EPERM (co-scheduling off)
; or -KVM_EINVAL (no such vCPU) — negative, so `test eax, eax; js` tells
kvm_hc_cosched_target:
    cmp dword [BOOT_PARAMS + bp.cosched], 0
    je .eperm
    call kvm_hc_target
    test eax, eax
    je .einval
    ret
.eperm:
    mov eax, -KVM_EPERM
    ret
.einval:
    mov eax, -KVM_EINVAL
    ret

; kvm_hc_boost — hc_boost(cpu, policy, prio): that vCPU's thread gets the
; policy and rt priority the guest asks for (sched_setscheduler), if
; bp.cosched; eax = 0, -KVM_EPERM (co-scheduling off), -KVM_EINVAL (no such
; vCPU, bad policy/priority) (the paper's hc_boost). The request is recorded
; in the vCPU (pv_policy, pv_prio: "a VCPU is scheduled according to the
; last scheduling policy and priority reported by the guest", §4.2) for the
; interrupt boost, and the vCPU counts as boosted by its guest (an interrupt
; boost KVM lent is claimed: the guest's hc_deboost ends it). eax = calling vcpu.
kvm_hc_boost:
    push ebx
    push esi
    mov ebx, eax
    call kvm_hc_cosched_target
    test eax, eax
    js .out
    mov esi, eax
    mov eax, [esi + kvm_vcpu.task]
    mov edx, [ebx + kvm_vcpu.regs + VCPU_REGS_ECX]
    mov ecx, [ebx + kvm_vcpu.regs + VCPU_REGS_EDX]
    call sched_setscheduler
    test eax, eax
    jne .out
    mov edx, [ebx + kvm_vcpu.regs + VCPU_REGS_ECX]
    mov [esi + kvm_vcpu.pv_policy], edx
    mov edx, [ebx + kvm_vcpu.regs + VCPU_REGS_EDX]
    mov [esi + kvm_vcpu.pv_prio], edx
    mov dword [esi + kvm_vcpu.pv_state], KVM_PV_BOOSTED
.out:
    pop esi
    pop ebx
    ret

; kvm_hc_deboost — hc_deboost(cpu): that vCPU's thread goes back to the
; policy and priority its thread-table entry configured, if bp.cosched;
; results as kvm_hc_boost (the paper's hc_deboost). An interrupt already
; pending for it is boosted for at once (kvm_vcpu_pv_restore). eax =
; calling vcpu.
kvm_hc_deboost:
    call kvm_hc_cosched_target
    test eax, eax
    js .out
    mov dword [eax + kvm_vcpu.pv_state], KVM_PV_DEBOOSTED
    jmp kvm_vcpu_pv_restore
.out:
    ret

; kvm_vcpu_irq_boost — an interrupt is about to be injected into vCPU eax
; (kvm_apic_set_irq, before the kick; any CPU, any context): if
; co-scheduling is on, its guest has reported a real-time policy through
; hc_boost and the vCPU is deboosted, its thread gets that policy and
; priority again first, so the wake-up or the preemption of a fair thread
; on its CPU happens at once (sched_setscheduler's resched) and the guest's
; interrupt handler runs at the real-time priority. The boost is lent
; (KVM_PV_IRQ_BOOSTED): the guest's hc_boost claims it, otherwise the EOI
; that ends the interrupt returns it (kvm_vcpu_irq_deboost). One CPU wins
; the state change (lock cmpxchg); the others find it boosted. (No mainline
; Linux counterpart: the interrupt boost of Kiszka's paravirtual scheduling
; for KVM, the paper's [10].)
kvm_vcpu_irq_boost:
    cmp dword [BOOT_PARAMS + bp.cosched], 0
    je .out
    cmp dword [eax + kvm_vcpu.pv_policy], SCHED_OTHER
    je .out                      ; never reported a real-time policy
    mov edx, eax
    mov ecx, KVM_PV_IRQ_BOOSTED
    mov eax, KVM_PV_DEBOOSTED
    lock cmpxchg [edx + kvm_vcpu.pv_state], ecx
    jne .out                     ; boosted already
    mov eax, edx
    jmp kvm_vcpu_pv_setscheduler
.out:
    ret

; kvm_vcpu_irq_deboost — vCPU eax's guest wrote an EOI (vCPU thread): if
; KVM lent it an interrupt boost that its guest did not claim, and no
; interrupt is in service or deliverable any more, the boost ends — the
; thread-table policy again, as the guest's hc_deboost at interrupt exit
; would (Kiszka's guest lowers its priority on leaving the handler; the
; paper's guests only deboost what they boosted, and EOI is the end of the
; handler KVM sees)
kvm_vcpu_irq_deboost:
    cmp dword [eax + kvm_vcpu.pv_state], KVM_PV_IRQ_BOOSTED
    jne .out
    push ebx
    mov ebx, eax
    lea eax, [ebx + kvm_vcpu.lapic + kvm_lapic.isr]
    call apic_find_highest_vector
    test eax, eax
    jns .done                    ; a lower-priority interrupt is still in service
    mov eax, ebx
    call kvm_apic_has_interrupt
    test eax, eax
    jns .done                    ; another one to take
    mov eax, KVM_PV_IRQ_BOOSTED
    mov ecx, KVM_PV_DEBOOSTED
    lock cmpxchg [ebx + kvm_vcpu.pv_state], ecx
    jne .done
    mov eax, ebx
    call kvm_vcpu_pv_restore
.done:
    pop ebx
.out:
    ret

; kvm_vcpu_pv_setscheduler — vCPU eax's thread to the policy and priority
; its guest last reported (pv_policy, pv_prio); eax = sched_setscheduler's
; result
kvm_vcpu_pv_setscheduler:
    mov edx, [eax + kvm_vcpu.pv_policy]
    mov ecx, [eax + kvm_vcpu.pv_prio]
    mov eax, [eax + kvm_vcpu.task]
    jmp sched_setscheduler

; kvm_vcpu_pv_restore — the deboost proper: vCPU eax's thread back to its
; thread-table policy and priority (pv_state already KVM_PV_DEBOOSTED).
; Preemption stays off until an interrupt that came in meanwhile, whose
; kvm_vcpu_irq_boost found the vCPU still boosted, is seen: then the boost
; is lent again at once, before the vCPU can be preempted. eax =
; sched_setscheduler's result.
kvm_vcpu_pv_restore:
    push ebx
    push esi
    mov ebx, eax
    PREEMPT_DISABLE
    mov ecx, [ebx + kvm_vcpu.id]
    imul ecx, bp_thread.size
    add ecx, BOOT_PARAMS + bp.threads
    mov eax, [ebx + kvm_vcpu.task]
    mov edx, [ecx + bp_thread.policy]
    mov ecx, [ecx + bp_thread.prio]
    call sched_setscheduler
    mov esi, eax
    mov eax, ebx
    call kvm_apic_has_interrupt
    test eax, eax
    js .enable
    cmp dword [ebx + kvm_vcpu.pv_policy], SCHED_OTHER
    je .enable
    mov dword [ebx + kvm_vcpu.pv_state], KVM_PV_IRQ_BOOSTED
    mov eax, ebx
    call kvm_vcpu_pv_setscheduler
.enable:
    PREEMPT_ENABLE_NO_RESCHED
    call preempt_check_resched
    mov eax, esi
    pop esi
    pop ebx
    ret

.rodata
msg_hc_print: .asciz "kvm: vm %s vcpu%u: print %u\n"
