#!/usr/bin/env node
/**
 * `tdnf-automatic`: C tdnf's tdnf-automatic script (bin/tdnf-automatic.in) in TypeScript, driving
 * our tdnf in-process (src/cli/tdnf.ts's `tdnf()`), with the script's options, automatic.conf
 * keys, messages and exit codes:
 *
 *   tdnf-automatic [-c|--conf FILE] [-i|--install] [-n|--notify] [-t|--timer] [-h] [-v]
 *
 * - automatic.conf (default /etc/tdnf/automatic.conf): [commands] upgrade_type = all|security,
 *   random_sleep, network_online_timeout, show_updates, apply_updates; [emitter] system_name,
 *   emit_to_stdio, emit_to_file; [base] tdnf_conf. Anything else is "Invalid entry …" (22).
 * - --timer sleeps a random 0…random_sleep seconds first ("Sleep for N second(s)...").
 * - network_online_timeout > 0: refresh the cache and wait for an enabled repo, else "System is
 *   off-line..." (64).
 * - Mode: --notify shows the available updates, --install applies them (notify wins when both);
 *   neither: show_updates / apply_updates decide (show unless show_updates=no and
 *   apply_updates=yes). Applying runs `tdnf -c CONF -y upgrade` (`--security update` for
 *   upgrade_type=security) through the alter command.
 * - Messages go to stdout (emit_to_stdio) and/or emit_to_file (an older non-empty file is kept
 *   as FILE.tdnf-automatic-DATE.bak).
 *
 * Our addition: `--installroot DIR` passes --installroot to every tdnf run (for images and
 * tests; the C script always works on /).
 */
import { randomInt } from 'node:crypto';
import { hostname } from 'node:os';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { TDNF_VERSION } from '../tdnf/output.ts';
import { type Io, tdnf } from './tdnf.ts';

export const DEFAULT_AUTOMATIC_CONF = '/etc/tdnf/automatic.conf';
const DEFAULT_TDNF_CONF = '/etc/tdnf/tdnf.conf';

class Exit extends Error {
  constructor(readonly status: number) {
    super(`exit ${status}`);
  }
}

export interface AutomaticEnv {
  io: Io;
  /** Seconds to sleep (tests pass a stub). */
  sleep?: (seconds: number) => Promise<void>;
  now?: () => Date;
  /** Runs tdnf with argv; defaults to our tdnf in-process. */
  tdnf?: (argv: string[], io: Io) => Promise<number>;
  uid?: number;
}

const HELP = [
  '',
  'tdnf-automatic help:',
  'tdnf-automatic [{-c|--conf config-file}(optional)] [{-i|--install}] [{-n|--notify}] [{-h|--help}] [{-v|--version}]',
  '',
  '-c, --conf\ttdnf-automatic configuration file (Optional argument)',
  '-i, --install\tOverride automatic.conf apply_updates and install updates',
  '-n, --notify\tShow available updates',
  '-h, --help\tShow this help message',
  '-v, --version\tShow tdnf-automatic version information',
  '',
].join('\n');

/** The script's StrToBool: yes/no words, else "Invalid input" and 22. */
function strToBool(v: string | undefined, io: Io): boolean {
  if (v === undefined || v === '') return false;
  const l = v.toLowerCase();
  if (['yes', '1', 'true', 'y', 'on', 't'].includes(l)) return true;
  if (['no', '0', 'false', 'n', 'off', 'f'].includes(l)) return false;
  io.stderr(`Invalid input(${l}) to StrToBool...\n`);
  throw new Exit(22);
}

/** automatic.conf as the script's ParseINI reads it: `section|key` → value (the last one wins). */
export function parseAutomaticConf(text: string): Map<string, string> {
  const data = new Map<string, string>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const h = /\[(.+)\]/.exec(line);
    if (h) {
      section = h[1]!.split(']')[0]!.trim();
      continue;
    }
    const eq = line.indexOf('=');
    const key = (eq < 0 ? line : line.slice(0, eq)).trim();
    const rest = eq < 0 ? line : line.slice(eq + 1);
    // cut -d'=' -f2: the text up to a second '='.
    data.set(`${section}|${key}`, rest.split('=')[0]!.trim());
  }
  return data;
}

function validate(data: Map<string, string>, io: Io): void {
  const errors: string[] = [];
  for (const [k, val] of data) {
    const [section, key] = k.split('|') as [string, string];
    let bad = false;
    if (section === 'commands') {
      if (key === 'upgrade_type') bad = val !== 'all' && val !== 'security';
      else if (key === 'random_sleep' || key === 'network_online_timeout') bad = !/^\d+$/.test(val);
      else if (key === 'show_updates' || key === 'apply_updates') strToBool(val, io);
      else bad = true;
    } else if (section === 'base') {
      bad = key !== 'tdnf_conf' || val === '';
    } else if (section === 'emitter') {
      if (key === 'emit_to_stdio') strToBool(val, io);
      else if (key === 'emit_to_file' || key === 'system_name') bad = val === '';
      else bad = true;
    } else bad = true;
    if (bad) errors.push(`\nInvalid entry '${section}'|'${key}'='${val}'`);
  }
  if (errors.length) {
    io.stderr(`${errors.join('')}\n`);
    throw new Exit(22);
  }
}

async function nonEmpty(path: string): Promise<boolean> {
  return ((await stat(path).catch(() => undefined))?.size ?? 0) > 0;
}

/** Runs tdnf, collecting what it prints. */
async function capture(run: NonNullable<AutomaticEnv['tdnf']>, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } });
  return { code, out, err };
}

export async function tdnfAutomatic(argv: readonly string[], env: AutomaticEnv): Promise<number> {
  const io = env.io;
  const now = env.now ?? (() => new Date());
  const sleep = env.sleep ?? ((s: number) => new Promise<void>((r) => setTimeout(r, s * 1000)));
  const runTdnf = env.tdnf ?? ((a: string[], o: Io) => tdnf(a, {}, o));
  const uid = env.uid ?? (process.getuid ? process.getuid() : 0);
  if (uid !== 0) {
    io.stderr('tdnf-automatic - this script must be run as root...\n');
    return 13;
  }
  io.stdout(`\ntdnf-automatic - started at ${now().toString()}...\n\n`);
  let status = 0;
  try {
    await mainFlow(argv, io, sleep, runTdnf);
  } catch (e) {
    if (!(e instanceof Exit)) throw e;
    status = e.status;
  }
  const msg = `\ntdnf-automatic - completed with exit status ${status} at ${now().toString()}...\n\n`;
  if (status === 0) io.stdout(msg);
  else io.stderr(msg);
  return status;
}

async function mainFlow(argv: readonly string[], io: Io, sleep: (s: number) => Promise<void>, runTdnf: NonNullable<AutomaticEnv['tdnf']>): Promise<void> {
  let timer = false;
  let notify = false;
  let install = false;
  let autoConf: string | undefined;
  let installroot: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '-c': case '--conf':
        autoConf = argv[++i];
        if (!autoConf) {
          io.stderr(`${HELP}\n`);
          throw new Exit(1);
        }
        break;
      case '-n': case '--notify': notify = true; break;
      case '-i': case '--install': install = true; break;
      case '-t': case '--timer': timer = true; break;
      case '--installroot':
        installroot = argv[++i];
        break;
      case '-v': case '--version':
        io.stdout(`tdnf-automatic - version: ${TDNF_VERSION}\n`);
        throw new Exit(0);
      case '-h': case '--help':
        io.stdout(`${HELP}\n`);
        throw new Exit(0);
      default:
        io.stderr(`${HELP}\n`);
        throw new Exit(22);
    }
  }
  autoConf ??= DEFAULT_AUTOMATIC_CONF;
  if (!(await nonEmpty(autoConf))) {
    io.stderr(`Configuration file: '${autoConf}' does not exist\n`);
    throw new Exit(2);
  }
  const data = parseAutomaticConf(await readFile(autoConf, 'utf8'));
  validate(data, io);
  const tdnfConf = data.get('base|tdnf_conf') || DEFAULT_TDNF_CONF;
  if (!(await nonEmpty(tdnfConf))) {
    io.stderr(`Automatic conf:'${autoConf}' || tdnf conf '${tdnfConf}' does not exist...\n`);
    throw new Exit(2);
  }
  const base = ['-c', tdnfConf, ...(installroot ? ['--installroot', installroot] : [])];
  const int = (k: string): number => Number(data.get(k) ?? '0') || 0;

  if (timer) {
    const max = int('commands|random_sleep');
    if (max > 0) {
      const sec = randomInt(max);
      io.stdout(`Sleep for ${sec} second(s)...\n`);
      await sleep(sec);
    }
  }

  const refreshCache = async (): Promise<boolean> => {
    const r = await capture(runTdnf, ['-q', ...base, '--refresh', 'makecache']);
    if (/Couldn't resolve host name/i.test(r.err)) io.stderr("Couldn't resolve repo server...\n");
    if (r.code !== 0) {
      io.stderr('Failed to refresh repo cache..\n');
      return false;
    }
    io.stdout('RefreshCache success...\n');
    return true;
  };

  // WaitForNetwork
  const timeout = int('commands|network_online_timeout');
  if (timeout > 0) {
    let online = await refreshCache();
    if (!online) io.stderr('Failed to refresh cache...\n');
    else {
      online = false;
      for (let waited = 0; waited <= timeout; waited += 3) {
        const r = await capture(runTdnf, [...base, '-j', 'repolist', 'enabled']);
        if (r.code !== 0) io.stderr('Failed to get enabled repos, retrying...\n');
        else if ((JSON.parse(r.out) as unknown[]).length === 0) io.stderr('No tdnf repo is enabled, retrying...\n');
        else {
          online = true;
          break;
        }
        await sleep(3);
      }
      if (!online) io.stderr('Max timeout reached, not able to connect to any server...\n');
    }
    if (!online) {
      io.stderr('System is off-line...\n');
      throw new Exit(64);
    }
  }

  if (!(await showOrApply())) {
    io.stderr('Failed to Show/Apply updates...\n');
    throw new Exit(121);
  }

  async function showOrApply(): Promise<boolean> {
    if (!(await refreshCache())) {
      io.stderr('Failed to refresh cache...\n');
      return false;
    }
    if (notify && install) install = false;
    else if (!notify && !install) {
      notify = true;
      if (!strToBool(data.get('commands|show_updates'), io) && strToBool(data.get('commands|apply_updates'), io)) {
        notify = false;
        install = true;
      }
    }
    const updateType = data.get('commands|upgrade_type') ?? '';
    if (updateType !== 'all' && updateType !== 'security') {
      io.stderr(`Unknown update type: ${updateType}\n`);
      return false;
    }
    const emitFile = data.get('emitter|emit_to_file') ?? '';
    const toStdio = strToBool(data.get('emitter|emit_to_stdio'), io);
    const emitter = toStdio || emitFile !== '';
    const sysName = data.get('emitter|system_name') || hostname();
    let available = '';
    let msg = '';
    if (emitter) {
      const cu = await capture(runTdnf, [...base, '-j', 'check-update']);
      if (cu.code !== 0 && cu.code !== 100) {
        io.stderr('tdnf check-update failed...\n');
        return false;
      }
      const ups = JSON.parse(cu.out) as { Name: string; Evr: string }[];
      if (ups.length === 0) {
        await emit(`\nNo updates available on ${sysName}. System upto date...\n`, emitFile, toStdio);
        return true;
      }
      if (updateType === 'all') available = ups.map((u) => `${u.Name}-${u.Evr.replace(/^\d+:/, '')}\n`).join('');
      else {
        const ui = await capture(runTdnf, [...base, 'updateinfo', 'info']);
        if (ui.code !== 0) {
          io.stderr('tdnf updateinfo info failed...\n');
          return false;
        }
        available = ui.out.replace(/\n$/, '');
      }
    }
    if (install) {
      const argv = updateType === 'all' ? [...base, '-y', 'upgrade'] : [...base, '--security', '-y', 'update'];
      const code = await runTdnf(argv, io);
      if (code !== 0) {
        io.stderr('tdnf upgrade | tdnf --security update failed...\n');
        return false;
      }
      if (emitter) msg = `\nThe following updates are applied on - ${sysName}:\n${available}\n\n--- Updates completed at ${new Date().toString()} ---\n`;
    } else if (notify && emitter) {
      msg = `\nThe following updates are available on - ${sysName}:\n${available}\n`;
    }
    if (emitter) await emit(msg, emitFile, toStdio);
    return true;
  }

  async function emit(m: string, file: string, stdio: boolean): Promise<void> {
    if (!m) return;
    if (stdio) io.stdout(`${m}\n`);
    if (file) {
      if (await nonEmpty(file)) {
        const d = new Date();
        const p = (n: number) => String(n).padStart(2, '0');
        const stamp = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}.${p(d.getMinutes())}.${p(d.getSeconds())}`;
        await rename(file, `${file}.tdnf-automatic-${stamp}.bak`);
      }
      await writeFile(file, `${m}\n`);
    }
  }
}

const processIo: Io = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

const isMain = process.argv[1] !== undefined && /tdnf-automatic(\.[cm]?[jt]s)?$/.test(process.argv[1]);
if (isMain) process.exitCode = await tdnfAutomatic(process.argv.slice(2), { io: processIo });
