; firmware/kernel/rt.s — the real-time class, SCHED_FIFO and SCHED_RR
; (Linux: kernel/sched/rt.c): a FIFO queue per priority and a bitmap of
; the non-empty ones; the running task stays at the head of its queue, so a
; preempted FIFO task resumes first. SCHED_RR rotates after
; sched_rr_timeslice ticks (RR_TIMESLICE, 100 ms) when a tick runs.

.text

; init_rt_rq — empty priority queues of rq eax (init_rt_rq)
init_rt_rq:
    push ebx
    push esi
    lea ebx, [eax + rq.rt + rt_rq.queue]
    xor esi, esi
.queue:
    lea eax, [ebx + esi*8]
    call list_init
    inc esi
    cmp esi, MAX_RT_PRIO
    jb .queue
    pop esi
    pop ebx
    ret

; rt_queue_head — eax = the queue of priority edx on rq eax
rt_queue_head:
    lea eax, [eax + rq.rt + rt_rq.queue + edx*8]
    ret

; update_curr_rt — charge rq eax's running RT task (update_curr_rt)
update_curr_rt:
    mov ecx, [eax + rq.curr]
    cmp dword [ecx + task.sched_class], rt_sched_class
    jne .done
    push ebx
    mov ebx, eax
    mov eax, [ebx + rq.clock]
    mov edx, [ebx + rq.clock + 4]
    sub eax, [ecx + task.se_exec_start]
    sbb edx, [ecx + task.se_exec_start + 4]
    add [ecx + task.se_sum_exec_runtime], eax
    adc [ecx + task.se_sum_exec_runtime + 4], edx
    mov eax, [ebx + rq.clock]
    mov [ecx + task.se_exec_start], eax
    mov eax, [ebx + rq.clock + 4]
    mov [ecx + task.se_exec_start + 4], eax
    pop ebx
.done:
    ret

; enqueue_task_rt — task edx to the tail of its priority's queue on rq eax
; (enqueue_task_rt -> __enqueue_rt_entity)
enqueue_task_rt:
    push ebx
    push esi
    mov ebx, eax
    mov esi, edx
    mov edx, [esi + task.prio]
    call rt_queue_head
    mov edx, eax
    lea eax, [esi + task.rt_run_list]
    call list_add_tail
    mov ecx, [esi + task.prio]   ; __set_bit(prio, bitmap)
    mov edx, ecx
    shr edx, BITS_PER_LONG_SHIFT
    mov eax, 1
    shl eax, cl
    or [ebx + rq.rt + rt_rq.bitmap + edx*4], eax
    inc dword [ebx + rq.rt + rt_rq.rt_nr_running]
    pop esi
    pop ebx
    ret

; dequeue_task_rt — task edx leaves its queue on rq eax; an emptied
; priority leaves the bitmap (dequeue_task_rt -> __dequeue_rt_entity)
dequeue_task_rt:
    push ebx
    push esi
    mov ebx, eax
    mov esi, edx
    call update_curr_rt
    lea eax, [esi + task.rt_run_list]
    call list_del_init
    dec dword [ebx + rq.rt + rt_rq.rt_nr_running]
    mov eax, ebx
    mov edx, [esi + task.prio]
    call rt_queue_head
    cmp [eax + list.next], eax
    jne .done
    mov ecx, [esi + task.prio]   ; __clear_bit(prio, bitmap)
    mov edx, ecx
    shr edx, BITS_PER_LONG_SHIFT
    mov eax, 1
    shl eax, cl
    not eax
    and [ebx + rq.rt + rt_rq.bitmap + edx*4], eax
.done:
    pop esi
    pop ebx
    ret

; pick_next_task_rt — head of the highest non-empty queue of rq eax, or 0
; (pick_next_task_rt -> pick_next_rt_entity)
pick_next_task_rt:
    cmp dword [eax + rq.rt + rt_rq.rt_nr_running], 0
    je .none
    push ebx
    mov ebx, eax
    lea eax, [ebx + rq.rt + rt_rq.bitmap]
    call sched_find_first_bit
    mov edx, eax
    mov eax, ebx
    call rt_queue_head
    mov eax, [eax + list.next]
    sub eax, task.rt_run_list
    mov edx, [ebx + rq.clock]
    mov [eax + task.se_exec_start], edx
    mov edx, [ebx + rq.clock + 4]
    mov [eax + task.se_exec_start + 4], edx
    pop ebx
    ret
.none:
    xor eax, eax
    ret

; put_prev_task_rt — the running RT task of rq eax stops running (put_prev_task_rt)
put_prev_task_rt:
    jmp update_curr_rt

; set_curr_task_rt — task edx becomes rq eax's running task (set_curr_task_rt)
set_curr_task_rt:
    mov ecx, [eax + rq.clock]
    mov [edx + task.se_exec_start], ecx
    mov ecx, [eax + rq.clock + 4]
    mov [edx + task.se_exec_start + 4], ecx
    ret

; check_preempt_curr_rt — RT task edx woke on rq eax running an RT task:
; preempt if strictly higher priority (check_preempt_curr_rt)
check_preempt_curr_rt:
    mov ecx, [eax + rq.curr]
    mov ecx, [ecx + task.prio]
    cmp [edx + task.prio], ecx
    jge .done
    jmp resched_curr
.done:
    ret

; task_tick_rt — tick for the running RT task edx of rq eax: a SCHED_RR task
; whose slice ran out goes to the tail of its queue (task_tick_rt)
task_tick_rt:
    push ebx
    push esi
    mov ebx, eax
    mov esi, edx
    call update_curr_rt
    cmp dword [esi + task.policy], SCHED_RR
    jne .done
    cmp dword [sched_rr_timeslice], 0
    je .done
    dec dword [esi + task.rt_time_slice]
    jne .done
    mov eax, [sched_rr_timeslice]
    mov [esi + task.rt_time_slice], eax
    mov eax, [esi + task.rt_run_list + list.next]
    cmp eax, [esi + task.rt_run_list + list.prev]
    je .done                     ; alone in its queue (next == prev == head)
    lea eax, [esi + task.rt_run_list]        ; requeue_task_rt
    call list_del_init
    mov eax, ebx
    mov edx, [esi + task.prio]
    call rt_queue_head
    mov edx, eax
    lea eax, [esi + task.rt_run_list]
    call list_add_tail
    mov eax, ebx
    call resched_curr
.done:
    pop esi
    pop ebx
    ret

.data
.align 4
; rt_sched_class (kernel/sched/rt.c)
rt_sched_class:
    .long fair_sched_class       ; next
    .long enqueue_task_rt
    .long dequeue_task_rt
    .long check_preempt_curr_rt
    .long pick_next_task_rt
    .long put_prev_task_rt
    .long set_curr_task_rt
    .long task_tick_rt
    .long SCHED_CLASS_RANK_RT
