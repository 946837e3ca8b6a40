/**
 * Running a bare program (an ELF image or an assembly source) on the
 * machine: the core's `run FILE` and the default demo. Scenarios with the
 * host firmware and guests build on the same Machine.
 */
import { existsSync } from 'node:fs';
import { assemble } from '../asm/assembler.js';
import { lookupSymbol, type Image } from '../asm/image.js';
import { ExitStats } from '../trace/exit-stats.js';
import { loadImage, readImageFile } from '../machine/loader.js';
import { Machine, type MachineConfig, type RunResult } from '../machine/machine.js';
import { PLATFORM_SYMBOLS } from '../machine/platform-symbols.js';
import { CpuState } from '../cpu/cpu.js';
import { UsageError } from './errors.js';

/** Assemble a .s file (with the platform symbols predefined) or read an ELF image. */
export function loadProgram(path: string): Image {
  if (!existsSync(path)) throw new UsageError(`${path}: no such file`);
  if (path.endsWith('.s')) return assemble(path, { defines: { ...PLATFORM_SYMBOLS } });
  return readImageFile(path);
}

export interface ProgramRun {
  machine: Machine;
  image: Image;
  result: RunResult;
  exits: ExitStats;
}

/** A guest image to load into the host image's memory at the address of `symbol` (its guest-physical 0). */
export interface GuestLoad {
  path: string;
  symbol: string;
}

/** Parse `FILE@SYMBOL` (the --guest option). */
export function parseGuestOption(spec: string): GuestLoad {
  const at = spec.lastIndexOf('@');
  if (at <= 0 || at === spec.length - 1) throw new UsageError(`--guest ${spec}: expected FILE@SYMBOL (the host symbol where guest-physical 0 lives)`);
  return { path: spec.slice(0, at), symbol: spec.slice(at + 1) };
}

export function runProgram(
  path: string,
  config: Partial<MachineConfig>,
  limits: { untilCycles?: number; maxInstructions?: number },
  guests: GuestLoad[] = [],
  smmHandler?: string,
): ProgramRun {
  const image = loadProgram(path);
  const machine = new Machine(config);
  const exits = new ExitStats(machine.trace);
  loadImage(machine.memory, image, path);
  if (smmHandler) machine.loadSmmHandler(loadProgram(smmHandler), smmHandler);
  for (const g of guests) {
    const sym = lookupSymbol(image, g.symbol);
    if (!sym) throw new UsageError(`--guest ${g.path}@${g.symbol}: ${path} has no symbol ${g.symbol}`);
    loadImage(machine.memory, loadProgram(g.path), g.path, sym.value, machine.memory.size - sym.value);
  }
  machine.start(image.entry);
  const result = machine.run(limits);
  return { machine, image, result, exits };
}

const STATE_NAMES: Record<CpuState, string> = {
  [CpuState.Running]: 'running',
  [CpuState.Halted]: 'halted',
  [CpuState.WaitForSipi]: 'waiting for SIPI',
  [CpuState.Shutdown]: 'shutdown (triple fault)',
};

/** Human summary: why it stopped, simulated time, instructions, per CPU. */
export function formatRunSummary({ machine, result, exits }: Omit<ProgramRun, 'image'>): string {
  const hz = machine.config.model.hz;
  const ms = (result.cycles / hz) * 1e3;
  const why =
    result.reason === 'exit' ? `exit code ${result.exitCode}`
    : result.reason === 'idle' ? 'all CPUs halted with nothing pending'
    : result.reason === 'shutdown' ? 'no CPU can run (shutdown)'
    : result.reason;
  const lines = [
    `stopped: ${why} at ${ms.toFixed(3)} ms simulated (${result.cycles} cycles at ${(hz / 1e9).toFixed(2)} GHz), ` +
      `${result.instructions} instructions, trace ${machine.trace.count} events, hash ${machine.trace.hash}`,
  ];
  for (const c of machine.cpus) {
    const smm = c.smm && c.smm.cycles ? `, SMM ${((c.smm.cycles / hz) * 1e6).toFixed(1)} us` : '';
    lines.push(`  cpu${c.id}: ${c.instructions} instructions, ${c.cycles} cycles, ${STATE_NAMES[c.state]}, eip 0x${c.eip.toString(16)}${smm}`);
  }
  if (machine.smiSource.count > 0) lines.push(`  SMIs (USB legacy emulation): ${machine.smiSource.count}`);
  if (exits.total > 0) lines.push('', 'VM exits (perf kvm stat style; time = exit to next entry):', exits.format(hz));
  return lines.join('\n');
}
