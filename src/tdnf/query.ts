/**
 * Package selection as tdnf asks libsolv for it (selection_make with NAME | PROVIDES | GLOB |
 * CANON | DOTARCH | REL, plus FILELIST for provides): a spec is tried as a file path, a name or
 * name glob, a provide, `name.arch`, `name op evr`, and `name-version[-release][.arch]`, the
 * first kind that matches anything wins. Works over the installed set and the repositories'
 * pools alike; a package is a (repository, index) pair.
 */
import { type Dep, RPMSENSE, RPMSENSE_SENSEMASK, evrRangesOverlap } from '../rpm/deps.ts';
import { type Evr, comparePackageEvr, parseEvr, rpmvercmp } from '../rpm/version.ts';
import type { PackagePool } from '../repo/pool.ts';
import { isGlob, nameMatcher } from '../util/glob.ts';

/** A package set with the repository it stands for; the installed set is `@System`. */
export interface Repo {
  id: string;
  name: string;
  pool: PackagePool;
  installed: boolean;
  /** 1 for packages hidden by excludes: no query or listing sees them. */
  excluded?: Uint8Array;
}

export interface Pkg {
  repo: Repo;
  p: number;
}

export interface Sack {
  installed: Repo;
  /** Enabled repositories, in configuration order. */
  available: Repo[];
}

export function allRepos(sack: Sack): Repo[] {
  return [sack.installed, ...sack.available];
}

export function packagesOf(repos: readonly Repo[]): Pkg[] {
  const out: Pkg[] = [];
  for (const repo of repos) {
    const ex = repo.excluded;
    for (let p = 0; p < repo.pool.count; p++) if (!ex || !ex[p]) out.push({ repo, p });
  }
  return out;
}

// --- accessors ------------------------------------------------------------------------------

export const nameOf = (k: Pkg): string => k.repo.pool.str(k.repo.pool.name(k.p));
export const archOf = (k: Pkg): string => k.repo.pool.str(k.repo.pool.arch(k.p));
export const versionOf = (k: Pkg): string => k.repo.pool.str(k.repo.pool.version(k.p));
export const releaseOf = (k: Pkg): string => k.repo.pool.str(k.repo.pool.release(k.p));
export const epochOf = (k: Pkg): string => k.repo.pool.str(k.repo.pool.epoch(k.p)) || '0';
/** `[epoch:]version-release`, epoch left out when 0. */
export const evrOf = (k: Pkg): string => k.repo.pool.str(k.repo.pool.evr(k.p));
/** `name-version-release.arch` as tdnf prints it (no epoch). */
export const nvraOf = (k: Pkg): string => `${nameOf(k)}-${versionOf(k)}-${releaseOf(k)}.${archOf(k)}`;

function evrParts(k: Pkg): Evr {
  return { epoch: epochOf(k), version: versionOf(k), release: releaseOf(k) };
}

/** Orders by EVR only. */
export function compareEvrOf(a: Pkg, b: Pkg): number {
  if (a.repo.pool === b.repo.pool && a.repo.pool.evr(a.p) === b.repo.pool.evr(b.p)) return 0;
  return comparePackageEvr(evrParts(a), evrParts(b));
}

export function sameNevra(a: Pkg, b: Pkg): boolean {
  return nameOf(a) === nameOf(b) && archOf(a) === archOf(b) && compareEvrOf(a, b) === 0;
}

/** The dependencies of `kind` (DEP.*) of k as objects. */
export function depsOf(k: Pkg, kind: number): Dep[] {
  return Array.from(k.repo.pool.deps(k.p, kind), (d) => k.repo.pool.dep(d));
}

// --- matching -------------------------------------------------------------------------------

/** Packages of `pool` whose name matches an exclude (name or glob), as tdnf hides them; undefined when none. */
export function excludeMask(pool: PackagePool, excludes: readonly string[]): Uint8Array | undefined {
  if (!excludes.length) return undefined;
  const tests = excludes.map(nameMatcher);
  const mask = new Uint8Array(pool.count);
  let any = false;
  for (let p = 0; p < pool.count; p++) {
    const name = pool.str(pool.name(p));
    if (tests.some((t) => t(name))) {
      mask[p] = 1;
      any = true;
    }
  }
  return any ? mask : undefined;
}


/** Whether a provide satisfies `want` (same name, ranges overlap), as libsolv's pool_match_dep. */
export function depMatches(have: Dep, want: Dep): boolean {
  if (have.name !== want.name) return false;
  if (!(have.flags & RPMSENSE_SENSEMASK) || !(want.flags & RPMSENSE_SENSEMASK)) return true;
  if (!have.evr || !want.evr) return true;
  return evrRangesOverlap(have.evr, have.flags, want.evr, want.flags);
}

const OPS: Record<string, number> = {
  '=': RPMSENSE.EQUAL, '==': RPMSENSE.EQUAL, '<': RPMSENSE.LESS, '>': RPMSENSE.GREATER,
  '<=': RPMSENSE.LESS | RPMSENSE.EQUAL, '=<': RPMSENSE.LESS | RPMSENSE.EQUAL,
  '>=': RPMSENSE.GREATER | RPMSENSE.EQUAL, '=>': RPMSENSE.GREATER | RPMSENSE.EQUAL,
};

/** `name`, `name op evr`, `name op evr` without spaces (`foo>=1`); undefined for a bad operator. */
export function parseDepSpec(spec: string): Dep | undefined {
  const m = /^\s*([^\s<>=]+)\s*(?:([<>=]{1,2})\s*(\S+))?\s*$/.exec(spec);
  if (!m) return undefined;
  if (!m[2]) return { name: m[1]!, flags: 0, evr: '' };
  const flags = OPS[m[2]];
  return flags === undefined ? undefined : { name: m[1]!, flags, evr: m[3]! };
}

/** Packages in `pkgs` with a provide matching `want` (name may be a glob when unversioned). */
export function whatProvides(pkgs: readonly Pkg[], want: Dep): Pkg[] {
  const out: Pkg[] = [];
  const glob = !want.flags && isGlob(want.name);
  const m = glob ? nameMatcher(want.name) : undefined;
  for (const k of pkgs) {
    const pool = k.repo.pool;
    for (const d of pool.deps(k.p, 0)) {
      const name = pool.str(pool.depName(d));
      if (m ? m(name) : depMatches({ name, flags: pool.depFlags(d), evr: pool.str(pool.depEvr(d)) }, want)) {
        out.push(k);
        break;
      }
    }
  }
  return out;
}

/** Packages in `pkgs` owning a file matching `path` (a glob allowed). */
export function whatOwnsFile(pkgs: readonly Pkg[], path: string): Pkg[] {
  const m = nameMatcher(path);
  const exactId = isGlob(path) ? undefined : new Map<PackagePool, number>();
  const out: Pkg[] = [];
  for (const k of pkgs) {
    const pool = k.repo.pool;
    let want = -2;
    if (exactId) {
      want = exactId.get(pool) ?? pool.lookup(path);
      exactId.set(pool, want);
      if (want < 0) continue;
    }
    for (const f of pool.filePaths(k.p)) {
      if (exactId ? f === want : m(pool.str(f))) {
        out.push(k);
        break;
      }
    }
  }
  return out;
}

/** Packages whose dependencies of `kind` match `want` (whatrequires, whatconflicts, …). */
export function whatDepends(pkgs: readonly Pkg[], kinds: readonly number[], want: Dep): Pkg[] {
  return pkgs.filter((k) => {
    const pool = k.repo.pool;
    for (const kind of kinds) {
      for (const d of pool.deps(k.p, kind)) {
        const have = { name: pool.str(pool.depName(d)), flags: pool.depFlags(d), evr: pool.str(pool.depEvr(d)) };
        // Here the package's dependency is the range and `want` the capability asked about.
        if (depMatches(want, have)) return true;
      }
    }
    return false;
  });
}

export interface SelectOptions {
  /** Also match file paths (provides/whatprovides). */
  files?: boolean;
  /** Also match provides (list/info/install do, as tdnf). */
  provides?: boolean;
}

function byName(pkgs: readonly Pkg[], pattern: string): Pkg[] {
  const m = nameMatcher(pattern);
  return pkgs.filter((k) => m(nameOf(k)));
}

/** The packages of `pkgs` that `spec` selects, in `pkgs` order; [] when none. */
export function selectSpec(pkgs: readonly Pkg[], spec: string, options: SelectOptions = {}): Pkg[] {
  const provides = options.provides ?? true;
  if (spec.startsWith('/') && options.files) {
    const owners = whatOwnsFile(pkgs, spec);
    if (owners.length) return owners;
  }
  // name op evr
  if (/[<>=]/.test(spec)) {
    const dep = parseDepSpec(spec);
    if (!dep) return [];
    const named = dep.flags ? pkgs.filter((k) => nameOf(k) === dep.name && depMatches({ name: dep.name, flags: RPMSENSE.EQUAL, evr: evrOf(k) }, dep)) : [];
    if (named.length) return named;
    return provides ? whatProvides(pkgs, dep) : [];
  }
  let found = byName(pkgs, spec);
  if (found.length) return found;
  if (provides) {
    found = whatProvides(pkgs, { name: spec, flags: 0, evr: '' });
    if (found.length) return found;
  }
  // name.arch
  const dot = spec.lastIndexOf('.');
  if (dot > 0) {
    const archM = nameMatcher(spec.slice(dot + 1));
    found = byName(pkgs, spec.slice(0, dot)).filter((k) => archM(archOf(k)));
    if (found.length) return found;
  }
  // name-version-release[.arch], then name-version[.arch]
  for (const s of dot > 0 ? [spec, spec.slice(0, dot)] : [spec]) {
    const arch = s === spec ? undefined : spec.slice(dot + 1);
    const d1 = s.lastIndexOf('-');
    if (d1 <= 0) continue;
    const d2 = s.lastIndexOf('-', d1 - 1);
    const tries: [string, string, string | undefined][] = [];
    if (d2 > 0) tries.push([s.slice(0, d2), s.slice(d2 + 1, d1), s.slice(d1 + 1)]);
    tries.push([s.slice(0, d1), s.slice(d1 + 1), undefined]);
    for (const [name, ver, rel] of tries) {
      const evr = parseEvr(rel === undefined ? ver : `${ver}-${rel}`);
      found = byName(pkgs, name).filter((k) => {
        if (arch !== undefined && !nameMatcher(arch)(archOf(k))) return false;
        if (evr.epoch && evr.epoch !== epochOf(k)) return false;
        if (rpmvercmp(evr.version, versionOf(k)) !== 0) return false;
        return evr.release === '' || rpmvercmp(evr.release, releaseOf(k)) === 0;
      });
      if (found.length) return found;
    }
  }
  return [];
}

/** The union of what each spec selects, each package once, in `pkgs` order. */
export function selectSpecs(pkgs: readonly Pkg[], specs: readonly string[], options: SelectOptions = {}): Pkg[] {
  if (!specs.length) return [...pkgs];
  const chosen = new Set<Pkg>();
  for (const s of specs) for (const k of selectSpec(pkgs, s, options)) chosen.add(k);
  return pkgs.filter((k) => chosen.has(k));
}

/** The newest of each name.arch (first seen wins a tie), in the order first seen. */
export function latestPerNameArch(pkgs: readonly Pkg[]): Pkg[] {
  const best = new Map<string, Pkg>();
  for (const k of pkgs) {
    const key = `${nameOf(k)}.${archOf(k)}`;
    const cur = best.get(key);
    if (!cur || compareEvrOf(k, cur) > 0) best.set(key, k);
  }
  return [...best.values()];
}

// --- scopes ---------------------------------------------------------------------------------

export const SCOPES = ['all', 'installed', 'available', 'extras', 'obsoletes', 'recent', 'upgrades', 'updates', 'downgrades'] as const;
export type Scope = (typeof SCOPES)[number];

/** Installed packages with no package of the same NEVRA in any repository. */
export function extras(sack: Sack): Pkg[] {
  const avail = new Set(packagesOf(sack.available).map((k) => `${nameOf(k)}-${evrOf(k)}.${archOf(k)}`));
  return packagesOf([sack.installed]).filter((k) => !avail.has(`${nameOf(k)}-${evrOf(k)}.${archOf(k)}`));
}

/** Available packages newer (up) or older than an installed package of the same name. */
export function upDownCandidates(sack: Sack, up: boolean, installed: readonly Pkg[] = packagesOf([sack.installed])): Pkg[] {
  const byNameInst = new Map<string, Pkg[]>();
  for (const k of installed) {
    const list = byNameInst.get(nameOf(k)) ?? [];
    list.push(k);
    byNameInst.set(nameOf(k), list);
  }
  return packagesOf(sack.available).filter((k) => {
    const inst = byNameInst.get(nameOf(k));
    if (!inst) return false;
    return inst.some((i) => (up ? compareEvrOf(k, i) > 0 : compareEvrOf(k, i) < 0));
  });
}

/** Available packages that obsolete an installed package. */
export function obsoleters(sack: Sack): Pkg[] {
  const inst = packagesOf([sack.installed]);
  return packagesOf(sack.available).filter((k) =>
    depsOf(k, 3).some((ob) => inst.some((i) => depMatches({ name: nameOf(i), flags: RPMSENSE.EQUAL, evr: evrOf(i) }, ob))));
}

const RECENT_DAYS = 7;

/** The packages of `scope`; `now` (seconds) for `recent`. */
export function scopePackages(sack: Sack, scope: Scope, now = Date.now() / 1000): Pkg[] {
  switch (scope) {
    case 'all':
      return packagesOf(allRepos(sack));
    case 'installed':
      return packagesOf([sack.installed]);
    case 'available':
      return packagesOf(sack.available);
    case 'extras':
      return extras(sack);
    case 'obsoletes':
      return obsoleters(sack);
    case 'recent':
      return packagesOf(sack.available).filter((k) => k.repo.pool.timeBuild(k.p) > now - RECENT_DAYS * 86400);
    case 'upgrades':
    case 'updates':
      return upDownCandidates(sack, true);
    case 'downgrades':
      return upDownCandidates(sack, false);
  }
}
