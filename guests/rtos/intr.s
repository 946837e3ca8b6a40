; guests/rtos/intr.s — interrupts: the vector stubs, the interrupt-connect
; table, interrupt entry and exit (VxWorks intArchLib/intLib: intConnect,
; intEnt, intExit), and the fatal-exception handler (excLib's role).
;
; Vectors INTR_FIRST .. INTR_FIRST+INTR_COUNT-1 (pc386: INT_NUM_IRQ0 0x20
; and up) have stubs. A stub's first instruction after saving eax/edx is
; RDTSC: every interrupt is time-stamped on arrival (intr_stamp), which is
; what the IRT benchmark measures against; `trace isr_entry` comes after it
; so the mark does not perturb the stamp. Then the common part saves the
; other registers (the frame of sched.s), calls the connected routine as
; routine(parameter) — C-like, from the intConnect table — writes the EOI
; and leaves through intExit, which switches tasks if the ISR made a
; better task ready and deboosts the vCPU if no real-time task is ready.

INTR_FIRST = 0x20
INTR_COUNT = 16

; INTR_STUB vec — the IDT entry point of one vector
.macro INTR_STUB vec
intr_stub_\vec:
    push eax
    push edx
    rdtsc                       ; the interrupt's arrival: the IRT stamp
    trace isr_entry, eax        ; value: low half of the stamp
    mov [intr_stamp], eax
    mov [intr_stamp + 4], edx
    mov eax, \vec
    jmp intr_common
.endm

.text
INTR_STUB 0x20
INTR_STUB 0x21
INTR_STUB 0x22
INTR_STUB 0x23
INTR_STUB 0x24
INTR_STUB 0x25
INTR_STUB 0x26
INTR_STUB 0x27
INTR_STUB 0x28
INTR_STUB 0x29
INTR_STUB 0x2a
INTR_STUB 0x2b
INTR_STUB 0x2c
INTR_STUB 0x2d
INTR_STUB 0x2e
INTR_STUB 0x2f

; intr_common — intEnt, the connected routine, EOI, intExit. eax = vector.
intr_common:
    push ecx
    push ebx
    push ebp
    push esi
    push edi
    inc dword [intr_nest]       ; intCnt: in an ISR now
    mov ebx, eax
    push dword [intr_table + ebx*8 - INTR_FIRST*8 + 4]
    call [intr_table + ebx*8 - INTR_FIRST*8]
    add esp, 4
    ; EOI to the (virtual) local APIC: the BSP's sysIntEOI
    mov ecx, X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    ; fall through

; int_exit — intExit: back to the interrupted code, or to a better task
int_exit:
    trace isr_exit, ebx
    dec dword [intr_nest]
    jne .resume                 ; nested (interrupt gates keep this from happening)
    call cosched_intr_exit      ; co-scheduling: deboost if no real-time task is ready
    mov ebx, [task_current]
    test ebx, ebx
    je .resume                  ; the idle loop: it dispatches by itself
    cmp ebx, [ready_head]
    je .resume                  ; the interrupted task is still the one to run
    mov [ebx + tcb.sp], esp     ; preempted: the frame on its stack is its context
    jmp reschedule
.resume:
    pop edi
    pop esi
    pop ebp
    pop ebx
    pop ecx
    pop edx
    pop eax
    iret

; intr_init — every vector to the fatal handler, then the stubs' vectors to
; intr_stray until something is connected (excVecInit + intLib init)
intr_init:
    mov eax, exc_fatal
    call idt_set_all
    xor ebx, ebx
.next:
    mov dword [intr_table + ebx*8], intr_stray
    mov dword [intr_table + ebx*8 + 4], 0
    mov eax, [intr_stub_table + ebx*4]
    lea ecx, [ebx + INTR_FIRST]
    call idt_set_gate
    inc ebx
    cmp ebx, INTR_COUNT
    jb .next
    ret

; intConnect(vector, routine, parameter) — call routine(parameter) when the
; vector's interrupt arrives. OK, or ERROR for a vector without a stub.
; (VxWorks intArchLib: intConnect)
intConnect:
    mov eax, [esp + 4]
    sub eax, INTR_FIRST
    cmp eax, INTR_COUNT
    jae .bad                    ; unsigned: below INTR_FIRST too
    pushfd
    cli
    mov ecx, [esp + 12]
    mov [intr_table + eax*8], ecx
    mov ecx, [esp + 16]
    mov [intr_table + eax*8 + 4], ecx
    popfd
    mov eax, OK
    ret
.bad:
    mov eax, ERROR
    ret

; intr_stray — the routine of a vector nobody connected: count it
intr_stray:
    inc dword [intr_stray_count]
    ret

; exc_fatal — an exception or an interrupt without a stub: report and stop
; (excLib's excExcHandle → reboot; here the hypervisor's DONE call)
exc_fatal:
    mov esi, msg_exc_fatal
    call puts
    mov eax, VMXSIM_HC_DONE
    mov ebx, 0xe
    vmcall
    cli
    hlt
    jmp exc_fatal

.rodata
.align 4
intr_stub_table:
    .long intr_stub_0x20, intr_stub_0x21, intr_stub_0x22, intr_stub_0x23
    .long intr_stub_0x24, intr_stub_0x25, intr_stub_0x26, intr_stub_0x27
    .long intr_stub_0x28, intr_stub_0x29, intr_stub_0x2a, intr_stub_0x2b
    .long intr_stub_0x2c, intr_stub_0x2d, intr_stub_0x2e, intr_stub_0x2f
msg_exc_fatal: .asciz "rtos: fatal: unexpected exception or interrupt\n"

.data
.align 4
intr_nest:        .long 0       ; intCnt: interrupt nesting depth
intr_stray_count: .long 0
intr_stamp:       .long 0, 0    ; TSC at the current interrupt's arrival

.bss
.align 4
intr_table: .space INTR_COUNT * 8   ; {routine, parameter} per vector
