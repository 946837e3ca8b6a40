/**
 * What the debugger looks at: the machine, and the address spaces with their
 * images — the host (physical addresses, the kernel or a bare program) and
 * every VM (guest-physical addresses, translated with the VM's memBase, as
 * the flat EPT does). Everything here reads through side-effect-free paths:
 * RAM bytes directly, device ranges through the bus's peek.
 */
import { PF_X, lookupSymbol, segmentAt, symbolAt, symbolize, type Image } from '../asm/image.js';
import type { Cpu } from '../cpu/cpu.js';
import type { Machine } from '../machine/machine.js';
import type { HostSystem } from '../experiments/system.js';

export interface Space {
  /** `host` or the VM's name */
  name: string;
  image: Image | null;
  /** host-physical address of this space's address 0 */
  base: number;
  size: number;
  /** VM index (boot-parameter order), -1 for the host */
  vm: number;
}

export class DebugError extends Error {}

export class Target {
  readonly spaces: Space[];

  constructor(
    readonly machine: Machine,
    hostImage: Image | null,
    readonly sys: HostSystem | null,
    /** shown by `info` commands and in the stop messages */
    readonly label: string,
  ) {
    this.spaces = [{ name: 'host', image: hostImage, base: 0, size: machine.memory.size, vm: -1 }];
    for (const v of sys?.vms ?? []) this.spaces.push({ name: v.name, image: v.image, base: v.memBase, size: v.memSize, vm: v.index });
  }

  /** A guest image loaded at `base` of host memory (a bare program's --guest FILE@SYMBOL). */
  addGuest(name: string, image: Image, base: number): void {
    this.spaces.push({ name, image, base, size: this.machine.memory.size - base, vm: this.spaces.length - 1 });
  }

  get hz(): number {
    return this.machine.config.model.hz;
  }

  get host(): Space {
    return this.spaces[0];
  }

  space(name: string): Space {
    const s = this.spaces.find((x) => x.name === name);
    if (!s) throw new DebugError(`no address space '${name}' (known: ${this.spaces.map((x) => x.name).join(', ')})`);
    return s;
  }

  vmSpaces(): Space[] {
    return this.spaces.slice(1);
  }

  /** The space a CPU executes in now: its VM's (by the EPT base) in non-root mode, else the host's. */
  spaceOf(cpu: Cpu): Space {
    if (!cpu.nonRoot) return this.host;
    return this.spaces.find((s) => s.vm >= 0 && s.base === cpu.memBase) ?? { name: `guest@0x${cpu.memBase.toString(16)}`, image: null, base: cpu.memBase, size: cpu.memLimit, vm: -1 };
  }

  /** A symbol's value in a space (or the first space that has it, host first). */
  symbol(name: string, space?: Space): { space: Space; value: number } | undefined {
    for (const s of space ? [space] : this.spaces) {
      const sym = s.image && lookupSymbol(s.image, name);
      if (sym) return { space: s, value: sym.value >>> 0 };
    }
    return undefined;
  }

  /** `space:symbol+0x4` for an address of a space, or '' if no label covers it. */
  describe(space: Space, addr: number): string {
    const img = space.image;
    if (!img) return '';
    const a = addr >>> 0;
    const exact = symbolAt(img, a);
    if (exact) return `${space.name}:${exact.name}`;
    // an offset from a label only inside the image's segments (not the stacks or heap beyond its .bss)
    return segmentAt(img, a) ? `${space.name}:${symbolize(img, a) ?? hex(a)}` : '';
  }

  /** Is `addr` inside an executable segment of the space's image? */
  isCode(space: Space, addr: number): boolean {
    const seg = space.image ? segmentAt(space.image, addr >>> 0) : undefined;
    return seg !== undefined && (seg.flags & PF_X) !== 0;
  }

  /** `0x1234 <rtos:irt_isr+0x4>` */
  where(space: Space, addr: number): string {
    const d = this.describe(space, addr);
    return `0x${(addr >>> 0).toString(16)}${d ? ` <${d}>` : ''}`;
  }

  // ---- side-effect-free memory --------------------------------------------

  peek8(phys: number): number {
    const m = this.machine.memory;
    if (phys >= 0 && phys < m.size) return m.bytes[phys];
    return this.machine.bus.mem.peek(phys >>> 0, 1) & 0xff;
  }

  peek32(phys: number): number {
    return (this.peek8(phys) | (this.peek8(phys + 1) << 8) | (this.peek8(phys + 2) << 16) | (this.peek8(phys + 3) << 24)) >>> 0;
  }

  /** A dword of a space (guest-physical for a VM). */
  read32(space: Space, addr: number): number {
    return this.peek32(space.base + (addr >>> 0));
  }

  readString(phys: number, max = 64): string {
    let s = '';
    for (let i = 0; i < max; i++) {
      const b = this.peek8(phys + i);
      if (b === 0) break;
      s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
    }
    return s;
  }

  /** Time in cycles as `1.234567 ms (3296170 cycles)`. */
  time(cycles: number): string {
    return `${((cycles / this.hz) * 1e3).toFixed(6)} ms (${cycles} cycles)`;
  }

  us(cycles: number): string {
    return `${((cycles / this.hz) * 1e6).toFixed(3)} us`;
  }

  /** Names of the symbols of all spaces, `space:name` (tab completion). */
  symbolNames(): string[] {
    const out: string[] = [];
    for (const s of this.spaces) for (const sym of s.image?.symbols ?? []) if (sym.kind !== 'abs') out.push(`${s.name}:${sym.name}`);
    return out;
  }
}

export const hex = (v: number, pad = 0): string => `0x${(v >>> 0).toString(16).padStart(pad, '0')}`;
