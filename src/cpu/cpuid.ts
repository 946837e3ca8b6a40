/**
 * CPUID as a Core i5-750 (Lynnfield, Nehalem: family 6, model 0x1E,
 * stepping 5) would answer the leaves this machine models: vendor, feature
 * bits that matter here (TSC, MSR, APIC, VMX, x2APIC, TSC-deadline), and
 * the x2APIC topology leaf with this CPU's APIC ID. Other leaves read as 0.
 */
export const CPUID_FEATURES_ECX = {
  VMX: 1 << 5,
  X2APIC: 1 << 21,
  TSC_DEADLINE: 1 << 24,
} as const;

export const CPUID_FEATURES_EDX = {
  FPU: 1 << 0,
  TSC: 1 << 4,
  MSR: 1 << 5,
  APIC: 1 << 9,
} as const;

const VENDOR = 'GenuineIntel';
const str32 = (s: string, i: number): number =>
  s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24);

/** [eax, ebx, ecx, edx] for leaf/subleaf on CPU `apicId` (of `cpuCount`). */
export function cpuid(leaf: number, subleaf: number, apicId: number, cpuCount: number): [number, number, number, number] {
  switch (leaf >>> 0) {
    case 0:
      return [0xb, str32(VENDOR, 0), str32(VENDOR, 8), str32(VENDOR, 4)];
    case 1: {
      const signature = (0x1 << 16) | (6 << 8) | (0xe << 4) | 5; // ext model 1, family 6, model 0xE, stepping 5 → model 0x1E
      const ebx = (apicId << 24) | (cpuCount << 16);
      const ecx = CPUID_FEATURES_ECX.VMX | CPUID_FEATURES_ECX.X2APIC | CPUID_FEATURES_ECX.TSC_DEADLINE;
      const edx = CPUID_FEATURES_EDX.FPU | CPUID_FEATURES_EDX.TSC | CPUID_FEATURES_EDX.MSR | CPUID_FEATURES_EDX.APIC;
      return [signature, ebx, ecx, edx];
    }
    case 0xb: // x2APIC topology: one thread per core, `cpuCount` cores
      if (subleaf === 0) return [0, 1, (1 << 8) | 0, apicId];
      if (subleaf === 1) return [Math.ceil(Math.log2(Math.max(cpuCount, 1))), cpuCount, (2 << 8) | 1, apicId];
      return [0, 0, subleaf & 0xff, apicId];
    default:
      return [0, 0, 0, 0];
  }
}
