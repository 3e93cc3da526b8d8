// tdnf on the 63,440-package bench repository (Debian bookworm as rpm-md, bench/metadata.ts
// makes it): makecache, install --assumeno of two big desktops, list available — our bundled
// CLI beside Debian's dnf in the same run, wall time and peak RSS (GNU time's %M) of each.
// Ours is the product: dist/tdnf.mjs as scripts/bundle.mjs builds it (sql.js and zstd WASM
// beside it), run by Node 18 (Debian 12's, which images ship; scripts/node18.sh) with the
// environment the image's /usr/bin/tdnf gives it.
// Issue targets (C tdnf 3.6): makecache ≤ 1.5 s, install --assumeno kde-full ≤ 0.19 s and 40 MB;
// the first row is Node 18's own start (an empty script), below which no run can go.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../src/util/run.ts';
import type { Bench, BenchContext, BenchRow } from './run.ts';

const REPEAT = 5;

async function ensureRepo(ctx: BenchContext): Promise<string> {
  const dir = join(ctx.cacheDir, 'bigrepo');
  if (!existsSync(join(dir, 'repodata', 'repomd.xml'))) {
    const lists = '/var/lib/apt/lists';
    const f = readdirSync(lists).find((n) => /debian_dists_bookworm_main_binary-amd64_Packages/.test(n));
    if (!f) throw new Error(`no bookworm main amd64 Packages index in ${lists}: run apt-get update`);
    ctx.log(`generating ${dir} …`);
    await run('python3', [join(ctx.shared, 'bench', 'debian-to-rpmmd.py'), join(lists, f), dir]);
  }
  return dir;
}

async function bundle(root: string): Promise<string> {
  await run(process.execPath, [join(root, 'scripts', 'bundle.mjs')], { cwd: root });
  return join(root, 'dist', 'tdnf.mjs');
}

/**
 * The environment the image's tdnf launcher sets (its own lines, read so the two agree): the
 * malloc tunable, and a code cache, kept in `work` here rather than /var/cache/tdnf.
 */
function launcherEnv(root: string, work: string): string {
  const launcher = readFileSync(join(root, 'SPECS', 'tdnf', 'root', 'usr', 'bin', 'tdnf'), 'utf8');
  const m = /glibc\.malloc\.[\w.=:]+/.exec(launcher);
  if (!m) throw new Error('SPECS/tdnf/root/usr/bin/tdnf sets no GLIBC_TUNABLES');
  return `GLIBC_TUNABLES=${m[0]}${launcher.includes('TDNF_CODE_CACHE=') ? ` TDNF_CODE_CACHE=${q(join(work, 'tdnf.v8cache'))}` : ''}`;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Best of REPEAT: wall seconds and the peak RSS of that run. */
async function timed(cmd: string, prepare?: () => Promise<void>): Promise<{ seconds: number; rssMB: number; code: string }> {
  let best = { seconds: Infinity, rssMB: Number.NaN, code: '' };
  for (let i = 0; i < REPEAT; i++) {
    await prepare?.();
    const t0 = performance.now();
    const r = await run('/usr/bin/time', ['-f', '\n%M %x', 'sh', '-c', `${cmd} >/dev/null`], { allowFailure: true });
    const seconds = (performance.now() - t0) / 1000;
    const last = r.stderr.toString().trim().split('\n').at(-1)!.split(' ');
    if (seconds < best.seconds) best = { seconds, rssMB: Number(last[0]) / 1024, code: last[1] ?? '' };
  }
  return best;
}

export const bench: Bench = {
  name: 'tdnf',
  async run(ctx) {
    const repo = await ensureRepo(ctx);
    const script = await bundle(ctx.root);
    const work = join(ctx.cacheDir, 'tdnf-bench');
    const root = join(work, 'root');
    const dnfRoot = join(work, 'dnfroot');
    await mkdir(join(work, 'repos'), { recursive: true });
    await mkdir(root, { recursive: true });
    await mkdir(dnfRoot, { recursive: true });
    await writeFile(join(work, 'repos', 'big.repo'), `[big]\nname=big\nenabled=1\nbaseurl=file://${repo}\nskip_md_filelists=1\ngpgcheck=0\n`);
    await writeFile(join(work, 'tdnf.conf'), `[main]\ngpgcheck=0\nreposdir=${join(work, 'repos')}\ncachedir=/cache\n`);
    const node18 = (await run('bash', [join(ctx.root, 'scripts', 'node18.sh')])).stdout.toString().trim();
    const ours = `${launcherEnv(ctx.root, work)} ${q(node18)} ${q(script)} -c ${q(join(work, 'tdnf.conf'))} --installroot ${q(root)} -q`;
    const dnf = `dnf -q --installroot ${q(dnfRoot)} --releasever=12 --setopt=reposdir=${q(join(work, 'repos'))} --setopt=cachedir=${q(join(work, 'dnfcache'))} --setopt=install_weak_deps=0`;
    const haveDnf = existsSync('/usr/bin/dnf');
    const cases: [string, string, (() => Promise<void>) | undefined][] = [
      ['makecache', 'makecache', async () => {
        await rm(join(root, 'cache'), { recursive: true, force: true });
        await rm(join(work, 'dnfcache'), { recursive: true, force: true });
      }],
      ['install --assumeno kde-full', '--assumeno install kde-full', undefined],
      ['install --assumeno gnome-core', '--assumeno install gnome-core', undefined],
      ['list available', 'list available', undefined],
    ];
    // The runtime's own floor: Node 18 running an empty script, which every tdnf run pays first.
    const floor = await timed(`${q(node18)} -e 0`);
    const rows: BenchRow[] = [{ case: 'node -e 0 (runtime floor)', tool: 'node 18', seconds: floor.seconds, rssMB: floor.rssMB, note: 'what any tdnf on Node starts from' }];
    for (const [name, cmd, prepare] of cases) {
      ctx.log(`tdnf bench: ${name}`);
      const a = await timed(`${ours} ${cmd}`, prepare);
      rows.push({ case: name, tool: 'photon-ts tdnf', seconds: a.seconds, rssMB: a.rssMB, note: `exit ${a.code}` });
      if (!haveDnf) continue;
      // dnf needs its cache warm for the non-makecache cases, as ours has it.
      const b = await timed(`${dnf} ${cmd}`, prepare);
      rows.push({ case: name, tool: 'dnf', seconds: b.seconds, rssMB: b.rssMB, note: `exit ${b.code}; ours ${(b.seconds / a.seconds).toFixed(1)}x faster` });
    }
    return rows;
  },
};
