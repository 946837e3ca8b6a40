; firmware/kernel/irq.s — device interrupts through the I/O APIC: the
; redirection table programmed from bp.irq_affinity, do_IRQ with the
; irq_handler tracepoints, and the disk controller's IRQ with a tiny
; synchronous block-read path for the I/O test thread (Linux:
; arch/x86/kernel/apic/io_apic.c, kernel/irq/, drivers/block/).

.text

; init_IRQ — register the device handlers, then route their pins
; (init_IRQ + request_irq + setup_IO_APIC)
init_IRQ:
    mov eax, DISK_IRQ
    mov edx, disk_interrupt
    call request_irq
    jmp setup_IO_APIC

; request_irq — handler edx for I/O APIC pin eax (request_irq, without sharing)
request_irq:
    mov [irq_handlers + eax*4], edx
    ret

; io_apic_write — I/O APIC register eax = edx (io_apic_write)
io_apic_write:
    mov [IOAPIC_BASE + IOAPIC_IOREGSEL], eax
    mov [IOAPIC_BASE + IOAPIC_IOWIN], edx
    ret

; setup_IO_APIC — route every pin that has a handler to vector IRQ0_VECTOR
; + pin on the lowest online CPU of its bp.irq_affinity mask (CPU 0 if the
; mask has none), fixed delivery, physical destination, edge, unmasked;
; pins without a handler stay masked (setup_IO_APIC + irq_set_affinity)
setup_IO_APIC:
    push ebx
    push esi
    xor ebx, ebx
.pin:
    cmp dword [irq_handlers + ebx*4], 0
    je .next
    mov eax, [BOOT_PARAMS + bp.irq_affinity + ebx*4]
    and eax, [cpu_online_mask]
    je .dest
    call __ffs
.dest:
    mov [irq_dest_cpu + ebx*4], eax
    mov esi, ebx
    shl esi, 1
    add esi, IOAPIC_IOREDTBL
    mov edx, eax
    shl edx, IOAPIC_DEST_SHIFT
    lea eax, [esi + 1]
    call io_apic_write           ; destination first, then unmask
    lea edx, [ebx + IRQ0_VECTOR]
    mov eax, esi
    call io_apic_write
.next:
    inc ebx
    cmp ebx, BP_IRQS
    jb .pin
    pop esi
    pop ebx
    ret
IOAPIC_DEST_SHIFT = 24           ; redirection entry bits 63:56 = APIC ID

; do_IRQ — a device vector: irq = vector - IRQ0_VECTOR; the handler
; between the irq_handler_entry/exit events, then EOI (do_IRQ ->
; handle_edge_irq -> handle_irq_event). eax = pt_regs, edx = vector.
do_IRQ:
    push ebx
    lea ebx, [edx - IRQ0_VECTOR]
    trace irq_handler_entry, ebx
    inc dword [kstat_irqs + ebx*4]
    mov eax, ebx
    call [irq_handlers + ebx*4]
    trace irq_handler_exit, ebx
    call apic_eoi
    pop ebx
    ret

; disk_interrupt — DISK_IRQ's hard handler: acknowledge the controller.
; Under PREEMPT_RT with an IRQ thread (forced threading) only wake that
; thread, which runs disk_irq_handler at its own priority
; (irq_default_primary_handler -> __irq_wake_thread); otherwise (PREEMPT_NONE,
; or no IRQ thread has started yet) run the handler here, in hard IRQ
; context with interrupts off (handle_irq_event_percpu -> action->handler).
; The line is edge-triggered and the disk has one request in flight, so it
; is not masked while the thread runs (IRQF_ONESHOT would).
disk_interrupt:
    mov edx, DISK_PORT + DISK_ACK
    mov eax, 1
    out dx, eax
    cmp dword [BOOT_PARAMS + bp.preempt_model], PREEMPT_RT
    jne disk_irq_handler
    mov eax, [irq_threads + DISK_IRQ*4]
    test eax, eax
    je disk_irq_handler
    mov dword [irq_thread_pending + DISK_IRQ*4], 1   ; IRQTF_RUNTHREAD
    jmp wake_up_process

; disk_irq_handler — the disk's real handler (the block driver's
; completion): disk_completion_us of completion work (the request's
; end_request/bio work; with interrupts off in hard IRQ context it is the
; non-preemptible section of PREEMPT_NONE), then wake the waiting task.
; Records the context it ran in (disk_handler_pid/prio, disk_completions).
disk_irq_handler:
    GET_CURRENT eax
    mov edx, [eax + task.pid]
    mov [disk_handler_pid], edx
    mov edx, [eax + task.prio]
    mov [disk_handler_prio], edx
    inc dword [disk_completions]
    mov eax, [disk_completion_us]
    call usecs_to_cycles
    xor edx, edx
    mov ecx, DISK_WORK_UNIT_CYCLES
    div ecx
    mov ecx, eax
    work DISK_WORK_UNIT_CYCLES
    LOCAL_IRQ_SAVE
    mov eax, [disk_waiter]
    mov dword [disk_waiter], 0
    LOCAL_IRQ_RESTORE
    test eax, eax
    je .done
    jmp wake_up_process
.done:
    ret
DISK_WORK_UNIT_CYCLES = 100      ; a preemptible handler is interrupted at most this late

; irq_thread — THREAD_IRQ: the threaded handler of DISK_IRQ (the one device
; IRQ with a handler): registers itself, then sleeps until the hard handler
; wakes it and runs disk_irq_handler, at its thread-table policy and
; priority (Linux: FIFO 50) (irq_thread -> irq_forced_thread_fn)
irq_thread:
    GET_CURRENT ebx
    mov [irq_threads + DISK_IRQ*4], ebx
.wait:
    cli
    cmp dword [irq_thread_pending + DISK_IRQ*4], 0
    jne .run
    mov dword [ebx + task.state], TASK_INTERRUPTIBLE
    sti
    call schedule
    jmp .wait
.run:
    mov dword [irq_thread_pending + DISK_IRQ*4], 0
    sti
    mov eax, DISK_IRQ
    call disk_irq_handler
    jmp .wait

; disk_read_sync — read one sector at LBA eax into disk_buffer and sleep
; until its interrupt (submit_bio_wait). One request at a time: a busy
; disk makes the caller poll every DISK_RETRY_US.
disk_read_sync:
    push ebx
    push esi
    mov esi, eax
    GET_CURRENT ebx
.claim:
    LOCAL_IRQ_SAVE
    mov eax, disk_lock
    call raw_spin_lock
    cmp dword [disk_waiter], 0
    je .issue
    mov eax, disk_lock
    call raw_spin_unlock
    LOCAL_IRQ_RESTORE
    mov eax, DISK_RETRY_US
    call hrtimer_nanosleep_us
    jmp .claim
.issue:
    mov [disk_waiter], ebx
    mov dword [ebx + task.state], TASK_UNINTERRUPTIBLE
    mov edx, DISK_PORT + DISK_LBA
    mov eax, esi
    out dx, eax
    mov edx, DISK_PORT + DISK_COUNT
    mov eax, 1
    out dx, eax
    mov edx, DISK_PORT + DISK_DMA_ADDR
    mov eax, disk_buffer
    out dx, eax
    mov edx, DISK_PORT + DISK_COMMAND
    mov eax, DISK_CMD_READ
    out dx, eax
    mov eax, disk_lock
    call raw_spin_unlock
    LOCAL_IRQ_RESTORE
.wait:
    cmp dword [disk_waiter], ebx
    jne .complete
    call schedule
    mov dword [ebx + task.state], TASK_UNINTERRUPTIBLE
    jmp .wait
.complete:
    mov dword [ebx + task.state], TASK_RUNNING
    pop esi
    pop ebx
    ret
DISK_RETRY_US = 100

.data
.align 4
disk_lock:    .long 0
disk_waiter:  .long 0
disk_completion_us: .long 0      ; length of the completion work (a test or scenario sets it)
disk_handler_pid:   .long -1     ; the task the last disk handler ran in (0: an idle task)
disk_handler_prio:  .long 0      ; and its prio (kernel scale: 99 - rt_priority for RT tasks)
disk_completions:   .long 0

.bss
.align 4
; irq_handlers — handler per I/O APIC pin, called with eax = irq (the
; irq_desc table's action); 0 = no handler: the pin stays masked
irq_handlers: .space BP_IRQS * 4
irq_dest_cpu: .space BP_IRQS * 4     ; the CPU each routed pin was sent to
kstat_irqs:   .space BP_IRQS * 4     ; interrupts per pin (kstat_irqs)
irq_threads:  .space BP_IRQS * 4     ; the IRQ thread of each pin (irqaction.thread), 0: none
irq_thread_pending: .space BP_IRQS * 4 ; IRQTF_RUNTHREAD per pin
.align 16
disk_buffer:  .space SECTOR_SIZE
