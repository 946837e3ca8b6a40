; guests/rtos/clock.s — time: the system clock (VxWorks sysClkRateSet, the
; tick ISR sysClkInt and tickAnnounce, kernelTimeSlice's round robin) and a
; one-shot auxiliary clock (the IRT benchmark's deadline: the role of
; VxWorks' sysAuxClk), multiplexed on the one per-CPU timer — the virtual
; x2APIC timer in TSC-deadline mode on vector TIMER_VECTOR.
;
; The choice: multiplex, as Linux's clockevents/hrtimers do. Each clock
; keeps its own 64-bit deadline (guest TSC); the hardware always holds the
; earliest one (clk_program). The timer ISR serves the clock(s) whose
; deadline is the one the timer fired for — the auxiliary clock first,
; since it carries the measurement — and re-arms. A deadline that passed
; meanwhile (during the other clock's delivery or ISR) is not served early
; by that ISR: re-armed in the past it fires again at once and is taken
; when the first ISR is over — as two independent timers would behave, so
; each sample's IRT is from its own deadline to the ISR run for it. The
; tick keeps running during the IRT benchmark (taskDelay, round robin and
; co-scheduling deboosts at tick exits all work).
; Ticks are periodic without drift: deadline += period. With tick_hz = 0
; the tick is off and the timer serves the auxiliary clock alone.

TIMER_VECTOR = 0x20             ; the vector hv-demo injects for the guest's timer

.text
; clk_init — the LVT timer in TSC-deadline mode; connect the timer ISR
clk_init:
    mov ecx, X2APIC_LVT_TIMER
    mov eax, LVT_TIMER_TSC_DEADLINE | TIMER_VECTOR
    xor edx, edx
    wrmsr
    push 0
    push clk_int
    push TIMER_VECTOR
    call intConnect
    add esp, 12
    ret

; sysClkRateSet(ticksPerSecond) — (re)start the system clock at that rate,
; first tick one period from now; 0 stops it. (VxWorks sysLib)
sysClkRateSet:
    pushfd
    cli
    mov ecx, [esp + 8]
    mov [clk_rate], ecx
    xor eax, eax
    xor edx, edx
    test ecx, ecx
    je .set
    mov eax, [RTOS_PARAMS + rtos_params.tsc_khz]
    mov edx, 1000
    mul edx
    div ecx                     ; period = TSC Hz / rate
    mov [clk_tick_period], eax
    call clk_now_plus
.set:
    mov [clk_tick_dl], eax
    mov [clk_tick_dl + 4], edx
    call clk_program
    popfd
    mov eax, OK
    ret

; sysClkRateGet() — the system clock rate (VxWorks sysLib)
sysClkRateGet:
    mov eax, [clk_rate]
    ret

; auxClkStart(deadlineLo, deadlineHi) — arm the auxiliary clock once for
; that guest-TSC deadline; at expiry its routine runs in the timer ISR with
; the deadline in clk_aux_expired. (No exact VxWorks counterpart: sysAuxClk
; is periodic; the benchmark wants deadline = now + interval.)
auxClkStart:
    pushfd
    cli
    mov eax, [esp + 8]
    mov [clk_aux_dl], eax
    mov eax, [esp + 12]
    mov [clk_aux_dl + 4], eax
    cmp dword [clk_in_int], 0   ; the timer ISR programs on its way out
    jne .done
    call clk_program
.done:
    popfd
    ret

; sysAuxClkConnect(routine, arg) — what runs when the aux clock expires
sysAuxClkConnect:
    mov eax, [esp + 4]
    mov [clk_aux_routine], eax
    mov eax, [esp + 8]
    mov [clk_aux_arg], eax
    mov eax, OK
    ret

; clk_int(arg) — the timer ISR (connected to TIMER_VECTOR): serve the
; clocks that are due at the interrupt's arrival, then re-arm
clk_int:
    push esi
    mov dword [clk_in_int], 1
    mov eax, [clk_armed]        ; the deadline the timer fired for
    mov [clk_fired], eax
    mov eax, [clk_armed + 4]
    mov [clk_fired + 4], eax
    mov dword [clk_armed], 0    ; the TSC-deadline timer is one-shot: it is disarmed now
    mov dword [clk_armed + 4], 0
    mov esi, clk_aux_dl
    call clk_due
    test eax, eax
    je .tick
    mov eax, [clk_aux_dl]
    mov [clk_aux_expired], eax
    mov eax, [clk_aux_dl + 4]
    mov [clk_aux_expired + 4], eax
    mov dword [clk_aux_dl], 0
    mov dword [clk_aux_dl + 4], 0
    push dword [clk_aux_arg]
    call [clk_aux_routine]
    add esp, 4
.tick:
    mov esi, clk_tick_dl
    call clk_due
    test eax, eax
    je .program
    mov eax, [clk_tick_period]
    add [clk_tick_dl], eax      ; the next tick: no drift
    adc dword [clk_tick_dl + 4], 0
    call tick_announce          ; (sysClkInt → usrClock → tickAnnounce)
.program:
    mov dword [clk_in_int], 0
    call clk_program
    pop esi
    ret

; clk_due — eax = 1 if the 64-bit deadline at [esi] is armed (non-zero)
; and not after the deadline the timer fired for, else 0
clk_due:
    mov eax, [esi]
    or eax, [esi + 4]
    je .no
    mov eax, [esi + 4]
    cmp eax, [clk_fired + 4]
    jb .yes
    ja .no
    mov eax, [esi]
    cmp eax, [clk_fired]
    ja .no
.yes:
    mov eax, 1
    ret
.no:
    xor eax, eax
    ret

; clk_program — put the earliest armed deadline (0: none) into
; IA32_TSC_DEADLINE unless the timer already holds it. Interrupts locked.
; Clobbers eax, ecx, edx.
clk_program:
    mov eax, [clk_tick_dl]
    mov edx, [clk_tick_dl + 4]
    mov ecx, [clk_aux_dl]
    or ecx, [clk_aux_dl + 4]
    je .have                    ; no aux deadline: the tick's (or none)
    mov ecx, eax
    or ecx, edx
    je .aux                     ; no tick: the aux deadline
    cmp edx, [clk_aux_dl + 4]
    jb .have
    ja .aux
    cmp eax, [clk_aux_dl]
    jbe .have
.aux:
    mov eax, [clk_aux_dl]
    mov edx, [clk_aux_dl + 4]
.have:
    cmp eax, [clk_armed]
    jne .write
    cmp edx, [clk_armed + 4]
    je .done
.write:
    mov [clk_armed], eax
    mov [clk_armed + 4], edx
    mov ecx, IA32_TSC_DEADLINE
    wrmsr
.done:
    ret

; clk_now_plus — edx:eax = the TSC now + eax cycles
clk_now_plus:
    push ebx
    mov ebx, eax
    rdtsc
    add eax, ebx
    adc edx, 0
    pop ebx
    ret

; tick_announce — one system clock tick (VxWorks tickAnnounce): count it,
; ready the delayed tasks whose time has come, and charge the running task's
; round-robin slice. In the timer ISR. Clobbers eax, ecx, edx, esi.
tick_announce:
    push ebx
    inc dword [vx_ticks]
.wake:
    mov ebx, [delay_head]
    test ebx, ebx
    je .slice
    mov eax, [ebx + tcb.wake_tick]
    sub eax, [vx_ticks]
    jg .slice                   ; the earliest sleeper is not due yet
    mov eax, [ebx + tcb.qnext]
    mov [delay_head], eax
    mov dword [ebx + tcb.status], WIND_READY
    mov esi, ready_head
    call q_pri_put
    jmp .wake
.slice:
    mov ecx, [RTOS_PARAMS + rtos_params.time_slice]
    test ecx, ecx
    je .done                    ; round robin off (VxWorks' default)
    mov ebx, [task_current]
    test ebx, ebx
    je .done
    dec dword [ebx + tcb.slice]
    jg .done
    mov [ebx + tcb.slice], ecx  ; slice used up: behind its equals (intExit switches)
    mov esi, ready_head
    call q_remove
    mov esi, ready_head
    call q_pri_put
.done:
    pop ebx
    ret

.data
.align 4
clk_rate:        .long 0
clk_tick_period: .long 0        ; TSC cycles per tick
clk_tick_dl:     .long 0, 0     ; next tick (0: clock off)
clk_aux_dl:      .long 0, 0     ; the aux clock's deadline (0: not armed)
clk_aux_expired: .long 0, 0     ; the deadline that just expired (for its routine)
clk_aux_routine: .long intr_stray
clk_aux_arg:     .long 0
clk_armed:       .long 0, 0     ; what IA32_TSC_DEADLINE holds
clk_fired:       .long 0, 0     ; in clk_int: the deadline it fired for
clk_in_int:      .long 0
