/**
 * `info sched`: the host kernel's scheduler state read from its own data
 * structures in memory (firmware/kernel/defs.s): per CPU the `struct rq`
 * (curr, the RT priority lists, the fair list), every task of `tasks[]`
 * (pid, name, state, policy, priority, affinity, CPU) and every vCPU of
 * `kvm_vcpus[]` (its VM, thread, CPU, whether it is in guest mode). Offsets
 * come from the kernel image's `.struct` symbols, so this follows the
 * kernel's layout; nothing is written.
 */
import { DebugError, hex, type Target } from '../target.js';

const POLICY = ['SCHED_OTHER', 'SCHED_FIFO', 'SCHED_RR'];
const STATE: Record<number, string> = { 0: 'R', 1: 'S', 2: 'D', 64: 'X', 2048: 'new' };

export function infoSched(t: Target): string[] {
  const k = (name: string): number => {
    const s = t.symbol(name, t.host);
    if (!s) throw new DebugError(`info sched needs the host kernel (no symbol ${name} in the host image)`);
    return s.value;
  };
  const cpus = t.sys?.params.cpuCount ?? t.machine.cpus.length;
  const NR_CPUS = k('NR_CPUS');
  const tasks = k('tasks');
  const TS = k('task.size');
  const r = (a: number): number => t.peek32(a);
  const off = {
    pid: k('task.pid'), state: k('task.state'), policy: k('task.policy'), prio: k('task.prio'), rtp: k('task.rt_priority'),
    allowed: k('task.cpus_allowed'), cpu: k('task.cpu'), onRq: k('task.on_rq'), name: k('task.name'), rtList: k('task.rt_run_list'), seNode: k('task.se_node'),
    nvcsw: k('task.nvcsw'), nivcsw: k('task.nivcsw'),
  };
  const name = (task: number): string => (task ? `${t.readString(task + off.name, 16)}(${r(task + off.pid)})` : '-');
  const lines: string[] = [];
  const rqs = k('runqueues');
  const RQ = k('rq.size');
  for (let c = 0; c < cpus; c++) {
    const rq = rqs + c * RQ;
    const rt = rq + k('rq.rt');
    const rtQueue: string[] = [];
    for (let p = 0; p < k('MAX_RT_PRIO'); p++) {
      if (!((r(rt + k('rt_rq.bitmap') + 4 * (p >> 5)) >>> (p & 31)) & 1)) continue;
      const head = rt + k('rt_rq.queue') + p * k('list.size');
      const names: string[] = [];
      for (let n = r(head), i = 0; n !== head && n !== 0 && i < 64; n = r(n), i++) names.push(name(n - off.rtList));
      rtQueue.push(`[${99 - p}] ${names.join(' ')}`);
    }
    const cfs = rq + k('rq.cfs');
    const head = cfs + k('cfs_rq.tasks');
    const fair: string[] = [];
    for (let n = r(head), i = 0; n !== head && n !== 0 && i < 64; n = r(n), i++) fair.push(name(n - off.seNode));
    lines.push(`cpu${c}: curr ${name(r(rq + k('rq.curr')))}, nr_running ${r(rq + k('rq.nr_running'))}, switches ${r(rq + k('rq.nr_switches'))}`);
    lines.push(`  rt (${r(rt + k('rt_rq.rt_nr_running'))}): ${rtQueue.join('; ') || '-'}`);
    lines.push(`  fair (${r(cfs + k('cfs_rq.nr_running'))}, curr ${name(r(cfs + k('cfs_rq.curr')))}): ${fair.join(' ') || '-'}`);
  }
  lines.push('tasks:', '    pid name             st policy       prio rtprio affinity cpu on_rq  nvcsw nivcsw');
  const nThreads = t.sys?.params.threads.length ?? 0;
  for (let slot = 0; slot < NR_CPUS + nThreads; slot++) {
    if (slot >= cpus && slot < NR_CPUS) continue;
    const task = tasks + slot * TS;
    if (r(task + k('task.stack')) === 0) continue;
    const pol = r(task + off.policy);
    const st = r(task + off.state);
    lines.push(
      `  ${String(r(task + off.pid)).padStart(5)} ${t.readString(task + off.name, 16).padEnd(16)} ${(STATE[st] ?? hex(st)).padEnd(2)} ${(POLICY[pol] ?? String(pol)).padEnd(12)} ${String(r(task + off.prio)).padStart(4)} ${String(r(task + off.rtp)).padStart(6)} ${hex(r(task + off.allowed)).padStart(8)} ${String(r(task + off.cpu)).padStart(3)} ${String(r(task + off.onRq)).padStart(5)} ${String(r(task + off.nvcsw)).padStart(6)} ${String(r(task + off.nivcsw)).padStart(6)}`,
    );
  }
  const vcpus = t.symbol('kvm_vcpus', t.host);
  if (vcpus) {
    const VS = k('kvm_vcpu.size');
    const n = Math.floor((t.host.image?.symbols.find((s) => s.name === 'kvm_vcpus')?.size ?? 0) / VS);
    lines.push('vcpus:');
    for (let i = 0; i < n; i++) {
      const v = vcpus.value + i * VS;
      const kvm = r(v + k('kvm_vcpu.kvm'));
      if (kvm === 0) continue;
      const vmName = t.readString(r(kvm + k('kvm.params')), 16);
      const task = r(v + k('kvm_vcpu.task'));
      const where = t.machine.cpus.find((c) => c.nonRoot && t.spaceOf(c).name === vmName && r(k('kvm_loaded_vcpu') + 4 * c.id) === v);
      lines.push(
        `  ${vmName}/vcpu${r(v + k('kvm_vcpu.vcpu_id'))} (id ${r(v + k('kvm_vcpu.id'))}): thread ${name(task)}, task cpu ${task ? r(task + off.cpu) : '-'}, VMCS loaded on cpu ${r(v + k('kvm_vcpu.cpu')) | 0}, ${r(v + k('kvm_vcpu.mode')) ? 'IN_GUEST_MODE' : 'OUTSIDE_GUEST_MODE'}${where ? `, running its guest on cpu${where.id} now` : ''}, ${r(v + k('kvm_vcpu.stat_exits'))} exits`,
      );
    }
  }
  return lines;
}
