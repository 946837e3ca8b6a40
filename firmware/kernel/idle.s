; firmware/kernel/idle.s — the idle class and the idle loop (Linux:
; kernel/sched/idle.c, arch/x86/kernel/process.c). Each CPU's idle task
; (pid 0) runs when nothing else can: `sti; hlt` until an interrupt, with
; the cpu_idle tracepoint around the halt.

.text

; cpu_startup_entry — this CPU's boot code becomes its idle task (cpu_startup_entry)
cpu_startup_entry:
    sti
    ; fall through

; do_idle — the idle loop: reschedule when asked, else halt with interrupts
; enabled (the STI shadow closes the check-then-halt window) (do_idle +
; default_idle), or in ACPI C3 with bp.acpi_processor (acpi_idle_enter)
do_idle:
    cli
    GET_THREAD_INFO ebx
    cmp dword [ebx + thread_info.need_resched], 0
    jne .resched
    cmp dword [BOOT_PARAMS + bp.acpi_processor], 0
    jne .acpi
    mov eax, CPU_IDLE_HLT
    trace cpu_idle, eax
    sti
    hlt
.exit:
    mov eax, PWR_EVENT_EXIT
    trace cpu_idle, eax
    jmp do_idle
.resched:
    sti
    call schedule                ; schedule_idle
    jmp do_idle
; with bp.acpi_processor: enter C3 by reading the processor block's P_LVL3
; (the CPU sleeps until an interrupt and pays the C3 exit latency on
; wake-up), in the STI shadow like hlt (acpi_idle_enter -> acpi_idle_do_entry:
; inb(cx->address))
.acpi:
    mov eax, CPU_IDLE_C3
    trace cpu_idle, eax
    mov edx, ACPI_PBLK_PORT + ACPI_P_LVL3
    sti
    in al, dx
    jmp .exit

; check_preempt_curr_idle — anything preempts the idle task (check_preempt_curr_idle)
check_preempt_curr_idle:
    jmp resched_curr

; pick_next_task_idle — the idle task of rq eax (pick_next_task_idle)
pick_next_task_idle:
    mov eax, [eax + rq.idle]
    ret

; the idle task is never queued, charged or rotated
idle_nop:
    ret

.data
.align 4
; idle_sched_class (kernel/sched/idle.c)
idle_sched_class:
    .long 0                      ; next: the end of the chain
    .long idle_nop               ; enqueue_task
    .long idle_nop               ; dequeue_task
    .long check_preempt_curr_idle
    .long pick_next_task_idle
    .long idle_nop               ; put_prev_task
    .long idle_nop               ; set_curr_task
    .long idle_nop               ; task_tick
    .long SCHED_CLASS_RANK_IDLE
