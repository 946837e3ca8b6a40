/** x86 condition codes in their encoding order (the low nibble of Jcc/SETcc). */
export const CONDITIONS = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'] as const;
export type Condition = (typeof CONDITIONS)[number];

/** Assembler aliases for the same condition codes (Intel's synonyms). */
export const CONDITION_ALIASES: Record<string, Condition> = {
  c: 'b', nae: 'b', nc: 'ae', nb: 'ae', z: 'e', nz: 'ne', na: 'be', nbe: 'a',
  pe: 'p', po: 'np', nge: 'l', nl: 'ge', ng: 'le', nle: 'g',
};
