/**
 * The RTOS guest's parameter block (guests/rtos): the scenario's settings
 * for the VxWorks-like kernel, written into guest memory by the emulator
 * before launch, as a VxWorks boot ROM leaves the boot line at a fixed low
 * address (pc386: BOOT_LINE_ADRS 0x1200) for the kernel it starts. Here the
 * block sits at guest-physical RTOS_PARAMS_ADDR (0x800), below the kernel's
 * entry point 0x1000, so it can never overlap the image whatever its size.
 *
 * The layout is declared once (the Layout of src/machine/boot-params.ts);
 * the writer, the reader and the assembler symbols (`rtos_params.tick_hz`,
 * ...) come from it. The assembler side is the generated include
 * guests/rtos/params.s (rtosParamsInclude(): the struct, the constants and
 * the default block the kernel falls back to when no block was written);
 * test/guests/rtos-params.test.ts fails when the file is stale and
 * rewrites it with VMXSIM_UPDATE=1.
 *
 * The kernel's results (IRT statistics, ...) live at known symbols of the
 * guest image; RTOS_RESULTS and readRtosResults() describe and decode them.
 */
import { Layout } from '../machine/boot-params.js';
import type { PhysicalMemory } from '../machine/memory.js';

/** Guest-physical address of the block (below the kernel's 0x1000 entry point). */
export const RTOS_PARAMS_ADDR = 0x800;
export const RTOS_PARAMS_MAGIC = 0x534f5452; // "RTOS"
export const RTOS_PARAMS_VERSION = 1;
/** Histogram buckets (1 µs each) the kernel has room for. */
export const RTOS_HIST_MAX = 1000;
/** Per-sample log entries kept (the first N samples, in cycles). */
export const RTOS_LOG_MAX = 1024;
/** Background load tasks the kernel has room for. */
export const RTOS_MAX_LOAD = 8;
/** taskDelay self-test: delays recorded. */
export const RTOS_DELAY_LOG_MAX = 64;

/** What the kernel does when no task is ready. */
export enum IdleMode {
  /** VxWorks 5.5's idle: reschedule() busy-waits for work with interrupts on */
  SPIN = 0,
  /** sti; hlt: the (virtual) CPU sleeps until the next interrupt */
  HLT = 1,
}

export const RTOS_PARAMS_LAYOUT = new Layout('rtos_params', [
  ['magic', 4],
  ['version', 4],
  ['length', 4], // bytes of the block (rtos_params.size)
  ['tsc_khz', 4], // guest TSC frequency (cycles → µs)
  ['tick_hz', 4], // sysClkRateSet(): system clock rate, 0 = no tick
  ['idle_mode', 4], // IdleMode
  ['time_slice', 4], // kernelTimeSlice(): round-robin slice in ticks, 0 = off (VxWorks' default)
  ['irt_enable', 4], // the IRT benchmark (paper §5.4)
  ['irt_interval_us', 4], // deadline = now + interval
  ['irt_loops', 4], // samples
  ['irt_hist_buckets', 4], // 1-µs histogram buckets (≤ RTOS_HIST_MAX)
  ['irt_wake_task', 4], // the IRT ISR semGives a task: task dispatch latency too
  ['irt_task_prio', 4], // that task's priority (0-255, 0 highest)
  ['cosched', 4], // co-scheduling hooks (paper §4.2)
  ['cosched_rt_prio', 4], // tasks with priority ≤ this are real-time
  ['cosched_policy', 4], // host policy to request (SCHED_FIFO)
  ['cosched_prio', 4], // host priority to request (97: the paper's vCPU thread)
  ['load_tasks', 4], // background CPU-load tasks (≤ RTOS_MAX_LOAD)
  ['load_prio', 4], // their priority
  ['load_work', 4], // cycles per WORK unit of their loop (interrupt granularity)
  ['delay_ticks', 4], // taskDelay self-test: ticks per delay, 0 = off
  ['delay_loops', 4], // how many delays (≤ RTOS_DELAY_LOG_MAX)
]);

export interface RtosParams {
  tscKhz: number;
  tickHz: number;
  idleMode: IdleMode;
  timeSlice: number;
  irt: { enable: boolean; intervalUs: number; loops: number; histBuckets: number; wakeTask: boolean; taskPrio: number };
  cosched: { enable: boolean; rtPrio: number; policy: number; prio: number };
  load: { tasks: number; prio: number; work: number };
  delay: { ticks: number; loops: number };
}

/** The kernel's defaults (also compiled into the image for runs without a block). */
export const DEFAULT_RTOS_PARAMS: RtosParams = {
  tscKhz: 2_670_000,
  tickHz: 1000,
  idleMode: IdleMode.SPIN,
  timeSlice: 0,
  irt: { enable: true, intervalUs: 100, loops: 1000, histBuckets: 200, wakeTask: false, taskPrio: 10 },
  cosched: { enable: false, rtPrio: 100, policy: 1 /* SCHED_FIFO */, prio: 97 },
  load: { tasks: 0, prio: 200, work: 100 },
  delay: { ticks: 0, loops: 0 },
};

/** A partial override of the defaults (nested groups merged field by field). */
export type RtosParamsInput = Partial<Omit<RtosParams, 'irt' | 'cosched' | 'load' | 'delay'>> & {
  irt?: Partial<RtosParams['irt']>;
  cosched?: Partial<RtosParams['cosched']>;
  load?: Partial<RtosParams['load']>;
  delay?: Partial<RtosParams['delay']>;
};

export function rtosParams(p: RtosParamsInput = {}): RtosParams {
  const d = DEFAULT_RTOS_PARAMS;
  return {
    ...d,
    ...p,
    irt: { ...d.irt, ...p.irt },
    cosched: { ...d.cosched, ...p.cosched },
    load: { ...d.load, ...p.load },
    delay: { ...d.delay, ...p.delay },
  };
}

/** Why a parameter block cannot be written: one line naming the field. */
export class RtosParamsError extends Error {}

function check(cond: boolean, what: string): void {
  if (!cond) throw new RtosParamsError(`rtos parameters: ${what}`);
}

const isPrio = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 255;

/** Serialise into the bytes of the block (validated; errors name the field). */
export function encodeRtosParams(p: RtosParams): Uint8Array {
  const u = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
  check(u(p.tscKhz) && p.tscKhz >= 1000 && p.tscKhz <= 4_000_000, `tsc_khz ${p.tscKhz}: expected 1000-4000000 (1 MHz - 4 GHz)`);
  check(u(p.tickHz) && p.tickHz <= 100_000, `tick_hz ${p.tickHz}: expected 0 (no tick) to 100000`);
  check(p.idleMode === IdleMode.SPIN || p.idleMode === IdleMode.HLT, `idle_mode ${p.idleMode}: expected ${IdleMode.SPIN} (spin) or ${IdleMode.HLT} (hlt)`);
  check(u(p.timeSlice), `time_slice ${p.timeSlice}: expected ticks ≥ 0`);
  check(p.timeSlice === 0 || p.tickHz > 0, `time_slice ${p.timeSlice}: round-robin needs the tick (tick_hz > 0)`);
  check(u(p.irt.intervalUs) && p.irt.intervalUs >= 1 && p.irt.intervalUs <= 1_000_000, `irt_interval_us ${p.irt.intervalUs}: expected 1-1000000`);
  check(u(p.irt.loops) && (!p.irt.enable || p.irt.loops >= 1), `irt_loops ${p.irt.loops}: expected at least 1`);
  check(u(p.irt.histBuckets) && p.irt.histBuckets >= 1 && p.irt.histBuckets <= RTOS_HIST_MAX, `irt_hist_buckets ${p.irt.histBuckets}: expected 1-${RTOS_HIST_MAX}`);
  check(isPrio(p.irt.taskPrio), `irt_task_prio ${p.irt.taskPrio}: expected 0-255`);
  check(isPrio(p.cosched.rtPrio), `cosched_rt_prio ${p.cosched.rtPrio}: expected 0-255`);
  check(p.cosched.prio >= 1 && p.cosched.prio <= 99, `cosched_prio ${p.cosched.prio}: expected 1-99 (a SCHED_FIFO priority)`);
  check(u(p.load.tasks) && p.load.tasks <= RTOS_MAX_LOAD, `load_tasks ${p.load.tasks}: at most ${RTOS_MAX_LOAD}`);
  check(isPrio(p.load.prio), `load_prio ${p.load.prio}: expected 0-255`);
  check(u(p.load.work) && p.load.work >= 1, `load_work ${p.load.work}: expected at least 1 cycle`);
  check(u(p.delay.ticks) && (p.delay.ticks === 0 || p.tickHz > 0), `delay_ticks ${p.delay.ticks}: taskDelay needs the tick (tick_hz > 0)`);
  check(u(p.delay.loops) && p.delay.loops <= RTOS_DELAY_LOG_MAX, `delay_loops ${p.delay.loops}: at most ${RTOS_DELAY_LOG_MAX}`);
  const L = RTOS_PARAMS_LAYOUT;
  const buf = new Uint8Array(L.size);
  const dv = new DataView(buf.buffer);
  const put = (field: string, v: number | boolean): void => dv.setUint32(L.offsets[field], Number(v) >>> 0, true);
  put('magic', RTOS_PARAMS_MAGIC);
  put('version', RTOS_PARAMS_VERSION);
  put('length', L.size);
  put('tsc_khz', p.tscKhz);
  put('tick_hz', p.tickHz);
  put('idle_mode', p.idleMode);
  put('time_slice', p.timeSlice);
  put('irt_enable', p.irt.enable);
  put('irt_interval_us', p.irt.intervalUs);
  put('irt_loops', p.irt.loops);
  put('irt_hist_buckets', p.irt.histBuckets);
  put('irt_wake_task', p.irt.wakeTask);
  put('irt_task_prio', p.irt.taskPrio);
  put('cosched', p.cosched.enable);
  put('cosched_rt_prio', p.cosched.rtPrio);
  put('cosched_policy', p.cosched.policy);
  put('cosched_prio', p.cosched.prio);
  put('load_tasks', p.load.tasks);
  put('load_prio', p.load.prio);
  put('load_work', p.load.work);
  put('delay_ticks', p.delay.ticks);
  put('delay_loops', p.delay.loops);
  return buf;
}

/** Parse a block back (tests, the debugger); inverse of encodeRtosParams. */
export function decodeRtosParams(buf: Uint8Array): RtosParams {
  const L = RTOS_PARAMS_LAYOUT;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const get = (field: string): number => dv.getUint32(L.offsets[field], true);
  if (get('magic') !== RTOS_PARAMS_MAGIC) throw new RtosParamsError('rtos parameters: bad magic');
  return {
    tscKhz: get('tsc_khz'),
    tickHz: get('tick_hz'),
    idleMode: get('idle_mode'),
    timeSlice: get('time_slice'),
    irt: {
      enable: get('irt_enable') !== 0, intervalUs: get('irt_interval_us'), loops: get('irt_loops'),
      histBuckets: get('irt_hist_buckets'), wakeTask: get('irt_wake_task') !== 0, taskPrio: get('irt_task_prio'),
    },
    cosched: { enable: get('cosched') !== 0, rtPrio: get('cosched_rt_prio'), policy: get('cosched_policy'), prio: get('cosched_prio') },
    load: { tasks: get('load_tasks'), prio: get('load_prio'), work: get('load_work') },
    delay: { ticks: get('delay_ticks'), loops: get('delay_loops') },
  };
}

/**
 * Write the block into a guest whose guest-physical 0 is at host address
 * `guestBase` (under hv-demo: the host image's `guest_memory` symbol).
 */
export function writeRtosParams(memory: PhysicalMemory, guestBase: number, p: RtosParams): void {
  memory.load(guestBase + RTOS_PARAMS_ADDR, encodeRtosParams(p));
}

/** Assembler symbols of the block: its address, the field offsets, limits and enums. */
export function rtosParamSymbols(): Record<string, number> {
  return {
    RTOS_PARAMS: RTOS_PARAMS_ADDR,
    RTOS_PARAMS_MAGIC,
    RTOS_PARAMS_VERSION,
    RTOS_HIST_MAX,
    RTOS_LOG_MAX,
    RTOS_MAX_LOAD,
    RTOS_DELAY_LOG_MAX,
    IDLE_SPIN: IdleMode.SPIN,
    IDLE_HLT: IdleMode.HLT,
    ...RTOS_PARAMS_LAYOUT.symbols(),
  };
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/**
 * The text of guests/rtos/params.s: the block as an assembler `.struct`
 * (so the offsets are `rtos_params.FIELD`), the constants, the layout of a
 * latency-statistics block (`.struct lat`, see LAT_LAYOUT), and the default
 * block in .rodata (`rtos_default_params`) that the kernel copies to
 * RTOS_PARAMS when no block was written (a plain `run --guest`).
 */
export function rtosParamsInclude(): string {
  const L = RTOS_PARAMS_LAYOUT;
  const syms = rtosParamSymbols();
  const consts = Object.entries(syms).filter(([k]) => !k.startsWith('rtos_params.'));
  const words = new DataView(encodeRtosParams(DEFAULT_RTOS_PARAMS).buffer);
  const lines = [
    '; guests/rtos/params.s — GENERATED from src/guests/rtos-params.ts by',
    '; rtosParamsInclude(); do not edit (VMXSIM_UPDATE=1 npx vitest run',
    '; test/guests/rtos-params.test.ts rewrites it). The parameter block the',
    '; emulator writes at guest-physical RTOS_PARAMS before launch.',
    '',
    ...consts.map(([k, v]) => `${k} = ${k === 'RTOS_PARAMS' || k.endsWith('MAGIC') ? hex(v) : v}`),
    '',
    ...[L, LAT_LAYOUT].flatMap((S) => [`.struct ${S.name}`, ...S.fields.map(([n, b]) => `    .field ${n}, ${b}`), '.ends', '']),
    '; the defaults (DEFAULT_RTOS_PARAMS), field by field',
    '.rodata',
    '.align 4',
    'rtos_default_params:',
    ...L.fields.map(([n]) => {
      const v = words.getUint32(L.offsets[n], true);
      const text = n === 'magic' ? hex(v) : String(v);
      return `    .long ${text.padEnd(12)}; ${n}`;
    }),
    '',
  ];
  return lines.join('\n');
}

/** One latency statistic of the kernel (IRT or task dispatch), in guest TSC cycles and 1-µs buckets. */
export interface LatencyStats {
  count: number;
  /** cycles (0 when count is 0) */
  min: number;
  max: number;
  sum: number;
  /** samples ≥ the configured bucket count */
  overflows: number;
  /** hist[i] = samples with floor(µs) = i, for the configured buckets */
  hist: number[];
  /** the first min(count, RTOS_LOG_MAX) samples, in cycles */
  log: number[];
}

export interface RtosResults {
  /** set by the kernel when every enabled benchmark finished and the summary was printed */
  done: boolean;
  ticks: number;
  irt: LatencyStats;
  dispatch: LatencyStats;
  /** taskDelay self-test: elapsed ticks and guest TSC cycles per delay */
  delay: { ticks: number[]; cycles: number[] };
  /** WORK loops completed by each background load task */
  loadLoops: number[];
  cosched: { boosts: number; deboosts: number };
}

/**
 * The symbols the kernel keeps its results at (guests/rtos/stats.s and
 * friends); `<prefix>_count` etc. for prefix irt and dispatch.
 */
export const RTOS_RESULT_SYMBOLS = [
  'rtos_done', 'vx_ticks', 'irt_stats', 'dispatch_stats', 'delay_count', 'delay_ticks_log', 'delay_cycles_log',
  'load_loops', 'cosched_boosts', 'cosched_deboosts',
] as const;

/** Offsets inside a latency-statistics block (`.struct lat` in guests/rtos/stats.s). */
export const LAT_LAYOUT = new Layout('lat', [
  ['count', 4],
  ['min', 4],
  ['max', 4],
  ['sum', 8],
  ['overflows', 4],
  ['hist', 4 * RTOS_HIST_MAX],
  ['log', 4 * RTOS_LOG_MAX],
]);

/**
 * Decode the results: `addr(name)` gives the guest-physical address of a
 * symbol of the guest image, `read32(gpa)` reads guest memory.
 */
export function readRtosResults(addr: (symbol: string) => number, read32: (gpa: number) => number, p: RtosParams): RtosResults {
  const r = (sym: string, off = 0): number => read32(addr(sym) + off) >>> 0;
  const lat = (sym: string): LatencyStats => {
    const o = LAT_LAYOUT.offsets;
    const count = r(sym, o.count);
    return {
      count,
      min: count ? r(sym, o.min) : 0,
      max: r(sym, o.max),
      sum: r(sym, o.sum) + r(sym, o.sum + 4) * 2 ** 32,
      overflows: r(sym, o.overflows),
      hist: Array.from({ length: p.irt.histBuckets }, (_, i) => r(sym, o.hist + 4 * i)),
      log: Array.from({ length: Math.min(count, RTOS_LOG_MAX) }, (_, i) => r(sym, o.log + 4 * i)),
    };
  };
  const delays = r('delay_count');
  return {
    done: r('rtos_done') !== 0,
    ticks: r('vx_ticks'),
    irt: lat('irt_stats'),
    dispatch: lat('dispatch_stats'),
    delay: {
      ticks: Array.from({ length: delays }, (_, i) => r('delay_ticks_log', 4 * i)),
      cycles: Array.from({ length: delays }, (_, i) => r('delay_cycles_log', 4 * i)),
    },
    loadLoops: Array.from({ length: p.load.tasks }, (_, i) => r('load_loops', 4 * i)),
    cosched: { boosts: r('cosched_boosts'), deboosts: r('cosched_deboosts') },
  };
}
