/**
 * Memory: `x/NF ADDR` (F = x hex dwords, d decimal dwords, b bytes, s string,
 * i instructions), `disas` (instructions with symbols, from the opcode table
 * through the disassembler) and `bt` (a backtrace along the frame-pointer
 * chain: [ebp] = caller's ebp, [ebp+4] = return address). Addresses are of
 * one space: host-physical, or a VM's guest-physical. Reads are peeks.
 */
import { disassembleOne } from '../../asm/disassembler.js';
import type { Cpu } from '../../cpu/cpu.js';
import { hex, type Space, type Target } from '../target.js';

export function examine(t: Target, space: Space, addr: number, count: number, fmt: string): string[] {
  const phys = (a: number): number => space.base + (a >>> 0);
  const label = (a: number): string => {
    const d = t.describe(space, a);
    return `${hex(a, 8)}${d ? ` <${d}>` : ''}:`;
  };
  const lines: string[] = [];
  if (fmt === 'i') return disassemble(t, space, addr, count);
  if (fmt === 's') {
    for (let i = 0, a = addr; i < count; i++) {
      const s = t.readString(phys(a), 256);
      lines.push(`${label(a)} "${s}"`);
      a += s.length + 1;
    }
    return lines;
  }
  const per = fmt === 'b' ? 8 : 4;
  const size = fmt === 'b' ? 1 : 4;
  for (let i = 0; i < count; i += per) {
    const a = addr + i * size;
    const cells: string[] = [];
    for (let j = i; j < Math.min(count, i + per); j++) {
      const x = addr + j * size;
      if (fmt === 'b') cells.push(hex(t.peek8(phys(x)), 2));
      else if (fmt === 'd') cells.push(String(t.peek32(phys(x)) | 0));
      else cells.push(hex(t.peek32(phys(x)), 8));
    }
    lines.push(`${label(a)} ${cells.join(' ')}`);
  }
  return lines;
}

export function disassemble(t: Target, space: Space, addr: number, count: number, mark?: number): string[] {
  const lines: string[] = [];
  const read = (a: number): number => t.peek8(space.base + (a >>> 0));
  const sym = (a: number): string | undefined => t.describe(space, a) || undefined;
  let a = addr >>> 0;
  for (let i = 0; i < count; i++) {
    const d = disassembleOne(read, a, sym);
    const at = t.describe(space, a);
    if (at && !at.includes('+')) lines.push(`${at}:`);
    lines.push(`${a === mark ? '=> ' : '   '}${hex(a, 8)}${at ? ` <${at.slice(space.name.length + 1)}>` : ''}  ${d.text}`);
    a = (a + d.length) >>> 0;
  }
  return lines;
}

/**
 * Frames from EBP: stops at a null, misaligned or non-increasing frame
 * pointer, or outside the space. Code that keeps no frame pointers (most of
 * firmware/ and guests/) gets a stack scan instead, as Linux's stack dump
 * does: every dword between ESP and the top of the stack that points just
 * after a CALL instruction in known code is a (probable) return address.
 */
export function backtrace(t: Target, cpu: Cpu, space: Space, max = 32): string[] {
  const lines = [`#0  ${t.where(space, cpu.eip)}`];
  let ebp = cpu.regs[5] >>> 0;
  let prev = (cpu.regs[4] >>> 0) - 1;
  for (let i = 1; i < max; i++) {
    if (ebp === 0 || ebp & 3 || ebp <= prev || ebp + 8 > space.size) break;
    const ret = t.read32(space, ebp + 4);
    const next = t.read32(space, ebp);
    if (!t.describe(space, ret)) break; // not a return address into known code: the chain ends
    lines.push(`#${i}  ${t.where(space, ret)}  (frame ${hex(ebp)})`);
    prev = ebp;
    ebp = next;
  }
  if (lines.length > 1) return lines;
  const esp = cpu.regs[4] >>> 0;
  const threadSize = space.vm < 0 ? t.symbol('THREAD_SIZE', space)?.value : undefined;
  const top = threadSize ? (esp & ~(threadSize - 1)) + threadSize : Math.min(space.size, esp + 0x1000);
  lines.push(`   (no frame-pointer chain from ebp ${hex(ebp)}; return addresses found on the stack ${hex(esp)}..${hex(top)}:)`);
  const read = (a: number): number => t.peek8(space.base + (a >>> 0));
  for (let a = esp; a + 4 <= top && lines.length < max; a += 4) {
    const ret = t.read32(space, a);
    if (ret < 8 || !t.isCode(space, ret)) continue;
    const site = [5, 2, 7].map((n) => ret - n).find((at) => {
      const d = disassembleOne(read, at);
      return d.length === ret - at && d.text.startsWith('call');
    });
    if (site !== undefined) lines.push(`#${lines.length - 1}  ${t.where(space, ret)}  (at ${hex(a)}, called from ${hex(site)})`);
  }
  return lines;
}
