/**
 * A debugging session over a machine: breakpoints on VMX events and code
 * addresses, stepping, `follow` (the Fig. 2 points of one interrupt), and a
 * command loop that runs whenever the machine stops.
 *
 * How stopping works without changing the run: the session listens to the
 * trace (and, while single-stepping or with address breakpoints, to every
 * instruction through Machine.onStep); a hit asks the machine to stop
 * (Machine.requestStop), which cuts the running CPU's slice after the
 * current instruction, calls back here (Machine.onStop) and, when the
 * command loop returns, finishes that slice with its own limit. So the
 * machine runs the same slices as without the debugger, and inspecting
 * (peek, VMCS reads, APIC peekState) changes nothing: the same trace hash.
 * The command loop is synchronous: commands come from a LineSource (a
 * script, stdin, or the interactive REPL's worker bridge, repl.ts).
 */
import { ExitStats } from '../trace/exit-stats.js';
import { StageBreakdown } from '../trace/stages.js';
import { TraceKind, type TraceEvent } from '../trace/trace.js';
import { TRACEPOINT_ID } from '../isa/tracepoints.js';
import { REG32_NAMES } from '../isa/registers.js';
import { CpuState, type Cpu } from '../cpu/cpu.js';
import { ExitReason, exitReasonName } from '../vmx/exit-reasons.js';
import { Field as F } from '../vmx/fields.js';
import { Hypercall } from '../vmx/hypercalls.js';
import { SchedPolicy } from '../machine/boot-params.js';
import { describeBreakpoint, eventMatches, parseBreakpoint, type Breakpoint } from './breakpoints.js';
import { describeEvent, formatEvent, type SeenEvent } from './events.js';
import { evaluate, type Env } from './expr.js';
import { Follower, POINT_TITLES, type PointName } from './follow.js';
import { disassemble } from './inspect/memory.js';
import { hypercallName } from './inspect/vmcs.js';
import { vmcsSpace } from './inspect/registers.js';
import { DebugError, hex, type Space, type Target } from './target.js';
import { findCommand } from './commands.js';

/** Where commands come from; null = end of input. */
export interface LineSource {
  next(prompt: string): string | null;
}

/** Thrown through the machine's run loop by `quit`. */
export class QuitSession {
  constructor(readonly code = 0) {}
}

const TP_KVM_ENTRY = TRACEPOINT_ID.get('kvm_entry')!;
const RING = 4096;
const REG_ALIASES: Record<string, number> = Object.fromEntries(REG32_NAMES.flatMap((n, i) => [[n, i], [`r${n.slice(1)}`, i]]));

interface StopInfo {
  lines: string[];
  cpu: number;
  event?: SeenEvent;
}

export class Session {
  /** the CPU commands apply to (`cpu N`; a stop selects the CPU it happened on) */
  cpu = 0;
  readonly breakpoints: Breakpoint[] = [];
  private nextId = 1;
  private ring: SeenEvent[] = [];
  private ringPos = 0;
  private inGuest: (string | null)[];
  private lastVcpu: number[];
  private pending: StopInfo | null = null;
  /** the event of the last stop (for `follow`, `info hypercall`) */
  lastStop: SeenEvent | null = null;
  private follower: Follower | null = null;
  private reached: PointName[] = [];
  private si: { cpu: number; target: number } | null = null;
  private temp: Breakpoint | null = null;
  private timeStop = false;
  /** set when the run is over: resuming commands then only say so */
  ended: string | null = null;
  /** end of input: the run goes on to its end without stopping */
  detached = false;
  /** polled every 1024 trace events (Ctrl-C in the REPL) */
  pollInterrupt: (() => boolean) | null = null;
  private polls = 0;
  readonly stages: StageBreakdown;
  readonly exits: ExitStats;

  /** print (one line per output call, however many the text has) */
  readonly out: (text: string) => void;

  constructor(
    readonly t: Target,
    private readonly src: LineSource,
    out: (line: string) => void,
  ) {
    this.out = (text) => {
      for (const l of text.split('\n')) out(l);
    };
    const m = t.machine;
    this.inGuest = m.cpus.map(() => null);
    this.lastVcpu = m.cpus.map(() => -1);
    this.stages = new StageBreakdown(m.trace);
    this.exits = new ExitStats(m.trace);
    m.trace.on((e) => this.onEvent(e));
    m.onStop = () => this.served();
  }

  // ---- events ---------------------------------------------------------------

  private onEvent(e: TraceEvent): void {
    const cpu = e.cpu;
    const x: SeenEvent = { e, guest: this.inGuest[cpu] ?? null };
    if (e.kind === TraceKind.VmEntry) {
      const c = this.t.machine.cpus[cpu];
      x.guest = this.inGuest[cpu] = c ? this.t.spaceOf(c).name : 'guest';
    } else if (e.kind === TraceKind.VmExit) {
      x.vm = this.inGuest[cpu];
      x.vcpu = this.lastVcpu[cpu];
      this.inGuest[cpu] = null;
      x.guest = null;
    } else if (e.kind === TraceKind.Tracepoint && e.a === TP_KVM_ENTRY && x.guest === null) this.lastVcpu[cpu] = e.b | 0;
    if (this.ring.length < RING) this.ring.push(x);
    else this.ring[this.ringPos] = x;
    this.ringPos = (this.ringPos + 1) % RING;
    if (this.detached) return;
    if (this.pollInterrupt && (++this.polls & 0x3ff) === 0 && this.pollInterrupt()) this.interrupt();
    if (this.follower) {
      const pts = this.follower.push(x, (c) => this.t.machine.cpus[c]?.vmx?.vmcs?.read(F.VM_ENTRY_INTR_INFO_FIELD) ?? 0);
      if (pts.length) {
        this.reached.push(...pts);
        this.stop({ lines: [], cpu, event: x });
      }
    }
    let hit = false;
    for (const b of this.breakpoints) {
      if (!b.enabled || b.kind === 'address' || !this.matches(b, x)) continue;
      b.hits++;
      hit = true;
      this.stop({ lines: [`Breakpoint ${b.id}, ${this.eventStopLine(x)}`], cpu, event: x });
    }
    if (this.temp && this.matches(this.temp, x)) {
      this.temp = null;
      this.stop({ lines: hit ? [] : [this.eventStopLine(x)], cpu, event: x });
    }
  }

  private vcpuIndex(id: number | undefined): number | undefined {
    if (id === undefined || id < 0) return undefined;
    return this.t.sys?.params.threads[id]?.vcpu;
  }

  private matches(b: Breakpoint, x: SeenEvent): boolean {
    const c = this.t.machine.cpus[x.e.cpu];
    const vcpuId = x.e.kind === TraceKind.VmExit ? x.vcpu : this.lastVcpu[x.e.cpu];
    if (!eventMatches(b, x, c.regs[0] >>> 0, this.vcpuIndex(vcpuId))) return false;
    return b.cond === undefined || this.condition(b, c, x);
  }

  private condition(b: Breakpoint, cpu: Cpu, x?: SeenEvent): boolean {
    try {
      return evaluate(b.cond!, this.env(cpu, x)).value !== 0;
    } catch (err) {
      this.out(`breakpoint ${b.id}: condition '${b.cond}': ${(err as Error).message}; stopping`);
      return true;
    }
  }

  private stop(info: StopInfo): void {
    if (this.pending) {
      this.pending.lines.push(...info.lines);
      return;
    }
    this.pending = info;
    this.t.machine.requestStop();
  }

  /** The machine stops at the next boundary (Ctrl-C in the REPL). */
  interrupt(): void {
    if (!this.pending) this.stop({ lines: ['Interrupted.'], cpu: this.cpu });
  }

  private eventStopLine(x: SeenEvent): string {
    const { e } = x;
    const c = this.t.machine.cpus[e.cpu];
    const at = `on cpu${e.cpu} at ${this.t.time(e.time)}`;
    if (e.kind === TraceKind.VmExit) {
      const reason = e.a >>> 0;
      const vm = x.vm ? ` from ${x.vm}${this.vcpuIndex(x.vcpu) !== undefined ? `/vcpu${this.vcpuIndex(x.vcpu)}` : ''}` : '';
      const v = c.vmx?.vmcs;
      const gs = v ? vmcsSpace(this.t, v) : this.t.host;
      const rip = v ? `, guest rip ${this.t.where(gs, v.read(F.GUEST_RIP))}` : '';
      let line = `VM exit ${exitReasonName(reason)} (${reason & 0xffff})${vm} ${at}${rip}`;
      if ((reason & 0xffff) === ExitReason.VMCALL) line += `\n  ${this.hypercallLine(Array.from(c.regs, (r) => r >>> 0))}`;
      return line;
    }
    return `${describeEvent(x)} ${at}`;
  }

  /** KVM's convention: nr in EAX, arguments in EBX, ECX, EDX, ESI. */
  hypercallLine(regs: number[]): string {
    const [eax, ecx, edx, ebx, , , esi] = regs;
    const args = `rbx ${hex(ebx)} rcx ${hex(ecx)} rdx ${hex(edx)} rsi ${hex(esi)}`;
    const pol = (p: number): string => SchedPolicy[p] ?? String(p);
    const call =
      eax === Hypercall.KVM_HC_BOOST ? `hc_boost(cpu ${ebx}, policy ${pol(ecx)}, prio ${edx})`
      : eax === Hypercall.KVM_HC_DEBOOST ? `hc_deboost(cpu ${ebx})`
      : eax === Hypercall.VMXSIM_HC_PRINT ? `print(${ebx})`
      : eax === Hypercall.VMXSIM_HC_DONE ? `done(status ${ebx})`
      : '';
    return `hypercall ${hypercallName(eax)} (rax ${eax}): ${args}${call ? `  = ${call}` : ''}`;
  }

  // ---- single steps and address breakpoints (Machine.onStep) -----------------

  private readonly onStep = (cpu: Cpu): boolean => {
    if (this.si && cpu.id === this.si.cpu && cpu.instructions >= this.si.target) {
      this.si = null;
      this.pending = { lines: [], cpu: cpu.id };
      return true;
    }
    for (const b of this.breakpoints) {
      if (!b.enabled || b.kind !== 'address' || cpu.eip !== b.addr) continue;
      if (b.cpu !== undefined && b.cpu !== cpu.id) continue;
      const sp = b.space!;
      if (sp.vm < 0 ? cpu.nonRoot : !cpu.nonRoot || cpu.memBase !== sp.base) continue;
      if (b.cond !== undefined && !this.condition(b, cpu)) continue;
      b.hits++;
      this.pending = { lines: [`Breakpoint ${b.id}, ${this.t.where(sp, cpu.eip)} on cpu${cpu.id}`], cpu: cpu.id };
      return true;
    }
    return false;
  };

  /** Instruction-level stops need the machine to step; otherwise it runs at full speed. */
  private refreshStepping(): void {
    const need = !this.detached && (this.si !== null || this.breakpoints.some((b) => b.enabled && b.kind === 'address'));
    this.t.machine.onStep = need ? this.onStep : null;
  }

  // ---- the command loop -------------------------------------------------------

  /** Called by the machine at a served stop. */
  private served(): void {
    const p = this.pending ?? { lines: [this.timeStop ? 'Stopped (time reached).' : 'Stopped.'], cpu: this.cpu };
    this.pending = null;
    this.timeStop = false;
    this.cpu = p.cpu;
    if (p.event) this.lastStop = p.event;
    for (const l of p.lines) this.out(l);
    if (this.reached.length) this.printReached();
    this.out(this.location(this.t.machine.cpus[this.cpu]));
    this.loop();
  }

  /** Before the run: the machine is built, nothing has run. */
  start(): void {
    this.out(`vmxsim debugger: ${this.t.label}; ${this.t.machine.cpus.length} CPUs, spaces: ${this.t.spaces.map((s) => `${s.name}${s.vm >= 0 ? ` (guest-physical, host ${hex(s.base)})` : ''}`).join(', ')}. \`help\` lists commands.`);
    this.out('Stopped before the first instruction.');
    this.loop();
  }

  /** After the run: inspection still works, resuming does not. */
  end(summary: string[]): void {
    this.ended = summary[0] ?? 'the run has ended';
    for (const l of summary) this.out(l);
    if (!this.detached) this.loop();
  }

  private loop(): void {
    this.refreshStepping();
    for (;;) {
      const line = this.src.next('(vmxsim) ');
      if (line === null) {
        this.detached = true;
        this.refreshStepping();
        return;
      }
      if (this.execute(line)) break;
    }
    this.refreshStepping();
  }

  /** Run one command line; true = the machine should go on. */
  execute(line: string): boolean {
    const text = line.trim();
    if (text === '' || text.startsWith('#')) return false;
    try {
      const { cmd, args } = findCommand(text);
      const r = cmd.run(this, args, text);
      if (r === 'resume' && this.ended) {
        this.out(`The run has ended (${this.ended}); nothing to continue.`);
        return false;
      }
      return r === 'resume';
    } catch (err) {
      if (err instanceof QuitSession) throw err;
      if (err instanceof DebugError) {
        this.out(`error: ${err.message}`);
        return false;
      }
      throw err;
    }
  }

  // ---- used by commands -----------------------------------------------------------

  get selected(): Cpu {
    return this.t.machine.cpus[this.cpu];
  }

  /** `cpu1 at 0.123 ms (...): 0x1234 <host:vmx_vmexit>  push eax` */
  location(cpu: Cpu): string {
    const space = this.t.spaceOf(cpu);
    const insn = disassemble(this.t, space, cpu.eip, 1).pop()!.replace(/^\s*(=>\s*)?0x[0-9a-f]+( <[^>]*>)?\s*/, '');
    return `cpu${cpu.id} ${cpu.nonRoot ? `in ${space.name} ` : ''}at ${this.t.time(cpu.cycles)}: ${this.t.where(space, cpu.eip)}  ${insn}`;
  }

  /** Variables of expressions: registers of `cpu` (eax, rax, eip, eflags, ...) and, at an event, reason/nr/vector/value/vcpu. */
  env(cpu: Cpu, x?: SeenEvent): Env {
    const t = this.t;
    const space = t.spaceOf(cpu);
    return {
      variable: (n) => {
        if (n in REG_ALIASES) return cpu.regs[REG_ALIASES[n]] >>> 0;
        if (n === 'eip' || n === 'rip' || n === 'pc') return cpu.eip;
        if (n === 'eflags' || n === 'rflags') return cpu.eflags;
        if (n === 'cpu') return cpu.id;
        if (n === 'cycles' || n === 'time') return cpu.cycles;
        if (!x) return undefined;
        if (n === 'reason' && x.e.kind === TraceKind.VmExit) return x.e.a & 0xffff;
        if (n === 'qual' && x.e.kind === TraceKind.VmExit) return x.e.b >>> 0;
        if (n === 'nr') return cpu.regs[0] >>> 0;
        if (n === 'vector') return (x.e.kind === TraceKind.ApicTimer ? x.e.a : x.e.kind === TraceKind.IoApicIrq ? x.e.b : x.e.a) & 0xff;
        if (n === 'value') return x.e.b >>> 0;
        if (n === 'vcpu') return this.vcpuIndex(x.e.kind === TraceKind.VmExit ? x.vcpu : this.lastVcpu[x.e.cpu]);
        return undefined;
      },
      symbol: (name) => {
        const colon = name.indexOf(':');
        if (colon > 0) {
          const s = t.symbol(name.slice(colon + 1), t.space(name.slice(0, colon)));
          if (!s) throw new DebugError(`no symbol ${name.slice(colon + 1)} in ${name.slice(0, colon)}`);
          return { value: s.value, space: s.space.name };
        }
        const s = t.symbol(name, space) ?? t.symbol(name);
        return s && { value: s.value, space: s.space.name };
      },
      deref: (addr, sp) => t.read32(sp ? t.space(sp) : space, addr),
    };
  }

  /** An address expression: its space (from a `space:` symbol, else the selected CPU's) and value. */
  address(expr: string): { space: Space; addr: number } {
    const m = /^([A-Za-z_][\w]*):(0x[0-9a-fA-F]+|\d+)$/.exec(expr.trim());
    if (m) return { space: this.t.space(m[1]), addr: Number(m[2]) };
    const cpu = this.selected;
    const v = evaluate(expr, this.env(cpu));
    return { space: v.space ? this.t.space(v.space) : this.t.spaceOf(cpu), addr: v.value };
  }

  addBreakpoint(text: string): Breakpoint {
    const spec = parseBreakpoint(text, (e) => this.address(e));
    if (spec.vm !== undefined) this.t.space(spec.vm);
    const b: Breakpoint = { ...spec, id: this.nextId++, enabled: true, hits: 0 };
    if (b.kind === 'address') b.label = this.t.describe(b.space!, b.addr!) || undefined;
    this.breakpoints.push(b);
    this.out(`Breakpoint ${b.id}: ${describeBreakpoint(b)}`);
    return b;
  }

  /** next-exit / next-entry: a one-shot event stop (on the selected CPU unless a filter says otherwise). */
  armTemp(text: string): void {
    const spec = parseBreakpoint(text, (e) => this.address(e));
    if (spec.vm === undefined && spec.cpu === undefined) spec.cpu = this.cpu;
    this.temp = { ...spec, id: 0, enabled: true, hits: 0 };
  }

  stepInstructions(n: number): void {
    const c = this.selected;
    if (c.state === CpuState.WaitForSipi || c.state === CpuState.Shutdown) throw new DebugError(`cpu${c.id} is ${c.state === CpuState.Shutdown ? 'shut down' : 'waiting for a STARTUP IPI'}: it executes nothing (select another with \`cpu N\`)`);
    this.si = { cpu: this.cpu, target: c.instructions + n };
  }

  runUntil(cycles: number): void {
    this.t.machine.stopAt = cycles;
    this.timeStop = true;
  }

  /** Follow the interrupt of the last stop (an EXTERNAL_INTERRUPT exit), or the next one raised on the selected CPU. */
  follow(): void {
    if (this.ended) throw new DebugError(`the run has ended (${this.ended})`);
    const last = this.lastStop;
    if (last && last.e.kind === TraceKind.VmExit && (last.e.a & 0xffff) === ExitReason.EXTERNAL_INTERRUPT && this.ring.includes(last)) {
      const cpu = last.e.cpu;
      const info = this.t.machine.cpus[cpu].vmx?.vmcs?.read(F.VM_EXIT_INTR_INFO) ?? 0;
      const raise = this.recent().reverse().find((x) => x.e.cpu === cpu && x.e.time <= last.e.time && ((x.e.kind === TraceKind.ApicTimer && x.e.b === 0) || x.e.kind === TraceKind.IoApicIrq));
      if (!raise) throw new DebugError('no interrupt raise recorded before this exit on its CPU');
      this.follower = new Follower({ a: { time: raise.e.time, cpu }, b: { time: last.e.time, cpu }, hostVector: info & 0xff });
      this.out(`Following host vector ${hex(info & 0xff, 2)} (VM_EXIT_INTR_INFO ${hex(info, 8)}) raised on cpu${cpu}:`);
      this.reached = ['a', 'b'];
      this.printReached();
    } else {
      this.follower = new Follower(undefined, this.cpu);
      this.out(`Following the next interrupt raised on cpu${this.cpu} (APIC timer or I/O APIC).`);
    }
  }

  private printReached(): void {
    const f = this.follower;
    if (!f) return;
    for (const p of this.reached) {
      const pt = f.points[p]!;
      const d = f.delta(p);
      const stage = Follower.stageTitle(p);
      const dt = d === undefined ? '' : `  +${d} cycles (${this.t.us(d)})  ${stage}`;
      this.out(`  ${p}  ${POINT_TITLES[p].padEnd(28)} cpu${pt.cpu} t=${pt.time}${dt}${pt.note ? `  [${pt.note}]` : ''}`);
      if (p === 'd' && f.vcpu >= 0) this.out(`     the host ISR raised guest vector ${hex(f.guestVector, 2)} for ${this.t.sys?.params.threads[f.vcpu]?.name ?? 'vcpu'} (id ${f.vcpu}, kvm_set_irq)`);
    }
    this.reached = [];
    if (f.failed) {
      this.out(`  follow ends: ${f.failed}`);
      this.follower = null;
    } else if (f.done) {
      const p = f.points;
      const total = p.h!.time - p.a!.time;
      this.out(`  total h-a: ${total} cycles (${this.t.us(total)})`);
      const rec = this.stages.records.find((r) => r.points.h === p.h!.time && r.cpu === p.h!.cpu);
      if (rec) this.out(`  stage breakdown (src/trace/stages.ts) records the same interrupt: total ${rec.total} cycles${rec.total === total ? ' (agrees)' : ' (DIFFERS)'}`);
      this.follower = null;
    }
  }

  get following(): boolean {
    return this.follower !== null;
  }

  /** The kept events, oldest first. */
  recent(): SeenEvent[] {
    return this.ring.length < RING ? this.ring.slice() : this.ring.slice(this.ringPos).concat(this.ring.slice(0, this.ringPos));
  }

  formatEvent(x: SeenEvent): string {
    return formatEvent(this.t, x);
  }
}
