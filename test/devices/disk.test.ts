import { describe, expect, it } from 'vitest';
import {
  DISK_ACK, DISK_BUSY, DISK_CAPACITY, DISK_CMD_READ, DISK_CMD_WRITE, DISK_COMMAND, DISK_COUNT, DISK_DMA_ADDR,
  DISK_DONE, DISK_ERROR, DISK_LBA, DISK_PORT, DISK_STATUS, DiskController, type DiskModel,
} from '../../src/devices/disk.js';
import { EventQueue } from '../../src/machine/event-queue.js';
import { Trace, TraceKind } from '../../src/trace/trace.js';

const REV = 22_250_000; // 8.33 ms at 2.67 GHz
const ONE_SECTOR = Math.round((512 / 125e6) * 2.67e9); // transfer time of one sector
const MS = 2.67e6;

function setup(opts?: Partial<DiskModel>) {
  const queue = new EventQueue();
  const trace = new Trace(20);
  const mem = new Uint8Array(1 << 16);
  const irq: string[] = [];
  const dma = {
    readMem: (a: number, n: number) => mem.subarray(a, a + n),
    writeMem: (a: number, d: Uint8Array) => mem.set(d, a),
  };
  const disk = new DiskController(queue, trace, dma, { raise: (t) => irq.push(`+${t}`), lower: (t) => irq.push(`-${t}`) }, opts);
  const w = (off: number, v: number, time = 0) => disk.write(off, v, 4, { cpu: 1, time });
  const r = (off: number) => disk.read(off, 4, { cpu: 1, time: 0 });
  const request = (cmd: number, lba: number, count: number, addr: number, time = 0) => {
    w(DISK_LBA, lba); w(DISK_COUNT, count); w(DISK_DMA_ADDR, addr); w(DISK_COMMAND, cmd, time);
  };
  const run = () => { while (queue.fireNext()); };
  return { queue, trace, mem, irq, disk, w, r, request, run };
}

describe('DiskController requests', () => {
  it('reads back what was written, through DMA, raising the IRQ at completion', () => {
    const { mem, irq, disk, r, w, request, run, trace } = setup();
    expect(DISK_PORT).toBe(0xc000);
    mem.fill(0xab, 0x1000, 0x1400);
    request(DISK_CMD_WRITE, 100, 2, 0x1000);
    expect(r(DISK_STATUS)).toBe(DISK_BUSY);
    mem.fill(0, 0x1000, 0x1400); // the data already left memory at command time
    run();
    expect(r(DISK_STATUS)).toBe(DISK_DONE);
    expect(irq).toEqual(['-0', `+${trace.recent()[0].time}`]);
    expect(trace.recent()[0]).toMatchObject({ cpu: 1, kind: TraceKind.DiskComplete, a: DISK_DONE, b: 100 });
    w(DISK_ACK, 1, 5);
    expect(r(DISK_STATUS)).toBe(0);
    expect(irq.at(-1)).toBe('-5');
    expect(disk.readSectors(100, 2).every((b) => b === 0xab)).toBe(true);
    request(DISK_CMD_READ, 99, 4, 0x2000, 1e9);
    expect(mem[0x2000 + 512]).toBe(0); // not before completion
    run();
    expect([mem[0x2000 + 511], mem[0x2000 + 512], mem[0x2000 + 1535], mem[0x2000 + 1536]]).toEqual([0, 0xab, 0xab, 0]);
  });

  it('a command while busy sets ERROR; the running request still completes', () => {
    const { r, w, request, run, mem } = setup();
    mem[0x100] = 7;
    request(DISK_CMD_WRITE, 0, 1, 0x100);
    w(DISK_COMMAND, DISK_CMD_READ);
    expect(r(DISK_STATUS)).toBe(DISK_BUSY | DISK_ERROR);
    run();
    expect(r(DISK_STATUS)).toBe(DISK_DONE | DISK_ERROR);
  });

  it('out-of-range, empty and unknown requests complete at once with ERROR and move no data', () => {
    const { disk, queue, r, request, run, irq } = setup({ capacitySectors: 64 });
    expect(r(DISK_CAPACITY)).toBe(64);
    for (const [cmd, lba, count] of [[DISK_CMD_READ, 63, 2], [DISK_CMD_READ, 0, 0], [9, 0, 1], [DISK_CMD_WRITE, 64, 1]]) {
      request(cmd, lba, count, 0, 500);
      expect(disk.nextEvent()).toBe(500);
      run();
      expect(queue.now).toBe(500);
      expect(r(DISK_STATUS)).toBe(DISK_DONE | DISK_ERROR);
    }
    expect(irq.filter((e) => e[0] === '+').length).toBe(4); // each new command lowered it first
    expect(disk.peekState().sectorsStored).toBe(0);
  });

  it('ignores writes to read-only and unaligned registers', () => {
    const { r, disk } = setup();
    disk.write(DISK_STATUS, 7, 4, { cpu: 0, time: 0 });
    disk.write(DISK_CAPACITY, 7, 4, { cpu: 0, time: 0 });
    disk.write(DISK_LBA, 7, 1, { cpu: 0, time: 0 });
    expect([r(DISK_STATUS), r(DISK_CAPACITY), r(DISK_LBA)]).toEqual([0, 2 ** 21, 0]);
  });

  it('stores sparsely: unwritten sectors read as zero, zero sectors are dropped', () => {
    const { disk } = setup();
    expect(disk.readSectors(12345, 1).every((b) => b === 0)).toBe(true);
    disk.writeSectors(5, new Uint8Array(1024).fill(1));
    expect(disk.peekState().sectorsStored).toBe(2);
    disk.writeSectors(5, new Uint8Array(512));
    expect(disk.peekState().sectorsStored).toBe(1);
  });

  it('peek and peekState have no side effects', () => {
    const { disk, queue, request } = setup();
    request(DISK_CMD_READ, 1000, 8, 0);
    const regs = () => [0, 4, 8, 0xc, 0x10, 0x14, 0x18, 0x11].map((o) => disk.peek(o, o === 0x11 ? 1 : 4));
    const before = [regs(), disk.peekState(), queue.list()];
    expect([regs(), disk.peekState(), queue.list()]).toEqual(before);
    expect(before[0]).toEqual([1000, 8, 0, DISK_CMD_READ, DISK_BUSY, 0, 2 ** 21, 0]);
  });
});

describe('DiskController latency model', () => {
  it('no seek, platter aligned: transfer time only', () => {
    const { disk, request } = setup();
    request(DISK_CMD_READ, 0, 1, 0);
    expect(disk.nextEvent()).toBe(ONE_SECTOR);
  });

  it('rotational wait follows the platter angle at the command time', () => {
    const { disk } = setup();
    expect(disk.latency(0, 1, REV / 4)).toBe(Math.round((3 * REV) / 4) + ONE_SECTOR);
    expect(disk.latency(0, 1, 5 * REV)).toBe(ONE_SECTOR);
    expect(disk.latency(0, 8, 0)).toBe(Math.round((8 * 512 / 125e6) * 2.67e9)); // media rate 125 MB/s
  });

  it('seek grows from track-to-track to full stroke', () => {
    const { disk } = setup();
    const near = disk.latency(1, 1, 0);
    const far = disk.latency(2 ** 21, 1, 0);
    expect(near).toBeGreaterThanOrEqual(0.8 * MS);
    expect(near).toBeLessThan(0.8 * MS + REV + ONE_SECTOR);
    expect(far).toBeGreaterThanOrEqual(17 * MS);
    expect(far).toBeLessThan(17 * MS + REV + ONE_SECTOR);
  });

  it('the head stays where the last request ended', () => {
    const { disk, request, run } = setup();
    request(DISK_CMD_READ, 5000, 16, 0);
    run();
    expect(disk.peekState().headLba).toBe(5016);
    expect(disk.latency(5016, 1, 0)).toBeLessThan(REV + ONE_SECTOR); // no seek component
  });

  it('is deterministic: the same requests complete at the same times', () => {
    const times = () => {
      const { trace, request, run, w } = setup();
      let t = 0;
      for (const lba of [7, 900_000, 12, 2_000_000, 12]) {
        request(DISK_CMD_READ, lba, 3, 0, t);
        run();
        t = trace.recent().at(-1)!.time + 1000;
        w(DISK_ACK, 1, t);
      }
      return trace.recent().map((e) => e.time);
    };
    const a = times();
    expect(a).toEqual(times());
    expect(new Set(a.map((x, i) => x - (i ? a[i - 1] : 0))).size).toBe(5);
  });
});
