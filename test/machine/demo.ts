/** Assemble and run firmware/demo/main.s on a fresh machine (shared by the machine tests). */
import { fileURLToPath } from 'node:url';
import { assemble } from '../../src/asm/assembler.js';
import type { Image } from '../../src/asm/image.js';
import { loadImage } from '../../src/machine/loader.js';
import { Machine, type MachineConfig, type RunResult } from '../../src/machine/machine.js';
import { PLATFORM_SYMBOLS } from '../../src/machine/platform-symbols.js';

export const DEMO_PATH = fileURLToPath(new URL('../../firmware/demo/main.s', import.meta.url));

let cached: Image | undefined;
export function demoImage(): Image {
  cached ??= assemble(DEMO_PATH, { defines: { ...PLATFORM_SYMBOLS } });
  return cached;
}

export function runDemo(config: Partial<MachineConfig> = {}): { machine: Machine; result: RunResult; image: Image } {
  const image = demoImage();
  const machine = new Machine({ cpus: 2, ...config });
  loadImage(machine.memory, image, DEMO_PATH);
  machine.start(image.entry);
  const result = machine.run({ untilCycles: 1e9, maxInstructions: 5e7 });
  return { machine, result, image };
}
