/**
 * The ACPI processor control block (P_BLK) of the platform's power
 * management (ACPI spec 6.x §4.8.3.5 / 8.1 "Processor Control Block",
 * "Processor Power State C2/C3"): per processor, P_CNT (dword, throttling,
 * not modelled: reads 0) then the byte registers P_LVL2 and P_LVL3. An I/O
 * read of P_LVL2 / P_LVL3 puts the reading processor into C2 / C3 until an
 * interrupt — what Linux's ACPI processor driver does in acpi_idle_do_entry
 * (`inb(cx->address)`) — and the wake-up then costs the C-state's exit
 * latency (cpu-model.ts events.c2ExitLatency / c3ExitLatency) before the
 * processor executes its next instruction.
 *
 * One block serves every CPU (the reader is the one that sleeps), at
 * ACPI_PBLK_PORT = PMBASE 0x400 + 0x10 as on Intel ICH chipsets.
 */
import type { AccessContext, AccessSize, Device } from './device.js';

export const ACPI_PBLK_PORT = 0x410;
export const P_CNT = 0;
export const P_LVL2 = 4;
export const P_LVL3 = 5;

export interface AcpiPmLatencies {
  /** cycles from the wake-up event to the next instruction, leaving C2 / C3 */
  c2Exit: number;
  c3Exit: number;
}

export class AcpiProcessorBlock implements Device {
  readonly name = 'acpi-pblk';
  readonly size = 6;
  /** C2 / C3 entries, per CPU */
  readonly entries: { c2: number; c3: number }[] = [];

  constructor(
    readonly latencies: AcpiPmLatencies,
    /** halt CPU `cpu` (as HLT does) and charge `exitLatency` cycles when it wakes */
    private readonly enterCState: (cpu: number, exitLatency: number) => void,
  ) {}

  read(offset: number, size: AccessSize, ctx: AccessContext): number {
    if (offset === P_LVL2 || offset === P_LVL3) {
      const e = (this.entries[ctx.cpu] ??= { c2: 0, c3: 0 });
      if (offset === P_LVL2) e.c2++;
      else e.c3++;
      this.enterCState(ctx.cpu, offset === P_LVL2 ? this.latencies.c2Exit : this.latencies.c3Exit);
    }
    return this.peek(offset, size);
  }

  peek(_offset: number, _size: AccessSize): number {
    return 0;
  }

  write(_offset: number, _value: number, _size: AccessSize, _ctx: AccessContext): void {}

  nextEvent(): number {
    return Infinity;
  }
}
