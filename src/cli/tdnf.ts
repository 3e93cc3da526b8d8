#!/usr/bin/env node
/**
 * The `tdnf` command: argv → TdnfArgs → command → text or `-j` JSON → exit status. The only
 * place that prints: commands return data, errors arrive as TdnfError and leave as
 * `Error(NNNN) : message` on stderr (JSON: `{"Error": N, "ErrorMessage": "..."}` on stdout, as
 * tdnf's pr_json prints it) with exit status exitStatus(code).
 */
import { StringPool } from '../repo/pool.ts';
import { type Update, readUpdateinfo } from '../repo/updateinfo.ts';
import { changelogEntries } from '../repo/from-header.ts';
import { isPhotonError } from '../util/errors.ts';
import { TDNF, TdnfError, exitStatus } from '../tdnf/errors.ts';
import { SYSTEM_REPO, type InstalledSet, readInstalled } from '../tdnf/installed.ts';
import { type TdnfArgs, TdnfUsageError, flag, parseTdnfArgs, values } from '../tdnf/options.ts';
import * as out from '../tdnf/output.ts';
import { type Repo, type Sack, excludeMask } from '../tdnf/query.ts';
import { list, parseScope } from '../tdnf/commands/list.ts';
import { info } from '../tdnf/commands/info.ts';
import { search } from '../tdnf/commands/search.ts';
import { provides } from '../tdnf/commands/provides.ts';
import { count } from '../tdnf/commands/count.ts';
import { checkUpdate } from '../tdnf/commands/check-update.ts';
import { DEP_OUTPUTS, type DepOutput, type RepoqueryOptions, type WhatKey, repoquery } from '../tdnf/commands/repoquery.ts';
import {
  type UpdateinfoMode, type UpdateinfoScope, advisoryUpdates, filtersAdvisories, summarize, updateinfo,
} from '../tdnf/commands/updateinfo.ts';
import { checkLocal } from '../tdnf/commands/check-local.ts';
import { CLEAN_KINDS, type CleanKind, clean } from '../tdnf/commands/clean.ts';
import { makecache } from '../tdnf/commands/makecache.ts';
import { type RepolistFilter, repolist } from '../tdnf/commands/repolist.ts';
import type { TdnfConfig } from '../tdnf/config.ts';
import { loadRepos } from '../tdnf/repos.ts';
import { configFromArgs, repoLoadOptions } from '../tdnf/commands/_cli_session.ts';
import { helpText } from '../tdnf/commands/help.ts';
import { type Io, main as alterMain } from '../tdnf/commands/alter.ts';
import { main as historyMain } from '../tdnf/commands/history.ts';
import { main as markMain } from '../tdnf/commands/mark.ts';

export type { Io };

const processIo: Io = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

/** What a command gets: the parsed line, the package sets, and where to print. */
interface Session {
  args: TdnfArgs;
  strings: StringPool;
  sack: Sack;
  installed: InstalledSet;
  updateinfo: () => Promise<Update[]>;
  dnfCheckUpdateCompat: boolean;
}



async function openSession(args: TdnfArgs, io: Io): Promise<Session> {
  const cfg = await configFromArgs(args);
  const strings = new StringPool();
  // The rpmdb is read first but interned after the repos, so the first repo's cache is adopted.
  const rpmdb = await readInstalled(cfg.installroot);
  const loaded = await loadRepos(cfg, strings, repoLoadOptions(args, io));
  const installed = rpmdb.build(strings);
  const available: Repo[] = loaded.map((r) => {
    const repo: Repo = { id: r.id, name: r.name, pool: r.pool, installed: false };
    const mask = excludeMask(repo.pool, cfg.excludes);
    if (mask) repo.excluded = mask;
    return repo;
  });
  const sack: Sack = { installed: { id: SYSTEM_REPO, name: SYSTEM_REPO, pool: installed.pool, installed: true }, available };
  return {
    args, strings, sack, installed,
    dnfCheckUpdateCompat: cfg.main.dnfCheckUpdateCompat,
    updateinfo: async () => {
      const all: Update[] = [];
      for (const r of loaded) if (r.updateinfoPath) await readUpdateinfo(r.updateinfoPath, (u) => all.push(u));
      return all;
    },
  };
}

type Handler = (s: Session, io: Io) => Promise<number>;

/** The `name.arch`s --security / --sec-severity / --reboot-required allow; undefined without them. */
async function advisoryOnly(s: Session): Promise<Set<string> | undefined> {
  const a = s.args;
  const f = { security: a.security, rebootRequired: a.rebootRequired, ...(a.secSeverity !== undefined ? { secSeverity: a.secSeverity } : {}) };
  return filtersAdvisories(f) ? advisoryUpdates(s.sack, await s.updateinfo(), f) : undefined;
}

const print = (s: Session, io: Io, value: () => unknown, text: () => string): number => {
  io.stdout(s.args.json ? out.json(value()) : text());
  return 0;
};

/** tdnf -j turns "no match" of list/info into an empty list. */
async function noMatchAsEmpty<T>(s: Session, f: () => T, empty: T): Promise<T> {
  try {
    return f();
  } catch (e) {
    if (s.args.json && e instanceof TdnfError && e.code === TDNF.NO_MATCH) return empty;
    throw e;
  }
}

const REPOQUERY_OUTPUTS = Object.keys(DEP_OUTPUTS) as DepOutput[];
const WHAT_KEYS: WhatKey[] = ['whatprovides', 'whatrequires', 'whatdepends', 'whatobsoletes', 'whatconflicts',
  'whatrecommends', 'whatsuggests', 'whatsupplements', 'whatenhances'];

const HANDLERS: Record<string, Handler> = {
  async list(s, io) {
    const { scope, specs } = parseScope(s.args.args, (n) => flag(s.args, n));
    let pkgs = await noMatchAsEmpty(s, () => list(s.sack, scope, specs), []);
    const only = scope === 'updates' || scope === 'upgrades' ? await advisoryOnly(s) : undefined;
    if (only) pkgs = pkgs.filter((p) => only.has(`${p.name}.${p.arch}`));
    return print(s, io, () => out.listJson(pkgs), () => out.listText(pkgs));
  },
  async info(s, io) {
    const { scope, specs } = parseScope(s.args.args, (n) => flag(s.args, n));
    const pkgs = await noMatchAsEmpty(s, () => info(s.sack, scope, specs), []);
    return print(s, io, () => out.infoJson(pkgs), () => out.infoText(pkgs));
  },
  async search(s, io) {
    let hits: ReturnType<typeof search>;
    try {
      hits = search(s.sack, s.args.args);
    } catch (e) {
      if (s.args.json && e instanceof TdnfError && e.code === TDNF.NO_SEARCH_RESULTS) hits = [];
      else throw e;
    }
    return print(s, io, () => out.searchJson(hits), () => out.searchText(hits));
  },
  async provides(s, io) {
    const pkgs = provides(s.sack, s.args.args[0]);
    return print(s, io, () => out.providesJson(pkgs), () => out.providesText(pkgs));
  },
  async count(s, io) {
    const n = count(s.sack);
    return print(s, io, () => n, () => `Package count = ${n}\n`);
  },
  async 'check-update'(s, io) {
    const pkgs = checkUpdate(s.sack, s.args.args, await advisoryOnly(s));
    print(s, io, () => out.listJson(pkgs), () => out.checkUpdateText(pkgs));
    return pkgs.length && s.dnfCheckUpdateCompat ? 100 : 0;
  },
  async repoquery(s, io) {
    const a = s.args;
    const o: RepoqueryOptions = {
      specs: a.args,
      available: flag(a, 'available'), installed: flag(a, 'installed'), extras: flag(a, 'extras'),
      duplicates: flag(a, 'duplicates'), upgrades: flag(a, 'upgrades'), userinstalled: flag(a, 'userinstalled'),
      isUserInstalled: (p) => s.installed.userInstalled(p),
      file: values(a, 'file'), arch: values(a, 'arch', true), what: {},
      list: flag(a, 'list'), changelogs: flag(a, 'changelogs'), source: a.source, location: flag(a, 'location'),
      changelogOf: (k) => (k.repo.installed
        ? changelogEntries(s.installed.headers[k.p]!, -1).reverse().map((c) => ({ time: c.date, author: c.author, text: c.text }))
        : []),
    };
    const qf = values(a, 'qf').at(-1);
    if (qf !== undefined) o.queryformat = qf;
    for (const w of WHAT_KEYS) if (flag(a, w)) o.what![w] = values(a, w, true);
    const dep = REPOQUERY_OUTPUTS.filter((d) => flag(a, d));
    if (dep.length > 1) throw new TdnfError(TDNF.CLI_ONE_DEP_ONLY, 'only one dependency allowed');
    if (dep[0]) o.deps = dep[0];
    const r = repoquery(s.sack, o);
    return print(s, io, () => out.repoqueryJson(r), () => out.repoqueryText(r));
  },
  async updateinfo(s, io) {
    const a = s.args;
    let words = [...a.args];
    let mode: UpdateinfoMode = flag(a, 'list') ? 'list' : flag(a, 'info') ? 'info' : 'summary';
    if (words[0] === 'summary' || words[0] === 'list' || words[0] === 'info') mode = words.shift() as UpdateinfoMode;
    let scope: UpdateinfoScope = flag(a, 'all') ? 'all' : flag(a, 'installed') ? 'installed' : 'available';
    if (words[0] === 'all' || words[0] === 'installed' || words[0] === 'available' || words[0] === 'updates') scope = words.shift() as UpdateinfoScope;
    const advs = updateinfo(s.sack, await s.updateinfo(), {
      mode, scope, specs: words, security: a.security, rebootRequired: a.rebootRequired,
      ...(a.secSeverity !== undefined ? { secSeverity: a.secSeverity } : {}),
    });
    if (mode === 'summary') {
      const sum = summarize(advs);
      return print(s, io, () => sum, () => out.updateinfoSummaryText(sum));
    }
    return print(s, io, () => out.updateinfoJson(advs), () => (mode === 'list' ? out.updateinfoListText(advs) : out.updateinfoInfoText(advs)));
  },
  async 'check-local'(s, io) {
    await checkLocal(s.sack, s.args.args[0], s.strings);
    if (!s.args.json) io.stdout('Check completed without issues\n');
    return 0;
  },
};

/** Commands that need the configuration but not the package sets. */
const CONFIG_HANDLERS: Record<string, (cfg: TdnfConfig, args: TdnfArgs, io: Io) => Promise<number>> = {
  async repolist(cfg, args, io) {
    const word = args.args[0] ?? 'enabled';
    if (word !== 'all' && word !== 'enabled' && word !== 'disabled') {
      throw new TdnfError(TDNF.CLI_INVALID_ARGUMENT, `Unknown repolist filter '${word}'`);
    }
    const rows = repolist(cfg, word as RepolistFilter);
    if (args.json) {
      io.stdout(out.json(rows.map((r) => ({ Repo: r.id, RepoName: r.name, Enabled: r.enabled }))));
    } else if (rows.length) {
      const row = (a: string, b: string, c: string) => `${a.padEnd(20)}${b.padEnd(40)}${c.padEnd(10)}\n`;
      io.stdout(row('repo id', 'repo name', 'status') + rows.map((r) => row(r.id, r.name, r.enabled ? 'enabled' : 'disabled')).join(''));
    }
    return 0;
  },
  async clean(cfg, args, io) {
    const what = args.args[0];
    if (what === undefined) throw new TdnfError(TDNF.CLI_CLEAN_REQUIRES_OPTION, 'Clean requires an option: packages, metadata, dbcache, keys, expire-cache, all');
    if (!(CLEAN_KINDS as readonly string[]).includes(what)) {
      throw new TdnfError(TDNF.CLEAN_UNSUPPORTED, 'Clean type specified is not supported in this release. Please try clean all.');
    }
    const r = await clean(cfg, what as CleanKind);
    if (!args.json && !args.quiet) io.stdout(`cleaning ${r.reposUsed.join(' ')}\nDone.\n`);
    return 0;
  },
  async makecache(cfg, args, io) {
    const { refresh: _ignored, ...opts } = repoLoadOptions(args, io);
    await makecache(cfg, opts);
    if (!args.json && !args.quiet) io.stdout('Metadata cache created.\n');
    return 0;
  },
};

/** Commands that open their own session (they change the system, or read its history). */
const SELF_CONTAINED: Record<string, (args: TdnfArgs, io: Io) => Promise<number>> = {
  ...Object.fromEntries(['install', 'reinstall', 'erase', 'autoremove', 'upgrade', 'upgrade-to', 'downgrade', 'distro-sync']
    .map((c) => [c, alterMain])),
  history: historyMain,
  mark: markMain,
  reposync: async (a, io) => (await import('../tdnf/commands/reposync.ts')).main(a, io),
  check: async (a, io) => (await import('../tdnf/commands/check.ts')).main(a, io),
};

function errorOut(e: TdnfError, json: boolean, io: Io): number {
  if (e instanceof TdnfUsageError && e.detail) io.stderr(`${e.detail}\n`);
  if (json) io.stdout(out.json({ Error: e.code, ErrorMessage: e.message }));
  else io.stderr(`Error(${e.code}) : ${e.message}\n`);
  return exitStatus(e.code);
}

/** Runs tdnf with `argv` (no program name); tdnfj passes { json: true, assumeYes: true }. */
export async function tdnf(argv: readonly string[], preset: { json?: boolean; assumeYes?: boolean } = {}, io: Io = processIo): Promise<number> {
  let args: TdnfArgs;
  // Before parsing succeeds we only know -j from the raw words.
  const rawJson = preset.json === true || argv.includes('-j') || argv.includes('--json');
  try {
    args = parseTdnfArgs(argv, preset);
  } catch (e) {
    if (e instanceof TdnfError) return errorOut(e, rawJson, io);
    throw e;
  }
  try {
    if (args.showVersion) {
      io.stdout(args.json ? out.json({ Name: 'tdnf', Version: out.TDNF_VERSION }) : `tdnf: ${out.TDNF_VERSION}\n`);
      return 0;
    }
    if (args.showHelp || args.command === 'help') {
      io.stdout(`${helpText()}\n`);
      return 0;
    }
    if (args.commandName === undefined) {
      if (!args.json) io.stderr(`You need to give some command\n${helpText()}\n`);
      throw new TdnfError(TDNF.CLI_NO_SUCH_CMD, 'Please check your command');
    }
    if (args.command === undefined) {
      if (!args.json) io.stderr(`No such command: ${args.commandName}. Please use /usr/bin/tdnf --help\n`);
      throw new TdnfError(TDNF.CLI_NO_SUCH_CMD, 'Please check your command');
    }
    const configOnly = CONFIG_HANDLERS[args.command];
    if (configOnly) return await configOnly(await configFromArgs(args), args, io);
    const own = SELF_CONTAINED[args.command];
    if (own) return await own(args, io);
    const handler = HANDLERS[args.command];
    if (!handler) throw new TdnfError(TDNF.CLI_NO_SUCH_CMD, `tdnf ${args.command} is not implemented`);
    return await handler(await openSession(args, io), io);
  } catch (e) {
    if (e instanceof TdnfError) return errorOut(e, args.json, io);
    if (isPhotonError(e)) return errorOut(new TdnfError(TDNF.INVALID_PARAMETER, e.describe(), { cause: e }), args.json, io);
    throw e;
  }
}

const isMain = process.argv[1] !== undefined && /tdnfj?(\.[cm]?[jt]s)?$/.test(process.argv[1]);
if (isMain) {
  const asTdnfj = /tdnfj(\.[cm]?[jt]s)?$/.test(process.argv[1]!);
  // No top-level await: the image runs this module as CommonJS (src/cli/tdnf-launch.ts).
  void tdnf(process.argv.slice(2), asTdnfj ? { json: true, assumeYes: true } : {}).then((code) => {
    process.exitCode = code;
  });
}
