/**
 * Bugs found while building the RTOS guest (in the emulator and in the
 * demo hypervisor), as executable reproducers. Each is `it.fails` while the bug is there: when a fix lands
 * the test fails, and `.fails` should simply be removed.
 */
import { describe, expect, it } from 'vitest';
import { ExitReason } from '../../src/vmx/exit-reasons.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GuestRun, HV_DEMO, ROOT } from '../helpers/guest.js';

/** Assemble-and-run a small guest under hv-demo; `body` is its code after the IDT and LVT set-up. */
function runGuest(body: string): GuestRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmxsim-bug-'));
  const guest = path.join(dir, 'guest.s');
  fs.writeFileSync(guest, `
.base 0x1000
_start:
    mov esp, 0x8000
    mov eax, isr
    call idt_set_all
    mov ecx, X2APIC_LVT_TIMER
    mov eax, LVT_TIMER_TSC_DEADLINE | 0x20
    xor edx, edx
    wrmsr
${body}
    mov eax, VMXSIM_HC_DONE
    vmcall
    jmp $
isr:
    inc dword [got]
    iret
.include "${path.join(ROOT, 'firmware/lib/console.s')}"
.include "${path.join(ROOT, 'firmware/lib/idt.s')}"
.data
got: .long 0
`);
  try {
    return new GuestRun(HV_DEMO, guest).run(1e7);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('bugs found (reproducers)', () => {
  // SDM 25.2: interrupt-window VM exits "wake a logical processor from the
  // same inactive states as would an external interrupt", i.e. from HLT. A
  // guest that takes `sti; hlt` while its hypervisor waits for the
  // interrupt window (an interrupt arrived while the guest had IF = 0) must
  // get the INTERRUPT_WINDOW exit right after HLT. vmxsim leaves it halted
  // for good: the injection never happens. This is the idle loop of every
  // kernel that halts (guests/rtos with idle_mode = hlt): a timer interrupt
  // that lands in the few IF = 0 instructions before its `sti; hlt` is lost.
  it('an interrupt-window exit wakes a guest from HLT', () => {
    const r = runGuest(`
    rdtsc
    add eax, 20000              ; the guest timer fires in 20000 cycles ...
    adc edx, 0
    mov ecx, IA32_TSC_DEADLINE
    wrmsr
    mov ecx, 100                ; ... while interrupts are off: hv-demo asks for the window
    work 1000
    sti
    hlt                         ; the window opens here: exit, inject, ISR`);
    expect(r.exits.byReason.get(ExitReason.INTERRUPT_WINDOW)?.count).toBe(1);
    expect(r.read32('got')).toBe(1);
    expect(r.result.reason).toBe('exit');
  });

  // firmware/hv-demo handle_wrmsr: the guest's IA32_TSC_DEADLINE value minus
  // TSC_OFFSET becomes the host deadline — also for 0, which disarms the
  // timer (SDM 10.5.4.1) but becomes -TSC_OFFSET, a host time in the past:
  // the guest gets a timer interrupt at once. Fix: pass 0 through as 0.
  it('hv-demo: writing 0 to the guest TSC deadline disarms the timer', () => {
    const r = runGuest(`
    mov ecx, IA32_TSC_DEADLINE
    xor eax, eax
    xor edx, edx
    wrmsr
    sti
    mov ecx, 1000
    work 100
    cli`);
    expect(r.result.reason).toBe('exit');
    expect(r.read32('got')).toBe(0);
  });
});
