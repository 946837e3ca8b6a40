; firmware/kernel/cyclictest.s — the host cyclictest (rt-tests' cyclictest
; -n: clock_nanosleep(TIMER_ABSTIME)): sleep until next = previous +
; interval, latency = wake-up TSC - intended TSC, kept as min/max/sum/count
; in ns and a histogram of 1-µs buckets (bp.cyclictest_interval_us,
; bp.cyclictest_loops, bp.cyclictest_hist). When the last cyclictest thread
; has done its loops it prints its results and the machine powers off
; (exit code 0).

CT_MAX_THREADS = 4
CT_MAX_HIST    = 2000            ; buckets per thread at most (µs)

; struct ct_stat — one per cyclictest thread, in ct_stats[]
.struct ct_stat
    .field pid, 4
    .field task, 4
    .field count, 4              ; samples so far
    .field min_ns, 4
    .field max_ns, 4
    .field act_ns, 4             ; the last sample
    .field sum_ns, 8
    .field overflows, 4          ; samples beyond the histogram
    .field hist_buckets, 4
    .field done, 4
    .field next, 8               ; the next intended wake-up (TSC)
    .field interval, 4           ; cycles
    .field hist, 4               ; address of its buckets (CT_MAX_HIST dwords)
.ends

.text

; cyclictest_thread — the measurement loop; task in eax
cyclictest_thread:
    mov esi, eax
    mov eax, 1
    lock xadd [ct_nr_threads], eax
    cmp eax, CT_MAX_THREADS
    jae sleeper_thread
    mov edi, eax                 ; edi = the stat block
    imul edi, ct_stat.size
    add edi, ct_stats
    imul eax, CT_MAX_HIST * 4
    add eax, ct_hist
    mov [edi + ct_stat.hist], eax
    mov eax, [esi + task.pid]
    mov [edi + ct_stat.pid], eax
    mov [edi + ct_stat.task], esi
    mov dword [edi + ct_stat.min_ns], -1
    mov eax, [BOOT_PARAMS + bp.cyclictest_hist]
    cmp eax, CT_MAX_HIST
    jbe .buckets
    mov eax, CT_MAX_HIST
.buckets:
    mov [edi + ct_stat.hist_buckets], eax
    mov eax, [BOOT_PARAMS + bp.cyclictest_interval_us]
    test eax, eax
    je sleeper_thread            ; interval 0: cyclictest is not running
    call usecs_to_cycles
    mov [edi + ct_stat.interval], eax
    rdtsc
    add eax, [edi + ct_stat.interval]
    adc edx, 0
    mov [edi + ct_stat.next], eax
    mov [edi + ct_stat.next + 4], edx
.loop:
    mov eax, [edi + ct_stat.next]
    mov edx, [edi + ct_stat.next + 4]
    call hrtimer_nanosleep_abs
    rdtsc
    sub eax, [edi + ct_stat.next]
    sbb edx, [edi + ct_stat.next + 4]
    je .late32
    mov eax, -1                  ; later than 2^32 cycles: saturate
.late32:
    call cycles_to_nsecs
    mov edx, edi
    call ct_record
    mov eax, [edi + ct_stat.interval]
    add [edi + ct_stat.next], eax
    adc dword [edi + ct_stat.next + 4], 0
    mov eax, [BOOT_PARAMS + bp.cyclictest_loops]
    test eax, eax
    je .loop                     ; 0 loops: run forever
    cmp [edi + ct_stat.count], eax
    jb .loop
    mov eax, edi
    call ct_print
    mov dword [edi + ct_stat.done], 1
    mov eax, 1
    lock xadd [ct_nr_done], eax
    inc eax
    cmp eax, [ct_nr_expected]
    jb .exit
    mov eax, EXIT_POWEROFF
    call kernel_power_off
.exit:
    ret                          ; back to ret_from_fork: do_exit

; ct_record — sample eax ns into stat edx: act, min, max, sum, count, histogram
ct_record:
    mov [edx + ct_stat.act_ns], eax
    cmp eax, [edx + ct_stat.min_ns]
    jae .max
    mov [edx + ct_stat.min_ns], eax
.max:
    cmp eax, [edx + ct_stat.max_ns]
    jbe .sum
    mov [edx + ct_stat.max_ns], eax
.sum:
    add [edx + ct_stat.sum_ns], eax
    adc dword [edx + ct_stat.sum_ns + 4], 0
    inc dword [edx + ct_stat.count]
    push edx
    xor edx, edx
    mov ecx, NSEC_PER_USEC
    div ecx
    pop edx
    cmp eax, [edx + ct_stat.hist_buckets]
    jae .overflow
    mov ecx, [edx + ct_stat.hist]
    inc dword [ecx + eax*4]
    ret
.overflow:
    inc dword [edx + ct_stat.overflows]
    ret

; ct_print — cyclictest's summary line for stat eax, in µs:
; "T: n (pid) P:prio I:interval C:count Min: Act: Avg: Max:"
ct_print:
    push ebx
    mov ebx, eax
    mov eax, [ebx + ct_stat.max_ns]
    call ns_to_us
    push eax
    mov eax, [ebx + ct_stat.sum_ns]
    mov edx, [ebx + ct_stat.sum_ns + 4]
    mov ecx, [ebx + ct_stat.count]
    call div64_u32
    call ns_to_us
    push eax
    mov eax, [ebx + ct_stat.act_ns]
    call ns_to_us
    push eax
    mov eax, [ebx + ct_stat.min_ns]
    call ns_to_us
    push eax
    push dword [ebx + ct_stat.count]
    push dword [BOOT_PARAMS + bp.cyclictest_interval_us]
    mov eax, [ebx + ct_stat.task]
    push dword [eax + task.rt_priority]
    push dword [ebx + ct_stat.pid]
    mov eax, ebx
    sub eax, ct_stats
    xor edx, edx
    mov ecx, ct_stat.size
    div ecx
    push eax
    push msg_ct_result
    call printk
    add esp, 40
    pop ebx
    ret

; ns_to_us — eax ns in whole µs
ns_to_us:
    xor edx, edx
    mov ecx, NSEC_PER_USEC
    div ecx
    ret

.rodata
msg_ct_result: .asciz "T:%u (%u) P:%u I:%u C:%u Min:%u Act:%u Avg:%u Max:%u\n"

.data
.align 4
ct_nr_threads:  .long 0          ; cyclictest threads started
ct_nr_done:     .long 0
ct_nr_expected: .long 0          ; CYCLICTEST entries in the thread table

.bss
.align 16
ct_stats: .space CT_MAX_THREADS * ct_stat.size
ct_hist:  .space CT_MAX_THREADS * CT_MAX_HIST * 4
