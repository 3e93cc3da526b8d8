/**
 * Writes RPM v4 packages from a directory tree or an explicit file list, laid out as rpmbuild
 * 4.18 lays them out, so rpm, dnf and createrepo read them like any other package.
 * The steps: collect files → build the cpio payload → compress → main header → signature
 * header (digests of the main header and payload) → lead.
 */
import { createHash } from 'node:crypto';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { type CpioEntry, writeCpio } from '../formats/cpio.ts';
import { type WriteCompression, compress, payloadTags } from '../formats/compress.ts';
import { type HeaderValue, REGION_IMMUTABLE, TagType, writeHeader } from '../formats/rpm-header.ts';
import { PhotonError, withFile } from '../util/errors.ts';
import { type Dep, RPMSENSE, isRich, parseDep, parseRich } from './deps.ts';
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, writeLead } from './package.ts';
import { HASHALGO, RPMFILE, SIGTAG, TAG } from './tags.ts';

export type ScriptName = 'pre' | 'post' | 'preun' | 'postun' | 'pretrans' | 'posttrans';

export interface ScriptSpec {
  /** Script text; may be empty when the interpreter alone does the work (`%post -p /sbin/ldconfig`). */
  body: string;
  /** Interpreter and its arguments, default /bin/sh; `<lua>` for rpm's built-in Lua. */
  interpreter?: string;
}

export interface ChangelogEntry {
  /** Seconds since the epoch (rpm stores the day, at 12:00 UTC). */
  time: number;
  /** "Name <email> - version-release" */
  name: string;
  text: string;
}

/** One file of an explicit file list. Paths are absolute inside the package. */
export interface PackFile {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Content of a regular file. */
  data?: Uint8Array;
  /** Target of a symlink. */
  linkTo?: string;
  /** Another regular file of the list this one is a hard link to. */
  hardlinkOf?: string;
  /** Permission bits (default 0644 files, 0755 dirs, 0777 symlinks). */
  mode?: number;
  user?: string;
  group?: string;
  mtime?: number;
  /** RPMFILE_* bits; merged with the spec's config/doc/ghost lists. */
  flags?: number;
}

export interface PackSpec {
  name: string;
  version: string;
  release?: string;
  epoch?: number;
  arch?: string;
  os?: string;
  summary?: string;
  description?: string;
  license?: string;
  url?: string;
  group?: string;
  vendor?: string;
  packager?: string;
  buildHost?: string;
  /** Default: SOURCE_DATE_EPOCH, else now. */
  buildTime?: number;
  requires?: string[];
  provides?: string[];
  conflicts?: string[];
  obsoletes?: string[];
  recommends?: string[];
  suggests?: string[];
  supplements?: string[];
  enhances?: string[];
  /** A directory whose contents become the package's files (`DIR/usr/bin/x` → `/usr/bin/x`). */
  root?: string;
  /** Files given explicitly; added to those found under `root`. */
  files?: PackFile[];
  config?: string[];
  configNoreplace?: string[];
  doc?: string[];
  ghost?: string[];
  /** Owners by path, default root:root. */
  owners?: Record<string, { user: string; group: string }>;
  scripts?: Partial<Record<ScriptName, ScriptSpec>>;
  changelog?: ChangelogEntry[];
  /** Default zstd, as rpm 4.18 distributions build. */
  compression?: WriteCompression;
  compressionLevel?: number;
  /** Zero bytes kept in the signature header so that signing need not move the header (default 4128, rpmbuild's). */
  reservedSpace?: number;
}

/**
 * Directories under `root` that the filesystem package owns: walked, but not claimed, so that
 * installing the package does not take them over.
 */
export const SYSTEM_DIRS: ReadonlySet<string> = new Set([
  '/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib64', '/media', '/mnt', '/opt', '/proc', '/root', '/run',
  '/sbin', '/srv', '/sys', '/tmp', '/usr', '/usr/bin', '/usr/include', '/usr/lib', '/usr/lib64', '/usr/libexec',
  '/usr/local', '/usr/sbin', '/usr/share', '/usr/share/doc', '/usr/share/licenses', '/usr/share/man', '/usr/src', '/var',
  '/var/lib', '/var/log', '/var/cache', '/var/spool', '/var/tmp', '/etc/sysconfig', '/etc/profile.d', '/usr/lib/systemd',
  '/usr/lib/systemd/system', '/etc/systemd', '/etc/systemd/system',
]);

interface Entry {
  path: string;
  mode: number;
  user: string;
  group: string;
  mtime: number;
  size: number;
  data: Uint8Array;
  linkTo: string;
  flags: number;
  /** Files of one hard-link set share it. */
  linkKey: string | undefined;
}

const SCRIPT_TAGS: Record<ScriptName, { script: number; prog: number; sense: number }> = {
  pre: { script: TAG.PREIN, prog: TAG.PREINPROG, sense: RPMSENSE.SCRIPT_PRE },
  post: { script: TAG.POSTIN, prog: TAG.POSTINPROG, sense: RPMSENSE.SCRIPT_POST },
  preun: { script: TAG.PREUN, prog: TAG.PREUNPROG, sense: RPMSENSE.SCRIPT_PREUN },
  postun: { script: TAG.POSTUN, prog: TAG.POSTUNPROG, sense: RPMSENSE.SCRIPT_POSTUN },
  pretrans: { script: TAG.PRETRANS, prog: TAG.PRETRANSPROG, sense: RPMSENSE.PRETRANS },
  posttrans: { script: TAG.POSTTRANS, prog: TAG.POSTTRANSPROG, sense: RPMSENSE.POSTTRANS },
};

/** Requires qualifiers as rpmbuild accepts them in `Requires(pre,post): x`. */
const QUALIFIERS: Record<string, number> = {
  pre: RPMSENSE.SCRIPT_PRE, post: RPMSENSE.SCRIPT_POST, preun: RPMSENSE.SCRIPT_PREUN, postun: RPMSENSE.SCRIPT_POSTUN,
  pretrans: RPMSENSE.PRETRANS, posttrans: RPMSENSE.POSTTRANS, verify: RPMSENSE.SCRIPT_VERIFY, interp: RPMSENSE.INTERP,
};

const RPMLIB_VERSIONS: Record<string, string> = {
  CompressedFileNames: '3.0.4-1',
  FileDigests: '4.6.0-1',
  PayloadFilesHavePrefix: '4.0-1',
  PayloadIsZstd: '5.4.18-1',
  PartialHardlinkSets: '4.0.4-1',
  RichDependencies: '4.12.0-1',
  BuiltinLuaScripts: '4.2.2-1',
  ScriptletInterpreterArgs: '4.0.7-1',
  LargeFiles: '4.12.0-1',
};

const DEFAULT_RESERVED = 4128;

export function defaultBuildTime(): number {
  const sde = process.env['SOURCE_DATE_EPOCH'];
  if (sde !== undefined && /^\d+$/.test(sde)) return Number(sde);
  return Math.floor(Date.now() / 1000);
}

/**
 * Parses one dependency as written on the command line or in a spec: `foo >= 1.2`, a rich
 * `(a or b)`, optionally prefixed with qualifiers `pre,post:` or `Requires(pre):`-style
 * `(pre) foo` for requires.
 */
export function parsePackDep(text: string, allowQualifiers: boolean): Dep {
  let s = text.trim();
  let extra = 0;
  const q = /^\(?((?:pre|post|preun|postun|pretrans|posttrans|verify|interp)(?:\s*,\s*(?:pre|post|preun|postun|pretrans|posttrans|verify|interp))*)\)?\s*:\s*(.+)$/.exec(s)
    ?? /^\(((?:pre|post|preun|postun|pretrans|posttrans|verify|interp)(?:\s*,\s*(?:pre|post|preun|postun|pretrans|posttrans|verify|interp))*)\)\s+(.+)$/.exec(s);
  if (q) {
    if (!allowQualifiers) throw new PhotonError('E_DEP_SYNTAX', `'${text}': only requires take (pre), (post), … qualifiers`);
    for (const w of q[1]!.split(',')) extra |= QUALIFIERS[w.trim()]!;
    s = q[2]!.trim();
  }
  const dep = parseDep(s);
  if (isRich(dep.name)) parseRich(dep.name);
  return { ...dep, flags: dep.flags | extra };
}

/** rpmds order: name, then EVR, then flags, compared as bytes; duplicates dropped. */
function sortDeps(deps: Dep[]): Dep[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const sorted = [...deps].sort((a, b) => cmp(a.name, b.name) || cmp(a.evr, b.evr) || a.flags - b.flags);
  return sorted.filter((d, i) => i === 0 || d.name !== sorted[i - 1]!.name || d.evr !== sorted[i - 1]!.evr || d.flags !== sorted[i - 1]!.flags);
}

function normalizePath(p: string): string {
  const n = posix.normalize('/' + p);
  if (n !== '/' && n.endsWith('/')) return n.slice(0, -1);
  return n;
}

async function walk(root: string, spec: PackSpec, out: Map<string, Entry>, mtimeClamp: number | undefined): Promise<void> {
  const seenInodes = new Map<string, string>();
  const visit = async (hostDir: string, pkgDir: string) => {
    let names: string[];
    try {
      names = (await readdir(hostDir)).sort();
    } catch (e) {
      throw withFile(e, hostDir);
    }
    for (const name of names) {
      const host = join(hostDir, name);
      const path = pkgDir === '/' ? `/${name}` : `${pkgDir}/${name}`;
      const st = await lstat(host).catch((e: unknown) => {
        throw withFile(e, host);
      });
      const mtime = mtimeClamp !== undefined ? Math.min(Math.floor(st.mtimeMs / 1000), mtimeClamp) : Math.floor(st.mtimeMs / 1000);
      const base = { path, mode: st.mode & 0o7777, user: 'root', group: 'root', mtime, flags: 0, linkTo: '', linkKey: undefined };
      if (st.isDirectory()) {
        if (!SYSTEM_DIRS.has(path)) out.set(path, { ...base, mode: S_IFDIR | base.mode, size: 0, data: new Uint8Array(0) });
        await visit(host, path);
      } else if (st.isSymbolicLink()) {
        const target = await readlink(host);
        const data = new TextEncoder().encode(target);
        out.set(path, { ...base, mode: S_IFLNK | 0o777, size: data.length, data, linkTo: target });
      } else if (st.isFile()) {
        const buf = await readFile(host).catch((e: unknown) => {
          throw withFile(e, host);
        });
        const data = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
        let linkKey: string | undefined;
        if (st.nlink > 1) {
          const key = `${st.dev}:${st.ino}`;
          linkKey = seenInodes.get(key) ?? path;
          seenInodes.set(key, linkKey);
        }
        out.set(path, { ...base, mode: S_IFREG | base.mode, size: data.length, data, linkKey });
      } else {
        throw new PhotonError('E_PACK', `${path}: only regular files, directories and symlinks can be packed`, { file: host });
      }
    }
  };
  await visit(root, '/');
  void spec;
}

function explicitEntry(f: PackFile, buildTime: number): Entry {
  const path = normalizePath(f.path);
  const base = { path, user: f.user ?? 'root', group: f.group ?? 'root', mtime: f.mtime ?? buildTime, flags: f.flags ?? 0, linkKey: undefined };
  switch (f.type) {
    case 'dir':
      return { ...base, mode: S_IFDIR | (f.mode ?? 0o755), size: 0, data: new Uint8Array(0), linkTo: '' };
    case 'symlink': {
      if (!f.linkTo) throw new PhotonError('E_PACK', `${path}: symlink without a target`);
      const data = new TextEncoder().encode(f.linkTo);
      return { ...base, mode: S_IFLNK | (f.mode ?? 0o777), size: data.length, data, linkTo: f.linkTo };
    }
    case 'file': {
      const data = f.data ?? new Uint8Array(0);
      return { ...base, mode: S_IFREG | (f.mode ?? 0o644), size: data.length, data, linkTo: '' };
    }
  }
}

/** Collects the package's files, sorted by path as rpm sorts them (byte order). */
async function collect(spec: PackSpec, buildTime: number): Promise<Entry[]> {
  const byPath = new Map<string, Entry>();
  // With SOURCE_DATE_EPOCH set, file times are clamped to it as rpmbuild's
  // %clamp_mtime_to_source_date_epoch does, so a rebuild of the same tree is byte-identical.
  const clamp = process.env['SOURCE_DATE_EPOCH'] !== undefined ? buildTime : undefined;
  if (spec.root !== undefined) await walk(spec.root, spec, byPath, clamp);
  for (const f of spec.files ?? []) {
    const e = explicitEntry(f, buildTime);
    if (f.hardlinkOf !== undefined) {
      const target = byPath.get(normalizePath(f.hardlinkOf)) ?? (spec.files ?? []).map((g) => explicitEntry(g, buildTime)).find((g) => g.path === normalizePath(f.hardlinkOf!));
      if (!target || (target.mode & S_IFMT) !== S_IFREG) throw new PhotonError('E_PACK', `${e.path}: hard link to ${f.hardlinkOf}, which is not a regular file of the package`);
      const key = target.linkKey ?? target.path;
      target.linkKey = key;
      byPath.set(target.path, target);
      byPath.set(e.path, { ...target, path: e.path, flags: e.flags, linkKey: key });
      continue;
    }
    byPath.set(e.path, e);
  }
  const mark = (paths: string[] | undefined, flag: number, what: string) => {
    for (const p of paths ?? []) {
      const e = byPath.get(normalizePath(p));
      if (!e) throw new PhotonError('E_PACK', `${what} ${p}: no such file in the package`);
      e.flags |= flag;
    }
  };
  mark(spec.config, RPMFILE.CONFIG, '--config');
  mark(spec.configNoreplace, RPMFILE.CONFIG | RPMFILE.NOREPLACE, '--config-noreplace');
  mark(spec.doc, RPMFILE.DOC, '--doc');
  mark(spec.ghost, RPMFILE.GHOST, '--ghost');
  for (const [p, o] of Object.entries(spec.owners ?? {})) {
    const e = byPath.get(normalizePath(p));
    if (!e) throw new PhotonError('E_PACK', `--owner ${p}: no such file in the package`);
    e.user = o.user;
    e.group = o.group;
  }
  for (const e of byPath.values()) {
    if (e.path === '/') throw new PhotonError('E_PACK', `the package cannot contain '/' itself`);
    if (e.linkKey !== undefined) {
      // Every member of a hard-link set shares mode, owner and time: they are one inode.
      const head = byPath.get(e.linkKey)!;
      e.mode = head.mode;
      e.user = head.user;
      e.group = head.group;
      e.mtime = head.mtime;
    }
  }
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...byPath.values()].sort((a, b) => cmp(a.path, b.path));
}

const str = (value: string): HeaderValue => ({ type: TagType.STRING, value });
const i18n = (value: string): HeaderValue => ({ type: TagType.I18NSTRING, value: [value] });
const strs = (value: string[]): HeaderValue => ({ type: TagType.STRING_ARRAY, value });
const i32 = (value: number[]): HeaderValue => ({ type: TagType.INT32, value });
const i16 = (value: number[]): HeaderValue => ({ type: TagType.INT16, value });
const i64 = (value: number[]): HeaderValue => ({ type: TagType.INT64, value });
const bin = (value: Uint8Array): HeaderValue => ({ type: TagType.BIN, value });

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** rpm's arch numbers for the lead (rpmrc arch_canon); unknown arches get 0, as noarch. */
const ARCHNUM: Record<string, number> = { noarch: 1, i386: 1, i686: 1, x86_64: 1, aarch64: 19, armv7hl: 12, ppc64le: 16, s390x: 15, riscv64: 22 };

export async function packRpm(spec: PackSpec): Promise<Uint8Array> {
  if (!/^[^\s/]+$/.test(spec.name)) throw new PhotonError('E_PACK', `bad package name '${spec.name}'`);
  const release = spec.release ?? '1';
  for (const [what, v] of [['version', spec.version], ['release', release]] as const) {
    if (!/^[^\s-]+$/.test(v)) throw new PhotonError('E_PACK', `bad ${what} '${v}' (no spaces or '-')`);
  }
  if (spec.epoch !== undefined && (!Number.isInteger(spec.epoch) || spec.epoch < 0)) throw new PhotonError('E_PACK', `bad epoch ${spec.epoch}`);
  const arch = spec.arch ?? 'noarch';
  const os = spec.os ?? 'linux';
  const buildTime = spec.buildTime ?? defaultBuildTime();
  const compression = spec.compression ?? 'zstd';
  const evr = `${spec.epoch !== undefined ? `${spec.epoch}:` : ''}${spec.version}-${release}`;

  const files = await collect(spec, buildTime);

  // Inodes are numbered in path order, hard-link sets sharing the first member's number.
  const inodeOf = new Map<string, number>();
  const inodes = files.map((f, i) => {
    if (f.linkKey === undefined) return i + 1;
    const n = inodeOf.get(f.linkKey) ?? i + 1;
    inodeOf.set(f.linkKey, n);
    return n;
  });
  const setMembers = new Map<string, number[]>();
  files.forEach((f, i) => {
    if (f.linkKey !== undefined) setMembers.set(f.linkKey, [...(setMembers.get(f.linkKey) ?? []), i]);
  });
  const hasHardlinks = [...setMembers.values()].some((m) => m.length > 1);

  // The payload: ghosts are not in it; a hard-link set is written when its last member is
  // reached, every member but the last with size 0, as rpm's archive writer does and its
  // reader expects (content on the member with the highest index).
  const cpio: CpioEntry[] = [];
  const toCpio = (i: number, withData: boolean): CpioEntry => {
    const f = files[i]!;
    const data = withData ? f.data : new Uint8Array(0);
    const members = f.linkKey !== undefined ? setMembers.get(f.linkKey)!.filter((m) => !(files[m]!.flags & RPMFILE.GHOST)).length : 1;
    return {
      name: '.' + f.path, ino: inodes[i]!, mode: f.mode, uid: 0, gid: 0, nlink: (f.mode & S_IFMT) === S_IFDIR ? 2 : members,
      mtime: f.mtime, size: data.length, devMajor: 0, devMinor: 1, rdevMajor: 0, rdevMinor: 0, data,
    };
  };
  files.forEach((f, i) => {
    if (f.flags & RPMFILE.GHOST) return;
    if (f.linkKey !== undefined) {
      const members = setMembers.get(f.linkKey)!.filter((m) => !(files[m]!.flags & RPMFILE.GHOST));
      if (members[members.length - 1] !== i) return;
      for (const m of members) cpio.push(toCpio(m, m === i));
      return;
    }
    cpio.push(toCpio(i, (f.mode & S_IFMT) !== S_IFDIR));
  });
  const archive = writeCpio(cpio);
  const payload = await compress(compression, archive, spec.compressionLevel);

  const h = new Map<number, HeaderValue>();
  h.set(TAG.HEADERI18NTABLE, strs(['C']));
  h.set(TAG.NAME, str(spec.name));
  h.set(TAG.VERSION, str(spec.version));
  h.set(TAG.RELEASE, str(release));
  if (spec.epoch !== undefined) h.set(TAG.EPOCH, i32([spec.epoch]));
  h.set(TAG.SUMMARY, i18n(spec.summary ?? spec.name));
  h.set(TAG.DESCRIPTION, i18n(spec.description ?? spec.summary ?? spec.name));
  h.set(TAG.BUILDTIME, i32([buildTime]));
  h.set(TAG.BUILDHOST, str(spec.buildHost ?? 'localhost'));
  if (spec.vendor) h.set(TAG.VENDOR, str(spec.vendor));
  h.set(TAG.LICENSE, str(spec.license ?? 'Unspecified'));
  if (spec.packager) h.set(TAG.PACKAGER, str(spec.packager));
  h.set(TAG.GROUP, i18n(spec.group ?? 'Unspecified'));
  if (spec.url) h.set(TAG.URL, str(spec.url));
  h.set(TAG.OS, str(os));
  h.set(TAG.ARCH, str(arch));
  h.set(TAG.SOURCERPM, str(`${spec.name}-${spec.version}-${release}.src.rpm`));

  // Installed size: regular files and symlinks, a hard-link set once, ghosts not at all.
  let installSize = 0;
  const counted = new Set<string>();
  for (const f of files) {
    if ((f.mode & S_IFMT) === S_IFDIR || f.flags & RPMFILE.GHOST) continue;
    if (f.linkKey !== undefined) {
      if (counted.has(f.linkKey)) continue;
      counted.add(f.linkKey);
    }
    installSize += f.size;
  }
  const large = files.some((f) => f.size > 0xffffffff) || installSize > 0xffffffff;
  if (large) h.set(TAG.LONGSIZE, i64([installSize]));
  else h.set(TAG.SIZE, i32([installSize]));

  // Scriptlets and the interpreter requires rpmbuild derives from them.
  const requires: Dep[] = [];
  let lua = false;
  let interpArgs = false;
  for (const [name, t] of Object.entries(SCRIPT_TAGS) as [ScriptName, (typeof SCRIPT_TAGS)[ScriptName]][]) {
    const s = spec.scripts?.[name];
    if (!s) continue;
    const argv = (s.interpreter ?? '/bin/sh').trim().split(/\s+/);
    if (s.body !== '') h.set(t.script, str(s.body));
    h.set(t.prog, argv.length === 1 ? str(argv[0]!) : strs(argv));
    if (argv[0] === '<lua>') lua = true;
    else requires.push({ name: argv[0]!, flags: RPMSENSE.INTERP | t.sense, evr: '' });
    if (argv.length > 1) interpArgs = true;
  }

  if (files.length) {
    const dirs: string[] = [];
    const dirIndex = new Map<string, number>();
    const dirindexes: number[] = [];
    const basenames: string[] = [];
    for (const f of files) {
      const slash = f.path.lastIndexOf('/');
      const dir = f.path.slice(0, slash + 1);
      let di = dirIndex.get(dir);
      if (di === undefined) {
        di = dirs.length;
        dirs.push(dir);
        dirIndex.set(dir, di);
      }
      dirindexes.push(di);
      basenames.push(f.path.slice(slash + 1));
    }
    if (large) h.set(TAG.LONGFILESIZES, i64(files.map((f) => f.size)));
    else h.set(TAG.FILESIZES, i32(files.map((f) => f.size)));
    h.set(TAG.FILEMODES, i16(files.map((f) => f.mode)));
    h.set(TAG.FILERDEVS, i16(files.map(() => 0)));
    h.set(TAG.FILEMTIMES, i32(files.map((f) => f.mtime)));
    h.set(TAG.FILEDIGESTS, strs(files.map((f) => ((f.mode & S_IFMT) === S_IFREG ? sha256(f.data) : ''))));
    h.set(TAG.FILELINKTOS, strs(files.map((f) => f.linkTo)));
    h.set(TAG.FILEFLAGS, i32(files.map((f) => f.flags)));
    h.set(TAG.FILEUSERNAME, strs(files.map((f) => f.user)));
    h.set(TAG.FILEGROUPNAME, strs(files.map((f) => f.group)));
    h.set(TAG.FILEVERIFYFLAGS, i32(files.map(() => 0xffffffff)));
    h.set(TAG.FILEDEVICES, i32(files.map(() => 1)));
    h.set(TAG.FILEINODES, i32(inodes));
    h.set(TAG.FILELANGS, strs(files.map(() => '')));
    h.set(TAG.DIRINDEXES, i32(dirindexes));
    h.set(TAG.BASENAMES, strs(basenames));
    h.set(TAG.DIRNAMES, strs(dirs));
    h.set(TAG.FILEDIGESTALGO, i32([HASHALGO.SHA256]));
  }

  // Dependencies, with what rpmbuild adds on its own.
  const list = (xs: string[] | undefined, qualifiers = false) => (xs ?? []).map((x) => parsePackDep(x, qualifiers));
  const provides = list(spec.provides);
  provides.push({ name: spec.name, flags: RPMSENSE.EQUAL, evr });
  if (files.some((f) => f.flags & RPMFILE.CONFIG)) {
    provides.push({ name: `config(${spec.name})`, flags: RPMSENSE.CONFIG | RPMSENSE.EQUAL, evr });
    requires.push({ name: `config(${spec.name})`, flags: RPMSENSE.CONFIG | RPMSENSE.EQUAL, evr });
  }
  requires.push(...list(spec.requires, true));
  const depLists = {
    conflicts: list(spec.conflicts), obsoletes: list(spec.obsoletes), recommends: list(spec.recommends),
    suggests: list(spec.suggests), supplements: list(spec.supplements), enhances: list(spec.enhances),
  };
  const rpmlib = (feature: string) => requires.push({
    name: `rpmlib(${feature})`, flags: RPMSENSE.RPMLIB | RPMSENSE.LESS | RPMSENSE.EQUAL, evr: RPMLIB_VERSIONS[feature]!,
  });
  if (files.length) {
    rpmlib('CompressedFileNames');
    rpmlib('FileDigests');
    rpmlib('PayloadFilesHavePrefix');
  }
  if (compression === 'zstd') rpmlib('PayloadIsZstd');
  if (hasHardlinks) rpmlib('PartialHardlinkSets');
  if (lua) rpmlib('BuiltinLuaScripts');
  if (interpArgs) rpmlib('ScriptletInterpreterArgs');
  if (large) rpmlib('LargeFiles');
  const all = [provides, requires, ...Object.values(depLists)];
  if (all.some((l) => l.some((d) => isRich(d.name)))) rpmlib('RichDependencies');

  const putDeps = (deps: Dep[], [n, f, v]: readonly [number, number, number]) => {
    if (!deps.length) return;
    const sorted = sortDeps(deps);
    h.set(n, strs(sorted.map((d) => d.name)));
    h.set(f, i32(sorted.map((d) => d.flags)));
    h.set(v, strs(sorted.map((d) => d.evr)));
  };
  putDeps(provides, [TAG.PROVIDENAME, TAG.PROVIDEFLAGS, TAG.PROVIDEVERSION]);
  putDeps(requires, [TAG.REQUIRENAME, TAG.REQUIREFLAGS, TAG.REQUIREVERSION]);
  putDeps(depLists.conflicts, [TAG.CONFLICTNAME, TAG.CONFLICTFLAGS, TAG.CONFLICTVERSION]);
  putDeps(depLists.obsoletes, [TAG.OBSOLETENAME, TAG.OBSOLETEFLAGS, TAG.OBSOLETEVERSION]);
  putDeps(depLists.recommends, [TAG.RECOMMENDNAME, TAG.RECOMMENDFLAGS, TAG.RECOMMENDVERSION]);
  putDeps(depLists.suggests, [TAG.SUGGESTNAME, TAG.SUGGESTFLAGS, TAG.SUGGESTVERSION]);
  putDeps(depLists.supplements, [TAG.SUPPLEMENTNAME, TAG.SUPPLEMENTFLAGS, TAG.SUPPLEMENTVERSION]);
  putDeps(depLists.enhances, [TAG.ENHANCENAME, TAG.ENHANCEFLAGS, TAG.ENHANCEVERSION]);

  if (spec.changelog?.length) {
    h.set(TAG.CHANGELOGTIME, i32(spec.changelog.map((c) => c.time)));
    h.set(TAG.CHANGELOGNAME, strs(spec.changelog.map((c) => c.name)));
    h.set(TAG.CHANGELOGTEXT, strs(spec.changelog.map((c) => c.text)));
  }

  h.set(TAG.PAYLOADFORMAT, str('cpio'));
  const pt = payloadTags(compression, spec.compressionLevel);
  if (pt.compressor !== undefined) h.set(TAG.PAYLOADCOMPRESSOR, str(pt.compressor));
  h.set(TAG.PAYLOADFLAGS, str(pt.flags));
  h.set(TAG.PLATFORM, str(`${arch}-photon-${os}`));
  h.set(TAG.ENCODING, str('utf-8'));
  h.set(TAG.PAYLOADDIGEST, strs([sha256(payload)]));
  h.set(TAG.PAYLOADDIGESTALGO, i32([HASHALGO.SHA256]));
  h.set(TAG.PAYLOADDIGESTALT, strs([sha256(archive)]));

  const header = writeHeader(h, { magic: true, region: REGION_IMMUTABLE });

  const sig = new Map<number, HeaderValue>();
  sig.set(SIGTAG.SHA1, str(createHash('sha1').update(header).digest('hex')));
  sig.set(SIGTAG.SHA256, str(sha256(header)));
  const total = header.length + payload.length;
  if (total > 0xffffffff) sig.set(SIGTAG.LONGSIZE, i64([total]));
  else sig.set(SIGTAG.SIZE, i32([total]));
  sig.set(SIGTAG.MD5, bin(createHash('md5').update(header).update(payload).digest()));
  if (archive.length > 0xffffffff) sig.set(SIGTAG.LONGARCHIVESIZE, i64([archive.length]));
  else sig.set(SIGTAG.PAYLOADSIZE, i32([archive.length]));
  const reserved = spec.reservedSpace ?? DEFAULT_RESERVED;
  if (reserved > 0) sig.set(SIGTAG.RESERVEDSPACE, bin(new Uint8Array(reserved)));
  const sigBytes = writeHeader(sig, { magic: true, region: 62 });

  const lead = writeLead({ name: `${spec.name}-${spec.version}-${release}`, arch: ARCHNUM[arch] ?? 0, os: 1, type: 0 });
  const pad = (8 - (sigBytes.length % 8)) % 8;
  const out = new Uint8Array(lead.length + sigBytes.length + pad + header.length + payload.length);
  let p = 0;
  for (const part of [lead, sigBytes, new Uint8Array(pad), header, payload]) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}
