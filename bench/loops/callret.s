; bench/loops/callret.s — a call to a leaf function per iteration: 5 instructions
_start:
    mov esp, 0x80000
    mov ecx, ITERATIONS
    xor eax, eax
.loop:
    call leaf
    dec ecx
    jne .loop
    out EXIT_PORT, eax
leaf:
    add eax, ecx
    ret
