/**
 * The `paper` command's report: report.md with the scenario table, the
 * paper-vs-measured claims table and the figures, and the README section
 * between `<!-- paper-report:begin -->` and `<!-- paper-report:end -->`
 * (`paper --update-readme`). Pure functions of their inputs, except the
 * README rewrite.
 */
import * as fs from 'node:fs';
import type { ScenarioResult } from './run-scenario.js';

export const README_BEGIN = '<!-- paper-report:begin -->';
export const README_END = '<!-- paper-report:end -->';

/** A claim with its outcome; holds is null when its scenarios did not run (or evaluating it failed). */
export interface ClaimRow {
  id: string;
  figure: string;
  paper: string;
  measured: string;
  holds: boolean | null;
}

export interface FigureRef {
  file: string;
  title: string;
}

export interface ReportInput {
  results: Record<string, ScenarioResult>;
  claims: ClaimRow[];
  figures: FigureRef[];
  /** quick sizes (each scenario's `quick` block) or the scenarios' full sizes */
  quick: boolean;
  /** wall-clock seconds of the whole command (CLI reporting only) */
  wallSeconds: number;
  jobs: number;
  /** scenarios that failed, with their one-line error */
  failed?: Record<string, string>;
}

/** A Markdown table cell: pipes escaped, one line. */
export function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

const n3 = (x: number): string => {
  const s = x.toFixed(3);
  return s.replace(/\.?0+$/, '') || '0';
};

function minAvgMax(x: { min: number; avg: number; max: number } | null | undefined): string {
  return x ? `${n3(x.min)} / ${n3(x.avg)} / ${n3(x.max)}` : '–';
}

/** The ground truth, or – when there is none (a host measurement has no guest interrupts). */
function groundTruth(g: { min: number; avg: number; max: number; interrupts?: number } | null | undefined): string {
  return g && (g.interrupts ?? 1) > 0 ? minAvgMax(g) : '–';
}

function exitsCell(exits: ScenarioResult['exits']): string {
  const per = Object.entries(exits).map(([vm, m]) => [vm, Object.values(m).reduce((a, b) => a + b, 0)] as const);
  const total = per.reduce((a, [, n]) => a + n, 0);
  return per.length > 1 ? `${total} (${per.map(([vm, n]) => `${vm} ${n}`).join(', ')})` : String(total);
}

export function holdsCell(h: boolean | null): string {
  return h === null ? 'not run' : h ? 'yes' : '**no**';
}

/** The claims table: claim | paper says | vmxsim measured | holds? */
export function claimsTable(claims: readonly ClaimRow[]): string {
  const lines = ['| claim | paper says | vmxsim measured | holds? |', '|---|---|---|---|'];
  for (const c of claims) lines.push(`| ${cell(`${c.figure}: ${c.id}`)} | ${cell(c.paper)} | ${cell(c.measured)} | ${holdsCell(c.holds)} |`);
  return lines.join('\n');
}

/** The scenario table: samples, in-guest latency, ground truth, exits. */
export function scenarioTable(results: Record<string, ScenarioResult>, failed: Record<string, string> = {}): string {
  const lines = [
    '| scenario | samples | latency min / avg / max (µs) | ground truth min / avg / max (µs) | VM exits | simulated (ms) |',
    '|---|---:|---|---|---|---:|',
  ];
  const names = [...new Set([...Object.keys(results), ...Object.keys(failed)])].sort();
  for (const n of names) {
    const r = results[n];
    if (!r) {
      lines.push(`| ${cell(n)} | – | failed: ${cell(failed[n] ?? 'no result')} | – | – | – |`);
      continue;
    }
    lines.push(`| ${cell(n)} | ${r.latency.samples} | ${minAvgMax(r.latency)} | ${groundTruth(r.ground_truth)} | ${exitsCell(r.exits)} | ${n3(r.simulated_ns / 1e6)} |`);
  }
  return lines.join('\n');
}

function sizesNote(i: Pick<ReportInput, 'quick' | 'wallSeconds' | 'jobs' | 'results'>): string {
  const n = Object.keys(i.results).length;
  const sizes = i.quick
    ? 'quick sizes (each scenario\'s `quick` loops and interval: a short run, so maxima are from few samples and say less than the paper\'s 100 000 loops)'
    : "full sizes (each scenario's `measurement` loops and interval)";
  return `${n} scenarios at ${sizes}; wall time ${i.wallSeconds.toFixed(1)} s with ${i.jobs} worker${i.jobs === 1 ? '' : 's'}.`;
}

/** report.md */
export function renderReport(i: ReportInput): string {
  const holds = i.claims.filter((c) => c.holds === true).length;
  const out = [
    '# vmxsim: reproducing the paper',
    '',
    '*Performance Tuning Towards a KVM-based Embedded Real-time Virtualization System* (Ma, Zhou, Zhu, Guan, JISE 29(5), 2013), §5, reproduced by `vmxsim paper`.',
    '',
    sizesNote(i),
    'Latency is what the guest measured (RTOS IRT, or cyclictest PDLT); ground truth is the emulator\'s own time from the interrupt being raised to the first guest ISR instruction (Fig. 2, a to h).',
    '',
    `## Claims (${holds} of ${i.claims.length} hold)`,
    '',
    claimsTable(i.claims),
    '',
    '## Scenarios',
    '',
    scenarioTable(i.results, i.failed),
    '',
    '## Figures',
    '',
  ];
  for (const f of i.figures) out.push(`### ${f.title}`, '', `![${f.title}](${f.file})`, '');
  if (!i.figures.length) out.push('(no figure: none of their scenarios ran)', '');
  return `${out.join('\n')}`;
}

/** The README section: the claims table and the figure list (the figures themselves are in the output directory). */
export function renderReadmeSection(i: Pick<ReportInput, 'claims' | 'figures' | 'quick' | 'wallSeconds' | 'jobs' | 'results'>, outDir: string): string {
  return [
    `Measured by \`vmxsim paper${i.quick ? ' --quick' : ''}\`: ${sizesNote(i)}`,
    '',
    claimsTable(i.claims),
    '',
    `Figures (SVG, in \`${outDir}\`): ${i.figures.map((f) => `\`${f.file}\` ${f.title.replace(/\.$/, '')}`).join('; ')}.`,
  ].join('\n');
}

/** Does the README exist and have both markers, in order? */
export function hasReadmeMarkers(readmePath: string): boolean {
  if (!fs.existsSync(readmePath)) return false;
  const text = fs.readFileSync(readmePath, 'utf8');
  const b = text.indexOf(README_BEGIN);
  return b >= 0 && text.indexOf(README_END, b) > b;
}

/**
 * Replace the text between the paper-report markers of a README; false when
 * the markers are missing (the file is then left alone).
 */
export function updateReadmeSection(readmePath: string, section: string): boolean {
  if (!hasReadmeMarkers(readmePath)) return false;
  const text = fs.readFileSync(readmePath, 'utf8');
  const b = text.indexOf(README_BEGIN);
  const e = text.indexOf(README_END, b);
  const next = `${text.slice(0, b + README_BEGIN.length)}\n${section.trim()}\n${text.slice(e)}`;
  if (next !== text) fs.writeFileSync(readmePath, next);
  return true;
}
