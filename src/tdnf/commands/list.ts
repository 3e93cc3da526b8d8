/** `tdnf list` and the package records list/info/check-update return. */
import { TDNF, TdnfError } from '../errors.ts';
import {
  type Pkg, type Sack, type Scope, SCOPES, archOf, compareEvrOf, epochOf, nameOf, releaseOf, scopePackages,
  selectSpecs, versionOf,
} from '../query.ts';

export interface PkgInfo {
  name: string;
  arch: string;
  epoch: number;
  version: string;
  release: string;
  /** Repository id ('@System' for installed packages). */
  repo: string;
  summary: string;
  description: string;
  url: string;
  license: string;
  installSize: number;
  installed: boolean;
}

export function pkgInfo(k: Pkg): PkgInfo {
  const pool = k.repo.pool;
  const full = pool.package(k.p);
  return {
    name: nameOf(k), arch: archOf(k), epoch: Number.parseInt(epochOf(k), 10) || 0, version: versionOf(k),
    release: releaseOf(k), repo: k.repo.id, summary: full.summary, description: full.description, url: full.url,
    license: full.license, installSize: full.sizeInstalled, installed: k.repo.installed,
  };
}

/** tdnf's order: by name, then arch, then EVR, installed before available on a tie. */
export function sortPkgs(pkgs: Pkg[]): Pkg[] {
  return pkgs.sort((a, b) => {
    const n = nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0;
    if (n) return n;
    const ar = archOf(a) < archOf(b) ? -1 : archOf(a) > archOf(b) ? 1 : 0;
    return ar || compareEvrOf(a, b) || Number(b.repo.installed) - Number(a.repo.installed);
  });
}

/**
 * Splits list/info words into a scope and package specs: the first word may be a scope
 * (`tdnf list installed foo*`), and --installed, --available … select one too.
 */
export function parseScope(words: readonly string[], flags: (name: string) => boolean): { scope: Scope; specs: string[] } {
  let scope: Scope = 'all';
  for (const s of SCOPES) if (flags(s)) scope = s;
  const first = words[0];
  if (first !== undefined && (SCOPES as readonly string[]).includes(first)) {
    return { scope: first as Scope, specs: words.slice(1) };
  }
  return { scope, specs: [...words] };
}

/** The packages of `scope` matching `specs` (all when none); NO_MATCH when specs select nothing. */
export function selectScoped(sack: Sack, scope: Scope, specs: readonly string[]): Pkg[] {
  const pkgs = selectSpecs(scopePackages(sack, scope), specs);
  if (!pkgs.length && specs.length) throw new TdnfError(TDNF.NO_MATCH, 'No matching packages');
  return sortPkgs(pkgs);
}

export function list(sack: Sack, scope: Scope, specs: readonly string[]): PkgInfo[] {
  return selectScoped(sack, scope, specs).map(pkgInfo);
}
