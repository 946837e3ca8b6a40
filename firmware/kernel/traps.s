; firmware/kernel/traps.s — the IDT, the entry stubs of all 256 vectors, the
; common interrupt path with its one return path (ret_from_intr, where a
; pending reschedule preempts the interrupted task), and the fatal-exception
; report (Linux: arch/x86/kernel/idt.c, traps.c, entry_32.S, irq.c).

; pt_regs — the frame on the interrupted task's stack: common_interrupt's
; pushes, then what the stub pushed, then what the CPU pushed (a flat ring-0
; machine pushes no CS/SS)
.struct pt_regs
    .field ebp, 4
    .field edi, 4
    .field esi, 4
    .field ebx, 4
    .field edx, 4
    .field ecx, 4
    .field eax, 4
    .field vector, 4
    .field error_code, 4         ; the CPU's, or 0 pushed by the stub
    .field eip, 4
    .field eflags, 4
.ends

; VECTOR_STUB v — one STUB_SIZE slot: push a dummy error code unless the CPU
; pushes one (SDM Table 6-1), push the vector, go to common_interrupt
.macro VECTOR_STUB v
.align STUB_SIZE
    .if ((\v) == VEC_DF) || ((\v) >= VEC_TS && (\v) <= VEC_PF) || ((\v) == VEC_AC)
    .else
    push 0
    .endif
    push \v
    jmp common_interrupt
.endm

.macro VECTOR_STUBS16 base
    VECTOR_STUB (\base + 0)
    VECTOR_STUB (\base + 1)
    VECTOR_STUB (\base + 2)
    VECTOR_STUB (\base + 3)
    VECTOR_STUB (\base + 4)
    VECTOR_STUB (\base + 5)
    VECTOR_STUB (\base + 6)
    VECTOR_STUB (\base + 7)
    VECTOR_STUB (\base + 8)
    VECTOR_STUB (\base + 9)
    VECTOR_STUB (\base + 10)
    VECTOR_STUB (\base + 11)
    VECTOR_STUB (\base + 12)
    VECTOR_STUB (\base + 13)
    VECTOR_STUB (\base + 14)
    VECTOR_STUB (\base + 15)
.endm

.text

; trap_init — every IDT gate to its stub (interrupt gates: handlers run with
; IF = 0), the system vectors' handlers, device vectors to do_IRQ, LIDT
; (trap_init + idt_setup_apic_and_irq_gates)
trap_init:
    xor ecx, ecx
.gate:
    mov eax, ecx
    shl eax, STUB_SHIFT
    add eax, vector_stubs
    mov [idt_table + ecx*8], eax
    mov dword [idt_table + ecx*8 + 4], IDT_INTERRUPT_GATE
    mov dword [interrupt_handlers + ecx*4], unexpected_interrupt
    inc ecx
    cmp ecx, NR_VECTORS
    jb .gate
    xor ecx, ecx
.device:
    mov dword [interrupt_handlers + IRQ0_VECTOR*4 + ecx*4], do_IRQ
    inc ecx
    cmp ecx, BP_IRQS
    jb .device
    mov dword [interrupt_handlers + LOCAL_TIMER_VECTOR*4], smp_apic_timer_interrupt
    mov dword [interrupt_handlers + RESCHEDULE_VECTOR*4], smp_reschedule_interrupt
    mov dword [interrupt_handlers + SPURIOUS_APIC_VECTOR*4], smp_spurious_interrupt
    lidt [idt_descr]
    ret

; common_interrupt — SAVE_ALL, then exceptions to do_trap, interrupts to
; their handler (eax = pt_regs, edx = vector) between irq_enter and irq_exit
; (HARDIRQ_OFFSET in preempt_count), then ret_from_intr
common_interrupt:
    push eax
    push ecx
    push edx
    push ebx
    push esi
    push edi
    push ebp
    mov eax, esp
    mov edx, [esp + pt_regs.vector]
    cmp edx, FIRST_EXTERNAL_VECTOR
    jb do_trap
    GET_THREAD_INFO ebx
    add dword [ebx + thread_info.preempt_count], HARDIRQ_OFFSET
    call [interrupt_handlers + edx*4]
    sub dword [ebx + thread_info.preempt_count], HARDIRQ_OFFSET
    call [irq_exit_hook]         ; the platform's interrupt-exit hook (a guest's deboost)
    ; fall through

; ret_from_intr — the one interrupt-return path: if the interrupted context
; had interrupts on and preemption enabled and a reschedule is pending,
; preempt_schedule_irq (entry_32.S: resume_kernel / need_resched)
ret_from_intr:
    test dword [esp + pt_regs.eflags], X86_EFLAGS_IF
    je restore_all
    cmp dword [ebx + thread_info.preempt_count], 0
    jne restore_all
    cmp dword [ebx + thread_info.need_resched], 0
    je restore_all
    call preempt_schedule_irq
restore_all:
    pop ebp
    pop edi
    pop esi
    pop ebx
    pop edx
    pop ecx
    pop eax
    add esp, 8                   ; vector and error code
    iret

; do_trap — a CPU exception in the kernel: report vector, EIP, error code,
; CPU and task, then panic with exit code EXIT_PANIC + vector (die() /
; oops_end(); this kernel has no fixups and no user mode, so every
; exception is fatal). eax = pt_regs, edx = vector.
do_trap:
    mov esi, eax
    mov edi, edx
    mov dword [oops_in_progress], 1
    GET_CURRENT ebx
    push dword [ebx + task.pid]
    lea eax, [ebx + task.name]
    push eax
    SMP_PROCESSOR_ID eax
    push eax
    push dword [esi + pt_regs.error_code]
    push dword [esi + pt_regs.eip]
    mov eax, msg_vector_unknown
    cmp edi, EXCEPTION_NAMES
    jae .named
    mov eax, [exception_names + edi*4]
.named:
    push eax
    push edi
    push msg_exception
    call printk
    add esp, 32
    mov eax, msg_fatal_exception
    lea edx, [edi + EXIT_PANIC]
    jmp panic

; unexpected_interrupt — a vector nobody asked for: report it and EOI
; (Linux: "do_IRQ: %d.%d No irq handler for vector")
unexpected_interrupt:
    push edx
    SMP_PROCESSOR_ID eax
    push eax
    push msg_unexpected
    call printk
    add esp, 12
    jmp apic_eoi

; smp_spurious_interrupt — the APIC's spurious vector: no EOI (SDM 10.9)
smp_spurious_interrupt:
    inc dword [irq_spurious_count]
    ret

.align STUB_SIZE
vector_stubs:
    VECTOR_STUBS16 0x00
    VECTOR_STUBS16 0x10
    VECTOR_STUBS16 0x20
    VECTOR_STUBS16 0x30
    VECTOR_STUBS16 0x40
    VECTOR_STUBS16 0x50
    VECTOR_STUBS16 0x60
    VECTOR_STUBS16 0x70
    VECTOR_STUBS16 0x80
    VECTOR_STUBS16 0x90
    VECTOR_STUBS16 0xa0
    VECTOR_STUBS16 0xb0
    VECTOR_STUBS16 0xc0
    VECTOR_STUBS16 0xd0
    VECTOR_STUBS16 0xe0
    VECTOR_STUBS16 0xf0

.rodata
msg_exception:      .asciz "\nkernel: exception %u (%s) at eip 0x%x, error code 0x%x, cpu %u, task %s (pid %u)\n"
msg_fatal_exception: .asciz "Fatal exception"
msg_unexpected:     .asciz "kernel: cpu %u: no handler for vector 0x%x\n"
msg_vector_unknown: .asciz "reserved"
exc_de: .asciz "#DE divide error"
exc_db: .asciz "#DB debug"
exc_nmi: .asciz "NMI"
exc_bp: .asciz "#BP breakpoint"
exc_of: .asciz "#OF overflow"
exc_br: .asciz "#BR bound range"
exc_ud: .asciz "#UD invalid opcode"
exc_nm: .asciz "#NM device not available"
exc_df: .asciz "#DF double fault"
exc_cso: .asciz "coprocessor segment overrun"
exc_ts: .asciz "#TS invalid TSS"
exc_np: .asciz "#NP segment not present"
exc_ss: .asciz "#SS stack fault"
exc_gp: .asciz "#GP general protection"
exc_pf: .asciz "#PF page fault"
exc_res: .asciz "reserved"
exc_mf: .asciz "#MF x87 error"
exc_ac: .asciz "#AC alignment check"
exc_mc: .asciz "#MC machine check"
.align 4
exception_names:
    .long exc_de, exc_db, exc_nmi, exc_bp, exc_of, exc_br, exc_ud, exc_nm
    .long exc_df, exc_cso, exc_ts, exc_np, exc_ss, exc_gp, exc_pf, exc_res
    .long exc_mf, exc_ac, exc_mc
EXCEPTION_NAMES = 19

.data
.align 8
idt_descr:
    .word NR_VECTORS * 8 - 1
    .long idt_table
.align 4
irq_spurious_count: .long 0
; irq_exit_hook — called at the end of every interrupt (ret_from_intr, before
; the preemption check; interrupts off, ebx = thread_info, must be kept); a
; paravirtual guest installs its co-scheduling deboost (guests/gpos/
; cosched.s). Default sched_no_hook: nothing
irq_exit_hook:      .long sched_no_hook

.bss
.align 16
idt_table:          .space NR_VECTORS * 8
interrupt_handlers: .space NR_VECTORS * 4
