/**
 * USB legacy emulation as an SMI source (the paper's §5.2: BIOS USB legacy
 * support raises periodic SMIs lasting hundreds of µs to over 1 ms). Every
 * `period` cycles (from `phase`) it asserts SMI# on every CPU; the firmware's
 * SMM handler reads from this device how long this SMI's emulation work
 * takes and spends it (WORK), so the duration is the handler's, measured,
 * not charged by the emulator.
 *
 * Ports (APM_CNT/APM_STS are the chipset's real SMI command/status ports):
 *   0xB2 APM_CNT  write: software SMI on the writing CPU (as ICH's APMC)
 *   0xB3 APM_STS  read/write scratch byte
 *   0xB4 (dword)  vmxsim: cycles of USB legacy work for the current SMI (read)
 */
import type { AccessContext, AccessSize, Device } from './device.js';
import type { EventHandle, EventQueue } from '../machine/event-queue.js';

export const APM_CNT_PORT = 0xb2;

export interface UsbLegacySmiConfig {
  /** cycles between SMIs; 0 = no periodic SMIs */
  period: number;
  /** cycles of USB legacy emulation work per SMI */
  work: number;
  /** time of the first SMI */
  phase: number;
}

export class UsbLegacySmi implements Device {
  readonly name = 'usb-legacy-smi';
  readonly size = 8;
  private apmSts = 0;
  private next: EventHandle | null = null;
  count = 0;

  constructor(
    private readonly queue: EventQueue,
    private readonly raiseSmi: (cpu: number | 'all', time: number) => void,
    readonly config: UsbLegacySmiConfig,
  ) {
    if (config.period > 0) this.schedule(config.phase);
  }

  /** The next periodic SMI at `at` (also: checkpoint restore, machine.ts). */
  schedule(at: number): void {
    this.next = this.queue.schedule(at, 'usb-legacy-smi', (t) => {
      this.count++;
      this.raiseSmi('all', t);
      this.schedule(t + this.config.period);
    }, { owner: 'smi' });
  }

  read(offset: number, size: AccessSize, _ctx: AccessContext): number {
    return this.peek(offset, size);
  }

  peek(offset: number, size: AccessSize): number {
    if (offset === 1) return this.apmSts;
    if (offset === 2) return size === 4 ? this.config.work >>> 0 : this.config.work & (size === 2 ? 0xffff : 0xff);
    return 0;
  }

  write(offset: number, value: number, _size: AccessSize, ctx: AccessContext): void {
    if (offset === 0) this.raiseSmi(ctx.cpu, ctx.time);
    else if (offset === 1) this.apmSts = value & 0xff;
  }

  nextEvent(): number {
    return this.next?.pending ? this.next.time : Infinity;
  }
}
