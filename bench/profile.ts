/**
 * Where a scenario's guest instructions go: runs a built-in scenario and
 * attributes the instructions of every CPU time slice to the symbol (host
 * kernel or guest image) at the slice's first EIP, per CPU. A profiling
 * aid, not a test: the slice attribution is approximate for slices that
 * cross functions.
 *
 *   tsx bench/profile.ts SCENARIO [LOOPS] [INTERVAL_US] [interp]
 */
import { symbolize } from '../src/asm/image.js';
import { Cpu } from '../src/cpu/cpu.js';
import { runScenario } from '../src/experiments/run-scenario.js';
import { loadScenario } from '../src/experiments/scenario.js';
import type { HostSystem } from '../src/experiments/system.js';
import { Machine } from '../src/machine/machine.js';

const [name, loops, interval, mode] = process.argv.slice(2);
const scenario = loadScenario(name);
let sys: HostSystem | null = null;
const byKey = new Map<string, { insns: number; slices: number }>();
let slices = 0;
const events = new Map<string, number>();
const origRun = Cpu.prototype.run;
Cpu.prototype.run = function (this: Cpu, limit: number): void {
  const eip = this.eip, i0 = this.instructions, base = this.memBase, nonRoot = this.nonRoot;
  origRun.call(this, limit);
  slices++;
  let where = '?';
  if (sys) {
    if (!nonRoot) where = `host:${symbolize(sys.kernel, eip) ?? eip.toString(16)}`;
    else {
      const vm = sys.vms.find((v) => v.memBase === base);
      where = vm ? `${vm.name}:${symbolize(vm.image, eip) ?? eip.toString(16)}` : `guest?:${eip.toString(16)}`;
    }
  }
  const key = `cpu${this.id} ${where}`;
  let e = byKey.get(key);
  if (!e) byKey.set(key, (e = { insns: 0, slices: 0 }));
  e.insns += this.instructions - i0;
  e.slices++;
};
let machineMs = 0;
const origMachineRun = Machine.prototype.run;
Machine.prototype.run = function (this: Machine, ...a: Parameters<Machine['run']>) {
  const t = performance.now();
  const r = origMachineRun.apply(this, a);
  machineMs += performance.now() - t;
  return r;
};
const t0 = performance.now();
const run = runScenario(scenario, { ...(loops && { loops: Number(loops) }), ...(interval && { intervalUs: Number(interval) }) }, {
  compile: mode !== 'interp',
  onSystem: (s) => {
    sys = s;
    const q = s.machine.queue;
    const schedule = q.schedule.bind(q);
    q.schedule = ((time: number, name: string, ...rest: unknown[]) => {
      const k = name.replace(/[0-9]+/g, '#');
      events.set(k, (events.get(k) ?? 0) + 1);
      return (schedule as (...a: unknown[]) => ReturnType<typeof q.schedule>)(time, name, ...rest);
    }) as typeof q.schedule;
  },
});
const ms = performance.now() - t0;
const total = [...byKey.values()].reduce((a, e) => a + e.insns, 0);
console.log(`${run.stopped}; ${ms.toFixed(0)} ms wall (${machineMs.toFixed(0)} ms in Machine.run); ${total} instructions; ${slices} slices; sim ${(run.result.simulated_ns / 1e9).toFixed(4)} s`);
for (const [k, e] of [...byKey.entries()].sort((a, b) => (process.env.BY_SLICES ? b[1].slices - a[1].slices : b[1].insns - a[1].insns)).slice(0, 40)) {
  console.log(`${((e.insns / total) * 100).toFixed(2).padStart(6)}%  ${String(e.insns).padStart(12)} insns ${String(e.slices).padStart(9)} slices  ${k}`);
}
console.log('events scheduled:', [...events.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', '));
console.log('code cache:', JSON.stringify((sys as HostSystem | null)?.machine.cpus[0].code?.stats));
