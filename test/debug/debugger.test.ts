/**
 * The debugger on the co-scheduling RTOS fixture: the CI transcript
 * (scripts/rtos-follow.gdb against its .expected output; after a deliberate
 * timing change `VMXSIM_UPDATE_GOLDEN=1 npx vitest run test/debug` rewrites
 * it, as for the golden exit counts), determinism (a
 * session that breaks everywhere, inspects everything and continues ends
 * with the same exits, instructions and trace hash as a plain run), and
 * the stops themselves (stepping counts, address breakpoints, conditions,
 * the Fig. 2 points agreeing with src/trace/stages.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { debugScenario, runDebugSession, scriptSource } from '../../src/debug/cli.js';
import { runScenario, type ScenarioRun } from '../../src/experiments/run-scenario.js';
import { QuitSession } from '../../src/debug/debugger.js';
import { loadScenario } from '../../src/experiments/scenario.js';

const HERE = path.dirname(new URL(import.meta.url).pathname);
const FIXTURE = path.join(HERE, 'fixtures/rtos-cosched.json');
const rel = path.relative(process.cwd(), FIXTURE);

/** Run a script against the fixture; the transcript lines and the scenario run. */
function session(script: string) {
  const out: string[] = [];
  let run: ScenarioRun | null = null;
  try {
    run = debugScenario(loadScenario(FIXTURE), {}, scriptSource(script, (l) => out.push(l)), (l) => out.push(l));
  } catch (e) {
    if (!(e instanceof QuitSession)) throw e;
  }
  return { out, text: out.join('\n'), run: run! };
}

describe('debugger', () => {
  it('rtos-follow.gdb: exit → VMCS → follow to the guest ISR → hc_boost, as in the expected transcript', () => {
    const script = readFileSync(path.join(HERE, 'scripts/rtos-follow.gdb'), 'utf8');
    const out: string[] = [];
    const code = runDebugSession(rel, {}, scriptSource(script, (l) => out.push(l)), (l) => out.push(l));
    expect(code).toBe(0);
    const file = path.join(HERE, 'scripts/rtos-follow.expected');
    // a deliberate change of the model's timing: VMXSIM_UPDATE_GOLDEN=1 npx vitest run test/debug rewrites the transcript
    if (process.env.VMXSIM_UPDATE_GOLDEN === '1') writeFileSync(file, `${out.join('\n')}\n`);
    const expected = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(out).toEqual(expected);
    const text = out.join('\n');
    // the checked facts, independent of layout
    expect(text).toMatch(/VM_EXIT_REASON\s+0x4402\s+0x00000001\s+EXTERNAL_INTERRUPT/);
    expect(text).toMatch(/VM_EXIT_INTR_INFO\s+0x4404\s+0x800000ec\s+vector 0xec type EXT_INTR valid/);
    for (const p of 'abcdefgh') expect(text).toMatch(new RegExp(`^  ${p}  `, 'm'));
    expect(text).toMatch(/records the same interrupt: total (\d+) cycles \(agrees\)/);
    expect(text).toMatch(/hypercall KVM_HC_BOOST \(rax 100\): rbx 0x0 rcx 0x1 rdx 0x61 .* = hc_boost\(cpu 0, policy SCHED_FIFO, prio 97\)/);
  }, 60_000);

  it('inspecting and continuing changes nothing: same exits, instructions and trace hash as without the debugger', () => {
    const plain = runScenario(loadScenario(FIXTURE));
    const inspectAll = [
      'info registers', 'info sched', 'info apic cpu 1', 'info vmcs all', 'trace 5',
      'b exit', 'b entry if eax != 12345', 'b inject', 'b tp sched_switch host', 'b smi', 'b vmcall vm rtos',
      'c', 'info registers', 'info vmcs all', 'info apic', 'info sched', 'bt', 'x/8x $esp', 'x/4i $eip', 'disas', 'trace 10', 'info exits', 'info stages',
      'c', 'c', 'info vmcs', 'next-exit', 'next-entry', 'info hypercall', 'c',
      'delete',
      'b host:vmx_handle_exit', 'c', 'info registers', 'bt', 'si 7', 'info cpus', 'cpu 0', 'si 3', 'delete',
      'b exit EXTERNAL_INTERRUPT vm rtos', 'c', 'follow', 'c', 'c', 'c', 'c', 'delete',
      'run 20us', 'until 1500', 'info sched', 'info apic cpu 0',
      'b vmcall hc_boost', 'c', 'info hypercall', 'info registers', 'delete', 'c',
    ].join('\n');
    const dbg = session(inspectAll);
    expect(dbg.text).not.toMatch(/^error:/m);
    expect(dbg.text.match(/^Breakpoint \d+, /gm)!.length).toBeGreaterThanOrEqual(8);
    expect(dbg.run.result.exits).toEqual(plain.result.exits);
    expect(dbg.run.result.instructions).toBe(plain.result.instructions);
    expect(dbg.run.sys.machine.trace.hash).toBe(plain.sys.machine.trace.hash);
    expect(dbg.run.sys.machine.trace.count).toBe(plain.sys.machine.trace.count);
    expect(dbg.text).toContain(`hash ${plain.sys.machine.trace.hash}`);
  }, 120_000);

  it('stepi executes exactly N instructions on the selected CPU; address breakpoints stop before the instruction', () => {
    const { out, text } = session(['b host:vmx_handle_exit', 'c', 'print $eip', 'cpu 1', 'si 4', 'print $cycles', 'delete', 'b rtos:irt_isr', 'c', 'print $eip', 'delete', 'q'].join('\n'));
    expect(text).toMatch(/Breakpoint 1, 0x[0-9a-f]+ <host:vmx_handle_exit> on cpu\d/);
    const eip = /^(0x[0-9a-f]+) = \d+ <host:vmx_handle_exit>$/m.exec(text);
    expect(eip).not.toBeNull();
    expect(text).toMatch(/Breakpoint 2, 0x[0-9a-f]+ <rtos:irt_isr> on cpu1/);
    expect(text).toMatch(/^0x[0-9a-f]+ = \d+ <rtos:irt_isr>$/m);
    // si 4 on cpu1: the location line after it is 4 instructions on (instruction counts from info registers would do as well)
    const locs = out.filter((l) => /^cpu1 (in rtos )?at /.test(l));
    expect(locs.length).toBeGreaterThan(1);
  }, 60_000);

  it('si counts instructions exactly', () => {
    const { out } = session(['b exit EXTERNAL_INTERRUPT vm rtos', 'c', 'info registers', 'si 5', 'info registers', 'q'].join('\n'));
    const counts = out.filter((l) => /^cpu1: .* instructions$/.test(l)).map((l) => Number(/(\d+) instructions$/.exec(l)![1]));
    expect(counts).toHaveLength(2);
    expect(counts[1] - counts[0]).toBe(5);
  }, 60_000);

  it('conditions filter hits; tracepoints by Linux name; until stops at the time', () => {
    const { text } = session(['b vmcall if ebx == 7', 'b tp kvm_hypercall host', 'c', 'info breakpoints', 'delete', 'until 800', 'q'].join('\n'));
    expect(text).toMatch(/Breakpoint 2, kvm_hypercall 0x64 on cpu1/); // KVM_HC_BOOST = 100 = 0x64
    expect(text).toMatch(/^1\s+y\s+0\s+VMCALL \(any\) if ebx == 7$/m);
    expect(text).toMatch(/^Stopped \(time reached\)\.\ncpu\d .*at 0\.80\d+ ms/m);
  }, 60_000);

  it('bad commands give one-line errors and the session goes on', () => {
    const { text } = session(['frobnicate', 'b exit NO_SUCH_REASON', 'b vmcall hc_nope', 'b tp no_such_tp', 'd', 'info zz', 'x/4x no_such_symbol', 'b exit vm nosuchvm', 'di 1', 'q'].join('\n'));
    expect(text).toMatch(/^error: unknown command 'frobnicate' \(help lists them\)$/m);
    expect(text).toMatch(/^error: no exit reason 'NO_SUCH_REASON'/m);
    expect(text).toMatch(/^error: no hypercall 'hc_nope'/m);
    expect(text).toMatch(/^error: no tracepoint 'no_such_tp'/m);
    expect(text).toMatch(/^error: unknown info 'zz'/m);
    expect(text).toMatch(/^error: no symbol or register 'no_such_symbol'$/m);
    expect(text).toMatch(/^error: no address space 'nosuchvm'/m);
    expect(text).toMatch(/^error: ambiguous command 'di': disable, disas$/m);
  }, 60_000);
});

describe('debugger on a bare program', () => {
  it('hv-demo with its tiny guest: symbols per space, the same trace as `run`, hypercall decoding', async () => {
    const { runProgram } = await import('../../src/cli/program.js');
    const ROOT = path.resolve(HERE, '../..');
    const hv = path.join(ROOT, 'firmware/hv-demo/main.s');
    const tiny = path.join(ROOT, 'guests/tiny/main.s');
    const plain = runProgram(hv, {}, { untilCycles: 2.67e9 }, [{ path: tiny, symbol: 'guest_memory' }]);
    const out: string[] = [];
    const script = ['b vmcall', 'c', 'info hypercall', 'info registers', 'x/2i tiny:_start', 'delete', 'b exit HLT', 'c'].join('\n');
    const code = runDebugSession(hv, { guests: [`${tiny}@guest_memory`] }, scriptSource(script, (l) => out.push(l)), (l) => out.push(l));
    const text = out.join('\n');
    expect(code).toBe(0);
    expect(text).toMatch(/^Breakpoint 1, VM exit VMCALL \(18\) from tiny on cpu0 at .* guest rip 0x[0-9a-f]+ <tiny:/m);
    expect(text).toMatch(/^\(vmxsim\) info hypercall\nhypercall VMXSIM_HC_PRINT \(rax 1000\): rbx 0x5 .* = print\(5\)\n {2}registers from the CPU \(at HOST_RIP/m);
    expect(text).toMatch(/^  general registers from the CPU \(at HOST_RIP, before the exit stub saved them\)$/m);
    expect(text).toMatch(/^tiny:_start:$/m);
    expect(text).toContain(`hash ${plain.machine.trace.hash}`);
  }, 60_000);
});

describe('inspection reads the kernel and the VMCS', () => {
  it('info sched shows hc_boost taking effect: the RTOS vCPU thread goes from SCHED_OTHER to SCHED_FIFO 97 on the RT queue', () => {
    const { text } = session(['b vmcall hc_boost vm rtos', 'c', 'info sched', 'next-entry vm rtos', 'info sched', 'info vmcs PIN_BASED VM_EXIT_CONTROLS CPU_BASED', 'q'].join('\n'));
    const rows = [...text.matchAll(/^\s+2 rtos\/vcpu0\s+R\s+(SCHED_\w+)\s+(\d+)\s+(\d+)\s/gm)].map((m) => [m[1], Number(m[2]), Number(m[3])]);
    expect(rows).toEqual([['SCHED_OTHER', 120, 0], ['SCHED_FIFO', 2, 97]]);
    expect(text).toMatch(/^ {2}rt \(1\): \[97\] rtos\/vcpu0\(2\)$/m);
    expect(text).toMatch(/rtos\/vcpu0 \(id 1\): thread rtos\/vcpu0\(2\), task cpu 1, .* running its guest on cpu1 now/);
    expect(text).toMatch(/PIN_BASED_VM_EXEC_CONTROL\s+0x4000\s+0x\w+\s+EXT_INTR_MASK/);
    expect(text).toMatch(/CPU_BASED_VM_EXEC_CONTROL\s+0x4002\s+0x\w+\s+USE_TSC_OFFSETTING \| HLT_EXITING \| UNCOND_IO_EXITING \| ACTIVATE_SECONDARY_CONTROLS/);
    expect(text).toMatch(/VM_EXIT_CONTROLS\s+0x400c\s+0x\w+\s+ACK_INTR_ON_EXIT/);
  }, 60_000);
});
