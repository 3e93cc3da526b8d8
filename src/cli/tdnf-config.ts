#!/usr/bin/env node
/**
 * `tdnf-config`: reads and edits tdnf.conf and the .repo files, as C tdnf's tools/config does.
 *
 *   tdnf-config [-c tdnf.conf] [-f file.repo] [-j] ACTION ...
 *     create REPO KEY=VALUE...   a new [REPO] in <reposdir>/REPO.repo (or -f FILE, which may
 *                                hold other repos); 'main' is refused; an existing id is 5
 *     edit main|REPO KEY=VALUE...  set keys in tdnf.conf's [main] or the file holding [REPO]
 *     get main|REPO KEY          print the value
 *     remove main|REPO KEY...    delete keys
 *     removerepo REPO            delete the section; a file left without sections is removed
 *     dump main|REPO             print the file holding it; with -j the section as JSON
 *
 * Exit codes and messages are the C tool's: 1 command line, 2 system (unreadable or unwritable
 * file), 3 no such repo, 4 no such key, 5 repo exists, 6 JSON. Unlike the C tool, keys given to
 * create/edit are checked against tdnf's settings tables (MAIN_SETTINGS / REPO_SETTINGS in
 * src/tdnf/config.ts) and their values against the setting's kind, so a typo cannot silently
 * leave a setting without effect (exit 1, "unknown key …" / "invalid value …").
 *
 * Files are edited line by line: comments, blank lines, order and spelling of untouched lines
 * stay as they were; a changed key keeps its place; new keys follow the section's last key.
 * Writes are atomic (temporary file + rename) and keep the file's mode.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_CONFIG_FILE, MAIN_SETTINGS, REPO_SETTINGS, parseMetadataExpire } from '../tdnf/config.ts';
import { writeFileAtomic } from '../util/fs.ts';

export interface Io {
  stdout(s: string): void;
  stderr(s: string): void;
}

export const EXIT = { CMDLINE: 1, SYSTEM: 2, NO_REPO: 3, NO_SETTING: 4, REPO_EXISTS: 5, JSON: 6 } as const;

class ConfigToolError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}
const fail = (status: number, message: string): never => {
  throw new ConfigToolError(status, message);
};

// --- a line-preserving ini document -------------------------------------------------------------

interface Entry {
  key: string;
  value: string;
  /** First line and one past its last (continuation lines included). */
  start: number;
  end: number;
}
interface Section {
  name: string;
  header: number;
  entries: Entry[];
}

/** An ini file as lines; sections and entries are re-derived after every change. */
export class IniDoc {
  lines: string[];
  private finalNewline: boolean;

  constructor(text: string) {
    this.finalNewline = text === '' || text.endsWith('\n');
    this.lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  }

  sections(): Section[] {
    const out: Section[] = [];
    let cur: Section | undefined;
    let last: Entry | undefined;
    this.lines.forEach((raw, i) => {
      const t = raw.trim();
      if (t === '' || t.startsWith('#') || t.startsWith(';')) {
        if (t === '') last = undefined;
        return;
      }
      if (/^\s/.test(raw) && last) {
        last.value += `\n${t}`;
        last.end = i + 1;
        return;
      }
      const h = /^\[\s*([^\]]*?)\s*\]/.exec(t);
      if (h) {
        cur = { name: h[1]!, header: i, entries: [] };
        out.push(cur);
        last = undefined;
        return;
      }
      const eq = t.indexOf('=');
      if (!cur || eq <= 0) {
        last = undefined;
        return;
      }
      last = { key: t.slice(0, eq).trim(), value: t.slice(eq + 1).trim(), start: i, end: i + 1 };
      cur.entries.push(last);
    });
    return out;
  }

  section(name: string): Section | undefined {
    return this.sections().find((s) => s.name === name);
  }

  set(name: string, key: string, value: string): void {
    const sec = this.section(name);
    if (!sec) return;
    const line = `${key}=${value}`;
    const e = sec.entries.find((x) => x.key === key);
    if (e) {
      this.lines.splice(e.start, e.end - e.start, line);
      return;
    }
    const after = sec.entries.length ? sec.entries.at(-1)!.end : sec.header + 1;
    this.lines.splice(after, 0, line);
  }

  remove(name: string, key: string): boolean {
    const e = this.section(name)?.entries.find((x) => x.key === key);
    if (!e) return false;
    this.lines.splice(e.start, e.end - e.start);
    return true;
  }

  /** Removes [name] through the line before the next section header. */
  removeSection(name: string): boolean {
    const all = this.sections();
    const i = all.findIndex((s) => s.name === name);
    if (i < 0) return false;
    const from = all[i]!.header;
    const to = all[i + 1]?.header ?? this.lines.length;
    this.lines.splice(from, to - from);
    // The last section gone: no blank line left hanging at the end where it was.
    if (i === all.length - 1) while (this.lines.length && this.lines.at(-1)!.trim() === '') this.lines.pop();
    return true;
  }

  addSection(name: string): void {
    if (this.lines.length && this.lines.at(-1)!.trim() !== '') this.lines.push('');
    this.lines.push(`[${name}]`);
  }

  toString(): string {
    return this.lines.length ? this.lines.join('\n') + (this.finalNewline ? '\n' : '') : '';
  }
}

// --- validation against tdnf's settings tables ------------------------------------------------

const BOOLS = new Set(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off']);

/** An error message for KEY=VALUE in section `name`, or undefined when tdnf would take it. */
export function checkSetting(name: string, key: string, value: string): string | undefined {
  const table = name === 'main' ? MAIN_SETTINGS : REPO_SETTINGS;
  const s = table.find((x) => x.key === key || x.aliases?.includes(key));
  if (!s) return `unknown key '${key}' for ${name === 'main' ? "'main'" : `repo '${name}'`}`;
  const bad = `invalid value '${value}' for key '${key}'`;
  switch (s.kind) {
    case 'bool':
      return BOOLS.has(value.toLowerCase()) ? undefined : `${bad}: expected a boolean (0 or 1)`;
    case 'int':
      return /^-?\d+$/.test(value) ? undefined : `${bad}: expected an integer`;
    case 'expire':
      try {
        parseMetadataExpire(value);
        return undefined;
      } catch {
        return `${bad}: expected a number of seconds (with s, m, h or d) or 'never'`;
      }
    default:
      return undefined;
  }
}

// --- files ----------------------------------------------------------------------------------------

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return fail(EXIT.SYSTEM, `could not parse config file ${path}\n`);
  }
}

async function reposDir(mainConfig: string): Promise<string> {
  const text = await readText(mainConfig);
  const main = text === undefined ? undefined : new IniDoc(text).section('main');
  const e = main?.entries.find((x) => x.key === 'repodir' || x.key === 'reposdir');
  return e?.value || (MAIN_SETTINGS.find((s) => s.key === 'reposdir')!.default as string);
}

/** The first *.repo file in reposdir (sorted) holding [repo]. */
async function findRepo(dir: string, repo: string): Promise<{ file: string; doc: IniDoc } | undefined> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.repo')).sort();
  for (const n of names) {
    const file = join(dir, n);
    const text = await readText(file);
    if (text === undefined) continue;
    const doc = new IniDoc(text);
    if (doc.section(repo)) return { file, doc };
  }
  return undefined;
}

async function openSection(mainConfig: string, repo: string): Promise<{ file: string; doc: IniDoc }> {
  if (repo === 'main') {
    const text = await readText(mainConfig);
    if (text === undefined) return fail(EXIT.SYSTEM, `could not parse config file ${mainConfig}\n`);
    return { file: mainConfig, doc: new IniDoc(text) };
  }
  const found = await findRepo(await reposDir(mainConfig), repo);
  return found ?? fail(EXIT.NO_REPO, `repo '${repo}' not found\n`);
}

async function save(file: string, doc: IniDoc): Promise<void> {
  const mode = (await stat(file).catch(() => undefined))?.mode;
  try {
    await writeFileAtomic(file, doc.toString(), mode !== undefined ? mode & 0o7777 : 0o644);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    fail(EXIT.SYSTEM, `failed to write file '${file}': ${err.message}\n`);
  }
}

/** `key=value` as the C tool splits it: the key ends at whitespace or '='. */
function splitKeyValue(kv: string): [string, string] {
  const m = /^([^\s=]*)\s*(=?)\s*([\s\S]*)$/.exec(kv)!;
  if (!m[2]) fail(EXIT.CMDLINE, `expected '=' after key ${m[1]}\n`);
  return [m[1]!, m[3]!];
}

// --- the command ---------------------------------------------------------------------------------

interface Parsed {
  mainConfig: string;
  repoFile?: string;
  json: boolean;
  words: string[];
}

function parseArgs(argv: readonly string[]): Parsed {
  const p: Parsed = { mainConfig: DEFAULT_CONFIG_FILE, json: false, words: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      p.words.push(...argv.slice(i + 1));
      break;
    }
    const long = /^--(config|file|json)(?:=(.*))?$/.exec(a);
    const short = /^-([cfj])(.*)$/.exec(a);
    if (!long && !short) {
      if (a.startsWith('-') && a !== '-') fail(EXIT.CMDLINE, a.startsWith('--') ? `tdnf-config: unrecognized option '${a}'\n` : `tdnf-config: invalid option -- '${a[1]}'\n`);
      p.words.push(a);
      continue;
    }
    const opt = long ? long[1]![0]! : short![1]!;
    if (opt === 'j') {
      p.json = true;
      continue;
    }
    let v = long ? long[2] : short![2] || undefined;
    if (v === undefined) v = argv[++i];
    if (v === undefined) fail(EXIT.CMDLINE, `tdnf-config: option requires an argument -- '${opt}'\n`);
    if (opt === 'c') p.mainConfig = v!;
    else p.repoFile = v!;
  }
  return p;
}

async function runAction(p: Parsed, io: Io): Promise<void> {
  const [action, repo, ...rest] = p.words;
  if (action === undefined) return;
  const needRepo = (): string => repo ?? fail(EXIT.CMDLINE, 'expected main or repo name\n');
  switch (action) {
    case 'create':
    case 'edit': {
      const name = needRepo();
      if (rest.length === 0) fail(EXIT.CMDLINE, 'Expected at least one setting.');
      const kvs = rest.map(splitKeyValue);
      for (const [k, v] of kvs) {
        const why = checkSetting(name, k, v);
        if (why) fail(EXIT.CMDLINE, `${why}\n`);
      }
      let target: { file: string; doc: IniDoc };
      if (action === 'edit') target = await openSection(p.mainConfig, name);
      else {
        if (name === 'main') fail(EXIT.CMDLINE, "invalid repo name 'main'\n");
        const dir = await reposDir(p.mainConfig);
        if (await findRepo(dir, name)) fail(EXIT.REPO_EXISTS, `repo '${name}' already exists\n`);
        const file = p.repoFile ?? join(dir, `${name}.repo`);
        const doc = new IniDoc((await readText(file)) ?? '');
        if (doc.section(name)) fail(EXIT.REPO_EXISTS, `repo '${name}' already exists\n`);
        doc.addSection(name);
        target = { file, doc };
      }
      for (const [k, v] of kvs) target.doc.set(name, k, v);
      await save(target.file, target.doc);
      return;
    }
    case 'get': {
      const name = needRepo();
      const key = rest[0] ?? fail(EXIT.CMDLINE, 'expected one setting\n');
      const { doc } = await openSection(p.mainConfig, name);
      const sec = doc.section(name) ?? fail(EXIT.NO_REPO, `repo '${name}' not found\n`);
      const e = sec.entries.find((x) => x.key === key) ?? fail(EXIT.NO_SETTING, `'${key}' not found in '${name}'\n`);
      io.stdout(`${e.value}\n`);
      return;
    }
    case 'remove': {
      const name = needRepo();
      if (rest.length === 0) fail(EXIT.CMDLINE, 'expected one setting\n');
      const { file, doc } = await openSection(p.mainConfig, name);
      if (!doc.section(name)) fail(EXIT.NO_REPO, `repo '${name}' not found\n`);
      for (const k of rest) if (!doc.remove(name, k)) fail(EXIT.NO_SETTING, `key '${k}' not found\n`);
      await save(file, doc);
      return;
    }
    case 'removerepo': {
      const name = needRepo();
      const { file, doc } = await openSection(p.mainConfig, name);
      doc.removeSection(name);
      if (doc.sections().length) await save(file, doc);
      else await rm(file).catch((e: Error) => fail(EXIT.SYSTEM, `failed to remove file '${file}': ${e.message}\n`));
      return;
    }
    case 'dump': {
      const name = needRepo();
      const { doc } = await openSection(p.mainConfig, name);
      if (!p.json) {
        io.stdout(doc.toString());
        return;
      }
      const sec = doc.section(name) ?? fail(EXIT.NO_REPO, `repo '${name}' not found\n`);
      io.stdout(JSON.stringify({ [name]: Object.fromEntries(sec.entries.map((e) => [e.key, e.value])) }));
      return;
    }
    default:
      fail(EXIT.CMDLINE, `Unknown command '${action}'\n`);
  }
}

const processIo: Io = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

/** Runs tdnf-config with `argv` (no program name); returns the exit status. */
export async function tdnfConfig(argv: readonly string[], io: Io = processIo): Promise<number> {
  try {
    await runAction(parseArgs(argv), io);
    return 0;
  } catch (e) {
    if (e instanceof ConfigToolError) {
      io.stderr(e.message);
      return e.status;
    }
    throw e;
  }
}

const isMain = process.argv[1] !== undefined && /tdnf-config(\.[cm]?[jt]s)?$/.test(process.argv[1]);
if (isMain) process.exitCode = await tdnfConfig(process.argv.slice(2));
