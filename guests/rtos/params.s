; guests/rtos/params.s — GENERATED from src/guests/rtos-params.ts by
; rtosParamsInclude(); do not edit (VMXSIM_UPDATE=1 npx vitest run
; test/guests/rtos-params.test.ts rewrites it). The parameter block the
; emulator writes at guest-physical RTOS_PARAMS before launch.

RTOS_PARAMS = 0x800
RTOS_PARAMS_MAGIC = 0x534f5452
RTOS_PARAMS_VERSION = 1
RTOS_HIST_MAX = 1000
RTOS_LOG_MAX = 1024
RTOS_MAX_LOAD = 8
RTOS_DELAY_LOG_MAX = 64
IDLE_SPIN = 0
IDLE_HLT = 1

.struct rtos_params
    .field magic, 4
    .field version, 4
    .field length, 4
    .field tsc_khz, 4
    .field tick_hz, 4
    .field idle_mode, 4
    .field time_slice, 4
    .field irt_enable, 4
    .field irt_interval_us, 4
    .field irt_loops, 4
    .field irt_hist_buckets, 4
    .field irt_wake_task, 4
    .field irt_task_prio, 4
    .field cosched, 4
    .field cosched_rt_prio, 4
    .field cosched_policy, 4
    .field cosched_prio, 4
    .field load_tasks, 4
    .field load_prio, 4
    .field load_work, 4
    .field delay_ticks, 4
    .field delay_loops, 4
.ends

.struct lat
    .field count, 4
    .field min, 4
    .field max, 4
    .field sum, 8
    .field overflows, 4
    .field hist, 4000
    .field log, 4096
.ends

; the defaults (DEFAULT_RTOS_PARAMS), field by field
.rodata
.align 4
rtos_default_params:
    .long 0x534f5452  ; magic
    .long 1           ; version
    .long 88          ; length
    .long 2670000     ; tsc_khz
    .long 1000        ; tick_hz
    .long 0           ; idle_mode
    .long 0           ; time_slice
    .long 1           ; irt_enable
    .long 100         ; irt_interval_us
    .long 1000        ; irt_loops
    .long 200         ; irt_hist_buckets
    .long 0           ; irt_wake_task
    .long 10          ; irt_task_prio
    .long 0           ; cosched
    .long 100         ; cosched_rt_prio
    .long 1           ; cosched_policy
    .long 97          ; cosched_prio
    .long 0           ; load_tasks
    .long 200         ; load_prio
    .long 100         ; load_work
    .long 0           ; delay_ticks
    .long 0           ; delay_loops
