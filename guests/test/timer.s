; guests/test/timer.s — a KVM test guest: greets on its (virtual) COM1,
; then takes cfg_ticks TSC-deadline timer interrupts on its virtual x2APIC,
; cfg_period guest TSC cycles apart, either halting between them (cfg_halt
; = 1: HLT exits, the vCPU thread blocks) or spinning (WORK units, so the
; host interrupt arrives while the guest runs: an EXTERNAL_INTERRUPT exit).
; The ISR measures its latency from the programmed deadline with RDTSC (the
; in-guest IRT, as the paper's RTOS benchmark). At the end it reports the
; tick count and ends with VMXSIM_HC_DONE.
; Knobs (poked by tests before the run): cfg_ticks, cfg_period, cfg_halt,
; cfg_hello, cfg_cli (spin with interrupts off, so an interrupt has to
; wait for the interrupt window), cfg_boost (1: hc_boost(0, SCHED_FIFO, cfg_boost_prio) at the
; start of each ISR and hc_deboost(0) at its end, the paper's co-scheduling
; hooks).
.base 0x1000

TIMER_VECTOR = 0x30
SPIN_UNITS   = 50               ; WORK units of SPIN_UNIT cycles between checks
SPIN_UNIT    = 20

.text
_start:
    mov eax, unexpected
    call idt_set_all
    mov ecx, TIMER_VECTOR
    mov eax, timer_isr
    call idt_set_gate
    cmp dword [cfg_hello], 0
    je .timer
    mov esi, msg_hello
    call puts
.timer:
    mov ecx, X2APIC_LVT_TIMER   ; the virtual APIC: exits
    mov eax, LVT_TIMER_TSC_DEADLINE | TIMER_VECTOR
    xor edx, edx
    wrmsr
    call arm_timer
    sti
.wait:
    mov eax, [ticks]
    cmp eax, [cfg_ticks]
    jae .done
    cmp dword [cfg_halt], 0
    je .spin
    hlt                         ; exits: the vCPU thread blocks until the next tick
    jmp .wait
.spin:
    cmp dword [cfg_cli], 0
    je .spin_on
    cli                         ; a stretch with interrupts off: injection waits for the window
.spin_on:
    mov ecx, SPIN_UNITS
    work SPIN_UNIT
    sti
    jmp .wait
.done:
    cli
    mov eax, VMXSIM_HC_PRINT
    mov ebx, [ticks]
    vmcall
    mov eax, VMXSIM_HC_DONE
    xor ebx, ebx
    vmcall
    jmp $

; arm_timer — next deadline = now + cfg_period (guest TSC)
arm_timer:
    rdtsc
    add eax, [cfg_period]
    adc edx, 0
    mov [deadline], eax
    mov [deadline + 4], edx
    mov ecx, IA32_TSC_DEADLINE
    wrmsr
    ret

; timer_isr — latency = TSC now - deadline (min/max/sum), count, EOI, re-arm
timer_isr:
    push eax
    push ecx
    push edx
    rdtsc
    sub eax, [deadline]
    mov [lat_last], eax
    add [lat_sum], eax
    cmp eax, [lat_max]
    jbe .min
    mov [lat_max], eax
.min:
    cmp eax, [lat_min]
    jae .boost
    mov [lat_min], eax
.boost:
    cmp dword [cfg_boost], 0
    je .count
    push ebx
    mov eax, KVM_HC_BOOST
    xor ebx, ebx
    mov ecx, SCHED_FIFO
    mov edx, [cfg_boost_prio]
    vmcall
    mov [boost_result], eax
    pop ebx
.count:
    inc dword [ticks]
    mov ecx, X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    mov eax, [ticks]
    cmp eax, [cfg_ticks]
    jae .deboost
    call arm_timer
.deboost:
    cmp dword [cfg_boost], 0
    je .out
    push ebx
    mov eax, KVM_HC_DEBOOST
    xor ebx, ebx
    vmcall
    mov [deboost_result], eax
    pop ebx
.out:
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

.rodata
msg_hello: .asciz "timer guest: hello\n"

.data
.align 4
cfg_ticks:      .long 5
cfg_period:     .long 200000     ; 75 us at 2.67 GHz
cfg_halt:       .long 1
cfg_hello:      .long 0
cfg_cli:        .long 0
cfg_boost:      .long 0
cfg_boost_prio: .long 50
ticks:          .long 0
deadline:       .long 0, 0
lat_last:       .long 0
lat_min:        .long -1
lat_max:        .long 0
lat_sum:        .long 0
boost_result:   .long 0
deboost_result: .long 0
