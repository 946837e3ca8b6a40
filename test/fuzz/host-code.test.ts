/** Fuzzing: host-code (see suites.ts). Fixed seed, bounded count; `npm run fuzz` runs it long. */
import { expect, it } from 'vitest';
import { TEST_SEED, type Counts } from './harness.js';
import { hostCode } from './suites.js';

it(`${hostCode.input}: 800 cases, each ends in a named outcome`, () => {
  const counts: Counts = {};
  hostCode.run(800, TEST_SEED, counts);
  expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(800);
  console.log(`fuzz host-code: ${JSON.stringify(counts)}`);
}, 120_000);
