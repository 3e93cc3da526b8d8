// tdnf's solver on the bench repository (Debian bookworm as RPM-md): `install kde-full` and
// `install gnome-core` on an empty root, timed solve-only and with the pool load, each result
// checked independently (every requirement of every chosen package has a chosen provider),
// beside dnf's `install --assumeno` end to end (run once: dnf is slow).
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEP, loadPrimaryPool, StringPool } from '../src/repo/pool.ts';
import { isRich } from '../src/rpm/deps.ts';
import { run } from '../src/util/run.ts';
import { solve } from '../src/solver/solver.ts';
import { Universe } from '../src/solver/universe.ts';
import type { Bench, BenchRow } from './run.ts';

const rssMB = (): number => process.memoryUsage().rss / 2 ** 20;

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

export const bench: Bench = {
  name: 'solver',
  async run(ctx) {
    const repo = join(ctx.cacheDir, 'bigrepo');
    const repodata = join(repo, 'repodata');
    const primary = join(repodata, readdirSync(repodata).find((n) => n.includes('primary'))!);
    const rows: BenchRow[] = [];
    for (const name of ['kde-full', 'gnome-core', 'texlive-full']) {
      const t0 = performance.now();
      const strings = new StringPool();
      const pool = await loadPrimaryPool(primary, { strings });
      const t1 = performance.now();
      const u = new Universe({ strings, repos: [{ id: 'big', pool }] });
      const r = solve(u, [{ kind: 'install', packages: u.byName(strings.lookup(name)) }]);
      const t2 = performance.now();
      // Warm: a second solve on a fresh Universe over the same pool.
      const u2 = new Universe({ strings, repos: [{ id: 'big', pool }] });
      const t3 = performance.now();
      solve(u2, [{ kind: 'install', packages: u2.byName(strings.lookup(name)) }]);
      const t4 = performance.now();
      const note = r.problems.length
        ? r.problems[0]!
        : `${r.install.length} packages, ${unsatisfied(u, new Set(r.install))} unsatisfied requires`;
      rows.push({ case: `install ${name} (solve)`, tool: 'photon-ts', seconds: (t2 - t1) / 1000, rssMB: rssMB(), note });
      rows.push({ case: `install ${name} (solve, warm)`, tool: 'photon-ts', seconds: (t4 - t3) / 1000, rssMB: rssMB() });
      rows.push({ case: `install ${name} (load + solve)`, tool: 'photon-ts', seconds: (t2 - t0) / 1000, rssMB: rssMB() });
    }
    try {
      const root = mkdtempSync(join(tmpdir(), 'dnf-root-'));
      const t0 = performance.now();
      const out = await run('dnf', ['--installroot', root, '--setopt=reposdir=/nonexistent', `--repofrompath=big,file://${repo}`,
        '--setopt=big.gpgcheck=0', '--setopt=big.skip_md_filelists=1', 'install', '--assumeno', 'kde-full'], { allowFailure: true })
      const secs = (performance.now() - t0) / 1000;
      const text = out.stdout.toString() + out.stderr.toString();
      const m = /Install\s+(\d+) Packages?/.exec(text);
      rows.push({ case: 'install kde-full (end to end)', tool: 'dnf', seconds: secs, rssMB: Number.NaN, note: m ? `${m[1]} packages` : 'no summary' });
    } catch (e) {
      ctx.log(`dnf: ${String(e)}`);
    }
    const ours = rows.find((r) => r.case === 'install kde-full (load + solve)');
    const dnf = rows.find((r) => r.tool === 'dnf');
    if (ours && dnf) ours.note = `dnf/ours ${(dnf.seconds / ours.seconds).toFixed(1)}×`;
    return rows;
  },
};
