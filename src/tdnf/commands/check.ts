/**
 * `tdnf check`: C tdnf resolves "install every package" (TDNFCheckPackages: `install *` with
 * --assumeno) and prints the solver's problems. Here the same set is examined directly: the
 * installed packages plus, for every name not installed, the newest available package the host
 * can install. In that set:
 *
 * - a requirement nothing (installed or available) provides: `nothing provides R needed by P`;
 * - a conflict with another package of the set: `package P conflicts with C provided by Q`;
 * - an obsolete naming another package of the set (an available package replacing an
 *   installed one is an upgrade, not a problem): `package P obsoletes O provided by Q`.
 *
 * Packages print as libsolv prints them (`name-[epoch:]version-release.arch`); problems go to
 * stderr numbered, then `Found N problem(s) while resolving`, and the command fails with 1301
 * as tdnf does. `--skipconflicts` / `--skipobsoletes` leave those kinds out. Broken installed
 * packages (`rpm -i --nodeps`) are reported too — the point of running check on a system.
 */
import { StringPool } from '../../repo/pool.ts';
import { formatDep, isRich } from '../../rpm/deps.ts';
import { Universe } from '../../solver/universe.ts';
import { TDNF, TdnfError } from '../errors.ts';
import { loadInstalled } from '../installed.ts';
import type { TdnfArgs } from '../options.ts';
import { loadRepos } from '../repos.ts';
import { type Io, configFromArgs, repoLoadOptions } from './_cli_session.ts';

export interface CheckOptions {
  skipConflicts?: boolean;
  skipObsoletes?: boolean;
}

const REQUIRES = 1;
const CONFLICTS = 2;
const OBSOLETES = 3;

/** The problems of the set described above, in tdnf's words: obsoletes, conflicts, then requires. */
export function checkUniverse(u: Universe, o: CheckOptions = {}): string[] {
  // The set: installed packages, and the newest installable of each name not installed.
  const inSet = new Uint8Array(u.count);
  const installedNames = new Set<number>();
  for (let p = 0; p < u.installedEnd; p++) {
    inSet[p] = 1;
    installedNames.add(u.nameOf(p));
  }
  const best = new Map<string, number>();
  for (let p = u.installedEnd; p < u.count; p++) {
    if (!u.archAllowed(p) || installedNames.has(u.nameOf(p))) continue;
    const key = `${u.nameOf(p)}.${u.archOf(p)}`;
    const cur = best.get(key);
    if (cur === undefined || u.compareEvr(p, cur) > 0) best.set(key, p);
  }
  for (const p of best.values()) inSet[p] = 1;

  const obsoletes: string[] = [];
  const conflicts: string[] = [];
  const requires: string[] = [];
  for (let p = 0; p < u.count; p++) {
    if (!inSet[p]) continue;
    const [pool, i] = u.local(p);
    const me = u.nevra(p);
    for (const d of pool.deps(i, REQUIRES)) {
      const name = pool.str(pool.depName(d));
      if (name.startsWith('rpmlib(') || isRich(name)) continue;
      const providers = u.whatProvides(pool.depName(d), pool.depFlags(d), pool.depEvr(d));
      let ok = false;
      for (const q of providers) if (u.archAllowed(q) || q < u.installedEnd) ok = true;
      if (!ok) requires.push(`nothing provides ${formatDep(pool.dep(d))} needed by ${me}`);
    }
    if (!o.skipConflicts) {
      for (const d of pool.deps(i, CONFLICTS)) {
        if (isRich(pool.str(pool.depName(d)))) continue;
        for (const q of u.whatProvides(pool.depName(d), pool.depFlags(d), pool.depEvr(d))) {
          if (q === p || !inSet[q]) continue;
          conflicts.push(`package ${me} conflicts with ${formatDep(pool.dep(d))} provided by ${u.nevra(q)}`);
        }
      }
    }
    if (!o.skipObsoletes) {
      for (const d of pool.deps(i, OBSOLETES)) {
        if (isRich(pool.str(pool.depName(d)))) continue;
        for (const q of u.whatProvides(pool.depName(d), pool.depFlags(d), pool.depEvr(d))) {
          // rpm obsoletes match package names, not other provides.
          if (q === p || !inSet[q] || u.nameOf(q) !== pool.depName(d)) continue;
          if (p >= u.installedEnd && q < u.installedEnd) continue; // an upgrade path
          obsoletes.push(`package ${me} obsoletes ${formatDep(pool.dep(d))} provided by ${u.nevra(q)}`);
        }
      }
    }
  }
  return [...obsoletes, ...conflicts, ...requires];
}

/** The `tdnf check` command (called by src/cli/tdnf.ts). */
export async function main(args: TdnfArgs, io: Io): Promise<number> {
  const cfg = await configFromArgs(args);
  const strings = new StringPool();
  const installed = await loadInstalled(cfg.installroot, { strings });
  const repos = await loadRepos(cfg, strings, repoLoadOptions(args, io));
  const u = new Universe({
    strings, installed: installed.pool, arch: cfg.arch,
    repos: repos.map((r) => ({ id: r.id, pool: r.pool, priority: r.config.priority })),
  });
  const problems = checkUniverse(u, { skipConflicts: args.skipConflicts, skipObsoletes: args.skipObsoletes });
  if (problems.length) {
    io.stderr(problems.map((p, n) => `${n + 1}. ${p}\n`).join('') + `Found ${problems.length} problem(s) while resolving\n`);
    throw new TdnfError(TDNF.SOLV_FAILED, 'Solv general runtime error');
  }
  if (!args.quiet && !args.json) io.stdout('Check completed without issues\n');
  return 0;
}
