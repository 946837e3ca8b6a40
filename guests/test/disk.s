; guests/test/disk.s — a KVM test guest for the virtual disk (firmware/
; kernel/iothread.s): it fills a sector with a pattern, writes it at
; cfg_lba, reads it back into another buffer, each time sleeping (HLT) until
; the completion interrupt (VDISK_IRQ_VECTOR), then checks the data and
; reports: VMXSIM_HC_PRINT with the number of matching dwords, then one
; with the status of a bad request (beyond the disk), VMXSIM_HC_DONE.
; Knobs: cfg_lba, cfg_seed, cfg_spin (1: wait by spinning instead of HLT,
; so the completion has to interrupt the running guest: KVM kicks its CPU
; with an IPI).
.base 0x1000

VDISK_PORT   = 0xc100
VDISK_VECTOR_REG = 0x1c
VDISK_IRQ_VECTOR = 0x3e
DWORDS       = SECTOR_SIZE / 4
BEYOND       = 1 << 19          ; the virtual disk's capacity

.text
_start:
    mov eax, unexpected
    call idt_set_all
    mov ecx, VDISK_IRQ_VECTOR
    mov eax, disk_isr
    call idt_set_gate
    mov edx, VDISK_PORT + VDISK_VECTOR_REG
    mov eax, VDISK_IRQ_VECTOR
    out dx, eax
    ; the pattern: dword i = cfg_seed + i
    xor ecx, ecx
.fill:
    mov eax, [cfg_seed]
    add eax, ecx
    mov [wbuf + ecx*4], eax
    inc ecx
    cmp ecx, DWORDS
    jb .fill
    sti
    mov eax, [cfg_lba]
    mov ebx, wbuf
    mov ecx, DISK_CMD_WRITE
    call disk_rw
    mov eax, [cfg_lba]
    mov ebx, rbuf
    mov ecx, DISK_CMD_READ
    call disk_rw
    ; compare
    xor ecx, ecx
    xor ebx, ebx
.cmp:
    mov eax, [wbuf + ecx*4]
    cmp eax, [rbuf + ecx*4]
    jne .next
    inc ebx
.next:
    inc ecx
    cmp ecx, DWORDS
    jb .cmp
    mov [matches], ebx
    mov eax, VMXSIM_HC_PRINT
    vmcall
    ; a request beyond the disk completes at once with ERROR
    mov eax, BEYOND
    mov ebx, rbuf
    mov ecx, DISK_CMD_READ
    call disk_rw
    mov ebx, [last_status]
    mov eax, VMXSIM_HC_PRINT
    vmcall
    cli
    mov eax, VMXSIM_HC_DONE
    xor ebx, ebx
    vmcall
    jmp $

; disk_rw — one sector at LBA eax, buffer ebx, command ecx; sleeps until
; the completion interrupt; last_status = STATUS then, acknowledged
disk_rw:
    push ecx
    mov dword [done], 0
    mov edx, VDISK_PORT + DISK_LBA
    out dx, eax
    mov edx, VDISK_PORT + DISK_COUNT
    mov eax, 1
    out dx, eax
    mov edx, VDISK_PORT + DISK_DMA_ADDR
    mov eax, ebx
    out dx, eax
    mov edx, VDISK_PORT + DISK_COMMAND
    pop eax
    out dx, eax
.wait:
    cli
    cmp dword [done], 0
    jne .complete
    sti
    cmp dword [cfg_spin], 0
    jne .spin
    hlt
    jmp .wait
.spin:
    mov ecx, 10
    work 20
    jmp .wait
.complete:
    sti
    mov edx, VDISK_PORT + DISK_STATUS
    in eax, dx
    mov [last_status], eax
    mov edx, VDISK_PORT + DISK_ACK
    mov eax, 1
    out dx, eax
    ret

; disk_isr — completion: flag it, EOI
disk_isr:
    push eax
    push ecx
    push edx
    inc dword [done]
    inc dword [interrupts]
    mov ecx, X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    pop edx
    pop ecx
    pop eax
    iret

unexpected:
    mov eax, VMXSIM_HC_DONE
    mov ebx, 99
    vmcall
    jmp $

.include "../../firmware/lib/console.s"
.include "../../firmware/lib/idt.s"

.data
.align 4
cfg_lba:     .long 5
cfg_seed:    .long 0x1000
cfg_spin:    .long 0
done:        .long 0
interrupts:  .long 0
matches:     .long 0
last_status: .long 0
.bss
.align 16
wbuf: .space SECTOR_SIZE
rbuf: .space SECTOR_SIZE
