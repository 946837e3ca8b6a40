; firmware/hv-demo/main.s — a minimal hypervisor: the VMX demo.
;
; It enables VMX, builds one VMCS (external-interrupt exiting with
; acknowledge-on-exit, unconditional I/O exiting, every MSR access exits,
; flat EPT over a 1 MiB window of its own .bss, TSC offsetting) and
; launches the tiny guest the emulator loaded into that window
; (guests/tiny). Then it serves VM exits the way KVM's vmx_handle_exit()
; dispatches them: CPUID is emulated, port I/O to COM1 is forwarded to the
; real UART, the guest's x2APIC TSC-deadline writes become host TSC-deadline
; timer writes (KVM: the lapic timer hrtimer), the host timer interrupt
; arrives as an EXTERNAL_INTERRUPT exit and is injected into the guest as
; its timer vector — through the interrupt window if the guest has IF = 0 —
; and VMCALL is the hypercall interface (VMXSIM_HC_PRINT: print ebx,
; VMXSIM_HC_DONE: stop; KVM_HC_BOOST/DEBOOST accepted as no-ops).

GUEST_SIZE        = 0x100000    ; guest-physical window: 1 MiB
GUEST_ENTRY       = 0x1000      ; guests/tiny links at .base 0x1000
GUEST_STACK       = 0x8000
HOST_TIMER_VECTOR = 0xec        ; LOCAL_TIMER_VECTOR in Linux
GUEST_TIMER_VECTOR = 0x20       ; what the guest programmed into its LVT

.text
_start:
    mov esp, host_stack_top
    mov eax, unexpected_interrupt
    call idt_set_all
    ; host local APIC: software-enable, TSC-deadline timer on HOST_TIMER_VECTOR
    mov ecx, X2APIC_SVR
    xor edx, edx
    mov eax, SVR_ENABLE | 0xff
    wrmsr
    mov ecx, X2APIC_LVT_TIMER
    mov eax, LVT_TIMER_TSC_DEADLINE | HOST_TIMER_VECTOR
    wrmsr
    mov ebx, vmxon_pointer
    call vmx_on
    mov ebx, vmcs_pointer
    call vmcs_load
    call setup_vmcs
    mov esi, msg_launch
    call puts
    vmlaunch
    jmp vmx_insn_failed         ; VMLAUNCH only falls through on VMfail

; setup_vmcs — controls, host state and guest state of the one VMCS
; (KVM: init_vmcs / vmx_vcpu_reset)
setup_vmcs:
    mov eax, PIN_BASED_EXT_INTR_MASK
    mov ecx, IA32_VMX_PINBASED_CTLS
    call vmx_adjust_controls
    mov ecx, PIN_BASED_VM_EXEC_CONTROL
    call vmcs_write
    mov eax, CPU_BASED_UNCOND_IO_EXITING | CPU_BASED_USE_TSC_OFFSETTING | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS
    mov ecx, IA32_VMX_PROCBASED_CTLS
    call vmx_adjust_controls
    mov [proc_controls], eax
    mov ecx, CPU_BASED_VM_EXEC_CONTROL
    call vmcs_write
    mov eax, SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST
    mov ecx, IA32_VMX_PROCBASED_CTLS2
    call vmx_adjust_controls
    mov ecx, SECONDARY_VM_EXEC_CONTROL
    call vmcs_write
    mov eax, VM_EXIT_ACK_INTR_ON_EXIT
    mov ecx, IA32_VMX_EXIT_CTLS
    call vmx_adjust_controls
    mov ecx, VM_EXIT_CONTROLS
    call vmcs_write
    xor eax, eax
    mov ecx, IA32_VMX_ENTRY_CTLS
    call vmx_adjust_controls
    mov ecx, VM_ENTRY_CONTROLS
    call vmcs_write
    ; flat EPT: descriptor = {host base of the window, its size}
    mov dword [ept_descriptor], guest_memory
    mov dword [ept_descriptor + 4], GUEST_SIZE
    mov eax, ept_descriptor | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4
    mov ecx, EPT_POINTER
    call vmcs_write
    ; guest TSC starts near 0: TSC_OFFSET = -TSC (64-bit)
    rdtsc
    mov ebx, eax
    mov esi, edx
    xor eax, eax
    xor edx, edx
    sub eax, ebx
    sbb edx, esi
    mov [tsc_offset], eax
    mov [tsc_offset + 4], edx
    mov ecx, TSC_OFFSET
    call vmcs_write
    mov eax, edx
    mov ecx, TSC_OFFSET + 1     ; the high half of a 64-bit field
    call vmcs_write
    ; host state: where exits land
    mov eax, cr0
    mov ecx, HOST_CR0
    call vmcs_write
    mov eax, cr4
    mov ecx, HOST_CR4
    call vmcs_write
    mov eax, vmexit_entry
    mov ecx, HOST_RIP
    call vmcs_write
    mov eax, host_stack_top
    mov ecx, HOST_RSP
    call vmcs_write
    mov eax, idt
    mov ecx, HOST_IDTR_BASE
    call vmcs_write
    ; guest state: flat, interrupts off, at the guest's entry point
    mov eax, 0x21               ; PE | NE (CR0 fixed bits)
    mov ecx, GUEST_CR0
    call vmcs_write
    mov eax, X86_CR4_VMXE       ; fixed in VMX operation; the shadow hides it
    mov ecx, GUEST_CR4
    call vmcs_write
    mov ecx, CR4_GUEST_HOST_MASK
    call vmcs_write
    mov eax, GUEST_ENTRY
    mov ecx, GUEST_RIP
    call vmcs_write
    mov eax, GUEST_STACK
    mov ecx, GUEST_RSP
    call vmcs_write
    mov eax, 2                  ; RFLAGS: only the reserved bit 1
    mov ecx, GUEST_RFLAGS
    call vmcs_write
    mov eax, -1                 ; no shadow VMCS: link pointer all ones
    mov ecx, VMCS_LINK_POINTER
    call vmcs_write
    mov ecx, VMCS_LINK_POINTER + 1
    call vmcs_write
    ret

; vmexit_entry — HOST_RIP: save the guest's general registers (the CPU does
; not), then dispatch on the exit reason (KVM: vmx_vmexit + vmx_handle_exit)
vmexit_entry:
    mov [guest_regs + 0], eax
    mov [guest_regs + 4], ecx
    mov [guest_regs + 8], edx
    mov [guest_regs + 12], ebx
    mov [guest_regs + 20], ebp
    mov [guest_regs + 24], esi
    mov [guest_regs + 28], edi
    mov ecx, VM_EXIT_REASON
    call vmcs_read
    and eax, 0xffff
    cmp eax, 64
    jae bad_exit
    inc dword [exit_counts + eax*4]
    cmp eax, EXIT_REASON_EXTERNAL_INTERRUPT
    je handle_external_interrupt
    cmp eax, EXIT_REASON_INTERRUPT_WINDOW
    je handle_interrupt_window
    cmp eax, EXIT_REASON_CPUID
    je handle_cpuid
    cmp eax, EXIT_REASON_VMCALL
    je handle_vmcall
    cmp eax, EXIT_REASON_IO_INSTRUCTION
    je handle_io
    cmp eax, EXIT_REASON_MSR_READ
    je handle_rdmsr
    cmp eax, EXIT_REASON_MSR_WRITE
    je handle_wrmsr
bad_exit:
    push eax
    mov esi, msg_bad_exit
    call puts
    pop eax
    call putdec
    mov esi, msg_nl
    call puts
    mov eax, 1
    out EXIT_PORT, eax
    cli
    hlt

; skip_instruction — GUEST_RIP += VM_EXIT_INSTRUCTION_LEN (KVM: skip_emulated_instruction)
skip_instruction:
    mov ecx, VM_EXIT_INSTRUCTION_LEN
    call vmcs_read
    mov ebx, eax
    mov ecx, GUEST_RIP
    call vmcs_read
    add eax, ebx
    call vmcs_write
    ret

; handle_external_interrupt — acknowledged on exit: the vector is in
; VM_EXIT_INTR_INFO. The host timer means the guest's deadline passed: EOI
; the host APIC and make the guest's timer interrupt pending
; (KVM: handle_external_interrupt → apic_timer_fn → kvm_inject_apic_timer_irqs)
handle_external_interrupt:
    mov ecx, VM_EXIT_INTR_INFO
    call vmcs_read
    and eax, 0xff
    cmp eax, HOST_TIMER_VECTOR
    jne .eoi
    mov dword [virq_pending], 1
.eoi:
    mov ecx, X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    jmp resume_guest

; handle_interrupt_window — the guest can take interrupts again
handle_interrupt_window:
    mov eax, [proc_controls]
    mov ecx, CPU_BASED_VM_EXEC_CONTROL
    call vmcs_write
    jmp resume_guest

; handle_cpuid — run CPUID for the guest (KVM: kvm_emulate_cpuid)
handle_cpuid:
    mov eax, [guest_regs + 0]
    mov ecx, [guest_regs + 4]
    cpuid
    mov [guest_regs + 0], eax
    mov [guest_regs + 4], ecx
    mov [guest_regs + 8], edx
    mov [guest_regs + 12], ebx
    call skip_instruction
    jmp resume_guest

; handle_vmcall — hypercalls: eax = number (KVM: kvm_emulate_hypercall)
handle_vmcall:
    call skip_instruction
    mov eax, [guest_regs + 0]
    cmp eax, VMXSIM_HC_PRINT
    je .print
    cmp eax, VMXSIM_HC_DONE
    je guest_done
    cmp eax, KVM_HC_BOOST               ; co-scheduling calls: accepted, no host
    je .accept                          ; scheduler to act on in this demo
    cmp eax, KVM_HC_DEBOOST
    je .accept
    mov dword [guest_regs + 0], -KVM_ENOSYS
    jmp resume_guest
.accept:
    mov dword [guest_regs + 0], 0
    jmp resume_guest
.print:
    mov esi, msg_guest_value
    call puts
    mov eax, [guest_regs + 12]
    call putdec
    mov esi, msg_nl
    call puts
    mov dword [guest_regs + 0], 0
    jmp resume_guest

; handle_io — the guest's COM1: OUT to THR goes to the real UART, IN from
; LSR says "ready"; other ports read as all ones (QEMU's serial device role)
handle_io:
    mov ecx, EXIT_QUALIFICATION
    call vmcs_read
    mov ebx, eax
    shr ebx, 16                 ; port
    test eax, 8                 ; direction: 1 = IN
    jne .in
    cmp ebx, COM1_PORT
    jne .done
    mov eax, [guest_regs + 0]
    mov edx, COM1_PORT
    out dx, al
    jmp .done
.in:
    mov eax, [guest_regs + 0]
    or eax, 0xff
    cmp ebx, COM1_PORT + UART_LSR
    jne .set
    and eax, ~0xff & 0xffffffff
    or eax, 0x60                ; THRE | TEMT
.set:
    mov [guest_regs + 0], eax
.done:
    call skip_instruction
    jmp resume_guest

; handle_rdmsr — the virtual APIC's registers read as 0 here
handle_rdmsr:
    mov dword [guest_regs + 0], 0
    mov dword [guest_regs + 8], 0
    call skip_instruction
    jmp resume_guest

; handle_wrmsr — IA32_TSC_DEADLINE arms the host timer at the guest's
; deadline minus TSC_OFFSET; EOI and LVT writes are accepted
; (KVM: kvm_set_lapic_tscdeadline_msr → start_apic_timer)
handle_wrmsr:
    mov ecx, [guest_regs + 4]
    cmp ecx, IA32_TSC_DEADLINE
    jne .done
    mov eax, [guest_regs + 0]
    mov edx, [guest_regs + 8]
    mov ebx, eax
    or ebx, edx
    je .write                   ; 0 disarms the timer: pass it through
    sub eax, [tsc_offset]
    sbb edx, [tsc_offset + 4]
.write:
    wrmsr
.done:
    call skip_instruction
    jmp resume_guest

; resume_guest — inject a pending timer interrupt if the guest can take it,
; else ask for an interrupt-window exit; restore registers; VMRESUME
; (KVM: vcpu_enter_guest → kvm_check_and_inject_events → vmx_inject_irq)
resume_guest:
    cmp dword [virq_pending], 0
    je .enter
    mov ecx, GUEST_RFLAGS
    call vmcs_read
    test eax, 0x200
    je .window
    mov ecx, GUEST_INTERRUPTIBILITY_INFO
    call vmcs_read
    test eax, 3                 ; blocked by STI or MOV SS
    jne .window
    mov eax, GUEST_TIMER_VECTOR | INTR_TYPE_EXT_INTR | INTR_INFO_VALID_MASK
    mov ecx, VM_ENTRY_INTR_INFO_FIELD
    call vmcs_write
    mov dword [virq_pending], 0
    inc dword [injections]
    jmp .enter
.window:
    mov eax, [proc_controls]
    or eax, CPU_BASED_VIRTUAL_INTR_PENDING
    mov ecx, CPU_BASED_VM_EXEC_CONTROL
    call vmcs_write
.enter:
    mov eax, [guest_regs + 0]
    mov ecx, [guest_regs + 4]
    mov edx, [guest_regs + 8]
    mov ebx, [guest_regs + 12]
    mov ebp, [guest_regs + 20]
    mov esi, [guest_regs + 24]
    mov edi, [guest_regs + 28]
    vmresume
    jmp vmx_insn_failed

; guest_done — VMXSIM_HC_DONE(status in ebx): report what the hypervisor saw and stop with that status
guest_done:
    mov esi, msg_done
    call puts
    mov eax, [injections]
    call putdec
    mov esi, msg_exits
    call puts
    xor ebx, ebx
    xor edi, edi
.sum:
    add edi, [exit_counts + ebx*4]
    inc ebx
    cmp ebx, 64
    jb .sum
    mov eax, edi
    call putdec
    mov esi, msg_nl
    call puts
    mov eax, [guest_regs + 12]  ; the guest's status (EBX) is the machine's exit code
    out EXIT_PORT, eax
    cli
    hlt

.include "../lib/console.s"
.include "../lib/idt.s"
.include "../lib/vmx.s"

.rodata
msg_launch:      .asciz "hv: VMXON done, launching the guest\n"
msg_guest_value: .asciz "hv: guest hypercall print: "
msg_done:        .asciz "hv: guest done; timer interrupts injected: "
msg_exits:       .asciz ", VM exits handled: "
msg_bad_exit:    .asciz "hv: unexpected VM exit, reason "
msg_nl:          .asciz "\n"

.data
.align 8
vmxon_pointer:   .long vmxon_region, 0
vmcs_pointer:    .long vmcs_region, 0
tsc_offset:      .long 0, 0
proc_controls:   .long 0
virq_pending:    .long 0
injections:      .long 0

.bss
.align 4096
vmxon_region:    .space 4096
vmcs_region:     .space 4096
ept_descriptor:  .space 4096
guest_memory:    .space GUEST_SIZE
guest_regs:      .space 32
exit_counts:     .space 64*4
                 .space 4096
host_stack_top:
