; firmware/lib/idt.s — the interrupt descriptor table.
; Gates are this machine's 8-byte format: handler offset, then the attribute
; dword IDT_INTERRUPT_GATE (clears IF) or IDT_TRAP_GATE.
; Stands for Linux's idt_setup_* helpers (arch/x86/kernel/idt.c).

; idt_set_all — point all 256 vectors at the handler in eax and load IDTR
.text
idt_set_all:
    xor ecx, ecx
.fill:
    mov [idt + ecx*8], eax
    mov dword [idt + ecx*8 + 4], IDT_INTERRUPT_GATE
    inc ecx
    cmp ecx, 256
    jb .fill
    lidt [idt_descriptor]
    ret

; unexpected_interrupt — a default handler for every vector: report and
; stop with exit code 2 (Linux: the spurious/unhandled-vector paths end in
; a report; a firmware this small has nothing to recover)
unexpected_interrupt:
    mov esi, msg_unexpected_interrupt
    mov eax, 2
    jmp panic

; idt_set_gate — vector in ecx, handler in eax (interrupt gate)
idt_set_gate:
    mov [idt + ecx*8], eax
    mov dword [idt + ecx*8 + 4], IDT_INTERRUPT_GATE
    ret

.rodata
msg_unexpected_interrupt: .asciz "unexpected interrupt or exception\n"

.data
.align 8
idt_descriptor:
    .word 256*8 - 1
    .long idt

.bss
.align 16
idt: .space 256*8
