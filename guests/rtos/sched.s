; guests/rtos/sched.s — the wind kernel's scheduler: task control blocks,
; the priority-ordered queues, the context switch and the idle loop
; (VxWorks 5.5 windLib: windExit, reschedule, the readyQHead).
;
; One CPU; the kernel runs with interrupts locked (intLock = cli). The
; running task stays in the ready queue (as in VxWorks: taskIdCurrent is the
; queue's head unless something better was made ready); the highest-priority
; ready task is the head of ready_head. Priorities 0 (highest) to 255;
; among equals FIFO, and no time slicing unless kernelTimeSlice is set
; (rtos_params.time_slice; VxWorks' default is off).
;
; A task's saved context is an interrupt frame on its own stack, pushed in
; the order of the interrupt stubs (intr.s), so a task that an interrupt
; preempts is already saved when intExit switches away from it:
;     [sp+0] edi esi ebp ebx ecx edx eax eip eflags [sp+36]
; A task that gives up the CPU inside the kernel (semTake, taskDelay) builds
; the same frame in wind_switch; every dispatch ends in IRET.

WIND_READY   = 0x00             ; taskLib's status bits (taskLib.h)
WIND_SUSPEND = 0x01
WIND_PEND    = 0x02
WIND_DELAY   = 0x04
WIND_DEAD    = 0x08
CTX_SIZE     = 36               ; the saved frame: 7 registers, EIP, EFLAGS

; The task control block (VxWorks' WIND_TCB, the fields this kernel needs).
; The task ID is the TCB's address.
.struct tcb
    .field qnext, 4             ; link in the ready, pend or delay queue (offset 0: see q_pri_put)
    .field sp, 4                ; saved context: an interrupt frame on the task's stack
    .field prio, 4              ; 0 (highest) .. 255
    .field status, 4            ; WIND_*
    .field id, 4                ; index 0, 1, ... (the value of task_dispatch tracepoints)
    .field entry, 4             ; entry(arg)
    .field arg, 4
    .field name, 4              ; zero-terminated string
    .field wake_tick, 4         ; WIND_DELAY: the vx_ticks value to wake at
    .field slice, 4             ; round-robin: ticks left in the time slice
.ends

.text
; q_pri_put — insert the TCB in ebx into the priority-ordered queue whose
; head pointer is at [esi], behind every TCB of the same or a higher
; priority (FIFO among equals). VxWorks: Q_PUT on a Q_PRI_LIST; the real
; readyQHead is a Q_PRI_BMAP bitmap, which wants a BSF this ISA lacks.
; Clobbers eax, ecx, esi.
q_pri_put:
    mov ecx, [ebx + tcb.prio]
.walk:
    mov eax, [esi]
    test eax, eax
    je .link
    cmp [eax + tcb.prio], ecx
    ja .link                    ; first TCB of lower priority: go before it
    mov esi, eax                ; tcb.qnext is at offset 0: a TCB is its own link
    jmp .walk
.link:
    mov [ebx + tcb.qnext], eax
    mov [esi], ebx
    ret

; q_fifo_put — append the TCB in ebx to the queue whose head pointer is at
; [esi] (Q_FIFO: SEM_Q_FIFO pend queues). Clobbers eax, esi.
q_fifo_put:
.walk:
    mov eax, [esi]
    test eax, eax
    je .link
    mov esi, eax
    jmp .walk
.link:
    mov dword [ebx + tcb.qnext], 0
    mov [esi], ebx
    ret

; q_remove — unlink the TCB in ebx from the queue whose head pointer is at
; [esi], if it is there (Q_REMOVE). Clobbers eax, esi.
q_remove:
.walk:
    mov eax, [esi]
    test eax, eax
    je .done
    cmp eax, ebx
    je .unlink
    mov esi, eax
    jmp .walk
.unlink:
    mov eax, [ebx + tcb.qnext]
    mov [esi], eax
    mov dword [ebx + tcb.qnext], 0
.done:
    ret

; delay_q_put — insert the TCB in ebx into the tick queue, ordered by
; wake_tick (VxWorks' tickQHead; FIFO among equal ticks; wrap-safe signed
; comparison). Clobbers eax, ecx, edx, esi.
delay_q_put:
    mov ecx, [ebx + tcb.wake_tick]
    mov esi, delay_head
.walk:
    mov eax, [esi]
    test eax, eax
    je .link
    mov edx, [eax + tcb.wake_tick]
    sub edx, ecx
    jg .link                    ; that one wakes later: go before it
    mov esi, eax
    jmp .walk
.link:
    mov [ebx + tcb.qnext], eax
    mov [esi], ebx
    ret

; wind_switch — the calling task gives up the CPU: save its context as an
; interrupt frame on its stack and reschedule. Returns (interrupts still
; locked, all registers as they were) when the task is dispatched again.
; Called from task context with interrupts locked, by kernel routines that
; blocked the task or made a better one ready (VxWorks: windExit → the
; context save of windSwap/reschedule).
wind_switch:
    sub esp, 4                  ; [esp+4] = return EIP
    push eax
    mov eax, [esp + 8]
    mov [esp + 4], eax          ; frame: EIP ...
    mov dword [esp + 8], 2      ; ... EFLAGS with IF = 0: resume with interrupts locked
    push edx                    ; eax is already in place; the rest as intr_common pushes them
    push ecx
    push ebx
    push ebp
    push esi
    push edi
    mov ebx, [task_current]
    mov [ebx + tcb.sp], esp
    jmp reschedule

; reschedule — run the highest-priority ready task, or idle until there is
; one (VxWorks reschedule()). Entered with interrupts locked and the
; outgoing context saved (or dead); never returns. The idle loop runs on
; the kernel stack with no current task: interrupts that arrive there only
; return to it (intExit), and it dispatches what they made ready. Idle
; either busy-waits with interrupts on — VxWorks 5.5's idle, which keeps a
; prioritised vCPU burning its physical CPU (paper §5.4) — or halts.
reschedule:
    mov esp, kernel_stack_top
.pick:
    mov ebx, [ready_head]
    test ebx, ebx
    jne .dispatch
    mov dword [task_current], 0
    cmp dword [RTOS_PARAMS + rtos_params.idle_mode], IDLE_HLT
    je .halt
    sti
.spin:
    cmp dword [ready_head], 0
    je .spin
    cli
    jmp .pick
.halt:
    sti                         ; the STI shadow covers HLT: no wake-up is lost
    hlt
    cli
    jmp .pick
.dispatch:
    mov [task_current], ebx
    call cosched_dispatch       ; co-scheduling: boost for a real-time task
    mov eax, [ebx + tcb.id]
    trace task_dispatch, eax
    mov esp, [ebx + tcb.sp]
    pop edi
    pop esi
    pop ebp
    pop ebx
    pop ecx
    pop edx
    pop eax
    iret

.data
.align 4
task_current:   .long 0         ; taskIdCurrent (0 while idle)
ready_head:     .long 0         ; readyQHead: ready tasks by priority
delay_head:     .long 0         ; tickQHead: delayed tasks by wake tick

.bss
.align 16
                .space 4096
kernel_stack_top:               ; kernelInit, the idle loop and ISRs that interrupt it
