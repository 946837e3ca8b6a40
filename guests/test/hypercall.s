; guests/test/hypercall.s — the smallest KVM test guest: it asks CPUID,
; reports a number and the CPUID signature's first word through
; VMXSIM_HC_PRINT and ends with VMXSIM_HC_DONE (status from cfg_status).
; Test knobs (poked before the run): cfg_value, cfg_status.
.base 0x1000

.text
_start:
    mov eax, VMXSIM_HC_PRINT
    mov ebx, [cfg_value]
    vmcall
    mov [print_result], eax
    xor eax, eax
    xor ecx, ecx
    cpuid                       ; exits: KVM answers
    mov [vendor], ebx
    mov eax, 1
    cpuid
    mov [features], ecx
    mov [apic_ids], ebx
    mov eax, 0x40000000
    cpuid
    mov [kvm_signature], ebx
    mov eax, 12345              ; an unknown hypercall: -KVM_ENOSYS
    vmcall
    mov [enosys], eax
    mov eax, VMXSIM_HC_DONE
    mov ebx, [cfg_status]
    vmcall
    jmp $

.data
.align 4
cfg_value:     .long 42
cfg_status:    .long 0
print_result:  .long -1
vendor:        .long 0
features:      .long 0
apic_ids:      .long 0
kvm_signature: .long 0
enosys:        .long 0
