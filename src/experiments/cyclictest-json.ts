/**
 * rt-tests cyclictest's `--json FILE` layout (rt-utils.c rt_write_json and
 * cyclictest.c write_stats, rt-tests 2.x): top-level file_version, the
 * command line and version under their literal keys "cmdline:" and
 * "rt_test_version:" (with the colon, as rt-tests prints them), start and
 * end time, return code, sysinfo (uname), then num_threads,
 * resolution_in_ns and per thread its histogram (non-empty 1-µs buckets),
 * cycles, min, max, avg (µs) and cpu/node. Times are the simulated ones:
 * nothing in vmxsim reads the wall clock.
 */
import type { GposCtStat } from '../guests/gpos.js';

export const RT_TESTS_VERSION = '2.50';

export interface CyclictestJsonInput {
  cmdline: string;
  /** simulated start and end (ns) */
  startNs: number;
  endNs: number;
  returnCode: number;
  /** host (native) measurement or a guest's */
  realtime: boolean;
  threads: { stat: GposCtStat; cpu: number }[];
}

const ts = (ns: number): string => {
  // rt-tests prints "%Y-%m-%dT%H:%M:%S" local time; we give the simulated time from the epoch
  const d = new Date(Math.floor(ns / 1e6));
  return d.toISOString().slice(0, 19);
};

export function cyclictestJson(o: CyclictestJsonInput): object {
  const us = (ns: number): number => Math.floor(ns / 1000);
  return {
    file_version: 1,
    'cmdline:': o.cmdline,
    'rt_test_version:': RT_TESTS_VERSION,
    start_time: ts(o.startNs),
    end_time: ts(o.endNs),
    return_code: o.returnCode,
    sysinfo: { sysname: 'vmxsim', nodename: 'vmxsim', release: 'vmxsim', version: 'simulated', machine: 'x86', realtime: o.realtime ? 1 : 0 },
    num_threads: o.threads.length,
    resolution_in_ns: 0,
    thread: Object.fromEntries(o.threads.map(({ stat, cpu }, i) => [String(i), {
      histogram: Object.fromEntries(stat.histogram.map((n, b) => [String(b), n]).filter(([, n]) => n)),
      cycles: stat.count,
      min: us(stat.minNs),
      max: us(stat.maxNs),
      avg: Number((stat.count ? stat.sumNs / stat.count / 1000 : 0).toFixed(2)),
      cpu,
      node: 0,
    }])),
  };
}
