/**
 * What `rpm -q` prints for a header: NEVRA, --info, --list, --requires, --provides, --scripts,
 * --changelog, following rpm 4.18's query formats (rpmpopt aliases), and a JSON form keyed by
 * rpm's tag names. Shared by `photon rpm query -p` (package files) and the rpmdb query
 * (installed headers, where INSTALLTIME is set and the signature tags live in the main header).
 */
import { type Header, getBytes, getNumber, getNumbers, getString, getStrings } from '../formats/rpm-header.ts';
import { formatDep } from './deps.ts';
import { type DepKind, headerDeps, headerFiles, nevra } from './package.ts';
import { SIGTAG, TAG } from './tags.ts';

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => String(n).padStart(2, '0');

/** strftime("%c") in the C locale, local time, as rpm's `:date` format prints it. */
export function formatDate(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${WEEKDAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}`;
}

/** strftime("%a %b %d %Y"), local time, as rpm's `:day` format (changelog dates). */
export function formatDay(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${WEEKDAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${p2(d.getDate())} ${d.getFullYear()}`;
}

const PUBKEY_ALGO: Record<number, string> = { 1: 'RSA', 2: 'RSA', 3: 'RSA', 16: 'ELGAMAL', 17: 'DSA', 18: 'ECDH', 19: 'ECDSA', 22: 'EdDSA' };
const HASH_ALGO: Record<number, string> = { 1: 'MD5', 2: 'SHA1', 3: 'RIPEMD160', 8: 'SHA256', 9: 'SHA384', 10: 'SHA512', 11: 'SHA224' };

/**
 * rpm's `:pgpsig` format: "RSA/SHA256, <date>, Key ID <16 hex>". Reads just enough of an
 * OpenPGP v3/v4 signature packet; anything else prints as rpm prints it.
 */
export function formatPgpSig(sig: Uint8Array): string {
  const bad = '(not an OpenPGP signature)';
  let p = 0;
  const tagByte = sig[p++];
  if (tagByte === undefined || !(tagByte & 0x80)) return bad;
  let len: number;
  if (tagByte & 0x40) {
    if ((tagByte & 0x3f) !== 2) return bad;
    const l0 = sig[p++] ?? 0;
    if (l0 < 192) len = l0;
    else if (l0 < 224) len = ((l0 - 192) << 8) + (sig[p++] ?? 0) + 192;
    else if (l0 === 255) {
      len = (((sig[p] ?? 0) << 24) | ((sig[p + 1] ?? 0) << 16) | ((sig[p + 2] ?? 0) << 8) | (sig[p + 3] ?? 0)) >>> 0;
      p += 4;
    } else return bad;
  } else {
    if (((tagByte >> 2) & 0xf) !== 2) return bad;
    const lt = tagByte & 3;
    const n = lt === 0 ? 1 : lt === 1 ? 2 : lt === 2 ? 4 : 0;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (sig[p++] ?? 0);
    if (n === 0) len = sig.length - p;
  }
  const body = sig.subarray(p, p + len);
  if (body.length < len) return bad;
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const u32 = (b: Uint8Array, o: number) => (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
  let pub: number;
  let hash: number;
  let time: number | undefined;
  let keyId: string | undefined;
  if (body[0] === 3) {
    if (body.length < 19) return bad;
    time = u32(body, 3);
    keyId = hex(body.subarray(7, 15));
    pub = body[15]!;
    hash = body[16]!;
  } else if (body[0] === 4) {
    if (body.length < 6) return bad;
    pub = body[2]!;
    hash = body[3]!;
    let q = 4;
    for (let area = 0; area < 2; area++) {
      const n = ((body[q] ?? 0) << 8) | (body[q + 1] ?? 0);
      q += 2;
      const end = q + n;
      if (end > body.length) return bad;
      while (q < end) {
        let sl = body[q++]!;
        if (sl >= 192 && sl < 255) sl = ((sl - 192) << 8) + (body[q++] ?? 0) + 192;
        else if (sl === 255) {
          sl = u32(body, q);
          q += 4;
        }
        if (sl < 1 || q + sl > end) return bad;
        const type = body[q]! & 0x7f;
        const data = body.subarray(q + 1, q + sl);
        if (type === 2 && data.length === 4 && area === 0) time = u32(data, 0);
        if (type === 16 && data.length === 8 && keyId === undefined) keyId = hex(data);
        if (type === 33 && data.length >= 9 && keyId === undefined) keyId = hex(data.subarray(data.length - 8));
        q += sl;
      }
    }
  } else return bad;
  return `${PUBKEY_ALGO[pub] ?? '(unknown)'}/${HASH_ALGO[hash] ?? '(unknown)'}, ${time !== undefined ? formatDate(time) : ''}, Key ID ${keyId ?? '(none)'}`;
}

/** A signature tag from the main header (installed headers) or the signature header (files). */
function signatureLine(h: Header, sig: Header | undefined): string {
  const pick = (mainTag: number, sigTag: number) => getBytes(h, mainTag) ?? (sig ? getBytes(sig, sigTag) : undefined);
  const s = pick(TAG.DSAHEADER, SIGTAG.DSA) ?? pick(TAG.RSAHEADER, SIGTAG.RSA) ?? pick(TAG.SIGGPG, SIGTAG.GPG) ?? pick(TAG.SIGPGP, SIGTAG.PGP);
  return s ? formatPgpSig(s) : '(none)';
}

/** `rpm -qi`. `sig` is the package file's signature header, when there is one. */
export function formatInfo(h: Header, sig?: Header): string {
  const s = (t: number) => getString(h, t);
  const lines: string[] = [];
  lines.push(`Name        : ${s(TAG.NAME) ?? ''}`);
  const epoch = getNumber(h, TAG.EPOCH);
  if (epoch !== undefined) lines.push(`Epoch       : ${epoch}`);
  lines.push(`Version     : ${s(TAG.VERSION) ?? ''}`);
  lines.push(`Release     : ${s(TAG.RELEASE) ?? ''}`);
  lines.push(`Architecture: ${s(TAG.ARCH) ?? ''}`);
  const it = getNumber(h, TAG.INSTALLTIME);
  lines.push(`Install Date: ${it !== undefined ? formatDate(it) : '(not installed)'}`);
  lines.push(`Group       : ${s(TAG.GROUP) ?? '(none)'}`);
  lines.push(`Size        : ${getNumber(h, TAG.LONGSIZE) ?? getNumber(h, TAG.SIZE) ?? 0}`);
  const lic = s(TAG.LICENSE);
  lines.push(lic !== undefined ? `License     : ${lic}` : '');
  lines.push(`Signature   : ${signatureLine(h, sig)}`);
  lines.push(`Source RPM  : ${s(TAG.SOURCERPM) ?? '(none)'}`);
  const bt = getNumber(h, TAG.BUILDTIME);
  lines.push(`Build Date  : ${bt !== undefined ? formatDate(bt) : '(none)'}`);
  lines.push(`Build Host  : ${s(TAG.BUILDHOST) ?? '(none)'}`);
  const opt = (label: string, t: number) => {
    const v = s(t);
    if (v !== undefined) lines.push(`${label}: ${v}`);
  };
  opt('Packager    ', TAG.PACKAGER);
  opt('Vendor      ', TAG.VENDOR);
  opt('URL         ', TAG.URL);
  opt('Bug URL     ', TAG.BUGURL);
  lines.push(`Summary     : ${s(TAG.SUMMARY) ?? '(none)'}`);
  lines.push('Description :');
  lines.push(s(TAG.DESCRIPTION) ?? '(none)');
  return lines.join('\n') + '\n';
}

/** `rpm -ql`. */
export function formatFileList(h: Header): string {
  const files = headerFiles(h);
  if (!files.length) return '(contains no files)\n';
  return files.map((f) => f.path + '\n').join('');
}

/** `rpm -qR`, `rpm -q --provides`, … one dependency a line, in header order. */
export function formatDeps(h: Header, kind: DepKind): string {
  return headerDeps(h, kind).map((d) => formatDep(d) + '\n').join('');
}

/** Each scriptlet: `rpm --scripts`' label, our JSON key, and its body and interpreter tags. */
const SCRIPTS: { label: string; key: string; script: number; prog: number }[] = [
  { label: 'pretrans', key: 'PreTrans', script: TAG.PRETRANS, prog: TAG.PRETRANSPROG },
  { label: 'preinstall', key: 'PreIn', script: TAG.PREIN, prog: TAG.PREINPROG },
  { label: 'postinstall', key: 'PostIn', script: TAG.POSTIN, prog: TAG.POSTINPROG },
  { label: 'preuninstall', key: 'PreUn', script: TAG.PREUN, prog: TAG.PREUNPROG },
  { label: 'postuninstall', key: 'PostUn', script: TAG.POSTUN, prog: TAG.POSTUNPROG },
  { label: 'posttrans', key: 'PostTrans', script: TAG.POSTTRANS, prog: TAG.POSTTRANSPROG },
  { label: 'verify', key: 'VerifyScript', script: TAG.VERIFYSCRIPT, prog: TAG.VERIFYSCRIPTPROG },
];

/** rpm prints a string-array interpreter (`-p "/bin/sh -e"`) as its words joined by ", ". */
function progText(h: Header, tag: number): string | undefined {
  const v = getStrings(h, tag);
  return v.length ? v.join(', ') : undefined;
}

/** `rpm -q --scripts` (install scriptlets; triggers are not printed). */
export function formatScripts(h: Header): string {
  let out = '';
  for (const s of SCRIPTS) {
    const body = getString(h, s.script);
    const prog = progText(h, s.prog);
    if (body !== undefined) out += `${s.label} scriptlet${prog !== undefined ? ` (using ${prog})` : ''}:\n${body}\n`;
    else if (prog !== undefined) out += `${s.label} program: ${prog}\n`;
  }
  return out;
}

/** `rpm -q --changelog`. */
export function formatChangelog(h: Header): string {
  const times = getNumbers(h, TAG.CHANGELOGTIME);
  const names = getStrings(h, TAG.CHANGELOGNAME);
  const texts = getStrings(h, TAG.CHANGELOGTEXT);
  return times.map((t, i) => `* ${formatDay(t)} ${names[i] ?? ''}\n${texts[i] ?? ''}\n\n`).join('');
}

export interface QuerySelection {
  info?: boolean;
  list?: boolean;
  requires?: boolean;
  provides?: boolean;
  scripts?: boolean;
  changelog?: boolean;
}

/**
 * The text for one package. With no selection, NEVRA as `rpm -q` prints it; otherwise the
 * selected sections in a fixed order (rpm itself lets the last --qf alias win).
 */
export function formatQuery(h: Header, sel: QuerySelection, sig?: Header): string {
  const any = sel.info || sel.list || sel.requires || sel.provides || sel.scripts || sel.changelog;
  if (!any) return nevra(h) + '\n';
  let out = '';
  if (sel.info) out += formatInfo(h, sig);
  if (sel.requires) out += formatDeps(h, 'requires');
  if (sel.provides) out += formatDeps(h, 'provides');
  if (sel.scripts) out += formatScripts(h);
  if (sel.changelog) out += formatChangelog(h);
  if (sel.list) out += formatFileList(h);
  return out;
}

/** One package as JSON, keys named after rpm's tags; dependency lists as `rpm -qR` prints them. */
export function queryJson(h: Header): Record<string, unknown> {
  const s = (t: number) => getString(h, t) ?? null;
  const deps = (k: DepKind) => headerDeps(h, k).map(formatDep);
  const scripts: Record<string, { Interpreter: string[] | null; Script: string | null }> = {};
  for (const x of SCRIPTS) {
    const body = getString(h, x.script);
    const prog = getStrings(h, x.prog);
    if (body !== undefined || prog.length) scripts[x.key] = { Interpreter: prog.length ? prog : null, Script: body ?? null };
  }
  const times = getNumbers(h, TAG.CHANGELOGTIME);
  const names = getStrings(h, TAG.CHANGELOGNAME);
  const texts = getStrings(h, TAG.CHANGELOGTEXT);
  return {
    Name: s(TAG.NAME),
    Epoch: getNumber(h, TAG.EPOCH) ?? null,
    Version: s(TAG.VERSION),
    Release: s(TAG.RELEASE),
    Arch: s(TAG.ARCH),
    NEVRA: nevra(h),
    Summary: s(TAG.SUMMARY),
    Description: s(TAG.DESCRIPTION),
    License: s(TAG.LICENSE),
    URL: s(TAG.URL),
    Group: s(TAG.GROUP),
    Vendor: s(TAG.VENDOR),
    Packager: s(TAG.PACKAGER),
    Size: getNumber(h, TAG.LONGSIZE) ?? getNumber(h, TAG.SIZE) ?? null,
    BuildTime: getNumber(h, TAG.BUILDTIME) ?? null,
    BuildHost: s(TAG.BUILDHOST),
    InstallTime: getNumber(h, TAG.INSTALLTIME) ?? null,
    SourceRPM: s(TAG.SOURCERPM),
    Requires: deps('requires'),
    Provides: deps('provides'),
    Conflicts: deps('conflicts'),
    Obsoletes: deps('obsoletes'),
    Recommends: deps('recommends'),
    Suggests: deps('suggests'),
    Supplements: deps('supplements'),
    Enhances: deps('enhances'),
    Files: headerFiles(h).map((f) => ({
      Path: f.path, Mode: f.mode, Size: f.size, User: f.user, Group: f.group, MTime: f.mtime,
      Digest: f.digest, LinkTo: f.linkTo, Flags: f.flags,
    })),
    Scripts: scripts,
    Changelog: times.map((t, i) => ({ Time: t, Name: names[i] ?? '', Text: texts[i] ?? '' })),
  };
}
