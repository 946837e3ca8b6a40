/**
 * MSR numbers of the local APIC in x2APIC mode and its companions, with the
 * names of Intel SDM Vol. 3 Table 10-6 ("Local APIC Register Address Map
 * Supported by x2APIC") and Vol. 4 (MSR index).
 */
export const IA32_APIC_BASE = 0x1b;
export const IA32_TSC_DEADLINE = 0x6e0;

/** the whole x2APIC MSR window, SDM 10.12.1.2 */
export const X2APIC_MSR_FIRST = 0x800;
export const X2APIC_MSR_LAST = 0x8ff;

export const X2APIC_ID = 0x802;
export const X2APIC_VERSION = 0x803;
export const X2APIC_TPR = 0x808;
export const X2APIC_PPR = 0x80a;
export const X2APIC_EOI = 0x80b;
export const X2APIC_LDR = 0x80d;
export const X2APIC_SVR = 0x80f;
/** ISR bits 31:0 at ISR0, ..., bits 255:224 at ISR7 */
export const X2APIC_ISR0 = 0x810;
export const X2APIC_ISR7 = 0x817;
export const X2APIC_TMR0 = 0x818;
export const X2APIC_TMR7 = 0x81f;
export const X2APIC_IRR0 = 0x820;
export const X2APIC_IRR7 = 0x827;
export const X2APIC_ESR = 0x828;
/** present because the version register reports 7 LVT entries (max LVT 6) */
export const X2APIC_LVT_CMCI = 0x82f;
/** one 64-bit MSR in x2APIC mode: destination in bits 63:32 */
export const X2APIC_ICR = 0x830;
export const X2APIC_LVT_TIMER = 0x832;
export const X2APIC_LVT_THERMAL = 0x833;
export const X2APIC_LVT_PMI = 0x834;
export const X2APIC_LVT_LINT0 = 0x835;
export const X2APIC_LVT_LINT1 = 0x836;
export const X2APIC_LVT_ERROR = 0x837;
export const X2APIC_TIMER_INITIAL_COUNT = 0x838;
export const X2APIC_TIMER_CURRENT_COUNT = 0x839;
export const X2APIC_TIMER_DIVIDE = 0x83e;
export const X2APIC_SELF_IPI = 0x83f;

/** ICR delivery modes, SDM 10.6.1 */
export const DELIVERY_FIXED = 0;
export const DELIVERY_LOWEST_PRIORITY = 1;
export const DELIVERY_SMI = 2;
export const DELIVERY_NMI = 4;
export const DELIVERY_INIT = 5;
export const DELIVERY_STARTUP = 6;
export const DELIVERY_EXTINT = 7;

/** ESR bits, SDM 10.5.3 */
export const ESR_SEND_ILLEGAL_VECTOR = 1 << 5;
export const ESR_RECEIVE_ILLEGAL_VECTOR = 1 << 6;

/* Register layouts (SDM Vol. 3 ch. 10) */

/** Nehalem-class version register: version 0x15, max LVT entry 6 (as Linux reports on Core i5/i7; estimate) */
export const APIC_VERSION = 0x00060015;
export const SVR_ENABLE = 1 << 8;
export const LVT_MASK = 1 << 16;
/** writable LVT bits per SDM Figure 10-8 (delivery status, remote IRR are read-only) */
export const LVT_WRITABLE: Record<number, number> = {
  [X2APIC_LVT_CMCI]: 0x107ff, [X2APIC_LVT_TIMER]: 0x700ff, [X2APIC_LVT_THERMAL]: 0x107ff,
  [X2APIC_LVT_PMI]: 0x107ff, [X2APIC_LVT_LINT0]: 0x1a7ff, [X2APIC_LVT_LINT1]: 0x1a7ff,
  [X2APIC_LVT_ERROR]: 0x100ff,
};
/** writable bits of the other writable 32-bit registers; a 1 elsewhere is #GP(0) in x2APIC mode (SDM 10.12.1.2) */
export const X2APIC_WRITABLE: Record<number, number> = {
  [X2APIC_TPR]: 0xff,
  [X2APIC_EOI]: 0, // only 0 may be written
  [X2APIC_SVR]: 0x3ff, // bit 12 (EOI-broadcast suppression) not offered: version bit 24 = 0
  [X2APIC_ESR]: 0, // SDM 10.5.3: only 0 may be written in x2APIC mode
  [X2APIC_TIMER_INITIAL_COUNT]: 0xffffffff,
  [X2APIC_TIMER_DIVIDE]: 0xb,
  [X2APIC_SELF_IPI]: 0xff,
};
/** ICR low bits that may be non-zero in x2APIC mode (delivery status, bits 13, 16-17, 20-31 reserved; SDM 10.12.9) */
export const ICR_WRITABLE = 0x000ccfff;
