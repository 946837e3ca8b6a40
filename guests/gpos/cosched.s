; guests/gpos/cosched.s — the GPOS guest's half of co-scheduling (paper
; §4.2), the Linux-guest counterpart of guests/rtos/cosched.s: installed
; into the kernel's sched_switch_hook (sched.s) and irq_exit_hook (traps.s)
; by gpos_start_kernel only when the guest's own boot block has bp.cosched.
;  - gpos_cosched_switch (boost_vcpu_priority): __schedule is about to run a
;    real-time task (SCHED_FIFO / SCHED_RR) and the last policy reported to
;    the host is not already SCHED_FIFO: hc_boost(cpu 0, SCHED_FIFO, the
;    task's rt_priority) = KVM_HC_BOOST.
;  - gpos_cosched_irq_exit (deboost_priority): at interrupt exit with no
;    real-time task on this CPU's run queue (rt_nr_running counts the
;    running one too), if boosted: hc_deboost(cpu 0) = KVM_HC_DEBOOST.
; One vCPU, so the per-CPU record is one dword.

.text
; gpos_cosched_switch — next task in eax; rq lock held, interrupts off.
; Clobbers eax, ecx, edx only.
gpos_cosched_switch:
    mov ecx, [eax + task.policy]
    cmp ecx, SCHED_FIFO
    je .rt
    cmp ecx, SCHED_RR
    jne .done
.rt:
    cmp dword [gpos_cosched_policy], SCHED_FIFO
    je .done                     ; already boosted: nothing to tell
    mov edx, [eax + task.rt_priority]
    mov dword [gpos_cosched_policy], SCHED_FIFO
    push ebx
    xor ebx, ebx                 ; cpu 0
    mov ecx, SCHED_FIFO
    mov eax, KVM_HC_BOOST
    vmcall
    mov [gpos_cosched_result], eax
    pop ebx
    inc dword [gpos_cosched_boosts]
.done:
    ret

; gpos_cosched_irq_exit — end of an interrupt, interrupts off, ebx =
; thread_info (kept). Clobbers eax, ecx, edx only.
gpos_cosched_irq_exit:
    cmp dword [gpos_cosched_policy], SCHED_OTHER
    je .done                     ; not boosted
    THIS_RQ ecx
    cmp dword [ecx + rq.rt + rt_rq.rt_nr_running], 0
    jne .done                    ; a real-time task is ready: stay boosted
    mov dword [gpos_cosched_policy], SCHED_OTHER
    push ebx
    xor ebx, ebx                 ; cpu 0
    mov eax, KVM_HC_DEBOOST
    vmcall
    mov [gpos_cosched_result], eax
    pop ebx
    inc dword [gpos_cosched_deboosts]
.done:
    ret

.data
.align 4
gpos_cosched_policy:   .long SCHED_OTHER  ; the last policy reported to the host
gpos_cosched_boosts:   .long 0
gpos_cosched_deboosts: .long 0
gpos_cosched_result:   .long 0            ; the last hypercall's return (0, -KVM_EPERM, ...)
