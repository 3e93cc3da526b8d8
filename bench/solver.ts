// tdnf's solver on the bench repository (Debian bookworm as RPM-md): `install kde-full`,
// `install gnome-core` and `install texlive-full` (unsatisfiable) on an empty root, beside dnf's
// `install --assumeno` end to end (run once: dnf is slow).
//
// The solver runs bundled by esbuild in a child process, as `npm run build` ships it, so that
// the figures are the reader's and not tsx's on-the-fly compilation. The child reports, per job:
// - the first solve in the process (cold JIT: what one `tdnf install` pays),
// - the best of 5 further solves, each on a fresh Universe over the same pool (warm),
// - load + first solve,
// and checks every result two ways: independently (every requirement of every chosen package has
// a chosen provider) and against the transaction recorded before the solver was optimised
// (digest of the sorted NEVRAs and problem lines), so a speed-up that changes an answer shows.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEP, loadPrimaryPool, StringPool } from '../src/repo/pool.ts';
import { isRich } from '../src/rpm/deps.ts';
import { run } from '../src/util/run.ts';
import { solve } from '../src/solver/solver.ts';
import { Universe } from '../src/solver/universe.ts';
import type { Bench, BenchRow } from './run.ts';

const JOBS = ['kde-full', 'gnome-core', 'texlive-full'];
const WARM_RUNS = 5;

/**
 * sha256 of the sorted NEVRAs, then `problem: …` lines, one per line: the transactions the
 * solver gave before its rule generation was made fast (kde-full 1945 packages, gnome-core 1129,
 * texlive-full unsatisfiable). They hold for the repository debian-to-rpmmd.py makes from the
 * bookworm index of the time; a regenerated repository may legitimately differ.
 */
const EXPECTED: Record<string, string> = {
  'kde-full': 'b5f234207056c3bb71b3ed423c3ed44f3d7fbc68717245ae125bed456a5821e4',
  'gnome-core': '6d14ce49baec6151ecf92f5a43107433405bbf5b7779e17f89514e354bd4c420',
  'texlive-full': 'ba895dfc43004c172d00c223e77f5128787bab2de607b9bcf1419c31920a3d14',
};

interface ChildResult {
  name: string;
  loadMs: number;
  firstMs: number;
  warmMs: number;
  packages: number;
  unsatisfied: number;
  problems: string[];
  digest: string;
  rssMB: number;
}

/** Every plain requirement of a chosen package is provided by a chosen package. */
function unsatisfied(u: Universe, chosen: Set<number>): number {
  let bad = 0;
  for (const p of chosen) {
    const [pool, i] = u.local(p);
    for (const d of pool.deps(i, DEP.REQUIRES)) {
      const name = u.str(pool.depName(d));
      if (isRich(name)) continue;
      if (!Array.from(u.whatProvides(pool.depName(d), pool.depFlags(d), pool.depEvr(d))).some((q) => chosen.has(q))) bad++;
    }
  }
  return bad;
}

/** The child: one job in a fresh process (so that its first solve is really the first). */
async function child(primary: string, name: string): Promise<ChildResult> {
  const t0 = performance.now();
  const strings = new StringPool();
  const pool = await loadPrimaryPool(primary, { strings });
  const t1 = performance.now();
  const solveOnce = (): { u: Universe; r: ReturnType<typeof solve>; ms: number } => {
    const s = performance.now();
    const u = new Universe({ strings, repos: [{ id: 'big', pool }] });
    const r = solve(u, [{ kind: 'install', packages: u.byName(strings.lookup(name)) }]);
    return { u, r, ms: performance.now() - s };
  };
  const first = solveOnce();
  let warm = Infinity;
  for (let k = 0; k < WARM_RUNS; k++) warm = Math.min(warm, solveOnce().ms);
  const { u, r } = first;
  const lines = r.install.map((p) => u.nevra(p)).sort();
  for (const p of r.problems) lines.push(`problem: ${p}`);
  return {
    name, loadMs: t1 - t0, firstMs: first.ms, warmMs: warm, packages: r.install.length,
    unsatisfied: unsatisfied(u, new Set(r.install)), problems: r.problems,
    digest: createHash('sha256').update(lines.join('\n') + '\n').digest('hex'),
    rssMB: process.memoryUsage().rss / 2 ** 20,
  };
}

/** Bundles this file (as bench/metadata.ts bundles its child); bare imports stay external. */
async function bundleSelf(root: string): Promise<string> {
  const out = join(root, 'node_modules', '.cache', 'photon-bench', 'solver-child.mjs');
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [join(root, 'bench', 'solver.ts')], bundle: true, platform: 'node', format: 'esm',
    target: 'node18', packages: 'external', outfile: out, logLevel: 'silent',
  });
  return out;
}

function runChild(script: string, root: string, primary: string, name: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [script, '--solver-child', primary, name], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as ChildResult) : reject(new Error(`solver child exited with ${code}`))));
  });
}

if (process.argv[2] === '--solver-child') {
  process.stdout.write(JSON.stringify(await child(process.argv[3]!, process.argv[4]!)));
}

export const bench: Bench = {
  name: 'solver',
  async run(ctx) {
    const repo = join(ctx.cacheDir, 'bigrepo');
    const repodata = join(repo, 'repodata');
    const primary = join(repodata, readdirSync(repodata).find((n) => n.includes('primary'))!);
    const script = await bundleSelf(ctx.root);
    const rows: BenchRow[] = [];
    let changed = 0;
    for (const name of JOBS) {
      const r = await runChild(script, ctx.root, primary, name);
      const same = r.digest === EXPECTED[name];
      if (!same) changed++;
      const what = r.problems.length ? r.problems[0]! : `${r.packages} packages, ${r.unsatisfied} unsatisfied requires`;
      rows.push({
        case: `install ${name} (solve, first)`, tool: 'photon-ts', seconds: r.firstMs / 1000, rssMB: r.rssMB,
        note: `${same ? 'transaction unchanged' : `TRANSACTION CHANGED (digest ${r.digest.slice(0, 16)})`}; ${what}`,
      });
      rows.push({ case: `install ${name} (solve, warm best of ${WARM_RUNS})`, tool: 'photon-ts', seconds: r.warmMs / 1000, rssMB: r.rssMB });
      rows.push({ case: `install ${name} (load XML + solve)`, tool: 'photon-ts', seconds: (r.loadMs + r.firstMs) / 1000, rssMB: r.rssMB });
    }
    if (changed) ctx.log(`solver: ${changed} transaction(s) differ from the recorded ones (regenerated repository, or a solver change)`);
    try {
      const root = mkdtempSync(join(tmpdir(), 'dnf-root-'));
      const t0 = performance.now();
      const out = await run('dnf', ['--installroot', root, '--setopt=reposdir=/nonexistent', `--repofrompath=big,file://${repo}`,
        '--setopt=big.gpgcheck=0', '--setopt=big.skip_md_filelists=1', 'install', '--assumeno', 'kde-full'], { allowFailure: true });
      const secs = (performance.now() - t0) / 1000;
      const text = out.stdout.toString() + out.stderr.toString();
      const m = /Install\s+(\d+) Packages?/.exec(text);
      rows.push({ case: 'install kde-full (end to end)', tool: 'dnf', seconds: secs, rssMB: Number.NaN, note: m ? `${m[1]} packages` : 'no summary' });
    } catch (e) {
      ctx.log(`dnf: ${String(e)}`);
    }
    const ours = rows.find((r) => r.case === 'install kde-full (load XML + solve)');
    const dnf = rows.find((r) => r.tool === 'dnf');
    if (ours && dnf) ours.note = `dnf/ours ${(dnf.seconds / ours.seconds).toFixed(1)}×`;
    return rows;
  },
};
