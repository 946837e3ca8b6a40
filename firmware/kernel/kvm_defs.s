; firmware/kernel/kvm_defs.s — constants and structures of the KVM module
; (the role of Linux's include/linux/kvm_host.h, arch/x86/include/asm/
; kvm_host.h, arch/x86/kvm/lapic.h and vmx.h). Included by main.s before
; the other kvm*.s files: structure sizes must be known before their .bss.
;
; Memory: the VMX regions live in the KVM area right above the kernel
; stacks (outside the image, which must stay below BOOT_PARAMS); guest RAM
; lies above KVM_AREA_END (the emulator places it, src/experiments/system.ts).

; ---- the KVM area (host-physical, 4 KiB pages) --------------------------------
KVM_AREA         = KSTACK_AREA + NR_TASKS * THREAD_SIZE
VMXON_AREA       = KVM_AREA                              ; one VMXON region per CPU
VMCS_AREA        = VMXON_AREA + NR_CPUS * PAGE_SIZE      ; one VMCS per vCPU (= thread-table slot)
EPT_AREA         = VMCS_AREA + BP_MAX_THREADS * PAGE_SIZE ; one flat-EPT descriptor per VM
KVM_AREA_END     = EPT_AREA + BP_MAX_VMS * PAGE_SIZE     ; guest RAM must start at or above this

KVM_MAX_VCPUS    = 8             ; per VM (KVM_MAX_VCPUS)
KVM_CON_BUF      = 120           ; the virtual console's line buffer (bytes, NUL included)

; the virtual disk of each VM (iothread.s): vmxsim-blk's registers at
; VDISK_PORT, plus VDISK_VECTOR; VM n owns physical sectors
; [n * VDISK_SECTORS, (n + 1) * VDISK_SECTORS)
VDISK_PORT       = 0xc100
VDISK_PORTS      = 0x20
VDISK_VECTOR     = 0x1c          ; the guest vector of its completion interrupt (0: none)
VDISK_SECTORS    = 1 << 19       ; 256 MiB per VM: four VMs fill the default 1 GiB disk
VDISK_IDLE       = 0
VDISK_QUEUED     = 1             ; a command was written; the I/O thread issues it
VDISK_INFLIGHT   = 2             ; on the physical disk; its IRQ wakes the I/O thread
VDISK_COMPLETE   = 3             ; status set; the I/O thread raises the guest's vector

; vcpu->mode (include/linux/kvm_host.h)
OUTSIDE_GUEST_MODE = 0
IN_GUEST_MODE      = 1

; vcpu->arch.mp_state (include/uapi/linux/kvm.h)
KVM_MP_STATE_RUNNABLE = 0
KVM_MP_STATE_HALTED   = 3

; kvm->state: a VM runs until a VMXSIM_HC_DONE, a triple fault or an exit
; KVM cannot handle (QEMU would stop it)
KVM_VM_UNUSED    = 0             ; no such VM / invalid layout: never started
KVM_VM_RUNNING   = 1
KVM_VM_DONE      = 2             ; VMXSIM_HC_DONE
KVM_VM_FAILED    = 3             ; triple fault, VM-entry failure, unhandled exit

; kvm_vcpu.pv_state: co-scheduling's boost of a vCPU thread (kvm_hypercall.s)
KVM_PV_DEBOOSTED   = 0           ; its thread-table policy (hc_deboost, or never boosted)
KVM_PV_BOOSTED     = 1           ; the guest asked for it (hc_boost); its hc_deboost ends it
KVM_PV_IRQ_BOOSTED = 2           ; lent by KVM for an interrupt (kvm_vcpu_irq_boost);
                                 ; the guest's hc_boost claims it, else its EOI ends it

; kvm_run->exit_reason for the I/O hand-off (include/uapi/linux/kvm.h)
KVM_EXIT_IO      = 2

; hypercall errors (include/uapi/linux/kvm_para.h; KVM_ENOSYS is a platform symbol)
KVM_EPERM        = 1
KVM_EINVAL       = 22

; exit code of the kernel when every VM stopped and one of them failed or
; reported a non-zero VMXSIM_HC_DONE status (0 = EXIT_POWEROFF otherwise)
EXIT_KVM_VM_FAILED = 0x300

; guest register slots, in the order of the ISA's register numbers
; (arch/x86/include/asm/kvm_vcpu_regs.h: VCPU_REGS_RAX ...)
VCPU_REGS_EAX    = 0
VCPU_REGS_ECX    = 4
VCPU_REGS_EDX    = 8
VCPU_REGS_EBX    = 12
VCPU_REGS_ESP    = 16            ; unused: the VMCS holds GUEST_RSP
VCPU_REGS_EBP    = 20
VCPU_REGS_ESI    = 24
VCPU_REGS_EDI    = 28
NR_VCPU_REGS     = 8

; the guest-visible APIC version register (KVM's APIC_VERSION | max LVT 5)
KVM_APIC_VERSION = 0x00050014
X2APIC_ENABLE    = 1 << 10       ; IA32_APIC_BASE bits (SDM 10.12.1)
APIC_GLOBAL_ENABLE = 1 << 11
APIC_BSP         = 1 << 8
APIC_DEFAULT_PHYS_BASE = 0xfee00000
LVT_TIMER_MODE_MASK = 3 << 17    ; LVT timer bits 18:17
APIC_VECTOR_MASK = 0xff
ICR_SHORTHAND_MASK = 3 << 18
ICR_DELIVERY_MODE_MASK = 7 << 8

; interruptibility bits that block injection (SDM 24.4.2: STI, MOV SS)
GUEST_INTR_STATE_BLOCKING = 3
; EXIT_QUALIFICATION of IO_INSTRUCTION (SDM Table 27-5)
IO_QUAL_SIZE_MASK = 7
IO_QUAL_IN       = 1 << 3
IO_QUAL_STRING   = 1 << 4
IO_QUAL_REP      = 1 << 5
IO_QUAL_PORT_SHIFT = 16
X86_CR0_NE       = 1 << 5
CPUID_ECX_VMX    = 1 << 5
CPUID_ECX_HYPERVISOR = 1 << 31
KVM_CPUID_SIGNATURE = 0x40000000
GUEST_CR0_INIT   = 0x21          ; PE | NE (the fixed bits in VMX operation)
GUEST_RFLAGS_INIT = 2            ; reserved bit 1; interrupts off
NR_EXIT_HANDLERS = 64            ; kvm_vmx_exit_handlers[] size

; ---- structures -----------------------------------------------------------------

; struct kvm_lapic (arch/x86/kvm/lapic.h): the virtual x2APIC of one vCPU.
; IRR is set by any CPU (lock bts); ISR, the registers and the timer
; belong to the vCPU thread.
.struct kvm_lapic
    .field irr, 32               ; 256-bit interrupt request register
    .field isr, 32               ; 256-bit in-service register
    .field lvt_timer, 4
    .field svr, 4
    .field tpr, 4
    .field tscdeadline, 8        ; guest TSC value armed (0 = none)
    .field timer, hrtimer.size   ; lapic_timer.timer: expires at tscdeadline - TSC_OFFSET
.ends

; struct kvm_vcpu + vcpu_vmx (include/linux/kvm_host.h, arch/x86/kvm/vmx/vmx.h)
.struct kvm_vcpu
    .field regs, NR_VCPU_REGS * 4 ; vcpu->arch.regs: the guest's general registers
    .field kvm, 4                ; its VM (0: this slot holds no vCPU)
    .field vcpu_id, 4            ; index within the VM (its APIC ID)
    .field id, 4                 ; global id = thread-table index (pid - 1), the tracepoints' value
    .field task, 4               ; the vCPU thread
    .field cpu, 4                ; loaded_vmcs->cpu: the CPU whose VMCS cache holds it, -1 none
    .field vmcs_ptr, 8           ; 64-bit VMCS address, the VMCLEAR/VMPTRLD operand
    .field launched, 4           ; loaded_vmcs->launched: VMRESUME, not VMLAUNCH
    .field host_rsp, 4           ; HOST_RSP as last written
    .field mode, 4               ; OUTSIDE_GUEST_MODE / IN_GUEST_MODE
    .field mp_state, 4
    .field exit_reason, 4        ; vmx->exit_reason
    .field rip, 4                ; cached GUEST_RIP (valid while rip_avail)
    .field rip_avail, 4
    .field rip_dirty, 4          ; written back at the next entry
    .field halt_rflags, 4        ; GUEST_RFLAGS at the HLT exit (IF decides runnable)
    .field proc_ctls, 4          ; wanted CPU_BASED_VM_EXEC_CONTROL
    .field proc_ctls_vmcs, 4     ; what the VMCS holds
    .field exception, 4          ; pending exception's interruption info (0 = none)
    .field exception_error, 4
    .field pio_pending, 4        ; a port I/O request waits for the I/O thread
    .field pio_port, 4
    .field pio_size, 4
    .field pio_in, 4
    .field pio_data, 4
    .field stat_exits, 4         ; vcpu->stat.exits
    .field stat_irq_injections, 4
    .field stat_halt_wakeup, 4
    .field stat_io_exits, 4
    .field stat_hypercalls, 4
    ; co-scheduling (kvm_hypercall.s): the last policy and priority the guest
    ; reported through hc_boost (SCHED_OTHER: none yet) and where it stands
    .field pv_policy, 4
    .field pv_prio, 4
    .field pv_state, 4           ; KVM_PV_DEBOOSTED / _BOOSTED / _IRQ_BOOSTED
    .field lapic, kvm_lapic.size
.ends

; struct kvm (include/linux/kvm_host.h) + what QEMU keeps per VM
.struct kvm
    .field index, 4
    .field params, 4             ; its bp_vm entry (name at offset 0)
    .field mem_base, 4
    .field mem_size, 4
    .field eptp, 4               ; EPT_POINTER: the flat descriptor | WB | 4-level
    .field tsc_offset, 8         ; TSC_OFFSET: the guest's TSC starts at 0 when the VM is created
    .field vcpus, KVM_MAX_VCPUS * 4
    .field nr_vcpus, 4
    .field online_vcpus, 4       ; vCPU threads still running
    .field state, 4              ; KVM_VM_*
    .field status, 4             ; VMXSIM_HC_DONE status
    .field lock, 4
    .field io_task, 4            ; the I/O thread (QEMU's main loop)
    .field serial_lcr, 4         ; the virtual 16550's line-control register
    .field con_len, 4
    .field con_buf, KVM_CON_BUF
    ; the virtual disk (iothread.s): its registers and the request's progress
    .field vdisk_lba, 4
    .field vdisk_count, 4
    .field vdisk_dma, 4          ; guest-physical
    .field vdisk_command, 4
    .field vdisk_status, 4       ; DISK_BUSY / DISK_DONE / DISK_ERROR
    .field vdisk_vector, 4       ; guest vector of the completion interrupt (0: none)
    .field vdisk_state, 4        ; VDISK_IDLE / _QUEUED / _INFLIGHT / _COMPLETE
.ends

; KVM_VCPU reg, index — reg = &kvm_vcpus[index] (index register is overwritten)
.macro KVM_VCPU reg
    imul \reg, kvm_vcpu.size
    add \reg, kvm_vcpus
.endm

; PREEMPT_DISABLE / PREEMPT_ENABLE_NO_RESCHED — preempt_count of current (clobbers eax)
.macro PREEMPT_DISABLE
    GET_THREAD_INFO eax
    inc dword [eax + thread_info.preempt_count]
.endm
.macro PREEMPT_ENABLE_NO_RESCHED
    GET_THREAD_INFO eax
    dec dword [eax + thread_info.preempt_count]
.endm
