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
process.stdout.write(JSON.stringify({ packages: pool.count, ms, rssKB: hwmKB }));
