/**
 * A fluent per-instruction runner for CPU tests (in the spirit of 6502.ts's
 * Runner): assemble a snippet with the real assembler, set registers and
 * memory, step or run to a label, then assert registers, flags, memory and
 * cycles.
 *
 *   run('add eax, ebx').regs({ eax: 1, ebx: 2 }).step().expectRegs({ eax: 3 }).expectFlags({ CF: 0 });
 */
import { expect } from 'vitest';
import { assembleSource } from '../../src/asm/assembler.js';
import type { Image } from '../../src/asm/image.js';
import { lookupSymbol } from '../../src/asm/image.js';
import { CpuState, type Cpu } from '../../src/cpu/cpu.js';
import { FLAG_NAMES } from '../../src/isa/eflags.js';
import { REG32_NAMES } from '../../src/isa/registers.js';
import { loadImage } from '../../src/machine/loader.js';
import { Machine, type MachineConfig } from '../../src/machine/machine.js';
import { PLATFORM_SYMBOLS } from '../../src/machine/platform-symbols.js';

export type RegName = (typeof REG32_NAMES)[number];
export type FlagName = 'CF' | 'PF' | 'AF' | 'ZF' | 'SF' | 'TF' | 'IF' | 'DF' | 'OF';

/** Assemble with the platform symbols predefined (as the CLI does). */
export function asm(source: string, files: Record<string, string> = {}): Image {
  return assembleSource(source, { fileName: 'test.s', files, defines: { ...PLATFORM_SYMBOLS } });
}

export class Runner {
  readonly machine: Machine;
  readonly cpu: Cpu;
  readonly image: Image;
  private startCycles = 0;

  constructor(source: string, config: Partial<MachineConfig> = {}) {
    this.image = asm(source);
    this.machine = new Machine({ cpus: 1, memoryBytes: 1 << 20, traceKeep: 1000, ...config });
    loadImage(this.machine.memory, this.image, 'test.s');
    this.machine.start(this.image.entry);
    this.cpu = this.machine.cpus[0];
    this.cpu.regs[4] = 0x80000; // a stack for snippets that push
  }

  regs(values: Partial<Record<RegName, number>>): this {
    for (const [k, v] of Object.entries(values)) this.cpu.regs[REG32_NAMES.indexOf(k as RegName)] = v!;
    return this;
  }

  flags(values: Partial<Record<FlagName, 0 | 1>>): this {
    let f = this.cpu.eflags;
    for (const [bit, name] of FLAG_NAMES) {
      const v = values[name as FlagName];
      if (v !== undefined) f = v ? f | bit : f & ~bit;
    }
    this.cpu.eflags = f;
    return this;
  }

  poke32(addr: number | string, v: number): this {
    this.machine.memory.write32(this.addr(addr), v);
    return this;
  }

  /** Execute n instructions (interrupt deliveries count as one step). */
  step(n = 1): this {
    this.startCycles = this.cpu.cycles;
    for (let i = 0; i < n; i++) this.cpu.stepOne();
    return this;
  }

  /** Run the machine until the CPU's EIP reaches `label` (or a limit). */
  runTo(label: string, maxSteps = 1_000_000): this {
    const target = this.addr(label);
    this.startCycles = this.cpu.cycles;
    for (let i = 0; i < maxSteps && this.cpu.eip !== target; i++) {
      if (this.cpu.state !== CpuState.Running) {
        // halted: let the machine fire events until something wakes the CPU
        if (this.machine.queue.nextTime() === Infinity) break;
        this.machine.queue.fireNext();
        continue;
      }
      this.cpu.stepOne();
    }
    expect(this.cpu.eip, `EIP should reach ${label}`).toBe(target);
    return this;
  }

  /** Run the whole machine (events, interrupts) until it stops. */
  runMachine(untilCycles = 1e9): this {
    this.startCycles = this.cpu.cycles;
    this.machine.run({ untilCycles });
    return this;
  }

  reg(name: RegName): number {
    return this.cpu.regs[REG32_NAMES.indexOf(name)];
  }

  flag(name: FlagName): 0 | 1 {
    const bit = FLAG_NAMES.find(([, n]) => n === name)![0];
    return this.cpu.eflags & bit ? 1 : 0;
  }

  mem32(addr: number | string): number {
    return this.machine.memory.read32(this.addr(addr));
  }

  addr(a: number | string): number {
    if (typeof a === 'number') return a;
    const s = lookupSymbol(this.image, a);
    if (!s) throw new Error(`no symbol ${a}`);
    return s.value;
  }

  /** Cycles spent by the last step()/runTo()/runMachine(). */
  get cycles(): number {
    return this.cpu.cycles - this.startCycles;
  }

  expectRegs(values: Partial<Record<RegName, number>>): this {
    for (const [k, v] of Object.entries(values)) expect(this.reg(k as RegName) >>> 0, k).toBe(v! >>> 0);
    return this;
  }

  expectFlags(values: Partial<Record<FlagName, 0 | 1>>): this {
    for (const [k, v] of Object.entries(values)) expect(this.flag(k as FlagName), k).toBe(v);
    return this;
  }

  expectCycles(n: number): this {
    expect(this.cycles, 'cycles').toBe(n);
    return this;
  }

  expectEip(label: number | string): this {
    expect(this.cpu.eip >>> 0, 'eip').toBe(this.addr(label));
    return this;
  }
}

export const run = (source: string, config?: Partial<MachineConfig>): Runner => new Runner(source, config);
