/**
 * RPM header → RPM-md records, following createrepo_c 0.17's cr_package_from_header
 * (parsehdr.c) rule for rule, so that our metadata matches what Debian's createrepo_c writes
 * for the same packages. Checked against the real tool in test/createrepo.test.ts.
 */
import { getNumber, getNumbers, getString, getStrings, type Header } from '../formats/rpm-header.ts';
import type { Dep } from '../rpm/deps.ts';
import { type DepKind, type RpmPackage, S_IFDIR, S_IFMT, headerDeps, headerFiles } from '../rpm/package.ts';
import { RPMFILE, SIGTAG, TAG } from '../rpm/tags.ts';
import { rpmvercmp } from '../rpm/version.ts';
import { type RepoChangelog, flagName, PRE_MASK } from './dump.ts';
import type { RepoFile, RepoPackage } from './primary.ts';

/** createrepo_c's default --changelog-limit. */
export const DEFAULT_CHANGELOG_LIMIT = 10;

/** Everything a package contributes to primary, filelists and other. */
export interface PackageRecord {
  /** Its `files` is the primary subset of `filelist`. */
  pkg: RepoPackage;
  filelist: RepoFile[];
  changelogs: RepoChangelog[];
}

/** What createrepo learns from the file rather than the header. */
export interface FileFacts {
  /** Location href, relative to the repository root, '/'-separated. */
  href: string;
  /** xml:base of the location (--baseurl). */
  base?: string | undefined;
  size: number;
  /** Modification time in whole seconds. */
  mtime: number;
  /** Hex digest of the whole file; it is also the pkgid. */
  checksum: string;
  checksumType?: string;
}

/** cr_is_primary: the files dependency resolution most often asks about. */
export function isPrimaryFile(path: string): boolean {
  return path.startsWith('/etc/') || path.includes('bin/') || path === '/usr/lib/sendmail';
}

/**
 * createrepo_c's cr_compare_dependency for `libc.so.6(GLIBC_x.y)` names: 1 when `a` is the
 * higher, 2 when `b` is, 0 when equal; only the version inside the first parentheses counts.
 */
export function compareLibcDep(a: string, b: string): 0 | 1 | 2 {
  if (a === b) return 0;
  let v1 = a.indexOf('(');
  let v2 = b.indexOf('(');
  if (v1 < 0 && v2 < 0) return 0;
  if (v1 < 0) return 2;
  if (v2 < 0) return 1;
  const e1 = a.indexOf(')', v1);
  const e2 = b.indexOf(')', v2);
  if (e1 < 0 && e2 < 0) return 0; // the C code says "error" (-1), which callers treat as "not 2"
  if (e1 < 0) return 2;
  if (e2 < 0) return 1;
  v1++;
  v2++;
  if (v1 === e1 && v2 === e2) return 0;
  if (v1 === e1) return 2;
  if (v2 === e2) return 1;
  const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
  while (v1 < a.length && !isDigit(a[v1])) v1++;
  while (v2 < b.length && !isDigit(b[v2])) v2++;
  if (v1 > e1 && v2 > e2) return 0;
  if (v1 > e1) return 2;
  if (v2 > e2) return 1;
  const r = rpmvercmp(a.slice(v1, e1), b.slice(v2, e2));
  return r < 0 ? 2 : r > 0 ? 1 : 0;
}

function filterDeps(kind: DepKind, deps: Dep[], ownFiles: Set<string>, provided: Set<string>): Dep[] {
  if (kind !== 'requires') return deps;
  const out: Dep[] = [];
  // Per name, the last requires kept: createrepo_c drops an entry equal to the previous one of
  // the same name only, so `a`, `a (pre)`, `a` keeps all three.
  const last = new Map<string, { flags: string; evr: string; pre: boolean }>();
  let libc: Dep | undefined;
  for (const d of deps) {
    if (d.name.startsWith('rpmlib(')) continue;
    if (d.name.startsWith('/') && ownFiles.has(d.name) && isPrimaryFile(d.name)) continue;
    const flags = flagName(d.flags);
    if (provided.has(`${d.name}\0${flags}\0${d.evr}`)) continue;
    const pre = (d.flags & PRE_MASK) !== 0;
    const prev = last.get(d.name);
    if (prev && prev.flags === flags && prev.evr === d.evr && prev.pre === pre) continue;
    if (d.name.startsWith('libc.so.6')) {
      // Only the highest libc.so.6(GLIBC_…) survives, written after all other requires.
      if (!libc || compareLibcDep(libc.name, d.name) === 2) libc = d;
      continue;
    }
    out.push(d);
    last.set(d.name, { flags, evr: d.evr, pre });
  }
  if (libc) out.push(libc);
  return out;
}

/**
 * The changelog as createrepo_c keeps it: the `limit` newest entries, oldest first, authors
 * without trailing spaces, and entries sharing a time made distinct by bumping the newer ones
 * by a second each (its "ugly but works" rule, which keeps dates unique for yum's sqlite).
 */
export function changelogEntries(h: Header, limit = DEFAULT_CHANGELOG_LIMIT): RepoChangelog[] {
  const times = getNumbers(h, TAG.CHANGELOGTIME);
  const names = getStrings(h, TAG.CHANGELOGNAME);
  const texts = getStrings(h, TAG.CHANGELOGTEXT);
  const n = Math.min(times.length, names.length, texts.length, limit < 0 ? Infinity : limit);
  // `list` is newest-last while we walk the header (newest first) and prepend, as the C code does.
  const list: RepoChangelog[] = [];
  let lastTime = 0;
  for (let i = 0; i < n; i++) {
    const time = times[i]!;
    let author = names[i]!;
    let end = author.length;
    while (end > 1 && author[end - 1] === ' ') end--;
    author = author.slice(0, end);
    list.unshift({ author, date: time, text: texts[i]! });
    if (lastTime === time) {
      let t = time;
      for (let j = 1; j < list.length && list[j]!.date === t; j++) {
        list[j]!.date++;
        t++;
      }
    } else lastTime = time;
  }
  return list;
}

/** The archive size rpm reports: main header tags, else the signature header's (rpm ≥ 4.14 keeps it there). */
function archiveSize(rpm: RpmPackage): number {
  return getNumber(rpm.header, SIGTAG.LONGARCHIVESIZE) ?? getNumber(rpm.header, TAG.ARCHIVESIZE)
    ?? getNumber(rpm.signature, SIGTAG.LONGARCHIVESIZE) ?? getNumber(rpm.signature, SIGTAG.PAYLOADSIZE) ?? 0;
}

/** Builds the metadata records of one package. */
export function recordFromHeader(rpm: RpmPackage, facts: FileFacts, options: { changelogLimit?: number } = {}): PackageRecord {
  const h = rpm.header;
  const s = (tag: number) => getString(h, tag) ?? '';
  const filelist: RepoFile[] = headerFiles(h, rpm.file).map((f) => ({
    path: f.path,
    type: (f.mode & S_IFMT) === S_IFDIR ? 'dir' : f.flags & RPMFILE.GHOST ? 'ghost' : 'file',
  }));
  const ownFiles = new Set(filelist.map((f) => f.path));
  const provides = headerDeps(h, 'provides');
  const provided = new Set(provides.map((d) => `${d.name}\0${flagName(d.flags)}\0${d.evr}`));
  const deps = (kind: DepKind) => filterDeps(kind, headerDeps(h, kind), ownFiles, provided);
  const pkg: RepoPackage = {
    name: s(TAG.NAME),
    arch: getNumber(h, TAG.SOURCEPACKAGE) ? 'src' : s(TAG.ARCH),
    epoch: String(getNumber(h, TAG.EPOCH) ?? 0),
    version: s(TAG.VERSION),
    release: s(TAG.RELEASE),
    pkgid: facts.checksum,
    checksumType: facts.checksumType ?? 'sha256',
    summary: s(TAG.SUMMARY),
    description: s(TAG.DESCRIPTION),
    packager: s(TAG.PACKAGER),
    url: s(TAG.URL),
    timeFile: facts.mtime,
    timeBuild: getNumber(h, TAG.BUILDTIME) ?? 0,
    sizePackage: facts.size,
    sizeInstalled: getNumber(h, TAG.LONGSIZE) ?? getNumber(h, TAG.SIZE) ?? 0,
    sizeArchive: archiveSize(rpm),
    location: facts.href,
    license: s(TAG.LICENSE),
    vendor: s(TAG.VENDOR),
    group: s(TAG.GROUP),
    buildhost: s(TAG.BUILDHOST),
    sourcerpm: s(TAG.SOURCERPM),
    headerStart: rpm.headerOffset,
    headerEnd: rpm.payloadOffset,
    provides,
    requires: deps('requires'),
    conflicts: deps('conflicts'),
    obsoletes: deps('obsoletes'),
    recommends: deps('recommends'),
    suggests: deps('suggests'),
    supplements: deps('supplements'),
    enhances: deps('enhances'),
    files: filelist.filter((f) => isPrimaryFile(f.path)),
  };
  if (facts.base) pkg.locationBase = facts.base;
  return { pkg, filelist, changelogs: changelogEntries(h, options.changelogLimit) };
}
