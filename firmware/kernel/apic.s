; firmware/kernel/apic.s — the local APIC in x2APIC mode: set-up, EOI, IPIs
; and the TSC-deadline timer (Linux: arch/x86/kernel/apic/apic.c,
; x2apic_phys.c).

.text

; setup_local_APIC — software-enable this CPU's APIC with the spurious
; vector and put its timer in TSC-deadline mode on LOCAL_TIMER_VECTOR
; (setup_local_APIC + setup_APIC_timer with lapic_timer_tsc_deadline)
setup_local_APIC:
    mov ecx, X2APIC_SVR
    xor edx, edx
    mov eax, SVR_ENABLE | SPURIOUS_APIC_VECTOR
    wrmsr
    mov ecx, X2APIC_LVT_TIMER
    mov eax, LVT_TIMER_TSC_DEADLINE | LOCAL_TIMER_VECTOR
    wrmsr
    ret

; apic_eoi — end of interrupt (x2APIC EOI MSR, write 0) (apic_eoi / ack_APIC_irq)
apic_eoi:
    mov ecx, X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    ret

; lapic_next_deadline — IA32_TSC_DEADLINE = edx:eax; 0 disarms
; (lapic_next_deadline)
lapic_next_deadline:
    mov ecx, IA32_TSC_DEADLINE
    wrmsr
    ret

; x2apic_send_IPI — fixed IPI with vector edx to the CPU whose APIC ID is
; eax (physical destination mode: ICR bits 63:32) (x2apic_send_IPI)
x2apic_send_IPI:
    mov ecx, X2APIC_ICR
    xchg eax, edx
    wrmsr
    ret

; read_apic_id — this CPU's x2APIC ID in eax (read_apic_id)
read_apic_id:
    mov ecx, X2APIC_ID
    rdmsr
    ret
