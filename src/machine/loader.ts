/**
 * Loading program images into a machine's RAM. Everything that can be
 * wrong with a user's image is reported as one ImageError line naming the
 * file and the problem, never a stack trace.
 */
import { readFileSync } from 'node:fs';
import { readElf } from '../asm/elf.js';
import { ImageError } from '../asm/errors.js';
import type { Image } from '../asm/image.js';
import type { PhysicalMemory } from './memory.js';

const mib = (n: number): string => `${(n / (1 << 20)).toFixed(n % (1 << 20) ? 2 : 0)} MiB`;

/** Copy an image's segments into RAM at `offset` + vaddr (bss zeroed). */
export function loadImage(memory: PhysicalMemory, image: Image, fileName: string, offset = 0, limit = memory.size): void {
  for (const s of image.segments) {
    const start = offset + s.vaddr;
    const end = start + Math.max(s.memsz, s.data.length);
    if (s.vaddr < 0 || end > offset + limit || end > memory.size) {
      throw new ImageError(
        `${fileName}: segment ${s.name} at 0x${s.vaddr.toString(16)} (${s.memsz} bytes) does not fit in ${mib(limit)} of memory; link it lower or give the machine more memory`,
      );
    }
  }
  for (const s of image.segments) {
    const start = offset + s.vaddr;
    memory.load(start, new Uint8Array(Math.max(s.memsz, s.data.length)));
    memory.load(start, s.data);
  }
}

/** Read and validate an ELF file from disk. */
export function readImageFile(path: string): Image {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ImageError(`${path}: cannot read image (${code === 'ENOENT' ? 'no such file' : code ?? 'error'})`);
  }
  return readElf(new Uint8Array(bytes), path);
}
