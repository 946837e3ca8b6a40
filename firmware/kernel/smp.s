; firmware/kernel/smp.s — SMP bring-up with INIT + STARTUP IPIs, the AP
; trampoline and the reschedule IPI (Linux: arch/x86/kernel/smpboot.c,
; realmode/rm/trampoline_32.S, smp.c). CPU n has x2APIC ID n.

.text

; smp_init — boot every other CPU of bp.cpu_count, one after the other, and
; wait until each is online (smp_init -> do_boot_cpu ->
; wakeup_secondary_cpu_via_init)
smp_init:
    push ebx
    mov ebx, 1
.next:
    cmp ebx, [nr_cpu_ids]
    jae .done
    mov eax, ebx
    call do_boot_cpu
    inc ebx
    jmp .next
.done:
    pop ebx
    ret

; do_boot_cpu — INIT, STARTUP at ap_trampoline, then wait for cpu eax to
; set its bit in cpu_online_mask, at most AP_BOOT_TIMEOUT polls
do_boot_cpu:
    push ebx
    push esi
    mov ebx, eax
    mov ecx, X2APIC_ICR
    mov edx, ebx
    mov eax, ICR_INIT | ICR_LEVEL_ASSERT
    wrmsr
    mov eax, ICR_STARTUP | (ap_trampoline >> PAGE_SHIFT)
    wrmsr
    mov ecx, ebx
    mov esi, 1
    shl esi, cl
    mov ecx, AP_BOOT_TIMEOUT
.wait:
    test [cpu_online_mask], esi
    jne .online
    pause
    dec ecx
    jne .wait
    push ebx
    push msg_ap_timeout
    call printk
    add esp, 8
.online:
    pop esi
    pop ebx
    ret
AP_BOOT_TIMEOUT = 1000000        ; PAUSE polls (~4 ms at 2.67 GHz)

; start_secondary — an AP's C entry: IDT, local APIC, online, its tick, idle
; (start_secondary in smpboot.c). Runs on the AP's idle task stack.
start_secondary:
    lidt [idt_descr]
    call setup_local_APIC
    SMP_PROCESSOR_ID ebx
    mov ecx, ebx
    mov edx, 1
    shl edx, cl
    mov eax, cpu_online_mask
    call atomic_or
    call tick_setup_sched_timer
    jmp cpu_startup_entry

; smp_send_reschedule — the reschedule IPI to cpu eax (native_smp_send_reschedule)
smp_send_reschedule:
    mov edx, RESCHEDULE_VECTOR
    jmp x2apic_send_IPI

; smp_reschedule_interrupt — RESCHEDULE_VECTOR: nothing to do but EOI; the
; pending need_resched is acted on in ret_from_intr or the idle loop
; (smp_reschedule_interrupt -> scheduler_ipi)
smp_reschedule_interrupt:
    trace ipi_entry, edx
    push edx
    call apic_eoi
    pop edx
    trace ipi_exit, edx
    ret

; ap_trampoline — where a STARTUP IPI starts an AP (vector = address >> 12,
; so it is page aligned and below 1 MiB; Linux: trampoline_start). Stack:
; the top of this CPU's idle task stack (slot n = CPU n).
.align PAGE_SIZE
ap_trampoline:
    mov ecx, X2APIC_ID           ; no stack yet: read_apic_id inline
    rdmsr
    mov esp, eax
    imul esp, THREAD_SIZE
    add esp, KSTACK_AREA + THREAD_STACK_TOP
    jmp start_secondary
SIPI_MAX_VECTOR = 0xff
.if (ap_trampoline >> PAGE_SHIFT) > SIPI_MAX_VECTOR
.error "ap_trampoline must lie below 1 MiB: a STARTUP vector is 8 bits"
.endif

.rodata
msg_ap_timeout: .asciz "smpboot: CPU%u: not responding\n"

.data
.align 4
nr_cpu_ids:      .long 1
cpu_online_mask: .long 0
