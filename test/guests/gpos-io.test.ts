/**
 * The GPOS guest's paravirtual pieces (guests/gpos/cosched.s, io.s):
 *  - co-scheduling (paper §4.2): the kernel's sched_switch_hook /
 *    irq_exit_hook, installed only with bp.cosched in the guest's own block,
 *    boost the vCPU thread when a real-time task is dispatched and deboost
 *    it at an interrupt exit with no real-time task ready;
 *  - a block driver for the I/O thread's virtual disk with completion
 *    interrupts, and a bonnie-like load (write, rewrite, read of a region).
 */
import { describe, expect, it } from 'vitest';
import { gposBootParams, writeGposBootParams, type GposOptions } from '../../src/guests/gpos.js';
import { SchedPolicy, ThreadKind, type BootParams } from '../../src/machine/boot-params.js';
import { TRACEPOINT_ID } from '../../src/isa/tracepoints.js';
import { TraceKind } from '../../src/trace/trace.js';
import { ExitStats } from '../../src/trace/exit-stats.js';
import { GposRun, ms } from '../helpers/gpos.js';

const { SCHED_OTHER, SCHED_FIFO } = SchedPolicy;
const KVM_HC_BOOST = 100;
const KVM_HC_DEBOOST = 101;
const VMXSIM_HC_DONE = 1001;
/** vCPU thread on CPU 1 (SCHED_OTHER), I/O thread on CPU 0 */
const VM = { vcpuThreads: [{ affinity: 0b10 }], ioThread: { affinity: 0b01 } };
const FAST_DISK = { rpm: 60000, trackToTrackMs: 0.05, fullStrokeMs: 0.2 };
/** bp_thread.vcpu of the bonnie thread (io.s GPOS_BONNIE) */
const GPOS_BONNIE = 7;
const BONNIE_BLOCKS = 16;
const BONNIE_BYTES = 4096;
const BONNIE_DWORDS = BONNIE_BYTES / 4;
const REWRITE_XOR = 0x5a5a5a5a;

interface Extra {
  cosched?: boolean;
  bonnie?: boolean;
}

/** A GPOS run whose guest block is `guest` plus co-scheduling and/or the bonnie thread. */
function gposRun(spec: ConstructorParameters<typeof GposRun>[0], extra: Extra): { r: GposRun; bp: BootParams } {
  const r = new GposRun(spec);
  const bp = gposBootParams(spec.guest as GposOptions);
  bp.cosched = extra.cosched ?? false;
  if (extra.bonnie) {
    bp.threads.push({ name: 'bonnie', kind: ThreadKind.LOAD, policy: SCHED_OTHER, prio: 0, nice: 0, affinity: 1, vm: 0, vcpu: GPOS_BONNIE });
  }
  const v = r.sys.vm('gpos');
  writeGposBootParams(r.sys.machine.memory, v.memBase, bp);
  return { r, bp };
}

/** tracepoints by name, collected from the start */
function collect(r: GposRun): (name: string) => { time: number; cpu: number; value: number }[] {
  const evs: { a: number; time: number; cpu: number; value: number }[] = [];
  r.sys.machine.trace.on((e) => {
    if (e.kind === TraceKind.Tracepoint) evs.push({ a: e.a, time: e.time, cpu: e.cpu, value: e.b | 0 });
  });
  return (name) => evs.filter((e) => e.a === TRACEPOINT_ID.get(name)).map(({ time, cpu, value }) => ({ time, cpu, value }));
}

const CT = { intervalUs: 1000, loops: 20 };

describe('GPOS co-scheduling hooks (paper §4.2)', () => {
  function run(guestCosched: boolean, hostCosched = true) {
    const { r } = gposRun({ cpus: 2, params: { cosched: hostCosched }, guest: { cyclictest: CT, tickHz: 250 }, vm: VM }, { cosched: guestCosched });
    const exits = new ExitStats(r.sys.machine.trace);
    const tps = collect(r);
    r.run(ms(100));
    return { r, exits, tps, pid: r.sys.threadIndex('gpos/vcpu0') + 1 };
  }

  it('with bp.cosched in the guest, dispatching the FIFO 80 cyclictest boosts the vCPU thread and an idle interrupt exit deboosts it', () => {
    const { r, exits, tps, pid } = run(true);
    expect(r.result!.exitCode).toBe(0);
    const [s] = r.cyclictest;
    expect(s.count).toBe(CT.loops);
    const boosts = r.guest32('gpos_cosched_boosts');
    const deboosts = r.guest32('gpos_cosched_deboosts');
    expect(boosts).toBeGreaterThanOrEqual(2);
    expect(deboosts).toBeGreaterThanOrEqual(1);
    expect(boosts - deboosts).toBeGreaterThanOrEqual(0);
    expect(boosts - deboosts).toBeLessThanOrEqual(1);
    expect(r.guest32('gpos_cosched_result')).toBe(0); // honoured by the host
    // one VMCALL exit per boost and per deboost, plus the final VMXSIM_HC_DONE
    expect(exits.counts().VMCALL).toBe(boosts + deboosts + 1);
    const hcs = tps('kvm_hypercall').map((e) => e.value);
    expect(hcs.at(-1)).toBe(VMXSIM_HC_DONE);
    const calls = hcs.slice(0, -1);
    calls.forEach((nr, i) => expect(nr).toBe(i % 2 === 0 ? KVM_HC_BOOST : KVM_HC_DEBOOST)); // strictly alternating
    // the host changes the vCPU thread's policy each time (sched_setscheduler on its pid); the other
    // changes are KVM's interrupt boost (kvm_set_irq for a deboosted vCPU) and its end at the EOI (kvm_msr)
    const changes = tps('sched_setscheduler').filter((e) => e.value === pid);
    const marks = ['kvm_hypercall', 'kvm_set_irq', 'kvm_msr'].flatMap((name) => tps(name).map((e) => ({ name, time: e.time })));
    const cause = (t: number) => marks.filter((e) => e.time <= t).reduce((a, b) => (b.time >= a.time ? b : a)).name;
    expect(changes.filter((c) => cause(c.time) === 'kvm_hypercall').length).toBe(boosts + deboosts);
    for (const c of changes) expect(['kvm_hypercall', 'kvm_set_irq', 'kvm_msr']).toContain(cause(c.time));
    console.log(`gpos cosched: ${boosts} boosts, ${deboosts} deboosts over ${CT.loops} cyclictest loops (guest tick 250 Hz); max ${s.maxNs} ns`);
  });

  it('the vCPU thread runs SCHED_FIFO at the task\'s priority while boosted', () => {
    const { r } = gposRun({ cpus: 2, params: { cosched: true }, guest: { cyclictest: CT, tickHz: 250 }, vm: VM }, { cosched: true });
    const pid = r.sys.threadIndex('gpos/vcpu0') + 1;
    const task = r.sys.sym('tasks') + (r.sys.sym('NR_CPUS') + pid - 1) * r.sys.sym('task.size');
    const field = (f: string): number => r.sys.read32(task + r.sys.sym(`task.${f}`));
    let seenBoosted = false;
    for (let t = ms(1); t <= ms(60) && !seenBoosted; t += ms(0.05)) {
      r.run(t);
      if (r.guest32('gpos_cosched_policy') === SCHED_FIFO) {
        expect(field('policy')).toBe(SCHED_FIFO);
        expect(field('rt_priority')).toBe(80);
        seenBoosted = true;
      }
    }
    expect(seenBoosted).toBe(true);
    r.run(ms(100));
    expect(r.result!.exitCode).toBe(0);
    // the host mirrors the guest's record to the end: a guest that stops while its cyclictest is
    // dispatched (the last loop's VMXSIM_HC_DONE) leaves its vCPU thread boosted, as the paper's guest would
    const boosted = r.guest32('gpos_cosched_policy') === SCHED_FIFO;
    expect(field('policy')).toBe(boosted ? SCHED_FIFO : SCHED_OTHER);
  });

  it('without bp.cosched in the guest the hooks stay no-ops: no boost, no deboost', () => {
    const { r, exits, tps, pid } = run(false);
    expect(r.result!.exitCode).toBe(0);
    expect(r.cyclictest[0].count).toBe(CT.loops);
    expect(r.guest32('gpos_cosched_boosts')).toBe(0);
    expect(r.guest32('gpos_cosched_deboosts')).toBe(0);
    expect(exits.counts().VMCALL).toBe(1);
    expect(tps('kvm_hypercall').map((e) => e.value)).toEqual([VMXSIM_HC_DONE]);
    expect(tps('sched_setscheduler').filter((e) => e.value === pid)).toEqual([]);
  });

  it('with the guest asking but the host\'s co-scheduling off, the calls are refused and change nothing', () => {
    const { r, tps, pid } = run(true, false);
    expect(r.result!.exitCode).toBe(0);
    expect(r.guest32('gpos_cosched_boosts')).toBeGreaterThan(0);
    expect(r.guest32('gpos_cosched_result') | 0).toBe(-1); // -KVM_EPERM
    expect(tps('sched_setscheduler').filter((e) => e.value === pid)).toEqual([]);
  });
});

describe('GPOS virtual-disk driver and bonnie-like I/O load', () => {
  function bonnie(passes: number, guest: GposOptions, until = ms(400)) {
    const { r } = gposRun({ cpus: 2, machine: { disk: FAST_DISK }, guest, vm: VM }, { bonnie: true });
    r.sys.machine.memory.write32(r.sys.guestAddr('gpos', 'bonnie_passes'), passes);
    const exits = new ExitStats(r.sys.machine.trace);
    const tps = collect(r);
    const completes: { status: number; lba: number }[] = [];
    r.sys.machine.trace.on((e) => {
      if (e.kind === TraceKind.DiskComplete) completes.push({ status: e.a, lba: e.b });
    });
    r.run(until);
    return { r, exits, tps, completes };
  }

  it('writes, rewrites and reads back its region through the I/O thread: data intact, completion interrupts, disk IRQs', () => {
    const PASSES = 2;
    const { r, exits, tps, completes } = bonnie(PASSES, { cyclictest: null });
    expect(r.result!.reason).toBe('exit');
    expect(r.result!.exitCode).toBe(0);
    expect(r.guestConsole.some((l) => l.startsWith(`bonnie: ${PASSES} passes`))).toBe(true);
    expect(r.guest32('bonnie_done')).toBe(1);
    expect(r.guest32('bonnie_passes_done')).toBe(PASSES);
    const perPass = BONNIE_BLOCKS * BONNIE_BYTES;
    expect(r.guest32('bonnie_bytes_written')).toBe(PASSES * perPass);
    expect(r.guest32('bonnie_bytes_rewritten')).toBe(PASSES * perPass);
    expect(r.guest32('bonnie_bytes_read')).toBe(PASSES * perPass);
    const requests = PASSES * BONNIE_BLOCKS * 4; // write, read + write, read
    expect(r.guest32('bonnie_requests')).toBe(requests);
    expect(r.guest32('gpos_vdisk_irqs')).toBe(requests);
    expect(r.guest32('bonnie_errors')).toBe(0); // the guest's own check of what it read back
    expect(r.guest32('bonnie_io_errors')).toBe(0);
    // the physical disk holds the last pass's rewritten pattern (VM 0's region starts at sector 0)
    const data = r.sys.machine.disk.readSectors(0, BONNIE_BLOCKS * 8);
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let bad = 0;
    for (let b = 0; b < BONNIE_BLOCKS; b++) {
      for (let i = 0; i < BONNIE_DWORDS; i++) {
        const want = (((PASSES << 24) | (b << 12) | i) ^ REWRITE_XOR) >>> 0;
        if (dv.getUint32((b * BONNIE_DWORDS + i) * 4, true) !== want) bad++;
      }
    }
    expect(bad).toBe(0);
    // the host's side: port I/O exits to the I/O thread, one physical request and disk IRQ per guest request
    const c = exits.counts();
    expect(c.IO_INSTRUCTION).toBeGreaterThanOrEqual(requests * 6); // 4 register writes + status + ack
    expect(completes.length).toBe(requests);
    expect(completes.every((x) => x.status === 2 || (x.status & 4) === 0)).toBe(true);
    expect(tps('block_rq_issue').length).toBe(requests);
    expect(tps('block_rq_complete').length).toBe(requests);
    expect(tps('irq_handler_entry').filter((e) => e.value === 14).length).toBe(requests);
    expect(tps('kvm_inj_virq').filter((e) => e.value === 0x50).length).toBe(requests);
    const hz = 2_670_000_000;
    const mbs = (bytes: number, cycles: number): string => ((bytes / (cycles / hz)) / 1e6).toFixed(2);
    console.log(`gpos bonnie: ${requests} requests, ${c.IO_INSTRUCTION} IO exits; last pass MB/s write ${mbs(perPass, r.guest32('bonnie_write_cycles'))} rewrite ${mbs(perPass, r.guest32('bonnie_rewrite_cycles'))} read ${mbs(perPass, r.guest32('bonnie_read_cycles'))}`);
  });

  it('loops for ever with bonnie_passes 0 next to a FIFO 80 cyclictest, which still completes', () => {
    const { r } = bonnie(0, { cyclictest: { intervalUs: 1000, loops: 100 } });
    expect(r.result!.exitCode).toBe(0);
    const [s] = r.cyclictest;
    expect(s.count).toBe(100);
    expect(r.guest32('bonnie_passes_done')).toBeGreaterThan(0);
    expect(r.guest32('bonnie_bytes_written')).toBeGreaterThan(BONNIE_BLOCKS * BONNIE_BYTES);
    expect(r.guest32('bonnie_errors')).toBe(0);
    console.log(`gpos bonnie + cyclictest: ${r.guest32('bonnie_passes_done')} passes in 100 ms; cyclictest max ${s.maxNs} ns`);
  });

  it('with co-scheduling, disk completions that wake no real-time task deboost a tickless guest', () => {
    const { r } = gposRun(
      { cpus: 2, machine: { disk: FAST_DISK }, params: { cosched: true }, guest: { cyclictest: { intervalUs: 1000, loops: 30 } }, vm: VM },
      { bonnie: true, cosched: true },
    );
    const exits = new ExitStats(r.sys.machine.trace);
    r.run(ms(100));
    expect(r.result!.exitCode).toBe(0);
    expect(r.cyclictest[0].count).toBe(30);
    const boosts = r.guest32('gpos_cosched_boosts');
    const deboosts = r.guest32('gpos_cosched_deboosts');
    expect(deboosts).toBeGreaterThan(10); // tickless: only the disk's completion interrupts find no RT task ready
    expect(boosts - deboosts).toBeGreaterThanOrEqual(0);
    expect(boosts - deboosts).toBeLessThanOrEqual(1);
    expect(exits.counts().VMCALL).toBe(boosts + deboosts + 1);
    expect(r.guest32('bonnie_errors')).toBe(0);
    console.log(`gpos cosched + bonnie: ${boosts} boosts, ${deboosts} deboosts, ${r.guest32('gpos_vdisk_irqs')} disk completions in 30 ms; cyclictest max ${r.cyclictest[0].maxNs} ns`);
  });

  it('is deterministic', () => {
    const a = bonnie(1, { cyclictest: null });
    const b = bonnie(1, { cyclictest: null });
    expect(b.r.hash).toBe(a.r.hash);
    expect(b.r.guest32('bonnie_read_cycles')).toBe(a.r.guest32('bonnie_read_cycles'));
  });
});

