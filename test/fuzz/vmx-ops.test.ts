/** Fuzzing: vmx-ops (see suites.ts). Fixed seed, bounded count; `npm run fuzz` runs it long. */
import { expect, it } from 'vitest';
import { TEST_SEED, type Counts } from './harness.js';
import { vmxOps } from './suites.js';

it(`${vmxOps.input}: 1400 cases, each ends in a named outcome`, () => {
  const counts: Counts = {};
  vmxOps.run(1400, TEST_SEED, counts);
  expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1400);
  console.log(`fuzz vmx-ops: ${JSON.stringify(counts)}`);
}, 120_000);
