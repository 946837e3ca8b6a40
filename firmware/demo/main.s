; firmware/demo/main.s — the machine-core demo.
;
; The bootstrap processor brings up CPU 1 with INIT + STARTUP IPIs (SDM
; 8.4.4.1, Linux's wakeup_secondary_cpu_via_init), then every CPU enables its
; local APIC, runs a periodic APIC timer and counts TICKS timer interrupts,
; sends one fixed IPI to the other CPU, waits for the other CPU's IPI, and
; prints a line on the UART. When both are done CPU 0 writes the exit port.

TICKS        = 5
TIMER_VECTOR = 0x20            ; LOCAL_TIMER_VECTOR's role in Linux
IPI_VECTOR   = 0xf0            ; a CALL_FUNCTION_VECTOR-like fixed IPI
TIMER_COUNT  = 50000           ; bus ticks at divide-by-1: 50000 x 20 cycles = 375 us
STACK_SIZE   = 4096
NCPUS        = 2

.text
_start:
    mov esp, stacks + STACK_SIZE
    call idt_init
    ; wake CPU 1 (x2APIC ICR: destination in edx, command in eax)
    mov ecx, X2APIC_ICR
    mov edx, 1
    mov eax, ICR_INIT | ICR_LEVEL_ASSERT
    wrmsr
    mov eax, ICR_STARTUP | (ap_trampoline >> 12)
    wrmsr
    xor ebx, ebx
    jmp cpu_main

; idt_init — every vector to unexpected_interrupt, then the timer and IPI
; handlers (Linux: idt_setup_apic_and_irq_gates)
idt_init:
    mov eax, unexpected_interrupt
    call idt_set_all
    mov ecx, TIMER_VECTOR
    mov eax, timer_interrupt
    call idt_set_gate
    mov ecx, IPI_VECTOR
    mov eax, ipi_interrupt
    call idt_set_gate
    ret

; cpu_main — per-CPU part, ebx = this CPU's number
cpu_main:
    lidt [idt_descriptor]
    ; software-enable the local APIC (SVR bit 8) with spurious vector 0xff
    mov ecx, X2APIC_SVR
    xor edx, edx
    mov eax, SVR_ENABLE | 0xff
    wrmsr
    ; periodic timer: divide by 1 (0b1011), vector, initial count
    mov ecx, X2APIC_TIMER_DIVIDE
    mov eax, 0xb
    wrmsr
    mov ecx, X2APIC_LVT_TIMER
    mov eax, LVT_TIMER_PERIODIC | TIMER_VECTOR
    wrmsr
    mov ecx, X2APIC_TIMER_INITIAL_COUNT
    mov eax, TIMER_COUNT
    wrmsr
    sti
.wait_ticks:
    hlt
    cmp dword [ticks + ebx*4], TICKS
    jb .wait_ticks
    ; stop the timer, then send our IPI to the other CPU
    mov ecx, X2APIC_TIMER_INITIAL_COUNT
    xor eax, eax
    xor edx, edx
    wrmsr
    mov ecx, X2APIC_ICR
    mov edx, ebx
    xor edx, 1
    mov eax, IPI_VECTOR
    wrmsr
    ; wait for the other CPU's IPI; cli/check/sti;hlt closes the lost-wakeup
    ; window: the STI shadow lets HLT start before the IPI can be taken
.wait_ipi:
    cli
    cmp dword [ipis + ebx*4], 0
    jne .report
    sti
    hlt
    jmp .wait_ipi
.report:
    sti
    push ebx
    mov ebx, console_lock
    call spin_lock
    pop ebx
    mov esi, msg_cpu
    call puts
    mov eax, ebx
    call putdec
    mov esi, msg_ticks
    call puts
    mov eax, [ticks + ebx*4]
    call putdec
    mov esi, msg_ipis
    call puts
    mov eax, [ipis + ebx*4]
    call putdec
    mov esi, msg_tsc
    call puts
    rdtsc
    call puthex
    mov esi, msg_nl
    call puts
    push ebx
    mov ebx, console_lock
    call spin_unlock
    pop ebx
    mov eax, 1
    lock xadd [cpus_done], eax
    test ebx, ebx
    jne .park
.wait_all:
    pause
    cmp dword [cpus_done], NCPUS
    jb .wait_all
    mov esi, msg_done
    call puts
    xor eax, eax
    out EXIT_PORT, eax
.park:
    cli
    hlt

; ap_trampoline — where a STARTUP IPI starts an application processor
; (vector = address >> 12, so it is page aligned; Linux: trampoline_start)
.align 4096
ap_trampoline:
    mov ecx, X2APIC_ID
    rdmsr
    mov ebx, eax
    mov esp, eax
    add esp, 1
    imul esp, STACK_SIZE
    add esp, stacks
    jmp cpu_main

; timer_interrupt — the local APIC timer (Linux: sysvec_apic_timer_interrupt)
timer_interrupt:
    push eax
    push ecx
    push edx
    mov ecx, X2APIC_ID
    rdmsr
    inc dword [ticks + eax*4]
    call apic_eoi
    pop edx
    pop ecx
    pop eax
    iret

; ipi_interrupt — the fixed IPI from the other CPU
ipi_interrupt:
    push eax
    push ecx
    push edx
    mov ecx, X2APIC_ID
    rdmsr
    inc dword [ipis + eax*4]
    call apic_eoi
    pop edx
    pop ecx
    pop eax
    iret

; apic_eoi — signal end of interrupt (x2APIC EOI MSR takes 0; Linux: apic_eoi)
apic_eoi:
    mov ecx, X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    ret

.include "../lib/console.s"
.include "../lib/idt.s"

.rodata
msg_cpu:        .asciz "cpu"
msg_ticks:      .asciz ": "
msg_ipis:       .asciz " timer interrupts, IPIs received: "
msg_tsc:        .asciz ", tsc "
msg_nl:         .asciz "\n"
msg_done:       .asciz "demo: both CPUs done\n"

.data
console_lock:   .long 0
cpus_done:      .long 0
ticks:          .long 0, 0
ipis:           .long 0, 0

.bss
.align 16
stacks:         .space STACK_SIZE * NCPUS
