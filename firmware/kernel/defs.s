; firmware/kernel/defs.s — constants, structures and macros of the host
; kernel (the role of Linux's include/ headers). Included first by main.s:
; structure sizes must be known before the .bss that uses them.

; ---- memory map -------------------------------------------------------------
; The image links at 0x1000 and must end below BOOT_PARAMS (0x90000, the
; emulator's boot-parameter block). Kernel stacks live above 1 MiB.
PAGE_SHIFT       = 12
PAGE_SIZE        = 1 << PAGE_SHIFT
KSTACK_AREA      = 0x100000      ; THREAD_SIZE-aligned kernel stacks
THREAD_SHIFT     = 13
THREAD_SIZE      = 1 << THREAD_SHIFT   ; Linux i386 8 KiB stacks (THREAD_SIZE_ORDER 1)
TOP_OF_KERNEL_STACK_PADDING = 8  ; keeps esp inside its own THREAD_SIZE block (as on i386)
THREAD_STACK_TOP = THREAD_SIZE - TOP_OF_KERNEL_STACK_PADDING
NR_CPUS          = 32            ; bp.cpu_count is 1-32
NR_TASKS         = NR_CPUS + BP_MAX_THREADS   ; one idle task per CPU + the thread table
; stack slot n: idle task of CPU n for n < NR_CPUS, then thread-table entries

; ---- vectors (arch/x86/include/asm/irq_vectors.h) --------------------------
FIRST_EXTERNAL_VECTOR = 0x20
IRQ0_VECTOR      = 0x30          ; I/O APIC pin n -> vector IRQ0_VECTOR + n
LOCAL_TIMER_VECTOR = 0xec
RESCHEDULE_VECTOR  = 0xfd
ERROR_APIC_VECTOR  = 0xfe
SPURIOUS_APIC_VECTOR = 0xff
NR_VECTORS       = 256
STUB_SHIFT       = 4
STUB_SIZE        = 1 << STUB_SHIFT   ; every IDT entry stub is one aligned 16-byte slot

; ---- EFLAGS ----------------------------------------------------------------
X86_EFLAGS_IF    = 1 << 9

; ---- task states, preempt count (include/linux/sched.h, preempt.h) ----------
TASK_RUNNING         = 0
TASK_INTERRUPTIBLE   = 1
TASK_UNINTERRUPTIBLE = 2
TASK_NORMAL          = TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE
TASK_DEAD            = 64
TASK_NEW             = 2048
HARDIRQ_OFFSET       = 1 << 16   ; preempt_count bits of hardirq nesting
PREEMPT_DISABLED     = 1         ; idle tasks run with preemption disabled

; ---- priorities (include/linux/sched/prio.h) ---------------------------------
MAX_USER_RT_PRIO = 100
MAX_RT_PRIO      = 100
MAX_PRIO         = MAX_RT_PRIO + 40
DEFAULT_PRIO     = MAX_RT_PRIO + 20          ; nice 0
NICE_0_SHIFT     = 10            ; SCHED_FIXEDPOINT_SHIFT
NICE_0_LOAD      = 1 << NICE_0_SHIFT
RT_BITMAP_WORDS  = 4                         ; 128 bits >= MAX_RT_PRIO + 1
BITS_PER_LONG_SHIFT = 5                      ; 32-bit words: bit n is in word n >> 5

; enqueue/dequeue flags (kernel/sched/sched.h)
DEQUEUE_SLEEP    = 1
ENQUEUE_WAKEUP   = 1
ENQUEUE_NEW      = 2             ; wake_up_new_task's first enqueue (place at min_vruntime)

; ---- scheduler tunables, in µs (kernel/sched/fair.c, rt.c) --------------------
SYSCTL_SCHED_LATENCY_US          = 6000
SYSCTL_SCHED_MIN_GRANULARITY_US  = 750
SYSCTL_SCHED_WAKEUP_GRANULARITY_US = 1000
RR_TIMESLICE_MS  = 100           ; include/linux/sched/rt.h: RR_TIMESLICE (100 * HZ / 1000)
MSEC_PER_SEC     = 1000
USEC_PER_MSEC    = 1000
NSEC_PER_USEC    = 1000
KHZ              = 1000          ; cpu_khz * KHZ = cycles per second

; hrtimer (include/linux/hrtimer.h)
HRTIMER_STATE_INACTIVE = 0
HRTIMER_STATE_ENQUEUED = 1
HRTIMER_STATE_CALLBACK = 2
HRTIMER_NORESTART = 0
HRTIMER_RESTART   = 1
HRTIMER_MODE_HARD = 0            ; hrtimer.mode: the callback runs in the timer interrupt
HRTIMER_MODE_SOFT = 1            ; under PREEMPT_RT: in this CPU's ktimersoftd (HRTIMER_MODE_SOFT)

; trace_cpu_idle states (arch/x86/kernel/process.c: default_idle)
CPU_IDLE_HLT     = 1
CPU_IDLE_C3      = 3             ; ACPI C3 through P_LVL3 (acpi_idle_enter's state index)
PWR_EVENT_EXIT   = -1

; exit codes of the kernel (the exit port stands for reboot/poweroff)
EXIT_POWEROFF    = 0             ; every finite thread (cyclictest) finished
EXIT_PANIC       = 0x100         ; panic(); EXIT_PANIC + vector for a fatal exception
EXIT_BAD_BOOT_PARAMS = 0x200

EINVAL           = 22
TASK_COMM_LEN    = 16            ; bp_thread.name is 16 bytes too

; ---- structures --------------------------------------------------------------

; struct list_head (include/linux/types.h): circular, doubly linked
.struct list
    .field next, 4
    .field prev, 4
.ends

; struct thread_info at the base of every kernel stack (2.6 i386):
; current_thread_info() = esp & ~(THREAD_SIZE - 1)
.struct thread_info
    .field task, 4
    .field need_resched, 4       ; TIF_NEED_RESCHED, a word of its own so a plain store sets it atomically
    .field cpu, 4                ; smp_processor_id() while this task runs
    .field preempt_count, 4
.ends

; struct hrtimer + hrtimer_sleeper's task (include/linux/hrtimer.h)
.struct hrtimer
    .field node, list.size       ; in the CPU base's queue, sorted by expiry
    .field expires, 8            ; absolute TSC value
    .field function, 4           ; enum hrtimer_restart fn(struct hrtimer *) (eax = timer)
    .field state, 4
    .field base, 4               ; hrtimer_cpu_base it is queued on
    .field task, 4               ; hrtimer_sleeper.task
    .field mode, 4               ; HRTIMER_MODE_HARD / HRTIMER_MODE_SOFT (hrtimer.is_soft)
.ends

; struct task_struct (include/linux/sched.h), with sched_entity and
; sched_rt_entity flattened in
.struct task
    .field state, 4
    .field stack, 4              ; thread_info / lowest stack address
    .field sp, 4                 ; thread.sp: saved esp while switched out
    .field pid, 4
    .field on_rq, 4
    .field cpu, 4                ; task_cpu(p) (copied to thread_info.cpu)
    .field policy, 4
    .field prio, 4               ; effective: 0-99 RT (99 - rt_priority), 100-139 fair
    .field static_prio, 4        ; 120 + nice
    .field normal_prio, 4
    .field rt_priority, 4        ; 1-99 (0 for SCHED_OTHER)
    .field sched_class, 4
    .field cpus_allowed, 4       ; CPU mask
    .field pi_lock, 4            ; serialises wake-ups of this task
    .field kind, 4               ; ThreadKind of its thread-table entry
    .field index, 4              ; index in the thread table (-1: idle)
    .field nvcsw, 4              ; voluntary context switches
    .field nivcsw, 4             ; involuntary (preempted)
    ; struct sched_entity
    .field se_load_weight, 4
    .field se_on_rq, 4
    .field se_vruntime, 8
    .field se_exec_start, 8
    .field se_sum_exec_runtime, 8
    .field se_prev_sum_exec_runtime, 8
    .field se_node, list.size    ; the timeline (Linux: rb_node in tasks_timeline)
    ; struct sched_rt_entity
    .field rt_run_list, list.size
    .field rt_time_slice, 4      ; ticks left (SCHED_RR)
    .field sleeper, hrtimer.size ; hrtimer_sleeper of do_nanosleep
    .field name, TASK_COMM_LEN
.ends

; struct sched_class (kernel/sched/sched.h): the class chain rt -> fair -> idle
.struct sched_class
    .field next, 4
    .field enqueue_task, 4       ; (rq, p, flags)
    .field dequeue_task, 4       ; (rq, p, flags)
    .field check_preempt_curr, 4 ; (rq, p)
    .field pick_next_task, 4     ; (rq) -> p or 0
    .field put_prev_task, 4      ; (rq, p)
    .field set_curr_task, 4      ; (rq, p)
    .field task_tick, 4          ; (rq, p)
    .field rank, 4               ; 0 = rt, 1 = fair, 2 = idle: lower preempts higher
.ends

; struct cfs_rq
.struct cfs_rq
    .field tasks, list.size      ; runnable entities except curr, by vruntime (leftmost first)
    .field min_vruntime, 8
    .field load_weight, 4        ; sum of weights of entities on the rq (curr included)
    .field nr_running, 4
    .field curr, 4
.ends

; struct rt_rq with its rt_prio_array
.struct rt_rq
    .field bitmap, RT_BITMAP_WORDS * 4
    .field queue, MAX_RT_PRIO * list.size
    .field rt_nr_running, 4
.ends

; struct rq (kernel/sched/sched.h), one per CPU
.struct rq
    .field lock, 4
    .field cpu, 4
    .field nr_running, 4
    .field curr, 4
    .field idle, 4
    .field clock, 8              ; TSC at the last update_rq_clock
    .field nr_switches, 4
    .field cfs, cfs_rq.size
    .field rt, rt_rq.size
.ends

; struct hrtimer_cpu_base + the tick_sched timer of that CPU
.struct hrtimer_cpu_base
    .field lock, 4
    .field cpu, 4
    .field active, list.size     ; queued timers, earliest first
    .field expires_next, 8       ; what IA32_TSC_DEADLINE holds (0 = disarmed)
    .field nr_events, 4          ; hrtimer interrupts taken
    .field tick_period, 4        ; cycles; 0 = no tick
    .field tick, hrtimer.size    ; tick_sched's sched_timer
    .field softirq_expired, list.size ; expired soft timers waiting for ktimersoftd (HRTIMER_STATE_ENQUEUED)
    .field softd, 4              ; this CPU's ktimersoftd task (0: none, soft timers run in the interrupt)
.ends

; ---- macros ---------------------------------------------------------------------

; GET_THREAD_INFO reg — current_thread_info(): the base of the current stack
.macro GET_THREAD_INFO reg
    mov \reg, esp
    and \reg, -THREAD_SIZE
.endm

; GET_CURRENT reg — get_current()
.macro GET_CURRENT reg
    GET_THREAD_INFO \reg
    mov \reg, [\reg + thread_info.task]
.endm

; SMP_PROCESSOR_ID reg — smp_processor_id()
.macro SMP_PROCESSOR_ID reg
    GET_THREAD_INFO \reg
    mov \reg, [\reg + thread_info.cpu]
.endm

; CPU_RQ reg — cpu_rq(cpu): cpu number in reg -> its struct rq
.macro CPU_RQ reg
    imul \reg, rq.size
    add \reg, runqueues
.endm

; THIS_RQ reg — this_rq()
.macro THIS_RQ reg
    SMP_PROCESSOR_ID \reg
    CPU_RQ \reg
.endm

; CPU_HRTIMER_BASE reg — per_cpu(hrtimer_bases, cpu)
.macro CPU_HRTIMER_BASE reg
    imul \reg, hrtimer_cpu_base.size
    add \reg, hrtimer_bases
.endm

; LOCAL_IRQ_SAVE / LOCAL_IRQ_RESTORE — local_irq_save(flags) on the stack
.macro LOCAL_IRQ_SAVE
    pushfd
    cli
.endm
.macro LOCAL_IRQ_RESTORE
    popfd
.endm

; class ranks: a lower rank preempts a higher one (sched_class order)
SCHED_CLASS_RANK_RT   = 0
SCHED_CLASS_RANK_FAIR = 1
SCHED_CLASS_RANK_IDLE = 2
