; guests/test/boost.s — a KVM test guest for the paper's co-scheduling
; hypercalls (§4.2): hc_boost(0, SCHED_FIFO, cfg_prio) for its own vCPU,
; then it spins until the test sets cfg_release, then hc_deboost(0); also a
; boost of a vCPU that does not exist (-KVM_EINVAL) and one with an invalid
; priority. Each result is kept and printed (VMXSIM_HC_PRINT), then
; VMXSIM_HC_DONE.
.base 0x1000

NO_SUCH_VCPU = 7
BAD_PRIO     = 100              ; rt priorities are 1-99

.text
_start:
    mov eax, KVM_HC_BOOST
    xor ebx, ebx                ; cpu 0: this vCPU
    mov ecx, SCHED_FIFO
    mov edx, [cfg_prio]
    vmcall
    mov [boost_result], eax
    mov ebx, eax
    mov eax, VMXSIM_HC_PRINT
    vmcall
.spin:                          ; boosted until the test releases it
    mov ecx, 100
    work 100
    cmp dword [cfg_release], 0
    je .spin
    mov eax, KVM_HC_DEBOOST
    xor ebx, ebx
    vmcall
    mov [deboost_result], eax
    mov ebx, eax
    mov eax, VMXSIM_HC_PRINT
    vmcall
    mov eax, KVM_HC_BOOST
    mov ebx, NO_SUCH_VCPU
    mov ecx, SCHED_FIFO
    mov edx, 10
    vmcall
    mov [einval_result], eax
    mov eax, KVM_HC_BOOST
    xor ebx, ebx
    mov ecx, SCHED_FIFO
    mov edx, BAD_PRIO
    vmcall
    mov [badprio_result], eax
    mov eax, VMXSIM_HC_DONE
    xor ebx, ebx
    vmcall
    jmp $

.data
.align 4
cfg_prio:       .long 60
cfg_release:    .long 0
boost_result:   .long 0x55555555
deboost_result: .long 0x55555555
einval_result:  .long 0x55555555
badprio_result: .long 0x55555555
