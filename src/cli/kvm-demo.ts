/**
 * `kvm-demo`: the host kernel (firmware/kernel) with its KVM module runs two
 * small test guests (guests/test/timer.s) concurrently, one vCPU thread
 * pinned to each CPU; each guest takes TSC-deadline timer interrupts on its
 * virtual x2APIC. The run prints the consoles, the paper's Fig. 2 stage
 * breakdown of every timer interrupt delivered to a guest (measured from
 * the trace, stages summing to raise → first guest ISR instruction), and
 * the VM-exit statistics.
 */
import path from 'node:path';
import { SchedPolicy } from '../machine/boot-params.js';
import { createSystem } from '../experiments/system.js';
import { ExitStats } from '../trace/exit-stats.js';
import { StageBreakdown } from '../trace/stages.js';

export function kvmDemo(root: string, opts: { spin: boolean; ms: number }): number {
  const guest = path.join(root, 'guests/test/timer.s');
  const sys = createSystem({
    cpus: 2,
    vms: [
      { name: 'vm0', image: guest, vcpuThreads: [{ policy: SchedPolicy.SCHED_FIFO, prio: 97, affinity: 0b01 }], ioThread: { affinity: 0b01 } },
      { name: 'vm1', image: guest, vcpuThreads: [{ policy: SchedPolicy.SCHED_FIFO, prio: 97, affinity: 0b10 }], ioThread: { affinity: 0b10 } },
    ],
  });
  // the guests' knobs (see guests/test/timer.s): greet, then spin or halt between ticks
  for (const vm of ['vm0', 'vm1']) {
    sys.machine.memory.write32(sys.guestAddr(vm, 'cfg_hello'), 1);
    sys.machine.memory.write32(sys.guestAddr(vm, 'cfg_halt'), opts.spin ? 0 : 1);
  }
  const stages = new StageBreakdown(sys.machine.trace);
  const exits = new ExitStats(sys.machine.trace);
  const hz = sys.machine.config.model.hz;
  const r = sys.run((opts.ms / 1e3) * hz);
  console.log(sys.console);
  console.log(`\nstopped: ${r.reason === 'exit' ? `exit code ${r.exitCode}` : r.reason} at ${((r.cycles / hz) * 1e3).toFixed(3)} ms simulated, ${r.instructions} instructions, trace hash ${sys.machine.trace.hash}`);
  console.log(`\nFig. 2 stage breakdown of ${stages.records.length} guest timer interrupts (guests ${opts.spin ? 'running: EXTERNAL_INTERRUPT exits' : 'halted: vCPU threads woken'}):`);
  console.log(stages.format(hz));
  console.log('\nVM exits:');
  console.log(exits.format(hz));
  return r.reason === 'exit' && r.exitCode !== 0 ? 3 : 0;
}
