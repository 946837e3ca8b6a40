/**
 * The debugger's commands: one table with names, gdb-like aliases, usage
 * and help. A command is found by alias, then by name, then by a unique
 * prefix of a name (`disp` → display is fine, `d` is ambiguous unless an
 * alias). `info` has its own table of subcommands, matched the same way
 * (`i r` = info registers).
 */
import { TRACEPOINTS } from '../isa/tracepoints.js';
import type { Session } from './debugger.js';
import { QuitSession } from './debugger.js';
import { describeBreakpoint } from './breakpoints.js';
import { infoApic } from './inspect/apic.js';
import { backtrace, disassemble, examine } from './inspect/memory.js';
import { guestGprs, infoRegisters } from './inspect/registers.js';
import { infoSched } from './inspect/sched.js';
import { infoVmcs } from './inspect/vmcs.js';
import { DebugError, hex } from './target.js';
import { ExitReason, exitReasonName } from '../vmx/exit-reasons.js';
import { Field } from '../vmx/fields.js';
import { Hypercall } from '../vmx/hypercalls.js';

export interface Command {
  name: string;
  aliases: string[];
  usage: string;
  help: string;
  /** 'resume' = the machine goes on */
  run(s: Session, args: string, line: string): 'resume' | void;
}

/** `2000`, `2000 cycles`, `5us`, `1.5 ms` → cycles. */
export function parseDuration(text: string, hz: number, defaultUnit: 'cycles' | 'us'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(cycles?|us|µs|ms|ns)?\s*$/i.exec(text);
  if (!m) throw new DebugError(`'${text}': expected a time like 5000 (cycles), 20us, 1.5ms`);
  const v = Number(m[1]);
  const unit = (m[2] ?? defaultUnit).toLowerCase();
  const cycles = unit.startsWith('cycle') ? v : unit === 'ms' ? (v / 1e3) * hz : unit === 'ns' ? (v / 1e9) * hz : (v / 1e6) * hz;
  return Math.round(cycles);
}

const count = (args: string, dflt: number): number => {
  if (!args.trim()) return dflt;
  if (!/^\d+$/.test(args.trim())) throw new DebugError(`'${args.trim()}': expected a count`);
  return Number(args.trim());
};

/** `cpu N` within args, or the session's selected CPU. */
function cpuArg(s: Session, args: string): { cpu: number; rest: string } {
  const m = /(?:^|\s)cpu\s*(\d+)\b/.exec(args);
  if (!m) return { cpu: s.cpu, rest: args.trim() };
  const cpu = Number(m[1]);
  if (!s.t.machine.cpus[cpu]) throw new DebugError(`no cpu${cpu} (the machine has ${s.t.machine.cpus.length})`);
  return { cpu, rest: args.replace(m[0], ' ').trim() };
}

const INFO: Command[] = [
  { name: 'registers', aliases: ['r', 'reg'], usage: 'info registers [cpu N]', help: 'registers and decoded EFLAGS; in VMX root mode also the guest context (VMCS + KVM-saved GPRs)', run: (s, a) => {
    const { cpu } = cpuArg(s, a);
    infoRegisters(s.t, s.t.machine.cpus[cpu]).forEach((l) => s.out(l));
  } },
  { name: 'vmcs', aliases: [], usage: 'info vmcs [all] [FIELD...] [cpu N]', help: "the CPU's current VMCS field by field, decoded (zero fields summarised unless `all`; FIELD filters by name part)", run: (s, a) => {
    const { cpu, rest } = cpuArg(s, a);
    const words = rest.split(/\s+/).filter(Boolean);
    const all = words.includes('all');
    const only = words.filter((w) => w !== 'all');
    infoVmcs(s.t, s.t.machine.cpus[cpu], all, only.length ? only : undefined).forEach((l) => s.out(l));
  } },
  { name: 'apic', aliases: [], usage: 'info apic [cpu N]', help: 'local APIC: IRR, ISR, TPR/PPR, timer mode and deadline (peeked, no side effects)', run: (s, a) => {
    infoApic(s.t, cpuArg(s, a).cpu).forEach((l) => s.out(l));
  } },
  { name: 'sched', aliases: [], usage: 'info sched', help: "host scheduler from the kernel's memory: run queues per CPU, every task's policy/prio/affinity/state, where each vCPU is", run: (s) => {
    infoSched(s.t).forEach((l) => s.out(l));
  } },
  { name: 'breakpoints', aliases: ['b', 'break'], usage: 'info breakpoints', help: 'list breakpoints with hit counts', run: (s) => {
    if (s.breakpoints.length === 0) return void s.out('No breakpoints.');
    s.out('Num  Enb  Hits  What');
    for (const b of s.breakpoints) s.out(`${String(b.id).padEnd(4)} ${b.enabled ? 'y' : 'n'}    ${String(b.hits).padStart(4)}  ${describeBreakpoint(b)}`);
  } },
  { name: 'cpus', aliases: [], usage: 'info cpus', help: 'every CPU: state, mode, where', run: (s) => {
    for (const c of s.t.machine.cpus) s.out(`${c.id === s.cpu ? '*' : ' '} ${s.location(c)}  [${['running', 'halted', 'wait-for-SIPI', 'shutdown'][c.state]}]`);
  } },
  { name: 'vms', aliases: [], usage: 'info vms', help: 'address spaces: the host and each VM (guest-physical base in host memory)', run: (s) => {
    for (const sp of s.t.spaces) s.out(`${sp.name.padEnd(8)} ${sp.vm >= 0 ? `vm ${sp.vm}, guest-physical 0 = host ${hex(sp.base)}, ${sp.size >>> 10} KiB` : `host-physical, ${sp.size >>> 20} MiB`}${sp.image ? `, ${sp.image.symbols.length} symbols` : ''}`);
  } },
  { name: 'exits', aliases: [], usage: 'info exits', help: 'VM exits so far per reason (perf kvm stat style)', run: (s) => {
    s.exits.format(s.t.hz).split('\n').forEach((l) => s.out(l));
  } },
  { name: 'stages', aliases: [], usage: 'info stages', help: 'Fig. 2 stage breakdown of the interrupts delivered to guests so far', run: (s) => {
    s.stages.format(s.t.hz).split('\n').forEach((l) => s.out(l));
  } },
  { name: 'hypercall', aliases: ['hc'], usage: 'info hypercall [cpu N]', help: "the guest's hypercall registers (KVM convention: nr in RAX, arguments in RBX, RCX, RDX, RSI)", run: (s, a) => {
    const cpu = s.t.machine.cpus[cpuArg(s, a).cpu];
    const g = guestGprs(s.t, cpu);
    if (!g) return void s.out(`cpu${cpu.id}: no guest context (no vCPU loaded)`);
    const reason = cpu.vmx?.vmcs?.read(Field.VM_EXIT_REASON) ?? 0;
    if (!cpu.nonRoot && (reason & 0xffff) !== ExitReason.VMCALL) s.out(`(the last VM exit on cpu${cpu.id} was ${exitReasonName(reason)}, not VMCALL: these are just the guest's registers)`);
    s.out(s.hypercallLine(g.regs));
    s.out(`  registers from ${g.from}`);
  } },
];

export const COMMANDS: Command[] = [
  { name: 'help', aliases: ['h', '?'], usage: 'help [COMMAND]', help: 'list commands, or explain one', run: (s, a) => {
    if (a.trim()) {
      const { cmd } = findCommand(a.trim());
      s.out(`${cmd.usage}${cmd.aliases.length ? `   (aliases: ${cmd.aliases.join(', ')})` : ''}`);
      s.out(`  ${cmd.help}`);
      if (cmd.name === 'info') for (const c of INFO) s.out(`  ${c.usage.padEnd(36)} ${c.help}`);
      if (cmd.name === 'break') s.out(`  tracepoints: ${TRACEPOINTS.join(' ')}`);
      return;
    }
    for (const c of COMMANDS) s.out(`  ${c.usage.padEnd(40)} ${c.help}${c.aliases.length ? ` [${c.aliases.join(', ')}]` : ''}`);
  } },
  { name: 'continue', aliases: ['c', 'cont'], usage: 'continue', help: 'run until a breakpoint (or the end)', run: () => 'resume' },
  { name: 'stepi', aliases: ['si', 's', 'step'], usage: 'stepi [N]', help: 'execute N instructions (default 1) on the selected CPU; the other CPUs run as they would', run: (s, a) => {
    s.stepInstructions(count(a, 1));
    return 'resume';
  } },
  { name: 'next-exit', aliases: ['ne'], usage: 'next-exit [REASON] [vm NAME|cpu N]', help: 'run to the next VM exit (on the selected CPU unless vm/cpu is given)', run: (s, a) => {
    s.armTemp(`exit ${a}`);
    return 'resume';
  } },
  { name: 'next-entry', aliases: ['nen'], usage: 'next-entry [vm NAME|cpu N]', help: 'run to the next VM entry (on the selected CPU unless vm/cpu is given)', run: (s, a) => {
    s.armTemp(`entry ${a}`);
    return 'resume';
  } },
  { name: 'follow', aliases: ['f'], usage: 'follow', help: "follow this interrupt (stopped at its EXTERNAL_INTERRUPT exit) or the next one raised on the selected CPU: stop at each Fig. 2 point a-h and print each stage's cycles", run: (s) => {
    s.follow();
    return s.following ? 'resume' : undefined;
  } },
  { name: 'run', aliases: [], usage: 'run TIME', help: 'run for TIME (cycles, or 20us / 1.5ms) of simulated time; stops at the first slice boundary after it', run: (s, a) => {
    s.runUntil(s.t.machine.now + parseDuration(a, s.t.hz, 'cycles'));
    return 'resume';
  } },
  { name: 'until', aliases: ['u'], usage: 'until TIME', help: 'run until simulated time TIME (µs by default; or 1.5ms, 4000000cycles)', run: (s, a) => {
    s.runUntil(parseDuration(a, s.t.hz, 'us'));
    return 'resume';
  } },
  { name: 'break', aliases: ['b', 'br'], usage: 'break WHAT [filters] [if COND]', help: 'WHAT: exit [REASON|N], entry, vmcall [NR|hc_NAME], inject [VECTOR], tp NAME, smi, or an address (rtos:irt_isr, host:vmx_handle_exit, *0x1234); filters: vm NAME, vcpu N, cpu N, host|guest; COND e.g. `eax == 3`, `ebx != 0 && nr == 100`', run: (s, a) => {
    s.addBreakpoint(a);
  } },
  { name: 'delete', aliases: ['d'], usage: 'delete [N...]', help: 'delete breakpoints (all without N)', run: (s, a) => {
    const ids = a.trim() ? a.trim().split(/\s+/).map(Number) : s.breakpoints.map((b) => b.id);
    for (const id of ids) {
      const i = s.breakpoints.findIndex((b) => b.id === id);
      if (i < 0) throw new DebugError(`no breakpoint ${id}`);
      s.breakpoints.splice(i, 1);
    }
  } },
  { name: 'disable', aliases: [], usage: 'disable N...', help: 'disable breakpoints', run: (s, a) => setEnabled(s, a, false) },
  { name: 'enable', aliases: [], usage: 'enable N...', help: 'enable breakpoints', run: (s, a) => setEnabled(s, a, true) },
  { name: 'info', aliases: ['i', 'inf'], usage: 'info WHAT', help: 'registers, vmcs, apic, sched, breakpoints, cpus, vms, exits, stages, hypercall (help info)', run: (s, a) => {
    const m = /^(\S+)\s*(.*)$/.exec(a.trim());
    if (!m) throw new DebugError(`info what? ${INFO.map((c) => c.name).join(', ')}`);
    match(INFO, m[1], 'info').run(s, m[2], a);
  } },
  { name: 'cpu', aliases: [], usage: 'cpu [N]', help: 'select the CPU that stepping and inspection apply to', run: (s, a) => {
    if (a.trim()) {
      const n = count(a, 0);
      if (!s.t.machine.cpus[n]) throw new DebugError(`no cpu${n} (the machine has ${s.t.machine.cpus.length})`);
      s.cpu = n;
    }
    s.out(s.location(s.selected));
  } },
  { name: 'x', aliases: [], usage: 'x/NF ADDR', help: 'examine memory: N units of F (x hex dwords, d decimal, b bytes, s strings, i instructions) at ADDR (expression, `space:symbol`)', run: (s, _a, line) => {
    const m = /^x(?:\/(\d*)([xdbsi]?))?\s+(.+)$/.exec(line.trim());
    if (!m) throw new DebugError('usage: x/NF ADDR, e.g. x/16x host:runqueues, x/4i $eip');
    const { space, addr } = s.address(m[3]);
    examine(s.t, space, addr, m[1] ? Number(m[1]) : 4, m[2] || 'x').forEach((l) => s.out(l));
  } },
  { name: 'disas', aliases: ['disassemble'], usage: 'disas [ADDR] [N]', help: 'disassemble N instructions (default 8) at ADDR (default: the selected CPU\'s EIP), with symbols', run: (s, a) => {
    const words = a.trim().split(/\s+/).filter(Boolean);
    const n = words.length > 1 && /^\d+$/.test(words[words.length - 1]) ? Number(words.pop()) : 8;
    const cpu = s.selected;
    const { space, addr } = words.length ? s.address(words.join(' ')) : { space: s.t.spaceOf(cpu), addr: cpu.eip };
    disassemble(s.t, space, addr, n, space === s.t.spaceOf(cpu) ? cpu.eip : undefined).forEach((l) => s.out(l));
  } },
  { name: 'bt', aliases: ['backtrace', 'where'], usage: 'bt [cpu N]', help: 'backtrace along the frame-pointer chain (ebp); code without frame pointers gets a stack scan for return addresses (after a CALL)', run: (s, a) => {
    const cpu = s.t.machine.cpus[cpuArg(s, a).cpu];
    backtrace(s.t, cpu, s.t.spaceOf(cpu)).forEach((l) => s.out(l));
  } },
  { name: 'trace', aliases: ['t'], usage: 'trace [N]', help: 'the last N trace events (default 20)', run: (s, a) => {
    const ev = s.recent();
    for (const x of ev.slice(Math.max(0, ev.length - count(a, 20)))) s.out(s.formatEvent(x));
  } },
  { name: 'print', aliases: ['p'], usage: 'print EXPR', help: 'evaluate an expression (registers $eax, symbols, *ADDR, + - & |, comparisons)', run: (s, a) => {
    const { space, addr } = s.address(a);
    const d = s.t.describe(space, addr);
    s.out(`${hex(addr)} = ${addr | 0}${d ? ` <${d}>` : ''}`);
  } },
  { name: 'echo', aliases: [], usage: 'echo TEXT', help: 'print TEXT (scripts)', run: (s, a) => s.out(a) },
  { name: 'quit', aliases: ['q', 'exit'], usage: 'quit', help: 'end the session (the run stops here)', run: () => {
    throw new QuitSession(0);
  } },
];

function setEnabled(s: Session, a: string, on: boolean): void {
  const ids = a.trim().split(/\s+/).filter(Boolean).map(Number);
  if (ids.length === 0) throw new DebugError(`${on ? 'enable' : 'disable'} which breakpoints?`);
  for (const id of ids) {
    const b = s.breakpoints.find((x) => x.id === id);
    if (!b) throw new DebugError(`no breakpoint ${id}`);
    b.enabled = on;
  }
}

function match(table: Command[], word: string, what: string): Command {
  const w = word.toLowerCase();
  const exact = table.find((c) => c.aliases.includes(w)) ?? table.find((c) => c.name === w);
  if (exact) return exact;
  const pre = table.filter((c) => c.name.startsWith(w));
  if (pre.length === 1) return pre[0];
  if (pre.length > 1) throw new DebugError(`ambiguous ${what} '${word}': ${pre.map((c) => c.name).join(', ')}`);
  throw new DebugError(`unknown ${what} '${word}' (help lists them)`);
}

/** The command of a line and its arguments (`x/16x ADDR` → x, `i r` → info). */
export function findCommand(line: string): { cmd: Command; args: string } {
  const m = /^([^\s/]+)(\/\S*)?\s*(.*)$/.exec(line.trim())!;
  const cmd = match(COMMANDS, m[1], 'command');
  return { cmd, args: m[3] };
}

/** Words for tab completion: command names and aliases, info subcommands, spaces' symbols. */
export function completions(symbols: string[]): { commands: string[]; info: string[]; words: string[]; symbols: string[] } {
  const reasons = Object.keys(ExitReason).filter((k) => Number.isNaN(Number(k)));
  const hcs = Object.keys(Hypercall).flatMap((n) => [n, `hc_${n.replace(/^(KVM|VMXSIM)_HC_/, '').toLowerCase()}`]);
  return {
    commands: COMMANDS.flatMap((c) => [c.name, ...c.aliases]).filter((w) => w.length > 1).sort(),
    info: INFO.map((c) => c.name),
    words: ['exit', 'entry', 'vmcall', 'inject', 'tracepoint', 'smi', 'vm', 'vcpu', 'cpu', 'host', 'guest', 'if', ...reasons, ...hcs, ...TRACEPOINTS],
    symbols,
  };
}
