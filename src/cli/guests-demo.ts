/**
 * `guests-demo`: the paper's Fig. 1 system in miniature — the host kernel on
 * two CPUs runs the VxWorks-like RTOS (vCPU thread SCHED_FIFO 97 shielded
 * on CPU 1, its IRT benchmark) and the Linux-like GPOS (a fair vCPU thread
 * on CPU 0, cyclictest at FIFO 80 inside). Both results are read from guest
 * memory after the run and printed in cyclictest's per-thread line format,
 * with the Fig. 2 stage breakdown of the RTOS's timer interrupts and the
 * VM-exit statistics.
 */
import { lookupSymbol } from '../asm/image.js';
import { GPOS_MAIN, GPOS_MEMORY, formatCyclictestLine, gposBootParams, readGposCyclictest, writeGposBootParams } from '../guests/gpos.js';
import { readRtosResults, rtosParams, writeRtosParams } from '../guests/rtos-params.js';
import { SchedPolicy } from '../machine/boot-params.js';
import { createSystem } from '../experiments/system.js';
import { ExitStats } from '../trace/exit-stats.js';
import { StageBreakdown } from '../trace/stages.js';
import path from 'node:path';

export function guestsDemo(root: string, opts: { loops: number; ms: number }): number {
  const sys = createSystem({
    cpus: 2,
    vms: [
      { name: 'rtos', image: path.join(root, 'guests/rtos/main.s'), memory: 4 << 20, vcpuThreads: [{ policy: SchedPolicy.SCHED_FIFO, prio: 97, affinity: 0b10 }], ioThread: { affinity: 0b01 } },
      { name: 'gpos', image: GPOS_MAIN, memory: GPOS_MEMORY, vcpuThreads: [{ policy: SchedPolicy.SCHED_OTHER, prio: 0, affinity: 0b01 }], ioThread: { affinity: 0b01 } },
    ],
  });
  const hz = sys.machine.config.model.hz;
  const rp = rtosParams({ tscKhz: hz / 1000, irt: { enable: true, intervalUs: 200, loops: opts.loops } });
  writeRtosParams(sys.machine.memory, sys.vm('rtos').memBase, rp);
  writeGposBootParams(sys.machine.memory, sys.vm('gpos').memBase, gposBootParams({ cyclictest: { intervalUs: 1000, loops: Math.max(1, Math.floor(opts.loops / 4)) } }));
  const stages = new StageBreakdown(sys.machine.trace);
  const exits = new ExitStats(sys.machine.trace);
  const r = sys.run((opts.ms / 1e3) * hz);
  console.log(sys.console);
  const vm = sys.vm('rtos');
  const rtos = readRtosResults((s) => lookupSymbol(vm.image, s)!.value, (gpa) => sys.machine.memory.read32(vm.memBase + gpa), rp);
  const ns = (cycles: number): number => Math.round((cycles / hz) * 1e9);
  const rtosLine = formatCyclictestLine({
    thread: 0, pid: sys.threadIndex('rtos/vcpu0') + 1, prio: 97, intervalUs: rp.irt.intervalUs, count: rtos.irt.count,
    minNs: ns(rtos.irt.min), maxNs: ns(rtos.irt.max), actNs: ns(rtos.irt.log.at(-1) ?? 0), sumNs: ns(rtos.irt.sum),
    overflows: rtos.irt.overflows, done: rtos.done, histogram: rtos.irt.hist,
  });
  console.log(`\nstopped: ${r.reason === 'exit' ? `exit code ${r.exitCode}` : r.reason} at ${((r.cycles / hz) * 1e3).toFixed(3)} ms simulated, trace hash ${sys.machine.trace.hash}`);
  console.log('\nRTOS interrupt response time (in-guest, the paper\'s §5.4 benchmark), then the GPOS cyclictest:');
  console.log(`rtos: ${rtosLine}`);
  for (const ct of readGposCyclictest(sys, 'gpos')) console.log(`gpos: ${formatCyclictestLine(ct)}`);
  console.log('\nFig. 2 stage breakdown of the interrupts delivered to the guests:');
  console.log(stages.format(hz));
  console.log('\nVM exits:');
  console.log(exits.format(hz));
  return r.reason === 'exit' && r.exitCode !== 0 ? 3 : 0;
}
