; guests/rtos/load.s — work for the kernel besides the IRT benchmark:
; non-real-time background tasks that load the CPU (paper §5.5: CPU load in
; the RTOS next to the real-time task), and a taskDelay self-test.

LOAD_UNITS       = 100          ; WORK units per loop (one load_loops count)
DELAY_TEST_PRIO  = 50
TEST_TASK_STACK  = 4096

.text
; load_task(index) — tLoadN: a CPU hog. WORK consumes LOAD_UNITS units of
; rtos_params.load_work cycles each and takes interrupts between units, so
; it delays an interrupt by at most one unit; it never blocks, so it only
; runs when no task of a higher priority is ready (and, without round
; robin, only the first of equal-priority hogs runs — VxWorks' default).
load_task:
    mov ebx, [esp + 4]
    mov edx, [RTOS_PARAMS + rtos_params.load_work]
.loop:
    mov ecx, LOAD_UNITS
    work edx
    inc dword [load_loops + ebx*4]
    jmp .loop

; load_start — spawn rtos_params.load_tasks hogs at rtos_params.load_prio
load_start:
    push ebx
    xor ebx, ebx
.next:
    cmp ebx, [RTOS_PARAMS + rtos_params.load_tasks]
    jae .done
    push ebx
    push load_task
    push TEST_TASK_STACK
    push 0
    push dword [RTOS_PARAMS + rtos_params.load_prio]
    push name_load
    call taskSpawn
    add esp, 24
    inc ebx
    jmp .next
.done:
    pop ebx
    ret

; delay_test_task(arg) — tDelay: taskDelay(delay_ticks) delay_loops times;
; log the ticks (tickGet) and guest TSC cycles each delay took, then report
; to usrRoot through bench_done_sem
delay_test_task:
.next:
    mov eax, [delay_count]
    cmp eax, [RTOS_PARAMS + rtos_params.delay_loops]
    jae .done
    cli                         ; tick count and TSC read together
    mov ebx, [vx_ticks]
    rdtsc
    mov esi, eax
    sti
    push dword [RTOS_PARAMS + rtos_params.delay_ticks]
    call taskDelay
    add esp, 4
    cli
    mov ecx, [vx_ticks]
    rdtsc
    sti
    sub ecx, ebx
    sub eax, esi
    mov edx, [delay_count]
    mov [delay_ticks_log + edx*4], ecx
    mov [delay_cycles_log + edx*4], eax
    inc dword [delay_count]
    jmp .next
.done:
    push dword [bench_done_sem]
    call semGive
    add esp, 4
    ret

; delay_test_start — spawn tDelay if the self-test is configured; eax = 1
; if it was (one more benchmark for usrRoot to wait for)
delay_test_start:
    xor eax, eax
    cmp dword [RTOS_PARAMS + rtos_params.delay_ticks], 0
    je .done
    cmp dword [RTOS_PARAMS + rtos_params.delay_loops], 0
    je .done
    push 0
    push delay_test_task
    push TEST_TASK_STACK
    push 0
    push DELAY_TEST_PRIO
    push name_delay
    call taskSpawn
    add esp, 24
    mov eax, 1
.done:
    ret

.rodata
name_load:  .asciz "tLoad"
name_delay: .asciz "tDelay"

.data
.align 4
delay_count: .long 0

.bss
.align 4
load_loops:       .space RTOS_MAX_LOAD * 4
delay_ticks_log:  .space RTOS_DELAY_LOG_MAX * 4
delay_cycles_log: .space RTOS_DELAY_LOG_MAX * 4
