// Child of bench/metadata.ts: loads a repository's primary into a PackagePool (what tdnf loads
// into its solver) and reports, as JSON on stdout, how long that took and the peak RSS of this
// process alone.
import { readFileSync } from 'node:fs';
import { dataPath, expectationOf, findData, readRepomd } from '../src/repo/metadata.ts';
import { loadPrimaryPool } from '../src/repo/pool.ts';

const repomdPath = process.argv[2]!;
const t0 = performance.now();
const repomd = await readRepomd(repomdPath);
const primary = findData(repomd, 'primary')!;
const pool = await loadPrimaryPool(dataPath(repomdPath, primary), { expect: expectationOf(primary) });
const ms = performance.now() - t0;
// VmHWM is the kernel's own peak-RSS figure; resourceUsage().maxRSS is the portable fallback.
let hwmKB = process.resourceUsage().maxRSS;
try {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  if (m) hwmKB = Number(m[1]);
} catch { /* not Linux */ }
// CPU time of the main thread alone (utime + stime in /proc/self/task/<pid>/stat, in clock
// ticks of 10 ms): a figure that other load on the machine disturbs less than wall time.
let cpuMs = Number.NaN;
try {
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const v = f.slice(f.lastIndexOf(')') + 2).split(' ');
  cpuMs = (Number(v[11]) + Number(v[12])) * 10;
} catch { /* not Linux */ }
process.stdout.write(JSON.stringify({ packages: pool.count, ms, rssKB: hwmKB, cpuMs }));
