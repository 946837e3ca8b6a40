import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPCODES } from '../../src/isa/opcodes.js';
import { isaReferenceMarkdown, readmeIsaSection } from '../../src/isa/reference.js';

describe('README ISA reference', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

  it('is the reference generated from the opcode table (refresh: tsx src/main.ts isa --update-readme)', () => {
    expect(readmeIsaSection(readme)).toBe(isaReferenceMarkdown());
  });

  it('has one row per opcode table entry', () => {
    const rows = (readmeIsaSection(readme) ?? '').split('\n').filter((l) => /^\| 0x[0-9a-f]{2} \|/.test(l));
    expect(rows.length).toBe(OPCODES.length);
  });
});
