; firmware/kernel/hrtimer.s — high-resolution timers: one queue per CPU,
; sorted by expiry (absolute TSC cycles), the earliest programmed into
; IA32_TSC_DEADLINE; the timer interrupt runs the expired callbacks; the
; periodic tick is a per-CPU hrtimer that re-arms itself; sleeping on an
; hrtimer (Linux: kernel/time/hrtimer.c, tick-sched.c,
; arch/x86/kernel/apic/apic.c). The queue is a sorted list where Linux
; keeps a timerqueue (rbtree); a struct hrtimer starts with its list node.

.text

; hrtimers_init — an empty queue per CPU (hrtimers_init / hrtimers_prepare_cpu)
hrtimers_init:
    push ebx
    xor ebx, ebx
.cpu:
    mov eax, ebx
    CPU_HRTIMER_BASE eax
    mov [eax + hrtimer_cpu_base.cpu], ebx
    add eax, hrtimer_cpu_base.active
    call list_init
    mov eax, ebx                 ; the soft timers ktimersoftd has yet to run
    CPU_HRTIMER_BASE eax
    add eax, hrtimer_cpu_base.softirq_expired
    call list_init
    inc ebx
    cmp ebx, NR_CPUS
    jb .cpu
    pop ebx
    ret

; hrtimer_init — timer eax, callback edx: inactive, on no queue (hrtimer_init;
; the callback is fn(timer in eax) -> HRTIMER_RESTART/HRTIMER_NORESTART)
hrtimer_init:
    mov [eax + hrtimer.function], edx
    mov dword [eax + hrtimer.state], HRTIMER_STATE_INACTIVE
    mov dword [eax + hrtimer.base], 0
    mov dword [eax + hrtimer.mode], HRTIMER_MODE_HARD
    jmp list_init                ; the node is at offset 0

; hrtimer_init_soft — as hrtimer_init, for a soft timer: under PREEMPT_RT
; its callback runs in ktimersoftd (hrtimer_init with HRTIMER_MODE_SOFT)
hrtimer_init_soft:
    push eax
    call hrtimer_init
    pop eax
    mov dword [eax + hrtimer.mode], HRTIMER_MODE_SOFT
    ret

; enqueue_hrtimer — insert timer edx into base eax in expiry order (after
; timers with the same expiry); eax = 1 if it is now the first. Base locked.
enqueue_hrtimer:
    push ebx
    push esi
    push edi
    mov ebx, eax
    mov esi, edx
    lea edi, [ebx + hrtimer_cpu_base.active]
    mov ecx, [edi + list.next]
.walk:
    cmp ecx, edi
    je .insert
    mov eax, [esi + hrtimer.expires]
    mov edx, [esi + hrtimer.expires + 4]
    sub eax, [ecx + hrtimer.expires]
    sbb edx, [ecx + hrtimer.expires + 4]
    jb .insert                   ; the new one expires first: before ecx
    mov ecx, [ecx + list.next]
    jmp .walk
.insert:
    mov eax, esi
    mov edx, ecx
    call list_add_tail
    mov [esi + hrtimer.base], ebx
    mov dword [esi + hrtimer.state], HRTIMER_STATE_ENQUEUED
    xor eax, eax
    cmp [ebx + hrtimer_cpu_base.active + list.next], esi
    sete al
    pop edi
    pop esi
    pop ebx
    ret

; __remove_hrtimer — unlink timer eax and give it state edx. Base locked.
__remove_hrtimer:
    push edx
    push eax
    call list_del_init
    pop eax
    pop edx
    mov [eax + hrtimer.state], edx
    ret

; hrtimer_program_next — program this CPU's IA32_TSC_DEADLINE with the
; first expiry of base eax (0 = none: disarm), unless it already holds it
; (hrtimer_force_reprogram -> tick_program_event). Base locked.
hrtimer_program_next:
    push ebx
    mov ebx, eax
    mov ecx, [ebx + hrtimer_cpu_base.active + list.next]
    lea eax, [ebx + hrtimer_cpu_base.active]
    cmp ecx, eax
    mov eax, 0
    mov edx, 0
    je .compare
    mov eax, [ecx + hrtimer.expires]
    mov edx, [ecx + hrtimer.expires + 4]
.compare:
    cmp eax, [ebx + hrtimer_cpu_base.expires_next]
    jne .program
    cmp edx, [ebx + hrtimer_cpu_base.expires_next + 4]
    je .done
.program:
    mov [ebx + hrtimer_cpu_base.expires_next], eax
    mov [ebx + hrtimer_cpu_base.expires_next + 4], edx
    call lapic_next_deadline
.done:
    pop ebx
    ret

; lock_hrtimer_base — lock the base timer eax is queued on and return it
; (0 if on none), re-checking that the timer did not move meanwhile
; (lock_hrtimer_base). Interrupts off.
lock_hrtimer_base:
    push ebx
    push esi
    mov esi, eax
.again:
    mov ebx, [esi + hrtimer.base]
    test ebx, ebx
    je .none
    mov eax, ebx
    call raw_spin_lock
    cmp ebx, [esi + hrtimer.base]
    je .none
    mov eax, ebx
    call raw_spin_unlock
    jmp .again
.none:
    mov eax, ebx
    pop esi
    pop ebx
    ret

; hrtimer_start — (re)arm timer eax to expire at TSC edx (low), ecx (high)
; on this CPU's queue, reprogramming the deadline if it became the first
; (hrtimer_start with HRTIMER_MODE_ABS)
hrtimer_start:
    push ebx
    push esi
    push edi
    push ebp
    mov esi, eax
    mov ebp, edx
    mov edi, ecx
    LOCAL_IRQ_SAVE
    mov eax, esi
    call lock_hrtimer_base
    test eax, eax
    je .enqueue
    mov ebx, eax
    cmp dword [esi + hrtimer.state], HRTIMER_STATE_ENQUEUED
    jne .unlock_old
    mov eax, esi
    mov edx, HRTIMER_STATE_INACTIVE
    call __remove_hrtimer
.unlock_old:
    mov eax, ebx
    call raw_spin_unlock
.enqueue:
    mov [esi + hrtimer.expires], ebp
    mov [esi + hrtimer.expires + 4], edi
    SMP_PROCESSOR_ID ebx
    CPU_HRTIMER_BASE ebx
    mov eax, ebx
    call raw_spin_lock
    mov eax, ebx
    mov edx, esi
    call enqueue_hrtimer
    trace hrtimer_start, esi
    test eax, eax
    je .unlock
    mov eax, ebx
    call hrtimer_program_next
.unlock:
    mov eax, ebx
    call raw_spin_unlock
    LOCAL_IRQ_RESTORE
    pop ebp
    pop edi
    pop esi
    pop ebx
    ret

; hrtimer_try_to_cancel — dequeue timer eax: 1 if it was queued, 0 if it
; was inactive, -1 if its callback is running (hrtimer_try_to_cancel). The
; deadline is left as it is: an early interrupt finds nothing to run.
hrtimer_try_to_cancel:
    push ebx
    push esi
    push edi
    mov esi, eax
    xor edi, edi
    LOCAL_IRQ_SAVE
    mov eax, esi
    call lock_hrtimer_base
    test eax, eax
    je .restore
    mov ebx, eax
    mov eax, [esi + hrtimer.state]
    cmp eax, HRTIMER_STATE_CALLBACK
    jne .queued
    mov edi, -1
    jmp .unlock
.queued:
    cmp eax, HRTIMER_STATE_ENQUEUED
    jne .unlock
    mov eax, esi
    mov edx, HRTIMER_STATE_INACTIVE
    call __remove_hrtimer
    trace hrtimer_cancel, esi
    mov edi, 1
.unlock:
    mov eax, ebx
    call raw_spin_unlock
.restore:
    LOCAL_IRQ_RESTORE
    mov eax, edi
    pop edi
    pop esi
    pop ebx
    ret

; hrtimer_cancel — cancel timer eax, waiting for a running callback to end
; (hrtimer_cancel); eax = 1 if it was queued
hrtimer_cancel:
    push ebx
    mov ebx, eax
.retry:
    mov eax, ebx
    call hrtimer_try_to_cancel
    cmp eax, 0
    jge .done
    pause
    jmp .retry
.done:
    pop ebx
    ret

; smp_apic_timer_interrupt — LOCAL_TIMER_VECTOR: ack, run the expired
; hrtimers (smp_apic_timer_interrupt -> local_apic_timer_interrupt ->
; hrtimer_interrupt). eax = pt_regs, edx = vector.
smp_apic_timer_interrupt:
    trace local_timer_entry, edx
    push edx
    call apic_eoi
    call hrtimer_interrupt
    pop edx
    trace local_timer_exit, edx
    ret

; hrtimer_interrupt — run every timer of this CPU whose expiry has passed,
; in expiry order, each callback without the base lock; re-queue those that
; return HRTIMER_RESTART; program the next deadline (hrtimer_interrupt +
; __hrtimer_run_queues + __run_hrtimer)
hrtimer_interrupt:
    push ebx
    push esi
    push edi
    SMP_PROCESSOR_ID ebx
    CPU_HRTIMER_BASE ebx
    mov eax, ebx
    call raw_spin_lock
    inc dword [ebx + hrtimer_cpu_base.nr_events]
    mov dword [ebx + hrtimer_cpu_base.expires_next], 0   ; the deadline has fired
    mov dword [ebx + hrtimer_cpu_base.expires_next + 4], 0
.next:
    mov esi, [ebx + hrtimer_cpu_base.active + list.next]
    lea eax, [ebx + hrtimer_cpu_base.active]
    cmp esi, eax
    je .done
    rdtsc
    sub eax, [esi + hrtimer.expires]
    sbb edx, [esi + hrtimer.expires + 4]
    jb .done                     ; the first one is still in the future
    cmp dword [esi + hrtimer.mode], HRTIMER_MODE_SOFT
    jne .hard
    cmp dword [ebx + hrtimer_cpu_base.softd], 0
    je .hard                     ; no ktimersoftd here: run it now
    mov eax, esi                 ; soft: hand it to ktimersoftd, still ENQUEUED
    call list_del_init           ; (__hrtimer_run_queues(HRTIMER_ACTIVE_HARD) +
    mov eax, esi                 ;  raise_softirq_irqoff(HRTIMER_SOFTIRQ))
    lea edx, [ebx + hrtimer_cpu_base.softirq_expired]
    call list_add_tail
    jmp .next
.hard:
    mov eax, esi
    mov edx, HRTIMER_STATE_CALLBACK
    call __remove_hrtimer
    mov eax, ebx
    call raw_spin_unlock
    trace hrtimer_expire_entry, esi
    mov eax, esi
    call [esi + hrtimer.function]
    mov edi, eax
    trace hrtimer_expire_exit, esi
    mov eax, ebx
    call raw_spin_lock
    cmp dword [esi + hrtimer.state], HRTIMER_STATE_CALLBACK
    jne .next                    ; re-armed meanwhile (hrtimer_start from the callback)
    cmp edi, HRTIMER_RESTART
    je .restart
    mov dword [esi + hrtimer.state], HRTIMER_STATE_INACTIVE
    jmp .next
.restart:
    mov eax, ebx
    mov edx, esi
    call enqueue_hrtimer
    jmp .next
.done:
    mov eax, ebx
    call hrtimer_program_next
    mov eax, ebx
    call raw_spin_unlock
    lea eax, [ebx + hrtimer_cpu_base.softirq_expired]
    cmp [eax + list.next], eax
    je .no_soft
    mov eax, [ebx + hrtimer_cpu_base.softd]
    call wake_up_process         ; wakeup_softirqd
.no_soft:
    pop edi
    pop esi
    pop ebx
    ret

; hrtimer_softd — THREAD_HRTIMER (ktimersoftd/N under PREEMPT_RT, at its
; table priority, e.g. the paper's 99): registers as the ktimersoftd of
; the CPU it first runs on (give it one CPU of affinity, as Linux binds
; ktimersoftd/N), then runs the soft timers hrtimer_interrupt hands over,
; like the interrupt does, and sleeps when there are none
; (run_ksoftirqd -> hrtimer_run_softirq -> __hrtimer_run_queues(SOFT)).
; Under PREEMPT_NONE it does not register: soft timers stay in the interrupt.
hrtimer_softd:
    SMP_PROCESSOR_ID ebx
    CPU_HRTIMER_BASE ebx
    GET_CURRENT ebp
    cmp dword [BOOT_PARAMS + bp.preempt_model], PREEMPT_RT
    jne sleeper_thread
    mov [ebx + hrtimer_cpu_base.softd], ebp
.loop:
    cli
    mov eax, ebx
    call raw_spin_lock
    mov esi, [ebx + hrtimer_cpu_base.softirq_expired + list.next]
    lea eax, [ebx + hrtimer_cpu_base.softirq_expired]
    cmp esi, eax
    jne .run
    mov dword [ebp + task.state], TASK_INTERRUPTIBLE
    mov eax, ebx
    call raw_spin_unlock
    sti
    call schedule
    jmp .loop
.run:
    mov eax, esi
    mov edx, HRTIMER_STATE_CALLBACK
    call __remove_hrtimer
    mov eax, ebx
    call raw_spin_unlock
    sti
    trace hrtimer_expire_entry, esi
    mov eax, esi
    call [esi + hrtimer.function]
    mov edi, eax
    trace hrtimer_expire_exit, esi
    cli
    mov eax, ebx
    call raw_spin_lock
    cmp dword [esi + hrtimer.state], HRTIMER_STATE_CALLBACK
    jne .unlock                  ; re-armed meanwhile
    cmp edi, HRTIMER_RESTART
    je .restart
    mov dword [esi + hrtimer.state], HRTIMER_STATE_INACTIVE
    jmp .unlock
.restart:
    mov eax, ebx
    mov edx, esi
    call enqueue_hrtimer
    test eax, eax
    je .unlock
    mov eax, ebx
    call hrtimer_program_next
.unlock:
    mov eax, ebx
    call raw_spin_unlock
    sti
    jmp .loop

; hrtimer_forward_now — push timer eax's expiry forward by interval edx
; until it lies in the future (hrtimer_forward_now)
hrtimer_forward_now:
    push ebx
    push esi
    mov ebx, eax
    mov esi, edx
.forward:
    add [ebx + hrtimer.expires], esi
    adc dword [ebx + hrtimer.expires + 4], 0
    rdtsc
    sub eax, [ebx + hrtimer.expires]
    sbb edx, [ebx + hrtimer.expires + 4]
    jae .forward                 ; now >= expires: one more period
    pop esi
    pop ebx
    ret

; tick_setup_sched_timer — start this CPU's periodic tick if bp.tick_hz > 0
; (tick_setup_sched_timer: the tick as an hrtimer)
tick_setup_sched_timer:
    push ebx
    mov ecx, [tick_period]
    test ecx, ecx
    je .done
    SMP_PROCESSOR_ID ebx
    CPU_HRTIMER_BASE ebx
    mov [ebx + hrtimer_cpu_base.tick_period], ecx
    lea eax, [ebx + hrtimer_cpu_base.tick]
    mov edx, tick_sched_timer
    call hrtimer_init
    rdtsc
    add eax, [ebx + hrtimer_cpu_base.tick_period]
    adc edx, 0
    mov ecx, edx
    mov edx, eax
    lea eax, [ebx + hrtimer_cpu_base.tick]
    call hrtimer_start
.done:
    pop ebx
    ret

; tick_sched_timer — the tick's callback, timer in eax: forward by one
; period, scheduler_tick, restart (tick_sched_timer -> tick_sched_handle ->
; update_process_times -> scheduler_tick)
tick_sched_timer:
    mov edx, [eax + hrtimer_cpu_base.tick_period - hrtimer_cpu_base.tick]
    call hrtimer_forward_now
    call scheduler_tick
    mov eax, HRTIMER_RESTART
    ret

; hrtimer_wakeup — a sleeper's callback, timer in eax: clear its task and
; wake it (hrtimer_wakeup)
hrtimer_wakeup:
    mov edx, [eax + hrtimer.task]
    mov dword [eax + hrtimer.task], 0
    test edx, edx
    je .done
    mov eax, edx
    call wake_up_process
.done:
    mov eax, HRTIMER_NORESTART
    ret

; hrtimer_nanosleep_abs — sleep until the TSC reaches edx:eax (do_nanosleep
; with HRTIMER_MODE_ABS, clock_nanosleep(TIMER_ABSTIME)), on current's
; hrtimer_sleeper
hrtimer_nanosleep_abs:
    push ebx
    push esi
    push edi
    mov esi, eax
    mov edi, edx
    GET_CURRENT ebx
    lea eax, [ebx + task.sleeper]
    mov edx, hrtimer_wakeup
    call hrtimer_init
    mov [ebx + task.sleeper + hrtimer.task], ebx
.sleep:
    mov dword [ebx + task.state], TASK_INTERRUPTIBLE
    lea eax, [ebx + task.sleeper]
    mov edx, esi
    mov ecx, edi
    call hrtimer_start
    cmp dword [ebx + task.sleeper + hrtimer.task], 0
    je .expired
    call schedule
.expired:
    lea eax, [ebx + task.sleeper]
    call hrtimer_cancel
    cmp dword [ebx + task.sleeper + hrtimer.task], 0
    jne .sleep                   ; woken early: sleep again
    mov dword [ebx + task.state], TASK_RUNNING
    pop edi
    pop esi
    pop ebx
    ret

; hrtimer_nanosleep_us — sleep eax µs from now (nanosleep, relative)
hrtimer_nanosleep_us:
    call usecs_to_cycles
    push eax
    rdtsc
    pop ecx
    add eax, ecx
    adc edx, 0
    jmp hrtimer_nanosleep_abs

.data
.align 4
tick_period: .long 0             ; cycles between ticks (0: tickless)

.bss
.align 16
hrtimer_bases: .space NR_CPUS * hrtimer_cpu_base.size
