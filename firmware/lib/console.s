; firmware/lib/console.s — early console output on the 16550 UART at COM1
; and the spinlock that serialises it between CPUs.
; Stands for Linux's early_serial_write() / printk's console path and
; arch_spin_lock() (a test-and-set lock on LOCK CMPXCHG).
;
; Calling convention (as in the kernel's asm helpers): arguments in
; registers, eax/ecx/edx clobbered, everything else preserved.

; serial_putc — write the byte in al to COM1, waiting for THR empty
; (Linux: serial_putchar in arch/x86/boot/early_serial_console.c)
.text
serial_putc:
    push ebx
    mov ebx, eax
    mov edx, COM1_PORT + UART_LSR
.wait:
    in al, dx
    test eax, UART_LSR_THRE
    je .wait
    mov edx, COM1_PORT
    mov eax, ebx
    out dx, al
    pop ebx
    ret

; puts — write the zero-terminated string at esi
puts:
    push esi
.next:
    movzx eax, byte [esi]
    test eax, eax
    je .done
    call serial_putc
    inc esi
    jmp .next
.done:
    pop esi
    ret

; putdec — write eax as an unsigned decimal number
; (the %u of printk's vsnprintf)
putdec:
    push ebx
    push esi
    mov esi, putdec_buf + 11
    mov byte [esi], 0
    mov ebx, 10
.digit:
    xor edx, edx
    div ebx
    add edx, '0'
    dec esi
    mov byte [esi], dl
    test eax, eax
    jne .digit
    call puts
    pop esi
    pop ebx
    ret

; puthex — write eax as 0x followed by 8 hex digits (printk's %08x)
puthex:
    push ebx
    push esi
    mov ebx, eax
    mov esi, hex_prefix
    call puts
    mov esi, 8
.nibble:
    rol ebx, 4
    mov eax, ebx
    and eax, 0xf
    movzx eax, byte [eax + hex_digits]
    call serial_putc
    dec esi
    jne .nibble
    pop esi
    pop ebx
    ret

; panic — print the string at esi and stop the machine with exit code eax
; (Linux: panic(); here the exit port stands for the reboot that follows)
panic:
    push eax
    call puts
    pop eax
    out EXIT_PORT, eax
    cli
    hlt

; spin_lock — take the lock whose address is in ebx (arch_spin_lock)
spin_lock:
.retry:
    xor eax, eax
    mov ecx, 1
    lock cmpxchg [ebx], ecx
    je .taken
.spin:
    pause
    cmp dword [ebx], 0
    jne .spin
    jmp .retry
.taken:
    ret

; spin_unlock — release the lock whose address is in ebx (arch_spin_unlock)
spin_unlock:
    mov dword [ebx], 0
    ret

.rodata
hex_prefix:  .asciz "0x"
hex_digits:  .ascii "0123456789abcdef"

.bss
putdec_buf:  .space 12
