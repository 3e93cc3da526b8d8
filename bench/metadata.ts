// Loading a 63,440-package primary.xml (Debian bookworm converted to RPM-md) into memory:
// photon-ts's loadPrimaryPool (the compact package set tdnf's solver uses) against libsolv's
// rpmmd2solv, each in its own process.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../src/util/run.ts';
import type { Bench, BenchContext, BenchRow } from './run.ts';

const REPEAT = 5;

function packagesIndex(): string {
  const lists = '/var/lib/apt/lists';
  const f = readdirSync(lists).find((n) => /debian_dists_bookworm_main_binary-amd64_Packages/.test(n));
  if (!f) throw new Error(`no bookworm main amd64 Packages index in ${lists}: run apt-get update`);
  return join(lists, f);
}

async function ensureRepo(ctx: BenchContext): Promise<string> {
  const dir = join(ctx.cacheDir, 'bigrepo');
  const repomd = join(dir, 'repodata', 'repomd.xml');
  if (!existsSync(repomd)) {
    ctx.log(`generating ${dir} …`);
    await run('python3', [join(ctx.shared, 'bench', 'debian-to-rpmmd.py'), packagesIndex(), dir]);
  }
  return repomd;
}

/** Wall time of a command and the peak RSS of its largest process, via GNU time. */
async function timed(cmd: string): Promise<{ seconds: number; rssMB: number; stdout: string }> {
  const t0 = performance.now();
  const useTime = existsSync('/usr/bin/time');
  const r = useTime
    ? await run('/usr/bin/time', ['-f', '\n%M', 'sh', '-c', cmd])
    : await run('sh', ['-c', cmd]);
  const seconds = (performance.now() - t0) / 1000;
  const err = r.stderr.toString().trim().split('\n');
  const rssMB = useTime ? Number(err[err.length - 1]) / 1024 : Number.NaN;
  return { seconds, rssMB, stdout: r.stdout.toString() };
}

/**
 * Bundles the child with esbuild, as `npm run build` would ship it, so that the figure is the
 * reader's and not tsx's on-the-fly TypeScript compilation. The bundle sits under
 * node_modules/.cache so that its bare imports (fzstd, xz-decompress) resolve.
 */
async function bundleChild(root: string): Promise<string> {
  const out = join(root, 'node_modules', '.cache', 'photon-bench', 'primary-child.mjs');
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [join(root, 'bench', '_primary-child.ts')], bundle: true, platform: 'node', format: 'esm',
    target: 'node18', packages: 'external', outfile: out, logLevel: 'silent',
  });
  return out;
}

interface Ours {
  seconds: number;
  inner: number;
  /** CPU time of the child's main thread (gunzip runs beside it on libuv's pool). */
  cpu: number;
  rssMB: number;
  packages: number;
}

function ours(script: string, root: string, repomd: string): Promise<Ours> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [script, repomd], {
      cwd: root, stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`benchmark child exited with ${code}`));
      const r = JSON.parse(out) as { packages: number; ms: number; rssKB: number; cpuMs: number };
      resolve({
        seconds: (performance.now() - t0) / 1000, inner: r.ms / 1000, cpu: r.cpuMs / 1000, rssMB: r.rssKB / 1024,
        packages: r.packages,
      });
    });
  });
}

function best<T extends { seconds: number }>(xs: T[]): T {
  return xs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

export const bench: Bench = {
  name: 'metadata',
  async run(ctx) {
    const repomd = await ensureRepo(ctx);
    const repodata = join(repomd, '..');
    const primary = join(repodata, readdirSync(repodata).find((n) => n.includes('-primary.xml'))!);
    const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

    const script = await bundleChild(ctx.root);
    const mine = [];
    const theirs = [];
    for (let i = 0; i < REPEAT; i++) {
      mine.push(await ours(script, ctx.root, repomd));
      theirs.push(await timed(`gzip -dc ${q(primary)} | rpmmd2solv > /dev/null`));
    }
    const m = best(mine);
    const t = best(theirs);
    const rows: BenchRow[] = [
      {
        case: `primary.xml.gz → package pool (${m.packages} pkgs)`, tool: 'photon-ts', seconds: m.seconds, rssMB: m.rssMB,
        note: `${m.inner.toFixed(2)} s loading (main thread CPU ${m.cpu.toFixed(2)} s), rest is node start-up; checksums verified`,
      },
      { case: 'same file', tool: 'gzip -dc | rpmmd2solv', seconds: t.seconds, rssMB: t.rssMB, note: 'no checksum verification' },
      {
        case: 'ratio photon-ts / rpmmd2solv', tool: '', seconds: m.seconds / t.seconds, rssMB: m.rssMB / t.rssMB,
        note: `best of ${REPEAT}; time and RSS columns are ratios`,
      },
    ];
    return rows;
  },
};
