; firmware/kernel/fair.s — the fair class, SCHED_OTHER (Linux:
; kernel/sched/fair.c, simplified): the running task's vruntime grows by
; delta_exec * NICE_0_LOAD / weight; the runnable task with the smallest
; vruntime runs next. The timeline is a list sorted by vruntime (Linux: an
; rbtree); the running task is not on it (cfs_rq->curr). vruntimes are
; 64-bit and compared by the sign of their difference, like Linux's.
; Time slices need the tick: without one, fair tasks preempt each other
; only at wake-up.

.text

; update_curr_fair — charge the running fair task of rq eax for the time
; since its exec_start (update_curr + calc_delta_fair)
update_curr_fair:
    push ebx
    push esi
    mov ebx, eax
    mov esi, [ebx + rq.cfs + cfs_rq.curr]
    test esi, esi
    je .done
    mov eax, [ebx + rq.clock]
    mov edx, [ebx + rq.clock + 4]
    mov ecx, [esi + task.se_exec_start]
    mov [esi + task.se_exec_start], eax
    sub eax, ecx
    mov ecx, [esi + task.se_exec_start + 4]
    mov [esi + task.se_exec_start + 4], edx
    sbb edx, ecx                 ; edx:eax = delta_exec
    je .delta32
    mov eax, -1                  ; more than 2^32 cycles at once: saturate
.delta32:
    add [esi + task.se_sum_exec_runtime], eax
    adc dword [esi + task.se_sum_exec_runtime + 4], 0
    mov edx, eax                 ; edx:eax = delta_exec * NICE_0_LOAD
    shr edx, 32 - NICE_0_SHIFT
    shl eax, NICE_0_SHIFT
    mov ecx, [esi + task.se_load_weight]
    call div64_u32
    add [esi + task.se_vruntime], eax
    adc [esi + task.se_vruntime + 4], edx
    mov eax, ebx
    call update_min_vruntime
.done:
    pop esi
    pop ebx
    ret

; update_min_vruntime — rq eax: min_vruntime follows the smaller of the
; running task's and the leftmost task's vruntime, and never goes back
; (update_min_vruntime)
update_min_vruntime:
    push ebx
    push esi
    push edi
    mov ebx, eax
    xor esi, esi                 ; address of the candidate vruntime
    mov ecx, [ebx + rq.cfs + cfs_rq.curr]
    test ecx, ecx
    je .leftmost
    cmp dword [ecx + task.se_on_rq], 0
    je .leftmost
    lea esi, [ecx + task.se_vruntime]
.leftmost:
    mov ecx, [ebx + rq.cfs + cfs_rq.tasks + list.next]
    lea eax, [ebx + rq.cfs + cfs_rq.tasks]
    cmp ecx, eax
    je .have
    lea edx, [ecx + task.se_vruntime - task.se_node]
    test esi, esi
    je .take_left
    mov eax, [edx]
    mov ecx, [edx + 4]
    sub eax, [esi]
    sbb ecx, [esi + 4]
    jns .have                    ; leftmost >= curr
.take_left:
    mov esi, edx
.have:
    test esi, esi
    je .done
    mov eax, [esi]
    mov edx, [esi + 4]
    mov ecx, eax
    sub ecx, [ebx + rq.cfs + cfs_rq.min_vruntime]
    mov edi, edx
    sbb edi, [ebx + rq.cfs + cfs_rq.min_vruntime + 4]
    js .done                     ; never backwards
    mov [ebx + rq.cfs + cfs_rq.min_vruntime], eax
    mov [ebx + rq.cfs + cfs_rq.min_vruntime + 4], edx
.done:
    pop edi
    pop esi
    pop ebx
    ret

; __enqueue_entity — put task edx on rq eax's timeline, after every task
; with a smaller or equal vruntime (__enqueue_entity)
__enqueue_entity:
    push ebx
    push esi
    push edi
    mov ebx, eax
    mov esi, edx
    lea edi, [ebx + rq.cfs + cfs_rq.tasks]
    mov ecx, [edi + list.next]
.walk:
    cmp ecx, edi
    je .insert
    mov eax, [esi + task.se_vruntime]
    mov edx, [esi + task.se_vruntime + 4]
    sub eax, [ecx + task.se_vruntime - task.se_node]
    sbb edx, [ecx + task.se_vruntime - task.se_node + 4]
    js .insert
    mov ecx, [ecx + list.next]
    jmp .walk
.insert:
    lea eax, [esi + task.se_node]
    mov edx, ecx
    call list_add_tail
    pop edi
    pop esi
    pop ebx
    ret

; enqueue_task_fair — rq eax, task edx, flags ecx: a waking task is placed
; no further back than sched_sleeper_credit behind min_vruntime, a new one
; at min_vruntime (enqueue_task_fair + place_entity)
enqueue_task_fair:
    push ebx
    push esi
    push edi
    mov ebx, eax
    mov esi, edx
    mov edi, ecx
    mov eax, ebx
    call update_curr_fair
    mov eax, [ebx + rq.cfs + cfs_rq.min_vruntime]
    mov edx, [ebx + rq.cfs + cfs_rq.min_vruntime + 4]
    test edi, ENQUEUE_NEW
    jne .place
    test edi, ENQUEUE_WAKEUP
    je .queue
    sub eax, [sched_sleeper_credit]
    sbb edx, 0
    mov ecx, [esi + task.se_vruntime]
    sub ecx, eax
    mov ecx, [esi + task.se_vruntime + 4]
    sbb ecx, edx
    jns .queue                   ; its own vruntime is later: keep it
.place:
    mov [esi + task.se_vruntime], eax
    mov [esi + task.se_vruntime + 4], edx
.queue:
    cmp esi, [ebx + rq.cfs + cfs_rq.curr]
    je .account
    mov eax, ebx
    mov edx, esi
    call __enqueue_entity
.account:
    mov dword [esi + task.se_on_rq], 1
    mov eax, [esi + task.se_load_weight]
    add [ebx + rq.cfs + cfs_rq.load_weight], eax
    inc dword [ebx + rq.cfs + cfs_rq.nr_running]
    pop edi
    pop esi
    pop ebx
    ret

; dequeue_task_fair — rq eax, task edx leaves the timeline and the load
; (dequeue_task_fair)
dequeue_task_fair:
    push ebx
    push esi
    mov ebx, eax
    mov esi, edx
    call update_curr_fair
    cmp esi, [ebx + rq.cfs + cfs_rq.curr]
    je .account
    lea eax, [esi + task.se_node]
    call list_del_init
.account:
    mov dword [esi + task.se_on_rq], 0
    mov eax, [esi + task.se_load_weight]
    sub [ebx + rq.cfs + cfs_rq.load_weight], eax
    dec dword [ebx + rq.cfs + cfs_rq.nr_running]
    mov eax, ebx
    call update_min_vruntime
    pop esi
    pop ebx
    ret

; set_curr_task_fair — task edx becomes rq eax's running fair task: off the
; timeline, its slice starts now (set_next_entity)
set_curr_task_fair:
    push ebx
    push esi
    mov ebx, eax
    mov esi, edx
    cmp dword [esi + task.se_on_rq], 0
    je .curr
    lea eax, [esi + task.se_node]
    call list_del_init
.curr:
    mov [ebx + rq.cfs + cfs_rq.curr], esi
    mov eax, [ebx + rq.clock]
    mov [esi + task.se_exec_start], eax
    mov eax, [ebx + rq.clock + 4]
    mov [esi + task.se_exec_start + 4], eax
    mov eax, [esi + task.se_sum_exec_runtime]
    mov [esi + task.se_prev_sum_exec_runtime], eax
    mov eax, [esi + task.se_sum_exec_runtime + 4]
    mov [esi + task.se_prev_sum_exec_runtime + 4], eax
    pop esi
    pop ebx
    ret

; pick_next_task_fair — the leftmost task of rq eax's timeline, made
; current; 0 if none (pick_next_task_fair)
pick_next_task_fair:
    mov edx, [eax + rq.cfs + cfs_rq.tasks + list.next]
    lea ecx, [eax + rq.cfs + cfs_rq.tasks]
    cmp edx, ecx
    je .none
    sub edx, task.se_node
    push edx
    call set_curr_task_fair
    pop eax
    ret
.none:
    xor eax, eax
    ret

; put_prev_task_fair — the running fair task edx of rq eax stops running:
; back on the timeline if still queued (put_prev_entity)
put_prev_task_fair:
    push ebx
    push esi
    mov ebx, eax
    mov esi, edx
    cmp dword [esi + task.se_on_rq], 0
    je .done
    call update_curr_fair
    mov eax, ebx
    mov edx, esi
    call __enqueue_entity
.done:
    mov dword [ebx + rq.cfs + cfs_rq.curr], 0
    pop esi
    pop ebx
    ret

; check_preempt_wakeup — fair task edx woke on rq eax whose current task is
; fair: preempt if the woken one's vruntime is behind by more than the
; wake-up granularity (check_preempt_wakeup + wakeup_preempt_entity)
check_preempt_wakeup:
    push ebx
    push esi
    mov ebx, eax
    mov esi, edx
    call update_curr_fair
    mov ecx, [ebx + rq.curr]
    mov eax, [esi + task.se_vruntime]
    mov edx, [esi + task.se_vruntime + 4]
    add eax, [sysctl_sched_wakeup_granularity]
    adc edx, 0
    sub eax, [ecx + task.se_vruntime]
    sbb edx, [ecx + task.se_vruntime + 4]
    jns .done
    mov eax, ebx
    call resched_curr
.done:
    pop esi
    pop ebx
    ret

; task_tick_fair — tick for the running fair task edx of rq eax: reschedule
; once it has run its share of the latency period, sysctl_sched_latency *
; weight / load (task_tick_fair -> check_preempt_tick + sched_slice)
task_tick_fair:
    push ebx
    push esi
    mov ebx, eax
    mov esi, edx
    call update_curr_fair
    cmp dword [ebx + rq.cfs + cfs_rq.nr_running], 1
    jbe .done
    mov eax, [sysctl_sched_latency]
    mov edx, [esi + task.se_load_weight]
    mov ecx, [ebx + rq.cfs + cfs_rq.load_weight]
    call mul_u32_div             ; ideal_runtime
    mov ecx, [esi + task.se_sum_exec_runtime]
    sub ecx, [esi + task.se_prev_sum_exec_runtime]
    cmp ecx, eax
    jbe .done
    mov eax, ebx
    call resched_curr
.done:
    pop esi
    pop ebx
    ret

.data
.align 4
; fair_sched_class (kernel/sched/fair.c)
fair_sched_class:
    .long idle_sched_class       ; next
    .long enqueue_task_fair
    .long dequeue_task_fair
    .long check_preempt_wakeup
    .long pick_next_task_fair
    .long put_prev_task_fair
    .long set_curr_task_fair
    .long task_tick_fair
    .long SCHED_CLASS_RANK_FAIR
