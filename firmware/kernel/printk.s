; firmware/kernel/printk.s — console output: printk with a small format
; language, panic, and the early serial driver under them (Linux:
; kernel/printk/printk.c, lib/vsprintf.c, kernel/panic.c,
; arch/x86/boot/early_serial_console.c).

.text

; serial_putchar — write the byte in al to COM1, waiting for THR empty
; (early_serial_putc). Clobbers eax, edx.
serial_putchar:
    push ecx
    mov ecx, eax
    mov edx, COM1_PORT + UART_LSR
.wait:
    in al, dx
    test eax, UART_LSR_THRE
    je .wait
    mov edx, COM1_PORT
    mov eax, ecx
    out dx, al
    pop ecx
    ret

; print_str — write the zero-terminated string at eax (console_write)
print_str:
    push esi
    mov esi, eax
.next:
    movzx eax, byte [esi]
    test eax, eax
    je .done
    call serial_putchar
    inc esi
    jmp .next
.done:
    pop esi
    ret

; print_udec — eax as an unsigned decimal number (vsprintf's %u)
print_udec:
    push ebx
    push esi
    sub esp, DEC_BUF_SIZE
    lea esi, [esp + DEC_BUF_SIZE - 1]
    mov byte [esi], 0
    mov ebx, DECIMAL_BASE
.digit:
    xor edx, edx
    div ebx
    add edx, '0'
    dec esi
    mov byte [esi], dl
    test eax, eax
    jne .digit
    mov eax, esi
    call print_str
    add esp, DEC_BUF_SIZE
    pop esi
    pop ebx
    ret
DEC_BUF_SIZE = 12                ; 10 digits of a u32, a NUL, padding
DECIMAL_BASE = 10
HEX_DIGIT_BITS = 4
HEX_DIGITS_U32 = 8
HEX_TOP_DIGIT = 0xf0000000
HEX_DIGIT_MASK = 0xf

; print_hex — eax in hex without leading zeros (vsprintf's %x)
print_hex:
    push ebx
    push esi
    mov ebx, eax
    mov esi, HEX_DIGITS_U32      ; digits left
.skip:
    cmp esi, 1
    je .out
    test ebx, HEX_TOP_DIGIT
    jne .out
    shl ebx, HEX_DIGIT_BITS
    dec esi
    jmp .skip
.out:
    rol ebx, HEX_DIGIT_BITS
    mov eax, ebx
    and eax, HEX_DIGIT_MASK
    movzx eax, byte [hex_digits + eax]
    call serial_putchar
    dec esi
    jne .out
    pop esi
    pop ebx
    ret

; printk — formatted console output (printk/vprintk_emit). cdecl like every
; varargs function in Linux (regparm does not apply): the format at [esp+4],
; arguments after it; the caller pops. Conversions: %u %d %x %s %c %%.
; Lines from several CPUs never interleave: console_lock with interrupts
; off (skipped once an oops is in progress, like bust_spinlocks()).
printk:
    push ebp
    mov ebp, esp
    push ebx
    push esi
    push edi
    LOCAL_IRQ_SAVE
    mov ebx, [oops_in_progress]
    test ebx, ebx
    jne .format
    mov eax, console_lock
    call raw_spin_lock
.format:
    mov esi, [ebp + 8]
    lea edi, [ebp + 12]
.loop:
    movzx eax, byte [esi]
    inc esi
    test eax, eax
    je .finish
    cmp eax, '%'
    je .conversion
.literal:
    call serial_putchar
    jmp .loop
.conversion:
    movzx eax, byte [esi]
    inc esi
    cmp eax, 'u'
    je .conv_u
    cmp eax, 'd'
    je .conv_d
    cmp eax, 'x'
    je .conv_x
    cmp eax, 's'
    je .conv_s
    cmp eax, 'c'
    je .conv_c
    jmp .literal                 ; %% and anything unknown: print the character
.conv_u:
    mov eax, [edi]
    add edi, 4
    call print_udec
    jmp .loop
.conv_d:
    mov eax, [edi]
    add edi, 4
    test eax, eax
    jns .positive
    push eax
    mov eax, '-'
    call serial_putchar
    pop eax
    neg eax
.positive:
    call print_udec
    jmp .loop
.conv_x:
    mov eax, [edi]
    add edi, 4
    call print_hex
    jmp .loop
.conv_s:
    mov eax, [edi]
    add edi, 4
    call print_str
    jmp .loop
.conv_c:
    mov eax, [edi]
    add edi, 4
    jmp .literal
.finish:
    test ebx, ebx
    jne .restore
    mov eax, console_lock
    call raw_spin_unlock
.restore:
    LOCAL_IRQ_RESTORE
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

; panic — print "Kernel panic - not syncing: " and the string at eax, then
; stop the machine with exit code edx (kernel/panic.c; the exit port stands
; for the reboot that follows). Never returns.
panic:
    cli
    push edx
    push eax
    push msg_panic
    call printk
    add esp, 8
    pop eax
    out EXIT_PORT, eax
.halt:
    hlt
    jmp .halt

; kernel_power_off — report and stop the machine with exit code eax
; through the platform's pm_power_off (kernel_power_off in kernel/reboot.c).
; Never returns.
kernel_power_off:
    push eax
    push eax
    push msg_power_off
    call printk
    add esp, 8
    pop eax
    call [pm_power_off]
    cli
.halt:
    hlt
    jmp .halt

; native_power_off — the machine's power-off: the exit port with code eax
; (the default pm_power_off; a guest kernel installs a hypercall instead)
native_power_off:
    out EXIT_PORT, eax
    ret

.data
; pm_power_off — how this platform powers off (include/linux/pm.h)
pm_power_off:    .long native_power_off

.rodata
hex_digits:      .ascii "0123456789abcdef"
msg_panic:       .asciz "Kernel panic - not syncing: %s\n"
msg_power_off:   .asciz "kernel: power off (exit code %u)\n"

.data
.align 4
console_lock:     .long 0
oops_in_progress: .long 0
