/**
 * Checkpoint/restore (src/machine/checkpoint.ts): a whole system — the host
 * kernel with KVM running the RTOS and the GPOS (bonnie on the
 * virtual disk), periodic USB-legacy SMIs into the SMM handler — is saved
 * at several points, restored into a new machine and continued; the result
 * must be the uninterrupted run's, bit for bit: trace hash and count, every
 * CPU's cycles and instructions, RAM, console output, exit counts.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assembleFiles } from '../../src/asm/assembler.js';
import { GPOS_MAIN, GPOS_MEMORY, gposBootParams, writeGposBootParams } from '../../src/guests/gpos.js';
import { rtosParams, writeRtosParams } from '../../src/guests/rtos-params.js';
import { SchedPolicy, ThreadKind } from '../../src/machine/boot-params.js';
import {
  CHECKPOINT_FORMAT, CheckpointError, decodeCheckpoint, encodeCheckpoint, restoreMachine, saveMachine, type MachineState,
} from '../../src/machine/checkpoint.js';
import { NEHALEM } from '../../src/machine/cpu-model.js';
import { EventQueue } from '../../src/machine/event-queue.js';
import { Machine } from '../../src/machine/machine.js';
import { PLATFORM_SYMBOLS } from '../../src/machine/platform-symbols.js';
import { createSystem } from '../../src/experiments/system.js';
import { TraceKind } from '../../src/trace/trace.js';
import { exitReasonName } from '../../src/vmx/exit-reasons.js';
import { LaunchState } from '../../src/vmx/vmcs.js';

const ROOT = path.resolve(__dirname, '../..');
const HZ = NEHALEM.hz;
const ms = (x: number): number => Math.round((x / 1e3) * HZ);
const SMM = assembleFiles([path.join(ROOT, 'firmware/smm/main.s')], { defines: { ...PLATFORM_SYMBOLS } });
const END = ms(6);

/** RTOS (IRT benchmark, FIFO 97 on CPU 1) + GPOS (bonnie on the virtual disk, CPU 0), SMIs every 1.5 ms lasting ~150 µs. */
function build(): Machine {
  const sys = createSystem({
    cpus: 2,
    params: { tickHz: 1000 },
    vms: [
      { name: 'rtos', image: path.join(ROOT, 'guests/rtos/main.s'), memory: 4 << 20, vcpuThreads: [{ policy: SchedPolicy.SCHED_FIFO, prio: 97, affinity: 0b10 }], ioThread: { affinity: 1 } },
      { name: 'gpos', image: GPOS_MAIN, memory: GPOS_MEMORY, vcpuThreads: [{ affinity: 1 }], ioThread: { affinity: 1 } },
    ],
    machine: { smi: { period: ms(1.5), work: Math.round(150e-6 * HZ), phase: ms(0.7) }, traceKeep: 32 },
  });
  sys.machine.loadSmmHandler(SMM, 'smm');
  writeRtosParams(sys.machine.memory, sys.vm('rtos').memBase, rtosParams({ tscKhz: HZ / 1000, irt: { enable: true, intervalUs: 200, loops: 1000, histBuckets: 100 } }));
  const bp = gposBootParams({ cyclictest: null, loads: 0 }); // no CPU hog: the tickless guest would never run bonnie beside it
  bp.threads.push({ name: 'bonnie', kind: ThreadKind.LOAD, policy: SchedPolicy.SCHED_OTHER, prio: 0, nice: 0, affinity: 1, vm: 0, vcpu: 7 });
  writeGposBootParams(sys.machine.memory, sys.vm('gpos').memBase, bp);
  return sys.machine;
}

/** VM exits by reason, counted by a listener from now on. */
function countExits(m: Machine): Record<string, number> {
  const n: Record<string, number> = {};
  m.trace.on((e) => {
    if (e.kind === TraceKind.VmExit) n[exitReasonName(e.a >>> 0)] = (n[exitReasonName(e.a >>> 0)] ?? 0) + 1;
  });
  return n;
}

function fingerprint(m: Machine) {
  let ram = 0x811c9dc5;
  const w = m.memory.i32;
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) ram = Math.imul(ram ^ w[i] ^ i, 0x01000193);
  return {
    hash: m.trace.hash,
    count: m.trace.count,
    recent: m.trace.recent(),
    cycles: m.cpus.map((c) => c.cycles),
    instructions: m.cpus.map((c) => c.instructions),
    smmCycles: m.cpus.map((c) => c.smm!.cycles),
    ram,
    console: m.uart.lines(),
    disk: m.disk.peekState(),
    smis: m.smiSource.count,
    events: m.queue.list(),
  };
}

/** Run to `at`, checkpoint (optionally through the file encoding), restore into a new machine, run to the end. */
function continued(at: number, o: { viaFile?: boolean; compile?: boolean; probe?: (m: Machine) => void } = {}) {
  const m = build();
  m.run({ untilCycles: at });
  o.probe?.(m);
  let state = saveMachine(m);
  if (o.viaFile) state = (decodeCheckpoint(encodeCheckpoint({ machine: state }), 'x.ckpt').payload as { machine: MachineState }).machine;
  const r = restoreMachine(state, { compile: o.compile });
  const exits = countExits(r);
  r.run({ untilCycles: END });
  return { ...fingerprint(r), exits };
}

/** The uninterrupted run, stopping at `at` too (run() boundaries are the same as in the checkpointed run). */
function straight(at: number) {
  const m = build();
  m.run({ untilCycles: at });
  const exits = countExits(m);
  m.run({ untilCycles: END });
  return { ...fingerprint(m), exits };
}

/** The first multiple of `step` at which `cond` holds after a run to it (a probe run). */
function findPoint(cond: (m: Machine) => boolean, step = 7_919, limit = END): number {
  const m = build();
  for (let t = step; t < limit; t += step) {
    m.run({ untilCycles: t });
    if (cond(m)) return t;
  }
  throw new Error('no such point');
}

describe('checkpoint/restore of a whole system', () => {
  it('continuing from a checkpoint at 2.5 ms (through the file format) is the uninterrupted run', () => {
    const a = straight(ms(2.5));
    const b = continued(ms(2.5), { viaFile: true });
    expect(a.smis).toBeGreaterThan(3);
    expect(Object.keys(a.exits).length).toBeGreaterThan(2);
    expect(b).toEqual(a);
  });

  it('mid-SMM: a CPU inside the SMM handler when the checkpoint is taken', () => {
    const at = findPoint((m) => m.cpus.some((c) => c.smm!.active));
    const a = straight(at);
    let inSmm = -1;
    const b = continued(at, { probe: (m) => { inSmm = m.cpus.findIndex((c) => c.smm!.active); } });
    expect(inSmm).toBeGreaterThanOrEqual(0);
    expect(b).toEqual(a);
  });

  it('mid-VM-exit: the host handling an exit (root mode, guest launched), disk request in flight', () => {
    const at = findPoint((m) => m.disk.nextEvent() < Infinity && m.cpus.some((c) => !c.nonRoot && c.vmx!.vmcs?.launchState === LaunchState.Launched && !c.smm!.active));
    const a = straight(at);
    const b = continued(at, { compile: false }); // and the restored machine runs interpreted: same results
    expect(b).toEqual(a);
  });

  it('a checkpoint in guest mode with timers armed (RTOS on CPU 1 in non-root mode)', () => {
    const at = findPoint((m) => m.cpus[1].nonRoot && m.queue.list().some((e) => e.name.startsWith('lapic')), 3_001, END);
    expect(continued(at)).toEqual(straight(at));
  });
});

describe('checkpoint files', () => {
  const state = () => ({ machine: saveMachine(new Machine({ cpus: 1, memoryBytes: 1 << 20 })) });

  it('a different format version is refused with one line naming the file and both versions', () => {
    const buf = encodeCheckpoint(state(), { format: CHECKPOINT_FORMAT + 1 });
    expect(() => decodeCheckpoint(buf, 'old.ckpt')).toThrow(CheckpointError);
    expect(() => decodeCheckpoint(buf, 'old.ckpt')).toThrow(new RegExp(`^old\\.ckpt: checkpoint format ${CHECKPOINT_FORMAT + 1} .* reads \\(${CHECKPOINT_FORMAT}\\); re-create it`));
  });

  it('not a checkpoint, or a damaged one: one line each', () => {
    expect(() => decodeCheckpoint(Buffer.from('\x7fELF garbage'), 'a.elf')).toThrow(/^a\.elf: not a vmxsim checkpoint$/);
    const good = encodeCheckpoint(state());
    expect(() => decodeCheckpoint(good.subarray(0, good.length - 100), 'cut.ckpt')).toThrow(/^cut\.ckpt: checkpoint is damaged/);
  });

  it('RAM is stored sparsely: an idle 1 MiB machine checkpoints in a few KiB', () => {
    expect(encodeCheckpoint(state()).length).toBeLessThan(8192);
  });

  it('a damaged configuration is refused before it allocates (fuzz finding: cpus 1e300 ran out of memory)', () => {
    const s = state().machine;
    for (const [k, v, msg] of [['cpus', 1e300, /cpus 1e\+300 is not 1-64/], ['memoryBytes', 2 ** 40, /memoryBytes \d+ is not a multiple of 4 KiB up to 2 GiB/], ['traceKeep', -1, /traceKeep -1/]] as const) {
      const bad = { ...s, config: { ...s.config, [k]: v } };
      expect(() => restoreMachine(bad)).toThrow(CheckpointError);
      expect(() => restoreMachine(bad)).toThrow(msg);
    }
  });

  it('an event scheduled without a descriptor cannot be checkpointed, and says which', () => {
    const q = new EventQueue();
    q.schedule(5, 'test-only', () => {});
    expect(() => q.save()).toThrow(/event 'test-only' at 5 cannot be checkpointed/);
  });

  it('equal-time events keep their order across a restore (sequence numbers are kept)', () => {
    const m = new Machine({ cpus: 2, memoryBytes: 1 << 20 });
    m.scheduleIpi(100, 1, 0, 0x40);
    m.scheduleIpi(100, 0, 0, 0x41);
    m.scheduleIpi(50, 1, 0, 0x42);
    const r = restoreMachine(saveMachine(m));
    expect(r.queue.list()).toEqual(m.queue.list());
    expect(r.queue.save()).toEqual(m.queue.save());
  });
});
