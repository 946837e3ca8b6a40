/**
 * A Chrome/Perfetto trace-event JSON recorder (opens in ui.perfetto.dev or
 * chrome://tracing), built live from the machine's trace of a host system:
 *
 * - process "pCPUs": a track per physical CPU with what ran there — the host
 *   thread (from the host's `sched_switch` tracepoints; `swapper/N` when
 *   idle), nested in it the guest (VmEntry → VmExit, named by VM) and SMM
 *   (SmiEnter → SmiLeave);
 * - process "host threads": a track per host thread with its time on a CPU;
 * - a process per VM: per vCPU a "guest mode" track (VmEntry → VmExit spans,
 *   instants for every VM exit with the reason's name and for every injected
 *   event with its vector) and an "interrupts (Fig. 2)" track with one slice
 *   per interrupt delivered to the vCPU, from raise (a) to the first guest
 *   ISR instruction (h), split into the six stages of src/trace/stages.ts;
 * - a flow arrow per delivered interrupt from the raising pCPU (at a) to the
 *   vCPU's guest span (at h).
 *
 * Spans become complete ("X") events when they end; spans still open when
 * the trace is written end at the last event seen. Times are µs (cycles /
 * hz). The emulator emits each CPU's events in time order but CPUs may be
 * up to a scheduling quantum apart, so a track that gathers events of
 * several CPUs (a host thread, a vCPU) clamps its times to be monotone —
 * which also keeps its slices properly nested.
 *
 * Memory is bounded: events are kept in typed columns (about 40 bytes each)
 * up to `maxEvents` (default 2M); after that recording stops, the trace
 * says so in `otherData` and with a global instant "trace truncated".
 */
import * as fs from 'node:fs';
import { TRACEPOINT_ID } from '../isa/tracepoints.js';
import { ThreadKind } from '../machine/boot-params.js';
import { exitReasonName } from '../vmx/exit-reasons.js';
import type { HostSystem } from '../experiments/system.js';
import { STAGES, STAGE_TITLES, StageBreakdown, type StageRecord } from './stages.js';
import { TraceKind, type TraceEvent } from './trace.js';

export const DEFAULT_MAX_EVENTS = 2_000_000;

export interface PerfettoOptions {
  /** stop recording after this many events (default 2M) */
  maxEvents?: number;
}

/** Kinds of stored events; each decides ph, category and args at output. */
const enum K {
  Span = 0, // X; a1 = CPU (or -1)
  Exit = 1, // i; a1 = reason, a2 = qualification
  Inject = 2, // i; a1 = interruption info
  FlowStart = 3, // s; a1 = flow id
  FlowEnd = 4, // f; a1 = flow id
  Delivery = 5, // X; a1 = vector, a2 = 1 if it caused a VM exit
  Stage = 6, // X; a1 = vector
  Truncated = 7, // i (global); a1 = events dropped (filled at output)
}

interface Track {
  pid: number;
  tid: number;
  /** open spans: start time (µs) and name id */
  stack: { ts: number; name: number; a1: number }[];
  /** the latest time used on this track (µs): times are clamped to be monotone */
  last: number;
}

const TP_SWITCH = TRACEPOINT_ID.get('sched_switch')!;
const PID_CPUS = 1000;
const PID_THREADS = 2000;
const PID_VM0 = 3000;
const INTR_TYPE = ['external', 'reserved', 'NMI', 'exception', 'software interrupt', 'privileged software exception', 'software exception', 'other'];

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export class PerfettoRecorder {
  readonly maxEvents: number;
  /** events not recorded because of the cap */
  dropped = 0;
  private n = 0;
  private kind = new Uint8Array(1024);
  private trk = new Uint16Array(1024);
  private nameId = new Uint32Array(1024);
  private ts = new Float64Array(1024);
  private dur = new Float64Array(1024);
  private a1 = new Float64Array(1024);
  private a2 = new Float64Array(1024);
  private names: string[] = [];
  private nameIndex = new Map<string, number>();
  private tracks: Track[] = [];
  private trackIndex = new Map<number, number>();
  private meta: object[] = [];
  private hz: number;
  private inGuest = new Map<number, boolean>();
  /** host thread (pid) running on each CPU, -1 before the first switch */
  private current = new Map<number, number>();
  private stages = new StageBreakdown();
  private flowId = 0;
  private lastTime = 0;
  private truncatedAt = -1;

  constructor(private readonly sys: HostSystem, opts: PerfettoOptions = {}) {
    this.maxEvents = opts.maxEvents ?? DEFAULT_MAX_EVENTS;
    this.hz = sys.machine.config.model.hz;
    this.process(PID_CPUS, 'pCPUs', 0);
    this.process(PID_THREADS, 'host threads', 1);
    for (let c = 0; c < sys.machine.cpus.length; c++) {
      this.thread(PID_CPUS, PID_CPUS + 1 + c, `CPU ${c}`, c);
      this.current.set(c, -1);
      this.begin(this.cpuTrack(c), 0, 'boot', c);
    }
    sys.params.threads.forEach((t, i) => this.thread(PID_THREADS, PID_THREADS + 1 + i, t.name, i));
    sys.vms.forEach((vm, v) => {
      this.process(PID_VM0 + 100 * v, `VM ${vm.name}`, 2 + v);
      sys.params.threads.forEach((t) => {
        if (t.kind !== ThreadKind.VCPU || t.vm !== v) return;
        this.thread(PID_VM0 + 100 * v, this.vcpuTid(v, t.vcpu), `vcpu${t.vcpu} guest mode`, 2 * t.vcpu);
        this.thread(PID_VM0 + 100 * v, this.vcpuTid(v, t.vcpu) + 1, `vcpu${t.vcpu} interrupts (Fig. 2)`, 2 * t.vcpu + 1);
      });
    });
    sys.machine.trace.on((e) => this.push(e));
  }

  /** Events recorded (without metadata). */
  get size(): number {
    return this.n;
  }

  get truncated(): boolean {
    return this.truncatedAt >= 0;
  }

  private us(cycles: number): number {
    return round3((cycles / this.hz) * 1e6);
  }

  private process(pid: number, name: string, sort: number): void {
    this.meta.push({ ph: 'M', name: 'process_name', pid, tid: pid, ts: 0, args: { name } });
    this.meta.push({ ph: 'M', name: 'process_sort_index', pid, tid: pid, ts: 0, args: { sort_index: sort } });
  }

  private thread(pid: number, tid: number, name: string, sort: number): void {
    this.meta.push({ ph: 'M', name: 'thread_name', pid, tid, ts: 0, args: { name } });
    this.meta.push({ ph: 'M', name: 'thread_sort_index', pid, tid, ts: 0, args: { sort_index: sort } });
  }

  private vcpuTid(vm: number, vcpu: number): number {
    return PID_VM0 + 100 * vm + 1 + 2 * vcpu;
  }

  private track(pid: number, tid: number): number {
    let i = this.trackIndex.get(tid);
    if (i === undefined) {
      i = this.tracks.length;
      this.tracks.push({ pid, tid, stack: [], last: 0 });
      this.trackIndex.set(tid, i);
    }
    return i;
  }

  private cpuTrack(cpu: number): number {
    return this.track(PID_CPUS, PID_CPUS + 1 + cpu);
  }

  /** The vCPU (vm, vcpu) of a host thread pid, if it is a vCPU thread. */
  private vcpuOf(pid: number): { vm: number; vcpu: number } | undefined {
    const t = this.sys.params.threads[pid - 1];
    return t && t.kind === ThreadKind.VCPU ? { vm: t.vm, vcpu: t.vcpu } : undefined;
  }

  private name(s: string): number {
    let i = this.nameIndex.get(s);
    if (i === undefined) {
      i = this.names.length;
      this.names.push(s);
      this.nameIndex.set(s, i);
    }
    return i;
  }

  private room(k: number): boolean {
    if (this.truncatedAt >= 0) return false;
    if (this.n + k > this.maxEvents) {
      this.truncatedAt = this.lastTime;
      return false;
    }
    if (this.n + k > this.kind.length) {
      const cap = Math.min(Math.max(2 * this.kind.length, this.n + k), this.maxEvents);
      const grow = <T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(a: T, C: new (n: number) => T): T => {
        const b = new C(cap);
        b.set(a);
        return b;
      };
      this.kind = grow(this.kind, Uint8Array);
      this.trk = grow(this.trk, Uint16Array);
      this.nameId = grow(this.nameId, Uint32Array);
      this.ts = grow(this.ts, Float64Array);
      this.dur = grow(this.dur, Float64Array);
      this.a1 = grow(this.a1, Float64Array);
      this.a2 = grow(this.a2, Float64Array);
    }
    return true;
  }

  private add(kind: K, trk: number, name: number, ts: number, dur: number, a1 = 0, a2 = 0): void {
    const i = this.n++;
    this.kind[i] = kind;
    this.trk[i] = trk;
    this.nameId[i] = name;
    this.ts[i] = ts;
    this.dur[i] = dur;
    this.a1[i] = a1;
    this.a2[i] = a2;
  }

  private clamp(trk: number, t: number): number {
    const tr = this.tracks[trk];
    if (t < tr.last) t = tr.last;
    tr.last = t;
    return t;
  }

  /** Open a span (stored when it ends; spans open at the end of the trace are written as ending there). */
  private begin(trk: number, t: number, name: string, a1 = -1): void {
    this.tracks[trk].stack.push({ ts: this.clamp(trk, t), name: this.name(name), a1 });
  }

  /** End the innermost open span of a track (when the cap is reached it stays open and ends at the truncation). */
  private end(trk: number, t: number): void {
    const stack = this.tracks[trk].stack;
    if (!stack.length || !this.room(1)) return;
    const s = stack.pop()!;
    const te = this.clamp(trk, t);
    this.add(K.Span, trk, s.name, s.ts, round3(te - s.ts), s.a1);
  }

  private instant(kind: K, trk: number, name: string, t: number, a1: number, a2 = 0): void {
    if (!this.room(1)) {
      this.dropped++;
      return;
    }
    this.add(kind, trk, this.name(name), this.clamp(trk, t), 0, a1, a2);
  }

  push(e: TraceEvent): void {
    if (this.truncatedAt >= 0) {
      this.dropped++;
      return;
    }
    const t = this.us(e.time);
    if (t > this.lastTime) this.lastTime = t;
    const cpu = e.cpu;
    const cpuTrk = this.cpuTrack(cpu);
    switch (e.kind) {
      case TraceKind.Tracepoint:
        if (e.a === TP_SWITCH && !this.inGuest.get(cpu)) this.switchTo(cpu, e.b | 0, t);
        break;
      case TraceKind.VmEntry: {
        this.inGuest.set(cpu, true);
        const v = this.vcpuOf(this.current.get(cpu) ?? -1);
        this.begin(cpuTrk, t, v ? `guest ${this.sys.vms[v.vm]?.name ?? v.vm}` : 'guest', cpu);
        if (v) this.begin(this.vcpuTrack(v), t, 'guest mode', cpu);
        break;
      }
      case TraceKind.VmExit: {
        this.inGuest.set(cpu, false);
        const v = this.vcpuOf(this.current.get(cpu) ?? -1);
        this.end(cpuTrk, t);
        if (v) this.end(this.vcpuTrack(v), t);
        this.instant(K.Exit, v ? this.vcpuTrack(v) : cpuTrk, exitReasonName(e.a >>> 0), t, e.a >>> 0, e.b >>> 0);
        break;
      }
      case TraceKind.VmInject: {
        const v = this.vcpuOf(this.current.get(cpu) ?? -1);
        const info = e.a >>> 0;
        this.instant(K.Inject, v ? this.vcpuTrack(v) : cpuTrk, `inject vector ${info & 0xff}`, t, info);
        break;
      }
      case TraceKind.SmiEnter:
        this.begin(cpuTrk, t, 'SMM', cpu);
        break;
      case TraceKind.SmiLeave:
        this.end(cpuTrk, t);
        break;
    }
    this.stages.push(e);
    const recs = this.stages.records;
    while (this.seenRecords < recs.length) this.delivered(recs[this.seenRecords++]);
  }

  private seenRecords = 0;

  private vcpuTrack(v: { vm: number; vcpu: number }): number {
    const tid = this.vcpuTid(v.vm, v.vcpu);
    return this.track(PID_VM0 + 100 * v.vm, tid);
  }

  private switchTo(cpu: number, pid: number, t: number): void {
    const trk = this.cpuTrack(cpu);
    const prev = this.current.get(cpu) ?? -1;
    // the CPU track: close whatever is open (the previous thread), open the next
    while (this.tracks[trk].stack.length && !this.truncated) this.end(trk, t);
    if (prev > 0) this.end(this.track(PID_THREADS, PID_THREADS + prev), t);
    this.current.set(cpu, pid);
    if (this.truncated) return;
    const name = pid === 0 ? `swapper/${cpu}` : (this.sys.params.threads[pid - 1]?.name ?? `pid ${pid}`);
    this.begin(trk, t, name, cpu);
    if (pid > 0) this.begin(this.track(PID_THREADS, PID_THREADS + pid), t, `on CPU ${cpu}`, cpu);
  }

  /** A Fig. 2 record completed: its slices on the vCPU's interrupt track and the flow a → h. */
  private delivered(r: StageRecord): void {
    const t = this.sys.params.threads[r.vcpu];
    if (!t || t.kind !== ThreadKind.VCPU) return;
    if (!this.room(2 + STAGES.length + 2)) {
      this.dropped++;
      return;
    }
    const v = { vm: t.vm, vcpu: t.vcpu };
    const trk = this.track(PID_VM0 + 100 * v.vm, this.vcpuTid(v.vm, v.vcpu) + 1);
    const p = r.points;
    const a = this.clamp(trk, this.us(p.a));
    const ends = [p.b, p.c, p.d, p.e, p.f, p.h].map((x) => this.us(x));
    let prev = a;
    const h = Math.max(a, ends[ends.length - 1]);
    const vec = `vector ${r.vector} (${r.source})`;
    this.add(K.Delivery, trk, this.name(`interrupt ${vec}`), a, round3(h - a), r.vector, r.exited ? 1 : 0);
    STAGES.forEach((s, i) => {
      const end = Math.min(h, Math.max(prev, ends[i]));
      this.add(K.Stage, trk, this.name(STAGE_TITLES[s]), prev, round3(end - prev), r.vector);
      prev = end;
    });
    this.clamp(trk, h);
    const id = ++this.flowId;
    this.add(K.FlowStart, this.cpuTrack(r.raiseCpu), this.name('interrupt'), this.us(p.a), 0, id);
    this.add(K.FlowEnd, this.vcpuTrack(v), this.name('interrupt'), this.us(p.h), 0, id);
  }

  /** Spans still open end at the last event seen (without changing the recorder). */
  private openSpans(): { trk: number; name: number; ts: number; dur: number; a1: number }[] {
    const out: { trk: number; name: number; ts: number; dur: number; a1: number }[] = [];
    const end = this.truncatedAt >= 0 ? this.truncatedAt : this.lastTime;
    this.tracks.forEach((tr, trk) => {
      const te = Math.max(end, tr.last);
      for (const s of tr.stack) out.push({ trk, name: s.name, ts: s.ts, dur: round3(te - s.ts), a1: s.a1 });
    });
    return out;
  }

  private event(kind: K, trk: number, name: number, ts: number, dur: number, a1: number, a2: number): object {
    const { pid, tid } = this.tracks[trk];
    const nm = this.names[name];
    switch (kind) {
      case K.Span:
        return { ph: 'X', cat: 'sched', name: nm, pid, tid, ts, dur, ...(a1 >= 0 && { args: { cpu: a1 } }) };
      case K.Exit:
        return { ph: 'i', s: 't', cat: 'vmexit', name: nm, pid, tid, ts, args: { reason: nm, basic_reason: a1 & 0xffff, qualification: `0x${a2.toString(16)}` } };
      case K.Inject:
        return { ph: 'i', s: 't', cat: 'inject', name: nm, pid, tid, ts, args: { vector: a1 & 0xff, type: INTR_TYPE[(a1 >>> 8) & 7] } };
      case K.FlowStart:
        return { ph: 's', cat: 'interrupt', name: nm, id: a1, pid, tid, ts };
      case K.FlowEnd:
        return { ph: 'f', bp: 'e', cat: 'interrupt', name: nm, id: a1, pid, tid, ts };
      case K.Delivery:
        return { ph: 'X', cat: 'interrupt', name: nm, pid, tid, ts, dur, args: { vector: a1, vm_exit: a2 === 1 } };
      case K.Stage:
        return { ph: 'X', cat: 'stage', name: nm, pid, tid, ts, dur, args: { vector: a1 } };
      default:
        return { ph: 'i', s: 'g', cat: 'vmxsim', name: nm, pid, tid, ts };
    }
  }

  /** All events in output order: metadata, then by time (a parent before the slices it contains). */
  private *events(): Generator<object> {
    yield* this.meta;
    const open = this.openSpans();
    const n = this.n;
    const total = n + open.length;
    const ts = (i: number): number => (i < n ? this.ts[i] : open[i - n].ts);
    const dur = (i: number): number => (i < n ? this.dur[i] : open[i - n].dur);
    const order = Array.from({ length: total }, (_, i) => i);
    order.sort((x, y) => ts(x) - ts(y) || dur(y) - dur(x) || x - y);
    for (const i of order) {
      if (i < n) yield this.event(this.kind[i] as K, this.trk[i], this.nameId[i], this.ts[i], this.dur[i], this.a1[i], this.a2[i]);
      else {
        const o = open[i - n];
        yield this.event(K.Span, o.trk, o.name, o.ts, o.dur, o.a1, 0);
      }
    }
    if (this.truncatedAt >= 0) {
      yield { ph: 'i', s: 'g', cat: 'vmxsim', name: `trace truncated: ${this.dropped} events dropped (cap ${this.maxEvents})`, pid: PID_CPUS, tid: PID_CPUS + 1, ts: Math.max(this.truncatedAt, this.tracks[this.cpuTrack(0)].last) };
    }
  }

  private otherData(): object {
    return { generator: 'vmxsim', hz: this.hz, events: this.n, max_events: this.maxEvents, truncated: this.truncated, dropped: this.dropped };
  }

  toJSON(): { traceEvents: unknown[]; displayTimeUnit: string; otherData: object } {
    return { traceEvents: [...this.events()], displayTimeUnit: 'ns', otherData: this.otherData() };
  }

  /** Write the JSON to a file without building it as one string (traces can be large). */
  writeFile(file: string): void {
    const fd = fs.openSync(file, 'w');
    try {
      let buf = `{"displayTimeUnit":"ns","otherData":${JSON.stringify(this.otherData())},"traceEvents":[\n`;
      let first = true;
      for (const e of this.events()) {
        buf += `${first ? '' : ',\n'}${JSON.stringify(e)}`;
        first = false;
        if (buf.length > 1 << 20) {
          fs.writeSync(fd, buf);
          buf = '';
        }
      }
      fs.writeSync(fd, `${buf}\n]}\n`);
    } finally {
      fs.closeSync(fd);
    }
  }
}
