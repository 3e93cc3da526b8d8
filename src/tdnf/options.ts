/**
 * tdnf's command line: the option table of tools/cli/lib/parseargs.c, parsed the way its
 * getopt_long_only() call parses it, so that scripts written against tdnf keep working:
 *
 * - long options with `--` or a single `-` (`-installroot=/r`, `-j` = `--json`), `=value` or the
 *   next argument; an unambiguous prefix of a long name (`--inst` for `--installroot`);
 *   long_only makes any second prefix match ambiguous, which tdnf reports as no such option;
 * - short options `-46bCc:d:e:hi:qvxy`, clustered (`-yq`), values attached or separate;
 * - options anywhere: GNU getopt permutes, so `tdnf list --installed` and
 *   `tdnf --installed list` mean the same; `--` ends options.
 *
 * Errors are tdnf's: an unknown or ambiguous option is 908 (with "No such option: ARG. Please
 * use /usr/bin/tdnf --help" as the detail line), a missing value 909 ("Option ARG requires an
 * argument"), `--setopt` without '=' 911, a relative --installroot 1622.
 */
import { TDNF, TdnfError } from './errors.ts';

export interface OptionDef {
  long: string;
  short?: string;
  /** Takes a value. */
  value?: boolean;
  /** Values accumulate (--enablerepo a --enablerepo b); otherwise the last one wins. */
  repeat?: boolean;
}

/** tdnf 3.5's options, in its table's order (order matters only for the help text). */
export const OPTIONS: readonly OptionDef[] = [
  { long: '4', short: '4' },
  { long: '6', short: '6' },
  { long: 'alldeps' },
  { long: 'allowerasing' },
  { long: 'assumeno' },
  { long: 'assumeyes', short: 'y' },
  { long: 'best', short: 'b' },
  { long: 'builddeps' },
  { long: 'cacheonly', short: 'C' },
  { long: 'config', short: 'c', value: true },
  { long: 'debuglevel', short: 'd', value: true },
  { long: 'debugsolver' },
  { long: 'disableexcludes' },
  { long: 'disableplugin', value: true, repeat: true },
  { long: 'disablerepo', value: true, repeat: true },
  { long: 'downloaddir', value: true },
  { long: 'downloadonly' },
  { long: 'enableplugin', value: true, repeat: true },
  { long: 'enablerepo', value: true, repeat: true },
  { long: 'exclude', value: true, repeat: true },
  { long: 'forcearch', value: true },
  { long: 'help', short: 'h' },
  { long: 'installroot', short: 'i', value: true },
  { long: 'json' },
  { long: 'noautoremove' },
  { long: 'nodeps' },
  { long: 'nogpgcheck' },
  { long: 'nocligpgcheck' },
  { long: 'noplugins' },
  { long: 'quiet', short: 'q' },
  { long: 'refresh' },
  { long: 'releasever', value: true },
  { long: 'reboot-required' },
  { long: 'repo', value: true, repeat: true },
  { long: 'repofromdir', value: true, repeat: true },
  { long: 'repofrompath', value: true, repeat: true },
  { long: 'repoid', value: true, repeat: true },
  { long: 'rpmverbosity', value: true },
  { long: 'rpmdefine', value: true, repeat: true },
  { long: 'sec-severity', value: true },
  { long: 'security' },
  { long: 'setopt', value: true, repeat: true },
  { long: 'skip-broken' },
  { long: 'skipconflicts' },
  { long: 'skipdigest' },
  { long: 'skipobsoletes' },
  { long: 'skipsignature' },
  { long: 'source' },
  { long: 'testonly' },
  { long: 'verbose', short: 'v' },
  { long: 'version' },
  // reposync
  { long: 'arch', value: true, repeat: true },
  { long: 'delete' },
  { long: 'download-metadata' },
  { long: 'download-path', value: true },
  { long: 'gpgcheck' },
  { long: 'metadata-path', value: true },
  { long: 'newest-only' },
  { long: 'norepopath' },
  { long: 'urls' },
  // repoquery selection
  { long: 'available' },
  { long: 'extras' },
  { long: 'file', value: true, repeat: true },
  { long: 'installed' },
  { long: 'userinstalled' },
  { long: 'upgrades' },
  { long: 'whatdepends', value: true, repeat: true },
  { long: 'whatprovides', value: true, repeat: true },
  { long: 'whatobsoletes', value: true, repeat: true },
  { long: 'whatconflicts', value: true, repeat: true },
  { long: 'whatrequires', value: true, repeat: true },
  { long: 'whatrecommends', value: true, repeat: true },
  { long: 'whatsuggests', value: true, repeat: true },
  { long: 'whatsupplements', value: true, repeat: true },
  { long: 'whatenhances', value: true, repeat: true },
  // repoquery output
  { long: 'changelogs' },
  { long: 'conflicts' },
  { long: 'depends' },
  { long: 'duplicates' },
  { long: 'enhances' },
  { long: 'list' },
  { long: 'location' },
  { long: 'obsoletes' },
  { long: 'provides' },
  { long: 'qf', value: true },
  { long: 'recommends' },
  { long: 'requires' },
  { long: 'requires-pre' },
  { long: 'suggests' },
  { long: 'supplements' },
  // updateinfo modes (and 'list' above), list/updateinfo scopes
  { long: 'all' },
  { long: 'info' },
  { long: 'summary' },
  { long: 'recent' },
  { long: 'updates' },
  { long: 'downgrades' },
  // history
  { long: 'to', value: true },
  { long: 'from', value: true },
  { long: 'reverse' },
];

/** tdnf's short options (the getopt string "46bCc:d:e:hi:qvxy"); -e, -x are accepted and ignored. */
const SHORT: ReadonlyMap<string, { long: string; value: boolean }> = new Map([
  ['4', { long: '4', value: false }], ['6', { long: '6', value: false }], ['b', { long: 'best', value: false }],
  ['C', { long: 'cacheonly', value: false }], ['c', { long: 'config', value: true }],
  ['d', { long: 'debuglevel', value: true }], ['e', { long: '-e', value: true }], ['h', { long: 'help', value: false }],
  ['i', { long: 'installroot', value: true }], ['q', { long: 'quiet', value: false }],
  ['v', { long: 'verbose', value: false }], ['x', { long: '-x', value: false }], ['y', { long: 'assumeyes', value: false }],
]);

const BY_NAME: ReadonlyMap<string, OptionDef> = new Map(OPTIONS.map((o) => [o.long, o]));

/** Canonical command names; the keys are every name tdnf accepts (main.c's command map). */
export const COMMAND_ALIASES: Readonly<Record<string, string>> = {
  autoerase: 'autoremove', autoremove: 'autoremove',
  check: 'check', 'check-local': 'check-local', 'check-update': 'check-update',
  clean: 'clean', count: 'count', 'distro-sync': 'distro-sync', downgrade: 'downgrade',
  erase: 'erase', remove: 'erase', help: 'help', history: 'history', info: 'info', install: 'install',
  list: 'list', makecache: 'makecache', mark: 'mark', provides: 'provides', whatprovides: 'provides',
  reinstall: 'reinstall', repolist: 'repolist', reposync: 'reposync', repoquery: 'repoquery',
  search: 'search', update: 'upgrade', upgrade: 'upgrade', 'update-to': 'upgrade-to', 'upgrade-to': 'upgrade-to',
  updateinfo: 'updateinfo',
};

export interface SetOpt {
  /** Set for `--setopt=REPOID.key=value`: an option of that repository. */
  repo?: string;
  key: string;
  value: string;
}

export interface RepoFromPath {
  id: string;
  path: string;
}

/** The parsed command line. Command-specific options stay in `options`, read with flag()/values(). */
export interface TdnfArgs {
  /** The command as typed (`cmds[0]`), undefined when none was given. */
  commandName: string | undefined;
  /** Canonical command (aliases resolved), undefined when unknown or none. */
  command: string | undefined;
  /** The words after the command. */
  args: string[];
  assumeYes: boolean;
  assumeNo: boolean;
  quiet: boolean;
  verbose: boolean;
  json: boolean;
  debugSolver: boolean;
  cacheOnly: boolean;
  refresh: boolean;
  best: boolean;
  allowErasing: boolean;
  skipBroken: boolean;
  skipConflicts: boolean;
  skipObsoletes: boolean;
  noAutoremove: boolean;
  noGpgCheck: boolean;
  skipSignature: boolean;
  skipDigest: boolean;
  downloadOnly: boolean;
  allDeps: boolean;
  noDeps: boolean;
  source: boolean;
  testOnly: boolean;
  noPlugins: boolean;
  disableExcludes: boolean;
  security: boolean;
  rebootRequired: boolean;
  showHelp: boolean;
  showVersion: boolean;
  /** Absolute; '/' by default. */
  installRoot: string;
  config: string | undefined;
  releaseVer: string | undefined;
  /** --forcearch: the architecture to install for (and $basearch) instead of the host's. */
  forceArch: string | undefined;
  secSeverity: string | undefined;
  downloadDir: string | undefined;
  enableRepo: string[];
  disableRepo: string[];
  /** --repo/--repoid: only these repositories. */
  repo: string[];
  repoFromPath: RepoFromPath[];
  repoFromDir: RepoFromPath[];
  /** --exclude values split at ',' and ':' as tdnf splits them. */
  exclude: string[];
  setopt: SetOpt[];
  rpmDefine: string[];
  /** Every option given, by long name, values in order ('1' for flags). */
  options: Map<string, string[]>;
}

/** tdnfclierror.h's ERROR_TDNF_CLI_NODEPS_REQUIRES_DOWNLOADONLY (errors.ts stops at 915). */
export const CLI_NODEPS_REQUIRES_DOWNLOADONLY = 916;

export const NO_SUCH_OPTION = (arg: string): string => `No such option: ${arg}. Please use /usr/bin/tdnf --help`;

/** A TdnfError that carries tdnf's detail line (printed before `Error(N) : …`). */
export class TdnfUsageError extends TdnfError {
  readonly detail: string | undefined;
  constructor(code: number, message: string, detail?: string) {
    super(code, message);
    this.detail = detail;
  }
}

const CLI_MESSAGES: Record<number, string> = {
  [TDNF.CLI_OPTION_NAME_INVALID]: 'Command line error: option is invalid.',
  [TDNF.CLI_OPTION_ARG_REQUIRED]: 'Command line error: expected one argument.',
  [TDNF.CLI_OPTION_ARG_UNEXPECTED]: 'Command line error: argument was unexpected.',
  [TDNF.CLI_SETOPT_NO_EQUALS]: 'Missing equal sign in setopt argument. setopt requires an argument of the form key=value.',
  [TDNF.CLI_DOWNLOADDIR_REQUIRES_DOWNLOADONLY]: '--downloaddir requires --downloadonly',
  [TDNF.CLI_ALLDEPS_REQUIRES_DOWNLOADONLY]: '--alldeps requires --downloadonly',
  [CLI_NODEPS_REQUIRES_DOWNLOADONLY]: '--nodeps requires --downloadonly',
};

function cliError(code: number, detail?: string): TdnfUsageError {
  return new TdnfUsageError(code, CLI_MESSAGES[code] ?? 'Invalid argument.', detail);
}

/** getopt_long_only's lookup: an exact name, else the only name it prefixes. */
function findLong(name: string): OptionDef | 'ambiguous' | undefined {
  const exact = BY_NAME.get(name);
  if (exact) return exact;
  if (!name) return undefined;
  const matches = OPTIONS.filter((o) => o.long.startsWith(name));
  if (matches.length === 1) return matches[0];
  return matches.length ? 'ambiguous' : undefined;
}

/** Parses argv (without the program name). `json`/`assumeYes` preset them (tdnfj). */
export function parseTdnfArgs(argv: readonly string[], preset: { json?: boolean; assumeYes?: boolean } = {}): TdnfArgs {
  const options = new Map<string, string[]>();
  const words: string[] = [];
  const put = (long: string, value: string): void => {
    const def = BY_NAME.get(long);
    const list = options.get(long) ?? [];
    if (def && !def.repeat) list.length = 0;
    list.push(value);
    options.set(long, list);
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      words.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      words.push(a);
      continue;
    }
    const dashes = a.startsWith('--') ? 2 : 1;
    const body = a.slice(dashes);
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    // long_only: a single-dash word is tried as a long option first, unless it is one known
    // short option letter on its own ("-v" stays --verbose though "v" prefixes two names).
    const tryLong = dashes === 2 || body.length > 1 || !SHORT.has(body);
    const found = tryLong ? findLong(name) : undefined;
    if (found === 'ambiguous' || (found === undefined && (dashes === 2 || !SHORT.has(body[0]!)))) {
      throw cliError(TDNF.CLI_OPTION_NAME_INVALID, NO_SUCH_OPTION(a));
    }
    if (found) {
      if (!found.value) {
        // getopt rejects a value given to a flag; tdnf then looks the whole word up and fails.
        if (eq >= 0) throw cliError(TDNF.CLI_OPTION_NAME_INVALID, NO_SUCH_OPTION(a));
        put(found.long, '1');
        continue;
      }
      let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : argv[++i];
      if (value === undefined) {
        // tdnf re-checks the word as typed: a full name says "requires an argument", a prefix
        // is not found by its exact lookup.
        if (found.long === name) throw cliError(TDNF.CLI_OPTION_ARG_REQUIRED, `Option ${a} requires an argument`);
        throw cliError(TDNF.CLI_OPTION_NAME_INVALID, NO_SUCH_OPTION(a));
      }
      if (value === '') throw cliError(TDNF.CLI_OPTION_ARG_REQUIRED);
      put(found.long, value);
      continue;
    }
    // A cluster of short options.
    for (let j = 1; j < a.length; j++) {
      const s = SHORT.get(a[j]!);
      if (!s) throw cliError(TDNF.CLI_OPTION_NAME_INVALID, NO_SUCH_OPTION(a));
      if (!s.value) {
        put(s.long, '1');
        continue;
      }
      let value: string | undefined = a.slice(j + 1);
      if (!value) value = argv[++i];
      if (value === undefined) throw cliError(TDNF.CLI_OPTION_ARG_REQUIRED, `Option ${a} requires an argument`);
      if (value === '') throw cliError(TDNF.CLI_OPTION_ARG_REQUIRED);
      put(s.long, value);
      break;
    }
  }

  for (const w of words) {
    if (w === '') throw new TdnfUsageError(TDNF.INVALID_PARAMETER, 'Invalid argument', 'argument is empty string');
  }
  const has = (k: string): boolean => options.has(k);
  const last = (k: string): string | undefined => options.get(k)?.at(-1);
  const all = (k: string): string[] => options.get(k) ?? [];

  const installRoot = last('installroot') ?? '/';
  if (!installRoot.startsWith('/')) {
    throw new TdnfUsageError(TDNF.INVALID_PARAMETER, 'Invalid argument', 'Install root must be an absolute path.');
  }
  const setopt: SetOpt[] = [];
  const exclude: string[] = [];
  for (const v of all('setopt')) {
    const eq = v.indexOf('=');
    if (eq < 0) throw cliError(TDNF.CLI_SETOPT_NO_EQUALS);
    const k = v.slice(0, eq);
    const dot = k.indexOf('.');
    const value = v.slice(eq + 1);
    if (dot >= 0) setopt.push({ repo: k.slice(0, dot), key: k.slice(dot + 1), value });
    else if (k === 'exclude') exclude.push(...value.split(/[,:]/).filter(Boolean));
    else setopt.push({ key: k, value });
  }
  for (const v of all('exclude')) exclude.push(...v.split(/[,:]/).filter(Boolean));
  const idPath = (opt: string, v: string): RepoFromPath => {
    const comma = v.indexOf(',');
    if (comma <= 0 || comma === v.length - 1) {
      throw new TdnfError(TDNF.INVALID_PARAMETER, `Invalid argument: --${opt} expects ID,PATH`);
    }
    return { id: v.slice(0, comma), path: v.slice(comma + 1) };
  };

  const args: TdnfArgs = {
    commandName: words[0],
    command: words[0] !== undefined ? COMMAND_ALIASES[words[0]] : undefined,
    args: words.slice(1),
    assumeYes: preset.assumeYes === true || has('assumeyes'),
    assumeNo: has('assumeno'),
    quiet: has('quiet'),
    verbose: has('verbose'),
    json: preset.json === true || has('json'),
    debugSolver: has('debugsolver'),
    cacheOnly: has('cacheonly'),
    refresh: has('refresh'),
    best: has('best'),
    allowErasing: has('allowerasing'),
    skipBroken: has('skip-broken'),
    skipConflicts: has('skipconflicts'),
    skipObsoletes: has('skipobsoletes'),
    noAutoremove: has('noautoremove'),
    noGpgCheck: has('nogpgcheck'),
    skipSignature: has('skipsignature'),
    skipDigest: has('skipdigest'),
    downloadOnly: has('downloadonly'),
    allDeps: has('alldeps'),
    noDeps: has('nodeps'),
    source: has('source'),
    testOnly: has('testonly'),
    noPlugins: has('noplugins'),
    disableExcludes: has('disableexcludes'),
    security: has('security'),
    rebootRequired: has('reboot-required'),
    showHelp: has('help'),
    showVersion: has('version'),
    installRoot,
    config: last('config'),
    releaseVer: last('releasever'),
    forceArch: last('forcearch'),
    secSeverity: last('sec-severity'),
    downloadDir: last('downloaddir'),
    enableRepo: all('enablerepo'),
    disableRepo: all('disablerepo'),
    repo: [...all('repo'), ...all('repoid')],
    repoFromPath: all('repofrompath').map((v) => idPath('repofrompath', v)),
    repoFromDir: all('repofromdir').map((v) => idPath('repofromdir', v)),
    exclude,
    setopt,
    rpmDefine: all('rpmdefine'),
    options,
  };
  if (args.downloadDir !== undefined && !args.downloadOnly) throw cliError(TDNF.CLI_DOWNLOADDIR_REQUIRES_DOWNLOADONLY);
  if (args.allDeps && !args.downloadOnly) throw cliError(TDNF.CLI_ALLDEPS_REQUIRES_DOWNLOADONLY);
  if (args.noDeps && !args.downloadOnly) throw cliError(CLI_NODEPS_REQUIRES_DOWNLOADONLY);
  return args;
}

/** Whether flag `long` was given. */
export function flag(args: TdnfArgs, long: string): boolean {
  return args.options.has(long);
}

/** The values of option `long`; comma-separated lists (--whatprovides a,b) split. */
export function values(args: TdnfArgs, long: string, split = false): string[] {
  const v = args.options.get(long) ?? [];
  return split ? v.flatMap((x) => x.split(',')).filter(Boolean) : v;
}
