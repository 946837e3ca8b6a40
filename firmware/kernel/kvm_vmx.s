; firmware/kernel/kvm_vmx.s — the VMX back end of the KVM module: VMXON per
; CPU, one VMCS per vCPU (set up, loaded on the CPU that runs it, cleared
; when it moves), the entry/exit stub that saves and restores the guest's
; general registers, the host interrupt that caused an EXTERNAL_INTERRUPT
; exit, and the exit dispatch table (Linux: arch/x86/kvm/vmx/vmx.c,
; vmenter.S).
;
; Every VMREAD/VMWRITE runs with interrupts off on the CPU whose current VMCS
; is the vCPU's: in the entry path, or through vmx_vcpu_vmread, which loads
; it first (the role of KVM's preempt notifier -> vmx_vcpu_load). Exit
; handlers run with interrupts on and may sleep.

VMX_EXIT_REASONS_FAILED_VMENTRY = 0x80000000

.text

; hardware_enable — VMX operation on cpu eax (the current one): CR0.NE,
; CR4.VMXE, its VMXON region stamped with the revision id, VMXON
; (hardware_enable -> kvm_cpu_vmxon). Interrupts off. Done the first time a
; vCPU is loaded on the CPU, so only CPUs that run vCPUs enter VMX operation.
hardware_enable:
    push ebx
    push esi
    mov ebx, eax
    mov eax, cr0
    or eax, X86_CR0_NE
    mov cr0, eax
    mov eax, cr4
    or eax, X86_CR4_VMXE
    mov cr4, eax
    mov esi, ebx
    shl esi, PAGE_SHIFT
    add esi, VMXON_AREA
    mov ecx, IA32_VMX_BASIC
    rdmsr
    mov [esi], eax               ; revision identifier
    mov [kvm_vmxon_ptr + ebx*8], esi
    mov dword [kvm_vmxon_ptr + ebx*8 + 4], 0
    lea eax, [kvm_vmxon_ptr + ebx*8]
    vmxon [eax]
    jbe vmx_insn_error
    mov dword [kvm_vmxon_done + ebx*4], 1
    pop esi
    pop ebx
    ret

; vmx_create_vcpu — the VMCS of vCPU eax: revision id, loaded on this CPU,
; every field set up (vmx_create_vcpu + vmx_vcpu_setup + vmx_vcpu_reset)
vmx_create_vcpu:
    push ebx
    mov ebx, eax
    mov ecx, IA32_VMX_BASIC
    rdmsr
    mov edx, [ebx + kvm_vcpu.vmcs_ptr]
    mov [edx], eax
    LOCAL_IRQ_SAVE
    mov eax, ebx
    call vmx_vcpu_load
    mov eax, ebx
    call vmx_vcpu_setup
    LOCAL_IRQ_RESTORE
    pop ebx
    ret

; vmx_vcpu_load — make vCPU eax's VMCS current on this CPU: VMXON here if
; not yet; a vCPU new to this CPU has its VMCS cleared (launch state clear,
; so the next entry is a VMLAUNCH) — KVM clears it on the old CPU by IPI
; (loaded_vmcs_clear); this machine keeps VMCS data off-chip, so clearing
; from the new CPU is equivalent — then VMPTRLD unless it is already
; current here (vmx_vcpu_load -> vmx_vcpu_load_vmcs). Interrupts off.
vmx_vcpu_load:
    push ebx
    push esi
    mov ebx, eax
    SMP_PROCESSOR_ID esi
    cmp dword [kvm_vmxon_done + esi*4], 0
    jne .on
    mov eax, esi
    call hardware_enable
.on:
    cmp [ebx + kvm_vcpu.cpu], esi
    je .current
    lea eax, [ebx + kvm_vcpu.vmcs_ptr]
    vmclear [eax]
    jbe vmx_insn_error
    mov dword [ebx + kvm_vcpu.launched], 0
    mov [ebx + kvm_vcpu.cpu], esi
    mov dword [kvm_loaded_vcpu + esi*4], 0
.current:
    cmp [kvm_loaded_vcpu + esi*4], ebx
    je .done
    lea eax, [ebx + kvm_vcpu.vmcs_ptr]
    vmptrld [eax]
    jbe vmx_insn_error
    mov [kvm_loaded_vcpu + esi*4], ebx
.done:
    pop esi
    pop ebx
    ret

; vmx_vcpu_free — vCPU eax gives up its VMCS: VMCLEAR, no CPU holds it
; (vmx_free_vcpu -> free_loaded_vmcs)
vmx_vcpu_free:
    push ebx
    mov ebx, eax
    LOCAL_IRQ_SAVE
    lea eax, [ebx + kvm_vcpu.vmcs_ptr]
    vmclear [eax]
    jbe vmx_insn_error
    SMP_PROCESSOR_ID eax
    cmp [kvm_loaded_vcpu + eax*4], ebx
    jne .cleared
    mov dword [kvm_loaded_vcpu + eax*4], 0
.cleared:
    mov dword [ebx + kvm_vcpu.cpu], -1
    LOCAL_IRQ_RESTORE
    pop ebx
    ret

; vmx_adjust_ctls — eax = wanted control bits, ecx = capability MSR: plus the
; must-be-1 bits, minus what the CPU cannot do (adjust_vmx_controls)
vmx_adjust_ctls:
    push ebx
    mov ebx, eax
    rdmsr
    or ebx, eax
    and ebx, edx
    mov eax, ebx
    pop ebx
    ret

; vmcs_writel — VMWRITE field ecx = eax; a VMfail is a KVM bug (vmcs_writel)
vmcs_writel:
    vmwrite ecx, eax
    jbe vmx_insn_error
    ret

; vmcs_readl — eax = VMREAD field ecx (vmcs_readl)
vmcs_readl:
    vmread eax, ecx
    jbe vmx_insn_error
    ret

; VMCS_WRITE field, value — vmcs_writel(field, value); value may use ebx
.macro VMCS_WRITE field, value
    mov eax, \value
    mov ecx, \field
    call vmcs_writel
.endm

; vmx_vcpu_vmread — eax = field edx of vCPU eax's VMCS, from any context:
; interrupts off, VMCS loaded here, VMREAD (vmcs_readl under vcpu_load)
vmx_vcpu_vmread:
    push edx
    LOCAL_IRQ_SAVE
    call vmx_vcpu_load
    mov ecx, [esp + 4]
    call vmcs_readl
    LOCAL_IRQ_RESTORE
    add esp, 4
    ret

; vmx_vcpu_setup — controls, host state and guest state of vCPU eax's
; (current) VMCS: external interrupts exit and are acknowledged on exit,
; HLT and every port I/O exit, every MSR access exits (no MSR bitmap),
; TSC offsetting, flat EPT over the VM's memory; the guest starts in flat
; protected mode at the VM's entry with interrupts off and ESP at the top
; of its memory (init_vmcs + vmx_vcpu_reset + vmx_set_constant_host_state)
vmx_vcpu_setup:
    push ebx
    push esi
    mov ebx, eax
    mov esi, [ebx + kvm_vcpu.kvm]
    mov eax, PIN_BASED_EXT_INTR_MASK
    mov ecx, IA32_VMX_PINBASED_CTLS
    call vmx_adjust_ctls
    mov ecx, PIN_BASED_VM_EXEC_CONTROL
    call vmcs_writel
    mov eax, CPU_BASED_HLT_EXITING | CPU_BASED_UNCOND_IO_EXITING | CPU_BASED_USE_TSC_OFFSETTING | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS
    mov ecx, IA32_VMX_PROCBASED_CTLS
    call vmx_adjust_ctls
    mov [ebx + kvm_vcpu.proc_ctls], eax
    mov [ebx + kvm_vcpu.proc_ctls_vmcs], eax
    mov ecx, CPU_BASED_VM_EXEC_CONTROL
    call vmcs_writel
    mov eax, SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST
    mov ecx, IA32_VMX_PROCBASED_CTLS2
    call vmx_adjust_ctls
    mov ecx, SECONDARY_VM_EXEC_CONTROL
    call vmcs_writel
    mov eax, VM_EXIT_ACK_INTR_ON_EXIT
    mov ecx, IA32_VMX_EXIT_CTLS
    call vmx_adjust_ctls
    mov ecx, VM_EXIT_CONTROLS
    call vmcs_writel
    xor eax, eax
    mov ecx, IA32_VMX_ENTRY_CTLS
    call vmx_adjust_ctls
    mov ecx, VM_ENTRY_CONTROLS
    call vmcs_writel
    VMCS_WRITE EXCEPTION_BITMAP, 0
    VMCS_WRITE VM_ENTRY_INTR_INFO_FIELD, 0
    VMCS_WRITE EPT_POINTER, [esi + kvm.eptp]
    VMCS_WRITE TSC_OFFSET, [esi + kvm.tsc_offset]
    VMCS_WRITE TSC_OFFSET + 1, [esi + kvm.tsc_offset + 4]
    ; host state: exits land in vmx_vmexit on the vCPU thread's stack
    mov eax, cr0
    mov ecx, HOST_CR0
    call vmcs_writel
    mov eax, cr4
    mov ecx, HOST_CR4
    call vmcs_writel
    VMCS_WRITE HOST_RIP, vmx_vmexit
    VMCS_WRITE HOST_IDTR_BASE, idt_table
    mov dword [ebx + kvm_vcpu.host_rsp], 0   ; written by vmx_vcpu_run
    ; guest state
    VMCS_WRITE GUEST_CR0, GUEST_CR0_INIT
    VMCS_WRITE GUEST_CR4, X86_CR4_VMXE       ; fixed in VMX operation; the mask and shadow hide it
    VMCS_WRITE CR4_GUEST_HOST_MASK, X86_CR4_VMXE
    VMCS_WRITE CR4_READ_SHADOW, 0
    mov eax, [esi + kvm.params]
    VMCS_WRITE GUEST_RIP, [eax + bp_vm.entry]
    VMCS_WRITE GUEST_RSP, [esi + kvm.mem_size]
    VMCS_WRITE GUEST_RFLAGS, GUEST_RFLAGS_INIT
    VMCS_WRITE GUEST_IDTR_BASE, 0
    VMCS_WRITE GUEST_IDTR_LIMIT, 0
    VMCS_WRITE GUEST_INTERRUPTIBILITY_INFO, 0
    VMCS_WRITE GUEST_ACTIVITY_STATE, 0
    VMCS_WRITE VMCS_LINK_POINTER, -1
    VMCS_WRITE VMCS_LINK_POINTER + 1, -1
    pop esi
    pop ebx
    ret

; vmx_prepare_entry — write back what the exit handlers changed: a skipped
; instruction's new GUEST_RIP, and no STI/MOV-SS blocking after it (an
; emulated instruction ends the shadow: skip_emulated_instruction ->
; vmx_set_interrupt_shadow(0)). eax = vcpu, interrupts off, VMCS current.
vmx_prepare_entry:
    push ebx
    mov ebx, eax
    cmp dword [ebx + kvm_vcpu.rip_dirty], 0
    je .done
    mov dword [ebx + kvm_vcpu.rip_dirty], 0
    VMCS_WRITE GUEST_RIP, [ebx + kvm_vcpu.rip]
    VMCS_WRITE GUEST_INTERRUPTIBILITY_INFO, 0
.done:
    pop ebx
    ret

; vmx_vcpu_run — enter vCPU eax's guest and come back at its next VM exit:
; HOST_RSP = this stack (the vCPU pointer on top, so the exit stub finds
; it), the guest's general registers loaded, VMLAUNCH the first time on a
; CPU, VMRESUME after; vmx_vmexit returns from here (__vmx_vcpu_run in
; vmenter.S). Interrupts off, VMCS current; every register is clobbered
; except ebx, esi, edi, ebp.
vmx_vcpu_run:
    push ebp
    push ebx
    push esi
    push edi
    push eax                     ; [HOST_RSP] = the vcpu
    cmp esp, [eax + kvm_vcpu.host_rsp]
    je .regs
    mov [eax + kvm_vcpu.host_rsp], esp
    mov ecx, HOST_RSP
    vmwrite ecx, esp
    jbe vmx_insn_error
    mov eax, [esp]
.regs:
    cmp dword [eax + kvm_vcpu.launched], 0   ; movs keep the flags for the je below
    mov ecx, [eax + kvm_vcpu.regs + VCPU_REGS_ECX]
    mov edx, [eax + kvm_vcpu.regs + VCPU_REGS_EDX]
    mov ebx, [eax + kvm_vcpu.regs + VCPU_REGS_EBX]
    mov ebp, [eax + kvm_vcpu.regs + VCPU_REGS_EBP]
    mov esi, [eax + kvm_vcpu.regs + VCPU_REGS_ESI]
    mov edi, [eax + kvm_vcpu.regs + VCPU_REGS_EDI]
    mov eax, [eax + kvm_vcpu.regs + VCPU_REGS_EAX]
    je .launch
    vmresume
    jmp vmx_insn_error            ; VMfail: a KVM bug
.launch:
    vmlaunch
    jmp vmx_insn_error            ; VMfail: a KVM bug

; vmx_vmexit — HOST_RIP: the guest's general registers into the vCPU found
; at [esp] (the CPU saves none of them), launched, then return from
; vmx_vcpu_run with interrupts still off (vmx_vmexit in vmenter.S)
vmx_vmexit:
    push eax
    mov eax, [esp + 4]
    mov [eax + kvm_vcpu.regs + VCPU_REGS_ECX], ecx
    mov [eax + kvm_vcpu.regs + VCPU_REGS_EDX], edx
    mov [eax + kvm_vcpu.regs + VCPU_REGS_EBX], ebx
    mov [eax + kvm_vcpu.regs + VCPU_REGS_EBP], ebp
    mov [eax + kvm_vcpu.regs + VCPU_REGS_ESI], esi
    mov [eax + kvm_vcpu.regs + VCPU_REGS_EDI], edi
    pop ecx
    mov [eax + kvm_vcpu.regs + VCPU_REGS_EAX], ecx
    mov dword [eax + kvm_vcpu.launched], 1
    pop eax
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

; vmx_insn_error — a VMX instruction failed: report VM_INSTRUCTION_ERROR
; (-1 without a current VMCS) and panic (vmx_insn_failed)
vmx_insn_error:
    mov eax, -1
    mov ecx, VM_INSTRUCTION_ERROR
    vmread eax, ecx
    push eax
    SMP_PROCESSOR_ID eax
    push eax
    push msg_vmx_insn_error
    call printk
    add esp, 12
    mov eax, msg_vmx_panic
    mov edx, EXIT_PANIC
    jmp panic

; vmx_handle_external_intr — the host interrupt acknowledged at the exit
; (VM_EXIT_INTR_INFO) is handed to the host: an interrupt frame with IF = 1
; and a call of the vector's IDT entry, so the host's ISR runs now as if
; the CPU had delivered it, and its IRET turns interrupts back on — Fig. 2
; point c, traced as irq_enable (vector) (handle_external_interrupt_irqoff
; + vmx_do_interrupt_nmi_irqoff). eax = vcpu, interrupts off.
vmx_handle_external_intr:
    mov ecx, VM_EXIT_INTR_INFO
    call vmcs_readl
    test eax, INTR_INFO_VALID_MASK
    je .none
    and eax, APIC_VECTOR_MASK
    trace irq_enable, eax
    pushfd
    or dword [esp], X86_EFLAGS_IF
    call [idt_table + eax*8]
.none:
    ret

; vmx_handle_exit — dispatch on the exit reason through
; kvm_vmx_exit_handlers; eax = vcpu; returns 1 to enter the guest again, 0
; to stop this vCPU (vmx_handle_exit / __vmx_handle_exit)
vmx_handle_exit:
    mov edx, [eax + kvm_vcpu.exit_reason]
    test edx, VMX_EXIT_REASONS_FAILED_VMENTRY
    jne .entry_failed
    cmp edx, NR_EXIT_HANDLERS
    jae .unknown
    mov ecx, [kvm_vmx_exit_handlers + edx*4]
    test ecx, ecx
    je .unknown
    jmp ecx
.entry_failed:
    mov ecx, edx
    mov edx, msg_entry_failed
    jmp kvm_vcpu_fail
.unknown:
    mov ecx, edx
    mov edx, msg_unhandled_exit
    jmp kvm_vcpu_fail

; kvm_vcpu_fail — report "kvm: vm NAME vcpuN: <edx's text> 0x<ecx> at rip
; 0x..." and stop vCPU eax's VM as failed; returns 0 (the run loop ends) —
; what QEMU does on KVM_EXIT_UNKNOWN / KVM_EXIT_INTERNAL_ERROR / shutdown
kvm_vcpu_fail:
    push ebx
    push esi
    push edi
    mov ebx, eax
    mov esi, edx
    mov edi, ecx
    mov eax, ebx
    call kvm_rip_read
    push eax
    push edi
    push esi
    push dword [ebx + kvm_vcpu.vcpu_id]
    mov eax, [ebx + kvm_vcpu.kvm]
    push dword [eax + kvm.params]
    push msg_vcpu_fail
    call printk
    add esp, 24
    mov eax, [ebx + kvm_vcpu.kvm]
    mov edx, KVM_VM_FAILED
    xor ecx, ecx
    call kvm_vm_stop
    xor eax, eax
    pop edi
    pop esi
    pop ebx
    ret

; kvm_rip_read — the guest's RIP at the last exit, read once (kvm_rip_read)
kvm_rip_read:
    cmp dword [eax + kvm_vcpu.rip_avail], 0
    je .read
    mov eax, [eax + kvm_vcpu.rip]
    ret
.read:
    push ebx
    mov ebx, eax
    mov edx, GUEST_RIP
    call vmx_vcpu_vmread
    mov [ebx + kvm_vcpu.rip], eax
    mov dword [ebx + kvm_vcpu.rip_avail], 1
    pop ebx
    ret

; kvm_skip_emulated_instruction — RIP past the instruction that exited
; (VM_EXIT_INSTRUCTION_LEN), written back at the next entry
; (kvm_skip_emulated_instruction -> skip_emulated_instruction)
kvm_skip_emulated_instruction:
    push ebx
    push esi
    mov ebx, eax
    call kvm_rip_read
    mov esi, eax
    mov eax, ebx
    mov edx, VM_EXIT_INSTRUCTION_LEN
    call vmx_vcpu_vmread
    add esi, eax
    mov [ebx + kvm_vcpu.rip], esi
    mov dword [ebx + kvm_vcpu.rip_dirty], 1
    pop esi
    pop ebx
    ret

; handle_external_interrupt — EXTERNAL_INTERRUPT: the host's ISR already
; ran in vcpu_enter_guest; nothing left (handle_external_interrupt)
handle_external_interrupt:
    mov eax, 1
    ret

; handle_interrupt_window — INTERRUPT_WINDOW: the guest can take interrupts
; again; stop asking, the next entry injects (handle_interrupt_window)
handle_interrupt_window:
    and dword [eax + kvm_vcpu.proc_ctls], ~CPU_BASED_VIRTUAL_INTR_PENDING & 0xffffffff
    mov eax, 1
    ret

; handle_triple_fault — TRIPLE_FAULT: the guest reset itself; stop the VM
; and say so (handle_triple_fault -> KVM_EXIT_SHUTDOWN; QEMU stops the VM)
handle_triple_fault:
    mov edx, msg_triple_fault
    mov ecx, EXIT_REASON_TRIPLE_FAULT
    jmp kvm_vcpu_fail

; handle_ept_violation — EPT_VIOLATION: a guest-physical address outside
; the VM's memory (no MMIO is emulated); stop the VM
; (handle_ept_violation -> KVM_EXIT_MMIO that nobody claims)
handle_ept_violation:
    push ebx
    mov ebx, eax
    mov edx, GUEST_PHYSICAL_ADDRESS
    call vmx_vcpu_vmread
    mov ecx, eax
    mov eax, ebx
    mov edx, msg_ept_violation
    pop ebx
    jmp kvm_vcpu_fail

.rodata
msg_vmx_insn_error: .asciz "kvm: cpu %u: VMX instruction failed, VM_INSTRUCTION_ERROR %d\n"
msg_vmx_panic:      .asciz "kvm: VMX instruction failed"
msg_vcpu_fail:      .asciz "kvm: vm %s vcpu%u: %s 0x%x at rip 0x%x, VM stopped\n"
msg_entry_failed:   .asciz "VM entry failed, exit reason"
msg_unhandled_exit: .asciz "unhandled exit reason"
msg_triple_fault:   .asciz "triple fault, exit reason"
msg_ept_violation:  .asciz "EPT violation (no memory there), guest-physical"
.align 4
; kvm_vmx_exit_handlers — fn(vcpu) -> 1 go on / 0 stop, by basic exit reason
; (kvm_vmx_exit_handlers[]); 0 = unhandled
kvm_vmx_exit_handlers:
    .long 0                              ; 0 EXCEPTION_NMI
    .long handle_external_interrupt      ; 1
    .long handle_triple_fault            ; 2
    .long 0, 0, 0, 0                     ; 3-6
    .long handle_interrupt_window        ; 7
    .long 0, 0                           ; 8-9
    .long handle_cpuid                   ; 10
    .long 0                              ; 11
    .long handle_halt                    ; 12
    .long 0, 0, 0, 0, 0                  ; 13-17
    .long handle_vmcall                  ; 18
    .long 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 ; 19-29
    .long handle_io                      ; 30
    .long handle_rdmsr                   ; 31
    .long handle_wrmsr                   ; 32
    .long 0, 0, 0, 0, 0, 0, 0, 0, 0, 0   ; 33-42
    .long 0, 0, 0, 0, 0                  ; 43-47
    .long handle_ept_violation           ; 48
    .long 0, 0, 0, 0, 0, 0, 0, 0, 0, 0   ; 49-58
    .long 0, 0, 0, 0, 0                  ; 59-63
KVM_VMX_EXIT_HANDLERS_END:
.if (KVM_VMX_EXIT_HANDLERS_END - kvm_vmx_exit_handlers) != NR_EXIT_HANDLERS * 4
.error "kvm_vmx_exit_handlers must have NR_EXIT_HANDLERS entries"
.endif
.if EXIT_REASON_HLT != 12 || EXIT_REASON_VMCALL != 18 || EXIT_REASON_IO_INSTRUCTION != 30 || EXIT_REASON_EPT_VIOLATION != 48
.error "kvm_vmx_exit_handlers is ordered by exit reason"
.endif

.bss
.align 8
kvm_vmxon_ptr:   .space NR_CPUS * 8  ; the 64-bit VMXON operand per CPU
kvm_vmxon_done:  .space NR_CPUS * 4  ; hardware_enable done on this CPU
kvm_loaded_vcpu: .space NR_CPUS * 4  ; the vCPU whose VMCS is current here (per_cpu(current_vmcs))
