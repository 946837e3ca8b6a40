/**
 * `info apic`: a local APIC's state through LocalApic.peekState (no read
 * path: reading the current count or the ISR through RDMSR would be the
 * CPU's access; peekState changes nothing).
 */
import { hex, type Target } from '../target.js';

const vecs = (v: number[]): string => (v.length ? v.map((x) => hex(x, 2)).join(' ') : '-');

export function infoApic(t: Target, cpuId: number): string[] {
  const apic = t.machine.apics[cpuId];
  if (!apic) return [`no cpu${cpuId}`];
  const now = t.machine.cpus[cpuId].cycles;
  const s = apic.peekState(now);
  const lvt = s.lvtTimer;
  const timer =
    s.timerMode === 'tsc-deadline' ? `TSC deadline ${s.tscDeadline ? `${s.tscDeadline} (in ${t.us(s.tscDeadline - now)})` : 'disarmed'}`
    : `${s.timerMode}: initial count ${s.initialCount}, current ${s.currentCount}, divide by ${s.divide}`;
  const next = s.nextTimerEvent === Infinity ? 'none' : `at ${s.nextTimerEvent} cycles (in ${t.us(s.nextTimerEvent - now)})`;
  return [
    `cpu${cpuId} local APIC (x2APIC id ${s.id}), ${s.enabled ? 'software-enabled' : 'software-disabled'}, SVR ${hex(s.svr, 3)}, at ${t.time(now)}`,
    `  IRR ${vecs(s.irr)}`,
    `  ISR ${vecs(s.isr)}`,
    `  TPR ${hex(s.tpr, 2)}  PPR ${hex(s.ppr, 2)}  ESR ${hex(s.esr, 2)}${s.pendingErrors ? ` (pending ${hex(s.pendingErrors, 2)})` : ''}`,
    `  timer: LVT ${hex(lvt, 5)} vector ${hex(lvt & 0xff, 2)}${lvt & 0x10000 ? ' masked' : ''}, ${timer}`,
    `  next timer event ${next}`,
    `  ICR (last written) ${hex(Math.floor(s.icr / 0x100000000))}:${hex(s.icr % 0x100000000, 8)}`,
  ];
}
