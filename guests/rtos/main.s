; guests/rtos/main.s — a VxWorks 5.5-like RTOS (the "wind" kernel) for the
; real-time guest, with the paper's interrupt-response-time benchmark
; (§5.4), background load (§5.5) and the co-scheduling hooks (§4.2).
;
;   main.s     boot (sysInit, kernelInit), usrRoot, the summary
;   sched.s    TCBs, ready/pend/delay queues, context switch, idle loop
;   task.s     taskSpawn, taskDelay, taskExit (taskLib)
;   sem.s      binary and counting semaphores (semLib)
;   intr.s     vector stubs, intConnect, intEnt/intExit
;   clock.s    system clock tick + one-shot aux clock on the TSC-deadline timer
;   cosched.s  hc_boost / hc_deboost (boost_vcpu_priority, deboost_priority)
;   stats.s    latency statistics (min/avg/max, 1-µs histogram, sample log)
;   irt.s      the IRT benchmark and the dispatch-latency task
;   load.s     CPU-load tasks, the taskDelay self-test
;   params.s   the parameter block (generated from src/guests/rtos-params.ts)
;
; It runs in VMX non-root mode: the hypervisor (firmware/hv-demo) enters it
; at 0x1000 with interrupts off; COM1, the x2APIC MSRs and VMCALL exit to
; it. The scenario's settings are in the parameter block at RTOS_PARAMS,
; written by the emulator before launch (the built-in defaults are used
; when there is none); the results stay in memory at known symbols
; (irt_stats, dispatch_stats, ...) and are printed once everything is done,
; followed by the VMXSIM_HC_DONE hypercall.
.base 0x1000

ROOT_PRIO       = 0             ; tRootTask: VxWorks' usrRoot runs at 0
ROOT_STACK      = 4096

; PUTS msg — print the string at msg (console.s puts), esi preserved
.macro PUTS msg
    push esi
    mov esi, \msg
    call puts
    pop esi
.endm

.text
; sysInit — the entry point (VxWorks sysInit/usrInit → kernelInit): a
; stack, the parameter block, interrupts, the timer; then the root task
_start:
    mov esp, kernel_stack_top
    cmp dword [RTOS_PARAMS + rtos_params.magic], RTOS_PARAMS_MAGIC
    je .params_ok
    xor ecx, ecx                ; no block written: the built-in defaults
.copy:
    mov eax, [rtos_default_params + ecx]
    mov [RTOS_PARAMS + ecx], eax
    add ecx, 4
    cmp ecx, rtos_params.size
    jb .copy
.params_ok:
    call intr_init
    mov ecx, X2APIC_SVR         ; software-enable the (virtual) local APIC
    mov eax, SVR_ENABLE | 0xff
    xor edx, edx
    wrmsr
    call clk_init
    push 0
    push usrRoot
    push ROOT_STACK
    push 0
    push ROOT_PRIO
    push name_root
    call taskSpawn
    add esp, 24
    jmp reschedule              ; kernelInit's last act: run the root task

; usrRoot(arg) — tRootTask: start the system clock, the load, the
; benchmarks; wait for the benchmarks; print the summary; tell the host
; (VxWorks usrConfig.c: usrRoot)
usrRoot:
    push ebx
    mov esi, msg_boot
    call puts
    push dword [RTOS_PARAMS + rtos_params.tick_hz]
    call sysClkRateSet
    add esp, 4
    push 0
    push SEM_Q_FIFO
    call semCCreate
    add esp, 8
    mov [bench_done_sem], eax
    call load_start
    xor ebx, ebx                ; benchmarks to wait for
    call delay_test_start
    add ebx, eax
    cmp dword [RTOS_PARAMS + rtos_params.irt_enable], 0
    je .wait
    call irt_start
    inc ebx
.wait:
    test ebx, ebx
    je .idle                    ; nothing to measure: just keep running
.more:
    push WAIT_FOREVER
    push dword [bench_done_sem]
    call semTake
    add esp, 8
    dec ebx
    jne .more
    call summary
    mov dword [rtos_done], 1
    mov eax, VMXSIM_HC_DONE
    xor ebx, ebx
    vmcall
.idle:
    pop ebx
    ret                         ; the root task ends (taskExit)

; summary — the results on the console (after the measurements)
summary:
    cmp dword [RTOS_PARAMS + rtos_params.irt_enable], 0
    je .delay
    mov esi, irt_stats
    mov edi, name_stat_irt
    call lat_print
    cmp dword [RTOS_PARAMS + rtos_params.irt_wake_task], 0
    je .delay
    mov esi, dispatch_stats
    mov edi, name_stat_dispatch
    call lat_print
.delay:
    cmp dword [delay_count], 0
    je .cosched
    PUTS msg_delay
    mov eax, [RTOS_PARAMS + rtos_params.delay_ticks]
    call putdec
    PUTS msg_delay_ticks
    xor ebx, ebx
.tick:
    mov eax, ' '
    call serial_putc
    mov eax, [delay_ticks_log + ebx*4]
    call putdec
    inc ebx
    cmp ebx, [delay_count]
    jb .tick
    PUTS msg_nl
.cosched:
    cmp dword [RTOS_PARAMS + rtos_params.cosched], 0
    je .load
    PUTS msg_cosched
    mov eax, [cosched_boosts]
    call putdec
    PUTS msg_boosts
    mov eax, [cosched_deboosts]
    call putdec
    PUTS msg_deboosts
.load:
    cmp dword [RTOS_PARAMS + rtos_params.load_tasks], 0
    je .done
    PUTS msg_load
    xor ebx, ebx
.loops:
    mov eax, ' '
    call serial_putc
    mov eax, [load_loops + ebx*4]
    call putdec
    inc ebx
    cmp ebx, [RTOS_PARAMS + rtos_params.load_tasks]
    jb .loops
    PUTS msg_nl
.done:
    ret

.include "params.s"
.include "sched.s"
.include "task.s"
.include "sem.s"
.include "intr.s"
.include "clock.s"
.include "cosched.s"
.include "stats.s"
.include "irt.s"
.include "load.s"
.include "../../firmware/lib/console.s"
.include "../../firmware/lib/idt.s"

.rodata
name_root:          .asciz "tRootTask"
name_stat_irt:      .asciz "IRT "
name_stat_dispatch: .asciz "dispatch "
msg_boot:           .asciz "rtos: wind kernel up\n"
msg_delay:          .asciz "rtos: taskDelay("
msg_delay_ticks:    .asciz ") elapsed ticks:"
msg_cosched:        .asciz "rtos: co-scheduling: "
msg_boosts:         .asciz " boosts, "
msg_deboosts:       .asciz " deboosts\n"
msg_load:           .asciz "rtos: load loops:"

.data
.align 4
bench_done_sem: .long 0         ; a counting semaphore: one give per finished benchmark
rtos_done:      .long 0         ; 1 when the summary was printed
