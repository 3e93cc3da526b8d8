/**
 * `createrepo`: RPM-md metadata (primary, filelists, other; no sqlite, as `createrepo_c
 * --no-database`) for a directory of RPMs, optionally signed and incrementally updated.
 *
 * The steps, in order:
 *   1. find *.rpm below the directory (not under repodata/), in createrepo_c's order;
 *   2. with `update`, read the existing metadata and reuse the records of packages whose
 *      location, size and mtime are unchanged — those RPMs are not opened;
 *   3. read the other RPMs (sha256 of the file is the pkgid);
 *   4. write the three metadata files under content-addressed names, then swap repomd.xml
 *      atomically, then write repomd.xml.asc, then delete what the old repomd referenced.
 * A failure before step 4's swap leaves the old repository as it was: the new files have names
 * nothing refers to yet.
 */
import { createHash } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { compress } from '../formats/compress.ts';
import { armor, type SecretKey, signDetached } from '../formats/openpgp.ts';
import { type RpmPackage, readPackageFile } from '../rpm/package.ts';
import { PhotonError, withFile } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';
import {
  FILELISTS_END, OTHER_END, PRIMARY_END, type RepomdRecord,
  filelistsPackage, filelistsStart, otherPackage, otherStart, primaryPackage, primaryStart, repomdXml,
} from './dump.ts';
import { type PackageRecord, DEFAULT_CHANGELOG_LIMIT, recordFromHeader } from './from-header.ts';
import { readPrevious } from './_createrepo_update.ts';

const gzip = promisify(gzipCb);

export type CompressType = 'gz' | 'zstd';

export interface CreaterepoOptions {
  /** Reuse the metadata of unchanged packages from the existing repodata. */
  update?: boolean;
  /** Written as the packages' `xml:base` (createrepo's --baseurl). */
  baseurl?: string;
  compressType?: CompressType;
  /** Newest changelog entries kept per package (default 10; negative: all). */
  changelogLimit?: number;
  /** Default: the timestamp, as createrepo_c does. */
  revision?: string;
  /** Signs repomd.xml into repomd.xml.asc. */
  signKey?: SecretKey;
  /** Seconds since the epoch for <timestamp> (default now). */
  timestamp?: number;
  /** How an RPM is read; tests count calls through it. */
  readRpm?: (path: string) => Promise<{ pkg: RpmPackage; bytes: Uint8Array }>;
}

export interface CreaterepoResult {
  packages: number;
  /** RPMs opened and parsed. */
  read: number;
  /** Records taken over from the previous metadata. */
  reused: number;
  repomd: string;
  /** Paths relative to the repository root of the metadata files written. */
  written: string[];
  /** Old metadata files removed. */
  removed: string[];
  /** Set when `update` found the previous metadata unusable and read every package. */
  warning?: string;
}

const EXTENSION: Record<CompressType, string> = { gz: '.gz', zstd: '.zst' };

/** Names of the metadata files we write. */
const OUR_FILE = /^[0-9a-f]{64}-(primary|filelists|other)\.xml\.(gz|zst)$/;

/** RPMs read at once. */
const READERS = 4;

interface Candidate {
  href: string;
  path: string;
  basename: string;
  size: number;
  mtime: number;
}

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Every *.rpm below `root` except under its top-level repodata/ and dot-entries (temporary
 * files of an interrupted write), ordered as createrepo_c orders its tasks: by file name, then
 * by directory.
 */
export async function findRpms(root: string): Promise<Candidate[]> {
  const out: Candidate[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      throw withFile(e, dir);
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      if (rel === '' && e.name === 'repodata') continue;
      const path = join(dir, e.name);
      const href = rel ? `${rel}/${e.name}` : e.name;
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const st = await stat(path).catch(() => undefined);
        isDir = !!st?.isDirectory();
        isFile = !!st?.isFile();
      }
      if (isDir) await walk(path, href);
      else if (isFile && e.name.endsWith('.rpm')) out.push({ href, path, basename: e.name, size: 0, mtime: 0 });
    }
  };
  await walk(root, '');
  for (const c of out) {
    const st = await stat(c.path).catch((e: unknown) => {
      throw withFile(e, c.path);
    });
    c.size = st.size;
    c.mtime = Math.floor(st.mtimeMs / 1000);
  }
  return out.sort((a, b) => byteCompare(a.basename, b.basename) || byteCompare(a.href, b.href));
}

/** Compresses one metadata file and names it by its checksum, as createrepo_c does. */
async function metadataFile(type: string, xml: string, compressType: CompressType, timestamp: number): Promise<{ record: RepomdRecord; data: Uint8Array }> {
  const open = Buffer.from(xml, 'utf8');
  const data = compressType === 'gz' ? await gzip(open, { level: 9 }) : await compress('zstd', open);
  const checksum = createHash('sha256').update(data).digest('hex');
  return {
    data,
    record: {
      type,
      checksum,
      openChecksum: createHash('sha256').update(open).digest('hex'),
      location: `repodata/${checksum}-${type}.xml${EXTENSION[compressType]}`,
      timestamp,
      size: data.length,
      openSize: open.length,
    },
  };
}

/** Reads one RPM into its records. Errors name the file. */
async function readRecord(c: Candidate, options: CreaterepoOptions): Promise<PackageRecord> {
  try {
    const { pkg, bytes } = await (options.readRpm ?? readPackageFile)(c.path);
    const checksum = createHash('sha256').update(bytes).digest('hex');
    // The file may have changed since we listed it: describe the bytes we actually read.
    return recordFromHeader(pkg, { href: c.href, base: options.baseurl, size: bytes.length, mtime: c.mtime, checksum },
      { changelogLimit: options.changelogLimit ?? DEFAULT_CHANGELOG_LIMIT });
  } catch (e) {
    throw withFile(e, c.path);
  }
}

export async function createrepo(root: string, options: CreaterepoOptions = {}): Promise<CreaterepoResult> {
  const compressType = options.compressType ?? 'gz';
  if (!(compressType in EXTENSION)) throw new PhotonError('E_USAGE', `unsupported compression '${compressType}' (gz, zstd)`);
  const st = await stat(root).catch((e: unknown) => {
    throw withFile(e, root);
  });
  if (!st.isDirectory()) throw new PhotonError('E_NOT_DIR', 'not a directory', { file: root });
  const repodata = join(root, 'repodata');
  const repomdPath = join(repodata, 'repomd.xml');

  const candidates = await findRpms(root);
  const previous = await readPrevious(repomdPath, options.update === true);

  const records: (PackageRecord | undefined)[] = new Array(candidates.length);
  const toRead: number[] = [];
  candidates.forEach((c, i) => {
    const old = previous.records.get(c.href);
    if (old && old.pkg.sizePackage === c.size && old.pkg.timeFile === c.mtime && old.pkg.checksumType === 'sha256') {
      const pkg = { ...old.pkg, location: c.href };
      delete pkg.locationBase;
      if (options.baseurl) pkg.locationBase = options.baseurl;
      records[i] = { ...old, pkg };
    } else toRead.push(i);
  });
  const reused = candidates.length - toRead.length;
  const read = toRead.length;
  // A few packages at a time: reading and hashing overlap, memory stays at a few RPMs.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < toRead.length) {
      const i = toRead[next++]!;
      records[i] = await readRecord(candidates[i]!, options);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READERS, toRead.length) }, worker));

  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const n = records.length;
  const all = records as PackageRecord[];
  const primary = [primaryStart(n), ...all.map((r) => primaryPackage(r.pkg)), PRIMARY_END].join('');
  const filelists = [filelistsStart(n), ...all.map((r) => filelistsPackage(r.pkg, r.filelist)), FILELISTS_END].join('');
  const other = [otherStart(n), ...all.map((r) => otherPackage(r.pkg, r.changelogs)), OTHER_END].join('');
  const files = await Promise.all([
    metadataFile('primary', primary, compressType, timestamp),
    metadataFile('filelists', filelists, compressType, timestamp),
    metadataFile('other', other, compressType, timestamp),
  ]);

  for (const f of files) {
    const path = join(root, f.record.location);
    await writeFileAtomic(path, f.data).catch((e: unknown) => {
      throw withFile(e, path);
    });
  }
  // Metadata other tools added (updateinfo, comps, modules) stays referenced, as with
  // createrepo_c --update --keep-all-metadata; a full run starts a fresh repository.
  const extra: RepomdRecord[] = previous.extra.filter((d) => !d.locationBase).map((d) => ({
    type: d.type, checksum: d.checksum.value, checksumType: d.checksum.type, openChecksum: d.openChecksum?.value,
    location: d.location, timestamp: d.timestamp, size: d.size, openSize: d.openSize, databaseVersion: d.databaseVersion,
  }));
  const repomd = repomdXml(options.revision ?? String(timestamp), [...files.map((f) => f.record), ...extra]);
  await writeFileAtomic(repomdPath, repomd).catch((e: unknown) => {
    throw withFile(e, repomdPath);
  });
  const ascPath = `${repomdPath}.asc`;
  if (options.signKey) {
    const sig = armor('SIGNATURE', signDetached(options.signKey, Buffer.from(repomd, 'utf8')));
    await writeFileAtomic(ascPath, sig).catch((e: unknown) => {
      throw withFile(e, ascPath);
    });
  } else {
    // A signature over the old repomd.xml would now only make repo_gpgcheck fail.
    await rm(ascPath, { force: true });
  }

  const written = files.map((f) => f.record.location);
  const keep = new Set([...written, ...extra.map((e) => e.location)]);
  const removed: string[] = [];
  // What the old repomd.xml referenced, and our own files left behind by a run that died before
  // its repomd.xml swap (content-addressed names nothing refers to).
  const orphans = (await readdir(repodata).catch(() => [] as string[]))
    .filter((name) => OUR_FILE.test(name)).map((name) => `repodata/${name}`);
  for (const loc of new Set([...previous.locations, ...orphans])) {
    if (keep.has(loc) || !loc.startsWith('repodata/') || loc.split('/').includes('..')) continue;
    await rm(join(root, loc), { force: true });
    removed.push(loc);
  }
  const result: CreaterepoResult = { packages: n, read, reused, repomd: repomdPath, written, removed };
  if (previous.warning) result.warning = previous.warning;
  return result;
}
