; guests/tiny/main.s — the VMX demo's guest: greets through its (virtual)
; COM1, asks CPUID, runs five TSC-deadline timer interrupts on its virtual
; x2APIC, reports the tick count by hypercall and says it is done.
; Everything it touches is virtual: port I/O, MSRs and VMCALL exit to the
; hypervisor (firmware/hv-demo).
.base 0x1000

TICKS        = 5
TIMER_VECTOR = 0x20
PERIOD       = 100000           ; guest TSC cycles between deadlines (37 us)

.text
_start:
    mov esp, 0x8000
    mov eax, unexpected
    call idt_set_all
    mov ecx, TIMER_VECTOR
    mov eax, timer_isr
    call idt_set_gate
    mov esi, msg_hello
    call puts
    xor eax, eax
    cpuid                       ; exits; the hypervisor answers
    mov [vendor], ebx
    mov ecx, X2APIC_LVT_TIMER   ; exits: the virtual APIC
    mov eax, LVT_TIMER_TSC_DEADLINE | TIMER_VECTOR
    xor edx, edx
    wrmsr
    call arm_timer
    sti
.idle:
    hlt                         ; no HLT exiting: the CPU sleeps in the guest
    cmp dword [ticks], TICKS
    jb .idle
    cli
    mov eax, VMXSIM_HC_PRINT
    mov ebx, [ticks]
    vmcall
    mov eax, VMXSIM_HC_DONE
    xor ebx, ebx                ; status 0: success
    vmcall
    jmp $

; arm_timer — deadline = now + PERIOD (guest TSC, i.e. with TSC_OFFSET)
arm_timer:
    rdtsc
    add eax, PERIOD
    adc edx, 0
    mov ecx, IA32_TSC_DEADLINE
    wrmsr
    ret

; timer_isr — count, EOI, re-arm
timer_isr:
    push eax
    push ecx
    push edx
    inc dword [ticks]
    mov ecx, X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    call arm_timer
    pop edx
    pop ecx
    pop eax
    iret

unexpected:
    mov eax, 99
    mov ebx, eax
    vmcall
    jmp $

.include "../../firmware/lib/console.s"
.include "../../firmware/lib/idt.s"

.rodata
msg_hello: .asciz "tiny guest: hello from VMX non-root mode\n"
.data
ticks:  .long 0
vendor: .long 0
