/**
 * Scenario files (src/experiments/scenario.ts): one-line validation errors
 * naming the field path and what is allowed, typo suggestions, and every
 * built-in scenario valid.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCENARIO_DIR, ScenarioError, applySets, builtinScenarioNames, isScenarioArg, loadScenario, measuredVm, validateScenario } from '../../src/experiments/scenario.js';
import { quickOverrides } from '../../src/experiments/run-scenario.js';

const base = (): any => JSON.parse(fs.readFileSync(path.join(SCENARIO_DIR, 'fig10-rtos-irt-prio-load.json'), 'utf8'));
const err = (v: unknown): string => {
  try {
    validateScenario(v, 'fig10.json');
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    const m = (e as Error).message;
    expect(m.split('\n')).toHaveLength(1);
    return m;
  }
  throw new Error('no error');
};

describe('scenario validation', () => {
  it('names the field path and the allowed range', () => {
    const s = base();
    s.vms[0].vcpu.prio = 120;
    expect(err(s)).toBe('scenario fig10.json: vms[0].vcpu.prio: 120 is not 1-99');
  });

  it('names the allowed values of an enumeration, with a suggestion', () => {
    const s = base();
    s.host.preempt = 'rt-full';
    expect(err(s)).toMatch(/^scenario fig10\.json: host\.preempt: "rt-full" is not one of "rt", "none"/);
    const t = base();
    t.vms[1].vcpu.policy = 'fif';
    expect(err(t)).toBe('scenario fig10.json: vms[1].vcpu.policy: "fif" is not one of "fifo", "rr", "other" (did you mean "fifo"?)');
    const u = base();
    u.vms[0].workload.idle = 'halt';
    expect(err(u)).toMatch(/vms\[0\]\.workload\.idle: "halt" is not one of "spin", "hlt" \(did you mean "hlt"\?\)/);
  });

  it('rejects unknown fields, suggesting the known one for a typo', () => {
    const s = base();
    s.host.tick_hx = 1000;
    expect(err(s)).toMatch(/^scenario fig10\.json: host\.tick_hx: unknown field \(did you mean "tick_hz"\?\); allowed: /);
    const t = base();
    t.measurement.histgram = 10;
    expect(err(t)).toMatch(/measurement\.histgram: unknown field \(did you mean "histogram"\?\)/);
    const u = base();
    u.zzz = 1;
    expect(err(u)).toMatch(/^scenario fig10\.json: zzz: unknown field; allowed: name, description/);
  });

  it('reports missing fields, CPUs out of range, a SCHED_OTHER priority, unknown benchmarks and IRQs', () => {
    const s = base();
    delete s.measurement.loops;
    expect(err(s)).toBe('scenario fig10.json: measurement.loops: missing');
    const t = base();
    t.vms[0].vcpu.affinity = [0, 2];
    expect(err(t)).toBe('scenario fig10.json: vms[0].vcpu.affinity[1]: 2 is not 0-1');
    const u = base();
    u.vms[1].vcpu.prio = 5;
    expect(err(u)).toBe('scenario fig10.json: vms[1].vcpu.prio: 5 is not 0-0');
    const w = base();
    w.vms[1].workload.benchmarks = ['gzip', 'gccc'];
    expect(err(w)).toMatch(/vms\[1\]\.workload\.benchmarks\[1\]: "gccc" is not one of .* \(did you mean "gcc"\?\)/);
    const x = base();
    x.host.irq_affinity = { 30: [0] };
    expect(err(x)).toMatch(/^scenario fig10\.json: host\.irq_affinity\.30: unknown field/);
  });

  it('an unknown scenario name gets a suggestion', () => {
    expect(() => loadScenario('fig10-rtos-irt-prio-lod')).toThrow('unknown scenario "fig10-rtos-irt-prio-lod" (did you mean "fig10-rtos-irt-prio-load"?)');
    expect(() => loadScenario('/nonexistent/x.json')).toThrow(/^scenario \/nonexistent\/x\.json: cannot read: ENOENT$/);
  });

  it('tells scenarios from programs', () => {
    expect(isScenarioArg('fig8-rtos-irt-base')).toBe(true);
    expect(isScenarioArg('my.json')).toBe(true);
    expect(isScenarioArg('firmware/demo/main.s')).toBe(false);
    expect(isScenarioArg('build/demo.elf')).toBe(false);
  });

  const names = builtinScenarioNames();
  it('has the paper setups built in', () => {
    for (const n of ['fig8-rtos-irt-base', 'fig8-rtos-irt-load', 'fig9-rtos-irt-shield-base', 'fig10-rtos-irt-prio-base', 'fig10-rtos-irt-prio-load', 'fig5-guest-pdlt']) expect(names).toContain(n);
  });

  it.each(names)('built-in %s validates, is named after its file, has a one-line description and quick sizes', (n) => {
    const s = loadScenario(n);
    expect(s.name).toBe(n);
    expect(s.description).not.toMatch(/\n/);
    const me = measuredVm(s);
    if (me < 0) expect(s.host.cyclictest).toBeDefined();
    else expect(s.vms[me]).toBeDefined();
    expect(s.quick).toBeDefined();
    expect(quickOverrides(s)).toEqual({ loops: s.quick!.loops, intervalUs: s.quick!.interval_us });
    // quick runs stay short: at most ~0.25 s of simulated benchmark time
    expect(s.quick!.loops * s.quick!.interval_us).toBeLessThanOrEqual(250_000);
  });

  it('the issue\'s scenario list is built in, and the paper sizes are the defaults (cyclictest -i10000 -l100000)', () => {
    const want = ['fig4-host-pdlt', 'fig5-guest-pdlt', 'fig6-guest-pdlt-prio', 'fig7-guest-pdlt-shield', 'fig8-rtos-irt-base', 'fig8-rtos-irt-load',
      'fig9-rtos-irt-shield-base', 'fig9-rtos-irt-shield-load', 'fig10-rtos-irt-prio-base', 'fig10-rtos-irt-prio-load', 'fig11-throughput-prio',
      'fig11-throughput-cosched', 'fig12-irt-prio', 'fig12-irt-cosched', 'smi-usb-legacy', 'acpi-processor-on'];
    expect(names).toEqual(want.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })));
    for (const n of names) expect([n, loadScenario(n).measurement.loops, loadScenario(n).measurement.interval_us]).toEqual([n, 100_000, 10_000]);
  });

  it('fig4 measures the host cyclictest (FIFO 80, no VMs); SMIs and ACPI have their blocks', () => {
    const h = loadScenario('fig4-host-pdlt');
    expect([h.measurement.vm, h.host.cyclictest?.prio, h.vms.length, h.host.preempt]).toEqual(['host', 80, 0, 'rt']);
    const smi = loadScenario('smi-usb-legacy');
    expect(smi.machine.smi?.period_us).toBeGreaterThan(0);
    const d = smi.machine.smi!.duration_us as number[];
    expect(Math.min(...d)).toBeGreaterThanOrEqual(100); // hundreds of µs ...
    expect(Math.max(...d)).toBeGreaterThan(1000); // ... to over 1 ms (paper §5.2)
    const a = loadScenario('acpi-processor-on');
    expect([a.host.acpi_processor, (a.vms[0].workload as { idle: string }).idle]).toEqual([true, 'hlt']);
    const c = loadScenario('fig11-throughput-cosched');
    expect([c.host.cosched, (c.vms[0].workload as { cosched: boolean }).cosched, c.measurement.until]).toEqual([true, true, 'benchmarks']);
  });

  it('validates the new blocks: quick, host cyclictest, SMIs, until, GPOS tick', () => {
    const s = base();
    s.quick = { loops: 0, interval_us: 10 };
    expect(err(s)).toBe('scenario fig10.json: quick.loops: 0 is not 1-1000000');
    const t = base();
    t.measurement.vm = 'host';
    expect(err(t)).toBe('scenario fig10.json: measurement.vm: "host" needs host.cyclictest (the host\'s cyclictest thread: { "prio": 80 })');
    const u = base();
    u.machine.smi = { period_us: 1000, duration_us: [300, 1000] };
    expect(err(u)).toBe('scenario fig10.json: machine.smi.duration_us[1]: 1000 is not 0-999');
    const v = base();
    v.measurement.until = 'benchmarks';
    expect(err(v)).toBe('scenario fig10.json: measurement.until: "benchmarks" needs a GPOS VM with workload.benchmarks');
    const w = base();
    w.vms[1].workload.tick_hz = -1;
    expect(err(w)).toBe('scenario fig10.json: vms[1].workload.tick_hz: -1 is not 0-100000');
    const x = base();
    x.vms = [];
    expect(err(x)).toBe('scenario fig10.json: vms: [] is not a list of 1-4 VMs');
    const y = base();
    y.vms[1].name = 'host';
    expect(err(y)).toMatch(/^scenario fig10\.json: vms\[1\]\.name: "host" is reserved/);
  });

  it('--set overrides fields by dotted path (JSON values, list indices) on a copy; errors are one line', () => {
    const s = base();
    const o = applySets(s, ['host.cosched=true', 'vms[1].vcpu.prio=90', 'vms[1].vcpu.policy=fifo', 'vms[0].vcpu.affinity=[1]'], 'fig10.json') as any;
    expect([o.host.cosched, o.vms[1].vcpu.prio, o.vms[1].vcpu.policy, o.vms[0].vcpu.affinity]).toEqual([true, 90, 'fifo', [1]]);
    expect(s.host.cosched).toBe(false);
    expect(validateScenario(o, 'fig10.json').vms[1].vcpu.prio).toBe(90);
    expect(err(applySets(s, ['vms[0].vcpu.prio=120'], 'fig10.json'))).toBe('scenario fig10.json: vms[0].vcpu.prio: 120 is not 1-99');
    expect(() => applySets(s, ['host.cosched'], 'fig10.json')).toThrow('--set host.cosched: expected key=value');
    expect(() => applySets(s, ['vms[7].vcpu.prio=1'], 'fig10.json')).toThrow("scenario fig10.json: --set vms[7].vcpu.prio: index 7 is beyond the list's 2 entries");
  });

  it('prioritization: vCPU FIFO 97, I/O thread FIFO 98, hrtimer thread FIFO 99; shielding: the RTOS vCPU alone on CPU 1', () => {
    const p = loadScenario('fig10-rtos-irt-prio-load');
    expect([p.vms[0].vcpu.policy, p.vms[0].vcpu.prio, p.vms[0].io_thread?.prio, p.host.hrtimer_prio]).toEqual(['fifo', 97, 98, 99]);
    const s = loadScenario('fig9-rtos-irt-shield-base');
    expect(s.vms[0].vcpu.affinity).toEqual([1]);
    for (const v of s.vms.slice(1)) expect(v.vcpu.affinity).toEqual([0]);
    expect(s.host.irq_affinity).toEqual({ 14: [0] });
  });
});
