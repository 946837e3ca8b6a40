; firmware/kernel/kthreads.s — kernel threads from the boot parameters'
; thread table, one per entry, with the policy, priority, nice and CPU
; affinity the scenario gives (kthreadd + the scenario's chrt/taskset), and
; the bodies of the thread kinds (vCPU and I/O threads live in kvm_main.s and
; iothread.s; a vCPU or I/O entry without a VM falls back to a test body,
; see README.md). pid = table index + FIRST_THREAD_PID; idle tasks are pid 0.

FIRST_THREAD_PID   = 1
LOAD_UNIT_CYCLES   = 100         ; a CPU hog's WORK unit: interrupts wait at most this long
LOAD_UNITS         = 1000000     ; units per WORK instruction before it loops
IO_THINK_US        = 1000        ; the I/O test thread's pause between reads

.text

; kthreads_init — create and wake one thread per thread-table entry
kthreads_init:
    push ebx
    call kvm_init                ; KVM: the VMs and vCPUs of the block, before their threads exist
    xor ebx, ebx
.next:
    cmp ebx, [BOOT_PARAMS + bp.thread_count]
    jae .done
    cmp ebx, BP_MAX_THREADS
    jae .done
    mov eax, ebx
    call kthread_create
    cmp dword [eax + task.kind], THREAD_CYCLICTEST
    jne .wake
    cmp dword [ct_nr_expected], CT_MAX_THREADS
    jae .wake                    ; the extra ones only sleep
    inc dword [ct_nr_expected]
.wake:
    call wake_up_new_task
    inc ebx
    jmp .next
.done:
    pop ebx
    ret

; kthread_create — the task of thread-table entry eax, ready for its first
; wake-up: stack, name, affinity, nice, policy and priority, and an initial
; switch_to frame that "returns" into ret_from_fork with fn = the body of
; its kind and arg = the task (kthread_create_on_node + copy_thread +
; sched_setscheduler_nocheck)
kthread_create:
    push ebx
    push esi
    push edi
    mov esi, eax
    lea ebx, [esi + NR_CPUS]     ; tasks[NR_CPUS + index], stack slot likewise
    imul ebx, task.size
    add ebx, tasks
    mov edi, esi
    imul edi, bp_thread.size
    add edi, BOOT_PARAMS + bp.threads
    mov eax, ebx
    lea edx, [esi + NR_CPUS]
    call init_task_stack
    mov [ebx + task.index], esi
    lea eax, [esi + FIRST_THREAD_PID]
    mov [ebx + task.pid], eax
    mov dword [ebx + task.state], TASK_NEW
    mov eax, [edi + bp_thread.kind]
    mov [ebx + task.kind], eax
    xor ecx, ecx
.name:
    mov eax, [edi + bp_thread.name + ecx*4]
    mov [ebx + task.name + ecx*4], eax
    inc ecx
    cmp ecx, TASK_COMM_LEN / 4
    jb .name
    mov byte [ebx + task.name + TASK_COMM_LEN - 1], 0
    mov eax, [edi + bp_thread.affinity]
    mov [ebx + task.cpus_allowed], eax
    call __ffs                   ; first CPU of the mask until placed
    mov [ebx + task.cpu], eax
    mov edx, [ebx + task.stack]
    mov [edx + thread_info.cpu], eax
    mov eax, [edi + bp_thread.nice]
    add eax, DEFAULT_PRIO
    mov [ebx + task.static_prio], eax
    mov dword [ebx + task.sched_class], fair_sched_class
    mov eax, ebx
    mov edx, [edi + bp_thread.policy]
    mov ecx, [edi + bp_thread.prio]
    call __setscheduler
    mov eax, [ebx + task.kind]   ; the body of its kind
    mov edx, kthread_unknown
    cmp eax, KTHREAD_KINDS
    jae .body
    mov edx, [kthread_bodies + eax*4]
.body:
    mov eax, [ebx + task.sp]     ; the frame switch_to pops: edi esi ebx ebp, ret
    sub eax, SWITCH_FRAME_SIZE
    mov [ebx + task.sp], eax
    mov dword [eax + SWITCH_FRAME_EDI], 0
    mov [eax + SWITCH_FRAME_ESI], ebx
    mov [eax + SWITCH_FRAME_EBX], edx
    mov dword [eax + SWITCH_FRAME_EBP], 0
    mov dword [eax + SWITCH_FRAME_RET], ret_from_fork
    mov eax, ebx
    pop edi
    pop esi
    pop ebx
    ret
SWITCH_FRAME_EDI  = 0
SWITCH_FRAME_ESI  = 4
SWITCH_FRAME_EBX  = 8
SWITCH_FRAME_EBP  = 12
SWITCH_FRAME_RET  = 16
SWITCH_FRAME_SIZE = 20

; load_thread — THREAD_LOAD: a CPU hog that never sleeps (WORK units, so
; interrupts are taken between units)
load_thread:
    mov ecx, LOAD_UNITS
    work LOAD_UNIT_CYCLES
    jmp load_thread

; sleeper_thread — sleeps forever (TASK_INTERRUPTIBLE, nobody wakes it):
; the placeholder body of kinds not built yet
sleeper_thread:
    GET_CURRENT ebx
.sleep:
    mov dword [ebx + task.state], TASK_INTERRUPTIBLE
    call schedule
    jmp .sleep

; io_test_thread — THREAD_IO for now: read a sector, wait for the disk
; interrupt, pause IO_THINK_US, next sector
io_test_thread:
    xor esi, esi
.read:
    mov eax, esi
    call disk_read_sync
    inc esi
    mov eax, IO_THINK_US
    call hrtimer_nanosleep_us
    jmp .read

; kthread_unknown — a kind this kernel does not know: report, then sleep
kthread_unknown:
    mov ebx, eax
    push dword [ebx + task.kind]
    lea eax, [ebx + task.name]
    push eax
    push msg_unknown_kind
    call printk
    add esp, 12
    jmp sleeper_thread

.rodata
msg_unknown_kind: .asciz "kthread %s: unknown kind %u, sleeping\n"

.data
.align 4
; kthread_bodies — fn(task) per ThreadKind (a test may patch an entry)
kthread_bodies:
    .long kvm_vcpu_thread        ; THREAD_VCPU (kvm_main.s; no VM behind it: load_thread)
    .long iothread_main          ; THREAD_IO (iothread.s; no VM behind it: io_test_thread)
    .long hrtimer_softd          ; THREAD_HRTIMER (hrtimer.s: ktimersoftd)
    .long irq_thread             ; THREAD_IRQ (irq.s: the disk IRQ's thread)
    .long cyclictest_thread      ; THREAD_CYCLICTEST
    .long load_thread            ; THREAD_LOAD
KTHREAD_KINDS = 6
.if THREAD_VCPU != 0 || THREAD_IO != 1 || THREAD_HRTIMER != 2 || THREAD_IRQ != 3 || THREAD_CYCLICTEST != 4 || THREAD_LOAD != 5
.error "kthread_bodies is ordered by ThreadKind"
.endif
