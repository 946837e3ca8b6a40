; firmware/kernel/lib.s — small library routines: spinlocks, atomics, list
; heads, bit search and 64-bit arithmetic (Linux: arch/x86/include/asm/
; spinlock.h, atomic.h, include/linux/list.h, bitops, lib/math/div64.c).
; regparm(3) unless a routine says it preserves more.

.text

; raw_spin_lock — take the test-and-set lock at eax, spinning with PAUSE
; (arch_spin_lock). Preserves every register.
raw_spin_lock:
    push ecx
    push edx
    push eax
    mov edx, eax
.retry:
    xor eax, eax
    mov ecx, 1
    lock cmpxchg [edx], ecx
    je .taken
.spin:
    pause
    cmp dword [edx], 0
    jne .spin
    jmp .retry
.taken:
    pop eax
    pop edx
    pop ecx
    ret

; raw_spin_unlock — release the lock at eax (arch_spin_unlock: a plain
; store releases on x86). Preserves every register.
raw_spin_unlock:
    mov dword [eax], 0
    ret

; atomic_or — *eax |= edx, atomically (atomic_or / set_bit with LOCK)
atomic_or:
    push ebx
    mov ebx, eax
    mov eax, [ebx]
.retry:
    mov ecx, eax
    or ecx, edx
    lock cmpxchg [ebx], ecx
    jne .retry
    pop ebx
    ret

; list_init — INIT_LIST_HEAD(eax)
list_init:
    mov [eax + list.next], eax
    mov [eax + list.prev], eax
    ret

; list_add_tail — insert entry eax before edx (at the tail if edx is the head)
list_add_tail:
    mov ecx, [edx + list.prev]
    mov [eax + list.next], edx
    mov [eax + list.prev], ecx
    mov [ecx + list.next], eax
    mov [edx + list.prev], eax
    ret

; list_del_init — unlink entry eax and make it an empty list again
list_del_init:
    mov ecx, [eax + list.next]
    mov edx, [eax + list.prev]
    mov [edx + list.next], ecx
    mov [ecx + list.prev], edx
    mov [eax + list.next], eax
    mov [eax + list.prev], eax
    ret

; __ffs — index of the lowest set bit of eax (eax != 0) (include/asm-generic/
; bitops/__ffs.h: the same binary search, for an ISA without BSF)
__ffs:
    xor edx, edx
    test eax, 0xffff
    jne .b8
    add edx, 16
    shr eax, 16
.b8:
    test eax, 0xff
    jne .b4
    add edx, 8
    shr eax, 8
.b4:
    test eax, 0xf
    jne .b2
    add edx, 4
    shr eax, 4
.b2:
    test eax, 3
    jne .b1
    add edx, 2
    shr eax, 2
.b1:
    test eax, 1
    jne .done
    inc edx
.done:
    mov eax, edx
    ret

; sched_find_first_bit — first set bit of the RT_BITMAP_WORDS-word bitmap
; at eax, MAX_RT_PRIO if none (include/asm-generic/bitops/sched.h)
sched_find_first_bit:
    push ebx
    mov ebx, eax
    xor ecx, ecx
.word:
    mov eax, [ebx + ecx*4]
    test eax, eax
    jne .found
    inc ecx
    cmp ecx, RT_BITMAP_WORDS
    jb .word
    mov eax, MAX_RT_PRIO
    pop ebx
    ret
.found:
    shl ecx, BITS_PER_LONG_SHIFT
    push ecx
    call __ffs
    pop ecx
    add eax, ecx
    pop ebx
    ret

; div64_u32 — edx:eax / ecx as a 64-bit quotient in edx:eax (div_u64:
; two 32-bit divisions, so no #DE for a large quotient)
div64_u32:
    push ebx
    push esi
    mov ebx, ecx
    mov esi, eax
    mov eax, edx
    xor edx, edx
    div ebx
    mov ecx, eax
    mov eax, esi
    div ebx
    mov edx, ecx
    pop esi
    pop ebx
    ret

; mul_u32_div — eax * edx / ecx, saturated to 32 bits (mul_u64_u32_div)
mul_u32_div:
    mul edx
    call div64_u32
    test edx, edx
    je .fits
    mov eax, -1
.fits:
    ret

; usecs_to_cycles — eax µs in TSC cycles at bp.cpu_khz
usecs_to_cycles:
    mov edx, [cpu_khz]
    mov ecx, USEC_PER_MSEC
    jmp mul_u32_div

; cycles_to_nsecs — eax TSC cycles in ns (cycles * 10^6 / cpu_khz, saturated)
cycles_to_nsecs:
    mov edx, NSEC_PER_USEC * USEC_PER_MSEC
    mov ecx, [cpu_khz]
    jmp mul_u32_div
