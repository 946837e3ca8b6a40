/**
 * The GPOS guest (guests/gpos) under the host kernel: build the system
 * (src/guests/gpos.ts createGposSystem), run it until the guest's cyclictest
 * is done (the VM stops and the host powers off) or a time limit, and read
 * the guest's results.
 */
import { createGposSystem, readGposCyclictest, type GposCtStat, type GposSystemSpec } from '../../src/guests/gpos.js';
import type { HostSystem } from '../../src/experiments/system.js';
import type { RunResult } from '../../src/machine/machine.js';
import { ms } from './kernel.js';

export { ms, us } from './kernel.js';

export class GposRun {
  readonly sys: HostSystem;
  result: RunResult | null = null;
  constructor(spec: GposSystemSpec) {
    this.sys = createGposSystem(spec);
  }
  run(until: number): this {
    this.result = this.sys.run(until);
    return this;
  }
  get console(): string {
    return this.sys.console;
  }
  /** guest console lines (the I/O thread prints them `gpos: ...`), without the prefix */
  get guestConsole(): string[] {
    return this.console.split('\n').filter((l) => l.startsWith('gpos: ')).map((l) => l.slice(6));
  }
  get cyclictest(): GposCtStat[] {
    return readGposCyclictest(this.sys);
  }
  guest32(label: string): number {
    return this.sys.guest32('gpos', label);
  }
  get hash(): string {
    return this.sys.machine.trace.hash;
  }
}

/** Boot and run (default: up to 200 ms of simulated time, or until the kernel powers off). */
export function runGpos(spec: GposSystemSpec, until = ms(200)): GposRun {
  return new GposRun(spec).run(until);
}
