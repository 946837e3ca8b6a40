/**
 * The GPOS guest (guests/gpos): the host kernel (firmware/kernel) built a
 * second time as a one-vCPU Linux-like guest. Like the host, it reads its
 * scenario from a boot-parameter block at (guest-physical) BOOT_PARAMS =
 * 0x90000, in the host's own layout (src/machine/boot-params.ts): one CPU,
 * no VMs, a thread table (cyclictest, CPU hogs, benchmarks). This module
 * builds that block, writes it into a VM's memory, builds a host system
 * running the guest (createGposSystem), and reads the guest's cyclictest
 * results back from its memory (the kernel's ct_stats) and prints them in
 * rt-tests cyclictest's per-thread format.
 *
 * Benchmarks (the six SPEC CPU2000 stand-ins of guests/gpos/bench.s) are
 * THREAD_LOAD entries whose `vcpu` field (unused by non-vCPU threads)
 * selects the body: 0 = the kernel's CPU hog, GposBench.* a benchmark.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lookupSymbol, type Image } from '../asm/image.js';
import {
  BOOT_PARAMS_ADDR, BP_LAYOUT, PreemptModel, SchedPolicy, ThreadKind, encodeBootParams,
  type BootParams, type ThreadParams,
} from '../machine/boot-params.js';
import { NEHALEM } from '../machine/cpu-model.js';
import type { PhysicalMemory } from '../machine/memory.js';
import { createSystem, type HostSystem, type SystemSpec, type VmSpec } from '../experiments/system.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The guest's main file. */
export const GPOS_MAIN = path.resolve(HERE, '../../guests/gpos/main.s');
/** Default guest memory: the kernel's stacks sit at 1 MiB, 512 KiB of them; 4 MiB leaves room for the benchmarks' data. */
export const GPOS_MEMORY = 4 << 20;

/** The benchmarks' sub-kinds (bp_thread.vcpu of a THREAD_LOAD entry). */
export enum GposBench {
  HOG = 0,
  GZIP = 1, // 164.gzip: run-length + LZ77-like compression of a generated buffer
  GCC = 2, // 176.gcc: tokenizer + expression evaluation over generated text
  PARSER = 3, // 197.parser: pointer chasing over a linked structure
  VORTEX = 4, // 255.vortex: an object store, a hash table with insert/lookup/delete
  BZIP2 = 5, // 256.bzip2: sorting (block sort) and binary search
  TWOLF = 6, // 300.twolf: placement by annealing-like swaps
}

export interface GposOptions {
  /** guest cyclictest: -i interval (µs), -l loops, histogram buckets (1 µs) */
  cyclictest?: { intervalUs: number; loops: number; histogram?: number; prio?: number } | null;
  /** guest CPU hogs at SCHED_OTHER (THREAD_LOAD) */
  loads?: number;
  /** benchmarks to run as guest threads (SCHED_OTHER) */
  benches?: GposBench[];
  /** guest periodic tick (Hz), default 0 (tickless, as the host) */
  tickHz?: number;
  cpuKhz?: number;
}

/** The guest's boot-parameter block: 1 CPU, no VMs, the thread table of `o`. */
export function gposBootParams(o: GposOptions = {}): BootParams {
  const threads: ThreadParams[] = [];
  const t = (name: string, kind: ThreadKind, p: Partial<ThreadParams> = {}): void => {
    threads.push({ name, kind, policy: SchedPolicy.SCHED_OTHER, prio: 0, nice: 0, affinity: 1, vm: 0, vcpu: 0, ...p });
  };
  const ct = o.cyclictest === undefined ? { intervalUs: 1000, loops: 100 } : o.cyclictest;
  if (ct) t('cyclictest', ThreadKind.CYCLICTEST, { policy: SchedPolicy.SCHED_FIFO, prio: ct.prio ?? 80 });
  for (let i = 0; i < (o.loads ?? 0); i++) t(`hog${i}`, ThreadKind.LOAD);
  for (const b of o.benches ?? []) t(GposBench[b].toLowerCase(), ThreadKind.LOAD, { vcpu: b });
  return {
    cpuCount: 1,
    cpuKhz: o.cpuKhz ?? NEHALEM.hz / 1000,
    preemptModel: PreemptModel.PREEMPT_RT,
    cosched: false,
    acpiProcessor: false,
    tickHz: o.tickHz ?? 0,
    irqAffinity: [],
    cyclictest: ct ? { intervalUs: ct.intervalUs, loops: ct.loops, histogram: ct.histogram ?? 1000 } : { intervalUs: 0, loops: 0, histogram: 0 },
    vms: [],
    threads,
  };
}

/** Write the guest's block at guest-physical BOOT_PARAMS of the VM whose RAM starts at host-physical `memBase`. */
export function writeGposBootParams(memory: PhysicalMemory, memBase: number, p: BootParams): void {
  memory.load(memBase + BOOT_PARAMS_ADDR, encodeBootParams(p));
}

export interface GposSystemSpec extends Omit<SystemSpec, 'vms'> {
  guest?: GposOptions;
  /** the GPOS VM (name 'gpos', image guests/gpos/main.s, 4 MiB unless given) */
  vm?: Partial<VmSpec>;
  /** other VMs, after the GPOS VM */
  otherVms?: VmSpec[];
}

/** A host system whose VM 0 is the GPOS guest, its block written. */
export function createGposSystem(spec: GposSystemSpec = {}): HostSystem {
  const { guest, vm, otherVms, ...rest } = spec;
  const sys = createSystem({ ...rest, vms: [{ name: 'gpos', image: GPOS_MAIN, memory: GPOS_MEMORY, ...vm }, ...(otherVms ?? [])] });
  const v = sys.vms[0];
  writeGposBootParams(sys.machine.memory, v.memBase, gposBootParams(guest));
  return sys;
}

const sym = (image: Image, name: string): number => {
  const s = lookupSymbol(image, name);
  if (!s) throw new Error(`gpos: no symbol ${name}`);
  return s.value;
};

/** One guest cyclictest thread's results (the kernel's struct ct_stat). */
export interface GposCtStat {
  thread: number;
  pid: number;
  prio: number;
  intervalUs: number;
  count: number;
  minNs: number;
  maxNs: number;
  actNs: number;
  sumNs: number;
  overflows: number;
  done: boolean;
  /** 1-µs buckets */
  histogram: number[];
}

/** The guest's cyclictest results, read from its memory at the kernel's ct_stats / ct_hist. */
export function readGposCyclictest(sys: HostSystem, vm: string | number = 'gpos'): GposCtStat[] {
  const v = sys.vm(vm);
  return readCyclictest(sys.machine.memory, v.image, v.memBase);
}

/** The host's own cyclictest threads (firmware/kernel/cyclictest.s in the host kernel). */
export function readHostCyclictest(sys: HostSystem): GposCtStat[] {
  return readCyclictest(sys.machine.memory, sys.kernel, 0);
}

/**
 * cyclictest results of a kernel built from firmware/kernel (the host, or
 * the GPOS guest whose RAM starts at host-physical `base`): its ct_stats /
 * ct_hist and its boot block's interval.
 */
export function readCyclictest(mem: PhysicalMemory, img: Image, base: number): GposCtStat[] {
  const r32 = (addr: number): number => mem.read32(base + addr) >>> 0;
  const bp = (field: string): number => r32(BOOT_PARAMS_ADDR + BP_LAYOUT.offsets[field]);
  const started = Math.min(r32(sym(img, 'ct_nr_threads')), sym(img, 'CT_MAX_THREADS'));
  const size = sym(img, 'ct_stat.size');
  const f = (name: string): number => sym(img, `ct_stat.${name}`);
  const out: GposCtStat[] = [];
  for (let i = 0; i < started; i++) {
    const s = sym(img, 'ct_stats') + i * size;
    const task = r32(s + f('task'));
    const buckets = r32(s + f('hist_buckets'));
    const hist = r32(s + f('hist'));
    const count = r32(s + f('count'));
    out.push({
      thread: i,
      pid: r32(s + f('pid')),
      prio: task ? r32(task + sym(img, 'task.rt_priority')) : 0,
      intervalUs: bp('cyclictest_interval_us'),
      count,
      minNs: count ? r32(s + f('min_ns')) : 0,
      maxNs: r32(s + f('max_ns')),
      actNs: r32(s + f('act_ns')),
      sumNs: r32(s + f('sum_ns')) + r32(s + f('sum_ns') + 4) * 2 ** 32,
      overflows: r32(s + f('overflows')),
      done: r32(s + f('done')) !== 0,
      histogram: Array.from({ length: buckets }, (_, b) => r32(hist + 4 * b)),
    });
  }
  return out;
}

/** Whether any cyclictest thread of that kernel is done: readCyclictest's `done`, without reading the histograms (polled every simulated millisecond). */
export function cyclictestDone(mem: PhysicalMemory, img: Image, base: number): boolean {
  const r32 = (addr: number): number => mem.read32(base + addr) >>> 0;
  const started = Math.min(r32(sym(img, 'ct_nr_threads')), sym(img, 'CT_MAX_THREADS'));
  const size = sym(img, 'ct_stat.size');
  const done = sym(img, 'ct_stats') + sym(img, 'ct_stat.done');
  for (let i = 0; i < started; i++) if (r32(done + i * size) !== 0) return true;
  return false;
}

const pad = (n: number, w: number): string => String(n).padStart(w);

/**
 * rt-tests cyclictest's per-thread line (print_stat, non-verbose, µs):
 * `T: 0 (    1) P:80 I:10000 C:    100 Min:      3 Act:    3 Avg:    3 Max:       5`
 */
export function formatCyclictestLine(s: GposCtStat): string {
  const us = (ns: number): number => Math.floor(ns / 1000);
  const avg = s.count ? us(Math.floor(s.sumNs / s.count)) : 0;
  return `T:${pad(s.thread, 2)} (${pad(s.pid, 5)}) P:${pad(s.prio, 2)} I:${s.intervalUs} C:${pad(s.count, 7)} Min:${pad(us(s.minNs), 7)} Act:${pad(us(s.actNs), 5)} Avg:${pad(avg, 5)} Max:${pad(us(s.maxNs), 8)}`;
}

// ---- the benchmarks (guests/gpos/bench.s), computed independently -------------

const BENCH_SEED = 0x1234;
const BENCH_SEED_STEP = 0x10001;

/** The C library's rand LCG as bench.s runs it: x = x * 1103515245 + 12345 mod 2^32. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
}

const mulAdd = (cs: number, m: number, v: number): number => (Math.imul(cs, m) + v) >>> 0;

/** The checksum benchmark `b` of guests/gpos/bench.s must produce (the same algorithm, in TypeScript). */
export function benchChecksum(b: GposBench): number {
  const rand = lcg(BENCH_SEED + Math.imul(b, BENCH_SEED_STEP));
  switch (b) {
    case GposBench.GZIP: {
      const n = 4096;
      const buf: number[] = [];
      let prev = 0;
      for (let i = 0; i < n; i++) {
        const r = rand();
        if ((r & 0x30000) === 0 || i === 0) prev = r >>> 29;
        buf.push(prev);
      }
      let cs = 0;
      for (let i = 0; i < n; ) {
        const v = buf[i];
        let len = 1;
        while (i + len < n && buf[i + len] === v && len < 255) len++;
        cs = mulAdd(cs, 31, (v << 8) | len);
        i += len;
      }
      return cs;
    }
    case GposBench.GCC: {
      const text = Array.from({ length: 4096 }, () => (rand() >>> 16) & 15);
      let cs = 0;
      let val = 0;
      let inNum = false;
      for (const c of text) {
        if (c < 10) {
          val = mulAdd(val, 10, c);
          inNum = true;
          continue;
        }
        if (inNum) cs = mulAdd(cs, 33, val);
        val = 0;
        inNum = false;
        if (c >= 13) cs = mulAdd(cs, 33, 43);
      }
      if (inNum) cs = mulAdd(cs, 33, val);
      return cs;
    }
    case GposBench.PARSER: {
      const n = 1024;
      const val: number[] = [];
      const next: number[] = [];
      for (let i = 0; i < n; i++) {
        val.push(rand());
        next.push((i * 389 + 17) & (n - 1));
      }
      let cs = 0;
      let p = 0;
      for (let step = 0; step < 8192; step++) {
        cs = (cs + ((val[p] ^ step) >>> 0)) >>> 0;
        p = next[p];
      }
      return cs;
    }
    case GposBench.VORTEX: {
      const table = new Uint32Array(1024);
      let cs = 0;
      for (let k = 0; k < 600; k++) {
        const key = (rand() | 1) >>> 0;
        let h = Math.imul(key, 0x9e3779b1) >>> 22;
        while (table[h] !== 0 && table[h] !== key) h = (h + 1) & 1023;
        table[h] = key;
        cs = mulAdd(cs, 7, h);
      }
      return cs;
    }
    case GposBench.BZIP2: {
      const block = Uint32Array.from({ length: 512 }, () => rand()).sort();
      let cs = 0;
      for (const w of block) cs = mulAdd(cs, 31, w);
      return cs;
    }
    case GposBench.TWOLF: {
      const pos = Array.from({ length: 64 }, () => rand() & 1023);
      let accepted = 0;
      for (let m = 0; m < 4096; m++) {
        const r = rand();
        const i = (r >>> 16) & 63;
        const j = (r >>> 24) & 63;
        const lo = Math.min(i, j);
        const hi = Math.max(i, j);
        if (pos[lo] > pos[hi]) {
          [pos[lo], pos[hi]] = [pos[hi], pos[lo]];
          accepted++;
        }
      }
      let cs = accepted;
      pos.forEach((p, k) => (cs = (cs + p * (k + 1)) >>> 0));
      return cs;
    }
    default:
      throw new Error(`benchChecksum: ${b} is not a benchmark`);
  }
}

/** SPEC CPU2000 names of the benchmarks. */
export const BENCH_NAMES: Record<number, string> = {
  [GposBench.GZIP]: '164.gzip', [GposBench.GCC]: '176.gcc', [GposBench.PARSER]: '197.parser',
  [GposBench.VORTEX]: '255.vortex', [GposBench.BZIP2]: '256.bzip2', [GposBench.TWOLF]: '300.twolf',
};

export interface GposBenchResult {
  bench: GposBench;
  name: string;
  done: boolean;
  checksum: number;
  /** guest TSC (low 32 bits) when it started */
  start: number;
  /** run time in guest TSC cycles (start to end of the kernel, preemptions included) */
  cycles: number;
}

/** A benchmark's result, read from the guest's bench_results[b]. */
export function readGposBench(sys: HostSystem, b: GposBench, vm: string | number = 'gpos'): GposBenchResult {
  const v = sys.vm(vm);
  const base = v.memBase + sym(v.image, 'bench_results') + b * sym(v.image, 'bench_result.size');
  const r32 = (field: string): number => sys.machine.memory.read32(base + sym(v.image, `bench_result.${field}`)) >>> 0;
  return { bench: b, name: BENCH_NAMES[b], done: r32('done') !== 0, checksum: r32('checksum'), start: r32('start'), cycles: r32('cycles') };
}
