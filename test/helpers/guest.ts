/**
 * Running a guest kernel under the demo hypervisor (firmware/hv-demo) for
 * the guest tests: as runProgram() does (host image, guest image at the
 * host's `guest_memory`), plus what runProgram has no hook for — the
 * guest's parameter block written before launch — and a record of the
 * architectural and software trace events, with helpers to read guest
 * memory by the guest image's symbols.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lookupSymbol, type Image } from '../../src/asm/image.js';
import { loadProgram } from '../../src/cli/program.js';
import { readRtosResults, rtosParams, writeRtosParams, type RtosParams, type RtosParamsInput, type RtosResults } from '../../src/guests/rtos-params.js';
import { loadImage } from '../../src/machine/loader.js';
import { Machine, type MachineConfig, type RunResult } from '../../src/machine/machine.js';
import { ExitStats } from '../../src/trace/exit-stats.js';
import { TraceKind, type TraceEvent } from '../../src/trace/trace.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HV_DEMO = path.join(ROOT, 'firmware/hv-demo/main.s');
export const RTOS = path.join(ROOT, 'guests/rtos/main.s');

const images = new Map<string, Image>();
/** Assemble (once per test file) with the platform symbols, as the CLI does. */
export function program(file: string): Image {
  let img = images.get(file);
  if (!img) images.set(file, (img = loadProgram(file)));
  return img;
}

export interface GuestRunOptions {
  config?: Partial<MachineConfig>;
  /** stop at this simulated time (cycles) at the latest (default 2e9, 0.75 s) */
  untilCycles?: number;
  /** event kinds to keep (default: all but UART bytes) */
  keep?: (e: TraceEvent) => boolean;
}

export class GuestRun {
  readonly machine: Machine;
  readonly exits: ExitStats;
  readonly events: TraceEvent[] = [];
  readonly host: Image;
  readonly guest: Image;
  /** host-physical address of guest-physical 0 */
  readonly guestBase: number;
  result!: RunResult;
  output = '';

  constructor(hostFile: string, guestFile: string, opts: GuestRunOptions = {}) {
    this.host = program(hostFile);
    this.guest = program(guestFile);
    this.machine = new Machine({
      cpus: 1,
      ...opts.config,
      onUartOutput: (_source, text) => void (this.output += text),
    });
    this.exits = new ExitStats(this.machine.trace);
    const keep = opts.keep ?? ((e: TraceEvent) => e.kind !== TraceKind.UartTx);
    this.machine.trace.on((e) => {
      if (keep(e)) this.events.push(e);
    });
    loadImage(this.machine.memory, this.host, hostFile);
    const base = lookupSymbol(this.host, 'guest_memory');
    if (!base) throw new Error(`${hostFile} has no guest_memory symbol`);
    this.guestBase = base.value;
    loadImage(this.machine.memory, this.guest, guestFile, this.guestBase, this.machine.memory.size - this.guestBase);
  }

  run(untilCycles = 2e9): this {
    this.machine.start(this.host.entry);
    this.result = this.machine.run({ untilCycles });
    return this;
  }

  /** Guest-physical address of a guest symbol (labels and `.struct` constants alike). */
  sym(name: string): number {
    const s = lookupSymbol(this.guest, name);
    if (!s) throw new Error(`guest has no symbol ${name}`);
    return s.value;
  }

  /** Read a guest dword at a guest-physical address or symbol (+ offset). */
  read32(at: number | string, offset = 0): number {
    const gpa = typeof at === 'string' ? this.sym(at) : at;
    return this.machine.memory.read32(this.guestBase + gpa + offset) >>> 0;
  }

  /** A zero-terminated string in guest memory. */
  readString(gpa: number): string {
    let s = '';
    for (let i = 0; i < 64; i++) {
      const b = this.machine.memory.bytes[this.guestBase + gpa + i];
      if (!b) break;
      s += String.fromCharCode(b);
    }
    return s;
  }

  /** The recorded events of one kind (for TraceKind.Tracepoint, `a` is the tracepoint number, `b` the value). */
  ofKind(kind: TraceKind): TraceEvent[] {
    return this.events.filter((e) => e.kind === kind);
  }
}

/** The RTOS (guests/rtos) under hv-demo with a parameter block, run to completion. */
export class RtosRun extends GuestRun {
  readonly params: RtosParams;

  constructor(params: RtosParamsInput = {}, opts: GuestRunOptions = {}) {
    super(HV_DEMO, RTOS, opts);
    this.params = rtosParams({ tscKhz: this.machine.config.model.hz / 1000, ...params });
    writeRtosParams(this.machine.memory, this.guestBase, this.params);
  }

  get results(): RtosResults {
    return readRtosResults((s) => this.sym(s), (gpa) => this.read32(gpa), this.params);
  }

  /** Task names by the id in task_dispatch tracepoints. */
  taskNames(): string[] {
    const size = this.sym('tcb.size');
    const names: string[] = [];
    for (let i = 0; i < this.read32('task_count'); i++) names.push(this.readString(this.read32('tcb_pool', i * size + this.sym('tcb.name'))));
    return names;
  }
}

/** Run the RTOS with these parameters until it says it is done (or `untilCycles`). */
export function runRtos(params: RtosParamsInput = {}, opts: GuestRunOptions = {}): RtosRun {
  return new RtosRun(params, opts).run(opts.untilCycles);
}
