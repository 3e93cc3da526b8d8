/** `tdnf list` and the package records list/info/check-update return. */
import { F, NI } from '../../repo/_scan_primary.ts';
import { poolData } from '../../repo/pool.ts';
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

/**
 * A PkgInfo read straight from the pool's columns, not pool.package(), which would build every
 * dependency and file of 63,000 packages for `list available`; the long texts are decoded when
 * read (info and JSON read them, the list table does not), by getters on the prototype rather
 * than closures per package. toJSON gives the plain record.
 */
class PoolPkgInfo implements PkgInfo {
  readonly name: string;
  readonly arch: string;
  readonly epoch: number;
  readonly version: string;
  readonly release: string;
  readonly repo: string;
  readonly installSize: number;
  readonly installed: boolean;
  private readonly k: Pkg;

  constructor(k: Pkg) {
    this.k = k;
    this.name = nameOf(k);
    this.arch = archOf(k);
    this.epoch = Number.parseInt(epochOf(k), 10) || 0;
    this.version = versionOf(k);
    this.release = releaseOf(k);
    this.repo = k.repo.id;
    this.installSize = k.repo.pool.sizeInstalled(k.p);
    this.installed = k.repo.installed;
  }

  private text(f: number): string {
    const pool = this.k.repo.pool;
    return pool.str(poolData(pool).ints[this.k.p * NI + f]!);
  }
  get summary(): string {
    return this.text(F.SUMMARY);
  }
  get description(): string {
    return this.text(F.DESCRIPTION);
  }
  get url(): string {
    return this.text(F.URL);
  }
  get license(): string {
    return this.text(F.LICENSE);
  }

  toJSON(): PkgInfo {
    return {
      name: this.name, arch: this.arch, epoch: this.epoch, version: this.version, release: this.release, repo: this.repo,
      summary: this.summary, description: this.description, url: this.url, license: this.license,
      installSize: this.installSize, installed: this.installed,
    };
  }
}

export function pkgInfo(k: Pkg): PkgInfo {
  return new PoolPkgInfo(k);
}

/** tdnf's order: by name, then arch, then EVR, installed before available on a tie. */
export function sortPkgs(pkgs: Pkg[]): Pkg[] {
  // Names and arches decoded once per package, not once per comparison.
  const keyed = pkgs.map((k) => ({ k, n: nameOf(k), a: archOf(k) }));
  keyed.sort((x, y) => {
    const n = x.n < y.n ? -1 : x.n > y.n ? 1 : 0;
    if (n) return n;
    const ar = x.a < y.a ? -1 : x.a > y.a ? 1 : 0;
    return ar || compareEvrOf(x.k, y.k) || Number(y.k.repo.installed) - Number(x.k.repo.installed);
  });
  for (let i = 0; i < keyed.length; i++) pkgs[i] = keyed[i]!.k;
  return pkgs;
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
