; firmware/kernel/iothread.s — the I/O thread of a VM (THREAD_IO, one per
; VM: QEMU's main loop with its device models): it serves the port I/O its
; vCPUs hand over (the KVM_EXIT_IO round trip) —
;  - the virtual 16550 at COM1, whose output goes to the host console a line
;    at a time prefixed with the VM's name (QEMU's serial chardev);
;  - a virtual disk at VDISK_PORT with the physical controller's registers
;    (src/devices/disk.ts) plus VDISK_VECTOR: a command is translated to the
;    physical disk on this VM's region (VDISK_SECTORS from VM index *
;    VDISK_SECTORS), DMA straight into guest memory; the physical disk IRQ
;    wakes the I/O thread (disk_interrupt), which sets DONE and raises
;    the guest's vector (kvm_apic_set_irq: kvm_set_irq + kick) — QEMU's
;    block backend with its completion bottom half;
;  - other ports read as all ones and ignore writes (unassigned I/O).
; It runs at its own thread-table priority. An I/O thread whose entry is no
; VM's io_thread keeps the kernel's disk test body (io_test_thread).

.text

; iothread_main — body of a THREAD_IO thread, task in eax: sleep until a
; vCPU of its VM has a request, serve it, complete it and wake the vCPU
; (qemu_main_loop -> kvm_handle_io -> cpu_exec's return to KVM_RUN)
iothread_main:
    push ebx
    push esi
    push edi
    mov edi, eax
    mov ecx, [edi + task.index]
    imul ecx, bp_thread.size
    mov ebx, [BOOT_PARAMS + bp.threads + ecx + bp_thread.vm]
    cmp ebx, [BOOT_PARAMS + bp.vm_count]
    jae .not_a_vm
    cmp ebx, BP_MAX_VMS
    jae .not_a_vm
    imul ebx, kvm.size
    add ebx, kvm_vms
    cmp [ebx + kvm.io_task], edi
    jne .not_a_vm
.loop:
    mov dword [edi + task.state], TASK_INTERRUPTIBLE
    mov eax, ebx
    call vdisk_progress          ; issue / complete the virtual disk's request
    test eax, eax
    je .requests
    mov dword [edi + task.state], TASK_RUNNING
    jmp .loop
.requests:
    xor esi, esi
.scan:
    mov eax, [ebx + kvm.vcpus + esi*4]
    test eax, eax
    je .next
    cmp dword [eax + kvm_vcpu.pio_pending], 0
    jne .serve
.next:
    inc esi
    cmp esi, KVM_MAX_VCPUS
    jb .scan
    call schedule
    jmp .loop
.serve:
    mov dword [edi + task.state], TASK_RUNNING
    mov esi, eax
    call iothread_handle_pio
    mov dword [esi + kvm_vcpu.pio_pending], 0
    mov eax, [esi + kvm_vcpu.task]
    call wake_up_process
    jmp .loop
.not_a_vm:
    mov eax, edi
    pop edi
    pop esi
    pop ebx
    jmp io_test_thread

; kvm_pio_to_iothread — vCPU eax's pio request goes to its VM's I/O thread,
; and the vCPU thread sleeps (uninterruptible: timer kicks do not end it)
; until the request is complete; a VM without an I/O thread has it served
; in place (kvm_fast_pio -> KVM_EXIT_IO, and KVM_RUN again)
kvm_pio_to_iothread:
    push ebx
    push esi
    mov ebx, eax
    mov eax, [ebx + kvm_vcpu.kvm]
    mov eax, [eax + kvm.io_task]
    test eax, eax
    jne .hand_over
    mov eax, ebx
    call iothread_handle_pio
    jmp .done
.hand_over:
    mov dword [ebx + kvm_vcpu.pio_pending], 1
    call wake_up_process
    mov esi, [ebx + kvm_vcpu.task]
.wait:
    mov dword [esi + task.state], TASK_UNINTERRUPTIBLE
    cmp dword [ebx + kvm_vcpu.pio_pending], 0
    je .complete
    call schedule
    jmp .wait
.complete:
    mov dword [esi + task.state], TASK_RUNNING
.done:
    pop esi
    pop ebx
    ret

; iothread_handle_pio — serve vCPU eax's request: the device at its port,
; pio_data in (OUT) or out (IN) (address_space_rw on QEMU's I/O space)
iothread_handle_pio:
    mov edx, [eax + kvm_vcpu.pio_port]
    sub edx, COM1_PORT
    cmp edx, SERIAL_PORTS
    jb serial_ioport
    mov edx, [eax + kvm_vcpu.pio_port]
    sub edx, VDISK_PORT
    cmp edx, VDISK_PORTS
    jb vdisk_ioport
    cmp dword [eax + kvm_vcpu.pio_in], 0
    je .done
    mov dword [eax + kvm_vcpu.pio_data], -1      ; unassigned: reads as all ones
.done:
    ret
SERIAL_PORTS = 8

; serial_ioport — the virtual 16550 at COM1 for vCPU eax, register edx:
; THR to the console (not while LCR.DLAB), LSR says transmitter empty, IIR
; no interrupt, LCR kept, the rest reads 0 (serial_ioport_read/write)
serial_ioport:
    mov ecx, [eax + kvm_vcpu.kvm]
    cmp dword [eax + kvm_vcpu.pio_in], 0
    jne .read
    cmp edx, UART_LCR_OFFSET
    je .lcr
    test edx, edx
    jne .ignore
    test dword [ecx + kvm.serial_lcr], UART_LCR_DLAB
    jne .ignore
    mov eax, [eax + kvm_vcpu.pio_data]
    mov edx, eax
    mov eax, ecx
    jmp serial_putc_vm
.lcr:
    mov eax, [eax + kvm_vcpu.pio_data]
    mov [ecx + kvm.serial_lcr], eax
.ignore:
    ret
.read:
    xor ecx, ecx
    cmp edx, UART_LSR
    jne .iir
    mov ecx, UART_LSR_THRE | UART_LSR_TEMT
.iir:
    cmp edx, UART_IIR_OFFSET
    jne .lcr_read
    mov ecx, UART_IIR_NO_INT
.lcr_read:
    cmp edx, UART_LCR_OFFSET
    jne .set
    mov edx, [eax + kvm_vcpu.kvm]
    mov ecx, [edx + kvm.serial_lcr]
.set:
    mov [eax + kvm_vcpu.pio_data], ecx
    ret
UART_IIR_OFFSET = 2
UART_LCR_OFFSET = 3
UART_LCR_DLAB   = 0x80
UART_LSR_TEMT   = 0x40
UART_IIR_NO_INT = 1

; serial_putc_vm — byte dl from VM eax's serial port: collect a line; at a
; newline (or a full buffer) print it as "NAME: line" (qemu_chr_write to a
; line-buffered console backend); carriage returns are dropped
serial_putc_vm:
    and edx, 0xff
    cmp edx, '\r'
    je .done
    cmp edx, '\n'
    je flush_vm_console
    mov ecx, [eax + kvm.con_len]
    mov [eax + kvm.con_buf + ecx], dl
    inc ecx
    mov [eax + kvm.con_len], ecx
    cmp ecx, KVM_CON_BUF - 1
    jae flush_vm_console
.done:
    ret

; flush_vm_console — print VM eax's pending console line with its name
flush_vm_console:
    mov ecx, [eax + kvm.con_len]
    mov byte [eax + kvm.con_buf + ecx], 0
    mov dword [eax + kvm.con_len], 0
    lea ecx, [eax + kvm.con_buf]
    push ecx
    push dword [eax + kvm.params]
    push msg_vm_console
    call printk
    add esp, 12
    ret

; vdisk_ioport — the virtual disk's register edx for vCPU eax: reads of
; every register; aligned 32-bit writes of LBA, COUNT, DMA_ADDR, VECTOR,
; ACK (clears DONE/ERROR) and COMMAND (a request is checked here — command,
; count, range of the VM's region, DMA inside guest memory — and queued for
; the I/O thread's loop; a bad one completes with ERROR; a command while
; BUSY only sets ERROR, as on the physical controller)
vdisk_ioport:
    push ebx
    push esi
    mov ebx, [eax + kvm_vcpu.kvm]
    mov esi, eax
    cmp dword [esi + kvm_vcpu.pio_in], 0
    jne .read
    cmp dword [esi + kvm_vcpu.pio_size], 4
    jne .done
    test edx, 3
    jne .done
    mov eax, [esi + kvm_vcpu.pio_data]
    cmp edx, DISK_LBA
    je .lba
    cmp edx, DISK_COUNT
    je .count
    cmp edx, DISK_DMA_ADDR
    je .dma
    cmp edx, VDISK_VECTOR
    je .vector
    cmp edx, DISK_ACK
    je .ack
    cmp edx, DISK_COMMAND
    jne .done
    test dword [ebx + kvm.vdisk_status], DISK_BUSY
    jne .busy
    mov [ebx + kvm.vdisk_command], eax
    mov dword [ebx + kvm.vdisk_status], DISK_BUSY
    mov dword [ebx + kvm.vdisk_state], VDISK_QUEUED
    cmp eax, DISK_CMD_READ
    je .check
    cmp eax, DISK_CMD_WRITE
    jne .bad
.check:
    mov ecx, [ebx + kvm.vdisk_count]
    test ecx, ecx
    je .bad
    cmp ecx, VDISK_SECTORS
    ja .bad
    mov eax, [ebx + kvm.vdisk_lba]
    cmp eax, VDISK_SECTORS
    jae .bad
    add eax, ecx
    cmp eax, VDISK_SECTORS
    ja .bad
    shl ecx, SECTOR_SHIFT        ; bytes
    mov eax, [ebx + kvm.vdisk_dma]
    cmp eax, [ebx + kvm.mem_size]
    jae .bad
    add eax, ecx
    jb .bad
    cmp eax, [ebx + kvm.mem_size]
    ja .bad
    jmp .done
.bad:
    mov dword [ebx + kvm.vdisk_status], DISK_DONE | DISK_ERROR
    mov dword [ebx + kvm.vdisk_state], VDISK_COMPLETE
    jmp .done
.busy:
    or dword [ebx + kvm.vdisk_status], DISK_ERROR
    jmp .done
.lba:
    mov [ebx + kvm.vdisk_lba], eax
    jmp .done
.count:
    mov [ebx + kvm.vdisk_count], eax
    jmp .done
.dma:
    mov [ebx + kvm.vdisk_dma], eax
    jmp .done
.vector:
    and eax, APIC_VECTOR_MASK
    mov [ebx + kvm.vdisk_vector], eax
    jmp .done
.ack:
    test eax, 1
    je .done
    and dword [ebx + kvm.vdisk_status], ~(DISK_DONE | DISK_ERROR) & 0xffffffff
    jmp .done
.read:
    and edx, ~3 & 0xffffffff
    xor eax, eax
    cmp edx, DISK_LBA
    jne .r_count
    mov eax, [ebx + kvm.vdisk_lba]
.r_count:
    cmp edx, DISK_COUNT
    jne .r_dma
    mov eax, [ebx + kvm.vdisk_count]
.r_dma:
    cmp edx, DISK_DMA_ADDR
    jne .r_command
    mov eax, [ebx + kvm.vdisk_dma]
.r_command:
    cmp edx, DISK_COMMAND
    jne .r_status
    mov eax, [ebx + kvm.vdisk_command]
.r_status:
    cmp edx, DISK_STATUS
    jne .r_capacity
    mov eax, [ebx + kvm.vdisk_status]
.r_capacity:
    cmp edx, DISK_CAPACITY
    jne .r_vector
    mov eax, VDISK_SECTORS
.r_vector:
    cmp edx, VDISK_VECTOR
    jne .r_done
    mov eax, [ebx + kvm.vdisk_vector]
.r_done:
    mov [esi + kvm_vcpu.pio_data], eax
.done:
    pop esi
    pop ebx
    ret
SECTOR_SHIFT = 9
.if (1 << SECTOR_SHIFT) != SECTOR_SIZE
.error "SECTOR_SHIFT must match SECTOR_SIZE"
.endif

; vdisk_progress — move VM eax's virtual-disk request on: a queued one is
; issued to the physical disk (waiting DISK_RETRY_US while another request
; holds it), an in-flight one is complete once disk_interrupt has released
; the disk (it wakes this thread), a complete one raises the guest's
; vector on vCPU 0. eax = 1 if something was done (the caller looks again
; before sleeping). Runs in the I/O thread with its state possibly
; TASK_INTERRUPTIBLE; sets TASK_RUNNING itself before anything that sleeps.
vdisk_progress:
    push ebx
    push esi
    mov ebx, eax
    GET_CURRENT esi
    mov eax, [ebx + kvm.vdisk_state]
    cmp eax, VDISK_QUEUED
    je .issue
    cmp eax, VDISK_INFLIGHT
    je .inflight
    cmp eax, VDISK_COMPLETE
    je .complete
    xor eax, eax
    jmp .out
.inflight:
    xor eax, eax
    cmp [disk_waiter], esi
    je .out                      ; still on the disk
    mov dword [ebx + kvm.vdisk_status], DISK_DONE
    mov dword [ebx + kvm.vdisk_state], VDISK_COMPLETE
    mov eax, [ebx + kvm.vdisk_lba]
    trace block_rq_complete, eax
    mov eax, 1
    jmp .out
.complete:
    mov dword [ebx + kvm.vdisk_state], VDISK_IDLE
    mov edx, [ebx + kvm.vdisk_vector]
    mov eax, [ebx + kvm.vcpus]
    test edx, edx
    je .done
    test eax, eax
    je .done
    call kvm_apic_set_irq        ; kvm_set_irq + kick: the completion interrupt
.done:
    mov eax, 1
    jmp .out
.issue:
    mov dword [esi + task.state], TASK_RUNNING
    LOCAL_IRQ_SAVE
    mov eax, disk_lock
    call raw_spin_lock
    cmp dword [disk_waiter], 0
    je .claim
    mov eax, disk_lock
    call raw_spin_unlock
    LOCAL_IRQ_RESTORE
    mov eax, DISK_RETRY_US
    call hrtimer_nanosleep_us
    mov eax, 1
    jmp .out
.claim:
    mov [disk_waiter], esi       ; disk_interrupt clears it and wakes this thread
    mov edx, DISK_PORT + DISK_LBA
    mov eax, [ebx + kvm.index]
    imul eax, VDISK_SECTORS
    add eax, [ebx + kvm.vdisk_lba]
    out dx, eax
    mov edx, DISK_PORT + DISK_COUNT
    mov eax, [ebx + kvm.vdisk_count]
    out dx, eax
    mov edx, DISK_PORT + DISK_DMA_ADDR
    mov eax, [ebx + kvm.mem_base]
    add eax, [ebx + kvm.vdisk_dma]
    out dx, eax
    mov edx, DISK_PORT + DISK_COMMAND
    mov eax, [ebx + kvm.vdisk_command]
    out dx, eax
    mov dword [ebx + kvm.vdisk_state], VDISK_INFLIGHT
    mov eax, disk_lock
    call raw_spin_unlock
    LOCAL_IRQ_RESTORE
    mov eax, [ebx + kvm.vdisk_lba]
    trace block_rq_issue, eax
    mov eax, 1
.out:
    pop esi
    pop ebx
    ret

.rodata
msg_vm_console: .asciz "%s: %s\n"
