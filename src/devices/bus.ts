import type { AccessContext, AccessSize, Device } from './device.js';

/**
 * One address space (port I/O or MMIO). Ranges may not overlap. An access to
 * an unmapped address reads as all ones (a floating ISA/PCI bus) and writes
 * are dropped; both are counted so a test or the debugger can see them.
 */
export class AddressSpace {
  private ranges: { base: number; end: number; dev: Device }[] = [];
  unmappedReads = 0;
  unmappedWrites = 0;

  constructor(readonly name: 'io' | 'mem') {}

  map(base: number, dev: Device): void {
    const end = base + dev.size;
    for (const r of this.ranges) {
      if (base < r.end && r.base < end) {
        throw new Error(
          `${this.name} range 0x${base.toString(16)}-0x${(end - 1).toString(16)} of ${dev.name} overlaps ${r.dev.name} at 0x${r.base.toString(16)}-0x${(r.end - 1).toString(16)}`,
        );
      }
    }
    this.ranges.push({ base, end, dev });
    this.ranges.sort((a, b) => a.base - b.base);
  }

  find(addr: number): { base: number; dev: Device } | undefined {
    for (const r of this.ranges) if (addr >= r.base && addr < r.end) return r;
    return undefined;
  }

  devices(): { base: number; dev: Device }[] {
    return this.ranges.map((r) => ({ base: r.base, dev: r.dev }));
  }

  read(addr: number, size: AccessSize, ctx: AccessContext): number {
    const r = this.find(addr);
    if (!r) {
      this.unmappedReads++;
      return ones(size);
    }
    return r.dev.read(addr - r.base, size, ctx);
  }

  write(addr: number, value: number, size: AccessSize, ctx: AccessContext): void {
    const r = this.find(addr);
    if (!r) {
      this.unmappedWrites++;
      return;
    }
    r.dev.write(addr - r.base, value, size, ctx);
  }

  peek(addr: number, size: AccessSize): number {
    const r = this.find(addr);
    return r ? r.dev.peek(addr - r.base, size) : ones(size);
  }
}

function ones(size: AccessSize): number {
  return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
}

/** The machine's two address spaces. */
export class Bus {
  readonly io = new AddressSpace('io');
  readonly mem = new AddressSpace('mem');
}
