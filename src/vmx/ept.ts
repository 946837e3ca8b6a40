/**
 * The EPT model. Real EPT is a 4-level page-table walk; the experiments here
 * need only a contiguous guest-physical window, so vmxsim's EPT is flat:
 * EPT_POINTER (bits 5:3 = 3 for a 4-level walk, bits 2:0 = 6 for write-back,
 * as in the SDM's EPTP format) points at a 4 KiB-aligned descriptor in host
 * memory holding two dwords: the host-physical base of guest-physical 0 and
 * the size of the window in bytes. Guest-physical addresses at or beyond the
 * size cause EPT violations (exit reason 48). The descriptor is read at every
 * VM entry (there is no INVEPT to model).
 */
export const EPTP_MEMTYPE_WB = 6;
export const EPTP_WALK_LENGTH_4 = 3 << 3;

export interface EptWindow {
  base: number;
  size: number;
}

/** Validate an EPTP and read its descriptor; undefined if invalid (a VM-entry control check, SDM 26.2.1.1). */
export function readEpt(eptp: number, read32: (addr: number) => number, ramSize: number): EptWindow | undefined {
  if ((eptp & 7) !== EPTP_MEMTYPE_WB && (eptp & 7) !== 0) return undefined;
  if ((eptp & 0x38) !== EPTP_WALK_LENGTH_4) return undefined;
  if ((eptp & 0xf80) !== 0) return undefined; // reserved bits 11:7 (no A/D flags here)
  const desc = eptp - (eptp & 0xfff);
  if (desc + 8 > ramSize) return undefined;
  const base = read32(desc) >>> 0;
  const size = read32(desc + 4) >>> 0;
  if (base % 4096 !== 0 || size % 4096 !== 0 || base + size > ramSize) return undefined;
  return { base, size };
}

/** EPT-violation exit qualification (SDM Table 27-7): bit 0 read, 1 write, 2 fetch; 7 and 8: a linear-address access. */
export function eptViolationQualification(access: 'read' | 'write' | 'fetch'): number {
  const kind = access === 'read' ? 1 : access === 'write' ? 2 : 4;
  return kind | (1 << 7) | (1 << 8);
}
