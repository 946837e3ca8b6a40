# The RTOS vCPU's first timer interrupt, from the host's side: break at its
# EXTERNAL_INTERRUPT exit, read the VMCS, follow it into the guest ISR
# (Fig. 2 points a-h), then catch the RTOS's next co-scheduling hypercall.
b exit EXTERNAL_INTERRUPT vm rtos
c
info vmcs VM_EXIT_REASON VM_EXIT_INTR_INFO EXIT_QUALIFICATION GUEST_RIP
follow
c
c
c
c
x/4i $eip
delete 1
b vmcall hc_boost vm rtos
c
info hypercall
info registers
info apic
info sched
trace 6
info breakpoints
delete
c
