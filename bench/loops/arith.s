; bench/loops/arith.s — register arithmetic: 6 instructions per iteration
_start:
    mov ecx, ITERATIONS
    xor eax, eax
    mov ebx, 0x12345
    xor edx, edx
.loop:
    add eax, ecx
    xor ebx, eax
    sub edx, 3
    and eax, 0xffffff
    dec ecx
    jne .loop
    out EXIT_PORT, eax
