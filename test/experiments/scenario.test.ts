/**
 * Scenario files (src/experiments/scenario.ts): one-line validation errors
 * naming the field path and what is allowed, typo suggestions, and every
 * built-in scenario valid.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCENARIO_DIR, ScenarioError, builtinScenarioNames, isScenarioArg, loadScenario, measuredVm, validateScenario } from '../../src/experiments/scenario.js';

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

  it.each(names)('built-in %s validates, is named after its file and has a one-line description', (n) => {
    const s = loadScenario(n);
    expect(s.name).toBe(n);
    expect(s.description).not.toMatch(/\n/);
    expect(s.vms[measuredVm(s)]).toBeDefined();
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
