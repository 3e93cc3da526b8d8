/**
 * `tdnf check-local DIR`: the RPMs in DIR must have their dependencies met by each other and the
 * installed packages. Checked by provides lookups (what the solver would find first); the
 * solver's verdict on conflicts is not asked for.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { StringPool } from '../../repo/pool.ts';
import { buildPool } from '../../repo/pool.ts';
import { isRich } from '../../rpm/deps.ts';
import { formatDep } from '../../rpm/deps.ts';
import { readPackageFile } from '../../rpm/package.ts';
import { TDNF, TdnfError } from '../errors.ts';
import { headerToRepoPackage } from '../installed.ts';
import { type Pkg, type Repo, type Sack, depsOf, nvraOf, packagesOf, whatOwnsFile, whatProvides } from '../query.ts';

export interface CheckLocalResult {
  packages: number;
  /** tdnf's problem lines; empty when the check passed. */
  problems: string[];
}

export async function checkLocal(sack: Sack, dir: string | undefined, strings: StringPool): Promise<CheckLocalResult> {
  if (!dir) throw new TdnfError(TDNF.CLI_CHECKLOCAL_EXPECT_DIR, 'check-local requires path to rpm directory as a parameter');
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.rpm')).sort();
  } catch (e) {
    throw new TdnfError(TDNF.FILE_NOT_FOUND, `No such file or directory: ${dir}`, { cause: e });
  }
  const pkgs = [];
  for (const n of names) pkgs.push(headerToRepoPackage((await readPackageFile(join(dir, n))).pkg.header));
  const local: Repo = { id: '@cmdline', name: '@cmdline', pool: buildPool(pkgs, { strings }), installed: false };
  const universe: Pkg[] = [...packagesOf([local]), ...packagesOf([sack.installed])];
  const problems: string[] = [];
  for (const k of packagesOf([local])) {
    for (const req of depsOf(k, 1)) {
      if (req.name.startsWith('rpmlib(') || isRich(req.name)) continue;
      const found = whatProvides(universe, req).length || (req.name.startsWith('/') && whatOwnsFile(universe, req.name).length);
      if (!found) problems.push(`nothing provides ${formatDep(req)} needed by ${nvraOf(k)}`);
    }
  }
  if (problems.length) throw new TdnfError(TDNF.SOLV_FAILED, `Found ${problems.length} problem(s) while resolving\n${problems.map((p, i) => `${i + 1}. ${p}`).join('\n')}`);
  return { packages: pkgs.length, problems };
}
