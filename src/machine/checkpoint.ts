/**
 * Checkpoint/restore of a whole machine (QEMU's savevm/loadvm, for the
 * simulator): CPUs with their SMM and VMX state, every VMCS, the local APICs,
 * the devices on both buses (I/O APIC, UART, disk with its request in flight,
 * SMI source, ACPI block), RAM, the event queue and the trace position (hash,
 * count, ring). Continuing from a checkpoint gives the same trace, cycle for
 * cycle, as the run that was never interrupted.
 *
 * - Components' fields are taken generically (snapshot.ts: every plain-data
 *   field); decode and compiled-code caches are not state and are rebuilt
 *   lazily (the compiled and the interpreted paths give identical results).
 * - Events hold closures, so each carries a descriptor {owner, cpu, args}
 *   (event-queue.ts); on restore the owner re-schedules it with its original
 *   sequence number, so equal-time events fire in the same order.
 * - RAM is stored sparsely (non-zero 4 KiB pages).
 *
 * File format (writeCheckpointFile): one line of JSON, the header
 * {"magic":"vmxsim-checkpoint","format":N,"vmxsim":VERSION,...}, then the
 * payload: gzip of node:v8's structured serialization. A file of another
 * format version is refused with one line saying so.
 */
import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import * as zlib from 'node:zlib';
import { ImageError } from '../asm/errors.js';
import type { SavedEvent } from './event-queue.js';
import { Machine, type MachineConfig } from './machine.js';
import { PAGE_SIZE } from './memory.js';
import { restoreFields, saveFields, type Snapshot } from './snapshot.js';

/** Bump when the payload's layout changes (old checkpoints are then refused). */
export const CHECKPOINT_FORMAT = 1;
export const CHECKPOINT_MAGIC = 'vmxsim-checkpoint';

export const VMXSIM_VERSION: string = (() => {
  try {
    return JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version as string;
  } catch {
    return 'unknown';
  }
})();

/** A checkpoint file that cannot be used (one line naming the file and the problem). */
export class CheckpointError extends ImageError {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

export type SavedConfig = Omit<MachineConfig, 'onUartOutput'>;

export interface MachineState {
  config: SavedConfig;
  memory: { size: number; pages: Map<number, Uint8Array> };
  machine: Snapshot;
  cpus: { cpu: Snapshot; smm: Snapshot | null; vmx: Snapshot | null }[];
  apics: Snapshot[];
  /** every device on the I/O and memory buses, by bus and base address */
  devices: { bus: 'io' | 'mem'; base: number; name: string; state: Snapshot }[];
  vmcs: { address: number; state: Snapshot }[];
  queue: { seq: number; now: number; events: SavedEvent[] };
  trace: Snapshot;
}

/** Cpu fields that alias shared tables (RAM's decode slots, the cost table), not CPU state. */
const CPU_SKIP = ['decoded', 'cost'];

/** The machine's whole state, as plain data. Call between run() calls (no CPU is inside its slice). */
export function saveMachine(m: Machine): MachineState {
  const ram = m.memory.bytes.buffer;
  const notRam = (o: object, skip: string[] = []): Snapshot => {
    const s = saveFields(o, skip);
    for (const [k, v] of Object.entries(s)) if (ArrayBuffer.isView(v) && (o as Record<string, ArrayBufferView>)[k].buffer === ram) delete s[k];
    return s;
  };
  const { onUartOutput: _drop, ...config } = m.config;
  const pages = new Map<number, Uint8Array>();
  const words = PAGE_SIZE / 4;
  const i32 = m.memory.i32;
  for (let p = 0; p < m.memory.size / PAGE_SIZE; p++) {
    const base = p * words;
    for (let i = 0; i < words; i++) {
      if (i32[base + i] !== 0) {
        pages.set(p, m.memory.bytes.slice(p * PAGE_SIZE, (p + 1) * PAGE_SIZE));
        break;
      }
    }
  }
  const devices: MachineState['devices'] = [];
  for (const bus of ['io', 'mem'] as const) {
    for (const { base, dev } of m.bus[bus].devices()) devices.push({ bus, base, name: dev.name, state: notRam(dev) });
  }
  return {
    config: structuredClone(config),
    memory: { size: m.memory.size, pages },
    machine: saveFields(m, ['config']),
    cpus: m.cpus.map((c) => ({ cpu: notRam(c, CPU_SKIP), smm: c.smm ? notRam(c.smm) : null, vmx: c.vmx ? notRam(c.vmx) : null })),
    apics: m.apics.map((a) => notRam(a)),
    devices,
    vmcs: [...m.vmcsStore.byAddress.values()].map((v) => ({ address: v.address, state: saveFields(v) })),
    queue: m.queue.save(),
    trace: saveFields(m.trace),
  };
}

export interface RestoreOptions {
  /** run the restored machine with or without the block compiler (results are the same) */
  compile?: boolean;
  /** block-start executions before compiling (tests lower it to stress the compiler) */
  compileThreshold?: number;
  onUartOutput?: MachineConfig['onUartOutput'];
}

/** A new machine in the saved state. */
export function restoreMachine(s: MachineState, o: RestoreOptions = {}): Machine {
  checkConfig(s);
  const m = new Machine({ ...structuredClone(s.config), ...(o.compile !== undefined && { compile: o.compile }), ...(o.compileThreshold !== undefined && { compileThreshold: o.compileThreshold }), onUartOutput: o.onUartOutput });
  restoreInto(m, s, true);
  return m;
}

/** The saved configuration builds a machine of sane size (a damaged file must not allocate without bound). */
function checkConfig(s: MachineState): void {
  const c = s?.config as Partial<SavedConfig> | undefined;
  const int = (v: unknown, lo: number, hi: number): boolean => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;
  const bad = (what: string): never => {
    throw new CheckpointError(`checkpoint machine configuration: ${what}`);
  };
  if (!c || typeof c !== 'object') bad('missing');
  if (!int(c!.cpus, 1, 64)) bad(`cpus ${String(c!.cpus)} is not 1-64`);
  if (!int(c!.memoryBytes, PAGE_SIZE, 2 ** 31) || c!.memoryBytes! % PAGE_SIZE) bad(`memoryBytes ${String(c!.memoryBytes)} is not a multiple of 4 KiB up to 2 GiB`);
  if (!int(c!.quantum, 1, 2 ** 40)) bad(`quantum ${String(c!.quantum)} is not a positive number of cycles`);
  if (!int(c!.traceKeep, 0, 1e7)) bad(`traceKeep ${String(c!.traceKeep)} is not 0-10000000`);
  if (!s.memory || s.memory.size !== c!.memoryBytes || !(s.memory.pages instanceof Map)) bad('memory does not match memoryBytes');
  for (const [p, b] of s.memory.pages) if (!int(p, 0, c!.memoryBytes! / PAGE_SIZE - 1) || !(b instanceof Uint8Array) || b.length !== PAGE_SIZE) bad(`memory page ${String(p)} is damaged`);
  if (!Array.isArray(s.cpus) || s.cpus.length !== c!.cpus) bad(`${c!.cpus} CPUs configured, ${Array.isArray(s.cpus) ? s.cpus.length : 'no'} saved`);
}

/**
 * Put a machine built with the same configuration (e.g. by the same scenario
 * set-up, with its trace listeners already attached) into the saved state.
 */
export function restoreInto(m: Machine, s: MachineState, fresh = false): void {
  if (m.memory.size !== s.memory.size || m.cpus.length !== s.cpus.length) {
    throw new CheckpointError(`checkpoint is of a machine with ${s.cpus.length} CPUs and ${s.memory.size} bytes of RAM, this one has ${m.cpus.length} and ${m.memory.size}`);
  }
  if (!fresh) m.memory.bytes.fill(0);
  for (const [p, bytes] of s.memory.pages) m.memory.bytes.set(bytes, p * PAGE_SIZE);
  if (!fresh) m.memory.invalidatePages(0, m.memory.size); // drop decoded and compiled code of the old contents
  restoreFields(m, s.machine);
  s.cpus.forEach((c, i) => {
    const cpu = m.cpus[i];
    restoreFields(cpu, c.cpu);
    if (c.smm && cpu.smm) restoreFields(cpu.smm, c.smm);
    if (c.vmx && cpu.vmx) restoreFields(cpu.vmx, c.vmx);
  });
  s.apics.forEach((a, i) => restoreFields(m.apics[i], a));
  for (const d of s.devices) {
    const found = m.bus[d.bus].find(d.base);
    if (!found || found.base !== d.base || found.dev.name !== d.name) throw new CheckpointError(`checkpoint has device ${d.name} at ${d.bus} 0x${d.base.toString(16)}, this machine does not`);
    restoreFields(found.dev, d.state);
  }
  m.vmcsStore.byAddress.clear();
  for (const v of s.vmcs) restoreFields(m.vmcsStore.get(v.address), v.state);
  restoreFields(m.trace, s.trace);
  // events last: their owners' state is in place
  m.queue.beginRestore(s.queue.now);
  for (const e of s.queue.events) m.queue.revive(e.seq, () => reviveEvent(m, e));
  m.queue.endRestore(s.queue.seq);
}

/** Re-create a saved event through the component that owns it. */
function reviveEvent(m: Machine, e: SavedEvent): void {
  const { owner, cpu = 0, args = [] } = e.desc;
  switch (owner) {
    case 'lapic': return m.apics[cpu].reviveTimer(e.time);
    case 'vmx': return m.cpus[cpu].vmx!.schedulePreemption(e.time);
    case 'ipi': return m.scheduleIpi(e.time, cpu, args[0] as number, args[1] as number);
    case 'disk': return m.disk.scheduleCompletion(e.time, structuredClone(args[0]) as Parameters<typeof m.disk.scheduleCompletion>[1]);
    case 'smi': return m.smiSource.schedule(e.time);
  }
  throw new CheckpointError(`checkpoint has an event of unknown owner '${owner as string}'`);
}

/** Serialize a checkpoint: header line + gzip(v8 serialization of `payload`). */
export function encodeCheckpoint(payload: unknown, header: Record<string, unknown> = {}): Buffer {
  const head = JSON.stringify({ magic: CHECKPOINT_MAGIC, format: CHECKPOINT_FORMAT, vmxsim: VMXSIM_VERSION, ...header });
  return Buffer.concat([Buffer.from(`${head}\n`), zlib.gzipSync(v8.serialize(payload), { level: 1 })]);
}

export interface CheckpointHeader {
  magic: string;
  format: number;
  vmxsim: string;
  [k: string]: unknown;
}

/** Parse a checkpoint; `file` names it in errors. */
export function decodeCheckpoint(buf: Uint8Array, file: string): { header: CheckpointHeader; payload: unknown } {
  const nl = buf.indexOf(0x0a);
  let header: CheckpointHeader | null = null;
  if (nl > 0 && nl < 4096) {
    try {
      header = JSON.parse(Buffer.from(buf.subarray(0, nl)).toString('utf8'));
    } catch {
      header = null;
    }
  }
  if (!header || header.magic !== CHECKPOINT_MAGIC) throw new CheckpointError(`${file}: not a vmxsim checkpoint`);
  if (header.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`${file}: checkpoint format ${header.format} (vmxsim ${header.vmxsim}) is not the format this vmxsim ${VMXSIM_VERSION} reads (${CHECKPOINT_FORMAT}); re-create it with this version`);
  }
  try {
    return { header, payload: v8.deserialize(zlib.gunzipSync(buf.subarray(nl + 1))) };
  } catch (e) {
    throw new CheckpointError(`${file}: checkpoint is damaged (${(e as Error).message})`);
  }
}

export function writeCheckpointFile(file: string, payload: unknown, header: Record<string, unknown> = {}): void {
  try {
    fs.writeFileSync(file, encodeCheckpoint(payload, header));
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`${file}: cannot write checkpoint (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export function readCheckpointFile(file: string): { header: CheckpointHeader; payload: unknown } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(`${file}: cannot read checkpoint (${code === 'ENOENT' ? 'no such file' : code ?? 'error'})`);
  }
  return decodeCheckpoint(buf, file);
}

/** Save a machine to a file / load it back (a machine-only checkpoint). */
export function saveMachineFile(m: Machine, file: string): void {
  writeCheckpointFile(file, { kind: 'machine', machine: saveMachine(m) }, { kind: 'machine', simulatedCycles: m.now });
}

export function loadMachineFile(file: string, o: RestoreOptions = {}): Machine {
  const { payload } = readCheckpointFile(file);
  return machineFromPayload(payload, file, o);
}

/** A machine checkpoint already read (decodeCheckpoint), restored; errors name `file`. */
export function machineFromPayload(payload: unknown, file: string, o: RestoreOptions = {}): Machine {
  const p = payload as { kind?: string; machine?: MachineState } | null;
  if (!p || p.kind !== 'machine' || !p.machine) throw new CheckpointError(`${file}: not a machine checkpoint (it holds a ${p?.kind ?? 'unknown'} checkpoint)`);
  return withFile(file, () => restoreMachine(p.machine!, o));
}

/** Run a restore; anything it trips over is the checkpoint's fault, reported as one line naming `file`. */
export function withFile<T>(file: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof CheckpointError) throw new CheckpointError(e.message.startsWith(file) ? e.message : `${file}: ${e.message}`);
    throw new CheckpointError(`${file}: checkpoint does not fit this vmxsim (${(e as Error)?.message ?? String(e)})`);
  }
}
