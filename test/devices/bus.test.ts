import { describe, expect, it } from 'vitest';
import { AddressSpace, Bus } from '../../src/devices/bus.js';
import type { AccessSize, Device } from '../../src/devices/device.js';

/** A device that counts its side-effecting accesses. */
class Reg implements Device {
  reads = 0;
  writes: number[] = [];
  constructor(readonly name: string, readonly size: number, private value = 0x1234) {}
  read(offset: number, _size: AccessSize): number { this.reads++; return this.value + offset; }
  write(_offset: number, value: number): void { this.writes.push(value); }
  peek(offset: number): number { return this.value + offset; }
  nextEvent(): number { return Infinity; }
}

const ctx = { cpu: 0, time: 0 };

describe('AddressSpace', () => {
  it('rejects overlapping ranges, naming both devices', () => {
    const io = new Bus().io;
    io.map(0x3f8, new Reg('uart', 8));
    expect(() => io.map(0x3fc, new Reg('intruder', 8))).toThrow(/intruder.*uart|uart.*intruder/);
    expect(() => io.map(0x3f0, new Reg('below', 9))).toThrow(/below/);
    io.map(0x400, new Reg('adjacent', 4)); // touching is fine
    io.map(0x3f0, new Reg('before', 8));
    expect(io.devices().map((d) => d.dev.name)).toEqual(['before', 'uart', 'adjacent']);
  });

  it('routes accesses with offsets relative to the base', () => {
    const mem = new AddressSpace('mem');
    const d = new Reg('r', 0x10);
    mem.map(0x1000, d);
    expect(mem.read(0x1004, 4, ctx)).toBe(0x1238);
    mem.write(0x100f, 7, 1, ctx);
    expect(d.writes).toEqual([7]);
  });

  it('reads unmapped addresses as all ones and counts unmapped accesses', () => {
    const io = new AddressSpace('io');
    io.map(0x80, new Reg('post', 1));
    expect(io.read(0x81, 1, ctx)).toBe(0xff);
    expect(io.read(0x81, 2, ctx)).toBe(0xffff);
    expect(io.read(0x81, 4, ctx)).toBe(0xffffffff);
    io.write(0x81, 1, 1, ctx);
    expect([io.unmappedReads, io.unmappedWrites]).toEqual([3, 1]);
  });

  it('peek has no side effects on devices or counters', () => {
    const io = new AddressSpace('io');
    const d = new Reg('r', 4);
    io.map(0x10, d);
    expect(io.peek(0x11, 1)).toBe(0x1235);
    expect(io.peek(0x20, 2)).toBe(0xffff);
    expect([d.reads, io.unmappedReads]).toEqual([0, 0]);
  });
});
