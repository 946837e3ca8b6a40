import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lookupSymbol } from '../../src/asm/image.js';
import {
  DEFAULT_RTOS_PARAMS, IdleMode, LAT_LAYOUT, RTOS_PARAMS_ADDR, RTOS_PARAMS_LAYOUT, RTOS_RESULT_SYMBOLS, RtosParamsError, decodeRtosParams,
  encodeRtosParams, rtosParams, rtosParamsInclude, type RtosParams,
} from '../../src/guests/rtos-params.js';
import { RTOS, program } from '../helpers/guest.js';
import { asm } from '../helpers/runner.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const INCLUDE = path.join(ROOT, 'guests/rtos/params.s');

describe('RTOS parameter block', () => {
  it('round-trips through the byte layout', () => {
    const p = rtosParams({ tickHz: 250, idleMode: IdleMode.HLT, irt: { loops: 7, wakeTask: true }, load: { tasks: 3 }, cosched: { enable: true } });
    expect(decodeRtosParams(encodeRtosParams(p))).toEqual(p);
    expect(p.irt.intervalUs).toBe(DEFAULT_RTOS_PARAMS.irt.intervalUs);
  });

  it('sits below the kernel entry point and fits there', () => {
    expect(RTOS_PARAMS_ADDR + RTOS_PARAMS_LAYOUT.size).toBeLessThanOrEqual(0x1000);
  });

  it.each([
    [(p: RtosParams) => (p.irt.histBuckets = 5000), 'irt_hist_buckets 5000: expected 1-1000'],
    [(p: RtosParams) => (p.load.tasks = 9), 'load_tasks 9: at most 8'],
    [(p: RtosParams) => (p.irt.taskPrio = 256), 'irt_task_prio 256: expected 0-255'],
    [(p: RtosParams) => ((p.tickHz = 0), (p.delay.ticks = 2)), 'delay_ticks 2: taskDelay needs the tick (tick_hz > 0)'],
    [(p: RtosParams) => (p.cosched.prio = 0), 'cosched_prio 0: expected 1-99 (a SCHED_FIFO priority)'],
  ])('rejects bad values with a one-line error naming the field (%#)', (mutate, message) => {
    const p = rtosParams();
    mutate(p);
    expect(() => encodeRtosParams(p)).toThrow(RtosParamsError);
    expect(() => encodeRtosParams(p)).toThrow(`rtos parameters: ${message}`);
  });

  it('guests/rtos/params.s is generated from the layout (VMXSIM_UPDATE=1 rewrites it)', () => {
    const want = rtosParamsInclude();
    if (process.env.VMXSIM_UPDATE) fs.writeFileSync(INCLUDE, want);
    expect(fs.readFileSync(INCLUDE, 'utf8')).toBe(want);
  });

  it('the include gives the assembler the same offsets and the default block', () => {
    const img = asm('.include "params.s"\n_start: mov eax, [RTOS_PARAMS + rtos_params.irt_loops]\n hlt', { 'params.s': rtosParamsInclude() });
    const sym = (n: string) => img.symbols.find((s) => s.name === n)!.value;
    for (const [k, v] of Object.entries(RTOS_PARAMS_LAYOUT.offsets)) expect(sym(`rtos_params.${k}`), k).toBe(v);
    const rodata = img.segments.find((s) => s.name === '.rodata')!;
    const off = sym('rtos_default_params') - rodata.vaddr;
    expect(decodeRtosParams(rodata.data.slice(off, off + RTOS_PARAMS_LAYOUT.size))).toEqual(DEFAULT_RTOS_PARAMS);
  });

  it('the kernel keeps its results at the declared symbols, in the declared layout', () => {
    const img = program(RTOS);
    for (const name of RTOS_RESULT_SYMBOLS) expect(lookupSymbol(img, name), name).toBeDefined();
    for (const [k, v] of Object.entries(LAT_LAYOUT.offsets)) expect(lookupSymbol(img, `lat.${k}`)?.value, k).toBe(v);
    // the kernel image starts at the entry point, above the block
    expect(Math.min(...img.segments.map((s) => s.vaddr))).toBe(0x1000);
    expect(img.entry).toBe(0x1000);
  });
});
