/**
 * The rpmdb of an install root as a PackagePool (tdnf's `@System` repository), so that the solver
 * and the queries treat installed packages like any repository's. Unlike primary.xml, which only
 * carries a subset of files, installed packages carry their full file lists: `tdnf provides
 * /usr/lib/x` and file dependencies must see every installed file.
 */
import { type Header, getNumber } from '../formats/rpm-header.ts';
import { type PackagePool, type StringPool, buildPool } from '../repo/pool.ts';
import type { RepoFile, RepoPackage } from '../repo/primary.ts';
import { DEFAULT_DBPATH, type InstalledPackage, openRpmdb } from '../rpm/rpmdb.ts';
import { S_IFDIR, S_IFMT, headerFiles, packageInfo } from '../rpm/package.ts';
import { TAG } from '../rpm/tags.ts';
import { PhotonError } from '../util/errors.ts';
import { TDNF, TdnfError } from './errors.ts';
import { type RpmdbState, rpmNevra, rpmdbCookie } from './history.ts';

/** Repository id tdnf shows for installed packages. */
export const SYSTEM_REPO = '@System';

const RPMFILE_GHOST = 64;

export interface InstalledSet {
  pool: PackagePool;
  /** Header of pool package p (for changelogs, scripts, anything primary-style data lacks). */
  headers: Header[];
  /** rpmdb header numbers, by pool package. */
  hnums: number[];
  /** INSTALLTIME of pool package p (seconds). */
  installTime: number[];
  /** Whether the user asked for pool package p (not pulled in as a dependency). */
  userInstalled(p: number): boolean;
}

export interface LoadInstalledOptions {
  strings?: StringPool;
  dbpath?: string;
  /**
   * Names of packages installed as dependencies (tdnf's history marks them). Everything else
   * counts as user-installed, which is what tdnf assumes without history.
   */
  autoInstalled?: ReadonlySet<string>;
}

/** A header as the RepoPackage primary.xml would have described it, with every file. */
export function headerToRepoPackage(h: Header): RepoPackage {
  const info = packageInfo(h);
  const files: RepoFile[] = headerFiles(h).map((f) => ({
    path: f.path,
    type: f.flags & RPMFILE_GHOST ? 'ghost' : (f.mode & S_IFMT) === S_IFDIR ? 'dir' : 'file',
  }));
  return {
    name: info.name, arch: info.arch, epoch: info.epoch === undefined ? '0' : String(info.epoch),
    version: info.version, release: info.release, pkgid: '', checksumType: '',
    summary: info.summary, description: info.description, packager: info.packager, url: info.url,
    timeFile: getNumber(h, TAG.INSTALLTIME) ?? 0, timeBuild: info.buildTime,
    sizePackage: 0, sizeInstalled: info.size, sizeArchive: 0, location: '',
    license: info.license, vendor: info.vendor, group: info.group, buildhost: info.buildHost,
    sourcerpm: info.sourceRpm, headerStart: 0, headerEnd: 0,
    provides: info.provides, requires: info.requires, conflicts: info.conflicts, obsoletes: info.obsoletes,
    recommends: info.recommends, suggests: info.suggests, supplements: info.supplements, enhances: info.enhances,
    files,
  };
}

/**
 * Reads `<root><dbpath>` into an InstalledSet. A root without an rpmdb has nothing installed
 * (tdnf on a fresh --installroot); gpg-pubkey pseudo-packages are left out as libsolv leaves them.
 */
export async function loadInstalled(root: string, options: LoadInstalledOptions = {}): Promise<InstalledSet> {
  return (await readInstalled(root, options)).build(options.strings);
}

/** The rpmdb read, its pool not built yet: `build` interns it (after the repos, see repos.ts). */
export interface InstalledRead {
  /** The rpmdb's NEVRAs (gpg-pubkey included) and cookie, for history.ts. */
  state: RpmdbState;
  build(strings?: StringPool): InstalledSet;
}

/**
 * loadInstalled in two steps, so that a caller can read the rpmdb first (its errors first, as
 * tdnf opens it) yet intern the installed set after the repositories: the first repository's
 * pool cache adopts an empty StringPool without interning anything (pool-cache.ts).
 */
export async function readInstalled(root: string, options: Omit<LoadInstalledOptions, 'strings'> = {}): Promise<InstalledRead> {
  const packages: RepoPackage[] = [];
  const headers: Header[] = [];
  const hnums: number[] = [];
  const installTime: number[] = [];
  const all: InstalledPackage[] = [];
  let db;
  try {
    db = await openRpmdb(root, { dbpath: options.dbpath ?? DEFAULT_DBPATH, readonly: true });
  } catch (e) {
    if (e instanceof PhotonError && e.code === 'E_RPMDB_MISSING') db = undefined;
    else if (e instanceof PhotonError) throw new TdnfError(TDNF.RPMTS_OPENDB_FAILED, `Failed to open rpm database: ${e.message}`, { cause: e });
    else throw e;
  }
  if (db) {
    try {
      for (const ip of db.packages()) {
        all.push(ip);
        if (ip.name === 'gpg-pubkey') continue;
        const pkg = headerToRepoPackage(ip.header);
        packages.push(pkg);
        headers.push(ip.header);
        hnums.push(ip.hnum);
        installTime.push(pkg.timeFile);
      }
    } finally {
      db.close();
    }
  }
  return {
    state: { nevras: all.map(rpmNevra), cookie: rpmdbCookie(all) },
    build: (strings) => {
      const pool = buildPool(packages, strings ? { strings } : {});
      const auto = options.autoInstalled;
      return {
        pool, headers, hnums, installTime,
        userInstalled: (p) => !auto || !auto.has(pool.str(pool.name(p))),
      };
    },
  };
}
