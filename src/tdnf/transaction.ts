/**
 * Running a solved tdnf transaction: the packages are already downloaded and verified (see
 * gpgcheck.ts); here they are ordered as rpm orders them (_tx_order.ts) and run in one rpmdb
 * transaction by src/rpm/install.ts's applyTransaction, with rpm's scriptlet order and $1:
 *
 *   install   %pretrans 1 … %pre 1, files, %post 1 … %posttrans 1
 *   upgrade   %pretrans 2 … %pre 2, files, %post 2 … (after every install) old %preun 1,
 *             old files the new one lacks, old %postun 1 … %posttrans 2
 *   erase     %preun 0, files, %postun 0
 *
 * Elements are handed to the orderer in tdnf's order (install, reinstall, upgrade, downgrade,
 * erase; each replaced package right after its replacement), which settles ties as rpm would.
 * File conflicts (between new packages, and with installed ones not leaving) stop everything
 * before any change, with rpm's problem lines, as TDNF.TRANSACTION_FAILED (1525). A %pre or
 * %pretrans failure skips that package (and keeps what it would have replaced), the rest runs
 * and is committed, and the whole ends in 1525 naming the failures; a failing %post, %preun,
 * %postun or %posttrans is a warning, as in rpm.
 */
import { headerDeps, headerFiles, nevra, readPackageFile, verifyDigests } from '../rpm/package.ts';
import { type InstalledPackage, openRpmdb } from '../rpm/rpmdb.ts';
import { type TxInstall, type TxRunReport, type TxStep, applyTransaction } from '../rpm/install.ts';
import { isPhotonError } from '../util/errors.ts';
import { type OrderItem, orderTransaction } from './_tx_order.ts';
import { TDNF, TdnfError } from './errors.ts';

export interface TxPlan {
  install: Array<{ file: string; reason: 'user' | 'dep' }>;
  /** `replaces`: the installed NEVRAs (name-[epoch:]version-release.arch) this one replaces. */
  upgrade: Array<{ file: string; replaces: string[] }>;
  downgrade: Array<{ file: string; replaces: string[] }>;
  reinstall: Array<{ file: string }>;
  /** Installed NEVRAs. */
  erase: string[];
}

export type TsFlag = 'noscripts' | 'nodocs' | 'justdb' | 'test';

export type TxProgress =
  | { phase: 'verify'; file: string }
  | { phase: 'order'; order: string[] }
  | { phase: 'pretrans' | 'install' | 'erase' | 'posttrans'; nevra: string };

export interface TxOptions {
  noscripts?: boolean;
  justdb?: boolean;
  /** --testonly: check everything, change nothing. */
  testonly?: boolean;
  tsflags?: readonly TsFlag[];
  /** --skipdigest: do not check the packages' header and payload digests. */
  skipDigest?: boolean;
  dbpath?: string;
  /** INSTALLTIME/INSTALLTID (tests). */
  now?: number;
  onProgress?: (p: TxProgress) => void;
}

export interface TxReport {
  /** NEVRAs installed (fresh, upgrade, downgrade, reinstall), in execution order. */
  installed: string[];
  /** NEVRAs erased (explicitly or replaced), in execution order. */
  erased: string[];
  /** The execution order: "+nevra" installs, "-nevra" erasures. */
  order: string[];
  warnings: string[];
  /** Elements whose %pretrans/%pre failed (only when the transaction is reported through a TdnfError's cause). */
  failed: Array<{ nevra: string; message: string }>;
  /** Install reasons by NEVRA, for history's auto-installed marks. */
  reasons: Map<string, 'user' | 'dep'>;
}

const failed = (message: string, cause?: unknown) => new TdnfError(TDNF.TRANSACTION_FAILED, message, cause === undefined ? undefined : { cause });

/** NEVRA forms an installed package answers to: with and without the epoch. */
function nevraForms(p: InstalledPackage): string[] {
  const base = `${p.name}-${p.version}-${p.release}${p.arch ? `.${p.arch}` : ''}`;
  return p.epoch !== undefined ? [base, `${p.name}-${p.epoch}:${p.version}-${p.release}${p.arch ? `.${p.arch}` : ''}`] : [base];
}

function addedItem(t: TxInstall): OrderItem {
  const files = new Set(headerFiles(t.pkg.header).map((f) => f.path));
  return { type: 'added', requires: headerDeps(t.pkg.header, 'requires'), provides: headerDeps(t.pkg.header, 'provides'), hasFile: (p) => files.has(p) };
}

function removedItem(p: InstalledPackage): OrderItem {
  let files: Set<string> | undefined;
  return {
    type: 'removed', requires: headerDeps(p.header, 'requires'), provides: headerDeps(p.header, 'provides'),
    hasFile: (path) => (files ??= new Set(headerFiles(p.header).map((f) => f.path))).has(path),
  };
}

export async function runTransaction(root: string, plan: TxPlan, opts: TxOptions = {}): Promise<TxReport> {
  const flags = new Set(opts.tsflags ?? []);
  const noscripts = !!opts.noscripts || flags.has('noscripts');
  const justdb = !!opts.justdb || flags.has('justdb');
  const test = !!opts.testonly || flags.has('test');
  const progress = opts.onProgress;

  // Installed packages by every NEVRA form.
  const db = await openRpmdb(root, { create: true, ...(opts.dbpath ? { dbpath: opts.dbpath } : {}) });
  const byNevra = new Map<string, InstalledPackage>();
  try {
    for (const p of db.packages()) for (const n of nevraForms(p)) byNevra.set(n, p);
  } finally {
    db.close();
  }
  const installed = (n: string): InstalledPackage => {
    const p = byNevra.get(n);
    if (!p) throw failed(`package ${n} is not installed`);
    return p;
  };

  const installs: TxInstall[] = [];
  const reasons = new Map<string, 'user' | 'dep'>();
  const load = async (file: string) => {
    progress?.({ phase: 'verify', file });
    let r;
    try {
      r = await readPackageFile(file);
    } catch (e) {
      throw failed(`${file}: ${isPhotonError(e) ? e.message : String(e)}`, e);
    }
    if (!opts.skipDigest) {
      const d = verifyDigests(r.pkg, r.bytes);
      if (d.header === 'bad' || d.payload === 'bad') {
        throw failed(`${file}: ${d.header === 'bad' ? 'Header' : 'Payload'} digest: BAD`);
      }
    }
    return r;
  };

  // Elements in tdnf's population order; a replaced package goes right after its replacement.
  const items: OrderItem[] = [];
  const steps: TxStep[] = [];
  const addInstall = async (file: string, replaces: InstalledPackage[], reason?: 'user' | 'dep') => {
    const { pkg, bytes } = await load(file);
    const index = installs.length;
    installs.push({ pkg, bytes, replaces: replaces.map((p) => p.hnum) });
    if (reason) reasons.set(nevra(pkg.header), reason);
    items.push(addedItem(installs[index]!));
    steps.push({ kind: 'install', index });
    for (const old of replaces) {
      items.push(removedItem(old));
      steps.push({ kind: 'erase', hnum: old.hnum });
    }
  };
  for (const i of plan.install) await addInstall(i.file, [], i.reason);
  for (const r of plan.reinstall) {
    const { pkg } = await load(r.file);
    await addInstall(r.file, [installed(nevra(pkg.header))]);
  }
  for (const u of plan.upgrade) await addInstall(u.file, u.replaces.map(installed));
  for (const d of plan.downgrade) await addInstall(d.file, d.replaces.map(installed));
  const seen = new Set(steps.flatMap((s) => (s.kind === 'erase' ? [s.hnum] : [])));
  for (const e of plan.erase) {
    const p = installed(e);
    if (seen.has(p.hnum)) continue;
    seen.add(p.hnum);
    items.push(removedItem(p));
    steps.push({ kind: 'erase', hnum: p.hnum });
  }

  const ordered = orderTransaction(items).map((i) => steps[i]!);
  const label = (s: TxStep): string => {
    if (s.kind === 'install') return `+${nevra(installs[s.index]!.pkg.header)}`;
    const p = [...byNevra.values()].find((x) => x.hnum === s.hnum)!;
    return `-${nevra(p.header)}`;
  };
  const order = ordered.map(label);
  progress?.({ phase: 'order', order });

  let run: TxRunReport;
  try {
    run = await applyTransaction(root, installs, ordered, {
      noscripts, justdb, test, nodocs: flags.has('nodocs'),
      ...(opts.dbpath ? { dbpath: opts.dbpath } : {}),
      ...(opts.now !== undefined ? { now: opts.now } : {}),
      ...(progress ? { onStep: (phase, n) => progress({ phase, nevra: n }) } : {}),
    });
  } catch (e) {
    if (e instanceof TdnfError) throw e;
    if (isPhotonError(e)) throw failed(e.message, e);
    throw e;
  }
  const report: TxReport = { installed: run.installed, erased: run.erased, order, warnings: run.warnings, failed: run.failed, reasons };
  if (run.failed.length) {
    // rpm's two lines per failed element.
    throw failed(run.failed.map((f) => `${f.message}\n${f.nevra}: install failed`).join('\n'), report);
  }
  return report;
}
