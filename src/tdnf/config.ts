/**
 * tdnf's configuration: `tdnf.conf` [main], the `.repo` files in reposdir, vars, the drop-in
 * folders beside tdnf.conf, and the command-line overrides (--setopt, --enablerepo, --repo,
 * --repofrompath …), resolved once into an immutable TdnfConfig.
 *
 * Every setting is declared once, as data (MAIN_SETTINGS, REPO_SETTINGS): its key, kind, default
 * and the field it fills. The readers, the --setopt overrides and the error messages all come
 * from those tables. Defaults and parsing follow C tdnf (client/config.c, repolist.c,
 * defines.h): a repo is disabled unless `enabled=1`, gpgcheck defaults on, priority 50,
 * retries 10, metadata_expire 172800 s; unknown keys are ignored as tdnf ignores them (plugins
 * read their own keys from the same sections), but a value of the wrong kind is an error naming
 * the file and key, where tdnf would silently read 0.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TDNF, TdnfError } from './errors.ts';
import { hostRpmArch } from '../util/arch.ts';
import { globToRegExp, isGlob } from '../util/glob.ts';

// --- the settings tables ------------------------------------------------------------------------

type Kind = 'bool' | 'int' | 'string' | 'list' | 'urls' | 'expire';

interface Setting {
  key: string;
  /** Other spellings tdnf accepts for the same setting. */
  aliases?: readonly string[];
  kind: Kind;
  /** The field of MainConfig / RepoConfig it fills. */
  field: string;
  default: unknown;
}

/** 48 hours, as TDNF_REPO_DEFAULT_METADATA_EXPIRE. */
export const DEFAULT_METADATA_EXPIRE = 172800;

/** tdnf.conf [main]. */
export const MAIN_SETTINGS: readonly Setting[] = [
  { key: 'gpgcheck', kind: 'bool', field: 'gpgcheck', default: false },
  { key: 'installonly_limit', kind: 'int', field: 'installonlyLimit', default: 3 },
  { key: 'installonlypkgs', kind: 'list', field: 'installonlyPkgs', default: ['kernel', 'linux', 'linux-esx', 'linux-rt', 'linux-secure', 'linux-aws'] },
  { key: 'clean_requirements_on_remove', kind: 'bool', field: 'cleanRequirementsOnRemove', default: false },
  { key: 'reposdir', aliases: ['repodir'], kind: 'string', field: 'reposdir', default: '/etc/yum.repos.d' },
  { key: 'cachedir', kind: 'string', field: 'cachedir', default: '/var/cache/tdnf' },
  { key: 'persistdir', kind: 'string', field: 'persistdir', default: '/var/lib/tdnf' },
  { key: 'proxy', kind: 'string', field: 'proxy', default: undefined },
  { key: 'proxy_username', kind: 'string', field: 'proxyUsername', default: undefined },
  { key: 'proxy_password', kind: 'string', field: 'proxyPassword', default: undefined },
  { key: 'keepcache', kind: 'bool', field: 'keepcache', default: false },
  { key: 'distroverpkg', kind: 'list', field: 'distroverpkg', default: ['system-release', 'photon-release'] },
  { key: 'excludepkgs', aliases: ['exclude'], kind: 'list', field: 'excludepkgs', default: [] },
  { key: 'minversions', kind: 'list', field: 'minversions', default: [] },
  { key: 'varsdir', kind: 'list', field: 'varsdir', default: ['/etc/tdnf/vars', '/etc/dnf/vars', '/etc/yum/vars'] },
  { key: 'sslverify', kind: 'bool', field: 'sslverify', default: true },
  { key: 'dnf_check_update_compat', kind: 'bool', field: 'dnfCheckUpdateCompat', default: false },
  { key: 'distrosync_reinstall_changed', kind: 'bool', field: 'distrosyncReinstallChanged', default: false },
  { key: 'openmax', kind: 'int', field: 'openmax', default: 1024 },
  { key: 'plugins', kind: 'bool', field: 'plugins', default: false },
  { key: 'noplugins', kind: 'bool', field: 'noplugins', default: false },
  { key: 'pluginpath', kind: 'string', field: 'pluginpath', default: '/usr/lib/tdnf-plugins' },
  { key: 'pluginconfpath', kind: 'string', field: 'pluginconfpath', default: '/etc/tdnf/pluginconf.d' },
];

/** A [section] of a .repo file. */
export const REPO_SETTINGS: readonly Setting[] = [
  { key: 'enabled', kind: 'bool', field: 'enabled', default: false },
  { key: 'name', kind: 'string', field: 'name', default: undefined },
  { key: 'baseurl', kind: 'urls', field: 'baseurl', default: [] },
  { key: 'metalink', kind: 'string', field: 'metalink', default: undefined },
  { key: 'mirrorlist', kind: 'string', field: 'mirrorlist', default: undefined },
  { key: 'skip_if_unavailable', kind: 'bool', field: 'skipIfUnavailable', default: false },
  { key: 'gpgcheck', kind: 'bool', field: 'gpgcheck', default: true },
  { key: 'gpgkey', kind: 'urls', field: 'gpgkey', default: [] },
  { key: 'repo_gpgcheck', kind: 'bool', field: 'repoGpgcheck', default: false },
  { key: 'username', kind: 'string', field: 'username', default: undefined },
  { key: 'password', kind: 'string', field: 'password', default: undefined },
  { key: 'priority', kind: 'int', field: 'priority', default: 50 },
  { key: 'timeout', kind: 'int', field: 'timeout', default: 0 },
  { key: 'retries', kind: 'int', field: 'retries', default: 10 },
  { key: 'minrate', kind: 'int', field: 'minrate', default: 0 },
  { key: 'throttle', kind: 'int', field: 'throttle', default: 0 },
  { key: 'sslverify', kind: 'bool', field: 'sslverify', default: undefined /* tdnf.conf's */ },
  { key: 'sslcacert', kind: 'string', field: 'sslcacert', default: undefined },
  { key: 'sslclientcert', kind: 'string', field: 'sslclientcert', default: undefined },
  { key: 'sslclientkey', kind: 'string', field: 'sslclientkey', default: undefined },
  { key: 'metadata_expire', kind: 'expire', field: 'metadataExpire', default: DEFAULT_METADATA_EXPIRE },
  { key: 'skip_md_filelists', kind: 'bool', field: 'skipMdFilelists', default: false },
  { key: 'skip_md_updateinfo', kind: 'bool', field: 'skipMdUpdateinfo', default: false },
  { key: 'skip_md_other', kind: 'bool', field: 'skipMdOther', default: false },
];

// --- the result ---------------------------------------------------------------------------------

export interface MainConfig {
  gpgcheck: boolean;
  installonlyLimit: number;
  installonlyPkgs: readonly string[];
  cleanRequirementsOnRemove: boolean;
  /** As written (not yet under the installroot; see TdnfConfig.reposdir). */
  reposdir: string;
  cachedir: string;
  persistdir: string;
  proxy?: string;
  proxyUsername?: string;
  proxyPassword?: string;
  keepcache: boolean;
  distroverpkg: readonly string[];
  excludepkgs: readonly string[];
  minversions: readonly string[];
  varsdir: readonly string[];
  sslverify: boolean;
  dnfCheckUpdateCompat: boolean;
  distrosyncReinstallChanged: boolean;
  openmax: number;
  plugins: boolean;
  noplugins: boolean;
  pluginpath: string;
  pluginconfpath: string;
}

export interface RepoConfig {
  id: string;
  /** `name=`, vars expanded; the id when absent. */
  name: string;
  enabled: boolean;
  baseurl: readonly string[];
  metalink?: string;
  mirrorlist?: string;
  skipIfUnavailable: boolean;
  gpgcheck: boolean;
  gpgkey: readonly string[];
  repoGpgcheck: boolean;
  username?: string;
  password?: string;
  priority: number;
  /** Seconds; 0 = none. */
  timeout: number;
  retries: number;
  /** Bytes per second. */
  minrate: number;
  throttle: number;
  sslverify: boolean;
  sslcacert?: string;
  sslclientcert?: string;
  sslclientkey?: string;
  /** Seconds; -1 = never. */
  metadataExpire: number;
  skipMdFilelists: boolean;
  skipMdUpdateinfo: boolean;
  skipMdOther: boolean;
  /** False for --repofromdir: a folder of RPMs without repodata. */
  hasMetadata: boolean;
  /** The .repo file it came from; undefined for --repofrompath/--repofromdir. */
  file?: string;
  /** `<id>-<8 hex of sha256(metalink | mirrorlist | first baseurl)>`, tdnf's cache folder name. */
  cacheName: string;
}

export interface TdnfConfig {
  /** The tdnf.conf that was read. */
  configFile: string;
  /** '/' when none. */
  installroot: string;
  main: Readonly<MainConfig>;
  /** Every repo, in load order, with --enablerepo/--disablerepo/--repo applied. */
  repos: readonly Readonly<RepoConfig>[];
  /** Absolute paths on the host (under the installroot when it applies). */
  cachedir: string;
  persistdir: string;
  reposdir: string;
  /** The architecture packages are installed for: --forcearch, else the host's (uname -m). */
  arch: string;
  /** Variables used for expansion, without the '$': releasever, basearch, and varsdir's files. */
  vars: Readonly<Record<string, string>>;
  /** excludepkgs + --exclude, empty with --disableexcludes. */
  excludes: readonly string[];
  /** minversions= plus minversions.d/*.conf lines. */
  minversions: readonly string[];
  /** locks.d/*.conf lines. */
  locks: readonly string[];
  /** protected.d/*.conf lines. */
  protected: readonly string[];
  /** Things tdnf would print as warnings (unknown keys are not among them: tdnf is silent). */
  warnings: readonly string[];
}

export interface LoadConfigOptions {
  configFile?: string;
  installroot?: string;
  releasever?: string;
  /** KEY=VALUE, or REPOID.KEY=VALUE for one repo (REPOID may be a glob). */
  setopt?: string[];
  enablerepo?: string[];
  disablerepo?: string[];
  /** --repo/--repoid: only these (globs). */
  repoid?: string[];
  /** ID,PATH|URL */
  repofrompath?: string[];
  /** ID,DIR */
  repofromdir?: string[];
  disableexcludes?: boolean;
  exclude?: string[];
  /**
   * The version of the installed package providing `pkg` in the root's rpmdb, for
   * $releasever; undefined when none provides it. Without it (or when it finds nothing),
   * $releasever stays unexpanded.
   */
  providerVersion?: (root: string, pkg: string) => Promise<string | undefined>;
  /** $basearch and the architecture installed for: --forcearch (default: the host's). */
  basearch?: string;
}

export const DEFAULT_CONFIG_FILE = '/etc/tdnf/tdnf.conf';

// --- ini reading --------------------------------------------------------------------------------

interface IniEntry {
  key: string;
  value: string;
  line: number;
}
interface IniSection {
  name: string;
  line: number;
  entries: IniEntry[];
}

/**
 * Reads an ini file as tdnf's llconf does: `[section]`, `key=value` (spaces around '=' and the
 * value trimmed), '#' and ';' comment lines; a line starting with whitespace continues the
 * previous value (how multi-line baseurl= lists are written). Keys before the first section
 * are an error.
 */
export function parseIni(text: string, file: string, code: number): IniSection[] {
  const sections: IniSection[] = [];
  let cur: IniSection | undefined;
  let last: IniEntry | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const t = raw.trim();
    if (t === '' || t.startsWith('#') || t.startsWith(';')) {
      if (t === '') last = undefined;
      continue;
    }
    if (/^\s/.test(raw) && last) {
      last.value += '\n' + t;
      continue;
    }
    if (t.startsWith('[')) {
      const m = /^\[\s*([^\]]*?)\s*\]$/.exec(t);
      if (!m || !m[1]) throw new TdnfError(code, `${file}:${i + 1}: malformed section header '${t}'`);
      cur = { name: m[1], line: i + 1, entries: [] };
      sections.push(cur);
      last = undefined;
      continue;
    }
    const eq = t.indexOf('=');
    if (eq <= 0) throw new TdnfError(code, `${file}:${i + 1}: expected 'key=value', got '${t}'`);
    if (!cur) throw new TdnfError(code, `${file}:${i + 1}: '${t}' is outside any [section]`);
    last = { key: t.slice(0, eq).trim(), value: t.slice(eq + 1).trim(), line: i + 1 };
    cur.entries.push(last);
  }
  return sections;
}

// --- value parsing ------------------------------------------------------------------------------

/**
 * metadata_expire as tdnf reads it: "never" or a negative number → -1; N with an optional
 * unit s, m, h, d; anything else → 1029.
 */
export function parseMetadataExpire(value: string): number {
  const v = value.trim();
  if (v.toLowerCase() === 'never') return -1;
  const m = /^(-?\d+)([smhd]?)$/.exec(v);
  if (!m) throw new TdnfError(TDNF.METADATA_EXPIRE_PARSE, `metadata_expire value '${value}' could not be parsed`);
  const n = Number(m[1]);
  if (n < 0) return -1;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return n * unit;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** Splits a list value: whitespace, commas and newlines all separate. */
export function splitList(value: string): string[] {
  return value.split(/[\s,]+/).filter((s) => s !== '');
}

function parseValue(s: Setting, value: string, where: () => string, code: number): unknown {
  switch (s.kind) {
    case 'bool': {
      const v = value.toLowerCase();
      if (TRUE.has(v)) return true;
      if (FALSE.has(v)) return false;
      throw new TdnfError(code, `${where()}, key ${s.key}: '${value}' is not a boolean (use 0 or 1)`);
    }
    case 'int': {
      if (!/^-?\d+$/.test(value)) throw new TdnfError(code, `${where()}, key ${s.key}: '${value}' is not an integer`);
      return Number(value);
    }
    case 'string':
      return value;
    case 'list':
    case 'urls':
      return splitList(value);
    case 'expire':
      try {
        return parseMetadataExpire(value);
      } catch (e) {
        if (e instanceof TdnfError) throw new TdnfError(e.code, `${where()}, key ${s.key}: ${e.message}`);
        throw e;
      }
  }
}

function settingOf(table: readonly Setting[], key: string): Setting | undefined {
  return table.find((s) => s.key === key || s.aliases?.includes(key));
}

function defaults(table: readonly Setting[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of table) if (s.default !== undefined) out[s.field] = Array.isArray(s.default) ? [...s.default] : s.default;
  return out;
}

// --- vars ---------------------------------------------------------------------------------------

/** `$name` and `${name}` replaced from `vars`; unknown names stay as written (tdnf does too). */
export function expandVars(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$(?:\{(\w+)\}|(\w+))/g, (all, a: string | undefined, b: string | undefined) => {
    const v = vars[(a ?? b)!];
    return v === undefined ? all : v;
  });
}

async function readVarsDirs(dirs: readonly string[], root: string): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  for (const d of dirs) {
    const dir = underRoot(root, d);
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch {
      continue;
    }
    for (const n of names) {
      if (!/^\w+$/.test(n) || n in vars) continue;
      try {
        const text = await readFile(join(dir, n), 'utf8');
        vars[n] = (text.split('\n')[0] ?? '').trim();
      } catch {
        // a folder or unreadable file in varsdir is not a var
      }
    }
  }
  return vars;
}

/** x86_64 / aarch64 … as uname -m (what tdnf uses for $basearch). */
export const hostBasearch = hostRpmArch;

// --- helpers ------------------------------------------------------------------------------------

function underRoot(root: string, p: string): string {
  return root === '/' || root === '' ? p : join(root, p);
}


/** tdnf's cache folder name: `<id>-<first 8 hex of sha256(url)>`. */
export function repoCacheName(id: string, url: string | undefined): string {
  if (url === undefined) return id;
  return `${id}-${createHash('sha256').update(url).digest('hex').slice(0, 8)}`;
}

/** Lines of every *.conf in `dir` (sorted by name), comments and blanks dropped; none if no dir. */
async function readDropIns(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.conf')).sort();
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    const text = await readFile(join(dir, n), 'utf8').catch(() => '');
    for (const l of text.split('\n')) {
      const t = l.trim();
      if (t && !t.startsWith('#')) out.push(t);
    }
  }
  return out;
}

interface SetOpt {
  repo?: string;
  key: string;
  value: string;
}

function parseSetopts(list: readonly string[]): SetOpt[] {
  return list.map((s) => {
    const eq = s.indexOf('=');
    if (eq < 0) throw new TdnfError(TDNF.CLI_SETOPT_NO_EQUALS, `Missing equal sign in setopt argument. setopt requires an argument of the form key=value.`);
    const k = s.slice(0, eq).trim();
    const value = s.slice(eq + 1).trim();
    const dot = k.lastIndexOf('.');
    return dot > 0 ? { repo: k.slice(0, dot), key: k.slice(dot + 1), value } : { key: k, value };
  });
}

// --- loading ------------------------------------------------------------------------------------

function newRepo(id: string, main: MainConfig): Record<string, unknown> {
  return { ...defaults(REPO_SETTINGS), id, sslverify: main.sslverify, hasMetadata: true };
}

async function readRepoFile(path: string, main: MainConfig): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new TdnfError(TDNF.REPO_FILE_LOAD, `Error loading tdnf repo file ${path}: ${(e as Error).message}`, { cause: e });
  }
  const sections = parseIni(text, path, TDNF.INVALID_REPO_FILE);
  return sections.map((sec) => {
    const repo = newRepo(sec.name, main);
    repo['file'] = path;
    for (const e of sec.entries) {
      const s = settingOf(REPO_SETTINGS, e.key);
      if (!s) continue; // tdnf ignores keys it does not know (plugins read theirs)
      repo[s.field] = parseValue(s, e.value, () => `Invalid value in file ${path}:${e.line}, repo ${sec.name}`, TDNF.INVALID_REPO_FILE);
    }
    return repo;
  });
}

export async function loadConfig(opts: LoadConfigOptions = {}): Promise<TdnfConfig> {
  const installroot = opts.installroot && opts.installroot !== '/' ? opts.installroot : '/';
  // With --installroot and no -c, the root's own tdnf.conf is the one that applies.
  const configFile = opts.configFile ?? underRoot(installroot, DEFAULT_CONFIG_FILE);
  const rootRelative = opts.configFile === undefined && installroot !== '/';
  let text: string;
  try {
    text = await readFile(configFile, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    // tdnf's ini reader fails with errno, which tdnf reports as a system error (1600 + errno).
    if (err.code === 'ENOENT') throw new TdnfError(TDNF.FILE_NOT_FOUND, `Error loading tdnf conf ${configFile}: No such file or directory`, { cause: e });
    if (err.code === 'EACCES') throw new TdnfError(TDNF.ACCESS_DENIED, `Error loading tdnf conf ${configFile}: Permission denied`, { cause: e });
    throw new TdnfError(TDNF.CONF_FILE_LOAD, `Error loading tdnf conf (${configFile}): ${err.message}`, { cause: e });
  }
  const sections = parseIni(text, configFile, TDNF.CONF_FILE_LOAD);
  const mainSection = sections.find((s) => s.name === 'main');
  if (!mainSection) throw new TdnfError(TDNF.CONF_FILE_LOAD, `Error loading tdnf conf (${configFile}): no [main] section`);
  const main = defaults(MAIN_SETTINGS);
  for (const e of mainSection.entries) {
    const s = settingOf(MAIN_SETTINGS, e.key);
    if (!s) continue;
    main[s.field] = parseValue(s, e.value, () => `Invalid value in file ${configFile}:${e.line}`, TDNF.INVALID_CONF);
  }
  const setopts = parseSetopts(opts.setopt ?? []);
  for (const o of setopts) {
    if (o.repo !== undefined) continue;
    const s = settingOf(MAIN_SETTINGS, o.key);
    if (s) main[s.field] = parseValue(s, o.value, () => `Invalid value in --setopt`, TDNF.INVALID_CONF);
  }
  const mainCfg = main as unknown as MainConfig;

  const warnings: string[] = [];
  const confDir = dirname(configFile);
  const [minversionsD, locks, protectedPkgs] = await Promise.all([
    readDropIns(join(confDir, 'minversions.d')), readDropIns(join(confDir, 'locks.d')), readDropIns(join(confDir, 'protected.d')),
  ]);

  // Paths in tdnf.conf are in the root's namespace when the config is the root's.
  const fix = (p: string): string => (rootRelative ? underRoot(installroot, p) : p);
  const reposdir = fix(mainCfg.reposdir);
  const cachedir = installroot !== '/' ? underRoot(installroot, mainCfg.cachedir) : mainCfg.cachedir;
  const persistdir = installroot !== '/' ? underRoot(installroot, mainCfg.persistdir) : mainCfg.persistdir;

  // vars: files in varsdir, then $basearch and $releasever (which win, as in tdnf).
  const vars: Record<string, string> = await readVarsDirs(mainCfg.varsdir, rootRelative ? installroot : '/');
  vars['basearch'] = opts.basearch ?? vars['basearch'] ?? hostBasearch();
  let releasever = opts.releasever ?? vars['releasever'];
  if (releasever === undefined && opts.providerVersion) {
    for (const pkg of mainCfg.distroverpkg) {
      releasever = await opts.providerVersion(installroot, pkg);
      if (releasever !== undefined) break;
    }
  }
  if (releasever !== undefined) vars['releasever'] = releasever;

  // Repos: --repofrompath / --repofromdir first (as tdnf lists them), then reposdir's files.
  const raw: Record<string, unknown>[] = [];
  for (const spec of opts.repofrompath ?? []) {
    const [id, path] = splitPair(spec, '--repofrompath');
    const r = newRepo(id, mainCfg);
    r['enabled'] = true;
    r['name'] = id;
    let url = path;
    if (path.startsWith('/')) {
      const st = await stat(path).catch(() => undefined);
      if (!st?.isDirectory()) throw new TdnfError(TDNF.INVALID_PARAMETER, `${path} is not a directory`);
      url = `file://${path}`;
    } else if (!/^(https?|ftp|file):\/\//.test(path)) {
      throw new TdnfError(TDNF.URL_INVALID, `invalid url '${path}' for repo ${id}`);
    }
    r['baseurl'] = [url];
    raw.push(r);
  }
  for (const spec of opts.repofromdir ?? []) {
    const [id, path] = splitPair(spec, '--repofromdir');
    const st = await stat(path).catch(() => undefined);
    if (!st?.isDirectory()) throw new TdnfError(TDNF.INVALID_PARAMETER, `${path} is not a directory`);
    const r = newRepo(id, mainCfg);
    r['enabled'] = true;
    r['name'] = id;
    r['baseurl'] = [path];
    r['hasMetadata'] = false;
    raw.push(r);
  }
  let files: string[];
  try {
    files = (await readdir(reposdir)).filter((n) => n.endsWith('.repo') && n.length > 5).sort();
  } catch (e) {
    throw new TdnfError(TDNF.REPO_DIR_OPEN, `Error opening repo dir ${reposdir}. Check if the repodir configured in tdnf.conf exists (usually /etc/yum.repos.d)`, { cause: e });
  }
  for (const f of files) raw.push(...(await readRepoFile(join(reposdir, f), mainCfg)));

  const seen = new Map<string, Record<string, unknown>>();
  for (const r of raw) {
    const id = r['id'] as string;
    const prev = seen.get(id);
    if (prev) {
      const where = [prev['file'], r['file']].filter(Boolean).join(' and ');
      throw new TdnfError(TDNF.DUPLICATE_REPO_ID, `duplicate repo id: ${id}${where ? ` (in ${where})` : ''}`);
    }
    seen.set(id, r);
  }

  // Repo-scoped --setopt=ID.key=value.
  for (const o of setopts) {
    if (o.repo === undefined) continue;
    const s = settingOf(REPO_SETTINGS, o.key);
    if (!s) continue;
    const re = globToRegExp(o.repo);
    for (const r of raw) {
      if (re.test(r['id'] as string)) r[s.field] = parseValue(s, o.value, () => `Invalid value in --setopt for repo ${r['id']}`, TDNF.INVALID_CONF);
    }
  }

  // Enable/disable in command-line order as tdnf applies them; --repo disables all others once.
  const alter = (pattern: string, on: boolean): void => {
    const glob = isGlob(pattern);
    const re = glob ? globToRegExp(pattern) : undefined;
    for (const r of raw) {
      if (re ? re.test(r['id'] as string) : r['id'] === pattern) r['enabled'] = on;
    }
  };
  for (const p of opts.enablerepo ?? []) for (const x of splitList(p)) alter(x, true);
  for (const p of opts.disablerepo ?? []) for (const x of splitList(p)) alter(x, false);
  if (opts.repoid?.length) {
    alter('*', false);
    for (const p of opts.repoid) for (const x of splitList(p)) alter(x, true);
  }

  const repos: RepoConfig[] = raw.map((r) => {
    const x = (s: unknown): string => expandVars(String(s), vars);
    const baseurl = (r['baseurl'] as string[]).map(x);
    const metalink = r['metalink'] === undefined ? undefined : x(r['metalink']);
    const mirrorlist = r['mirrorlist'] === undefined ? undefined : x(r['mirrorlist']);
    const id = r['id'] as string;
    const repo: RepoConfig = {
      ...(r as unknown as RepoConfig),
      name: r['name'] === undefined ? id : x(r['name']),
      baseurl,
      gpgkey: (r['gpgkey'] as string[]).map(x),
      cacheName: repoCacheName(id, metalink ?? mirrorlist ?? baseurl[0]),
    };
    if (metalink !== undefined) repo.metalink = metalink;
    else delete repo.metalink;
    if (mirrorlist !== undefined) repo.mirrorlist = mirrorlist;
    else delete repo.mirrorlist;
    return Object.freeze(repo);
  });

  const excludes = opts.disableexcludes ? [] : [...mainCfg.excludepkgs, ...(opts.exclude ?? []).flatMap(splitList)];
  return Object.freeze({
    configFile, installroot, main: Object.freeze(mainCfg), repos: Object.freeze(repos), cachedir, persistdir, reposdir,
    vars: Object.freeze(vars), excludes, minversions: [...mainCfg.minversions, ...minversionsD], locks, protected: protectedPkgs,
    arch: opts.basearch ?? hostBasearch(), warnings,
  });
}

function splitPair(spec: string, option: string): [string, string] {
  const i = spec.indexOf(',');
  if (i <= 0 || i === spec.length - 1) throw new TdnfError(TDNF.INVALID_PARAMETER, `${option} expects ID,PATH, got '${spec}'`);
  return [spec.slice(0, i), spec.slice(i + 1)];
}

/** The repos that are enabled. */
export function enabledRepos(cfg: TdnfConfig): readonly Readonly<RepoConfig>[] {
  return cfg.repos.filter((r) => r.enabled);
}
