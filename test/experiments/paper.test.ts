/**
 * `paper`: scenarios run in worker threads (through the CLI) give exactly
 * the results of an in-process run (results.json byte for byte), the output directory has
 * results, claims, figures and report, the README section is written
 * between its markers (and a README without them is refused before any
 * run), and the CLI command works end to end through worker threads.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors.js';
import { CLAIMS, type Claim } from '../../src/experiments/claims.js';
import { evaluateClaims, paperCommand, runPaper } from '../../src/experiments/paper.js';
import { README_BEGIN, README_END } from '../../src/experiments/report.js';
import { runScenario, type ScenarioResult } from '../../src/experiments/run-scenario.js';
import { loadScenario } from '../../src/experiments/scenario.js';

const ROOT = path.resolve(__dirname, '../..');
const tmp = () => mkdtempSync(path.join(tmpdir(), 'vmxsim-paper-'));
const TWO = ['fig10-rtos-irt-prio-base', 'fig4-host-pdlt'];
const tiny = () => ({ loops: 5, intervalUs: 200 });

describe('paper', () => {
  it('writes results.json (results and claims), the figures and report.md; results are those of direct runs', async () => {
    const b = tmp();
    const r = await runPaper({ scenarios: TWO, sizes: tiny, inProcess: true, out: b, quiet: true });
    expect(r.failed).toEqual({});
    expect(readdirSync(b).sort()).toEqual(['fig10.svg', 'fig4.svg', 'report.md', 'results.json']);
    const direct = runScenario(loadScenario('fig4-host-pdlt'), tiny()).result;
    expect(r.results['fig4-host-pdlt']).toEqual(direct);
    const json = JSON.parse(readFileSync(path.join(b, 'results.json'), 'utf8'));
    expect(Object.keys(json)).toEqual(['fig10-rtos-irt-prio-base', 'fig4-host-pdlt', 'claims']);
    expect(json['fig10-rtos-irt-prio-base'].latency.samples).toBe(5);
    expect(json.claims).toEqual(r.claims);
    // claims whose scenarios did not run say so
    for (const c of r.claims) {
      expect(typeof c.measured).toBe('string');
      if (c.holds === null) expect(c.measured).toMatch(/^(not run|error)/);
    }
    const md = readFileSync(path.join(b, 'report.md'), 'utf8');
    expect(md).toContain('| fig10-rtos-irt-prio-base | 5 |');
    expect(md).toContain('| fig4-host-pdlt | 5 |');
    expect(md).toContain('](fig10.svg)');
    expect(md).toContain('](fig4.svg)');
    expect(md).toContain('with 1 worker');
  }, 30_000);

  it('--update-readme: writes the section between the markers; a README without them is refused before running', async () => {
    const dir = tmp();
    const readme = path.join(dir, 'README.md');
    writeFileSync(readme, `# r\n${README_BEGIN}\n${README_END}\n`);
    await runPaper({ scenarios: ['fig4-host-pdlt'], sizes: tiny, inProcess: true, out: path.join(dir, 'out'), quiet: true, updateReadme: true, readme });
    const text = readFileSync(readme, 'utf8');
    expect(text).toMatch(new RegExp(`^# r\\n${README_BEGIN}\\nMeasured by \`vmxsim paper\`: 1 scenarios at full sizes[^\\n]*\\n\\n\\| claim \\| paper says \\| vmxsim measured \\| holds\\? \\|\\n[\\s\\S]*Figures \\(SVG, in \`out\`\\): \`fig4.svg\` Fig. 4. Latency of host Linux.\\n${README_END}\\n$`));
    const bare = path.join(dir, 'BARE.md');
    writeFileSync(bare, '# no markers\n');
    const out = path.join(dir, 'out2');
    await expect(runPaper({ scenarios: ['fig4-host-pdlt'], sizes: tiny, inProcess: true, out, quiet: true, updateReadme: true, readme: bare })).rejects.toThrow(/BARE.md has no <!-- paper-report:begin --> \/ <!-- paper-report:end --> markers/);
    expect(existsSync(out)).toBe(false);
    expect(readFileSync(bare, 'utf8')).toBe('# no markers\n');
  }, 30_000);

  it('CLI: paper --quick --only A,B --jobs 2 runs them in worker threads with the results of an in-process run', async () => {
    const cli = (...args: string[]) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), 'paper', ...args], { cwd: ROOT, encoding: 'utf8' });
      return { code: r.status, out: r.stdout, err: r.stderr.split('\n').filter((l) => l && !l.startsWith('npm warn')) };
    };
    const [out, ref] = [tmp(), tmp()];
    const r = cli('--quick', '--only', TWO.join(','), '--out', out, '--jobs', '2');
    expect(r.err).toEqual([]); // no TTY: no progress
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^paper: 2 scenarios \(quick sizes\) in [\d.]+ s with 2 workers; claims holding: \d+ of \d+$/m);
    expect(readdirSync(out).sort()).toEqual(['fig10.svg', 'fig4.svg', 'report.md', 'results.json']);
    await runPaper({ scenarios: TWO, quick: true, inProcess: true, out: ref, quiet: true });
    const json = readFileSync(path.join(out, 'results.json'), 'utf8');
    expect(json).toBe(readFileSync(path.join(ref, 'results.json'), 'utf8'));
    expect(JSON.parse(json)['fig4-host-pdlt'].latency.samples).toBe(loadScenario('fig4-host-pdlt').quick!.loops);
    for (const f of ['fig4.svg', 'fig10.svg']) expect(readFileSync(path.join(out, f), 'utf8')).toBe(readFileSync(path.join(ref, f), 'utf8'));
  }, 60_000);

  it('bad arguments are one-line usage errors, before anything runs', async () => {
    const out = path.join(tmp(), 'never');
    await expect(paperCommand({ jobs: 0, out })).rejects.toThrow(new UsageError('--jobs 0: expected an integer 1-64'));
    await expect(paperCommand({ only: 'fig9-rtos-irt-shield-bse', out })).rejects.toThrow('unknown scenario "fig9-rtos-irt-shield-bse" (did you mean "fig9-rtos-irt-shield-base"?); see `list`');
    await expect(paperCommand({ only: 'fig9-rtos-irt-shield-bse', out })).rejects.toBeInstanceOf(UsageError);
    expect(existsSync(out)).toBe(false);
  });
});

describe('evaluateClaims', () => {
  it('evaluates a claim whose scenarios ran, says "not run" for one that lacks them, and reports one that throws', () => {
    const r = { latency: { samples: 3, min: 1, avg: 2, max: 3 } } as unknown as ScenarioResult;
    const claims: Claim[] = [
      { id: 'ok', figure: 'Fig. 8', paper: 'p', scenarios: ['a'], evaluate: (x) => ({ measured: `max ${x.a.latency.max}`, holds: x.a.latency.max < 5 }) },
      { id: 'missing', figure: 'Fig. 9', paper: 'q', scenarios: ['a', 'b'], evaluate: () => ({ measured: 'x', holds: true }) },
      { id: 'throws', figure: 'Fig. 10', paper: 'r', scenarios: ['a'], evaluate: () => { throw new Error('no histogram'); } },
    ];
    expect(evaluateClaims({ a: r }, claims)).toEqual([
      { id: 'ok', figure: 'Fig. 8', paper: 'p', measured: 'max 3', holds: true },
      { id: 'missing', figure: 'Fig. 9', paper: 'q', measured: 'not run (b)', holds: null },
      { id: 'throws', figure: 'Fig. 10', paper: 'r', measured: 'error: no histogram', holds: null },
    ]);
    // the real claims: one row each, in order
    expect(evaluateClaims({}).map((c) => c.id)).toEqual(CLAIMS.map((c) => c.id));
  });
});
