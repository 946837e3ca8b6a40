; guests/gpos/io.s — the GPOS guest's block driver for the virtual disk of
; its VM (the I/O thread's device, firmware/kernel/iothread.s: the physical
; controller's registers at VDISK_PORT plus VDISK_VECTOR, the guest vector
; of its completion interrupt) and a bonnie-like I/O load on it.
;
; gpos_vdisk_rw issues one request of BONNIE_SECTORS sectors (DMA straight
; into guest memory) and sleeps TASK_UNINTERRUPTIBLE until the completion
; interrupt (GPOS_VDISK_VECTOR) wakes it (submit_bio_wait with a virtio-blk-
; like completion IRQ). One request at a time: only the bonnie thread uses
; the disk.
;
; gpos_bonnie (THREAD_LOAD sub-kind GPOS_BONNIE) loops over passes p = 1,
; 2, ... on a region of BONNIE_BLOCKS blocks of BONNIE_BYTES at
; BONNIE_LBA, as bonnie's three block phases:
;   write    block b filled with dword i = (p << 24) | (b << 12) | i
;   rewrite  each block read, every dword xor BONNIE_REWRITE_XOR, written back
;   read     each block read and checked against the rewritten pattern
;            (mismatching dwords counted in bonnie_errors)
; Counters (bytes per phase, guest TSC cycles of each phase of the last
; pass, requests, completion interrupts) are at the bonnie_* symbols;
; src-side readers compute throughput from them. bonnie_passes (a knob,
; default 0 = for ever) ends the load after that many passes; then, if no
; cyclictest and no benchmark is still to finish, the VM stops.

GPOS_BONNIE        = 7           ; bp_thread.vcpu of the THREAD_LOAD entry
GPOS_VDISK_VECTOR  = 0x50        ; above the device vectors (IRQ0_VECTOR + BP_IRQS)
BONNIE_SECTORS     = 8
BONNIE_BYTES       = BONNIE_SECTORS * SECTOR_SIZE
BONNIE_DWORDS      = BONNIE_BYTES / 4
BONNIE_BLOCKS      = 16          ; a 64 KiB region
BONNIE_LBA         = 0
BONNIE_REWRITE_XOR = 0x5a5a5a5a

.text
; gpos_vdisk_rw — one request: LBA eax, guest buffer edx, command ecx
; (DISK_CMD_READ / DISK_CMD_WRITE); sleeps until its completion
; interrupt; eax = the status read by the interrupt (DISK_DONE, | DISK_ERROR)
gpos_vdisk_rw:
    push ebx
    push esi
    push edi
    mov esi, eax
    mov edi, edx
    push ecx
    GET_CURRENT ebx
    mov [gpos_vdisk_waiter], ebx  ; the completion clears it and wakes us
    mov dword [ebx + task.state], TASK_UNINTERRUPTIBLE
    mov edx, VDISK_PORT + DISK_LBA
    mov eax, esi
    out dx, eax
    mov edx, VDISK_PORT + DISK_COUNT
    mov eax, BONNIE_SECTORS
    out dx, eax
    mov edx, VDISK_PORT + DISK_DMA_ADDR
    mov eax, edi
    out dx, eax
    mov edx, VDISK_PORT + DISK_COMMAND
    pop eax
    out dx, eax
    inc dword [bonnie_requests]
.wait:
    cmp [gpos_vdisk_waiter], ebx
    jne .complete
    call schedule
    mov dword [ebx + task.state], TASK_UNINTERRUPTIBLE
    jmp .wait
.complete:
    mov dword [ebx + task.state], TASK_RUNNING
    mov eax, [gpos_vdisk_status]
    pop edi
    pop esi
    pop ebx
    ret

; gpos_vdisk_interrupt — GPOS_VDISK_VECTOR (interrupt_handlers entry; eax =
; pt_regs, edx = vector): read and acknowledge the status, EOI, wake the
; waiting task
gpos_vdisk_interrupt:
    mov edx, VDISK_PORT + DISK_STATUS
    in eax, dx
    mov [gpos_vdisk_status], eax
    mov edx, VDISK_PORT + DISK_ACK
    mov eax, 1
    out dx, eax
    inc dword [gpos_vdisk_irqs]
    call apic_eoi
    mov eax, [gpos_vdisk_waiter]
    mov dword [gpos_vdisk_waiter], 0
    test eax, eax
    je .done
    jmp wake_up_process
.done:
    ret

; bonnie_fill — bonnie_buf = the write pattern of pass eax, block edx
bonnie_fill:
    shl eax, 24
    shl edx, 12
    or eax, edx
    xor ecx, ecx
.next:
    mov [bonnie_buf + ecx*4], eax
    inc eax
    inc ecx
    cmp ecx, BONNIE_DWORDS
    jb .next
    ret

; bonnie_rewrite_buf — every dword of bonnie_buf xor BONNIE_REWRITE_XOR
bonnie_rewrite_buf:
    xor ecx, ecx
.next:
    xor dword [bonnie_buf + ecx*4], BONNIE_REWRITE_XOR
    inc ecx
    cmp ecx, BONNIE_DWORDS
    jb .next
    ret

; bonnie_check — eax = dwords of bonnie_buf that differ from the rewritten
; pattern of pass eax, block edx
bonnie_check:
    push ebx
    shl eax, 24
    shl edx, 12
    or eax, edx
    xor ecx, ecx
    xor edx, edx
.next:
    mov ebx, eax
    xor ebx, BONNIE_REWRITE_XOR
    cmp [bonnie_buf + ecx*4], ebx
    je .same
    inc edx
.same:
    inc eax
    inc ecx
    cmp ecx, BONNIE_DWORDS
    jb .next
    mov eax, edx
    pop ebx
    ret

; bonnie_io — request on block esi of the region: command ecx; counts a
; failed one in bonnie_io_errors
bonnie_io:
    mov eax, esi
    imul eax, BONNIE_SECTORS
    add eax, BONNIE_LBA
    mov edx, bonnie_buf
    call gpos_vdisk_rw
    test eax, DISK_ERROR
    je .ok
    inc dword [bonnie_io_errors]
.ok:
    ret

; gpos_bonnie — the I/O load thread (see the top of this file)
gpos_bonnie:
    mov dword [interrupt_handlers + GPOS_VDISK_VECTOR*4], gpos_vdisk_interrupt
    mov edx, VDISK_PORT + VDISK_VECTOR
    mov eax, GPOS_VDISK_VECTOR
    out dx, eax
.pass:
    inc dword [bonnie_pass]
    ; write
    rdtsc
    mov edi, eax
    xor esi, esi
.write:
    mov eax, [bonnie_pass]
    mov edx, esi
    call bonnie_fill
    mov ecx, DISK_CMD_WRITE
    call bonnie_io
    add dword [bonnie_bytes_written], BONNIE_BYTES
    inc esi
    cmp esi, BONNIE_BLOCKS
    jb .write
    rdtsc
    sub eax, edi
    mov [bonnie_write_cycles], eax
    ; rewrite
    rdtsc
    mov edi, eax
    xor esi, esi
.rewrite:
    mov ecx, DISK_CMD_READ
    call bonnie_io
    call bonnie_rewrite_buf
    mov ecx, DISK_CMD_WRITE
    call bonnie_io
    add dword [bonnie_bytes_rewritten], BONNIE_BYTES
    inc esi
    cmp esi, BONNIE_BLOCKS
    jb .rewrite
    rdtsc
    sub eax, edi
    mov [bonnie_rewrite_cycles], eax
    ; read
    rdtsc
    mov edi, eax
    xor esi, esi
.read:
    mov ecx, DISK_CMD_READ
    call bonnie_io
    mov eax, [bonnie_pass]
    mov edx, esi
    call bonnie_check
    add [bonnie_errors], eax
    add dword [bonnie_bytes_read], BONNIE_BYTES
    inc esi
    cmp esi, BONNIE_BLOCKS
    jb .read
    rdtsc
    sub eax, edi
    mov [bonnie_read_cycles], eax
    inc dword [bonnie_passes_done]
    mov eax, [bonnie_passes]
    test eax, eax
    je .pass
    cmp [bonnie_passes_done], eax
    jb .pass
    ; done
    mov dword [bonnie_done], 1
    push dword [bonnie_errors]
    push dword [bonnie_read_cycles]
    push dword [bonnie_rewrite_cycles]
    push dword [bonnie_write_cycles]
    push dword [bonnie_passes_done]
    push msg_bonnie
    call printk
    add esp, 24
    cmp dword [BOOT_PARAMS + bp.cyclictest_interval_us], 0
    jne .exit                    ; cyclictest stops the VM
    call bench_count_expected
    cmp [bench_nr_done], eax
    jb .exit                     ; the last benchmark stops the VM
    xor eax, eax
    jmp kernel_power_off
.exit:
    ret

.rodata
msg_bonnie: .asciz "bonnie: %u passes, last: write %u rewrite %u read %u cycles, %u bad dwords\n"

.data
.align 4
bonnie_passes:          .long 0  ; knob: passes to run, 0 = for ever
bonnie_pass:            .long 0  ; the current pass (1, 2, ...)
bonnie_passes_done:     .long 0
bonnie_done:            .long 0
bonnie_bytes_written:   .long 0
bonnie_bytes_rewritten: .long 0
bonnie_bytes_read:      .long 0
bonnie_write_cycles:    .long 0  ; guest TSC cycles of the last pass's phases
bonnie_rewrite_cycles:  .long 0
bonnie_read_cycles:     .long 0
bonnie_requests:        .long 0
bonnie_errors:          .long 0  ; read-back dwords that differ from what was written
bonnie_io_errors:       .long 0  ; requests completed with DISK_ERROR
gpos_vdisk_irqs:        .long 0  ; completion interrupts
gpos_vdisk_status:      .long 0  ; the last completion's status
gpos_vdisk_waiter:      .long 0  ; the task sleeping on the request in flight

.bss
.align 16
bonnie_buf: .space BONNIE_BYTES
