/**
 * The boot-parameter block: everything the host kernel needs to know about
 * the scenario, written into RAM by the emulator before boot (as a
 * bootloader fills Linux's boot_params, "the zero page", which real-mode
 * Linux keeps at 0x90000 — the address used here too). The layout is
 * declared once below; the writer, the reader and the assembler symbols
 * (`bp.cpu_count`, `bp_vm.mem_base`, `bp_thread.policy`, ...) all come from
 * it, so changing a tuning never needs an assembler edit and the two sides
 * cannot drift apart.
 */
export const BOOT_PARAMS_ADDR = 0x90000;
export const BOOT_PARAMS_MAGIC = 0x50425856; // "VXBP"
export const BOOT_PARAMS_VERSION = 1;
export const BP_MAX_VMS = 4;
export const BP_MAX_THREADS = 32;
export const BP_IRQS = 24;
export const BP_NAME_LEN = 16;

/** Linux's scheduling-policy numbers (include/uapi/linux/sched.h). */
export enum SchedPolicy {
  SCHED_OTHER = 0,
  SCHED_FIFO = 1,
  SCHED_RR = 2,
}

/** Host kernel preemption models: PREEMPT_RT (threaded IRQs, preemptible) or a kernel with non-preemptible sections. */
export enum PreemptModel {
  PREEMPT_RT = 0,
  PREEMPT_NONE = 1,
}

export enum ThreadKind {
  VCPU = 0,
  IO = 1, // a VM's I/O thread (QEMU's role)
  HRTIMER = 2, // ktimersoftd: hrtimer callbacks under PREEMPT_RT
  IRQ = 3, // a threaded IRQ handler
  CYCLICTEST = 4, // the host cyclictest thread
  LOAD = 5, // a host CPU hog
}

export enum VmRole {
  GPOS = 0,
  RTOS = 1,
}

type FieldSpec = [name: string, bytes: number];

/** A struct: fields in order, 4-byte aligned; offsets derived. */
export class Layout {
  readonly offsets: Record<string, number> = {};
  readonly size: number;
  constructor(readonly name: string, readonly fields: FieldSpec[]) {
    let off = 0;
    for (const [n, b] of fields) {
      this.offsets[n] = off;
      off += (b + 3) & ~3;
    }
    this.size = off;
  }
  symbols(): Record<string, number> {
    return { ...Object.fromEntries(Object.entries(this.offsets).map(([k, v]) => [`${this.name}.${k}`, v])), [`${this.name}.size`]: this.size };
  }
}

export const VM_LAYOUT = new Layout('bp_vm', [
  ['name', BP_NAME_LEN],
  ['mem_base', 4], // host-physical base of guest-physical 0
  ['mem_size', 4],
  ['entry', 4], // guest-physical entry point
  ['vcpus', 4],
  ['role', 4], // VmRole
  ['io_thread', 4], // index into the thread table
]);

export const THREAD_LAYOUT = new Layout('bp_thread', [
  ['name', BP_NAME_LEN],
  ['kind', 4], // ThreadKind
  ['policy', 4], // SchedPolicy
  ['prio', 4], // 1-99 for FIFO/RR
  ['nice', 4], // -20..19 for SCHED_OTHER (signed)
  ['affinity', 4], // CPU mask (bit n = CPU n), the cpuset
  ['vm', 4], // VM index for VCPU/IO threads
  ['vcpu', 4], // vCPU index for VCPU threads
]);

export const BP_LAYOUT = new Layout('bp', [
  ['magic', 4],
  ['version', 4],
  ['size', 4],
  ['cpu_count', 4],
  ['cpu_khz', 4], // core (and TSC) frequency in kHz
  ['preempt_model', 4], // PreemptModel
  ['cosched', 4], // co-scheduling hypercalls honoured (paper §4)
  ['acpi_processor', 4], // C-states on idle (exit latency applies)
  ['tick_hz', 4], // periodic tick rate, 0 = tickless
  ['irq_affinity', 4 * BP_IRQS], // CPU mask per I/O APIC pin (/proc/irq/N/smp_affinity)
  ['cyclictest_interval_us', 4], // host cyclictest: 0 = not running
  ['cyclictest_loops', 4],
  ['cyclictest_hist', 4], // histogram buckets (µs)
  ['vm_count', 4],
  ['vms', BP_MAX_VMS * VM_LAYOUT.size],
  ['thread_count', 4],
  ['threads', BP_MAX_THREADS * THREAD_LAYOUT.size],
]);

export interface VmParams {
  name: string;
  memBase: number;
  memSize: number;
  entry: number;
  vcpus: number;
  role: VmRole;
  ioThread: number;
}

export interface ThreadParams {
  name: string;
  kind: ThreadKind;
  policy: SchedPolicy;
  prio: number;
  nice: number;
  affinity: number;
  vm: number;
  vcpu: number;
}

export interface BootParams {
  cpuCount: number;
  cpuKhz: number;
  preemptModel: PreemptModel;
  cosched: boolean;
  acpiProcessor: boolean;
  tickHz: number;
  irqAffinity: number[];
  cyclictest: { intervalUs: number; loops: number; histogram: number };
  vms: VmParams[];
  threads: ThreadParams[];
}

/** Assembler symbols for the block: its address, every field offset, the enums. */
export function bootParamSymbols(): Record<string, number> {
  const enumSyms = (e: Record<string, string | number>, prefix = ''): Record<string, number> =>
    Object.fromEntries(Object.entries(e).filter(([, v]) => typeof v === 'number').map(([k, v]) => [prefix + k, v as number]));
  return {
    BOOT_PARAMS: BOOT_PARAMS_ADDR,
    BOOT_PARAMS_MAGIC,
    BP_MAX_VMS,
    BP_MAX_THREADS,
    BP_IRQS,
    ...BP_LAYOUT.symbols(),
    ...VM_LAYOUT.symbols(),
    ...THREAD_LAYOUT.symbols(),
    ...enumSyms(SchedPolicy),
    ...enumSyms(PreemptModel),
    ...enumSyms(ThreadKind, 'THREAD_'),
    ...enumSyms(VmRole, 'VM_ROLE_'),
  };
}

/** Why a parameter block cannot be written: one line naming the field. */
export class BootParamsError extends Error {}

function check(cond: boolean, what: string): void {
  if (!cond) throw new BootParamsError(`boot parameters: ${what}`);
}

/** Serialise `p` into the bytes of the block (validated; errors name the field). */
export function encodeBootParams(p: BootParams): Uint8Array {
  check(p.cpuCount >= 1 && p.cpuCount <= 32, `cpu_count ${p.cpuCount}: expected 1-32`);
  check(p.vms.length <= BP_MAX_VMS, `${p.vms.length} VMs: at most ${BP_MAX_VMS}`);
  check(p.threads.length <= BP_MAX_THREADS, `${p.threads.length} threads: at most ${BP_MAX_THREADS}`);
  check(p.irqAffinity.length <= BP_IRQS, `irq_affinity has ${p.irqAffinity.length} entries: at most ${BP_IRQS}`);
  const buf = new Uint8Array(BP_LAYOUT.size);
  const dv = new DataView(buf.buffer);
  const u32 = (off: number, v: number): void => dv.setUint32(off, v >>> 0, true);
  const str = (off: number, s: string, field: string): void => {
    check(s.length < BP_NAME_LEN && /^[\x20-\x7e]*$/.test(s), `${field} '${s}': at most ${BP_NAME_LEN - 1} printable ASCII characters`);
    for (let i = 0; i < s.length; i++) buf[off + i] = s.charCodeAt(i);
  };
  const o = BP_LAYOUT.offsets;
  u32(o.magic, BOOT_PARAMS_MAGIC);
  u32(o.version, BOOT_PARAMS_VERSION);
  u32(o.size, BP_LAYOUT.size);
  u32(o.cpu_count, p.cpuCount);
  u32(o.cpu_khz, p.cpuKhz);
  u32(o.preempt_model, p.preemptModel);
  u32(o.cosched, p.cosched ? 1 : 0);
  u32(o.acpi_processor, p.acpiProcessor ? 1 : 0);
  u32(o.tick_hz, p.tickHz);
  p.irqAffinity.forEach((m, i) => u32(o.irq_affinity + 4 * i, m));
  u32(o.cyclictest_interval_us, p.cyclictest.intervalUs);
  u32(o.cyclictest_loops, p.cyclictest.loops);
  u32(o.cyclictest_hist, p.cyclictest.histogram);
  u32(o.vm_count, p.vms.length);
  p.vms.forEach((vm, i) => {
    const b = o.vms + i * VM_LAYOUT.size;
    const v = VM_LAYOUT.offsets;
    check(vm.ioThread >= 0 && vm.ioThread < p.threads.length, `vms[${i}].io_thread ${vm.ioThread}: no such thread`);
    str(b + v.name, vm.name, `vms[${i}].name`);
    u32(b + v.mem_base, vm.memBase);
    u32(b + v.mem_size, vm.memSize);
    u32(b + v.entry, vm.entry);
    u32(b + v.vcpus, vm.vcpus);
    u32(b + v.role, vm.role);
    u32(b + v.io_thread, vm.ioThread);
  });
  u32(o.thread_count, p.threads.length);
  p.threads.forEach((t, i) => {
    const b = o.threads + i * THREAD_LAYOUT.size;
    const f = THREAD_LAYOUT.offsets;
    const rt = t.policy === SchedPolicy.SCHED_FIFO || t.policy === SchedPolicy.SCHED_RR;
    check(rt ? t.prio >= 1 && t.prio <= 99 : t.prio === 0, `threads[${i}] (${t.name}).prio ${t.prio}: ${rt ? '1-99 for SCHED_FIFO/SCHED_RR' : '0 for SCHED_OTHER'}`);
    check(t.nice >= -20 && t.nice <= 19, `threads[${i}] (${t.name}).nice ${t.nice}: expected -20..19`);
    check(t.affinity !== 0 && t.affinity >>> 0 < 2 ** p.cpuCount, `threads[${i}] (${t.name}).affinity 0x${(t.affinity >>> 0).toString(16)}: a non-empty mask of CPUs 0-${p.cpuCount - 1}`);
    str(b + f.name, t.name, `threads[${i}].name`);
    u32(b + f.kind, t.kind);
    u32(b + f.policy, t.policy);
    u32(b + f.prio, t.prio);
    u32(b + f.nice, t.nice);
    u32(b + f.affinity, t.affinity);
    u32(b + f.vm, t.vm);
    u32(b + f.vcpu, t.vcpu);
  });
  return buf;
}

/** Parse a block back (the debugger, tests); inverse of encodeBootParams. */
export function decodeBootParams(buf: Uint8Array): BootParams {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const u32 = (off: number): number => dv.getUint32(off, true);
  const i32 = (off: number): number => dv.getInt32(off, true);
  const str = (off: number): string => {
    let s = '';
    for (let i = 0; i < BP_NAME_LEN && buf[off + i]; i++) s += String.fromCharCode(buf[off + i]);
    return s;
  };
  const o = BP_LAYOUT.offsets;
  if (u32(o.magic) !== BOOT_PARAMS_MAGIC) throw new BootParamsError('boot parameters: bad magic');
  const v = VM_LAYOUT.offsets;
  const f = THREAD_LAYOUT.offsets;
  return {
    cpuCount: u32(o.cpu_count),
    cpuKhz: u32(o.cpu_khz),
    preemptModel: u32(o.preempt_model),
    cosched: u32(o.cosched) !== 0,
    acpiProcessor: u32(o.acpi_processor) !== 0,
    tickHz: u32(o.tick_hz),
    irqAffinity: Array.from({ length: BP_IRQS }, (_, i) => u32(o.irq_affinity + 4 * i)),
    cyclictest: { intervalUs: u32(o.cyclictest_interval_us), loops: u32(o.cyclictest_loops), histogram: u32(o.cyclictest_hist) },
    vms: Array.from({ length: u32(o.vm_count) }, (_, i) => {
      const b = o.vms + i * VM_LAYOUT.size;
      return { name: str(b + v.name), memBase: u32(b + v.mem_base), memSize: u32(b + v.mem_size), entry: u32(b + v.entry), vcpus: u32(b + v.vcpus), role: u32(b + v.role), ioThread: u32(b + v.io_thread) };
    }),
    threads: Array.from({ length: u32(o.thread_count) }, (_, i) => {
      const b = o.threads + i * THREAD_LAYOUT.size;
      return { name: str(b + f.name), kind: u32(b + f.kind), policy: u32(b + f.policy), prio: u32(b + f.prio), nice: i32(b + f.nice), affinity: u32(b + f.affinity), vm: u32(b + f.vm), vcpu: u32(b + f.vcpu) };
    }),
  };
}
