/** Fuzzing: checkpoint files (see suites.ts). Fixed seed, bounded count; `npm run fuzz` runs it long. */
import { expect, it } from 'vitest';
import { TEST_SEED, type Counts } from './harness.js';
import { checkpoints } from './suites.js';

it(`${checkpoints.input}: 400 cases, each ends in a named outcome`, () => {
  const counts: Counts = {};
  checkpoints.run(400, TEST_SEED, counts);
  expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(400);
  console.log(`fuzz checkpoints: ${JSON.stringify(counts)}`);
}, 120_000);
