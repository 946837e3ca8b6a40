; firmware/smm/main.s — the SMM handler (the BIOS's SMI handler).
;
; Linked SMBASE-relative: the machine loads it into every CPU's SMRAM so
; that it starts at SMBASE + 0x8000, where the CPU enters SMM. It only uses
; relative jumps and ports, so one image serves every CPU's copy.
; Stands for a firmware SMI dispatcher running the USB legacy-emulation
; handler: it asks the SMI source how much emulation work this SMI needs,
; does it, acknowledges and resumes the interrupted code with RSM.
.base 0x8000

SMI_WORK_PORT = APM_CNT_PORT + 2   ; vmxsim: cycles of work for this SMI

.text
smm_entry:
    trace smm_enter, eax
    mov edx, SMI_WORK_PORT
    in eax, dx                     ; cycles of USB legacy work
    mov ecx, eax
    work 1                         ; spend them (REP-like: ECX units of 1 cycle)
    mov edx, APM_CNT_PORT + 1
    in al, dx                      ; APM_STS: a chipset status read, as handlers do
    trace smm_exit, ecx
    rsm
