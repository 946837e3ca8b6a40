/** EFLAGS bits at their x86 positions (SDM Vol. 1, 3.4.3). */
export const CF = 1 << 0;
export const RESERVED1 = 1 << 1; // always 1
export const PF = 1 << 2;
export const AF = 1 << 4;
export const ZF = 1 << 6;
export const SF = 1 << 7;
export const TF = 1 << 8;
export const IF = 1 << 9;
export const DF = 1 << 10;
export const OF = 1 << 11;

/** The six arithmetic status flags. */
export const STATUS_FLAGS = CF | PF | AF | ZF | SF | OF;
/** Bits software may change with POPF/IRET in this machine (no IOPL/NT/RF/VM/AC/ID). */
export const WRITABLE_FLAGS = STATUS_FLAGS | TF | IF | DF;

export const FLAG_NAMES: [number, string][] = [
  [CF, 'CF'], [PF, 'PF'], [AF, 'AF'], [ZF, 'ZF'], [SF, 'SF'], [TF, 'TF'], [IF, 'IF'], [DF, 'DF'], [OF, 'OF'],
];

export function describeFlags(eflags: number): string {
  return FLAG_NAMES.filter(([bit]) => eflags & bit).map(([, n]) => n).join(' ') || '-';
}
