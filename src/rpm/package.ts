/**
 * RPM v4 package files:
 *
 * | offset           | size     | meaning                                                 |
 * |------------------|----------|---------------------------------------------------------|
 * | 0                | 96       | lead: magic ed ab ee db, version 3.0, type, arch, name… |
 * | 96               | s        | signature header (magic, region tag 62)                 |
 * | 96 + s           | 0–7      | zero padding to a multiple of 8                         |
 * | headerOffset     | h        | main header (magic, region tag 63)                      |
 * | payloadOffset    | rest     | compressed cpio archive                                 |
 *
 * Lead layout: magic 4, major 1, minor 1, type u16 (0 binary, 1 source), archnum u16,
 * name char[66], osnum u16, signature_type u16 (5 = header-style), reserved 16.
 * The signature header's digests cover the main header's bytes as stored, magic included;
 * PAYLOADDIGEST covers the compressed payload.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { readCpio } from '../formats/cpio.ts';
import { decompressPayload } from '../formats/compress.ts';
import {
  type Header, type HeaderValue, REGION_IMMUTABLE, REGION_SIGNATURES, TagType,
  getNumber, getNumbers, getString, getStrings, parseHeader, writeHeader,
} from '../formats/rpm-header.ts';
import { PhotonError, withFile } from '../util/errors.ts';
import { type Dep } from './deps.ts';
import { HASHALGO, SIGTAG, TAG } from './tags.ts';

export type { Dep } from './deps.ts';

export const LEAD_SIZE = 96;
export const LEAD_MAGIC = Uint8Array.of(0xed, 0xab, 0xee, 0xdb);

export interface RpmLead {
  name: string;
  arch: number;
  os: number;
  type: number;
  sigType: number;
}

export interface RpmPackage {
  file: string | undefined;
  lead: RpmLead;
  signature: Header;
  /** The main header; its `raw` is the exact stored bytes without the magic. */
  header: Header;
  signatureOffset: number;
  headerOffset: number;
  payloadOffset: number;
}

const pad8 = (n: number): number => (8 - (n % 8)) % 8;

function opts(file: string | undefined): { file?: string } {
  return file === undefined ? {} : { file };
}

/**
 * Parses the lead and both headers; the payload is located, not read. Checks the magic
 * numbers, the region tags and that the file is as long as the signature header says.
 */
export function readPackage(bytes: Uint8Array, file?: string): RpmPackage {
  if (bytes.length < LEAD_SIZE || !LEAD_MAGIC.every((b, i) => bytes[i] === b)) {
    throw new PhotonError('E_RPM_NOT_RPM', bytes.length < LEAD_SIZE && LEAD_MAGIC.every((b, i) => i >= bytes.length || bytes[i] === b)
      ? 'not an RPM package (truncated lead)' : 'not an RPM package (bad lead magic)', opts(file));
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[4]!;
  if (major !== 3 && major !== 4) throw new PhotonError('E_RPM_NOT_RPM', `unsupported RPM lead version ${major}`, opts(file));
  const nameBytes = bytes.subarray(10, 76);
  const z = nameBytes.indexOf(0);
  const lead: RpmLead = {
    type: dv.getUint16(6),
    arch: dv.getUint16(8),
    name: new TextDecoder().decode(nameBytes.subarray(0, z < 0 ? 66 : z)),
    os: dv.getUint16(76),
    sigType: dv.getUint16(78),
  };
  if (lead.sigType !== 5) throw new PhotonError('E_RPM_NOT_RPM', `unsupported signature type ${lead.sigType} (only header-style, 5)`, opts(file));

  const signatureOffset = LEAD_SIZE;
  const sig = parseHeader(bytes, signatureOffset, { magic: true, what: 'signature header', ...opts(file) });
  if (sig.header.region !== undefined && sig.header.region !== REGION_SIGNATURES) {
    throw new PhotonError('E_RPM_HEADER', `signature header: region tag ${sig.header.region}, expected ${REGION_SIGNATURES}`, opts(file));
  }
  const headerOffset = sig.end + pad8(sig.end - signatureOffset);
  if (headerOffset > bytes.length) throw new PhotonError('E_RPM_TRUNCATED', 'truncated after the signature header', opts(file));
  const main = parseHeader(bytes, headerOffset, { magic: true, what: 'header', ...opts(file) });
  if (main.header.region !== undefined && main.header.region !== REGION_IMMUTABLE) {
    throw new PhotonError('E_RPM_HEADER', `header: region tag ${main.header.region}, expected ${REGION_IMMUTABLE}`, opts(file));
  }
  const pkg: RpmPackage = {
    file, lead, signature: sig.header, header: main.header, signatureOffset, headerOffset, payloadOffset: main.end,
  };
  const declared = sigNumber(pkg, SIGTAG.LONGSIZE) ?? sigNumber(pkg, SIGTAG.SIZE);
  if (declared !== undefined && headerOffset + declared > bytes.length) {
    throw new PhotonError('E_RPM_TRUNCATED', `truncated: header and payload should be ${declared} bytes, file has ${bytes.length - headerOffset}`, opts(file));
  }
  if (getString(main.header, TAG.NAME) === undefined) throw new PhotonError('E_RPM_HEADER', 'header has no NAME', opts(file));
  return pkg;
}

function sigNumber(pkg: RpmPackage, tag: number): number | undefined {
  try {
    return getNumber(pkg.signature, tag);
  } catch (e) {
    throw withFile(e, pkg.file ?? '');
  }
}

export async function readPackageFile(path: string): Promise<{ pkg: RpmPackage; bytes: Uint8Array }> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw withFile(e, path);
  }
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  return { pkg: readPackage(bytes, path), bytes };
}

export type DigestResult = 'ok' | 'bad' | 'absent';

const HASH_NAME: Record<number, string> = {
  [HASHALGO.MD5]: 'md5', [HASHALGO.SHA1]: 'sha1', [HASHALGO.SHA256]: 'sha256',
  [HASHALGO.SHA384]: 'sha384', [HASHALGO.SHA512]: 'sha512',
};

/** The node:crypto name of an rpm hash algorithm number. */
export function hashName(algo: number): string {
  const n = HASH_NAME[algo];
  if (!n) throw new PhotonError('E_RPM_HEADER', `unknown digest algorithm ${algo}`);
  return n;
}

/**
 * Checks what `rpm -K --nosignature` checks: the header digests in the signature header
 * (SHA256HEADER, SHA1HEADER) and the payload digest in the main header.
 */
export function verifyDigests(pkg: RpmPackage, bytes: Uint8Array): { header: DigestResult; payload: DigestResult } {
  const headerBytes = bytes.subarray(pkg.headerOffset, pkg.payloadOffset);
  let header: DigestResult = 'absent';
  const check = (algo: string, want: string | undefined) => {
    if (want === undefined) return;
    const got = createHash(algo).update(headerBytes).digest('hex');
    header = got === want.toLowerCase() && header !== 'bad' ? 'ok' : 'bad';
  };
  check('sha256', getString(pkg.signature, SIGTAG.SHA256));
  check('sha1', getString(pkg.signature, SIGTAG.SHA1));

  let payload: DigestResult = 'absent';
  const want = getStrings(pkg.header, TAG.PAYLOADDIGEST)[0];
  if (want !== undefined) {
    const algo = getNumber(pkg.header, TAG.PAYLOADDIGESTALGO) ?? HASHALGO.SHA256;
    const got = createHash(hashName(algo)).update(bytes.subarray(pkg.payloadOffset)).digest('hex');
    payload = got === want.toLowerCase() ? 'ok' : 'bad';
  }
  return { header, payload };
}

/**
 * Replaces the signature header, keeping lead, main header and payload byte for byte.
 * `entries` is the complete new signature header (without the region tag, which is added).
 */
export function rewriteSignature(pkg: RpmPackage, bytes: Uint8Array, entries: Map<number, HeaderValue>): Uint8Array {
  const sig = writeHeader(entries, { magic: true, region: REGION_SIGNATURES });
  const pad = pad8(sig.length);
  const rest = bytes.subarray(pkg.headerOffset);
  const out = new Uint8Array(LEAD_SIZE + sig.length + pad + rest.length);
  out.set(bytes.subarray(0, LEAD_SIZE), 0);
  out.set(sig, LEAD_SIZE);
  out.set(rest, LEAD_SIZE + sig.length + pad);
  return out;
}

/** Builds a 96-byte lead as rpmbuild writes it (version 3.0, signature type 5). */
export function writeLead(lead: Omit<RpmLead, 'sigType'>): Uint8Array {
  const out = new Uint8Array(LEAD_SIZE);
  const dv = new DataView(out.buffer);
  out.set(LEAD_MAGIC, 0);
  out[4] = 3;
  out[5] = 0;
  dv.setUint16(6, lead.type);
  dv.setUint16(8, lead.arch);
  const name = new TextEncoder().encode(lead.name).subarray(0, 65);
  out.set(name, 10);
  dv.setUint16(76, lead.os);
  dv.setUint16(78, 5);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Package metadata

export interface PackageInfo {
  name: string;
  epoch: number | undefined;
  version: string;
  release: string;
  arch: string;
  os: string;
  summary: string;
  description: string;
  license: string;
  url: string;
  group: string;
  vendor: string;
  packager: string;
  buildHost: string;
  buildTime: number;
  sourceRpm: string;
  size: number;
  requires: Dep[];
  provides: Dep[];
  conflicts: Dep[];
  obsoletes: Dep[];
  recommends: Dep[];
  suggests: Dep[];
  supplements: Dep[];
  enhances: Dep[];
}

export const DEP_TAGS = {
  requires: [TAG.REQUIRENAME, TAG.REQUIREFLAGS, TAG.REQUIREVERSION],
  provides: [TAG.PROVIDENAME, TAG.PROVIDEFLAGS, TAG.PROVIDEVERSION],
  conflicts: [TAG.CONFLICTNAME, TAG.CONFLICTFLAGS, TAG.CONFLICTVERSION],
  obsoletes: [TAG.OBSOLETENAME, TAG.OBSOLETEFLAGS, TAG.OBSOLETEVERSION],
  recommends: [TAG.RECOMMENDNAME, TAG.RECOMMENDFLAGS, TAG.RECOMMENDVERSION],
  suggests: [TAG.SUGGESTNAME, TAG.SUGGESTFLAGS, TAG.SUGGESTVERSION],
  supplements: [TAG.SUPPLEMENTNAME, TAG.SUPPLEMENTFLAGS, TAG.SUPPLEMENTVERSION],
  enhances: [TAG.ENHANCENAME, TAG.ENHANCEFLAGS, TAG.ENHANCEVERSION],
} as const;

export type DepKind = keyof typeof DEP_TAGS;

/** One dependency list; flags and versions missing or short are treated as 0 and ''. */
export function headerDeps(h: Header, kind: DepKind): Dep[] {
  const [n, f, v] = DEP_TAGS[kind];
  const names = getStrings(h, n);
  const flags = getNumbers(h, f);
  const versions = getStrings(h, v);
  return names.map((name, i) => ({ name, flags: flags[i] ?? 0, evr: versions[i] ?? '' }));
}

export function packageInfo(h: Header): PackageInfo {
  const s = (tag: number) => getString(h, tag) ?? '';
  return {
    name: s(TAG.NAME),
    epoch: getNumber(h, TAG.EPOCH),
    version: s(TAG.VERSION),
    release: s(TAG.RELEASE),
    arch: s(TAG.ARCH),
    os: s(TAG.OS),
    summary: s(TAG.SUMMARY),
    description: s(TAG.DESCRIPTION),
    license: s(TAG.LICENSE),
    url: s(TAG.URL),
    group: s(TAG.GROUP),
    vendor: s(TAG.VENDOR),
    packager: s(TAG.PACKAGER),
    buildHost: s(TAG.BUILDHOST),
    buildTime: getNumber(h, TAG.BUILDTIME) ?? 0,
    sourceRpm: s(TAG.SOURCERPM),
    size: getNumber(h, TAG.LONGSIZE) ?? getNumber(h, TAG.SIZE) ?? 0,
    requires: headerDeps(h, 'requires'),
    provides: headerDeps(h, 'provides'),
    conflicts: headerDeps(h, 'conflicts'),
    obsoletes: headerDeps(h, 'obsoletes'),
    recommends: headerDeps(h, 'recommends'),
    suggests: headerDeps(h, 'suggests'),
    supplements: headerDeps(h, 'supplements'),
    enhances: headerDeps(h, 'enhances'),
  };
}

/**
 * `name-version-release.arch`, rpm's default query output (no epoch). Headers without an arch,
 * such as rpm's gpg-pubkey entries, print without the `.arch` part, as rpm prints them.
 */
export function nevra(h: Header): string {
  const s = (tag: number) => getString(h, tag) ?? '';
  const arch = s(TAG.ARCH);
  return `${s(TAG.NAME)}-${s(TAG.VERSION)}-${s(TAG.RELEASE)}${arch ? `.${arch}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Files

export interface PackageFile {
  path: string;
  mode: number;
  user: string;
  group: string;
  mtime: number;
  size: number;
  linkTo: string;
  /** RPMFILE_* bits: CONFIG=1, DOC=2, MISSINGOK=8, NOREPLACE=16, GHOST=64, LICENSE=128, … */
  flags: number;
  digest: string;
  inode: number;
  nlink: number;
  rdev: number;
  /** Content of regular files; in a hardlink set only the member that carries the content has it. */
  data: Uint8Array | undefined;
}

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

/** The header's file list, each field checked to have one value per file. */
export function headerFiles(h: Header, file?: string): Omit<PackageFile, 'data'>[] {
  const fail = (m: string): never => {
    throw new PhotonError('E_RPM_HEADER', m, opts(file));
  };
  let paths: string[];
  const basenames = getStrings(h, TAG.BASENAMES);
  if (basenames.length) {
    const dirnames = getStrings(h, TAG.DIRNAMES);
    const dirindexes = getNumbers(h, TAG.DIRINDEXES);
    if (dirindexes.length !== basenames.length) fail(`DIRINDEXES has ${dirindexes.length} entries for ${basenames.length} files`);
    paths = basenames.map((b, i) => {
      const d = dirnames[dirindexes[i]!];
      if (d === undefined) return fail(`DIRINDEXES entry ${dirindexes[i]} outside DIRNAMES (${dirnames.length})`);
      return d + b;
    });
  } else {
    paths = getStrings(h, TAG.OLDFILENAMES);
  }
  const n = paths.length;
  const arr = <T>(tag: number, values: T[], def: T, name: string): T[] => {
    if (values.length === 0 && !h.entries.has(tag)) return new Array<T>(n).fill(def);
    if (values.length !== n) fail(`${name} has ${values.length} entries for ${n} files`);
    return values;
  };
  const longSizes = getNumbers(h, TAG.LONGFILESIZES);
  const sizes = longSizes.length ? arr(TAG.LONGFILESIZES, longSizes, 0, 'LONGFILESIZES') : arr(TAG.FILESIZES, getNumbers(h, TAG.FILESIZES), 0, 'FILESIZES');
  const modes = arr(TAG.FILEMODES, getNumbers(h, TAG.FILEMODES), 0, 'FILEMODES');
  const users = arr(TAG.FILEUSERNAME, getStrings(h, TAG.FILEUSERNAME), 'root', 'FILEUSERNAME');
  const groups = arr(TAG.FILEGROUPNAME, getStrings(h, TAG.FILEGROUPNAME), 'root', 'FILEGROUPNAME');
  const mtimes = arr(TAG.FILEMTIMES, getNumbers(h, TAG.FILEMTIMES), 0, 'FILEMTIMES');
  const links = arr(TAG.FILELINKTOS, getStrings(h, TAG.FILELINKTOS), '', 'FILELINKTOS');
  const flags = arr(TAG.FILEFLAGS, getNumbers(h, TAG.FILEFLAGS), 0, 'FILEFLAGS');
  const digests = arr(TAG.FILEDIGESTS, getStrings(h, TAG.FILEDIGESTS), '', 'FILEDIGESTS');
  const inodes = arr(TAG.FILEINODES, getNumbers(h, TAG.FILEINODES), 0, 'FILEINODES');
  const devices = arr(TAG.FILEDEVICES, getNumbers(h, TAG.FILEDEVICES), 0, 'FILEDEVICES');
  const rdevs = arr(TAG.FILERDEVS, getNumbers(h, TAG.FILERDEVS), 0, 'FILERDEVS');
  // rpm derives link counts from equal (device, inode) pairs among the package's files.
  const linkCount = new Map<string, number>();
  const key = (i: number) => `${devices[i]}:${inodes[i]}`;
  for (let i = 0; i < n; i++) if ((modes[i]! & S_IFMT) === S_IFREG) linkCount.set(key(i), (linkCount.get(key(i)) ?? 0) + 1);
  return paths.map((path, i) => ({
    path,
    mode: modes[i]!,
    user: users[i]!,
    group: groups[i]!,
    mtime: mtimes[i]!,
    size: sizes[i]!,
    linkTo: links[i]!,
    flags: flags[i]!,
    digest: digests[i]!,
    inode: inodes[i]!,
    nlink: (modes[i]! & S_IFMT) === S_IFREG ? linkCount.get(key(i)) ?? 1 : 1,
    rdev: rdevs[i]!,
  }));
}

/**
 * The package's files: header metadata merged with payload content, in payload order, then
 * files the payload does not carry (%ghost). A payload that names a path with `..`, a path the
 * header does not list, a path twice, or a path under one of the package's own symlinks is
 * refused (E_RPM_PAYLOAD): an installer must never be led outside the listed files.
 */
export async function* packageFiles(pkg: RpmPackage, bytes: Uint8Array): AsyncIterable<PackageFile> {
  const file = pkg.file;
  const fail = (m: string): never => {
    throw new PhotonError('E_RPM_PAYLOAD', m, opts(file));
  };
  const files = headerFiles(pkg.header, file);
  const byPath = new Map<string, number>();
  files.forEach((f, i) => byPath.set(f.path, i));
  const symlinks = new Set(files.filter((f) => (f.mode & S_IFMT) === S_IFLNK).map((f) => f.path));
  for (const f of files) {
    checkPath(f.path, fail);
    for (let p = f.path.lastIndexOf('/'); p > 0; p = f.path.lastIndexOf('/', p - 1)) {
      const parent = f.path.slice(0, p);
      if (symlinks.has(parent)) fail(`${f.path}: lies under ${parent}, a symlink in the same package`);
    }
  }
  const seen = new Uint8Array(files.length);
  const compressor = getString(pkg.header, TAG.PAYLOADCOMPRESSOR);
  const format = getString(pkg.header, TAG.PAYLOADFORMAT) ?? 'cpio';
  if (format !== 'cpio') fail(`unsupported payload format '${format}'`);
  const sizeOf = (i: number) => {
    const f = files[i];
    if (!f) throw new PhotonError('E_RPM_PAYLOAD', `payload refers to file #${i}, the header lists ${files.length}`, opts(file));
    return f.size;
  };
  const entries = readCpio(decompressPayload(compressor, bytes.subarray(pkg.payloadOffset)), { sizeOf, ...opts(file) });
  for await (const e of entries) {
    let index: number;
    if (e.fileIndex !== undefined) {
      index = e.fileIndex;
    } else {
      let name = e.name;
      if (name.startsWith('./')) name = name.slice(1);
      else if (name.startsWith('/')) {
        if (!byPath.has(name)) fail(`payload has absolute path ${name}, which the header does not list`);
      } else name = '/' + name;
      checkPath(name, fail);
      const i = byPath.get(name);
      if (i === undefined) return fail(`payload has ${name}, which the header does not list`);
      index = i;
    }
    const f = files[index]!;
    if (seen[index]) fail(`payload has ${f.path} twice`);
    seen[index] = 1;
    const type = f.mode & S_IFMT;
    let data: Uint8Array | undefined;
    if (type === S_IFREG) {
      if (e.size === f.size) data = e.data;
      else if (!(e.size === 0 && f.nlink > 1)) fail(`${f.path}: payload has ${e.size} bytes, header says ${f.size}`);
    } else if (type === S_IFLNK && e.fileIndex === undefined && e.size && new TextDecoder().decode(e.data) !== f.linkTo) {
      fail(`${f.path}: symlink target in payload differs from the header's`);
    }
    yield { ...f, data };
  }
  for (let i = 0; i < files.length; i++) if (!seen[i]) yield { ...files[i]!, data: undefined };
}

function checkPath(path: string, fail: (m: string) => never): void {
  if (!path.startsWith('/')) fail(`file path ${JSON.stringify(path)} is not absolute`);
  if (path.split('/').some((c) => c === '..' || c === '.')) fail(`file path ${JSON.stringify(path)} contains '..' or '.'`);
  if (path.includes('\0')) fail(`file path contains NUL`);
}

/** The stored value of a signature tag, for callers that rebuild the signature header. */
export function signatureEntries(pkg: RpmPackage): Map<number, HeaderValue> {
  return new Map(pkg.signature.entries);
}

/** Size that rpm's SIZE/LONGSIZE signature tags record: main header plus payload. */
export function headerAndPayloadSize(pkg: RpmPackage, bytes: Uint8Array): number {
  return bytes.length - pkg.headerOffset;
}

export { TagType };
