// Child of bench/metadata.ts: loads a repository's primary into memory and reports, as JSON on
// stdout, how long that took and the peak RSS of this process alone.
import { readFileSync } from 'node:fs';
import { type RepoPackage, dataPath, expectationOf, findData, readPrimary, readRepomd } from '../src/repo/metadata.ts';

const repomdPath = process.argv[2]!;
const t0 = performance.now();
const repomd = await readRepomd(repomdPath);
const primary = findData(repomd, 'primary')!;
const pool: RepoPackage[] = [];
await readPrimary(dataPath(repomdPath, primary), (p) => pool.push(p), { expect: expectationOf(primary) });
const ms = performance.now() - t0;
// VmHWM is the kernel's own peak-RSS figure; resourceUsage().maxRSS is the portable fallback.
let hwmKB = process.resourceUsage().maxRSS;
try {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  if (m) hwmKB = Number(m[1]);
} catch { /* not Linux */ }
process.stdout.write(JSON.stringify({ packages: pool.length, ms, rssKB: hwmKB }));
