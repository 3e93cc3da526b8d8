/**
 * XML writers for RPM-md metadata (primary, filelists, other, repomd), byte for byte as
 * createrepo_c 0.17 writes them through libxml2: two-space indentation, `<package>` at column
 * 0, empty elements as `<x></x>` when they hold text and `<x/>` when they only have attributes,
 * and libxml2's escaping rules (text escapes `& < >` and CR; attributes also `"`, TAB and LF).
 *
 * Packages are dumped one at a time so that a repository is written as a stream of strings.
 */
import { RPMSENSE, type Dep } from '../rpm/deps.ts';
import type { RepoFile, RepoPackage } from './primary.ts';

export const NS_COMMON = 'http://linux.duke.edu/metadata/common';
export const NS_RPM = 'http://linux.duke.edu/metadata/rpm';
export const NS_FILELISTS = 'http://linux.duke.edu/metadata/filelists';
export const NS_OTHER = 'http://linux.duke.edu/metadata/other';
export const NS_REPO = 'http://linux.duke.edu/metadata/repo';

/** One <changelog> of other.xml. */
export interface RepoChangelog {
  author: string;
  /** Seconds since the epoch, after createrepo's same-time bump. */
  date: number;
  text: string;
}

/**
 * XML 1.0 cannot carry C0 controls other than TAB, LF and CR, not even as references, so they
 * are dropped as createrepo_c's latin1 fallback drops them (a raw one would make every reader,
 * ours and libsolv's, reject the whole file).
 */
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/;
// eslint-disable-next-line no-control-regex
const FORBIDDEN_ALL = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g;

export function stripControl(s: string): string {
  return FORBIDDEN.test(s) ? s.replace(FORBIDDEN_ALL, '') : s;
}

const TEXT_SPECIAL = /[&<>\r]/;
const ATTR_SPECIAL = /[&<>"\t\n\r]/;
const ESCAPE: Record<string, string> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;',
};

/** Element text as libxml2's xmlNodeDump escapes it. */
export function escapeText(s: string): string {
  s = stripControl(s);
  return TEXT_SPECIAL.test(s) ? s.replace(/[&<>\r]/g, (c) => ESCAPE[c]!) : s;
}

/** An attribute value (always written in double quotes). */
export function escapeAttr(s: string): string {
  s = stripControl(s);
  return ATTR_SPECIAL.test(s) ? s.replace(/[&<>"\t\n\r]/g, (c) => ESCAPE[c]!) : s;
}

// ---------------------------------------------------------------------------------------------
// Dependencies

/** createrepo_c's cr_flag_to_str: only the five single comparisons have a name. */
export function flagName(flags: number): string {
  switch (flags & 0x0f) {
    case RPMSENSE.LESS: return 'LT';
    case RPMSENSE.GREATER: return 'GT';
    case RPMSENSE.EQUAL: return 'EQ';
    case RPMSENSE.LESS | RPMSENSE.EQUAL: return 'LE';
    case RPMSENSE.GREATER | RPMSENSE.EQUAL: return 'GE';
    default: return '';
  }
}

/** The requires bits createrepo_c 0.17 marks `pre="1"`; %pretrans/%posttrans are not among them. */
export const PRE_MASK = RPMSENSE.PREREQ | RPMSENSE.SCRIPT_PRE | RPMSENSE.SCRIPT_POST;

/**
 * createrepo_c's cr_str_to_evr: epoch is the number before the first ':' ("0" when there is
 * none or it is not numeric), version runs to the first '-' after it, release is the rest.
 */
export function splitEvr(evr: string): { epoch: string; version: string; release: string } {
  if (evr === '') return { epoch: '', version: '', release: '' };
  let rest = evr;
  let epoch = '0';
  const colon = evr.indexOf(':');
  if (colon >= 0) {
    const e = evr.slice(0, colon);
    if (/^\d+$/.test(e)) epoch = e;
    rest = evr.slice(colon + 1);
  }
  const dash = rest.indexOf('-');
  return dash >= 0
    ? { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) }
    : { epoch, version: rest, release: '' };
}

function dumpEntries(tag: string, deps: readonly Dep[], requires: boolean): string {
  if (!deps.length) return '';
  let out = `    <rpm:${tag}>\n`;
  for (const d of deps) {
    out += `      <rpm:entry name="${escapeAttr(d.name)}"`;
    const f = flagName(d.flags);
    if (f) {
      const { epoch, version, release } = splitEvr(d.evr);
      out += ` flags="${f}"`;
      if (epoch) out += ` epoch="${escapeAttr(epoch)}"`;
      if (version) out += ` ver="${escapeAttr(version)}"`;
      if (release) out += ` rel="${escapeAttr(release)}"`;
    }
    if (requires && d.flags & PRE_MASK) out += ' pre="1"';
    out += '/>\n';
  }
  return out + `    </rpm:${tag}>\n`;
}

function dumpFiles(files: readonly RepoFile[], indent: string): string {
  let out = '';
  for (const f of files) {
    out += f.type === 'file' ? `${indent}<file>` : `${indent}<file type="${f.type}">`;
    out += `${escapeText(f.path)}</file>\n`;
  }
  return out;
}

function versionElement(p: Pick<RepoPackage, 'epoch' | 'version' | 'release'>): string {
  return `<version epoch="${escapeAttr(p.epoch)}" ver="${escapeAttr(p.version)}" rel="${escapeAttr(p.release)}"/>`;
}

// ---------------------------------------------------------------------------------------------
// primary.xml

export function primaryStart(count: number): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="${NS_COMMON}" xmlns:rpm="${NS_RPM}" packages="${count}">\n`;
}

export const PRIMARY_END = '</metadata>';

/** One <package> of primary.xml; `p.files` must already be the primary subset. */
export function primaryPackage(p: RepoPackage): string {
  const t = (name: string, value: string, indent = '  ') => `${indent}<${name}>${escapeText(value)}</${name}>\n`;
  let out = '<package type="rpm">\n';
  out += t('name', p.name) + t('arch', p.arch);
  out += `  ${versionElement(p)}\n`;
  out += `  <checksum type="${escapeAttr(p.checksumType)}" pkgid="YES">${escapeText(p.pkgid)}</checksum>\n`;
  out += t('summary', p.summary) + t('description', p.description) + t('packager', p.packager) + t('url', p.url);
  out += `  <time file="${p.timeFile}" build="${p.timeBuild}"/>\n`;
  out += `  <size package="${p.sizePackage}" installed="${p.sizeInstalled}" archive="${p.sizeArchive}"/>\n`;
  out += p.locationBase
    ? `  <location xml:base="${escapeAttr(p.locationBase)}" href="${escapeAttr(p.location)}"/>\n`
    : `  <location href="${escapeAttr(p.location)}"/>\n`;
  out += '  <format>\n';
  const i4 = '    ';
  out += t('rpm:license', p.license, i4) + t('rpm:vendor', p.vendor, i4) + t('rpm:group', p.group, i4);
  out += t('rpm:buildhost', p.buildhost, i4) + t('rpm:sourcerpm', p.sourcerpm, i4);
  out += `    <rpm:header-range start="${p.headerStart}" end="${p.headerEnd}"/>\n`;
  out += dumpEntries('provides', p.provides, false);
  out += dumpEntries('requires', p.requires, true);
  out += dumpEntries('conflicts', p.conflicts, false);
  out += dumpEntries('obsoletes', p.obsoletes, false);
  // createrepo_c's order, not the alphabetical one.
  out += dumpEntries('suggests', p.suggests, false);
  out += dumpEntries('enhances', p.enhances, false);
  out += dumpEntries('recommends', p.recommends, false);
  out += dumpEntries('supplements', p.supplements, false);
  out += dumpFiles(p.files, i4);
  return out + '  </format>\n</package>\n';
}

// ---------------------------------------------------------------------------------------------
// filelists.xml and other.xml

type PackageIdentity = Pick<RepoPackage, 'pkgid' | 'name' | 'arch' | 'epoch' | 'version' | 'release'>;

function packageOpen(p: PackageIdentity): string {
  return `<package pkgid="${escapeAttr(p.pkgid)}" name="${escapeAttr(p.name)}" arch="${escapeAttr(p.arch)}">\n  ${versionElement(p)}\n`;
}

export function filelistsStart(count: number): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<filelists xmlns="${NS_FILELISTS}" packages="${count}">\n`;
}

export const FILELISTS_END = '</filelists>';

export function filelistsPackage(p: PackageIdentity, files: readonly RepoFile[]): string {
  return packageOpen(p) + dumpFiles(files, '  ') + '</package>\n';
}

export function otherStart(count: number): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<otherdata xmlns="${NS_OTHER}" packages="${count}">\n`;
}

export const OTHER_END = '</otherdata>';

export function otherPackage(p: PackageIdentity, changelogs: readonly RepoChangelog[]): string {
  let out = packageOpen(p);
  for (const c of changelogs) {
    out += `  <changelog author="${escapeAttr(c.author)}" date="${c.date}">${escapeText(c.text)}</changelog>\n`;
  }
  return out + '</package>\n';
}

// ---------------------------------------------------------------------------------------------
// repomd.xml

export interface RepomdRecord {
  type: string;
  checksum: string;
  /** Absent for an uncompressed file carried over from another tool. */
  openChecksum?: string | undefined;
  /** Relative to the repository root: `repodata/<sum>-primary.xml.gz`. */
  location: string;
  timestamp?: number | undefined;
  size?: number | undefined;
  openSize?: number | undefined;
  /** Defaults to the repomd's checksum type. */
  checksumType?: string | undefined;
  databaseVersion?: number | undefined;
}

export function repomdXml(revision: string, records: readonly RepomdRecord[], checksumType = 'sha256'): string {
  let out = `<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="${NS_REPO}" xmlns:rpm="${NS_RPM}">\n`;
  out += `  <revision>${escapeText(revision)}</revision>\n`;
  for (const r of records) {
    out += `  <data type="${escapeAttr(r.type)}">\n`;
    const type = escapeAttr(r.checksumType ?? checksumType);
    out += `    <checksum type="${type}">${escapeText(r.checksum)}</checksum>\n`;
    if (r.openChecksum !== undefined) out += `    <open-checksum type="${type}">${escapeText(r.openChecksum)}</open-checksum>\n`;
    out += `    <location href="${escapeAttr(r.location)}"/>\n`;
    if (r.timestamp !== undefined) out += `    <timestamp>${r.timestamp}</timestamp>\n`;
    if (r.size !== undefined) out += `    <size>${r.size}</size>\n`;
    if (r.openSize !== undefined) out += `    <open-size>${r.openSize}</open-size>\n`;
    if (r.databaseVersion !== undefined) out += `    <database_version>${r.databaseVersion}</database_version>\n`;
    out += '  </data>\n';
  }
  return out + '</repomd>\n';
}
