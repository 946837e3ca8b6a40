/** Fuzzing: scenarios (see suites.ts). Fixed seed, bounded count; `npm run fuzz` runs it long. */
import { expect, it } from 'vitest';
import { TEST_SEED, type Counts } from './harness.js';
import { scenarios } from './suites.js';

it(`${scenarios.input}: 3000 cases, each ends in a named outcome`, () => {
  const counts: Counts = {};
  scenarios.run(3000, TEST_SEED, counts);
  expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(3000);
  console.log(`fuzz scenarios: ${JSON.stringify(counts)}`);
}, 120_000);
