/**
 * What every command that changes the system opens first, in tdnf's order (TDNFOpenHandle,
 * TDNFRefresh, history sync): the instance lock, the configuration, the rpmdb, the history
 * database brought up to the rpmdb (put off until needed), the enabled repositories' pools,
 * `@cmdline` packages (local or remote `.rpm` arguments), and one solver Universe over all of them, with the maps between
 * the query layer's (repo, index) packages and the Universe's global package numbers.
 */
import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { buildPool, type PackagePool, StringPool } from '../repo/pool.ts';
import { fetchFile } from '../repo/fetch.ts';
import { readPackageFile } from '../rpm/package.ts';
import { DB_FILE, DEFAULT_DBPATH } from '../rpm/rpmdb.ts';
import { Universe } from '../solver/universe.ts';
import type { SolveOptions } from '../solver/types.ts';
import type { TdnfConfig } from './config.ts';
import { type Io, configFromArgs } from './commands/_cli_session.ts';
import { TDNF, TdnfError } from './errors.ts';
import { History } from './history.ts';
import { SYSTEM_REPO, type InstalledSet, headerToRepoPackage, readInstalled } from './installed.ts';
import { INSTANCE_LOCK_FILE, type InstanceLock, acquireInstanceLock } from './lock.ts';
import type { TdnfArgs } from './options.ts';
import { type Pkg, type Repo, type Sack, excludeMask, nameOf } from './query.ts';
import { type LoadedRepo, loadRepos } from './repos.ts';

export type { Io };

export const CMDLINE_REPO = '@cmdline';

export interface AlterSession {
  args: TdnfArgs;
  cfg: TdnfConfig;
  root: string;
  dbpath: string;
  strings: StringPool;
  installed: InstalledSet;
  history: History;
  loaded: LoadedRepo[];
  sack: Sack;
  /** The `@cmdline` repo (RPM files named as arguments), when any. */
  cmdline?: Repo;
  /** Local file of each `@cmdline` package, by pool index. */
  cmdlineFiles: string[];
  universe: Universe;
  /** Global package number of a query package. */
  globalOf(k: Pkg): number;
  /** Query package of a global package number. */
  pkgOf(p: number): Pkg;
  release(): Promise<void>;
}

const isRpmArg = (a: string): boolean => a.endsWith('.rpm');
const isUrl = (a: string): boolean => /^(https?|ftp|file):\/\//.test(a);

/** A mask of repository packages hidden by excludes (name globs). */

export interface OpenOptions {
  /** Leave the installed set out of the Universe (--alldeps: everything the packages need). */
  emptyRoot?: boolean;
  /** Read no repositories (erase, mark, history list). */
  noRepos?: boolean;
  io?: Io;
}

export async function openAlterSession(args: TdnfArgs, opts: OpenOptions = {}): Promise<AlterSession> {
  const cfg = await configFromArgs(args);
  const root = cfg.installroot;
  // The host's lock, as C tdnf takes it whatever --installroot says: inside a fresh root,
  // /var/run must stay free for the filesystem package's /var/run -> ../run link.
  let lock: InstanceLock | undefined = await acquireInstanceLock({
    file: INSTANCE_LOCK_FILE,
    onWait: (m) => opts.io?.stderr(`${m}\n`),
  });
  try {
    const dbpath = DEFAULT_DBPATH;
    // The rpmdb first (its errors first, as tdnf opens it), then the history synced with what
    // it holds — loaded only when the user-installed set needs it or a transaction is recorded
    // (history.ts openForSession): a run that ends before one does not start sql.js for it.
    const rpmdb = await readInstalled(root, { dbpath });
    const rpmdbStamp = stampOf(root, dbpath);
    const history = await History.openForSession(root, cfg.main.persistdir, {
      dbpath, state: rpmdb.state, eager: args.command === 'history',
    });
    const auto = new Set<string>();
    const strings = new StringPool();
    const user = history.userInstalled();
    const loaded = opts.noRepos ? [] : await loadRepos(cfg, strings, { refresh: args.refresh, cacheonly: args.cacheOnly });
    const installed = rpmdb.build(strings);
    for (let p = 0; p < installed.pool.count; p++) {
      const n = installed.pool.str(installed.pool.name(p));
      if (!user.has(n)) auto.add(n);
    }
    const inst: InstalledSet = { ...installed, userInstalled: (p) => !auto.has(installed.pool.str(installed.pool.name(p))) };

    // @cmdline: RPM files (or URLs) among the arguments.
    const cmdlineFiles: string[] = [];
    const rpmArgs = ['install', 'reinstall', 'upgrade', 'downgrade', 'upgrade-to'].includes(args.command ?? '') ? args.args.filter(isRpmArg) : [];
    let cmdlinePool: PackagePool | undefined;
    if (rpmArgs.length) {
      const pkgs = [];
      const dir = join(cfg.cachedir, 'cmdline', 'rpms');
      for (const a of rpmArgs) {
        let file = a;
        if (isUrl(a)) {
          if (a.startsWith('file://')) file = decodeURIComponent(new URL(a).pathname);
          else {
            await mkdir(dir, { recursive: true });
            file = join(dir, basename(new URL(a).pathname));
            await fetchFile([a], file);
          }
        }
        let r;
        try {
          r = await readPackageFile(file);
        } catch (e) {
          throw new TdnfError(TDNF.FILE_NOT_FOUND, `${a}: ${(e as Error).message}`, { cause: e });
        }
        pkgs.push({ ...headerToRepoPackage(r.pkg.header), location: file, sizePackage: r.bytes.length });
        cmdlineFiles.push(file);
      }
      cmdlinePool = buildPool(pkgs, { strings });
    }

    const available: Repo[] = loaded.map((r) => {
      const repo: Repo = { id: r.id, name: r.name, pool: r.pool, installed: false };
      const mask = excludeMask(r.pool, cfg.excludes);
      if (mask) repo.excluded = mask;
      return repo;
    });
    const cmdline: Repo | undefined = cmdlinePool ? { id: CMDLINE_REPO, name: CMDLINE_REPO, pool: cmdlinePool, installed: false } : undefined;
    const sysRepo: Repo = { id: SYSTEM_REPO, name: SYSTEM_REPO, pool: installed.pool, installed: true };
    const sack: Sack = { installed: sysRepo, available: cmdline ? [...available, cmdline] : available };

    const emptyPool = buildPool([], { strings });
    const universe = new Universe({
      strings,
      installed: opts.emptyRoot ? emptyPool : installed.pool,
      repos: loaded.map((r) => ({ id: r.id, pool: r.pool, priority: r.config.priority })),
      ...(cmdlinePool ? { cmdline: cmdlinePool } : {}),
      arch: cfg.arch,
    });
    // Universe order: @System, repos in order, @cmdline — the same order as the sack's.
    const order: Repo[] = [sysRepo, ...available, ...(cmdline ? [cmdline] : [])];
    const offsets = new Map<Repo, number>(order.map((r, i) => [r, universe.pools[i]!.offset]));
    const s: AlterSession = {
      args, cfg, root, dbpath, strings, installed: inst, history, loaded, sack, cmdlineFiles, universe,
      globalOf: (k) => offsets.get(k.repo)! + k.p,
      pkgOf: (p) => {
        const i = universe.poolIndex(p);
        const repo = order[i]!;
        return { repo, p: p - universe.pools[i]!.offset };
      },
      release: async () => {
        // A put-off history sync still owed when the rpmdb changed under this session (an rpm
        // transaction that failed before it was recorded) is run now, from the state at open.
        if (history.deferred && stampOf(root, dbpath) !== rpmdbStamp) await history.syncDeferred().catch(() => undefined);
        history.close();
        await lock?.release();
        lock = undefined;
      },
    };
    if (cmdline) s.cmdline = cmdline;
    return s;
  } catch (e) {
    await lock?.release();
    throw e;
  }
}

/** What identifies the rpmdb's current contents cheaply: its files' size and mtime (WAL included). */
function stampOf(root: string, dbpath: string): string {
  const dir = join(root, dbpath);
  return [DB_FILE, `${DB_FILE}-wal`].map((f) => {
    const st = statSync(join(dir, f), { throwIfNoEntry: false });
    return st ? `${st.ino}:${st.size}:${st.mtimeMs}` : '-';
  }).join(' ');
}

/** The solver's rules from tdnf.conf, the .d folders, history and the command line. */
export function solveOptions(s: AlterSession, extra: Partial<SolveOptions> = {}): SolveOptions {
  const a = s.args;
  const minversions = new Map<string, string>();
  for (const line of s.cfg.minversions) {
    const m = /^\s*([^\s=]+)\s*[= ]\s*(\S+)\s*$/.exec(line);
    if (m) minversions.set(m[1]!, m[2]!);
  }
  const excludes: number[] = [];
  for (const r of s.sack.available) {
    if (!r.excluded) continue;
    for (let p = 0; p < r.pool.count; p++) if (r.excluded[p]) excludes.push(s.globalOf({ repo: r, p }));
  }
  const o: SolveOptions = {
    allowErasing: a.allowErasing,
    best: a.best,
    skipBroken: a.skipBroken,
    // C tdnf reads these from the setopts (TDNFGetSkipProblemOption); the flags set them too.
    skipConflicts: a.skipConflicts || a.setopt.some((o) => !o.repo && o.key.toLowerCase() === 'skipconflicts'),
    skipObsoletes: a.skipObsoletes || a.setopt.some((o) => !o.repo && o.key.toLowerCase() === 'skipobsoletes'),
    installonlyNames: s.cfg.main.installonlyPkgs,
    installonlyLimit: s.cfg.main.installonlyLimit,
    excludes,
    locks: s.cfg.locks,
    minversions,
    protected: [...s.cfg.protected, 'tdnf'],
    userInstalled: [...s.history.userInstalled()],
    cleanRequirementsOnRemove: s.cfg.main.cleanRequirementsOnRemove,
    noAutoremove: a.noAutoremove,
    ...extra,
  };
  return o;
}

export const installedPkgs = (s: AlterSession): Pkg[] => {
  const out: Pkg[] = [];
  for (let p = 0; p < s.sack.installed.pool.count; p++) out.push({ repo: s.sack.installed, p });
  return out;
};

export const namesOf = (pkgs: readonly Pkg[]): Set<string> => new Set(pkgs.map(nameOf));
