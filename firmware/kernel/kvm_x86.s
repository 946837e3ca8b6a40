; firmware/kernel/kvm_x86.s — the architecture-level exit handlers and event
; injection of the KVM module: injecting the virtual APIC's interrupts (or
; an exception) before entry, with interrupt-window exiting when the guest
; cannot take one; CPUID; HLT; port I/O handed to the VM's I/O thread
; (Linux: arch/x86/kvm/x86.c, cpuid.c, vmx/vmx.c).

.text

; kvm_check_and_inject_events — before entry (interrupts off, VMCS
; current): a queued exception is injected first; otherwise the APIC's
; highest deliverable interrupt is injected if the guest can take it now
; (RFLAGS.IF, no STI/MOV-SS blocking) — IRR -> ISR, VM_ENTRY_INTR_INFO_FIELD,
; kvm_inj_virq — else interrupt-window exiting is requested; the execution
; controls are written if they changed (kvm_check_and_inject_events /
; inject_pending_event + vmx_inject_irq + enable_irq_window). eax = vcpu.
kvm_check_and_inject_events:
    push ebx
    push esi
    mov ebx, eax
    cmp dword [ebx + kvm_vcpu.exception], 0
    je .irq
    mov eax, [ebx + kvm_vcpu.exception_error]
    mov ecx, VM_ENTRY_EXCEPTION_ERROR_CODE
    call vmcs_writel
    mov eax, [ebx + kvm_vcpu.exception]
    mov dword [ebx + kvm_vcpu.exception], 0
    mov ecx, VM_ENTRY_INTR_INFO_FIELD
    call vmcs_writel
    mov eax, ebx                 ; an interrupt has to wait for the next entry
    call kvm_apic_has_interrupt
    cmp eax, 0
    jl .controls
    jmp .window
.irq:
    mov eax, ebx
    call kvm_apic_has_interrupt
    cmp eax, 0
    jl .no_window
    mov ecx, GUEST_RFLAGS        ; vmx_interrupt_allowed
    call vmcs_readl
    test eax, X86_EFLAGS_IF
    je .window
    mov ecx, GUEST_INTERRUPTIBILITY_INFO
    call vmcs_readl
    test eax, GUEST_INTR_STATE_BLOCKING
    jne .window
    mov eax, ebx
    call kvm_apic_get_interrupt  ; kvm_cpu_get_interrupt: IRR -> ISR
    trace kvm_inj_virq, eax
    or eax, INTR_TYPE_EXT_INTR | INTR_INFO_VALID_MASK
    mov ecx, VM_ENTRY_INTR_INFO_FIELD
    call vmcs_writel
    inc dword [ebx + kvm_vcpu.stat_irq_injections]
.no_window:
    and dword [ebx + kvm_vcpu.proc_ctls], ~CPU_BASED_VIRTUAL_INTR_PENDING & 0xffffffff
    jmp .controls
.window:
    or dword [ebx + kvm_vcpu.proc_ctls], CPU_BASED_VIRTUAL_INTR_PENDING
.controls:
    mov eax, [ebx + kvm_vcpu.proc_ctls]
    cmp eax, [ebx + kvm_vcpu.proc_ctls_vmcs]
    je .done
    mov [ebx + kvm_vcpu.proc_ctls_vmcs], eax
    mov ecx, CPU_BASED_VM_EXEC_CONTROL
    call vmcs_writel
.done:
    pop esi
    pop ebx
    ret

; kvm_inject_gp — queue #GP(0) for the next entry (kvm_inject_gp ->
; kvm_queue_exception_e). eax = vcpu.
kvm_inject_gp:
    mov dword [eax + kvm_vcpu.exception], VEC_GP | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_DELIVER_CODE_MASK | INTR_INFO_VALID_MASK
    mov dword [eax + kvm_vcpu.exception_error], 0
    ret

; handle_cpuid — CPUID: the host's answer for the guest's EAX/ECX, with VMX
; hidden, the hypervisor bit set, the vCPU's APIC ID and count in leaf 1,
; and KVM's signature at 0x40000000 (kvm_emulate_cpuid + the guest CPUID
; table QEMU would set). eax = vcpu.
handle_cpuid:
    push ebx
    push esi
    push edi
    mov esi, eax
    mov edi, [esi + kvm_vcpu.regs + VCPU_REGS_EAX]
    cmp edi, KVM_CPUID_SIGNATURE
    je .kvm
    mov eax, edi
    mov ecx, [esi + kvm_vcpu.regs + VCPU_REGS_ECX]
    cpuid
    cmp edi, 1
    jne .store
    and ecx, ~CPUID_ECX_VMX & 0xffffffff
    or ecx, CPUID_ECX_HYPERVISOR
    and ebx, 0xffff              ; APIC ID (31:24) and logical count (23:16): the VM's
    mov edi, [esi + kvm_vcpu.vcpu_id]
    shl edi, 24
    or ebx, edi
    mov edi, [esi + kvm_vcpu.kvm]
    mov edi, [edi + kvm.nr_vcpus]
    shl edi, 16
    or ebx, edi
    jmp .store
.kvm:
    mov eax, KVM_CPUID_SIGNATURE + 1     ; highest hypervisor leaf
    mov ebx, 0x4b4d564b          ; "KVMKVMKVM\0\0\0"
    mov ecx, 0x564b4d56
    mov edx, 0x4d
.store:
    mov [esi + kvm_vcpu.regs + VCPU_REGS_EAX], eax
    mov [esi + kvm_vcpu.regs + VCPU_REGS_EBX], ebx
    mov [esi + kvm_vcpu.regs + VCPU_REGS_ECX], ecx
    mov [esi + kvm_vcpu.regs + VCPU_REGS_EDX], edx
    mov eax, esi
    call kvm_skip_emulated_instruction
    mov eax, 1
    pop edi
    pop esi
    pop ebx
    ret

; handle_halt — HLT: past the instruction, the vCPU is halted; vcpu_run
; blocks it until an interrupt it can take is pending (IF as at the HLT)
; (handle_halt -> kvm_emulate_halt). eax = vcpu.
handle_halt:
    push ebx
    mov ebx, eax
    call kvm_skip_emulated_instruction
    mov eax, ebx
    mov edx, GUEST_RFLAGS
    call vmx_vcpu_vmread
    mov [ebx + kvm_vcpu.halt_rflags], eax
    mov dword [ebx + kvm_vcpu.mp_state], KVM_MP_STATE_HALTED
    mov eax, 1
    pop ebx
    ret

; handle_io — IO_INSTRUCTION: decode the exit qualification into the
; vCPU's pio request, hand it to the VM's I/O thread and wait for it (as
; KVM_EXIT_IO to QEMU and back through KVM_RUN), then complete an IN into
; the guest's EAX and skip the instruction (handle_io -> kvm_fast_pio ->
; complete_fast_pio_in). String and REP forms are not emulated: the VM
; stops. eax = vcpu.
handle_io:
    push ebx
    push esi
    mov ebx, eax
    mov edx, EXIT_QUALIFICATION
    call vmx_vcpu_vmread
    test eax, IO_QUAL_STRING | IO_QUAL_REP
    jne .string
    mov ecx, eax
    and ecx, IO_QUAL_SIZE_MASK
    inc ecx
    mov [ebx + kvm_vcpu.pio_size], ecx
    mov edx, eax
    and edx, IO_QUAL_IN
    mov [ebx + kvm_vcpu.pio_in], edx
    shr eax, IO_QUAL_PORT_SHIFT
    mov [ebx + kvm_vcpu.pio_port], eax
    trace kvm_pio, eax
    inc dword [ebx + kvm_vcpu.stat_io_exits]
    mov eax, [ebx + kvm_vcpu.pio_size]
    call pio_size_mask
    mov esi, eax
    and eax, [ebx + kvm_vcpu.regs + VCPU_REGS_EAX]
    mov [ebx + kvm_vcpu.pio_data], eax
    mov eax, KVM_EXIT_IO
    trace kvm_userspace_exit, eax
    mov eax, ebx
    call kvm_pio_to_iothread
    cmp dword [ebx + kvm_vcpu.pio_in], 0
    je .skip
    mov eax, [ebx + kvm_vcpu.pio_data]   ; complete_fast_pio_in: merge by size
    and eax, esi
    not esi
    and [ebx + kvm_vcpu.regs + VCPU_REGS_EAX], esi
    or [ebx + kvm_vcpu.regs + VCPU_REGS_EAX], eax
.skip:
    mov eax, ebx
    call kvm_skip_emulated_instruction
    mov eax, 1
    pop esi
    pop ebx
    ret
.string:
    mov ecx, eax
    mov eax, ebx
    mov edx, msg_string_io
    pop esi
    pop ebx
    jmp kvm_vcpu_fail

; pio_size_mask — eax = the operand mask of an access of eax bytes (1, 2, 4)
pio_size_mask:
    cmp eax, 1
    jne .word
    mov eax, 0xff
    ret
.word:
    cmp eax, 2
    jne .dword
    mov eax, 0xffff
    ret
.dword:
    mov eax, -1
    ret

.rodata
msg_string_io: .asciz "string/REP port I/O not emulated, exit qualification"
