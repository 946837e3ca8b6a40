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
; vCPU, bad policy/priority) (the paper's hc_boost). eax = calling vcpu.
kvm_hc_boost:
    push ebx
    mov ebx, eax
    call kvm_hc_cosched_target
    test eax, eax
    js .out
    mov eax, [eax + kvm_vcpu.task]
    mov edx, [ebx + kvm_vcpu.regs + VCPU_REGS_ECX]
    mov ecx, [ebx + kvm_vcpu.regs + VCPU_REGS_EDX]
    call sched_setscheduler
.out:
    pop ebx
    ret

; kvm_hc_deboost — hc_deboost(cpu): that vCPU's thread goes back to the
; policy and priority its thread-table entry configured, if bp.cosched;
; results as kvm_hc_boost (the paper's hc_deboost). eax = calling vcpu.
kvm_hc_deboost:
    call kvm_hc_cosched_target
    test eax, eax
    js .out
    mov ecx, [eax + kvm_vcpu.id]
    imul ecx, bp_thread.size
    add ecx, BOOT_PARAMS + bp.threads
    mov eax, [eax + kvm_vcpu.task]
    mov edx, [ecx + bp_thread.policy]
    mov ecx, [ecx + bp_thread.prio]
    call sched_setscheduler
.out:
    ret

.rodata
msg_hc_print: .asciz "kvm: vm %s vcpu%u: print %u\n"
