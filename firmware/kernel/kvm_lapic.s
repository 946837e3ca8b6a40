; firmware/kernel/kvm_lapic.s — the virtual local APIC of a vCPU, in x2APIC
; mode (every guest RDMSR/WRMSR exits): IRR/ISR with x86 priority classes,
; TPR, EOI, self-IPIs and fixed IPIs to the VM's vCPUs, and the TSC-deadline
; timer backed by a host hrtimer at deadline - TSC_OFFSET, whose expiry
; raises the timer vector and kicks the vCPU (Linux: arch/x86/kvm/lapic.c,
; x86.c kvm_get_msr_common/kvm_set_msr_common). One-shot and periodic
; counts (TMICT) are accepted and ignored; other MSRs are #GP as in KVM
; without ignore_msrs.

.text

; kvm_create_lapic — vCPU eax's APIC at reset: everything clear, LVT timer
; masked, its hrtimer calling apic_timer_fn (kvm_create_lapic + kvm_lapic_reset)
kvm_create_lapic:
    push ebx
    lea ebx, [eax + kvm_vcpu.lapic]
    mov dword [ebx + kvm_lapic.lvt_timer], LVT_MASK
    mov dword [ebx + kvm_lapic.svr], SPURIOUS_APIC_VECTOR
    lea eax, [ebx + kvm_lapic.timer]
    mov edx, apic_timer_fn
    call hrtimer_init
    pop ebx
    ret

; apic_find_highest_vector — eax = the highest vector set in the 256-bit
; map at eax, -1 if none (find_highest_vector)
apic_find_highest_vector:
    mov ecx, 7
.word:
    mov edx, [eax + ecx*4]
    test edx, edx
    jne .found
    dec ecx
    jns .word
    mov eax, -1
    ret
.found:
    bsr edx, edx
    shl ecx, BITS_PER_LONG_SHIFT
    lea eax, [ecx + edx]
    ret

; apic_ppr — vCPU eax's processor priority: TPR if its class is not below
; the highest in-service vector's, else that class (apic_update_ppr, SDM 10.8.3.1)
apic_ppr:
    push ebx
    mov ebx, eax
    lea eax, [ebx + kvm_vcpu.lapic + kvm_lapic.isr]
    call apic_find_highest_vector
    cmp eax, 0
    jge .class
    xor eax, eax                 ; nothing in service
.class:
    and eax, 0xf0
    mov ecx, [ebx + kvm_vcpu.lapic + kvm_lapic.tpr]
    and ecx, 0xf0
    cmp ecx, eax
    jb .done
    mov eax, [ebx + kvm_vcpu.lapic + kvm_lapic.tpr]
.done:
    pop ebx
    ret

; kvm_apic_has_interrupt — eax = the highest requested vector of vCPU eax
; whose class is above the processor priority, -1 if none
; (kvm_apic_has_interrupt)
kvm_apic_has_interrupt:
    push ebx
    push esi
    mov ebx, eax
    lea eax, [ebx + kvm_vcpu.lapic + kvm_lapic.irr]
    call apic_find_highest_vector
    cmp eax, 0
    jl .done
    mov esi, eax
    mov eax, ebx
    call apic_ppr
    and eax, 0xf0
    mov ecx, esi
    and ecx, 0xf0
    cmp ecx, eax
    mov eax, esi
    ja .done
    mov eax, -1
.done:
    pop esi
    pop ebx
    ret

; kvm_apic_get_interrupt — accept vCPU eax's deliverable vector: IRR -> ISR;
; eax = vector (caller checked it exists) (kvm_get_apic_interrupt)
kvm_apic_get_interrupt:
    push ebx
    push esi
    mov ebx, eax
    call kvm_apic_has_interrupt
    mov esi, eax
    lock btr [ebx + kvm_vcpu.lapic + kvm_lapic.irr], esi
    lock bts [ebx + kvm_vcpu.lapic + kvm_lapic.isr], esi
    mov eax, esi
    pop esi
    pop ebx
    ret

; apic_set_eoi — EOI: the highest in-service vector retires (apic_set_eoi)
apic_set_eoi:
    push ebx
    mov ebx, eax
    lea eax, [ebx + kvm_vcpu.lapic + kvm_lapic.isr]
    call apic_find_highest_vector
    cmp eax, 0
    jl .done
    lock btr [ebx + kvm_vcpu.lapic + kvm_lapic.isr], eax
.done:
    pop ebx
    ret

; kvm_apic_set_irq — request vector edx on vCPU eax from any CPU or context:
; IRR bit (atomic), kvm_set_irq (vcpu id << 8 | vector), under co-scheduling
; the interrupt boost (kvm_vcpu_irq_boost), kick the vCPU
; (kvm_apic_set_irq -> __apic_accept_irq -> kvm_vcpu_kick)
kvm_apic_set_irq:
    push ebx
    mov ebx, eax
    lock bts [ebx + kvm_vcpu.lapic + kvm_lapic.irr], edx
    mov eax, [ebx + kvm_vcpu.id]
    shl eax, 8
    or eax, edx
    trace kvm_set_irq, eax
    mov eax, ebx
    call kvm_vcpu_irq_boost
    mov eax, ebx
    call kvm_vcpu_kick
    pop ebx
    ret

; apic_timer_fn — the hrtimer behind a vCPU's TSC-deadline timer expired
; (timer in eax, on the CPU that armed it): the deadline is consumed and
; the LVT timer vector is raised unless masked (apic_timer_fn ->
; apic_timer_expired -> kvm_apic_local_deliver)
apic_timer_fn:
    push ebx
    mov ebx, eax
    sub ebx, kvm_vcpu.lapic + kvm_lapic.timer    ; container_of
    mov dword [ebx + kvm_vcpu.lapic + kvm_lapic.tscdeadline], 0
    mov dword [ebx + kvm_vcpu.lapic + kvm_lapic.tscdeadline + 4], 0
    mov edx, [ebx + kvm_vcpu.lapic + kvm_lapic.lvt_timer]
    test edx, LVT_MASK
    jne .done
    and edx, APIC_VECTOR_MASK
    mov eax, ebx
    call kvm_apic_set_irq
.done:
    mov eax, HRTIMER_NORESTART
    pop ebx
    ret

; kvm_lapic_start_timer — (re)arm vCPU eax's TSC-deadline timer from
; lapic.tscdeadline: cancelled if 0 or the LVT timer is not in TSC-deadline
; mode, else a host hrtimer on this CPU at deadline - TSC_OFFSET (a past
; deadline fires at once) (start_apic_timer -> start_sw_tscdeadline)
kvm_lapic_start_timer:
    push ebx
    push esi
    mov ebx, eax
    lea esi, [ebx + kvm_vcpu.lapic]
    mov eax, [esi + kvm_lapic.lvt_timer]
    and eax, LVT_TIMER_MODE_MASK
    cmp eax, LVT_TIMER_TSC_DEADLINE
    jne .cancel
    mov edx, [esi + kvm_lapic.tscdeadline]
    mov ecx, [esi + kvm_lapic.tscdeadline + 4]
    mov eax, edx
    or eax, ecx
    je .cancel
    mov eax, [ebx + kvm_vcpu.kvm]
    sub edx, [eax + kvm.tsc_offset]
    sbb ecx, [eax + kvm.tsc_offset + 4]
    lea eax, [esi + kvm_lapic.timer]
    call hrtimer_start
    jmp .done
.cancel:
    lea eax, [esi + kvm_lapic.timer]
    call hrtimer_cancel
.done:
    pop esi
    pop ebx
    ret

; handle_rdmsr — RDMSR: kvm_get_msr into the guest's EDX:EAX, or #GP
; (handle_rdmsr / kvm_emulate_rdmsr). eax = vcpu.
handle_rdmsr:
    push ebx
    mov ebx, eax
    mov edx, [ebx + kvm_vcpu.regs + VCPU_REGS_ECX]
    trace kvm_msr, edx
    call kvm_get_msr
    test ecx, ecx
    jne .gp
    mov [ebx + kvm_vcpu.regs + VCPU_REGS_EAX], eax
    mov [ebx + kvm_vcpu.regs + VCPU_REGS_EDX], edx
    mov eax, ebx
    call kvm_skip_emulated_instruction
    mov eax, 1
    pop ebx
    ret
.gp:
    mov eax, ebx
    call kvm_inject_gp
    mov eax, 1
    pop ebx
    ret

; handle_wrmsr — WRMSR: kvm_set_msr from the guest's ECX, EDX:EAX, or #GP
; (handle_wrmsr / kvm_emulate_wrmsr). eax = vcpu.
handle_wrmsr:
    push ebx
    mov ebx, eax
    mov edx, [ebx + kvm_vcpu.regs + VCPU_REGS_ECX]
    trace kvm_msr, edx
    call kvm_set_msr
    test eax, eax
    jne .gp
    mov eax, ebx
    call kvm_skip_emulated_instruction
    mov eax, 1
    pop ebx
    ret
.gp:
    mov eax, ebx
    call kvm_inject_gp
    mov eax, 1
    pop ebx
    ret

; kvm_get_msr — vCPU eax reads MSR edx: edx:eax = value, ecx = 0, or ecx = 1
; for #GP (kvm_get_msr_common + kvm_x2apic_msr_read)
kvm_get_msr:
    push ebx
    push esi
    mov ebx, eax
    lea esi, [ebx + kvm_vcpu.lapic]
    xor eax, eax
    cmp edx, IA32_TSC_DEADLINE
    je .deadline
    cmp edx, IA32_TIME_STAMP_COUNTER
    je .tsc
    cmp edx, IA32_APIC_BASE
    je .apic_base
    cmp edx, X2APIC_ISR0
    jb .reg
    cmp edx, X2APIC_ISR7
    jbe .isr
    cmp edx, X2APIC_IRR0
    jb .reg
    cmp edx, X2APIC_IRR7
    jbe .irr
.reg:
    cmp edx, X2APIC_ID
    je .id
    cmp edx, X2APIC_VERSION
    je .version
    cmp edx, X2APIC_TPR
    je .tpr
    cmp edx, X2APIC_PPR
    je .ppr
    cmp edx, X2APIC_LDR
    je .ldr
    cmp edx, X2APIC_SVR
    je .svr
    cmp edx, X2APIC_LVT_TIMER
    je .lvtt
    cmp edx, X2APIC_MSR_FIRST
    jb .gp
    cmp edx, X2APIC_MSR_LAST
    ja .gp
    jmp .ok                      ; the rest of the x2APIC window reads 0
.deadline:
    mov eax, [esi + kvm_lapic.lvt_timer]
    and eax, LVT_TIMER_MODE_MASK
    cmp eax, LVT_TIMER_TSC_DEADLINE
    mov eax, 0
    mov edx, 0
    jne .ok64
    mov eax, [esi + kvm_lapic.tscdeadline]
    mov edx, [esi + kvm_lapic.tscdeadline + 4]
    jmp .ok64
.tsc:
    rdtsc
    mov ecx, [ebx + kvm_vcpu.kvm]
    add eax, [ecx + kvm.tsc_offset]
    adc edx, [ecx + kvm.tsc_offset + 4]
    jmp .ok64
.apic_base:
    mov eax, APIC_DEFAULT_PHYS_BASE | APIC_GLOBAL_ENABLE | X2APIC_ENABLE
    cmp dword [ebx + kvm_vcpu.vcpu_id], 0
    jne .ok
    or eax, APIC_BSP
    jmp .ok
.isr:
    sub edx, X2APIC_ISR0
    mov eax, [esi + kvm_lapic.isr + edx*4]
    jmp .ok
.irr:
    sub edx, X2APIC_IRR0
    mov eax, [esi + kvm_lapic.irr + edx*4]
    jmp .ok
.id:
    mov eax, [ebx + kvm_vcpu.vcpu_id]
    jmp .ok
.version:
    mov eax, KVM_APIC_VERSION
    jmp .ok
.tpr:
    mov eax, [esi + kvm_lapic.tpr]
    jmp .ok
.ppr:
    mov eax, ebx
    call apic_ppr
    jmp .ok
.ldr:
    mov ecx, [ebx + kvm_vcpu.vcpu_id]    ; cluster (id >> 4) << 16 | 1 << (id & 15)
    and ecx, 15
    mov eax, 1
    shl eax, cl
    mov ecx, [ebx + kvm_vcpu.vcpu_id]
    shr ecx, 4
    shl ecx, 16
    or eax, ecx
    jmp .ok
.svr:
    mov eax, [esi + kvm_lapic.svr]
    jmp .ok
.lvtt:
    mov eax, [esi + kvm_lapic.lvt_timer]
.ok:
    xor edx, edx
.ok64:
    xor ecx, ecx
    pop esi
    pop ebx
    ret
.gp:
    mov ecx, 1
    pop esi
    pop ebx
    ret

; kvm_set_msr — vCPU eax writes its EDX:EAX (from its registers) to MSR edx;
; eax = 0, or 1 for #GP (kvm_set_msr_common + kvm_x2apic_msr_write)
kvm_set_msr:
    push ebx
    push esi
    mov ebx, eax
    lea esi, [ebx + kvm_vcpu.lapic]
    mov eax, [ebx + kvm_vcpu.regs + VCPU_REGS_EAX]
    mov ecx, [ebx + kvm_vcpu.regs + VCPU_REGS_EDX]
    cmp edx, IA32_TSC_DEADLINE
    je .deadline
    cmp edx, X2APIC_EOI
    je .eoi
    cmp edx, X2APIC_LVT_TIMER
    je .lvtt
    cmp edx, X2APIC_TPR
    je .tpr
    cmp edx, X2APIC_SVR
    je .svr
    cmp edx, X2APIC_SELF_IPI
    je .self_ipi
    cmp edx, X2APIC_ICR
    je .icr
    cmp edx, IA32_TIME_STAMP_COUNTER
    je .ok                       ; accepted, the guest's TSC stays as it is
    cmp edx, IA32_APIC_BASE
    je .ok                       ; x2APIC mode at the default base, whatever is written
    cmp edx, X2APIC_MSR_FIRST
    jb .gp
    cmp edx, X2APIC_MSR_LAST
    ja .gp
    jmp .ok                      ; ESR, TMICT, TDCR, other LVTs: accepted, no effect
.deadline:
    mov [esi + kvm_lapic.tscdeadline], eax
    mov [esi + kvm_lapic.tscdeadline + 4], ecx
    mov eax, ebx
    call kvm_lapic_start_timer
    jmp .ok
.eoi:
    mov eax, ebx
    call apic_set_eoi
    mov eax, ebx
    call kvm_vcpu_irq_deboost    ; co-scheduling: a lent interrupt boost ends
    jmp .ok
.lvtt:
    and eax, APIC_VECTOR_MASK | LVT_MASK | LVT_TIMER_MODE_MASK
    mov edx, [esi + kvm_lapic.lvt_timer]
    mov [esi + kvm_lapic.lvt_timer], eax
    xor edx, eax                 ; leaving or entering TSC-deadline mode disarms the timer
    test edx, LVT_TIMER_MODE_MASK
    je .ok
    mov dword [esi + kvm_lapic.tscdeadline], 0
    mov dword [esi + kvm_lapic.tscdeadline + 4], 0
    mov eax, ebx
    call kvm_lapic_start_timer
    jmp .ok
.tpr:
    and eax, 0xff
    mov [esi + kvm_lapic.tpr], eax
    jmp .ok
.svr:
    and eax, 0x3ff
    mov [esi + kvm_lapic.svr], eax
    test eax, SVR_ENABLE
    jne .ok
    or dword [esi + kvm_lapic.lvt_timer], LVT_MASK   ; software-disabled: LVTs masked
    jmp .ok
.self_ipi:
    mov edx, eax
    and edx, APIC_VECTOR_MASK
    mov eax, ebx
    call kvm_apic_set_irq
    jmp .ok
.icr:
    mov edx, eax
    and edx, ICR_DELIVERY_MODE_MASK
    jne .ok                      ; only fixed IPIs (no INIT/SIPI for vCPUs here)
    mov edx, eax
    and edx, ICR_SHORTHAND_MASK
    cmp edx, ICR_SELF
    je .self_ipi
    test edx, edx
    jne .ok                      ; broadcasts: not modelled
    cmp ecx, KVM_MAX_VCPUS       ; physical destination = vCPU index
    jae .ok
    mov edx, [ebx + kvm_vcpu.kvm]
    mov edx, [edx + kvm.vcpus + ecx*4]
    test edx, edx
    je .ok
    xchg eax, edx
    and edx, APIC_VECTOR_MASK
    call kvm_apic_set_irq
.ok:
    xor eax, eax
    pop esi
    pop ebx
    ret
.gp:
    mov eax, 1
    pop esi
    pop ebx
    ret
