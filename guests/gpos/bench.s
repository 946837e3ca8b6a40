; guests/gpos/bench.s — the GPOS guest's THREAD_LOAD bodies: the kernel's
; CPU hog, or one of six deterministic compute kernels standing in for the
; SPEC CPU2000 programs of the paper's GPOS measurements, chosen by the
; thread entry's bp_thread.vcpu (unused by non-vCPU threads). Each records
; its checksum and its run time (guest TSC) in bench_results[b] and prints
; them; when the last one is done and no cyclictest runs, the VM stops
; (VMXSIM_HC_DONE). src/guests/gpos.ts computes the same checksums in
; TypeScript (benchChecksum).
;
;   1 gzip    run-length coding of a generated buffer with runs
;   2 gcc     a tokenizer over generated text: numbers and '+' operators
;   3 parser  pointer chasing through a linked permutation
;   4 vortex  an open-addressing hash table (object store inserts)
;   5 bzip2   insertion sort of a block of words
;   6 twolf   placement: random pair swaps that reduce disorder
;
; Every kernel draws from its own LCG (x = x * 1103515245 + 12345, the C
; library's rand), seeded BENCH_SEED + b * BENCH_SEED_STEP, kept in ebp.

BENCH_COUNT     = 6
BENCH_SEED      = 0x1234
BENCH_SEED_STEP = 0x10001
LCG_MUL         = 1103515245
LCG_ADD         = 12345
GZIP_N          = 4096
GZIP_MAX_RUN    = 255
GCC_N           = 4096
PARSER_N        = 1024           ; a power of two
PARSER_STEPS    = 8192
PARSER_MUL      = 389            ; i -> (i * 389 + 17) mod N is one cycle (Hull-Dobell)
PARSER_ADD      = 17
VORTEX_SIZE     = 1024           ; slots, a power of two
VORTEX_SHIFT    = 22             ; 32 - log2(VORTEX_SIZE)
VORTEX_KEYS     = 600
VORTEX_HASH     = 0x9e3779b1     ; Fibonacci hashing
BZIP2_N         = 512
TWOLF_CELLS     = 64
TWOLF_MOVES     = 4096

.struct bench_result
    .field checksum, 4
    .field start, 4              ; guest TSC, low 32 bits
    .field cycles, 4             ; end - start
    .field done, 4
.ends

; RAND — ebp = next LCG value, also in eax
.macro RAND
    imul ebp, LCG_MUL
    add ebp, LCG_ADD
    mov eax, ebp
.endm

.text
; gpos_load_thread — THREAD_LOAD; task in eax. Sub-kind 0 (or out of
; range): the kernel's load_thread; 1-BENCH_COUNT: that benchmark, timed
gpos_load_thread:
    mov ecx, [eax + task.index]
    imul ecx, bp_thread.size
    mov ecx, [BOOT_PARAMS + bp.threads + bp_thread.vcpu + ecx]
    test ecx, ecx
    je load_thread
    cmp ecx, GPOS_BONNIE
    je gpos_bonnie               ; the I/O load (io.s)
    cmp ecx, BENCH_COUNT
    ja load_thread
    mov ebx, ecx                 ; ebx = b
    mov esi, ebx
    shl esi, 4                   ; bench_result.size = 16
    add esi, bench_results       ; esi = its result
    rdtsc
    mov [esi + bench_result.start], eax
    mov ebp, ebx
    imul ebp, BENCH_SEED_STEP
    add ebp, BENCH_SEED
    push ebx
    push esi
    call [bench_bodies + ebx*4 - 4]
    pop esi
    pop ebx
    mov [esi + bench_result.checksum], eax
    rdtsc
    sub eax, [esi + bench_result.start]
    mov [esi + bench_result.cycles], eax
    mov dword [esi + bench_result.done], 1
    push eax
    push dword [esi + bench_result.checksum]
    push dword [bench_names + ebx*4 - 4]
    push msg_bench
    call printk
    add esp, 16
    mov eax, 1
    lock xadd [bench_nr_done], eax
    inc eax
    mov ebx, eax
    call bench_count_expected
    cmp ebx, eax
    jb .exit
    cmp dword [BOOT_PARAMS + bp.cyclictest_interval_us], 0
    jne .exit                    ; cyclictest stops the VM when it is done
    push msg_bench_done
    call printk
    add esp, 4
    xor eax, eax
    jmp kernel_power_off         ; pm_power_off: the VMXSIM_HC_DONE hypercall
.exit:
    ret                          ; back to ret_from_fork: do_exit

; bench_count_expected — eax = THREAD_LOAD entries of the thread table with
; a benchmark sub-kind
bench_count_expected:
    xor eax, eax
    xor ecx, ecx
.next:
    cmp ecx, [BOOT_PARAMS + bp.thread_count]
    jae .done
    mov edx, ecx
    imul edx, bp_thread.size
    cmp dword [BOOT_PARAMS + bp.threads + bp_thread.kind + edx], THREAD_LOAD
    jne .skip
    mov edx, [BOOT_PARAMS + bp.threads + bp_thread.vcpu + edx]
    test edx, edx
    je .skip
    cmp edx, BENCH_COUNT
    ja .skip
    inc eax
.skip:
    inc ecx
    jmp .next
.done:
    ret

; bench_gzip — 164.gzip: fill gzip_buf with runs (a new symbol 0-7 with
; probability 1/4, else the previous one), then run-length code it:
; checksum = checksum * 31 + (symbol << 8 | run length), runs at most 255
bench_gzip:
    xor edi, edi
    xor edx, edx                 ; previous symbol
.fill:
    RAND
    test eax, 0x30000
    je .new
    test edi, edi
    jne .store
.new:
    mov edx, eax
    shr edx, 29
.store:
    mov [gzip_buf + edi*4], edx
    inc edi
    cmp edi, GZIP_N
    jb .fill
    xor esi, esi                 ; checksum
    xor edi, edi                 ; i
.run:
    cmp edi, GZIP_N
    jae .done
    mov edx, [gzip_buf + edi*4]  ; v
    mov ecx, 1                   ; len
.extend:
    lea eax, [edi + ecx]
    cmp eax, GZIP_N
    jae .emit
    cmp [gzip_buf + eax*4], edx
    jne .emit
    cmp ecx, GZIP_MAX_RUN
    jae .emit
    inc ecx
    jmp .extend
.emit:
    imul esi, 31
    mov eax, edx
    shl eax, 8
    or eax, ecx
    add esi, eax
    add edi, ecx
    jmp .run
.done:
    mov eax, esi
    ret

; bench_gcc — 176.gcc: generate GCC_N character codes (r = rand >> 16,
; c = r & 15: 0-9 a digit, 10-12 a blank, 13-15 '+'), then tokenize: a
; number ends at a non-digit (checksum = checksum * 33 + value), a '+' is a
; token of its own (checksum = checksum * 33 + 43)
bench_gcc:
    xor edi, edi
.fill:
    RAND
    shr eax, 16
    and eax, 15
    mov [gcc_text + edi*4], eax
    inc edi
    cmp edi, GCC_N
    jb .fill
    xor esi, esi                 ; checksum
    xor ebx, ebx                 ; value
    xor ecx, ecx                 ; in a number
    xor edi, edi
.next:
    cmp edi, GCC_N
    jae .end
    mov edx, [gcc_text + edi*4]
    inc edi
    cmp edx, 10
    jae .other
    imul ebx, 10
    add ebx, edx
    mov ecx, 1
    jmp .next
.other:
    test ecx, ecx
    je .op
    imul esi, 33
    add esi, ebx
    xor ebx, ebx
    xor ecx, ecx
.op:
    cmp edx, 13
    jb .next
    imul esi, 33
    add esi, 43
    jmp .next
.end:
    test ecx, ecx
    je .done
    imul esi, 33
    add esi, ebx
.done:
    mov eax, esi
    ret

; bench_parser — 197.parser: a node per index with a value (rand) and a
; next link ((i * 389 + 17) mod N); walk PARSER_STEPS links from node 0:
; checksum += value ^ step
bench_parser:
    xor edi, edi
.fill:
    RAND
    mov [parser_val + edi*4], eax
    mov eax, edi
    imul eax, PARSER_MUL
    add eax, PARSER_ADD
    and eax, PARSER_N - 1
    mov [parser_next + edi*4], eax
    inc edi
    cmp edi, PARSER_N
    jb .fill
    xor esi, esi
    xor edx, edx                 ; node
    xor ecx, ecx                 ; step
.walk:
    mov eax, [parser_val + edx*4]
    xor eax, ecx
    add esi, eax
    mov edx, [parser_next + edx*4]
    inc ecx
    cmp ecx, PARSER_STEPS
    jb .walk
    mov eax, esi
    ret

; bench_vortex — 255.vortex: insert VORTEX_KEYS keys (rand | 1) into an
; open-addressing table (Fibonacci hash, linear probing, a key present
; already stays): checksum = checksum * 7 + slot
bench_vortex:
    xor esi, esi
    xor edi, edi
.key:
    RAND
    or eax, 1
    mov ecx, eax                 ; key
    imul eax, VORTEX_HASH
    shr eax, VORTEX_SHIFT
.probe:
    mov edx, [vortex_table + eax*4]
    test edx, edx
    je .put
    cmp edx, ecx
    je .put
    inc eax
    and eax, VORTEX_SIZE - 1
    jmp .probe
.put:
    mov [vortex_table + eax*4], ecx
    imul esi, 7
    add esi, eax
    inc edi
    cmp edi, VORTEX_KEYS
    jb .key
    mov eax, esi
    ret

; bench_bzip2 — 256.bzip2: insertion sort of BZIP2_N words (rand),
; unsigned ascending; checksum = checksum * 31 + word, in order
bench_bzip2:
    xor edi, edi
.fill:
    RAND
    mov [bzip2_block + edi*4], eax
    inc edi
    cmp edi, BZIP2_N
    jb .fill
    mov edi, 1
.outer:
    cmp edi, BZIP2_N
    jae .sorted
    mov edx, [bzip2_block + edi*4]   ; the key
    mov ecx, edi
.inner:
    test ecx, ecx
    je .place
    mov eax, [bzip2_block + ecx*4 - 4]
    cmp eax, edx
    jbe .place
    mov [bzip2_block + ecx*4], eax
    dec ecx
    jmp .inner
.place:
    mov [bzip2_block + ecx*4], edx
    inc edi
    jmp .outer
.sorted:
    xor esi, esi
    xor edi, edi
.sum:
    imul esi, 31
    add esi, [bzip2_block + edi*4]
    inc edi
    cmp edi, BZIP2_N
    jb .sum
    mov eax, esi
    ret

; bench_twolf — 300.twolf: TWOLF_CELLS cells at positions rand & 1023;
; TWOLF_MOVES moves: r = rand, cells i = (r >> 16) & 63, j = (r >> 24) & 63,
; lo/hi = the smaller/larger index; swap when pos[lo] > pos[hi]
; (accepted). checksum = accepted + sum of pos[k] * (k + 1)
bench_twolf:
    xor edi, edi
.fill:
    RAND
    and eax, 1023
    mov [twolf_pos + edi*4], eax
    inc edi
    cmp edi, TWOLF_CELLS
    jb .fill
    xor esi, esi                 ; accepted
    xor edi, edi                 ; move
.move:
    RAND
    mov ecx, eax
    shr ecx, 16
    and ecx, TWOLF_CELLS - 1
    shr eax, 24
    and eax, TWOLF_CELLS - 1
    cmp ecx, eax
    jbe .ordered
    xchg ecx, eax
.ordered:                        ; ecx = lo, eax = hi
    mov edx, [twolf_pos + ecx*4]
    mov ebx, [twolf_pos + eax*4]
    cmp edx, ebx
    jbe .reject
    mov [twolf_pos + ecx*4], ebx
    mov [twolf_pos + eax*4], edx
    inc esi
.reject:
    inc edi
    cmp edi, TWOLF_MOVES
    jb .move
    xor edi, edi
.cost:
    lea eax, [edi + 1]
    mov edx, [twolf_pos + edi*4]
    imul eax, edx
    add esi, eax
    inc edi
    cmp edi, TWOLF_CELLS
    jb .cost
    mov eax, esi
    ret

.rodata
msg_bench:      .asciz "bench %s: checksum 0x%x, %u cycles\n"
msg_bench_done: .asciz "benchmarks done, powering off\n"
name_gzip:      .asciz "164.gzip"
name_gcc:       .asciz "176.gcc"
name_parser:    .asciz "197.parser"
name_vortex:    .asciz "255.vortex"
name_bzip2:     .asciz "256.bzip2"
name_twolf:     .asciz "300.twolf"

.data
.align 4
; bench_bodies / bench_names — by sub-kind - 1
bench_bodies:
    .long bench_gzip, bench_gcc, bench_parser, bench_vortex, bench_bzip2, bench_twolf
bench_names:
    .long name_gzip, name_gcc, name_parser, name_vortex, name_bzip2, name_twolf
bench_nr_done: .long 0

.bss
.align 16
; bench_results — by sub-kind (0 unused)
bench_results: .space (BENCH_COUNT + 1) * bench_result.size
gzip_buf:      .space GZIP_N * 4
gcc_text:      .space GCC_N * 4
parser_val:    .space PARSER_N * 4
parser_next:   .space PARSER_N * 4
vortex_table:  .space VORTEX_SIZE * 4
bzip2_block:   .space BZIP2_N * 4
twolf_pos:     .space TWOLF_CELLS * 4
