; firmware/lib/vmx.s — VMX helpers shared by hypervisors.
; Stands for KVM's vmx.c helpers: adjust_vmx_controls(), vmcs_writel(),
; vmcs_readl() and the VMXON sequence of hardware_enable()/kvm_cpu_vmxon().
.text

; vmx_adjust_controls — eax = wanted control bits, ecx = capability MSR;
; returns eax with the must-be-1 bits set and the unsupported bits cleared
; (KVM: adjust_vmx_controls)
vmx_adjust_controls:
    push ebx
    mov ebx, eax
    rdmsr                    ; eax = allowed-0 (must be 1), edx = allowed-1 (may be 1)
    or ebx, eax
    and ebx, edx
    mov eax, ebx
    pop ebx
    ret

; vmcs_write — field encoding in ecx, value in eax (KVM: vmcs_writel)
; A VMfail here is a bug in the hypervisor: report and stop.
vmcs_write:
    vmwrite ecx, eax
    jbe vmx_insn_failed      ; CF=1 (VMfailInvalid) or ZF=1 (VMfailValid)
    ret

; vmcs_read — field encoding in ecx; value in eax (KVM: vmcs_readl)
vmcs_read:
    vmread eax, ecx
    jbe vmx_insn_failed
    ret

; vmx_on — enable VMX operation on this CPU: CR0.NE, CR4.VMXE, a VMXON
; region stamped with the revision id (KVM: kvm_cpu_vmxon); ebx = address
; of a two-dword pointer to a 4 KiB-aligned region
vmx_on:
    mov eax, cr0
    or eax, 0x20             ; CR0.NE is fixed to 1 in VMX operation
    mov cr0, eax
    mov eax, cr4
    or eax, 0x2000           ; CR4.VMXE
    mov cr4, eax
    mov ecx, IA32_VMX_BASIC
    rdmsr
    mov edx, [ebx]
    mov [edx], eax           ; revision identifier
    vmxon [ebx]
    jbe vmx_insn_failed
    ret

; vmcs_load — clear and load the VMCS whose pointer is at [ebx]
; (KVM: vmcs_clear + vmcs_load)
vmcs_load:
    mov ecx, IA32_VMX_BASIC
    rdmsr
    mov edx, [ebx]
    mov [edx], eax
    vmclear [ebx]
    jbe vmx_insn_failed
    vmptrld [ebx]
    jbe vmx_insn_failed
    ret

; vmx_insn_failed — print VM_INSTRUCTION_ERROR (or "invalid") and stop with exit code 1
vmx_insn_failed:
    mov esi, msg_vmfail
    call puts
    mov ecx, VM_INSTRUCTION_ERROR
    vmread eax, ecx
    call putdec
    mov esi, msg_vmfail_nl
    mov eax, 1
    jmp panic

.rodata
msg_vmfail:     .asciz "vmx: VMX instruction failed, VM_INSTRUCTION_ERROR "
msg_vmfail_nl:  .asciz "\n"
