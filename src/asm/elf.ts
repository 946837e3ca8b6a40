/**
 * ELF32 little-endian executables: writing an Image and reading one back.
 *
 * File layout written: ELF header, program headers (one PT_LOAD per
 * segment), segment contents (each at an offset congruent to its address
 * modulo 16), .symtab, .strtab, .shstrtab, section headers (null, one per
 * segment, .symtab, .strtab, .shstrtab).
 */
import { ImageError } from './errors.js';
import { PF_R, PF_W, PF_X, type Image, type Segment, type Symbol } from './image.js';

/** Our own e_machine value ("VX"). */
export const EM_VMXSIM = 0x5658;

const ET_EXEC = 2;
const PT_LOAD = 1;
const SHT_PROGBITS = 1;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_NOBITS = 8;
const SHF_WRITE = 1;
const SHF_ALLOC = 2;
const SHF_EXECINSTR = 4;
const SHN_ABS = 0xfff1;
const SHN_LORESERVE = 0xff00;
const STB_LOCAL = 0;
const STB_GLOBAL = 1;
const STB_WEAK = 2;
const STT_NOTYPE = 0;
const STT_OBJECT = 1;
const STT_FUNC = 2;
const EHSIZE = 52;
const PHENTSIZE = 32;
const SHENTSIZE = 40;
const SYMENTSIZE = 16;

class StrTab {
  private readonly bytes: number[] = [0];
  private readonly seen = new Map<string, number>([['', 0]]);
  add(s: string): number {
    const have = this.seen.get(s);
    if (have !== undefined) return have;
    const off = this.bytes.length;
    this.bytes.push(...new TextEncoder().encode(s), 0);
    this.seen.set(s, off);
    return off;
  }
  data(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** Largest power of two (<= 16) dividing `addr`. */
const alignOf = (addr: number): number => {
  let a = 16;
  while (a > 1 && addr % a !== 0) a >>= 1;
  return a;
};

export function writeElf(image: Image): Uint8Array {
  const segs = image.segments;
  const shstr = new StrTab();
  const str = new StrTab();
  let off = EHSIZE + PHENTSIZE * segs.length;
  const segOff: number[] = [];
  for (const s of segs) {
    off += (((s.vaddr % 16) - (off % 16)) + 16) % 16;
    segOff.push(off);
    off += s.data.length;
  }
  // symbols: locals first
  const syms = [...image.symbols.filter((s) => !s.global), ...image.symbols.filter((s) => s.global)];
  const firstGlobal = 1 + syms.filter((s) => !s.global).length;
  const secIndex = (name: string | null): number => {
    const i = segs.findIndex((s) => s.name === name);
    return i < 0 ? SHN_ABS : i + 1;
  };
  const symtab = new Uint8Array(SYMENTSIZE * (syms.length + 1));
  const sv = new DataView(symtab.buffer);
  syms.forEach((s, k) => {
    const o = SYMENTSIZE * (k + 1);
    sv.setUint32(o, str.add(s.name), true);
    sv.setUint32(o + 4, s.value >>> 0, true);
    sv.setUint32(o + 8, s.size >>> 0, true);
    const type = s.kind === 'func' ? STT_FUNC : s.kind === 'object' ? STT_OBJECT : STT_NOTYPE;
    sv.setUint8(o + 12, ((s.global ? STB_GLOBAL : STB_LOCAL) << 4) | type);
    sv.setUint16(o + 14, s.kind === 'abs' ? SHN_ABS : secIndex(s.section), true);
  });
  const strtab = str.data();
  const names = segs.map((s) => shstr.add(s.name));
  const nSymtab = shstr.add('.symtab');
  const nStrtab = shstr.add('.strtab');
  const nShstrtab = shstr.add('.shstrtab');
  const shstrtab = shstr.data();
  off = (off + 3) & ~3;
  const symOff = off;
  off += symtab.length;
  const strOff = off;
  off += strtab.length;
  const shstrOff = off;
  off += shstrtab.length;
  off = (off + 3) & ~3;
  const shOff = off;
  const shnum = segs.length + 4;
  const out = new Uint8Array(shOff + SHENTSIZE * shnum);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0);
  v.setUint16(16, ET_EXEC, true);
  v.setUint16(18, EM_VMXSIM, true);
  v.setUint32(20, 1, true);
  v.setUint32(24, image.entry >>> 0, true);
  v.setUint32(28, segs.length ? EHSIZE : 0, true);
  v.setUint32(32, shOff, true);
  v.setUint32(36, 0, true);
  v.setUint16(40, EHSIZE, true);
  v.setUint16(42, PHENTSIZE, true);
  v.setUint16(44, segs.length, true);
  v.setUint16(46, SHENTSIZE, true);
  v.setUint16(48, shnum, true);
  v.setUint16(50, shnum - 1, true);
  segs.forEach((s, i) => {
    const o = EHSIZE + PHENTSIZE * i;
    v.setUint32(o, PT_LOAD, true);
    v.setUint32(o + 4, segOff[i], true);
    v.setUint32(o + 8, s.vaddr, true);
    v.setUint32(o + 12, s.vaddr, true);
    v.setUint32(o + 16, s.data.length, true);
    v.setUint32(o + 20, s.memsz, true);
    v.setUint32(o + 24, s.flags, true);
    v.setUint32(o + 28, 16, true);
    out.set(s.data, segOff[i]);
  });
  out.set(symtab, symOff);
  out.set(strtab, strOff);
  out.set(shstrtab, shstrOff);
  const sh = (i: number, f: number[]): void => f.forEach((x, k) => v.setUint32(shOff + SHENTSIZE * i + 4 * k, x >>> 0, true));
  segs.forEach((s, i) => {
    const nobits = s.data.length === 0 && s.memsz > 0;
    const flags = SHF_ALLOC | (s.flags & PF_W ? SHF_WRITE : 0) | (s.flags & PF_X ? SHF_EXECINSTR : 0);
    const size = nobits ? s.memsz : s.data.length;
    sh(i + 1, [names[i], nobits ? SHT_NOBITS : SHT_PROGBITS, flags, s.vaddr, segOff[i], size, 0, 0, alignOf(s.vaddr), 0]);
  });
  const n = segs.length + 1;
  sh(n, [nSymtab, SHT_SYMTAB, 0, 0, symOff, symtab.length, n + 1, firstGlobal, 4, SYMENTSIZE]);
  sh(n + 1, [nStrtab, SHT_STRTAB, 0, 0, strOff, strtab.length, 0, 0, 1, 0]);
  sh(n + 2, [nShstrtab, SHT_STRTAB, 0, 0, shstrOff, shstrtab.length, 0, 0, 1, 0]);
  return out;
}

// ---- reading ---------------------------------------------------------------

interface Shdr { name: number; type: number; flags: number; addr: number; offset: number; size: number; link: number; entsize: number }

/** Read and validate an ELF32 vmxsim executable. Throws only ImageError. */
export function readElf(bytes: Uint8Array, fileName: string): Image {
  try {
    return read(bytes, fileName);
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageError(`${fileName}: malformed ELF file (${(e as Error).message})`);
  }
}

function read(b: Uint8Array, file: string): Image {
  const fail = (m: string): never => {
    throw new ImageError(`${file}: ${m}`);
  };
  const magic = [0x7f, 0x45, 0x4c, 0x46];
  for (let i = 0; i < 4; i++) {
    if (i >= b.length) fail(`truncated ELF header (${b.length} bytes, expected at least ${EHSIZE})`);
    if (b[i] !== magic[i]) fail('not an ELF file (bad magic)');
  }
  if (b.length < 16) fail(`truncated ELF header (${b.length} bytes, expected at least ${EHSIZE})`);
  if (b[4] === 2) fail('ELF64 is not supported, expected ELF32');
  if (b[4] !== 1) fail(`bad ELF class ${b[4]}, expected 1 (ELF32)`);
  if (b[5] === 2) fail('big-endian ELF is not supported, expected little-endian');
  if (b[5] !== 1) fail(`bad ELF data encoding ${b[5]}, expected 1 (little-endian)`);
  if (b[6] !== 1) fail(`bad ELF identification version ${b[6]}, expected 1`);
  if (b.length < EHSIZE) fail(`truncated ELF header (${b.length} bytes, expected at least ${EHSIZE})`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u16 = (o: number): number => v.getUint16(o, true);
  const u32 = (o: number): number => v.getUint32(o, true);
  const hex = (n: number): string => `0x${n.toString(16)}`;
  if (u16(16) !== ET_EXEC) fail(`e_type ${u16(16)} is not ET_EXEC (2)`);
  if (u16(18) !== EM_VMXSIM) fail(`e_machine ${hex(u16(18))} is not vmxsim (${hex(EM_VMXSIM)})`);
  if (u32(20) !== 1) fail(`e_version ${u32(20)}, expected 1`);
  if (u16(40) !== EHSIZE) fail(`e_ehsize ${u16(40)}, expected ${EHSIZE}`);
  const entry = u32(24);
  const phoff = u32(28);
  const shoff = u32(32);
  const phnum = u16(44);
  const shnum = u16(48);
  const shstrndx = u16(50);
  if (phnum > 0 && u16(42) !== PHENTSIZE) fail(`e_phentsize ${u16(42)}, expected ${PHENTSIZE}`);
  if (phoff + phnum * PHENTSIZE > b.length) fail('program headers extend past the end of the file');
  const loads: { ph: number; off: number; vaddr: number; filesz: number; memsz: number; flags: number }[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + PHENTSIZE * i;
    if (u32(o) !== PT_LOAD) continue;
    const seg = { ph: i, off: u32(o + 4), vaddr: u32(o + 8), filesz: u32(o + 16), memsz: u32(o + 20), flags: u32(o + 24) };
    if (seg.filesz > seg.memsz) fail(`program header ${i} has p_filesz ${hex(seg.filesz)} > p_memsz ${hex(seg.memsz)}`);
    if (seg.off + seg.filesz > b.length) fail(`program header ${i} extends past the end of the file`);
    if (seg.vaddr + seg.memsz > 2 ** 32) fail(`program header ${i} extends past the 32-bit address space`);
    for (const p of loads) {
      if (seg.vaddr < p.vaddr + p.memsz && p.vaddr < seg.vaddr + seg.memsz) fail(`program headers ${p.ph} and ${i} overlap in memory`);
    }
    loads.push(seg);
  }

  // sections (optional)
  const shdrs: Shdr[] = [];
  if (shnum > 0) {
    if (u16(46) !== SHENTSIZE) fail(`e_shentsize ${u16(46)}, expected ${SHENTSIZE}`);
    if (shoff + shnum * SHENTSIZE > b.length) fail('section headers extend past the end of the file');
    if (shstrndx >= shnum) fail(`e_shstrndx ${shstrndx} out of range, expected below ${shnum}`);
    for (let i = 0; i < shnum; i++) {
      const o = shoff + SHENTSIZE * i;
      const s: Shdr = { name: u32(o), type: u32(o + 4), flags: u32(o + 8), addr: u32(o + 12), offset: u32(o + 16), size: u32(o + 20), link: u32(o + 24), entsize: u32(o + 36) };
      if (i > 0 && s.type !== SHT_NOBITS && s.offset + s.size > b.length) fail(`section header ${i} extends past the end of the file`);
      shdrs.push(s);
    }
  }
  const cstr = (tab: Shdr, off: number, what: string): string => {
    if (tab.type !== SHT_STRTAB) fail(`${what}: string table is not SHT_STRTAB`);
    if (off >= tab.size) fail(`${what}: name offset ${off} outside the string table`);
    const start = tab.offset + off;
    const endTab = tab.offset + tab.size;
    let e = start;
    while (e < endTab && b[e] !== 0) e++;
    if (e >= endTab) fail(`${what}: name is not NUL-terminated`);
    return new TextDecoder().decode(b.subarray(start, e));
  };
  const secName = (i: number): string => (shstrndx === 0 ? '' : cstr(shdrs[shstrndx], shdrs[i].name, `section header ${i}`));
  const secNames = shdrs.map((_, i) => (i === 0 ? '' : secName(i)));

  const segments: Segment[] = loads.map((l) => {
    const k = shdrs.findIndex((s, i) => i > 0 && (s.flags & SHF_ALLOC) !== 0 && s.addr === l.vaddr && secNames[i] !== '');
    const name = k > 0 ? secNames[k] : l.flags & PF_X ? '.text' : l.flags & PF_W ? (l.filesz === 0 ? '.bss' : '.data') : '.rodata';
    return { name, vaddr: l.vaddr, data: new Uint8Array(b.subarray(l.off, l.off + l.filesz)), memsz: l.memsz, flags: l.flags & (PF_R | PF_W | PF_X) };
  });

  const symbols: Symbol[] = [];
  shdrs.forEach((st, si) => {
    if (si === 0 || st.type !== SHT_SYMTAB) return;
    if (st.entsize !== SYMENTSIZE) fail(`symbol table (section ${si}) has entry size ${st.entsize}, expected ${SYMENTSIZE}`);
    if (st.size % SYMENTSIZE !== 0) fail(`symbol table (section ${si}) size ${st.size} is not a multiple of ${SYMENTSIZE}`);
    if (st.link === 0 || st.link >= shnum) fail(`symbol table (section ${si}) links to missing string table ${st.link}`);
    const strtab = shdrs[st.link];
    for (let k = 1; k < st.size / SYMENTSIZE; k++) {
      const o = st.offset + SYMENTSIZE * k;
      const info = b[o + 12];
      const type = info & 0xf;
      const bind = info >> 4;
      const shndx = u16(o + 14);
      if (type !== STT_NOTYPE && type !== STT_OBJECT && type !== STT_FUNC) continue;
      if (shndx === 0) continue;
      if (shndx >= SHN_LORESERVE && shndx !== SHN_ABS) continue;
      if (shndx < SHN_LORESERVE && shndx >= shnum) fail(`symbol ${k} refers to missing section ${shndx}`);
      const name = cstr(strtab, u32(o), `symbol ${k}`);
      const section = shndx === SHN_ABS ? null : secNames[shndx];
      const exec = shndx !== SHN_ABS && (shdrs[shndx].flags & SHF_EXECINSTR) !== 0;
      const kind = type === STT_FUNC ? 'func' : type === STT_OBJECT ? 'object' : section === null ? 'abs' : exec ? 'func' : 'object';
      symbols.push({ name, value: u32(o + 4), size: u32(o + 8), section, global: bind === STB_GLOBAL || bind === STB_WEAK, kind });
    }
  });

  const execs = segments.filter((s) => s.flags & PF_X);
  if (execs.length && !execs.some((s) => entry >= s.vaddr && entry < s.vaddr + s.memsz)) {
    fail(`entry point ${hex(entry)} is outside the executable segments`);
  }
  return { entry, segments, symbols };
}
