; guests/rtos/sem.s — binary and counting semaphores (VxWorks semBLib,
; semCLib, semLib). semGive may be called from an ISR: the task it readies
; runs when the interrupt exits (intExit), before the interrupted task if
; its priority is higher. semTake timeouts: NO_WAIT or WAIT_FOREVER (any
; other value waits forever). C-like calling convention (task.s).

MAX_SEMS       = 16
SEM_Q_FIFO     = 0x0            ; pended tasks in arrival order
SEM_Q_PRIORITY = 0x1            ; pended tasks by priority
SEM_EMPTY      = 0
SEM_FULL       = 1
NO_WAIT        = 0
WAIT_FOREVER   = -1
SEM_TYPE_BINARY   = 0
SEM_TYPE_COUNTING = 1

.struct sem
    .field count, 4             ; binary: SEM_EMPTY/SEM_FULL; counting: the count
    .field qhead, 4             ; tasks pended on it
    .field options, 4           ; SEM_Q_FIFO / SEM_Q_PRIORITY
    .field type, 4              ; SEM_TYPE_*
.ends

.text
; semBCreate(options, initialState) — a binary semaphore; returns its ID or
; 0 when the pool is exhausted (VxWorks semBLib: semBCreate)
semBCreate:
    mov eax, SEM_TYPE_BINARY
    jmp sem_create

; semCCreate(options, initialCount) — a counting semaphore (semCLib)
semCCreate:
    mov eax, SEM_TYPE_COUNTING
    ; fall through

; sem_create — the common part (semInit); eax = type
sem_create:
    pushfd
    cli
    push ebx
    ; [esp+8] ret, +12 options, +16 initial state or count
    mov ebx, eax
    mov eax, [sem_count]
    cmp eax, MAX_SEMS
    jae .fail
    inc dword [sem_count]
    imul eax, sem.size
    add eax, sem_pool
    mov [eax + sem.type], ebx
    mov ecx, [esp + 12]
    mov [eax + sem.options], ecx
    mov ecx, [esp + 16]
    cmp ebx, SEM_TYPE_BINARY
    jne .count
    and ecx, 1
.count:
    mov [eax + sem.count], ecx
    mov dword [eax + sem.qhead], 0
    jmp .out
.fail:
    xor eax, eax
.out:
    pop ebx
    popfd
    ret

; semGive(semId) — ready the first pended task, or make the semaphore
; full (binary) / count up (counting). Callable from ISRs. Returns OK.
; (VxWorks semLib: semGive → semBGive / semCGive)
semGive:
    pushfd
    cli
    push ebx
    push esi
    ; [esp+12] ret, +16 semId
    mov edx, [esp + 16]
    mov ebx, [edx + sem.qhead]
    test ebx, ebx
    jne .wake
    cmp dword [edx + sem.type], SEM_TYPE_BINARY
    jne .up
    mov dword [edx + sem.count], SEM_FULL
    jmp .out
.up:
    inc dword [edx + sem.count]
    jmp .out
.wake:
    mov eax, [ebx + tcb.qnext]  ; dequeue the first pended task
    mov [edx + sem.qhead], eax
    mov dword [ebx + tcb.status], WIND_READY
    mov esi, ready_head
    call q_pri_put
    call preempt_check          ; a task giving to a better one yields at once
.out:
    pop esi
    pop ebx
    popfd
    xor eax, eax
    ret

; semTake(semId, timeout) — take the semaphore, or block the calling task
; until a semGive hands it over. OK, or ERROR when it is not available and
; timeout is NO_WAIT or the caller is an ISR. (VxWorks semLib: semTake)
semTake:
    pushfd
    cli
    push ebx
    push esi
    ; [esp+12] ret, +16 semId, +20 timeout
    mov edx, [esp + 16]
    cmp dword [edx + sem.count], 0
    je .empty
    dec dword [edx + sem.count]
    mov eax, OK
    jmp .out
.empty:
    mov eax, ERROR
    cmp dword [esp + 20], NO_WAIT
    je .out
    cmp dword [intr_nest], 0    ; ISRs cannot block
    jne .out
    mov ebx, [task_current]
    test ebx, ebx
    je .out
    mov esi, ready_head
    call q_remove
    mov edx, [esp + 16]
    mov dword [ebx + tcb.status], WIND_PEND
    lea esi, [edx + sem.qhead]
    test dword [edx + sem.options], SEM_Q_PRIORITY
    jne .by_prio
    call q_fifo_put
    jmp .block
.by_prio:
    call q_pri_put
.block:
    call wind_switch            ; back when semGive readied us and we were dispatched
    mov eax, OK
.out:
    pop esi
    pop ebx
    popfd
    ret

.data
.align 4
sem_count: .long 0

.bss
.align 16
sem_pool: .space MAX_SEMS * sem.size
