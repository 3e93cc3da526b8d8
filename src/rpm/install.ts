/**
 * Installing and erasing local RPM files in a root, without dependency solving: what
 * `rpm -U --nodeps` / `rpm -e --nodeps` do, in the same order (rpm 4.18 psm.c, fsm.c):
 *
 *   install, per package:  %pre $1=n → write files under temporary names → rename into place
 *                          → %post $1=n → for the version it replaces: %preun $1=n-1,
 *                          remove its files the new one does not have, %postun $1=n-1
 *   erase, per package:    %preun $1=n-1 → remove files no other package owns → %postun
 *   then one rpmdb transaction records everything that completed.
 *
 * Where rpm would write to a path a symlink leads outside the root, through `..` in a payload
 * name, or over another package's different file, the package is refused before anything is
 * written. %config files a user changed are kept: the new one goes to `.rpmnew` for
 * %config(noreplace), the old one to `.rpmsave` otherwise (`.rpmorig` when no package owned it).
 */
import { createHash } from 'node:crypto';
import { mkdir, realpath, rm } from 'node:fs/promises';
import { posix } from 'node:path';
import { type Header, getNumber, getNumbers } from '../formats/rpm-header.ts';
import { PhotonError } from '../util/errors.ts';
import { compareEvr, parseEvr } from './version.ts';
import {
  type PackageFile, type RpmPackage, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, hashName, headerFiles, nevra, packageFiles,
  readPackageFile, verifyDigests,
} from './package.ts';
import { HASHALGO, RPMFILE, TAG } from './tags.ts';
import { type InstalledPackage, type Rpmdb, openRpmdb } from './rpmdb.ts';
import { FILE_STATE, buildInstalledHeader } from './rpmdb-blob.ts';
import {
  IdMap, type Meta, commit, digestOf, ensureDir, linkTemp, removePath, rename, resolveFile, writeTempFile, writeTempSymlink,
} from './_rpmdb_extract.ts';
import { type ScriptName, runScriptlet } from './_rpmdb_scripts.ts';

export interface InstallOptions {
  /** Skip every scriptlet. */
  noscripts?: boolean;
  /** Record in the rpmdb only; touch no files. */
  justdb?: boolean;
  /** Reinstall, downgrade, and overwrite other packages' files. */
  force?: boolean;
  /** Accepted for rpm's command line; dependencies are never checked here. */
  nodeps?: boolean;
  dbpath?: string;
  /** Seconds since the epoch for INSTALLTIME/INSTALLTID (tests); now by default. */
  now?: number;
}

export interface EraseOptions {
  noscripts?: boolean;
  justdb?: boolean;
  /** Erase every installed package a name matches instead of refusing ambiguity. */
  allMatches?: boolean;
  dbpath?: string;
}

export interface TransactionReport {
  installed: string[];
  erased: string[];
  /** Scriptlet failures after the point of no return, saved configs: what rpm prints as warnings. */
  warnings: string[];
}

type Db = Rpmdb;

function fileDigestAlgo(h: Header): string {
  return hashName(getNumber(h, TAG.FILEDIGESTALGO) ?? HASHALGO.MD5);
}

function evrOf(p: InstalledPackage | { epoch: number | undefined; version: string; release: string }): string {
  return `${p.epoch !== undefined ? `${p.epoch}:` : ''}${p.version}-${p.release}`;
}

function pkgEvr(h: Header): { name: string; epoch: number | undefined; version: string; release: string; arch: string } {
  const s = (t: number) => {
    const v = h.entries.get(t);
    return v && v.type === 6 ? v.value : '';
  };
  return { name: s(TAG.NAME), epoch: getNumber(h, TAG.EPOCH), version: s(TAG.VERSION), release: s(TAG.RELEASE), arch: s(TAG.ARCH) };
}

async function script(root: string, h: Header, which: ScriptName, arg: number, opts: { noscripts?: boolean }, warnings: string[], fatal: boolean): Promise<void> {
  if (opts.noscripts) return;
  const r = await runScriptlet(root, h, which, arg, nevra(h));
  if (r.status === undefined || !r.message) return;
  if (r.status !== 0 && fatal) throw new PhotonError('E_SCRIPTLET', r.message);
  warnings.push(r.message);
}

/** Files of an installed header keyed by path, with their recorded state. */
function installedFiles(h: Header): Map<string, ReturnType<typeof headerFiles>[number] & { state: number }> {
  const states = getNumbers(h, TAG.FILESTATES);
  return new Map(headerFiles(h).map((f, i) => [f.path, { ...f, state: states[i] ?? 0 }]));
}

interface Staged {
  tmp: string;
  target: string;
  /** What happens to an existing file at target on commit. */
  existing: 'replace' | 'rpmsave' | 'rpmorig';
}

/**
 * Writes one package's files under temporary names; on any failure removes every temporary
 * file and every directory it made, so the root is as before.
 */
async function stagePackage(
  root: string, pkg: RpmPackage, bytes: Uint8Array, oldFiles: Map<string, { digest: string; algo: string }>, ids: IdMap, warnings: string[],
  skip?: ReadonlySet<string>,
): Promise<{ staged: Staged[]; created: string[]; dirs: Array<{ target: string; path: string; meta: Meta }> }> {
  const staged: Staged[] = [];
  const created: string[] = [];
  const dirs: Array<{ target: string; path: string; meta: Meta }> = [];
  const algo = fileDigestAlgo(pkg.header);
  const linkSets = new Map<number, { tmp?: string; waiting: Array<{ f: PackageFile; target: string }> }>();
  try {
    for await (const f of packageFiles(pkg, bytes)) {
      if (f.flags & RPMFILE.GHOST || skip?.has(f.path)) continue;
      const type = f.mode & S_IFMT;
      const target = await resolveFile(root, f.path, true, created);
      const meta: Meta = { mode: f.mode, uid: ids.uid(f.user), gid: ids.gid(f.group), mtime: f.mtime };
      if (type === S_IFDIR) {
        dirs.push({ target, path: f.path, meta });
        continue;
      }
      if (type === S_IFLNK) {
        staged.push({ tmp: await writeTempSymlink(target, f.linkTo, meta), target, existing: 'replace' });
        continue;
      }
      if (type !== S_IFREG) throw new PhotonError('E_INSTALL_UNSUPPORTED', `${f.path}: device and fifo files are not supported`, { file: pkg.file ?? '' });
      let existing: Staged['existing'] = 'replace';
      let redirect = target;
      if (f.flags & RPMFILE.CONFIG) {
        const onDisk = await digestOf(target, algo);
        const old = oldFiles.get(f.path);
        if (onDisk !== undefined && onDisk !== f.digest) {
          const oldOnDisk = old ? (old.algo === algo ? onDisk : await digestOf(target, old.algo)) : undefined;
          const modified = !old || oldOnDisk !== old.digest;
          if (modified) {
            if (old && old.algo === algo && old.digest === f.digest) continue; // unchanged in the package: keep the user's
            if (f.flags & RPMFILE.NOREPLACE) {
              redirect = `${target}.rpmnew`;
              warnings.push(`${f.path} created as ${f.path}.rpmnew`);
            } else {
              existing = old ? 'rpmsave' : 'rpmorig';
              warnings.push(`${f.path} saved as ${f.path}.${existing}`);
            }
          }
        }
      }
      if (f.data === undefined) {
        if (f.nlink > 1) {
          const set = linkSets.get(f.inode) ?? { waiting: [] };
          set.waiting.push({ f, target: redirect });
          linkSets.set(f.inode, set);
          continue;
        }
        if (f.size !== 0) throw new PhotonError('E_RPM_PAYLOAD', `${f.path}: no content in the payload`, { file: pkg.file ?? '' });
      }
      const data = f.data ?? new Uint8Array(0);
      if (f.digest && createHash(algo).update(data).digest('hex') !== f.digest) {
        throw new PhotonError('E_INSTALL_DIGEST', `${f.path}: content does not match its digest`, { file: pkg.file ?? '' });
      }
      const tmp = await writeTempFile(redirect, data, meta);
      staged.push({ tmp, target: redirect, existing });
      if (f.nlink > 1) {
        const set = linkSets.get(f.inode) ?? { waiting: [] };
        set.tmp = tmp;
        linkSets.set(f.inode, set);
      }
    }
    for (const [, set] of linkSets) {
      for (const w of set.waiting) {
        if (!set.tmp) throw new PhotonError('E_RPM_PAYLOAD', `${w.f.path}: hard link without content`, { file: pkg.file ?? '' });
        staged.push({ tmp: await linkTemp(set.tmp, w.target), target: w.target, existing: 'replace' });
      }
    }
    return { staged, created, dirs };
  } catch (e) {
    for (const s of staged) await rm(s.tmp, { force: true });
    for (const d of created.reverse()) await removePath(d);
    throw e;
  }
}

/** Checks, before anything is written, that every path stays inside the root and clashes with no other package's file. */
async function preflight(root: string, db: Db, pkg: RpmPackage, replacing: Set<number>, force: boolean): Promise<void> {
  const files = headerFiles(pkg.header, pkg.file);
  const cache = new Map<number, ReturnType<typeof installedFiles>>();
  for (const f of files) {
    // Throws for a path whose directory leads outside the root.
    await resolveFile(root, f.path, false);
    if ((f.mode & S_IFMT) === S_IFDIR || f.flags & RPMFILE.GHOST || force) continue;
    for (const owner of db.ownersOf(f.path)) {
      if (replacing.has(owner.hnum)) continue;
      let theirs = cache.get(owner.hnum);
      if (!theirs) cache.set(owner.hnum, (theirs = installedFiles(owner.header)));
      const t = theirs.get(f.path);
      if (!t || (t.mode & S_IFMT) === S_IFDIR) continue;
      if (t.mode !== f.mode || t.digest !== f.digest || t.linkTo !== f.linkTo) {
        throw new PhotonError('E_INSTALL_CONFLICT', `file ${f.path} from install of ${nevra(pkg.header)} conflicts with file from package ${nevra(owner.header)}`, { file: pkg.file ?? '' });
      }
    }
  }
}

/** Removes an installed package's files that `keep` does not list and no other package owns. */
async function removeFiles(root: string, db: Db, h: Header, leaving: Set<number>, keep: Set<string>, warnings: string[]): Promise<void> {
  const algo = fileDigestAlgo(h);
  const files = [...installedFiles(h).values()].sort((a, b) => (a.path < b.path ? 1 : a.path > b.path ? -1 : 0));
  for (const f of files) {
    if (f.state !== 0 || keep.has(f.path)) continue;
    if (db.ownersOf(f.path).some((o) => !leaving.has(o.hnum))) continue;
    let target: string;
    try {
      target = await resolveFile(root, f.path, false);
    } catch {
      warnings.push(`${f.path}: not removed, its directory leads outside the root`);
      continue;
    }
    if (f.flags & RPMFILE.CONFIG && (f.mode & S_IFMT) === S_IFREG) {
      const onDisk = await digestOf(target, algo);
      if (onDisk !== undefined && onDisk !== f.digest) {
        await rename(target, `${target}.rpmsave`);
        warnings.push(`${f.path} saved as ${f.path}.rpmsave`);
        continue;
      }
    }
    await removePath(target);
  }
}

async function openRoot(root: string, dbpath: string | undefined, create: boolean): Promise<{ rootReal: string; db: Db }> {
  if (create) await mkdir(root, { recursive: true });
  const rootReal = await realpath(root);
  const db = await openRpmdb(rootReal, { create, ...(dbpath ? { dbpath } : {}) });
  return { rootReal, db };
}

export async function installPackages(root: string, files: string[], opts: InstallOptions = {}): Promise<TransactionReport> {
  const report: TransactionReport = { installed: [], erased: [], warnings: [] };
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const loaded: Array<{ pkg: RpmPackage; bytes: Uint8Array }> = [];
  for (const f of files) {
    const r = await readPackageFile(f);
    const d = verifyDigests(r.pkg, r.bytes);
    if (d.header === 'bad' || d.payload === 'bad') {
      throw new PhotonError('E_INSTALL_DIGEST', `${d.header === 'bad' ? 'header' : 'payload'} digest mismatch`, { file: f });
    }
    loaded.push(r);
  }
  const { rootReal, db } = await openRoot(root, opts.dbpath, true);
  try {
    // Plan: which installed package each new one replaces, refusing what rpm -U refuses.
    const plan = loaded.map(({ pkg, bytes }) => {
      const evr = pkgEvr(pkg.header);
      const same = db.findByName(evr.name);
      for (const old of same) {
        const cmp = compareEvr(parseEvr(evrOf(evr)), parseEvr(evrOf(old)));
        if (!opts.force && cmp === 0 && old.arch === evr.arch) {
          throw new PhotonError('E_INSTALL_ALREADY', `package ${nevra(old.header)} is already installed`, { file: pkg.file ?? '' });
        }
        if (!opts.force && cmp < 0) {
          throw new PhotonError('E_INSTALL_OLDER', `package ${nevra(old.header)} (which is newer than ${nevra(pkg.header)}) is already installed`, { file: pkg.file ?? '' });
        }
      }
      return { pkg, bytes, replaces: same };
    });
    const replacing = new Set(plan.flatMap((p) => p.replaces.map((o) => o.hnum)));
    if (!opts.justdb) for (const p of plan) await preflight(rootReal, db, p.pkg, replacing, !!opts.force);

    const adds: Uint8Array[] = [];
    const removes: number[] = [];
    let failure: unknown;
    for (const { pkg, bytes, replaces } of plan) {
      try {
        const count = replaces.length + 1;
        await script(rootReal, pkg.header, 'pre', count, opts, report.warnings, true);
        if (!opts.justdb) {
          const ids = await IdMap.load(rootReal); // after %pre, which may have added users
          const oldFiles = new Map<string, { digest: string; algo: string }>();
          for (const o of [...replaces, ...headerFiles(pkg.header).flatMap((f) => (f.flags & RPMFILE.CONFIG ? db.ownersOf(f.path) : []))]) {
            const algo = fileDigestAlgo(o.header);
            for (const [path, f] of installedFiles(o.header)) if (f.flags & RPMFILE.CONFIG) oldFiles.set(path, { digest: f.digest, algo });
          }
          const { staged, dirs } = await stagePackage(rootReal, pkg, bytes, oldFiles, ids, report.warnings);
          for (const d of dirs) await ensureDir(rootReal, d.path, d.target, d.meta);
          for (const s of staged) {
            if (s.existing !== 'replace') await rename(s.target, `${s.target}.${s.existing}`).catch(() => undefined);
            await commit(s.tmp, s.target);
          }
        }
        await script(rootReal, pkg.header, 'post', count, opts, report.warnings, false);
        const keep = new Set(headerFiles(pkg.header).map((f) => f.path));
        for (const old of replaces) {
          await script(rootReal, old.header, 'preun', count - 1, opts, report.warnings, false);
          if (!opts.justdb) await removeFiles(rootReal, db, old.header, new Set([old.hnum]), keep, report.warnings);
          await script(rootReal, old.header, 'postun', count - 1, opts, report.warnings, false);
          removes.push(old.hnum);
          report.erased.push(nevra(old.header));
        }
        adds.push(buildInstalledHeader(pkg, { installTime: now, tid: now }));
        report.installed.push(nevra(pkg.header));
      } catch (e) {
        failure = e;
        break;
      }
    }
    if (adds.length || removes.length) {
      await db.transaction((tx) => {
        for (const h of removes) tx.remove(h);
        for (const b of adds) tx.add(b);
      });
    }
    if (failure) throw failure;
    return report;
  } finally {
    db.close();
  }
}

function matches(p: InstalledPackage, arg: string): boolean {
  const evr = `${p.version}-${p.release}`;
  return arg === p.name || arg === `${p.name}-${evr}` || arg === `${p.name}-${evr}.${p.arch}` || arg === `${p.name}-${evrOf(p)}.${p.arch}` || arg === `${p.name}.${p.arch}`;
}

export async function erasePackages(root: string, names: string[], opts: EraseOptions = {}): Promise<TransactionReport> {
  const report: TransactionReport = { installed: [], erased: [], warnings: [] };
  const { rootReal, db } = await openRoot(root, opts.dbpath, false);
  try {
    const all = [...db.packages()];
    const victims = new Map<number, InstalledPackage>();
    for (const n of names) {
      const found = all.filter((p) => matches(p, n));
      if (!found.length) throw new PhotonError('E_ERASE_NOT_INSTALLED', `package ${n} is not installed`);
      if (found.length > 1 && !opts.allMatches) throw new PhotonError('E_ERASE_AMBIGUOUS', `"${n}" specifies multiple packages: ${found.map((p) => nevra(p.header)).join(', ')}`);
      for (const p of found) victims.set(p.hnum, p);
    }
    const leaving = new Set(victims.keys());
    for (const p of victims.values()) {
      const remaining = all.filter((o) => o.name === p.name && !leaving.has(o.hnum)).length;
      await script(rootReal, p.header, 'preun', remaining, opts, report.warnings, false);
      if (!opts.justdb) await removeFiles(rootReal, db, p.header, leaving, new Set(), report.warnings);
      await script(rootReal, p.header, 'postun', remaining, opts, report.warnings, false);
      report.erased.push(nevra(p.header));
    }
    await db.transaction((tx) => {
      for (const h of leaving) tx.remove(h);
    });
    return report;
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Ordered transactions (tdnf): installs, upgrades and erasures mixed, in an order the caller
// computed (rpm's tsort, src/tdnf/_tx_order.ts), run as rpm 4.18's rpmtsRun does:
//
//   %pretrans of every install → per element in order: install (%pre, files, %post) or erase
//   (%preun, files, %postun) → %posttrans of every install → one rpmdb commit.
//
// An install element whose %pretrans or %pre fails is skipped, and so are the erasures of the
// packages it would have replaced (rpm keeps the old version); the rest of the transaction runs.

export interface TxInstall {
  pkg: RpmPackage;
  bytes: Uint8Array;
  /** hnums of the installed packages this one replaces (upgrade, downgrade, reinstall). */
  replaces: readonly number[];
}

export type TxStep = { kind: 'install'; index: number } | { kind: 'erase'; hnum: number };

export interface TxRunOptions {
  noscripts?: boolean;
  justdb?: boolean;
  /** Check everything (paths, conflicts), change nothing. */
  test?: boolean;
  /** Do not install %doc files (tsflags=nodocs, rpm --excludedocs). */
  nodocs?: boolean;
  dbpath?: string;
  now?: number;
  onStep?: (what: 'pretrans' | 'install' | 'erase' | 'posttrans', nevra: string) => void;
}

export interface TxRunReport extends TransactionReport {
  /** Elements that failed (their %pre or %pretrans), with rpm's message for each. */
  failed: Array<{ nevra: string; message: string }>;
}

/** Files two packages of one transaction would both install with different content: rpm's file conflict check. */
function crossConflicts(installs: readonly TxInstall[]): string[] {
  const seen = new Map<string, { f: ReturnType<typeof headerFiles>[number]; nevra: string }>();
  const out: string[] = [];
  for (const { pkg } of installs) {
    const who = nevra(pkg.header);
    for (const f of headerFiles(pkg.header, pkg.file)) {
      if ((f.mode & S_IFMT) === S_IFDIR || f.flags & RPMFILE.GHOST) continue;
      const other = seen.get(f.path);
      if (!other) {
        seen.set(f.path, { f, nevra: who });
        continue;
      }
      const t = other.f;
      if (t.mode !== f.mode || t.digest !== f.digest || t.linkTo !== f.linkTo) {
        out.push(`file ${f.path} conflicts between attempted installs of ${other.nevra} and ${who}`);
      }
    }
  }
  return out;
}

/** rpm's conflict check against installed packages, collecting every message instead of stopping at the first. */
async function installedConflicts(root: string, db: Db, pkg: RpmPackage, leaving: Set<number>): Promise<string[]> {
  const out: string[] = [];
  try {
    await preflightAll(root, db, pkg, leaving, out);
  } catch (e) {
    if (e instanceof PhotonError) out.push(e.message);
    else throw e;
  }
  return out;
}

async function preflightAll(root: string, db: Db, pkg: RpmPackage, leaving: Set<number>, out: string[]): Promise<void> {
  const files = headerFiles(pkg.header, pkg.file);
  const cache = new Map<number, ReturnType<typeof installedFiles>>();
  for (const f of files) {
    await resolveFile(root, f.path, false);
    if ((f.mode & S_IFMT) === S_IFDIR || f.flags & RPMFILE.GHOST) continue;
    for (const owner of db.ownersOf(f.path)) {
      if (leaving.has(owner.hnum)) continue;
      let theirs = cache.get(owner.hnum);
      if (!theirs) cache.set(owner.hnum, (theirs = installedFiles(owner.header)));
      const t = theirs.get(f.path);
      if (!t || (t.mode & S_IFMT) === S_IFDIR) continue;
      if (t.mode !== f.mode || t.digest !== f.digest || t.linkTo !== f.linkTo) {
        out.push(`file ${f.path} from install of ${nevra(pkg.header)} conflicts with file from package ${nevra(owner.header)}`);
      }
    }
  }
}

/**
 * Runs an ordered mixed transaction in `root`. Throws E_TX_CONFLICT (message: rpm's lines) before
 * anything is changed when files conflict; otherwise commits whatever completed and reports the
 * elements that failed.
 */
export async function applyTransaction(root: string, installs: readonly TxInstall[], order: readonly TxStep[], opts: TxRunOptions = {}): Promise<TxRunReport> {
  const report: TxRunReport = { installed: [], erased: [], warnings: [], failed: [] };
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const { rootReal, db } = await openRoot(root, opts.dbpath, true);
  try {
    const erasing = new Set<number>();
    for (const s of order) if (s.kind === 'erase') erasing.add(s.hnum);
    for (const i of installs) for (const h of i.replaces) erasing.add(h);
    for (const h of erasing) {
      if (!db.get(h)) throw new PhotonError('E_TX_NOT_INSTALLED', `installed package #${h} is gone`);
    }
    if (!opts.justdb) {
      const problems = crossConflicts(installs);
      for (const i of installs) problems.push(...(await installedConflicts(rootReal, db, i.pkg, erasing)));
      if (problems.length) throw new PhotonError('E_TX_CONFLICT', problems.join('\n'));
    }
    if (opts.test) return report;

    // Instance counts as rpm passes them: installs see the count after the install, erasures the
    // count after the erasure, both against the database as it is when the scriptlet runs.
    const countOf = new Map<string, number>();
    for (const p of db.packages()) countOf.set(p.name, (countOf.get(p.name) ?? 0) + 1);
    const nameOf = (h: Header) => getStringTag(h, TAG.NAME);
    const failedInstall = new Set<number>();
    const skipErase = new Set<number>();
    const fail = (idx: number, message: string) => {
      const i = installs[idx]!;
      failedInstall.add(idx);
      for (const h of i.replaces) skipErase.add(h);
      report.failed.push({ nevra: nevra(i.pkg.header), message });
    };
    const scriptOnce = async (h: Header, which: ScriptName, arg: number): Promise<string | undefined> => {
      if (opts.noscripts) return undefined;
      const r = await runScriptlet(rootReal, h, which, arg, nevra(h));
      if (r.status === undefined) return undefined;
      if (r.status !== 0) return r.message ?? `${which} scriptlet failed`;
      if (r.message) report.warnings.push(r.message);
      return undefined;
    };

    const installOrder = order.filter((s): s is { kind: 'install'; index: number } => s.kind === 'install');
    // rpm 4.18 gives %pretrans and %posttrans the same $1: the count once this package is in,
    // as seen before the transaction (1 fresh, 2 upgrade or reinstall).
    const transArg = new Map<number, number>();
    for (const s of installOrder) {
      const h = installs[s.index]!.pkg.header;
      transArg.set(s.index, (countOf.get(nameOf(h)) ?? 0) + 1);
      opts.onStep?.('pretrans', nevra(h));
      const err = await scriptOnce(h, 'pretrans', transArg.get(s.index)!);
      if (err) fail(s.index, err);
    }

    // Paths any new package installs: an erasure in this transaction must leave them.
    const newPaths = new Set<string>();
    for (const i of installs) for (const f of headerFiles(i.pkg.header)) newPaths.add(f.path);
    const adds: Uint8Array[] = [];
    const removes: number[] = [];
    const leaving = new Set<number>();
    for (const s of order) {
      if (s.kind === 'install') {
        if (failedInstall.has(s.index)) continue;
        const { pkg, bytes, replaces } = installs[s.index]!;
        const name = nameOf(pkg.header);
        const count = (countOf.get(name) ?? 0) + 1;
        opts.onStep?.('install', nevra(pkg.header));
        const err = await scriptOnce(pkg.header, 'pre', count);
        if (err) {
          fail(s.index, err);
          continue;
        }
        const files = headerFiles(pkg.header);
        const docs = new Set(opts.nodocs ? files.filter((f) => f.flags & RPMFILE.DOC && (f.mode & S_IFMT) !== S_IFDIR).map((f) => f.path) : []);
        if (!opts.justdb) {
          const ids = await IdMap.load(rootReal);
          const oldFiles = new Map<string, { digest: string; algo: string }>();
          const olds = [...replaces.map((h) => db.get(h)!), ...files.flatMap((f) => (f.flags & RPMFILE.CONFIG ? db.ownersOf(f.path) : []))];
          for (const o of olds) {
            const algo = fileDigestAlgo(o.header);
            for (const [path, f] of installedFiles(o.header)) if (f.flags & RPMFILE.CONFIG) oldFiles.set(path, { digest: f.digest, algo });
          }
          const { staged, dirs } = await stagePackage(rootReal, pkg, bytes, oldFiles, ids, report.warnings, docs);
          for (const d of dirs) await ensureDir(rootReal, d.path, d.target, d.meta);
          for (const st of staged) {
            if (st.existing !== 'replace') await rename(st.target, `${st.target}.${st.existing}`).catch(() => undefined);
            await commit(st.tmp, st.target);
          }
        }
        countOf.set(name, count);
        const postErr = await scriptOnce(pkg.header, 'post', count);
        if (postErr) report.warnings.push(postErr);
        const fileStates = files.map((f) => (docs.has(f.path) ? FILE_STATE.NOTINSTALLED : FILE_STATE.NORMAL));
        adds.push(buildInstalledHeader(pkg, { installTime: now, tid: now, fileStates }));
        report.installed.push(nevra(pkg.header));
      } else {
        if (skipErase.has(s.hnum)) continue;
        const old = db.get(s.hnum)!;
        const count = Math.max(0, (countOf.get(old.name) ?? 1) - 1);
        opts.onStep?.('erase', nevra(old.header));
        for (const which of ['preun', 'postun'] as const) {
          if (which === 'postun' && !opts.justdb) {
            leaving.add(s.hnum);
            await removeFiles(rootReal, db, old.header, leaving, newPaths, report.warnings);
          }
          const err = await scriptOnce(old.header, which, count);
          if (err) report.warnings.push(err);
        }
        leaving.add(s.hnum);
        countOf.set(old.name, count);
        removes.push(s.hnum);
        report.erased.push(nevra(old.header));
      }
    }
    for (const s of installOrder) {
      if (failedInstall.has(s.index)) continue;
      const h = installs[s.index]!.pkg.header;
      opts.onStep?.('posttrans', nevra(h));
      const err = await scriptOnce(h, 'posttrans', transArg.get(s.index) ?? 1);
      if (err) report.warnings.push(err);
    }
    if (adds.length || removes.length) {
      await db.transaction((tx) => {
        for (const h of removes) tx.remove(h);
        for (const b of adds) tx.add(b);
      });
    }
    return report;
  } finally {
    db.close();
  }
}

function getStringTag(h: Header, tag: number): string {
  const v = h.entries.get(tag);
  return v && v.type === 6 ? v.value : '';
}
