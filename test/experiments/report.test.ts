/**
 * report.md and the README section: the scenario and claims tables, the
 * figures embedded, the sizes note, and the marker-delimited README update.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { README_BEGIN, README_END, claimsTable, hasReadmeMarkers, renderReadmeSection, renderReport, scenarioTable, updateReadmeSection, type ClaimRow } from '../../src/experiments/report.js';
import type { ScenarioResult } from '../../src/experiments/run-scenario.js';

const result = (name: string, o: Partial<ScenarioResult> = {}): ScenarioResult => ({
  scenario: name,
  seed: 1,
  simulated_ns: 22_000_000,
  instructions: 1000,
  latency: { unit: 'us', samples: 100, min: 1.535, avg: 1.58, max: 3.706, histogram: { 1: 99, 3: 1 } },
  ground_truth: { min: 1.534, avg: 1.58, max: 3.705, interrupts: 100 } as ScenarioResult['ground_truth'],
  stages: {} as ScenarioResult['stages'],
  exits: { rtos: { EXTERNAL_INTERRUPT: 40, IO_INSTRUCTION: 9 }, gpos: { HLT: 2 } },
  cpu: {},
  benchmarks: {},
  ...o,
});

const claims: ClaimRow[] = [
  { id: 'host-pdlt-below-10us', figure: 'Fig. 4', paper: 'most samples below 10 µs', measured: '99.5% below 10 µs', holds: true },
  { id: 'cosched-max', figure: 'Fig. 12', paper: 'worst case 112 | 130 µs', measured: 'max 4.4 → 4.5 µs', holds: false },
  { id: 'smi', figure: '§5.2', paper: 'SMIs last hundreds of µs', measured: 'not run (smi-usb-legacy)', holds: null },
];

describe('report', () => {
  it('claims table: one row per claim, pipes escaped, holds as yes / **no** / not run', () => {
    const t = claimsTable(claims).split('\n');
    expect(t[0]).toBe('| claim | paper says | vmxsim measured | holds? |');
    expect(t.length).toBe(2 + claims.length);
    expect(t[2]).toBe('| Fig. 4: host-pdlt-below-10us | most samples below 10 µs | 99.5% below 10 µs | yes |');
    expect(t[3]).toBe('| Fig. 12: cosched-max | worst case 112 \\| 130 µs | max 4.4 → 4.5 µs | **no** |');
    expect(t[4].endsWith('| not run |')).toBe(true);
  });

  it('scenario table: sorted rows with samples, latency, ground truth, exits per VM; failures and host runs', () => {
    const t = scenarioTable(
      { 'fig8-rtos-irt-base': result('fig8-rtos-irt-base'), 'fig4-host-pdlt': result('fig4-host-pdlt', { ground_truth: { min: 0, avg: 0, max: 0, interrupts: 0 } as ScenarioResult['ground_truth'], exits: {} }) },
      { 'fig5-guest-pdlt': 'internal error: boom' },
    ).split('\n');
    expect(t.length).toBe(5);
    expect(t[2]).toBe('| fig4-host-pdlt | 100 | 1.535 / 1.58 / 3.706 | – | 0 | 22 |');
    expect(t[3]).toBe('| fig5-guest-pdlt | – | failed: internal error: boom | – | – | – |');
    expect(t[4]).toBe('| fig8-rtos-irt-base | 100 | 1.535 / 1.58 / 3.706 | 1.534 / 1.58 / 3.705 | 51 (rtos 49, gpos 2) | 22 |');
  });

  it('report.md: sizes and wall time, claims with the count holding, scenarios, figures embedded', () => {
    const md = renderReport({
      results: { 'fig8-rtos-irt-base': result('fig8-rtos-irt-base') }, claims,
      figures: [{ file: 'fig8.svg', title: 'Fig. 8. Latency of guest VxWorks' }], quick: true, wallSeconds: 12.34, jobs: 2,
    });
    expect(md).toContain('1 scenarios at quick sizes');
    expect(md).toContain('wall time 12.3 s with 2 workers');
    expect(md).toContain('## Claims (1 of 3 hold)');
    expect(md).toContain(claimsTable(claims));
    expect(md).toContain('| fig8-rtos-irt-base | 100 |');
    expect(md).toContain('![Fig. 8. Latency of guest VxWorks](fig8.svg)');
    const full = renderReport({ results: {}, claims: [], figures: [], quick: false, wallSeconds: 1, jobs: 1 });
    expect(full).toContain("full sizes (each scenario's `measurement` loops and interval)");
    expect(full).toContain('with 1 worker.');
    expect(full).toContain('(no figure');
  });

  it('README: replaces only the text between the markers, idempotently; without markers the file is left alone', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vmxsim-report-'));
    const readme = path.join(dir, 'README.md');
    writeFileSync(readme, `# x\n\n## Reproducing the paper\n\n${README_BEGIN}\nold text\n${README_END}\n\n## After\n`);
    const section = renderReadmeSection({ results: {}, claims, figures: [{ file: 'fig4.svg', title: 'Fig. 4. Latency of host Linux' }], quick: true, wallSeconds: 3, jobs: 2 }, 'paper-out');
    expect(updateReadmeSection(readme, section)).toBe(true);
    const once = readFileSync(readme, 'utf8');
    expect(once).toBe(`# x\n\n## Reproducing the paper\n\n${README_BEGIN}\n${section}\n${README_END}\n\n## After\n`);
    expect(section).toContain(claimsTable(claims));
    expect(section).toContain('`fig4.svg` Fig. 4. Latency of host Linux');
    expect(section).toContain('`vmxsim paper --quick`');
    expect(updateReadmeSection(readme, section)).toBe(true);
    expect(readFileSync(readme, 'utf8')).toBe(once);
    const bare = path.join(dir, 'BARE.md');
    writeFileSync(bare, `# y\n${README_END}\n${README_BEGIN}\n`);
    expect(hasReadmeMarkers(bare)).toBe(false);
    expect(updateReadmeSection(bare, section)).toBe(false);
    expect(readFileSync(bare, 'utf8')).toBe(`# y\n${README_END}\n${README_BEGIN}\n`);
    expect(hasReadmeMarkers(path.join(dir, 'missing.md'))).toBe(false);
  });
});
