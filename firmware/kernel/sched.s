; firmware/kernel/sched.s — the core scheduler: run-queue bookkeeping, wake-
; ups with placement by affinity and reschedule IPIs, wake-up preemption,
; __schedule/context switch, the scheduler tick and sched_setscheduler
; (Linux: kernel/sched/core.c; switch_to from arch/x86/kernel/entry_32.S).
;
; Locking: rq->lock with interrupts off; p->pi_lock before rq->lock. A task's
; cpu changes only while it is not on a run queue, under its pi_lock.
; rq->lock is held across the context switch and released by the next task
; (finish_task_switch), so a task that is off its rq is fully switched out.

.text

; sched_init — per-CPU run queues and idle tasks, the tunables in cycles
; (sched_init + init_idle + sched_init_granularity)
sched_init:
    push ebx
    push esi
    xor ebx, ebx
.cpu:
    mov esi, ebx
    CPU_RQ esi
    mov [esi + rq.cpu], ebx
    lea eax, [esi + rq.cfs + cfs_rq.tasks]
    call list_init
    mov eax, esi
    call init_rt_rq
    mov eax, ebx
    call init_idle
    mov [esi + rq.idle], eax
    mov [esi + rq.curr], eax
    inc ebx
    cmp ebx, NR_CPUS
    jb .cpu
    call sched_init_granularity
    pop esi
    pop ebx
    ret

; sched_init_granularity — the fair-class tunables, the tick period and the
; SCHED_RR slice in this machine's units (cycles, ticks)
sched_init_granularity:
    mov eax, SYSCTL_SCHED_LATENCY_US
    call usecs_to_cycles
    mov [sysctl_sched_latency], eax
    shr eax, 1                   ; GENTLE_FAIR_SLEEPERS: half a latency of credit
    mov [sched_sleeper_credit], eax
    mov eax, SYSCTL_SCHED_WAKEUP_GRANULARITY_US
    call usecs_to_cycles
    mov [sysctl_sched_wakeup_granularity], eax
    mov ecx, [BOOT_PARAMS + bp.tick_hz]
    test ecx, ecx
    je .tickless
    mov eax, [cpu_khz]
    mov edx, KHZ
    call mul_u32_div
    mov [tick_period], eax
    mov eax, [BOOT_PARAMS + bp.tick_hz]
    mov edx, RR_TIMESLICE_MS
    mov ecx, MSEC_PER_SEC
    call mul_u32_div
    test eax, eax
    jne .slice
    inc eax                      ; at least one tick
.slice:
    mov [sched_rr_timeslice], eax
.tickless:
    ret

; init_task_stack — task eax gets kernel stack slot edx: thread_info at the
; stack base, empty lists, its sleeper timer (dup_task_struct +
; sched_fork + hrtimer_init_sleeper)
init_task_stack:
    push ebx
    push esi
    mov ebx, eax
    mov esi, edx
    shl esi, THREAD_SHIFT
    add esi, KSTACK_AREA
    mov [ebx + task.stack], esi
    mov [esi + thread_info.task], ebx
    mov dword [esi + thread_info.need_resched], 0
    mov dword [esi + thread_info.preempt_count], 0
    mov dword [esi + thread_info.cpu], 0
    add esi, THREAD_STACK_TOP
    mov [ebx + task.sp], esi
    lea eax, [ebx + task.se_node]
    call list_init
    lea eax, [ebx + task.rt_run_list]
    call list_init
    lea eax, [ebx + task.sleeper]
    mov edx, hrtimer_wakeup
    call hrtimer_init
    pop esi
    pop ebx
    ret

; init_idle — set up the idle task of cpu eax (tasks[cpu]) and return it:
; pid 0, idle class, preemption disabled, bound to its CPU (init_idle)
init_idle:
    push ebx
    push esi
    mov esi, eax
    mov ebx, eax
    imul ebx, task.size
    add ebx, tasks
    mov eax, ebx
    mov edx, esi
    call init_task_stack
    mov eax, [ebx + task.stack]
    mov [eax + thread_info.cpu], esi
    mov dword [eax + thread_info.preempt_count], PREEMPT_DISABLED
    mov [ebx + task.cpu], esi
    mov dword [ebx + task.pid], 0
    mov dword [ebx + task.index], -1
    mov dword [ebx + task.state], TASK_RUNNING
    mov dword [ebx + task.sched_class], idle_sched_class
    mov dword [ebx + task.prio], MAX_PRIO
    mov dword [ebx + task.static_prio], MAX_PRIO
    mov dword [ebx + task.normal_prio], MAX_PRIO
    mov ecx, esi
    mov eax, 1
    shl eax, cl
    mov [ebx + task.cpus_allowed], eax
    mov eax, [idle_task_name]
    mov [ebx + task.name], eax
    mov eax, [idle_task_name + 4]
    mov [ebx + task.name + 4], eax
    mov eax, ebx
    pop esi
    pop ebx
    ret

; update_rq_clock — rq eax: clock = TSC (update_rq_clock)
update_rq_clock:
    push ebx
    mov ebx, eax
    rdtsc
    mov [ebx + rq.clock], eax
    mov [ebx + rq.clock + 4], edx
    pop ebx
    ret

; enqueue_task / dequeue_task — rq eax, task edx, flags ecx: through the
; task's class (enqueue_task / dequeue_task)
enqueue_task:
    push ebx
    mov ebx, [edx + task.sched_class]
    call [ebx + sched_class.enqueue_task]
    pop ebx
    ret
dequeue_task:
    push ebx
    mov ebx, [edx + task.sched_class]
    call [ebx + sched_class.dequeue_task]
    pop ebx
    ret

; activate_task / deactivate_task — put task edx on / take it off rq eax
; (flags ecx), keeping on_rq and nr_running (activate_task / deactivate_task)
activate_task:
    inc dword [eax + rq.nr_running]
    mov dword [edx + task.on_rq], 1
    jmp enqueue_task
deactivate_task:
    dec dword [eax + rq.nr_running]
    mov dword [edx + task.on_rq], 0
    jmp dequeue_task

; resched_curr — mark rq eax's current task need_resched; another CPU gets a
; reschedule IPI (resched_curr)
resched_curr:
    mov ecx, [eax + rq.curr]
    mov ecx, [ecx + task.stack]
    cmp dword [ecx + thread_info.need_resched], 0
    jne .done
    mov dword [ecx + thread_info.need_resched], 1
    mov eax, [eax + rq.cpu]
    SMP_PROCESSOR_ID edx
    cmp eax, edx
    je .done
    jmp smp_send_reschedule
.done:
    ret

; check_preempt_curr — task edx was queued on rq eax: reschedule if it
; belongs to a higher class than the current task, or its class says so
; (check_preempt_curr)
check_preempt_curr:
    push ebx
    push esi
    mov ecx, [eax + rq.curr]
    mov ebx, [edx + task.sched_class]
    mov esi, [ecx + task.sched_class]
    cmp ebx, esi
    je .same_class
    mov ecx, [ebx + sched_class.rank]
    cmp ecx, [esi + sched_class.rank]
    jae .done
    call resched_curr
    jmp .done
.same_class:
    call [ebx + sched_class.check_preempt_curr]
.done:
    pop esi
    pop ebx
    ret

; placement_cost — how bad a place cpu edx is for task eax right now, lower
; is better: for an RT task the priority headroom left (MAX_PRIO - the
; highest priority queued there), for a fair task the queued tasks, RT
; ones weighing RT_PLACEMENT_WEIGHT (cpupri / find_lowest_rq's role; read
; without the rq lock, as cpupri is)
placement_cost:
    push ebx
    mov ebx, edx
    CPU_RQ ebx
    cmp dword [eax + task.sched_class], rt_sched_class
    jne .fair
    mov eax, MAX_PRIO
    cmp dword [ebx + rq.cfs + cfs_rq.nr_running], 0
    je .rt
    mov eax, DEFAULT_PRIO
.rt:
    cmp dword [ebx + rq.rt + rt_rq.rt_nr_running], 0
    je .headroom
    lea eax, [ebx + rq.rt + rt_rq.bitmap]
    call sched_find_first_bit
.headroom:
    mov ecx, MAX_PRIO
    sub ecx, eax
    mov eax, ecx
    pop ebx
    ret
.fair:
    mov eax, [ebx + rq.rt + rt_rq.rt_nr_running]
    imul eax, RT_PLACEMENT_WEIGHT
    add eax, [ebx + rq.cfs + cfs_rq.nr_running]
    pop ebx
    ret
RT_PLACEMENT_WEIGHT = 64

; select_task_rq — the CPU to wake task eax on: the cheapest allowed online
; CPU (placement_cost), its previous CPU on a tie. Never outside
; cpus_allowed (select_task_rq + select_fallback_rq)
select_task_rq:
    push ebx
    push esi
    push edi
    push ebp
    mov esi, eax
    mov edi, [esi + task.cpus_allowed]
    and edi, [cpu_online_mask]
    jne .have_mask
    mov edi, [esi + task.cpus_allowed]   ; none online yet: still inside the mask
.have_mask:
    mov ebx, [esi + task.cpu]            ; best so far
    mov ecx, ebx
    mov eax, 1
    shl eax, cl
    test eax, edi
    jne .prev_allowed
    mov eax, edi
    call __ffs
    mov ebx, eax
.prev_allowed:
    mov eax, esi
    mov edx, ebx
    call placement_cost
    push eax                     ; [esp] = best cost
    xor ebp, ebp                 ; candidate cpu
.scan:
    cmp ebp, [nr_cpu_ids]
    jae .done
    mov ecx, ebp
    mov eax, 1
    shl eax, cl
    test eax, edi
    je .skip
    mov eax, esi
    mov edx, ebp
    call placement_cost
    cmp eax, [esp]
    jae .skip
    mov [esp], eax
    mov ebx, ebp
.skip:
    inc ebp
    jmp .scan
.done:
    add esp, 4
    mov eax, ebx
    pop ebp
    pop edi
    pop esi
    pop ebx
    ret

; set_task_cpu — move sleeping task eax to cpu edx; a fair task's vruntime
; keeps its distance to min_vruntime (set_task_cpu + migrate_task_rq_fair)
set_task_cpu:
    push ebx
    push esi
    mov ebx, eax
    mov esi, edx
    cmp dword [ebx + task.sched_class], fair_sched_class
    jne .set
    mov ecx, [ebx + task.cpu]
    CPU_RQ ecx
    mov eax, [ebx + task.se_vruntime]
    mov edx, [ebx + task.se_vruntime + 4]
    sub eax, [ecx + rq.cfs + cfs_rq.min_vruntime]
    sbb edx, [ecx + rq.cfs + cfs_rq.min_vruntime + 4]
    mov ecx, esi
    CPU_RQ ecx
    add eax, [ecx + rq.cfs + cfs_rq.min_vruntime]
    adc edx, [ecx + rq.cfs + cfs_rq.min_vruntime + 4]
    mov [ebx + task.se_vruntime], eax
    mov [ebx + task.se_vruntime + 4], edx
.set:
    mov [ebx + task.cpu], esi
    mov eax, [ebx + task.stack]
    mov [eax + thread_info.cpu], esi
    mov eax, [ebx + task.pid]
    trace sched_migrate_task, eax
    pop esi
    pop ebx
    ret

; ttwu_do_wakeup — task edx on rq eax becomes runnable: preempt the current
; task if it should, TASK_RUNNING, the sched_wakeup event (ttwu_do_wakeup)
ttwu_do_wakeup:
    push ebx
    mov ebx, edx
    call check_preempt_curr
    mov dword [ebx + task.state], TASK_RUNNING
    mov eax, [ebx + task.pid]
    trace sched_wakeup, eax
    pop ebx
    ret

; try_to_wake_up — wake task eax if its state is in mask edx; eax = 1 if it
; was woken. A task still on its rq only becomes TASK_RUNNING; otherwise it
; is placed (select_task_rq), queued and may preempt there — on another CPU
; through the reschedule IPI, on this one at once if preemptible
; (try_to_wake_up)
try_to_wake_up:
    push ebx
    push esi
    push edi
    push ebp
    mov esi, eax
    mov ebp, edx
    xor edi, edi
    LOCAL_IRQ_SAVE
    lea eax, [esi + task.pi_lock]
    call raw_spin_lock
    test [esi + task.state], ebp
    je .unlock_pi
    mov ebx, [esi + task.cpu]
    CPU_RQ ebx
    mov eax, ebx
    call raw_spin_lock
    cmp dword [esi + task.on_rq], 0
    je .not_queued
    mov eax, ebx                 ; ttwu_remote: still queued, just runnable again
    mov edx, esi
    call ttwu_do_wakeup
    jmp .unlock_rq
.not_queued:
    mov eax, ebx
    call raw_spin_unlock
    mov eax, esi
    mov edx, ENQUEUE_WAKEUP
    call ttwu_queue
    mov ebx, eax
.unlock_rq:
    mov edi, 1
    mov eax, ebx
    call raw_spin_unlock
.unlock_pi:
    lea eax, [esi + task.pi_lock]
    call raw_spin_unlock
    LOCAL_IRQ_RESTORE
    test edi, edi
    je .done
    call preempt_check_resched
.done:
    mov eax, edi
    pop ebp
    pop edi
    pop esi
    pop ebx
    ret

; ttwu_queue — place task eax on a CPU it may run on (select_task_rq,
; set_task_cpu), activate it there with enqueue flags edx and run the
; wake-up preemption check; returns that CPU's rq in eax, locked
; (ttwu_queue + ttwu_do_activate, shared with wake_up_new_task)
ttwu_queue:
    push ebx
    push esi
    push edi
    mov esi, eax
    mov edi, edx
    call select_task_rq
    cmp eax, [esi + task.cpu]
    je .queue
    mov edx, eax
    mov eax, esi
    call set_task_cpu
.queue:
    mov ebx, [esi + task.cpu]
    CPU_RQ ebx
    mov eax, ebx
    call raw_spin_lock
    mov eax, ebx
    call update_rq_clock
    mov eax, ebx
    mov edx, esi
    mov ecx, edi
    call activate_task
    mov eax, ebx
    mov edx, esi
    call ttwu_do_wakeup
    mov eax, ebx
    pop edi
    pop esi
    pop ebx
    ret

; wake_up_process — try_to_wake_up(eax, TASK_NORMAL)
wake_up_process:
    mov edx, TASK_NORMAL
    jmp try_to_wake_up

; wake_up_new_task — first wake-up of a new task eax: placed like any
; wake-up, a fair task starts at min_vruntime (wake_up_new_task)
wake_up_new_task:
    push ebx
    push esi
    mov esi, eax
    LOCAL_IRQ_SAVE
    lea eax, [esi + task.pi_lock]
    call raw_spin_lock
    mov dword [esi + task.state], TASK_RUNNING
    mov eax, esi
    mov edx, ENQUEUE_NEW
    call ttwu_queue
    call raw_spin_unlock
    lea eax, [esi + task.pi_lock]
    call raw_spin_unlock
    LOCAL_IRQ_RESTORE
    call preempt_check_resched
    pop esi
    pop ebx
    ret

; pick_next_task — the first task any class offers, rt before fair before
; idle (pick_next_task). rq in eax.
pick_next_task:
    push ebx
    push esi
    mov esi, eax
    mov ebx, rt_sched_class
.class:
    mov eax, esi
    call [ebx + sched_class.pick_next_task]
    test eax, eax
    jne .done
    mov ebx, [ebx + sched_class.next]
    jmp .class
.done:
    pop esi
    pop ebx
    ret

; __schedule — pick the next task of this CPU and switch to it. eax = 1 for
; a preemption (the task stays queued whatever its state), 0 for a
; voluntary call (a task that is not TASK_RUNNING leaves the rq). Interrupts
; are off inside and restored on return (__schedule).
__schedule:
    push ebx
    push esi
    push edi
    push ebp
    LOCAL_IRQ_SAVE
    mov ebp, eax
    THIS_RQ ebx
    GET_CURRENT esi
    mov eax, ebx
    call raw_spin_lock
    mov eax, ebx
    call update_rq_clock
    test ebp, ebp
    jne .keep
    cmp dword [esi + task.state], TASK_RUNNING
    je .keep
    mov eax, ebx
    mov edx, esi
    mov ecx, DEQUEUE_SLEEP
    call deactivate_task
.keep:
    mov eax, [esi + task.stack]
    mov dword [eax + thread_info.need_resched], 0
    mov eax, ebx
    mov edx, esi
    mov ecx, [esi + task.sched_class]
    call [ecx + sched_class.put_prev_task]
    mov eax, ebx
    call pick_next_task
    cmp eax, esi
    je .same
    mov edi, eax
    mov [ebx + rq.curr], edi
    inc dword [ebx + rq.nr_switches]
    lea eax, [esi + task.nvcsw]
    test ebp, ebp
    je .count
    lea eax, [esi + task.nivcsw]
.count:
    inc dword [eax]
    mov eax, [edi + task.pid]
    trace sched_switch, eax
    mov eax, edi                 ; the platform's hook sees the next task (a
    call [sched_switch_hook]     ; guest's co-scheduling boost, paper §4.2);
    mov eax, esi                 ; may clobber eax, ecx, edx only
    mov edx, edi
    call switch_to
    call finish_task_switch      ; now in the next task; eax = the previous one
    jmp .done
.same:
    mov eax, ebx
    call raw_spin_unlock
.done:
    LOCAL_IRQ_RESTORE
    pop ebp
    pop edi
    pop esi
    pop ebx
    ret

; sched_no_hook — the default of sched_switch_hook and irq_exit_hook: nothing
sched_no_hook:
    ret

; switch_to — save prev (eax)'s callee-saved registers and stack pointer,
; load next (edx)'s, return into next with eax = prev (__switch_to_asm)
switch_to:
    push ebp
    push ebx
    push esi
    push edi
    mov [eax + task.sp], esp
    mov esp, [edx + task.sp]
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

; finish_task_switch — first thing a task does after being switched in:
; release this CPU's rq lock taken by the switch's other side
; (finish_task_switch / schedule_tail). eax = the previous task.
finish_task_switch:
    THIS_RQ eax
    jmp raw_spin_unlock          ; rq.lock is at offset 0

; ret_from_fork — where a new task starts (its first switch_to returns
; here): finish the switch, enable interrupts, call fn (ebx) with arg (esi),
; exit if it returns (ret_from_fork / kthread)
ret_from_fork:
    call finish_task_switch
    sti
    mov eax, esi
    call ebx
    jmp do_exit

; do_exit — the current task ends: TASK_DEAD, never scheduled again (do_exit)
do_exit:
    GET_CURRENT ebx
    mov dword [ebx + task.state], TASK_DEAD
    call schedule
    ud2                          ; not reached

; schedule — give up the CPU (schedule): __schedule(0) until no reschedule
; is pending
schedule:
    xor eax, eax
    call __schedule
    GET_THREAD_INFO eax
    cmp dword [eax + thread_info.need_resched], 0
    jne schedule
    ret

; preempt_schedule_irq — preemption from ret_from_intr, interrupts off
; (preempt_schedule_irq)
preempt_schedule_irq:
    mov eax, 1
    call __schedule
    GET_THREAD_INFO eax
    cmp dword [eax + thread_info.need_resched], 0
    jne preempt_schedule_irq
    ret

; preempt_check_resched — after a wake-up in task context: preempt now if a
; reschedule is pending, preemption is enabled and interrupts are on
; (preempt_check_resched / preempt_enable -> preempt_schedule)
preempt_check_resched:
    GET_THREAD_INFO eax
    cmp dword [eax + thread_info.need_resched], 0
    je .done
    cmp dword [eax + thread_info.preempt_count], 0
    jne .done
    pushfd
    pop ecx
    test ecx, X86_EFLAGS_IF
    je .done
    mov eax, 1
    call __schedule
    jmp preempt_check_resched
.done:
    ret

; scheduler_tick — the tick's share of the scheduler: the running task's
; class accounts time and may ask for a reschedule (scheduler_tick)
scheduler_tick:
    push ebx
    THIS_RQ ebx
    mov eax, ebx
    call raw_spin_lock
    mov eax, ebx
    call update_rq_clock
    mov edx, [ebx + rq.curr]
    mov ecx, [edx + task.sched_class]
    mov eax, ebx
    call [ecx + sched_class.task_tick]
    mov eax, ebx
    call raw_spin_unlock
    pop ebx
    ret

; valid_policy — eax = 0 if policy eax with rt priority edx is valid, else
; -EINVAL (the checks of __sched_setscheduler)
valid_policy:
    cmp eax, SCHED_OTHER
    je .other
    cmp eax, SCHED_FIFO
    je .rt
    cmp eax, SCHED_RR
    jne .invalid
.rt:
    cmp edx, 1
    jl .invalid
    cmp edx, MAX_USER_RT_PRIO - 1
    jg .invalid
    xor eax, eax
    ret
.other:
    test edx, edx
    jne .invalid
    xor eax, eax
    ret
.invalid:
    mov eax, -EINVAL
    ret

; __setscheduler — task eax gets policy edx, rt priority ecx: prio,
; normal_prio, class, load weight or RR slice (__setscheduler +
; __setscheduler_params + set_load_weight). Outside the fair class a task
; keeps its vruntime relative to min_vruntime (0 for a new task), as
; Linux's non-sleep dequeue_entity / enqueue_entity normalise it: a task
; leaving the fair class (already dequeued and charged) keeps its lead or
; lag over its rq, and re-enters at min_vruntime + that, so a thread
; boosted and deboosted often (co-scheduling) is not forgiven its fair
; runtime each time.
__setscheduler:
    push ebx
    mov ebx, eax
    mov [ebx + task.policy], edx
    mov [ebx + task.rt_priority], ecx
    cmp edx, SCHED_OTHER
    je .fair
    cmp dword [ebx + task.sched_class], fair_sched_class
    jne .set_rt
    mov edx, [ebx + task.cpu]    ; leaving the fair class: vruntime -= min_vruntime
    CPU_RQ edx
    mov eax, [edx + rq.cfs + cfs_rq.min_vruntime]
    sub [ebx + task.se_vruntime], eax
    mov eax, [edx + rq.cfs + cfs_rq.min_vruntime + 4]
    sbb [ebx + task.se_vruntime + 4], eax
.set_rt:
    mov eax, MAX_RT_PRIO - 1
    sub eax, ecx
    mov [ebx + task.normal_prio], eax
    mov [ebx + task.prio], eax
    mov dword [ebx + task.sched_class], rt_sched_class
    mov eax, [sched_rr_timeslice]
    mov [ebx + task.rt_time_slice], eax
    pop ebx
    ret
.fair:
    cmp dword [ebx + task.sched_class], fair_sched_class
    je .weight
    mov dword [ebx + task.sched_class], fair_sched_class
    mov ecx, [ebx + task.cpu]    ; entering it: vruntime += min_vruntime
    CPU_RQ ecx
    mov eax, [ebx + task.se_vruntime]
    mov edx, [ebx + task.se_vruntime + 4]
    add eax, [ecx + rq.cfs + cfs_rq.min_vruntime]
    adc edx, [ecx + rq.cfs + cfs_rq.min_vruntime + 4]
    mov [ebx + task.se_vruntime], eax
    mov [ebx + task.se_vruntime + 4], edx
.weight:
    mov eax, [ebx + task.static_prio]
    mov [ebx + task.normal_prio], eax
    mov [ebx + task.prio], eax
    mov eax, [sched_prio_to_weight + eax*4 - MAX_RT_PRIO*4]
    mov [ebx + task.se_load_weight], eax
    pop ebx
    ret

; sched_setscheduler — set task eax's policy edx and rt priority ecx; eax =
; 0 or -EINVAL. A queued task is re-queued in its new class; a running task
; that lost priority is rescheduled, a queued one may preempt
; (sched_setscheduler -> __sched_setscheduler)
sched_setscheduler:
    push ebx
    push esi
    push edi
    push ebp
    mov esi, eax
    mov edi, edx
    mov ebp, ecx
    mov eax, edi
    mov edx, ebp
    call valid_policy
    test eax, eax
    jne .out
    LOCAL_IRQ_SAVE
    lea eax, [esi + task.pi_lock]
    call raw_spin_lock
    mov ebx, [esi + task.cpu]
    CPU_RQ ebx
    mov eax, ebx
    call raw_spin_lock
    mov eax, ebx
    call update_rq_clock
    push dword [esi + task.prio]         ; SETSCHED_OLDPRIO
    push dword [esi + task.on_rq]        ; SETSCHED_QUEUED
    xor eax, eax
    cmp [ebx + rq.curr], esi
    sete al
    push eax                             ; SETSCHED_RUNNING
    cmp dword [esp + SETSCHED_QUEUED], 0
    je .not_queued
    mov eax, ebx
    mov edx, esi
    xor ecx, ecx
    call dequeue_task
.not_queued:
    cmp dword [esp + SETSCHED_RUNNING], 0
    je .set
    mov eax, ebx
    mov edx, esi
    mov ecx, [esi + task.sched_class]
    call [ecx + sched_class.put_prev_task]
.set:
    mov eax, esi
    mov edx, edi
    mov ecx, ebp
    call __setscheduler
    mov eax, [esi + task.pid]
    trace sched_setscheduler, eax
    cmp dword [esp + SETSCHED_RUNNING], 0
    je .requeue
    mov eax, ebx
    mov edx, esi
    mov ecx, [esi + task.sched_class]
    call [ecx + sched_class.set_curr_task]
.requeue:
    cmp dword [esp + SETSCHED_QUEUED], 0
    je .unlock
    mov eax, ebx
    mov edx, esi
    xor ecx, ecx
    call enqueue_task
    cmp dword [esp + SETSCHED_RUNNING], 0
    je .queued_elsewhere
    mov eax, [esi + task.prio]           ; running: reschedule if it lost priority
    cmp eax, [esp + SETSCHED_OLDPRIO]
    jle .unlock
    mov eax, ebx
    call resched_curr
    jmp .unlock
.queued_elsewhere:
    mov eax, ebx
    mov edx, esi
    call check_preempt_curr
.unlock:
    add esp, SETSCHED_FRAME
    mov eax, ebx
    call raw_spin_unlock
    lea eax, [esi + task.pi_lock]
    call raw_spin_unlock
    LOCAL_IRQ_RESTORE
    call preempt_check_resched
    xor eax, eax
.out:
    pop ebp
    pop edi
    pop esi
    pop ebx
    ret
SETSCHED_RUNNING = 0
SETSCHED_QUEUED  = 4
SETSCHED_OLDPRIO = 8
SETSCHED_FRAME   = 12

.rodata
idle_task_name: .asciz "swapper"
.align 4
; sched_prio_to_weight (kernel/sched/core.c): nice -20 .. 19
sched_prio_to_weight:
    .long 88761, 71755, 56483, 46273, 36291
    .long 29154, 23254, 18705, 14949, 11916
    .long 9548, 7620, 6100, 4904, 3906
    .long 3121, 2501, 1991, 1586, 1277
    .long 1024, 820, 655, 526, 423
    .long 335, 272, 215, 172, 137
    .long 110, 87, 70, 56, 45
    .long 36, 29, 23, 18, 15

.data
.align 4
; sched_switch_hook — called by __schedule with the next task in eax before
; switching to it (rq lock held, interrupts off); a paravirtual guest
; installs its co-scheduling boost here (guests/gpos/cosched.s). Default: none
sched_switch_hook:              .long sched_no_hook
cpu_khz:                        .long 0
sysctl_sched_latency:           .long 0   ; cycles
sysctl_sched_wakeup_granularity: .long 0  ; cycles
sched_sleeper_credit:           .long 0   ; cycles a waking task may lag min_vruntime
sched_rr_timeslice:             .long 0   ; ticks (0: no tick, no RR slicing)

.bss
.align 16
runqueues: .space NR_CPUS * rq.size
tasks:     .space NR_TASKS * task.size
