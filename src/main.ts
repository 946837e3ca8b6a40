#!/usr/bin/env node
/**
 * vmxsim command line: `tsx src/main.ts COMMAND ...` (see README "CLI").
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { asmCommand, buildCommand, disasmCommand } from './asm/cli.js';
import { EXIT_MACHINE, EXIT_OK, UsageError, reportError } from './cli/errors.js';
import { formatRunSummary, parseGuestOption, runProgram } from './cli/program.js';
import { kvmDemo } from './cli/kvm-demo.js';
import { guestsDemo } from './cli/guests-demo.js';
import { NEHALEM } from './machine/cpu-model.js';
import { PLATFORM_SYMBOLS } from './machine/platform-symbols.js';
import { isaReferenceMarkdown, updateReadme } from './isa/reference.js';
import { listCommand, scenarioCommand } from './experiments/cli.js';
import { isScenarioArg } from './experiments/scenario.js';
import { describeStop } from './machine/watchdog.js';
import { debugCommand } from './debug/cli.js';
import { paperCommand } from './experiments/paper.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEMO = path.join(ROOT, 'firmware/demo/main.s');

interface RunArgs {
  file: string;
  guest?: string[];
  'smi-period'?: number;
  'smi-work'?: number;
  cpus: number;
  memory: number;
  time: number;
  'max-instructions'?: number;
  quantum: number;
  watchdog?: number;
}

function runCommand(a: RunArgs): number {
  if (!Number.isInteger(a.cpus) || a.cpus < 1 || a.cpus > 64) throw new UsageError(`--cpus ${a.cpus}: expected 1-64`);
  if (!Number.isInteger(a.memory) || a.memory < 1 || a.memory > 2048) throw new UsageError(`--memory ${a.memory}: expected 1-2048 (MiB)`);
  if (!(a.time > 0)) throw new UsageError(`--time ${a.time}: expected a positive number of simulated milliseconds`);
  if (!Number.isInteger(a.quantum) || a.quantum < 1) throw new UsageError(`--quantum ${a.quantum}: expected a positive number of cycles`);
  const watchdogMs = a.watchdog ?? 100;
  if (!(watchdogMs >= 0)) throw new UsageError(`--watchdog ${a.watchdog}: expected simulated milliseconds (0: off)`);
  const smiPeriod = a['smi-period'] ?? 0;
  const smiWork = a['smi-work'] ?? 0;
  if (!(smiPeriod >= 0) || !(smiWork >= 0)) throw new UsageError('--smi-period and --smi-work take non-negative microseconds');
  const us = (x: number): number => Math.round((x / 1e6) * NEHALEM.hz);
  const line: Record<number, string> = {};
  const run = runProgram(
    a.file,
    {
      cpus: a.cpus,
      watchdogCycles: Math.round((watchdogMs / 1e3) * NEHALEM.hz),
      memoryBytes: a.memory << 20,
      quantum: a.quantum,
      smi: smiPeriod > 0 ? { period: us(smiPeriod), work: us(smiWork), phase: us(smiPeriod) } : null,
      onUartOutput: (src, text) => {
        line[src] = (line[src] ?? '') + text;
        if (text === '\n') {
          process.stdout.write(line[src]);
          line[src] = '';
        }
      },
    },
    { untilCycles: (a.time / 1e3) * NEHALEM.hz, maxInstructions: a['max-instructions'] },
    (a.guest ?? []).map(parseGuestOption),
    smiPeriod > 0 ? path.join(ROOT, 'firmware/smm/main.s') : undefined,
  );
  for (const rest of Object.values(line)) if (rest) process.stdout.write(`${rest}\n`);
  console.log(formatRunSummary(run));
  const where = describeStop(run.machine, run.result, { host: run.image });
  if (where) (run.result.reason === 'watchdog' ? console.error : console.log)(where); // where the CPUs stopped, one line
  if (run.result.reason === 'shutdown' || run.result.reason === 'watchdog') return EXIT_MACHINE;
  return run.result.reason === 'exit' && run.result.exitCode !== 0 ? EXIT_MACHINE : EXIT_OK;
}

const runOptions = {
  cpus: { type: 'number', default: 2, describe: 'number of CPUs' },
  memory: { type: 'number', default: 64, describe: 'RAM in MiB' },
  time: { type: 'number', default: 1000, describe: 'simulated-time limit in milliseconds' },
  'max-instructions': { type: 'number', describe: 'instruction limit (watchdog)' },
  watchdog: { type: 'number', describe: 'stop when a CPU runs this many simulated ms in root mode with interrupts off (default 100; 0: off)' },
  quantum: { type: 'number', default: 1000, describe: 'cycles a CPU runs before the others catch up' },
  guest: { type: 'string', array: true, describe: 'load a guest image FILE@SYMBOL: at the host symbol (guest-physical 0)' },
  'smi-period': { type: 'number', describe: 'USB-legacy SMIs every this many microseconds (loads firmware/smm)' },
  'smi-work': { type: 'number', describe: 'microseconds of USB-legacy emulation work per SMI' },
} as const;

const scenarioOptions = {
  loops: { type: 'number', describe: 'scenario: samples of the measured benchmark (overrides measurement.loops)' },
  interval: { type: 'number', describe: 'scenario: benchmark interval in microseconds (overrides measurement.interval_us)' },
  json: { type: 'string', describe: 'scenario: write the result as JSON to FILE' },
  histogram: { type: 'number', describe: "scenario: print cyclictest's -h histogram with N 1-us buckets" },
  duration: { type: 'string', describe: 'scenario: bound on simulated time (10s, 500ms, 250us, or seconds)' },
  seed: { type: 'number', describe: 'scenario: seed recorded in the results (the model is deterministic and draws no random numbers yet)' },
  trace: { type: 'string', describe: 'scenario: write a Chrome/Perfetto trace-event JSON to FILE (ui.perfetto.dev)' },
  histfile: { type: 'string', describe: "scenario: write cyclictest's -h histogram block to FILE" },
  set: { type: 'string', array: true, describe: 'scenario: override a field by dotted path, e.g. --set host.cosched=true --set vms[1].vcpu.prio=90' },
  'cyclictest-json': { type: 'string', describe: "scenario: write rt-tests cyclictest's --json layout to FILE" },
  quiet: { type: 'boolean', describe: 'scenario: no progress bar on stderr' },
  quick: { type: 'boolean', describe: "scenario: the scenario's short quick sizes (before --loops/--interval)" },
  'checkpoint-at': { type: 'string', describe: 'scenario: save a checkpoint at this simulated time (10ms, 2s, ...) to --checkpoint FILE, then run on' },
  checkpoint: { type: 'string', describe: 'scenario: the checkpoint file for --checkpoint-at' },
  restore: { type: 'string', describe: 'continue the scenario run saved in checkpoint FILE (run --restore FILE)' },
} as const;

/** The representative scenario `npm start` runs, with its quick sizes. */
const DEFAULT_SCENARIO = 'fig10-rtos-irt-prio-load';

function main(argv: string[]): number {
  let code = EXIT_OK;
  const guard = (f: () => number) => () => {
    try {
      code = f();
    } catch (e) {
      code = reportError(e);
    }
  };
  yargs(argv)
    .scriptName('vmxsim')
    .usage('$0 [command]\n\nCycle-approximate x86 VMX emulator. With no command: a short run of the Fig. 10 scenario.')
    .command('$0', `run ${DEFAULT_SCENARIO} briefly (its quick sizes), then say how to run the rest`, {}, (a) => guard(() => {
      if (a._.length) return 2; // yargs' strict mode has already reported it
      console.log(`vmxsim: the paper's Fig. 10 setup (RTOS vCPU SCHED_FIFO 97, CPU loop + bonnie in the GPOS), a short run\n`);
      const rc = scenarioCommand(DEFAULT_SCENARIO, { quick: true });
      console.log([
        '',
        'More: `npm start -- list` shows every built-in scenario (Figs. 4-12, SMIs, ACPI);',
        '`npm start -- run NAME [--loops N] [--interval US] [--duration 10s] [--json FILE]` runs one (paper sizes by default);',
        '`npm start -- paper --quick` runs them all and writes the report; `npm start -- smp-demo` is the machine-core demo.',
      ].join('\n'));
      return rc;
    })())
    .command('smp-demo', 'the machine-core demo: two CPUs, APIC timers, IPIs, UART, exit port', {}, () => guard(() => {
      console.log(`vmxsim demo: ${path.relative(process.cwd(), DEMO) || DEMO} on 2 CPUs (see README for more)`);
      return runCommand({ file: DEMO, cpus: 2, memory: 64, time: 1000, quantum: 1000 });
    })())
    .command('run [file]', 'run a scenario (a built-in name, see `list`, or a .json file) or a program (ELF image or .s source) on the bare machine; or --restore a checkpoint', (y) =>
      y.positional('file', { type: 'string' }).options(runOptions).options(scenarioOptions),
    (a) => guard(() => {
      if (a.file === undefined && a.restore === undefined) throw new UsageError('run needs a scenario, a program or --restore FILE');
      if (a.file !== undefined && a.restore !== undefined) throw new UsageError(`--restore ${a.restore} continues a saved run: give no scenario or program (${a.file})`);
      if (a.restore !== undefined || isScenarioArg(a.file as string)) {
        return scenarioCommand((a.file as string | undefined) ?? '', {
          checkpointAt: a['checkpoint-at'] as string | undefined, checkpoint: a.checkpoint as string | undefined, restore: a.restore as string | undefined,
          loops: a.loops as number | undefined, interval: a.interval as number | undefined, json: a.json as string | undefined,
          histogram: a.histogram as number | undefined, duration: a.duration as string | undefined, seed: a.seed as number | undefined,
          trace: a.trace as string | undefined, histfile: a.histfile as string | undefined, set: a.set as string[] | undefined,
          cyclictestJson: a['cyclictest-json'] as string | undefined, quiet: a.quiet as boolean | undefined, quick: a.quick as boolean | undefined,
        });
      }
      for (const k of Object.keys(scenarioOptions)) if (a[k] !== undefined) throw new UsageError(`--${k} applies to scenarios only (${a.file} is run as a program)`);
      return runCommand(a as unknown as RunArgs);
    })())
    .command('list', 'list the built-in experiment scenarios', {}, () => guard(() => listCommand())())
    .command('vmx-demo', 'the VMX demo: a small hypervisor (firmware/hv-demo) runs a tiny guest (guests/tiny)', (y) =>
      y.options({ 'smi-period': runOptions['smi-period'], 'smi-work': runOptions['smi-work'] }),
    (a) => guard(() =>
      runCommand({
        file: path.join(ROOT, 'firmware/hv-demo/main.s'), guest: [`${path.join(ROOT, 'guests/tiny/main.s')}@guest_memory`],
        cpus: 1, memory: 64, time: 1000, quantum: 1000, 'smi-period': a['smi-period'], 'smi-work': a['smi-work'],
      }))())
    .command('kvm-demo', 'the host kernel with its KVM module runs two test guests; prints the Fig. 2 stage breakdown', (y) =>
      y.option('spin', { type: 'boolean', default: false, describe: 'guests spin between ticks (EXTERNAL_INTERRUPT exits) instead of halting' })
        .option('ms', { type: 'number', default: 5, describe: 'simulated milliseconds' }),
    (a) => guard(() => kvmDemo(ROOT, { spin: a.spin as boolean, ms: a.ms as number }))())
    .command('guests-demo', 'the host kernel runs the RTOS (IRT benchmark) and the GPOS (cyclictest) together; prints both in cyclictest format', (y) =>
      y.option('loops', { type: 'number', default: 200, describe: 'RTOS IRT samples (200 us apart); the GPOS runs a quarter as many 1 ms loops' })
        .option('ms', { type: 'number', default: 100, describe: 'simulated-time limit in milliseconds' }),
    (a) => guard(() => {
      if (!Number.isInteger(a.loops) || (a.loops as number) < 1) throw new UsageError(`--loops ${a.loops}: expected a positive integer`);
      return guestsDemo(ROOT, { loops: a.loops as number, ms: a.ms as number });
    })())
    .command('paper', 'run every built-in scenario (in parallel) and write results.json, the figures (SVG) and report.md', (y) =>
      y.option('quick', { type: 'boolean', default: false, describe: "each scenario's short sizes (its quick block) instead of its full measurement" })
        .option('out', { type: 'string', default: 'paper-out', describe: 'output directory' })
        .option('jobs', { type: 'number', default: 2, describe: 'scenarios run at once (worker threads)' })
        .option('update-readme', { type: 'boolean', default: false, describe: 'rewrite the README section between the paper-report markers' })
        .option('quiet', { type: 'boolean', default: false, describe: 'no progress on stderr' })
        .option('only', { type: 'string', describe: 'comma-separated scenario names (default: all; see `list`)' }),
    (a) => {
      // async (worker threads): the exit code is set when it is done
      paperCommand({ quick: a.quick as boolean, out: a.out as string, jobs: a.jobs as number, updateReadme: a['update-readme'] as boolean, quiet: a.quiet as boolean, only: a.only as string | undefined })
        .then((c) => { process.exitCode = c; }, (e) => { process.exitCode = reportError(e); });
    })
    .command('debug <target>', 'debug a scenario or program: breakpoints on VM exits/entries/VMCALLs/addresses, stepping, follow an interrupt through Fig. 2, VMCS/APIC/scheduler inspection', (y) =>
      y.positional('target', { type: 'string', demandOption: true, describe: 'a scenario (built-in name or .json) or a program (.s or ELF)' })
        .option('script', { type: 'string', describe: 'run the debugger commands of FILE (else stdin when it is not a terminal, else interactive)' })
        .option('guest', runOptions.guest)
        .option('loops', scenarioOptions.loops)
        .option('interval', scenarioOptions.interval),
    (a) => guard(() => {
      const r = debugCommand(a.target as string, { script: a.script as string | undefined, guests: a.guest as string[] | undefined, loops: a.loops as number | undefined, intervalUs: a.interval as number | undefined });
      if (typeof r === 'number') return r;
      r.then((c) => { process.exitCode = c; }, (e) => { process.exitCode = reportError(e); }); // the interactive REPL
      return EXIT_OK;
    })())
    .command('asm <files..>', 'assemble into an ELF32 image', (y) =>
      y.positional('files', { type: 'string', array: true, demandOption: true })
        .option('o', { alias: 'output', type: 'string', demandOption: true, describe: 'output ELF file' })
        .option('base', { type: 'number', describe: 'load address of the first section' }),
    (a) => { code = asmCommand(a.files as string[], a.o as string, a.base as number | undefined, { ...PLATFORM_SYMBOLS }); })
    .command('disasm <file>', 'disassemble an ELF image (output re-assembles)', (y) =>
      y.positional('file', { type: 'string', demandOption: true }),
    (a) => { code = disasmCommand(a.file as string); })
    .command('isa', 'print the ISA reference (generated from the opcode table)', (y) =>
      y.option('update-readme', { type: 'boolean', describe: 'rewrite the reference section of README.md' }),
    (a) => {
      if (!a['update-readme']) { console.log(isaReferenceMarkdown()); return; }
      code = updateReadme(path.join(ROOT, 'README.md')) ? 0 : 1;
      if (code) console.error('error: README.md has no isa-reference markers');
    })
    .command('build', 'assemble every program under firmware/ and guests/ into build/', {}, () => { code = buildCommand(ROOT, { ...PLATFORM_SYMBOLS }); })
    .strict()
    .fail((msg, err) => {
      if (err) throw err;
      console.error(`error: ${msg} (see --help)`);
      process.exit(2); // yargs would still call the command's handler: a mistyped option must not run anything
    })
    .help()
    .parseSync();
  return code;
}

process.exitCode = main(hideBin(process.argv));
