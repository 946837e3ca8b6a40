; guests/rtos/task.s — tasks: creation, exit, delay (VxWorks taskLib).
;
; C-like calling convention for every routine named like its VxWorks
; original: arguments pushed right to left, the caller pops, result in eax,
; eax/ecx/edx clobbered, ebx/esi/edi/ebp preserved. Kernel routines lock
; interrupts with pushfd/cli ... popfd (intLock/intUnlock).

MAX_TASKS       = 16
TASK_STACK_SIZE = 4096          ; every task gets one slot of this size
OK              = 0
ERROR           = -1

.text
; taskSpawn(name, priority, options, stackSize, entryPt, arg) — create a
; task and make it ready; it runs at once if it has a higher priority than
; the caller. Returns the task ID (its TCB) or ERROR. `options` is ignored,
; `stackSize` must fit the fixed slot; one argument instead of VxWorks' ten.
; (VxWorks taskLib: taskSpawn = taskInit + taskActivate)
taskSpawn:
    pushfd
    cli
    push ebx
    push esi
    ; [esp+12] ret, +16 name, +20 priority, +24 options, +28 stackSize, +32 entryPt, +36 arg
    mov eax, [task_count]
    cmp eax, MAX_TASKS
    jae .fail
    cmp dword [esp + 28], TASK_STACK_SIZE
    ja .fail
    inc dword [task_count]
    mov ebx, eax
    imul ebx, tcb.size
    add ebx, tcb_pool
    mov [ebx + tcb.id], eax
    ; the first context: a frame that "returns" into task_start with interrupts on
    inc eax
    imul eax, TASK_STACK_SIZE
    add eax, task_stacks - CTX_SIZE
    mov ecx, 7
.zero:
    dec ecx
    mov dword [eax + ecx*4], 0  ; the seven registers
    jne .zero
    mov dword [eax + 28], task_start
    mov dword [eax + 32], 0x202 ; EFLAGS: IF
    mov [ebx + tcb.sp], eax
    mov eax, [esp + 16]
    mov [ebx + tcb.name], eax
    mov eax, [esp + 20]
    and eax, 0xff
    mov [ebx + tcb.prio], eax
    mov eax, [esp + 32]
    mov [ebx + tcb.entry], eax
    mov eax, [esp + 36]
    mov [ebx + tcb.arg], eax
    mov eax, [RTOS_PARAMS + rtos_params.time_slice]
    mov [ebx + tcb.slice], eax
    mov dword [ebx + tcb.status], WIND_READY
    mov esi, ready_head
    call q_pri_put
    call preempt_check
    mov eax, ebx
    jmp .out
.fail:
    mov eax, ERROR
.out:
    pop esi
    pop ebx
    popfd
    ret

; preempt_check — after a kernel routine made a task ready: if the caller
; is a task and is no longer the one to run, switch now; in an ISR (or the
; idle loop) intExit / reschedule do it. Interrupts locked. Clobbers eax.
; (VxWorks: the reschedule check in windExit)
preempt_check:
    cmp dword [intr_nest], 0
    jne .done
    mov eax, [task_current]
    test eax, eax
    je .done
    cmp eax, [ready_head]
    je .done
    call wind_switch
.done:
    ret

; task_start — a new task's first instructions: entry(arg) with interrupts
; on; a task that returns is deleted (VxWorks: vxTaskEntry → exit).
task_start:
    mov ebx, [task_current]
    push dword [ebx + tcb.arg]
    call [ebx + tcb.entry]
    add esp, 4
    ; fall through

; taskExit — delete the calling task and run the next (VxWorks exit /
; taskDelete(0); its stack slot is not reused).
taskExit:
    cli
    mov ebx, [task_current]
    mov esi, ready_head
    call q_remove
    mov dword [ebx + tcb.status], WIND_DEAD
    jmp reschedule

; taskDelay(ticks) — block the calling task for `ticks` system clock ticks:
; it is ready again at the ticks-th tick announced after the call; 0 only
; moves it behind the other ready tasks of its priority (a yield).
; ERROR from an ISR or without a task. (VxWorks taskLib: taskDelay)
taskDelay:
    pushfd
    cli
    push ebx
    push esi
    ; [esp+12] ret, +16 ticks
    mov eax, ERROR
    cmp dword [intr_nest], 0
    jne .out
    mov ebx, [task_current]
    test ebx, ebx
    je .out
    mov esi, ready_head
    call q_remove
    mov eax, [esp + 16]
    test eax, eax
    je .yield
    add eax, [vx_ticks]
    mov [ebx + tcb.wake_tick], eax
    mov dword [ebx + tcb.status], WIND_DELAY
    call delay_q_put
    call wind_switch            ; back when tick_announce readied us and we ran
    jmp .ok
.yield:
    mov esi, ready_head
    call q_pri_put
    call preempt_check
.ok:
    mov eax, OK
.out:
    pop esi
    pop ebx
    popfd
    ret

; taskIdSelf() — the calling task's ID (VxWorks taskLib)
taskIdSelf:
    mov eax, [task_current]
    ret

; tickGet() — ticks announced since boot (VxWorks tickLib)
tickGet:
    mov eax, [vx_ticks]
    ret

.data
.align 4
task_count: .long 0
vx_ticks:   .long 0             ; vxTicks: the system clock's tick count

.bss
.align 16
tcb_pool:    .space MAX_TASKS * tcb.size
task_stacks: .space MAX_TASKS * TASK_STACK_SIZE
