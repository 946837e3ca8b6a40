; guests/rtos/irt.s — the interrupt-response-time benchmark of the paper's
; §5.4: the timer interrupt's response time on the guest RTOS, measured in
; the guest with RDTSC against the programmed deadline.
;
; Each sample: arm the auxiliary clock (clock.s) for D = now + interval on
; the virtual x2APIC's TSC-deadline timer; when it fires, the interrupt
; stub's RDTSC (intr.s: after only the two pushes that free eax/edx) is the
; arrival, and IRT = stamp - D. Optionally (irt_wake_task) the ISR also
; semGives a waiting task, whose first instruction after the wake-up reads
; the TSC again: task dispatch latency = that - D. Both go to statistics
; blocks in memory (stats.s: irt_stats, dispatch_stats); after irt_loops
; samples the benchmark reports to usrRoot through bench_done_sem.

IRT_TASK_STACK = 4096

.text
; irt_start — set up and arm the first deadline (called by usrRoot)
irt_start:
    push ebx
    mov esi, irt_stats
    call lat_init
    mov esi, dispatch_stats
    call lat_init
    ; interval in cycles = µs * kHz / 1000
    mov eax, [RTOS_PARAMS + rtos_params.irt_interval_us]
    mov ecx, [RTOS_PARAMS + rtos_params.tsc_khz]
    mul ecx
    mov ecx, 1000
    div ecx
    mov [irt_period], eax
    push 0
    push irt_isr
    call sysAuxClkConnect
    add esp, 8
    cmp dword [RTOS_PARAMS + rtos_params.irt_wake_task], 0
    je .arm
    push SEM_EMPTY
    push SEM_Q_PRIORITY
    call semBCreate
    add esp, 8
    mov [irt_sem], eax
    push 0
    push irt_task
    push IRT_TASK_STACK
    push 0
    push dword [RTOS_PARAMS + rtos_params.irt_task_prio]
    push name_irt
    call taskSpawn
    add esp, 24
.arm:
    call irt_arm
    pop ebx
    ret

; irt_arm — the next deadline: D = now + interval
irt_arm:
    mov eax, [irt_period]
    call clk_now_plus
    push edx
    push eax
    call auxClkStart
    add esp, 8
    ret

; irt_isr(arg) — the auxiliary clock's routine, in the timer ISR: record
; the sample, re-arm or finish, wake the measuring task
irt_isr:
    push esi
    mov eax, [intr_stamp]       ; IRT = arrival stamp - deadline
    mov edx, [intr_stamp + 4]
    sub eax, [clk_aux_expired]
    sbb edx, [clk_aux_expired + 4]
    mov esi, irt_stats
    call lat_record
    mov eax, [irt_stats + lat.count]
    cmp eax, [RTOS_PARAMS + rtos_params.irt_loops]
    jae .last
    call irt_arm
    jmp .wake
.last:
    mov dword [irt_finished], 1
    cmp dword [RTOS_PARAMS + rtos_params.irt_wake_task], 0
    jne .wake                   ; the task reports when it has seen the last one
    push dword [bench_done_sem]
    call semGive
    add esp, 4
    jmp .done
.wake:
    cmp dword [RTOS_PARAMS + rtos_params.irt_wake_task], 0
    je .done
    mov eax, [clk_aux_expired]
    mov [irt_wake_deadline], eax
    mov eax, [clk_aux_expired + 4]
    mov [irt_wake_deadline + 4], eax
    push dword [irt_sem]
    call semGive
    add esp, 4
.done:
    pop esi
    ret

; irt_task(arg) — tIrt: wait for the ISR's semGive, measure the dispatch
; latency at the first instruction after the wake-up
irt_task:
.wait:
    push WAIT_FOREVER
    push dword [irt_sem]
    call semTake
    rdtsc                       ; the task's first instruction after the wake-up
    add esp, 8
    sub eax, [irt_wake_deadline]
    sbb edx, [irt_wake_deadline + 4]
    mov esi, dispatch_stats
    call lat_record
    cmp dword [irt_finished], 0
    je .wait
    mov eax, [irt_sem]
    cmp dword [eax + sem.count], 0
    jne .wait                   ; one more give to consume
    push dword [bench_done_sem]
    call semGive
    add esp, 4
    ret

.rodata
name_irt: .asciz "tIrt"

.data
.align 4
irt_period:        .long 0      ; the interval in guest TSC cycles
irt_sem:           .long 0      ; tIrt waits here
irt_wake_deadline: .long 0, 0   ; the deadline of the sample tIrt measures
irt_finished:      .long 0
