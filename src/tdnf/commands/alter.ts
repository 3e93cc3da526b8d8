/**
 * The commands that change the system — install, reinstall, erase, autoremove, upgrade,
 * upgrade-to, downgrade, distro-sync — as C tdnf runs them (client/api.c TDNFResolve and
 * TDNFAlterCommand, tools/cli/lib/installcmd.c):
 *
 *   lock → config, rpmdb, history synced with the rpmdb, repositories (+ @cmdline RPMs)
 *   → package selection ("No package X available", "Package X is already installed, skipping.")
 *   → solver jobs and rules → problems (1301) → the plan, as tables or -j JSON
 *   → "Is this ok [y/N]: " (-y yes, --assumeno: 1032, 0 with -j) → downloads into
 *   <cachedir>/<repoid>/rpms (--downloadonly/--downloaddir stop there) → digests and signatures
 *   → the rpm transaction → history (auto-installed marks) → "Complete!".
 *
 * Nothing to do is tdnf's 905: "Nothing to do." on stderr, exit status 0.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type FetchItem, fetchAll, joinUrl } from '../../repo/fetch.ts';
import { type Update, readUpdateinfo } from '../../repo/updateinfo.ts';
import type { Job, SolveOptions, SolveResult } from '../../solver/types.ts';
import { solve } from '../../solver/solver.ts';
import { TDNF, TdnfError } from '../errors.ts';
import { gpgCheckPackage } from '../gpgcheck.ts';
import { type TdnfArgs, flag } from '../options.ts';
import { json as jsonLine } from '../output.ts';
import {
  type Pkg, archOf, compareEvrOf, epochOf, nameOf, packagesOf, releaseOf, sameNevra, selectSpec, versionOf,
} from '../query.ts';
import { fetchOptionsFor, repoPackagesDir } from '../repos.ts';
import { type TsFlag, type TxPlan, runTransaction } from '../transaction.ts';
import { advisoryUpdates, filtersAdvisories } from './updateinfo.ts';
import { type Plan, type PlanPkg, emptyPlan, existingText, needsAction, planJson, planText } from '../_alter_plan.ts';
import { type AlterSession, CMDLINE_REPO, type Io, installedPkgs, openAlterSession, solveOptions } from '../_alter_session.ts';

export type { Io } from '../_alter_session.ts';

const BOLD = '\x1b[1m\x1b[30m';
const RESET = '\x1b[0m';

/** What package selection produced for one command. */
export interface Selection {
  jobs: Job[];
  /** Specs that matched nothing. */
  notFound: string[];
  /** Installed packages a spec asked for again. */
  existing: Pkg[];
  /** Names the user asked for (marked user-installed when installed). */
  userNames: Set<string>;
  extra?: Partial<SolveOptions>;
}

const isRpmArg = (a: string): boolean => a.endsWith('.rpm');

/** Newest package of each name among `pkgs`. */
function newestByName(pkgs: readonly Pkg[]): Map<string, Pkg> {
  const m = new Map<string, Pkg>();
  for (const k of pkgs) {
    const cur = m.get(nameOf(k));
    if (!cur || compareEvrOf(k, cur) > 0) m.set(nameOf(k), k);
  }
  return m;
}

/**
 * `only`: with --security, --sec-severity or --reboot-required, the installed `name.arch`s a
 * qualifying advisory updates; upgrade leaves every other package as it is.
 */
function select(s: AlterSession, command: string, specs: readonly string[], only?: ReadonlySet<string>): Selection {
  const sel: Selection = { jobs: [], notFound: [], existing: [], userNames: new Set() };
  const u = s.universe;
  const inst = installedPkgs(s);
  let repoList: Pkg[] | undefined;
  const repoPkgs = (): Pkg[] => (repoList ??= packagesOf(s.sack.available.filter((r) => r !== s.cmdline)));
  const allowed = (k: Pkg) => u.archAllowed(s.globalOf(k));
  const g = (ks: readonly Pkg[]) => ks.map(s.globalOf);
  const cmdlinePkgs = (): Pkg[] => (s.cmdline ? packagesOf([s.cmdline]) : []);
  const candidates = (spec: string): Pkg[] => {
    // --source: the source packages of the repositories (arch src), never installable here.
    if (s.args.source) return selectSpec(repoPkgs(), spec).filter((k) => archOf(k) === 'src');
    if (isRpmArg(spec) && s.cmdline) {
      const i = s.cmdlineFiles.findIndex((f, j) => f === spec || spec.endsWith(basename(f)) || s.args.args.filter(isRpmArg)[j] === spec);
      return i >= 0 ? [{ repo: s.cmdline, p: i }] : [];
    }
    // A plain name: the Universe's name index instead of a scan of every package.
    if (/^[^*?[\]<>=\s/]+$/.test(spec)) {
      const id = s.strings.lookup(spec);
      const hits = id >= 0 ? u.byName(id).filter((p) => p >= u.installedEnd).map(s.pkgOf).filter((k) => k.repo !== s.cmdline && !k.repo.excluded?.[k.p]) : [];
      if (hits.length) return hits.filter(allowed);
    }
    return selectSpec(repoPkgs(), spec).filter(allowed);
  };

  switch (command) {
    case 'install':
    case 'upgrade-to': {
      for (const spec of specs) {
        const cands = candidates(spec);
        if (!cands.length) {
          const have = selectSpec(inst, spec);
          if (have.length) sel.existing.push(...have);
          else sel.notFound.push(spec);
          continue;
        }
        // Already installed: every candidate name has an installed package at least as new.
        const best = newestByName(cands);
        const skipped: Pkg[] = [];
        const wanted: Pkg[] = [];
        for (const [name, k] of best) {
          const same = inst.filter((i) => nameOf(i) === name);
          const installonly = s.cfg.main.installonlyPkgs.includes(name);
          const covered = installonly ? same.some((i) => sameNevra(i, k)) : same.some((i) => compareEvrOf(i, k) >= 0);
          if (same.length && covered && command === 'install' && !s.args.source) skipped.push(same.find((i) => compareEvrOf(i, k) >= 0) ?? same[0]!);
          else wanted.push(k);
        }
        sel.existing.push(...skipped);
        if (!wanted.length) continue;
        const wantNames = new Set(wanted.map(nameOf));
        for (const n of wantNames) sel.userNames.add(n);
        sel.jobs.push({ kind: 'install', packages: g(cands.filter((k) => wantNames.has(nameOf(k)))) });
      }
      break;
    }
    case 'reinstall': {
      for (const spec of specs) {
        const cmd = isRpmArg(spec) ? candidates(spec) : [];
        const have = cmd.length ? inst.filter((i) => cmd.some((c) => sameNevra(i, c))) : selectSpec(inst, spec);
        const pool = cmd.length ? cmd : repoPkgs();
        const same = pool.filter((k) => have.some((i) => sameNevra(i, k)));
        if (!have.length || !same.length) {
          sel.notFound.push(spec);
          continue;
        }
        sel.jobs.push({ kind: 'reinstall', packages: g(same) });
      }
      break;
    }
    case 'erase':
    case 'autoremove': {
      if (command === 'autoremove' && !specs.length) {
        sel.jobs.push({ kind: 'autoremove' });
        break;
      }
      for (const spec of specs) {
        const have = selectSpec(inst, spec);
        if (!have.length) sel.notFound.push(spec);
        else sel.jobs.push({ kind: 'erase', packages: g(have) });
      }
      sel.extra = { allowErasing: true, ...(command === 'autoremove' ? { cleanRequirementsOnRemove: true } : {}) };
      break;
    }
    case 'upgrade': {
      const advised = (ks: Pkg[]): Pkg[] => (only ? ks.filter((k) => only.has(`${nameOf(k)}.${archOf(k)}`)) : ks);
      if (!specs.length) {
        if (only) {
          const have = advised(inst);
          if (have.length) sel.jobs.push({ kind: 'update', packages: g(have) });
        } else sel.jobs.push({ kind: 'update-all' });
        break;
      }
      for (const spec of specs) {
        const cmd = isRpmArg(spec) ? candidates(spec) : [];
        if (cmd.length) {
          sel.jobs.push({ kind: 'install', packages: g(cmd) });
          continue;
        }
        const have = selectSpec(inst, spec);
        if (have.length) {
          const ok = advised(have);
          if (ok.length) sel.jobs.push({ kind: 'update', packages: g(ok) });
          continue;
        }
        if (only) {
          sel.notFound.push(spec);
          continue;
        }
        const cands = candidates(spec);
        if (!cands.length) sel.notFound.push(spec);
        else {
          for (const k of cands) sel.userNames.add(nameOf(k));
          sel.jobs.push({ kind: 'install', packages: g(cands) });
        }
      }
      break;
    }
    case 'downgrade': {
      const targets = specs.length ? specs.flatMap((spec) => {
        const have = selectSpec(inst, spec);
        if (have.length) return [{ spec, names: [...new Set(have.map(nameOf))], exact: [] as Pkg[] }];
        // name-version: a specific older version.
        const cands = candidates(spec);
        if (cands.length) return [{ spec, names: [...new Set(cands.map(nameOf))], exact: cands }];
        sel.notFound.push(spec);
        return [];
      }) : [...new Set(inst.map(nameOf))].map((n) => ({ spec: n, names: [n], exact: [] as Pkg[] }));
      for (const t of targets) {
        for (const name of t.names) {
          const cur = inst.filter((i) => nameOf(i) === name);
          if (!cur.length) continue;
          const older = (t.exact.length ? t.exact : repoPkgs()).filter((k) => nameOf(k) === name && allowed(k) && cur.every((i) => compareEvrOf(k, i) < 0));
          if (!older.length) {
            if (specs.length) throw new TdnfError(TDNF.NO_DOWNGRADE_PATH, `There is no downgrade path for ${name}`);
            continue;
          }
          // The newest of the older versions, as tdnf picks it.
          const newest = newestByName(older).get(name)!;
          sel.jobs.push({ kind: 'downgrade', packages: g(t.exact.length ? older : older.filter((k) => compareEvrOf(k, newest) === 0)) });
        }
      }
      break;
    }
    case 'distro-sync':
      sel.jobs.push({ kind: 'distro-sync' });
      break;
    default:
      throw new TdnfError(TDNF.CLI_NO_SUCH_CMD, `not an alter command: ${command}`);
  }
  return sel;
}

function planPkg(s: AlterSession, p: number): PlanPkg {
  const k = s.pkgOf(p);
  return {
    name: nameOf(k), arch: archOf(k), epoch: epochOf(k), version: versionOf(k), release: releaseOf(k),
    repo: k.repo.id, installSize: k.repo.pool.sizeInstalled(k.p), downloadSize: k.repo.installed ? 0 : k.repo.pool.sizePackage(k.p),
  };
}

export function planOf(s: AlterSession, r: SolveResult, existing: readonly Pkg[], unneeded: ReadonlySet<number> = new Set()): Plan {
  const plan = emptyPlan();
  const pp = (p: number) => planPkg(s, p);
  plan.exist = existing.map((k) => planPkg(s, s.globalOf(k)));
  plan.install = r.install.map(pp);
  plan.upgrade = r.upgrade.map((x) => pp(x.pkg));
  plan.downgrade = r.downgrade.map((x) => pp(x.pkg));
  plan.reinstall = r.reinstall.map((x) => pp(x.pkg));
  plan.remove = r.erase.filter((p) => !unneeded.has(p)).map(pp);
  plan.unneeded = r.erase.filter((p) => unneeded.has(p)).map(pp);
  plan.obsolete = r.obsoleted.map((x) => pp(x.pkg));
  return plan;
}

/** tdnf's TDNFYesOrNo: -y yes, --assumeno no, otherwise the question on the terminal. */
export async function yesOrNo(args: TdnfArgs, io: Io, question: string): Promise<boolean> {
  if (args.assumeNo) return false;
  if (args.assumeYes) return true;
  io.stdout(question);
  const line = await readLine();
  return /^y(es)?$/i.test(line.trim());
}

function readLine(): Promise<string> {
  return new Promise((resolve) => {
    const stdin = process.stdin;
    let buf = '';
    const done = (v: string) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
      resolve(v);
    };
    const onData = (d: Buffer) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) done(buf.slice(0, nl));
    };
    const onEnd = () => done(buf);
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.resume();
  });
}

function checkProblems(r: SolveResult, io: Io): void {
  if (r.code === TDNF.SELF_ERASE) throw new TdnfError(TDNF.SELF_ERASE, r.problems[0] ?? 'The operation would result in removing a protected package');
  if (r.problems.length && r.code !== undefined) {
    io.stderr(`Found ${r.problems.length} problem(s) while resolving\n`);
    r.problems.forEach((p, i) => io.stderr(`${i + 1}. ${p}\n`));
    throw new TdnfError(TDNF.SOLV_FAILED, 'Solv general runtime error');
  }
  if (r.problems.length) {
    // --skip-broken: what was left out.
    io.stderr(`Found ${r.problems.length} problem(s) while resolving\n`);
    r.problems.forEach((p, i) => io.stderr(`${i + 1}. ${p}\n`));
  }
}

async function sha(file: string, type: string): Promise<string> {
  const h = createHash(type === 'sha' ? 'sha1' : type);
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

interface Fetched {
  p: number;
  file: string;
  repoId: string;
  /** Downloaded by this run (deleted afterwards without keepcache). */
  fresh: boolean;
}

/** Downloads what the transaction installs into `<cachedir>/<repoid>/rpms/` (or --downloaddir). */
async function download(s: AlterSession, pkgs: readonly number[], io: Io): Promise<Fetched[]> {
  const a = s.args;
  const quiet = a.quiet || a.json;
  const out: Fetched[] = [];
  const items: FetchItem[] = [];
  const pending: Fetched[] = [];
  for (const p of pkgs) {
    const k = s.pkgOf(p);
    if (k.repo.id === CMDLINE_REPO) {
      out.push({ p, file: s.cmdlineFiles[k.p]!, repoId: CMDLINE_REPO, fresh: false });
      continue;
    }
    const loaded = s.loaded.find((r) => r.id === k.repo.id)!;
    const pool = k.repo.pool;
    const location = pool.str(pool.location(k.p));
    const base = pool.str(pool.locationBase(k.p));
    const dir = a.downloadDir ?? repoPackagesDir(s.cfg, loaded.config);
    await mkdir(dir, { recursive: true });
    const dest = join(dir, basename(location));
    const type = pool.str(pool.checksumType(k.p));
    const value = pool.str(pool.pkgid(k.p));
    const size = pool.sizePackage(k.p);
    const st = await stat(dest).catch(() => undefined);
    if (st && st.size === size && type && value && (await sha(dest, type).catch(() => '')) === value) {
      out.push({ p, file: dest, repoId: loaded.id, fresh: false });
      continue;
    }
    const urls = base ? [joinUrl(base, location)] : loaded.baseUrls.map((u) => joinUrl(u, location));
    const f: Fetched = { p, file: dest, repoId: loaded.id, fresh: true };
    pending.push(f);
    items.push({
      urls, dest,
      opts: {
        ...fetchOptionsFor(s.cfg, loaded.config),
        ...(type && value ? { expect: { type, value } } : {}),
        size,
        onProgress: (done, total) => {
          if (!quiet && total !== undefined && done === total) io.stdout(`${basename(location).padEnd(50)} ${String(done).padStart(10)} 100%\n`);
        },
      },
    });
  }
  if (items.length) await fetchAll(items, { parallel: 4 });
  return [...out, ...pending];
}

/**
 * --nodeps and --source (C tdnf's TDNFGoalNoDeps): no solving; each job's own newest package
 * (an update's newest newer version) and nothing it needs.
 */
export function noDepsResult(s: AlterSession, jobs: readonly Job[]): SolveResult {
  const u = s.universe;
  const picks = new Set<number>();
  const newest = (ps: readonly number[]): void => {
    const best = new Map<number, number>();
    for (const p of ps) {
      const cur = best.get(u.nameOf(p));
      if (cur === undefined || u.compareEvr(p, cur) > 0) best.set(u.nameOf(p), p);
    }
    for (const p of best.values()) picks.add(p);
  };
  for (const j of jobs) {
    if (j.kind === 'install' || j.kind === 'downgrade' || j.kind === 'reinstall') newest(j.packages);
    else if (j.kind === 'update') {
      for (const i of j.packages) newest(u.byName(u.nameOf(i)).filter((q) => !u.isInstalled(q) && u.archAllowed(q) && u.compareEvr(q, i) > 0));
    }
  }
  return { install: [...picks], upgrade: [], downgrade: [], reinstall: [], erase: [], obsoleted: [], problems: [] };
}

export interface RunOptions {
  /** Already resolved (--nodeps, --source): shown and downloaded as it is. */
  result?: SolveResult;
  /** The command line recorded in history. */
  cmdline: string;
  /** Names asked for by the user. */
  userNames: ReadonlySet<string>;
  existing?: readonly Pkg[];
  notFound?: readonly string[];
}

/**
 * Solves `jobs`, shows the plan, asks, and runs it. Shared by the alter commands and history
 * rollback/undo/redo. Returns the exit status.
 */
export async function solveAndRun(s: AlterSession, jobs: readonly Job[], options: SolveOptions, io: Io, ro: RunOptions): Promise<number> {
  const a = s.args;
  const quiet = a.quiet || a.json;
  // Source packages are only ever downloaded.
  const downloadOnly = a.downloadOnly || a.source;
  if (!quiet) for (const spec of ro.notFound ?? []) io.stdout(`No package ${BOLD}${spec} ${RESET}available\n`);
  const r = ro.result ?? (jobs.length ? solve(s.universe, jobs, options) : { install: [], upgrade: [], downgrade: [], reinstall: [], erase: [], obsoleted: [], problems: [] });
  checkProblems(r, io);
  const unneeded = new Set<number>();
  if (jobs.some((j) => j.kind === 'erase')) {
    const named = new Set(jobs.flatMap((j) => (j.kind === 'erase' ? j.packages : [])));
    for (const p of r.erase) if (!named.has(p)) unneeded.add(p);
  }
  const plan = planOf(s, r, ro.existing ?? [], unneeded);
  if (!needsAction(plan)) {
    if (!quiet && plan.exist.length) io.stdout(existingText(plan));
    if (ro.notFound?.length) throw new TdnfError(TDNF.NO_MATCH, 'No matching packages');
    if (!a.json) io.stderr('Nothing to do.\n');
    return 0;
  }
  if (!a.quiet) {
    if (a.json) io.stdout(jsonLine(planJson(plan)));
    else io.stdout(existingText(plan) + planText(plan));
    if (downloadOnly && !a.json) io.stdout('tdnf will only download packages needed for the transaction\n');
  }
  if (!(await yesOrNo(a, io, 'Is this ok [y/N]: '))) {
    if (a.json) return 0;
    throw new TdnfError(TDNF.OPERATION_ABORTED, 'Operation aborted.');
  }

  const toFetch = [...r.install, ...r.reinstall.map((x) => x.pkg), ...r.upgrade.map((x) => x.pkg), ...r.downgrade.map((x) => x.pkg)];
  if (!quiet && toFetch.some((p) => s.pkgOf(p).repo.id !== CMDLINE_REPO)) io.stdout('\nDownloading:\n');
  const fetched = await download(s, toFetch, io);
  const fileOf = new Map(fetched.map((f) => [f.p, f.file]));

  if (!downloadOnly) {
    for (const f of fetched) {
      const repo = s.loaded.find((l) => l.id === f.repoId)?.config;
      await gpgCheckPackage(s.root, f.file, { id: f.repoId, gpgcheck: repo ? repo.gpgcheck : false, gpgkey: repo?.gpgkey ?? [] }, {
        nogpgcheck: a.noGpgCheck, skipsignature: a.skipSignature, skipdigest: a.skipDigest, dbpath: s.dbpath,
        cachedir: s.cfg.cachedir,
        confirm: (q) => yesOrNo(a, io, q),
        onInfo: (line) => { if (!quiet) io.stdout(`${line}\n`); },
      });
    }
    const nevraOf = (p: number) => s.universe.nevra(p);
    const inst = (x: { replaces: number[] }) => x.replaces.map(nevraOf);
    const plan: TxPlan = {
      install: r.install.map((p) => ({ file: fileOf.get(p)!, reason: ro.userNames.has(nameOf(s.pkgOf(p))) ? 'user' : 'dep' })),
      upgrade: r.upgrade.map((x) => ({ file: fileOf.get(x.pkg)!, replaces: inst(x) })),
      downgrade: r.downgrade.map((x) => ({ file: fileOf.get(x.pkg)!, replaces: inst(x) })),
      reinstall: r.reinstall.map((x) => ({ file: fileOf.get(x.pkg)! })),
      erase: [...r.erase.map(nevraOf), ...r.obsoleted.filter((o) => !r.erase.includes(o.pkg)).map((o) => nevraOf(o.pkg))],
    };
    const tsflags = a.setopt.filter((o) => !o.repo && o.key === 'tsflags').flatMap((o) => o.value.split(/[\s,]+/)).filter(Boolean) as TsFlag[];
    if (!quiet) io.stdout(a.testOnly ? '\nTesting transaction\n' : '\nRunning transaction\n');
    await runTransaction(s.root, plan, {
      tsflags, testonly: a.testOnly, skipDigest: a.skipDigest, dbpath: s.dbpath,
      onProgress: (ev) => {
        if (quiet) return;
        if (ev.phase === 'install') io.stdout(`Installing/Updating: ${ev.nevra}\n`);
        else if (ev.phase === 'erase') io.stdout(`Removing: ${ev.nevra}\n`);
      },
    });
    if (!a.testOnly) {
      const autoFlags = new Map<string, boolean>();
      for (const p of r.install) {
        const n = nameOf(s.pkgOf(p));
        autoFlags.set(n, !ro.userNames.has(n));
      }
      for (const n of ro.userNames) autoFlags.set(n, false);
      await s.history.recordTransaction({ cmdline: ro.cmdline, autoFlags });
    }
    if (!s.cfg.main.keepcache) for (const f of fetched) if (f.fresh && !a.downloadDir) await rm(f.file, { force: true });
  }
  if (!quiet) {
    io.stdout('\nComplete!\n');
    if (downloadOnly) io.stdout(a.downloadDir ? `Packages have been downloaded to ${a.downloadDir}.\n` : 'Packages have been downloaded to cache.\n');
  }
  return 0;
}

/** `tdnf install|reinstall|erase|autoremove|upgrade|upgrade-to|downgrade|distro-sync ARGS`. */
export async function alter(args: TdnfArgs, io: Io): Promise<number> {
  const command = args.command!;
  if (args.downloadDir !== undefined && !args.downloadOnly) throw new TdnfError(TDNF.CLI_DOWNLOADDIR_REQUIRES_DOWNLOADONLY, '--downloaddir requires --downloadonly');
  if (args.allDeps && !args.downloadOnly) throw new TdnfError(TDNF.CLI_ALLDEPS_REQUIRES_DOWNLOADONLY, '--alldeps requires --downloadonly');
  const needsSpecs = ['install', 'reinstall', 'erase', 'upgrade-to'].includes(command);
  if (needsSpecs && !args.args.length) throw new TdnfError(TDNF.CLI_NOT_ENOUGH_ARGS, 'Not enough arguments. Please check your command.');
  const s = await openAlterSession(args, { io, emptyRoot: args.allDeps, noRepos: command === 'erase' || (command === 'autoremove') });
  try {
    let only: Set<string> | undefined;
    const filter = { security: args.security, rebootRequired: args.rebootRequired, ...(args.secSeverity !== undefined ? { secSeverity: args.secSeverity } : {}) };
    if (command === 'upgrade' && filtersAdvisories(filter)) {
      const updates: Update[] = [];
      for (const r of s.loaded) if (r.updateinfoPath) await readUpdateinfo(r.updateinfoPath, (u) => updates.push(u));
      only = advisoryUpdates(s.sack, updates, filter);
    }
    const sel = select(s, command, args.args, only);
    if (flag(args, 'debugsolver')) io.stderr(`jobs: ${JSON.stringify(sel.jobs)}\n`);
    const noDeps = args.noDeps || args.source;
    return await solveAndRun(s, sel.jobs, solveOptions(s, sel.extra), io, {
      ...(noDeps ? { result: noDepsResult(s, sel.jobs) } : {}),
      cmdline: [args.commandName ?? command, ...args.args].join(' '),
      userNames: sel.userNames, existing: sel.existing, notFound: sel.notFound,
    });
  } finally {
    await s.release();
  }
}
export const main = alter;
