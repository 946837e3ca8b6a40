; guests/rtos/cosched.s — the guest half of co-scheduling (paper §4.2): the
; guest tells the host when it needs its vCPU boosted, through the
; hypercalls hc_boost(cpu, policy, prio) = KVM_HC_BOOST and
; hc_deboost(cpu) = KVM_HC_DEBOOST (VMCALL, number in eax, arguments in
; ebx, ecx, edx; eax = result). As in the paper's boost_vcpu_priority() and
; deboost_priority(), a per-CPU record of the last policy reported keeps
; the calls to one per change: boost when a real-time task (priority ≤
; rtos_params.cosched_rt_prio) is dispatched and the CPU is not boosted
; yet; deboost at interrupt exit when no real-time task is ready. So an
; activation — an interrupt waking a real-time task that runs and blocks —
; costs two extra VM exits: the boost at its dispatch and the deboost at
; the next interrupt exit that finds no real-time work. Only with
; rtos_params.cosched set.

.text
; cosched_dispatch — boost_vcpu_priority(): called by reschedule with the
; TCB about to run in ebx, interrupts locked. Clobbers eax.
cosched_dispatch:
    cmp dword [RTOS_PARAMS + rtos_params.cosched], 0
    je .done
    mov eax, [ebx + tcb.prio]
    cmp eax, [RTOS_PARAMS + rtos_params.cosched_rt_prio]
    ja .done                    ; not a real-time task
    cmp dword [cosched_policy], SCHED_OTHER
    jne .done                   ; already boosted: nothing to tell
    push ebx
    push ecx
    push edx
    mov ecx, [RTOS_PARAMS + rtos_params.cosched_policy]
    mov [cosched_policy], ecx   ; per_cpu(policy, cpu) = the policy asked for
    mov edx, [RTOS_PARAMS + rtos_params.cosched_prio]
    xor ebx, ebx                ; cpu 0: this kernel runs on one vCPU
    mov eax, KVM_HC_BOOST
    vmcall
    inc dword [cosched_boosts]
    pop edx
    pop ecx
    pop ebx
.done:
    ret

; cosched_intr_exit — deboost_priority(): called by intExit (outermost
; level, interrupts locked). Clobbers eax.
cosched_intr_exit:
    cmp dword [RTOS_PARAMS + rtos_params.cosched], 0
    je .done
    cmp dword [cosched_policy], SCHED_OTHER
    je .done                    ; not boosted
    mov eax, [ready_head]
    test eax, eax
    je .deboost
    mov eax, [eax + tcb.prio]
    cmp eax, [RTOS_PARAMS + rtos_params.cosched_rt_prio]
    jbe .done                   ; a real-time task is ready: stay boosted
.deboost:
    push ebx
    mov dword [cosched_policy], SCHED_OTHER
    xor ebx, ebx                ; cpu 0
    mov eax, KVM_HC_DEBOOST
    vmcall
    inc dword [cosched_deboosts]
    pop ebx
.done:
    ret

.data
.align 4
cosched_policy:   .long SCHED_OTHER ; per CPU: the last policy reported to the host
cosched_boosts:   .long 0
cosched_deboosts: .long 0
