; bench/loops/memory.s — load/modify/store over a 4 KiB array: 6 instructions per iteration
_start:
    mov ecx, ITERATIONS
    xor edx, edx
.loop:
    mov esi, ecx
    and esi, 1023
    mov eax, [array + esi*4]
    add eax, edx
    mov [array + esi*4], eax
    add edx, 7
    dec ecx
    jne .loop
    out EXIT_PORT, eax

.bss
array: .space 4096
