/**
 * `tdnf repoquery`: selection options (--available, --installed, --extras, --duplicates,
 * --upgrades, --userinstalled, --file, --arch, --what*) narrow the installed and available
 * packages; one output option (--provides, --requires, --list, --changelogs, --source, --qf …)
 * says what to print of them.
 */
import { DEP } from '../../repo/pool.ts';
import { RPMSENSE, formatDep } from '../../rpm/deps.ts';
import { TDNF, TdnfError } from '../errors.ts';
import {
  type Pkg, type Sack, allRepos, archOf, depsOf, extras, nameOf, nvraOf, packagesOf,
  parseDepSpec, releaseOf, selectSpecs, upDownCandidates, versionOf, whatDepends, whatOwnsFile, whatProvides,
} from '../query.ts';
import { sortPkgs } from './list.ts';

/** Output dependency kinds in tdnf's REPOQUERY_DEP_KEY order, with their JSON keys. */
export const DEP_OUTPUTS = {
  provides: { key: 'Provides', kinds: [DEP.PROVIDES] },
  obsoletes: { key: 'Obsoletes', kinds: [DEP.OBSOLETES] },
  conflicts: { key: 'Conflicts', kinds: [DEP.CONFLICTS] },
  requires: { key: 'Requires', kinds: [DEP.REQUIRES] },
  recommends: { key: 'Recommends', kinds: [DEP.RECOMMENDS] },
  suggests: { key: 'Suggests', kinds: [DEP.SUGGESTS] },
  supplements: { key: 'Supplements', kinds: [DEP.SUPPLEMENTS] },
  enhances: { key: 'Enhances', kinds: [DEP.ENHANCES] },
  depends: { key: 'Depends', kinds: [DEP.REQUIRES, DEP.RECOMMENDS, DEP.SUGGESTS, DEP.SUPPLEMENTS, DEP.ENHANCES] },
  'requires-pre': { key: 'RequiresPre', kinds: [DEP.REQUIRES] },
} as const;
export type DepOutput = keyof typeof DEP_OUTPUTS;

const WHAT = {
  whatprovides: [DEP.PROVIDES], whatobsoletes: [DEP.OBSOLETES], whatconflicts: [DEP.CONFLICTS],
  whatrequires: [DEP.REQUIRES], whatrecommends: [DEP.RECOMMENDS], whatsuggests: [DEP.SUGGESTS],
  whatsupplements: [DEP.SUPPLEMENTS], whatenhances: [DEP.ENHANCES],
  whatdepends: [DEP.REQUIRES, DEP.RECOMMENDS, DEP.SUGGESTS, DEP.SUPPLEMENTS, DEP.ENHANCES],
} as const;
export type WhatKey = keyof typeof WHAT;

export interface RepoqueryOptions {
  specs: string[];
  available?: boolean;
  installed?: boolean;
  extras?: boolean;
  duplicates?: boolean;
  upgrades?: boolean;
  userinstalled?: boolean;
  /** Installed-set user marks (InstalledSet.userInstalled). */
  isUserInstalled?: (p: number) => boolean;
  file?: string[];
  arch?: string[];
  what?: Partial<Record<WhatKey, string[]>>;
  deps?: DepOutput;
  list?: boolean;
  changelogs?: boolean;
  source?: boolean;
  location?: boolean;
  queryformat?: string;
  /** Changelog of a package (installed ones have headers; repositories need other.xml). */
  changelogOf?: (k: Pkg) => ChangelogEntry[];
}

export interface ChangelogEntry {
  /** Seconds since the epoch. */
  time: number;
  author: string;
  text: string;
}

export interface RepoqueryPkg {
  nevra: string;
  name: string;
  arch: string;
  evr: string;
  repo: string;
  files?: string[];
  deps?: string[];
  changelogs?: ChangelogEntry[];
  source?: string;
  /** --qf or --location text. */
  formatted?: string;
}

export interface RepoqueryResult {
  packages: RepoqueryPkg[];
  /** JSON key of `deps` (Provides, Requires …) when a dependency output was asked for. */
  depKey?: string;
}

function depText(k: Pkg, kinds: readonly number[], preOnly: boolean): string[] {
  const out: string[] = [];
  for (const kind of kinds) {
    for (const d of depsOf(k, kind)) {
      if (preOnly && !(d.flags & RPMSENSE.PREREQ)) continue;
      out.push(formatDep(d));
    }
  }
  return out;
}

const QF_TAGS: Record<string, (k: Pkg) => string> = {
  name: nameOf, arch: archOf, evr: (k) => `${versionOf(k)}-${releaseOf(k)}`, version: versionOf, release: releaseOf,
  epoch: (k) => k.repo.pool.str(k.repo.pool.epoch(k.p)) || '0', nevra: nvraOf, repoid: (k) => k.repo.id,
  reponame: (k) => k.repo.name, summary: (k) => k.repo.pool.str(k.repo.pool.summary(k.p)),
  description: (k) => k.repo.pool.package(k.p).description, url: (k) => k.repo.pool.package(k.p).url,
  license: (k) => k.repo.pool.package(k.p).license, sourcerpm: (k) => k.repo.pool.package(k.p).sourcerpm,
  packager: (k) => k.repo.pool.package(k.p).packager, vendor: (k) => k.repo.pool.package(k.p).vendor,
  location: (k) => k.repo.pool.str(k.repo.pool.location(k.p)),
  installsize: (k) => String(k.repo.pool.sizeInstalled(k.p)), downloadsize: (k) => String(k.repo.pool.sizePackage(k.p)),
  size: (k) => String(k.repo.pool.sizeInstalled(k.p)), buildtime: (k) => String(k.repo.pool.timeBuild(k.p)),
};

/** Expands `%{tag}` (and `%%`, `\n`, `\t`) of a --qf format; unknown tags are an error. */
export function queryFormat(format: string, k: Pkg): string {
  return format.replace(/%%|%\{(\w+)\}|\\n|\\t/g, (m, tag: string | undefined) => {
    if (m === '%%') return '%';
    if (m === '\\n') return '\n';
    if (m === '\\t') return '\t';
    const f = QF_TAGS[tag!.toLowerCase()];
    if (!f) throw new TdnfError(TDNF.CLI_INVALID_ARGUMENT, `Invalid argument: unknown query tag %{${tag}}`);
    return f(k);
  });
}

export function repoquery(sack: Sack, o: RepoqueryOptions): RepoqueryResult {
  let pkgs: Pkg[];
  if (o.installed || o.userinstalled || o.duplicates) pkgs = packagesOf([sack.installed]);
  else if (o.available) pkgs = packagesOf(sack.available);
  else pkgs = packagesOf(allRepos(sack));
  if (o.extras) {
    const ex = new Set(extras(sack).map((k) => k.p));
    pkgs = pkgs.filter((k) => k.repo.installed && ex.has(k.p));
  }
  if (o.upgrades) {
    // Pkg objects are made per call: compare by repository and index.
    const ups = new Set(upDownCandidates(sack, true).map((k) => `${k.repo.id}\0${k.p}`));
    pkgs = pkgs.filter((k) => ups.has(`${k.repo.id}\0${k.p}`));
  }
  if (o.userinstalled) {
    const mark = o.isUserInstalled;
    pkgs = pkgs.filter((k) => !mark || mark(k.p));
  }
  if (o.duplicates) {
    const n = new Map<string, number>();
    for (const k of pkgs) n.set(nameOf(k), (n.get(nameOf(k)) ?? 0) + 1);
    pkgs = pkgs.filter((k) => n.get(nameOf(k))! > 1);
  }
  pkgs = selectSpecs(pkgs, o.specs);
  if (o.arch?.length) {
    const arches = o.arch.flatMap((a) => a.split(',')).filter(Boolean);
    pkgs = pkgs.filter((k) => arches.includes(archOf(k)));
  }
  if (o.file?.length) {
    const owners = new Set<Pkg>();
    for (const f of o.file) for (const k of whatOwnsFile(pkgs, f)) owners.add(k);
    pkgs = pkgs.filter((k) => owners.has(k));
  }
  for (const [key, caps] of Object.entries(o.what ?? {}) as [WhatKey, string[]][]) {
    const hit = new Set<Pkg>();
    for (const cap of caps.flatMap((c) => c.split(',')).filter(Boolean)) {
      const dep = parseDepSpec(cap);
      if (!dep) continue;
      const found = key === 'whatprovides'
        ? [...whatProvides(pkgs, dep), ...(cap.startsWith('/') ? whatOwnsFile(pkgs, cap) : [])]
        : whatDepends(pkgs, WHAT[key], dep);
      for (const k of found) hit.add(k);
    }
    pkgs = pkgs.filter((k) => hit.has(k));
  }
  sortPkgs(pkgs);
  const depOut = o.deps ? DEP_OUTPUTS[o.deps] : undefined;
  const packages = pkgs.map((k): RepoqueryPkg => {
    const r: RepoqueryPkg = {
      nevra: nvraOf(k), name: nameOf(k), arch: archOf(k), evr: `${versionOf(k)}-${releaseOf(k)}`, repo: k.repo.id,
    };
    if (depOut) r.deps = depText(k, depOut.kinds, o.deps === 'requires-pre');
    else if (o.list) r.files = Array.from(k.repo.pool.filePaths(k.p), (id) => k.repo.pool.str(id));
    else if (o.changelogs) r.changelogs = o.changelogOf?.(k) ?? [];
    else if (o.source) r.source = k.repo.pool.package(k.p).sourcerpm;
    else if (o.queryformat !== undefined) r.formatted = queryFormat(o.queryformat, k);
    else if (o.location) r.formatted = k.repo.pool.str(k.repo.pool.location(k.p));
    return r;
  });
  const result: RepoqueryResult = { packages };
  if (depOut) result.depKey = depOut.key;
  return result;
}
