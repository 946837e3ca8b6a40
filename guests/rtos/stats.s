; guests/rtos/stats.s — latency statistics as the benchmarks keep them:
; min, max, sum and count in guest TSC cycles, a histogram of 1-µs buckets
; (rtos_params.irt_hist_buckets of them; later samples count as overflows)
; and a log of the first RTOS_LOG_MAX samples — all in memory, no I/O while
; measuring — and the summary lines printed afterwards. The block layout is
; `.struct lat` of params.s (LAT_LAYOUT in src/guests/rtos-params.ts).

.text
; lat_init — an empty statistics block at esi (min = the largest value)
lat_init:
    mov dword [esi + lat.count], 0
    mov dword [esi + lat.min], 0xffffffff
    mov dword [esi + lat.max], 0
    mov dword [esi + lat.sum], 0
    mov dword [esi + lat.sum + 4], 0
    mov dword [esi + lat.overflows], 0
    ret

; lat_record — add the sample edx:eax (cycles; clamped to 32 bits) to the
; block at esi. Clobbers eax, ecx, edx.
lat_record:
    push ebx
    test edx, edx
    je .fits
    mov eax, 0xffffffff
.fits:
    mov ebx, eax
    mov ecx, [esi + lat.count]
    cmp ecx, RTOS_LOG_MAX
    jae .counted
    mov [esi + lat.log + ecx*4], ebx
.counted:
    inc dword [esi + lat.count]
    cmp ebx, [esi + lat.min]
    jae .min_done
    mov [esi + lat.min], ebx
.min_done:
    cmp ebx, [esi + lat.max]
    jbe .max_done
    mov [esi + lat.max], ebx
.max_done:
    add [esi + lat.sum], ebx
    adc dword [esi + lat.sum + 4], 0
    mov eax, ebx                ; bucket = floor(µs) = cycles * 1000 / tsc_khz
    mov ecx, 1000
    mul ecx
    mov ecx, [RTOS_PARAMS + rtos_params.tsc_khz]
    div ecx
    cmp eax, [RTOS_PARAMS + rtos_params.irt_hist_buckets]
    jae .overflow
    inc dword [esi + lat.hist + eax*4]
    jmp .done
.overflow:
    inc dword [esi + lat.overflows]
.done:
    pop ebx
    ret

; put_us — print eax cycles as microseconds with three decimals ("12.345")
put_us:
    push ebx
    mov ecx, 1000
    mul ecx
    mov ecx, [RTOS_PARAMS + rtos_params.tsc_khz]
    div ecx                     ; eax = whole µs, edx = remainder (< tsc_khz)
    mov ebx, edx
    call putdec
    mov eax, '.'
    call serial_putc
    mov eax, ebx
    mov ecx, 1000
    mul ecx
    mov ecx, [RTOS_PARAMS + rtos_params.tsc_khz]
    div ecx                     ; thousandths of a µs: 0-999
    mov ebx, eax
    cmp ebx, 100
    jae .digits
    mov eax, '0'
    call serial_putc
    cmp ebx, 10
    jae .digits
    mov eax, '0'
    call serial_putc
.digits:
    mov eax, ebx
    call putdec
    pop ebx
    ret

; lat_print — "rtos: <name> N samples: min A avg B max C us, overflows D"
; for the block at esi, name at edi
lat_print:
    PUTS msg_rtos
    PUTS edi
    mov eax, [esi + lat.count]
    call putdec
    PUTS msg_samples
    cmp dword [esi + lat.count], 0
    je .tail
    PUTS msg_min
    mov eax, [esi + lat.min]
    call put_us
    PUTS msg_avg
    mov eax, [esi + lat.sum]
    mov edx, [esi + lat.sum + 4]
    mov ecx, [esi + lat.count]
    div ecx
    call put_us
    PUTS msg_max
    mov eax, [esi + lat.max]
    call put_us
    PUTS msg_us
.tail:
    PUTS msg_over
    mov eax, [esi + lat.overflows]
    call putdec
    PUTS msg_nl
    ret

.rodata
msg_rtos:        .asciz "rtos: "
msg_samples:     .asciz " samples"
msg_min:         .asciz ": min "
msg_avg:         .asciz " avg "
msg_max:         .asciz " max "
msg_us:          .asciz " us"
msg_over:        .asciz ", overflows "
msg_nl:          .asciz "\n"

.bss
.align 4
irt_stats:      .space lat.size ; interrupt response time: arrival stamp - deadline
dispatch_stats: .space lat.size ; task dispatch latency: the woken task's first rdtsc - deadline
