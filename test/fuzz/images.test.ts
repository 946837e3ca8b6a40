/** Fuzzing: images (see suites.ts). Fixed seed, bounded count; `npm run fuzz` runs it long. */
import { expect, it } from 'vitest';
import { TEST_SEED, type Counts } from './harness.js';
import { images } from './suites.js';

it(`${images.input}: 4000 cases, each ends in a named outcome`, () => {
  const counts: Counts = {};
  images.run(4000, TEST_SEED, counts);
  expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(4000);
  console.log(`fuzz images: ${JSON.stringify(counts)}`);
}, 120_000);
