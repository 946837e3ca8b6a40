; firmware/kernel/boot.s — start_kernel on the bootstrap processor (Linux:
; init/main.c start_kernel + rest_init, arch/x86/kernel/head_32.S). The
; BSP runs on the stack of CPU 0's idle task from the first instruction,
; so `current` is valid everywhere; at the end it becomes that idle task.

.text

; start_kernel — the image's entry point
start_kernel:
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
    call smp_init
    call [x86_init_irqs_intr_init]  ; init_IRQ, or a platform's replacement
    call kthreads_init
    push dword [cpu_online_mask]
    push msg_up
    call printk
    add esp, 8
    jmp cpu_startup_entry        ; rest_init: the boot task is CPU 0's idle task
.bad_params:
    mov eax, msg_bad_params
    mov edx, EXIT_BAD_BOOT_PARAMS
    jmp panic

.rodata
msg_banner:     .asciz "vmxsim kernel: %u CPUs, cpu_khz %u, tick %u Hz, %u threads\n"
msg_up:         .asciz "smp: CPUs online 0x%x; threads started\n"
msg_bad_params: .asciz "no valid boot-parameter block at BOOT_PARAMS"

.data
; x86_init.irqs.intr_init — the platform's interrupt-controller set-up
; (arch/x86/kernel/x86_init.c); a guest without an I/O APIC replaces it
x86_init_irqs_intr_init: .long init_IRQ
