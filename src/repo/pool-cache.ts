/**
 * A binary cache of a PackagePool, what libsolv's .solv files are to tdnf: the pool's typed
 * arrays, the strings they name and the strings' hash table, written raw, so that a repository
 * whose repomd.xml has not changed loads in milliseconds instead of re-parsing primary.xml.
 *
 * Layout (little-endian; every section starts on an 8-byte boundary so it is viewed in place):
 *
 *   offset size  meaning
 *   0      8     magic "TDNFPOOL"
 *   8      4     format version (VERSION)
 *   12     4     byte-order mark 0x01020304 (a big-endian host reads it differently and rebuilds)
 *   16     4     count            packages
 *   20     4     depCount         distinct dependencies
 *   24     4     depListLen       entries of depList
 *   28     4     fileLen          entries of filePath / fileType
 *   32     4     stringCount      strings, id 0 ('') included
 *   36     4     arenaBytes       bytes of string text
 *   40     4     sourceLen        bytes of the source key (the repomd.xml checksum it was made from)
 *   44     4     interned         strings 0 … interned-1 are interned, the rest appended
 *   48     4     tableSlots       slots of the strings' hash table (a power of two)
 *   52     4     provLen          entries of the provides index
 *   56     4     headEnd          where the head ends (below)
 *   60     4     0
 *   64     20    sha1 of the head: the file up to the arena's appended strings, without 64 … 103
 *   84     20    sha1 of the tail: the appended strings' text to the end of the file
 *   104    8     0
 *   112    …     source key, then the sections in SECTIONS order (the pool's columns, then its
 *                provides index: _provides_index.ts, over the interned string ids), then the
 *                strings: offsets (stringCount + 1 × u32), StringPool's hash table of the
 *                interned ones (2 × tableSlots × i32) and the string arena, interned strings
 *                first; padded to 8 bytes, the StringPool hash of each interned string
 *                (interned × i32) last; the file is padded to 8 bytes
 *
 * Head and tail: what a solve reads is the head; the tail (the per-package text: summaries,
 * descriptions, URLs, locations, checksums, and the stored hashes only a second repository
 * needs) is 12 of the 38 MB of the Debian-sized bench repository. Loading reads the head only;
 * the tail is read into place the first time a string there is asked for (StringPool's `tail`).
 * Every fresh page costs (about 2.5 ms a MB on the machines this is measured on), so what a run
 * never reads is what it saves most.
 *
 * Strings: the pool's ids point into a StringPool shared by every pool of a run, which also
 * holds other repositories' strings. Saving renumbers the strings this pool uses to 0 … n-1 and
 * writes only those. Loading into an empty StringPool (the first repository of a run) adopts the
 * file's offsets, table and arena as they are — nothing is interned or remapped, and the file is
 * read once into a buffer the pool's columns view in place; loading into a StringPool that
 * already holds strings interns each of them once (with the stored hashes) and rewrites the id
 * columns through an Int32Array remap.
 *
 * The provides index is stored so that a run does not counting-sort ~600,000 provides again
 * (20-30 ms cold); it is used when the pool adopts the file's strings (ids as stored), and
 * rebuilt by whoever needs it when the strings are interned into another pool's ids.
 *
 * Loading checks the head's digest (sha1: a checksum against a damaged file, not a signature —
 * the cache dir is root's — and twice as fast as sha256 here), every length, and that every id,
 * index and type is in range: a corrupt or stale file is reported as `undefined` (rebuild), never
 * trusted. A tail that fails its digest when read later is an error (the file is removed first).
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { DEP_KIND_COUNT, F, NI, NN } from './_scan_primary.ts';
import { attachProvidesIndex, buildProvidesIndex } from './_provides_index.ts';
import { buildTable, hashBytes, tableSlots } from './_strpool.ts';
import { PackagePool, type PoolData, poolData, type StringPool } from './pool.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { PhotonError } from '../util/errors.ts';

/** Package columns whose text the scanner stores with StringPool.add(): unique, not looked up. */
const ADDED = new Uint8Array(NI);
for (const f of [F.PKGID, F.SUMMARY, F.DESCRIPTION, F.URL, F.LOCATION]) ADDED[f] = 1;

const MAGIC = Buffer.from('TDNFPOOL', 'latin1');
export const POOL_CACHE_VERSION = 4;
const BOM = 0x01020304;
const HEADER = 112;
/** Where the digests sit in the header: the head's, then the tail's (20 bytes each). */
const DIGEST = 64;
const TAIL_DIGEST = 84;
const DIGESTS_END = 104;

function pad8(n: number): number {
  return (n + 7) & ~7;
}

interface Counts {
  count: number;
  depCount: number;
  depListLen: number;
  fileLen: number;
  /** Strings in the file. */
  strings: number;
  /** Interned strings (the provides index's start has one more entry). */
  interned: number;
  provLen: number;
}

/** The column sections in file order: name, element size, length from the counts. */
const SECTIONS = [
  ['ints', 4, (c: Counts) => c.count * NI],
  ['nums', 8, (c: Counts) => c.count * NN],
  ['depIndex', 4, (c: Counts) => c.count * DEP_KIND_COUNT + 1],
  ['depList', 4, (c: Counts) => c.depListLen],
  ['depName', 4, (c: Counts) => c.depCount],
  ['depFlags', 4, (c: Counts) => c.depCount],
  ['depEvr', 4, (c: Counts) => c.depCount],
  ['fileIndex', 4, (c: Counts) => c.count + 1],
  ['filePath', 4, (c: Counts) => c.fileLen],
  ['fileType', 1, (c: Counts) => c.fileLen],
  ['provStart', 4, (c: Counts) => c.interned + 1],
  ['provPkg', 4, (c: Counts) => c.provLen],
  ['provEvr', 4, (c: Counts) => c.provLen],
  ['provFlags', 4, (c: Counts) => c.provLen],
] as const;
type SectionName = (typeof SECTIONS)[number][0];

export interface PoolCacheOptions {
  /** What the pool was made from (the repomd.xml checksum); a cache of another source is stale. */
  source?: string;
}

/** Writes `pool` to `path` atomically. */
export async function savePoolCache(pool: PackagePool, path: string, options: PoolCacheOptions = {}): Promise<void> {
  await writeFileAtomic(path, encodePoolCache(pool, options));
}

/** The cache file's bytes for `pool`. */
export function encodePoolCache(pool: PackagePool, options: PoolCacheOptions = {}): Buffer {
  const d = poolData(pool);
  const c: Counts = {
    count: d.count, depCount: d.depCount, depListLen: d.depIndex[d.count * DEP_KIND_COUNT]!, fileLen: d.fileIndex[d.count]!,
    strings: 0, interned: 0, provLen: 0,
  };
  // Renumber the strings this pool uses: first those that must stay findable by lookup()
  // (names, EVRs, arches, paths …), then the per-package text the scanner stores with add()
  // (ADDED columns), which loading appends without touching the hash table.
  const sp = d.strings;
  sp.readTail();
  const map = new Int32Array(sp.count).fill(-1);
  map[0] = 0;
  let n = 1;
  const ints = new Int32Array(c.count * NI);
  const use = (a: Int32Array, len: number, out = new Int32Array(len)): Int32Array => {
    for (let i = 0; i < len; i++) {
      const id = a[i]!;
      let m = map[id]!;
      if (m < 0) m = map[id] = n++;
      out[i] = m;
    }
    return out;
  };
  // The rows column by column kind: interned columns now, ADDED ones after the rest.
  const row = (added: number): void => {
    for (let r = 0; r < c.count * NI; r += NI) {
      for (let f = 0; f < NI; f++) {
        if (ADDED[f] !== added) continue;
        const id = d.ints[r + f]!;
        let m = map[id]!;
        if (m < 0) m = map[id] = n++;
        ints[r + f] = m;
      }
    }
  };
  row(0);
  const depName = use(d.depName, c.depCount);
  const depEvr = use(d.depEvr, c.depCount);
  const filePath = use(d.filePath, c.fileLen);
  const interned = (c.interned = n);
  row(1);
  c.strings = n;
  // Names (of packages and of provides) are all interned: the index needs no other ids.
  const prov = buildProvidesIndex({ count: c.count, ints, depIndex: d.depIndex, depList: d.depList, depName, depEvr, depFlags: d.depFlags }, interned);
  c.provLen = prov.pkg.length;
  const cols: Record<SectionName, ArrayBufferView> = {
    ints,
    nums: d.nums.subarray(0, c.count * NN),
    depIndex: d.depIndex.subarray(0, c.count * DEP_KIND_COUNT + 1),
    depList: d.depList.subarray(0, c.depListLen),
    depName,
    depFlags: d.depFlags.subarray(0, c.depCount),
    depEvr,
    fileIndex: d.fileIndex.subarray(0, c.count + 1),
    filePath,
    fileType: d.fileType.subarray(0, c.fileLen),
    provStart: prov.start,
    provPkg: prov.pkg,
    provEvr: prov.evr,
    provFlags: prov.flags,
  };
  const order = new Int32Array(n);
  let arenaBytes = 0;
  for (let id = 0; id < map.length; id++) {
    const m = map[id]!;
    if (m >= 0) {
      order[m] = id;
      arenaBytes += sp.byteLength(id);
    }
  }
  const offsets = new Uint32Array(n + 1);
  const hashes = new Int32Array(interned);
  const source = Buffer.from(options.source ?? '', 'utf8');
  const slots = tableSlots(interned - 1);
  let size = pad8(HEADER + source.length);
  for (const [name] of SECTIONS) size = pad8(size + cols[name].byteLength);
  const offsetsAt = size;
  const tableAt = pad8(offsetsAt + offsets.byteLength);
  const arenaAt = tableAt + 8 * slots;
  const hashesAt = pad8(arenaAt + arenaBytes);
  size = pad8(hashesAt + hashes.byteLength);
  const out = Buffer.alloc(size);
  let at = arenaAt;
  for (let m = 0; m < n; m++) {
    const id = order[m]!;
    const o = sp.offsets[id]!;
    const e = sp.offsets[id + 1]!;
    // A JS loop beats Buffer.copy's call overhead for short strings (most of them).
    if (e - o < 48) for (let x = o, y = at; x < e; x++, y++) out[y] = sp.bytes[x]!;
    else sp.bytes.copy(out, at, o, e);
    if (m < interned) hashes[m] = hashBytes(out, at, at + e - o);
    at += e - o;
    offsets[m + 1] = at - arenaAt;
  }
  MAGIC.copy(out, 0);
  const headEnd = arenaAt + offsets[interned]!;
  const h = [POOL_CACHE_VERSION, BOM, c.count, c.depCount, c.depListLen, c.fileLen, n, arenaBytes, source.length, interned, slots, c.provLen, headEnd];
  h.forEach((v, i) => out.writeUInt32LE(v, 8 + 4 * i));
  source.copy(out, HEADER);
  let pos = pad8(HEADER + source.length);
  for (const [name] of SECTIONS) {
    const v = cols[name];
    out.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), pos);
    pos = pad8(pos + v.byteLength);
  }
  out.set(new Uint8Array(offsets.buffer), offsetsAt);
  out.set(new Uint8Array(hashes.buffer), hashesAt);
  const table = buildTable(hashes, interned, slots);
  out.set(new Uint8Array(table.buffer), tableAt);
  digest(out, 0, headEnd).copy(out, DIGEST);
  digest(out, headEnd, size).copy(out, TAIL_DIGEST);
  return out;
}

/** sha1 of bytes [from, to) of a cache file, the header's digests left out. */
function digest(file: Buffer, from: number, to: number): Buffer {
  const h = createHash('sha1');
  if (from < DIGEST) h.update(file.subarray(from, DIGEST)).update(file.subarray(DIGESTS_END, to));
  else h.update(file.subarray(from, to));
  return h.digest();
}

/** Arena room read past a cache's strings, so the installed set and other repos append in place. */
const ARENA_SPARE = 8 << 20;

/**
 * Loads a pool cache into `strings`. Undefined when the file is missing, of another version or
 * byte order, made from another source, or fails any check.
 */
export async function loadPoolCache(path: string, strings: StringPool, options: PoolCacheOptions = {}): Promise<PackagePool | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return undefined;
  }
  let buf: Buffer;
  let size: number;
  let headEnd: number;
  const h = createHash('sha1');
  try {
    size = (await fh.stat()).size;
    if (size < HEADER || size % 8 !== 0) return undefined;
    // One buffer that the pool's columns (and, adopted, its strings) view in place, the file's
    // size and some: the tail (read later, if ever) and the spare room past the end are only
    // resident once written. The head is read in chunks, each hashed while the next one is read
    // (the read, page faults of the fresh buffer included, runs on libuv's pool).
    buf = Buffer.allocUnsafeSlow(size + ARENA_SPARE);
    const { bytesRead } = await fh.read(buf, 0, HEADER, 0);
    headEnd = buf.readUInt32LE(56);
    if (bytesRead !== HEADER || headEnd < HEADER || headEnd > size) return undefined;
    h.update(buf.subarray(0, DIGEST)).update(buf.subarray(DIGESTS_END, HEADER));
    let got = HEADER;
    let next = fh.read(buf, got, Math.min(READ_CHUNK, headEnd - got), got);
    while (got < headEnd) {
      const { bytesRead } = await next;
      if (bytesRead === 0) return undefined;
      const from = got;
      got += bytesRead;
      if (got < headEnd) next = fh.read(buf, got, Math.min(READ_CHUNK, headEnd - got), got);
      h.update(buf.subarray(from, got));
    }
  } finally {
    await fh.close();
  }
  if (!h.digest().equals(buf.subarray(DIGEST, DIGEST + 20))) return undefined;
  return decodePoolCache(buf, size, headEnd, strings, options, path);
}

/** Bytes per read of a cache file's head (hashed while the next is read). */
const READ_CHUNK = 4 << 20;

/**
 * Reads the tail of the cache file at `path` whose head is in `buf`: the appended strings' text
 * into place (`buf` from `headEnd` to `textEnd`), and returns the rest of the file (the stored
 * hashes), checked against the tail's digest. Past `textEnd`, `buf` may hold strings appended
 * since the load, so nothing is read there. Throws when the file is not the one loaded (tdnf's
 * lock keeps it so, barring damage); the file is removed so that the next run rebuilds it.
 */
function readTail(path: string, buf: Buffer, headEnd: number, textEnd: number, size: number): Buffer {
  const rest = Buffer.allocUnsafe(size - textEnd);
  let ok = false;
  try {
    const fd = openSync(path, 'r');
    try {
      const header = Buffer.alloc(HEADER);
      ok = readSync(fd, header, 0, HEADER, 0) === HEADER && header.equals(buf.subarray(0, HEADER)) &&
        readSync(fd, buf, headEnd, textEnd - headEnd, headEnd) === textEnd - headEnd &&
        readSync(fd, rest, 0, rest.length, textEnd) === rest.length &&
        createHash('sha1').update(buf.subarray(headEnd, textEnd)).update(rest).digest().equals(buf.subarray(TAIL_DIGEST, TAIL_DIGEST + 20));
    } finally {
      closeSync(fd);
    }
  } catch {
    ok = false;
  }
  if (!ok) {
    rmSync(path, { force: true });
    throw new PhotonError('ECORRUPT', `${path}: the package cache changed or is damaged; it was removed, run the command again`, { file: path });
  }
  return rest;
}

/**
 * The pool in the first `size` bytes of `buf` (room past them is the arena's spare), of which
 * `headEnd` are read and checked; the rest is read from `path` when needed.
 */
function decodePoolCache(buf: Buffer, size: number, headEnd: number, strings: StringPool, options: PoolCacheOptions, path: string): PackagePool | undefined {
  if (!buf.subarray(0, 8).equals(MAGIC)) return undefined;
  const u = (i: number): number => buf.readUInt32LE(8 + 4 * i);
  if (u(0) !== POOL_CACHE_VERSION || u(1) !== BOM) return undefined;
  const stringCount = u(6);
  const interned = u(9);
  const c: Counts = { count: u(2), depCount: u(3), depListLen: u(4), fileLen: u(5), strings: stringCount, interned, provLen: u(11) };
  const arenaBytes = u(7);
  const sourceLen = u(8);
  const slots = u(10);
  if (stringCount < 1 || interned < 1 || interned > stringCount) return undefined;
  if (slots < 16 || (slots & (slots - 1)) !== 0 || slots !== tableSlots(interned - 1)) return undefined;
  const bodyStart = pad8(HEADER + sourceLen);
  let pos = bodyStart;
  const at: Partial<Record<SectionName, [number, number]>> = {};
  for (const [name, el, len] of SECTIONS) {
    at[name] = [pos, len(c)];
    pos = pad8(pos + el * len(c));
  }
  const offsetsAt = pos;
  const tableAt = pad8(offsetsAt + 4 * (stringCount + 1));
  const arenaAt = tableAt + 8 * slots;
  const textEnd = arenaAt + arenaBytes;
  const hashesAt = pad8(textEnd);
  if (pad8(hashesAt + 4 * interned) !== size || arenaAt > headEnd) return undefined;
  if (options.source !== undefined && buf.toString('utf8', HEADER, HEADER + sourceLen) !== options.source) return undefined;
  const view = <T>(C: new (b: ArrayBufferLike, o: number, n: number) => T, o: number, n: number): T => new C(buf.buffer, buf.byteOffset + o, n);
  const col = <T>(C: new (b: ArrayBufferLike, o: number, n: number) => T, name: SectionName): T => view(C, ...at[name]!);
  const k: Columns & Prov = {
    ints: col(Int32Array, 'ints'), nums: col(Float64Array, 'nums'), depIndex: col(Uint32Array, 'depIndex'),
    depList: col(Int32Array, 'depList'), depName: col(Int32Array, 'depName'), depFlags: col(Int32Array, 'depFlags'),
    depEvr: col(Int32Array, 'depEvr'), fileIndex: col(Uint32Array, 'fileIndex'), filePath: col(Int32Array, 'filePath'),
    fileType: col(Uint8Array, 'fileType'), provStart: col(Int32Array, 'provStart'), provPkg: col(Int32Array, 'provPkg'),
    provEvr: col(Int32Array, 'provEvr'), provFlags: col(Int32Array, 'provFlags'),
  };
  const offsets = view(Uint32Array, offsetsAt, stringCount + 1);
  const table = view(Int32Array, tableAt, 2 * slots);
  if (!checkStructure(c, stringCount, arenaBytes, offsets, k)) return undefined;
  // The head ends where the appended strings' text starts.
  if (arenaAt + offsets[interned]! !== headEnd) return undefined;
  if (strings.empty) {
    // The first pool of the run: the StringPool becomes the file's strings, ids as stored.
    if (!inRange(table, interned, 1, 2)) return undefined;
    if (!inRange(k.ints, stringCount) || !inRange(k.depName, stringCount) || !inRange(k.depEvr, stringCount) || !inRange(k.filePath, stringCount)) return undefined;
    if (!checkProvides(c, k)) return undefined;
    strings.adopt(buf.subarray(arenaAt), arenaBytes, offsets, stringCount, table, interned - 1, {
      from: offsets[interned]!,
      read: () => void readTail(path, buf, headEnd, textEnd, size),
    });
    const { provStart, provPkg, provEvr, provFlags, ...cols } = k;
    const pool = new PackagePool({ strings, count: c.count, depCount: c.depCount, ...cols });
    attachProvidesIndex(pool, { start: provStart, pkg: provPkg, evr: provEvr, flags: provFlags });
    return pool;
  }
  // Interned, the ids change: the stored provides index no longer applies (rebuilt on demand).
  // Interning copies every string, so the tail is read now.
  const rest = readTail(path, buf, headEnd, textEnd, size);
  const hashes = new Int32Array(interned);
  Buffer.from(hashes.buffer).set(rest.subarray(hashesAt - textEnd, hashesAt - textEnd + 4 * interned));
  const { provStart: _s, provPkg: _p, provEvr: _e, provFlags: _f, ...cols } = k;
  return intern(c, stringCount, interned, arenaBytes, offsets, hashes, buf.subarray(arenaAt, arenaAt + arenaBytes), strings, cols);
}

type Columns = Omit<PoolData, 'strings' | 'count' | 'depCount'>;
interface Prov {
  provStart: Int32Array;
  provPkg: Int32Array;
  provEvr: Int32Array;
  provFlags: Int32Array;
}

/** The stored provides index in range: runs in order, packages and EVR ids real ones. */
function checkProvides(c: Counts, k: Prov): boolean {
  return ascending(k.provStart, c.interned, 0, c.provLen) && inRange(k.provPkg, c.count) && inRange(k.provEvr, c.strings);
}

// The checks below run once per load over ~4 million entries, cold: every one goes through
// these two small functions on Int32Array views only, so that V8 optimises them once, early
// (monomorphic), instead of interpreting a dozen loops of their own.
function inRange(a: Int32Array, n: number, from = 0, step = 1): boolean {
  for (let i = from; i < a.length; i += step) if ((a[i]! >>> 0) >= n) return false;
  return true;
}

/** `a[0] === first`, `a[len] === last`, and never decreasing (as unsigned) up to `len`. */
function ascending(a: Int32Array, len: number, first: number, last: number): boolean {
  if (a[0]! >>> 0 !== first || a[len]! >>> 0 !== last) return false;
  let prev = 0;
  for (let i = 1; i <= len; i++) {
    const v = a[i]! >>> 0;
    if (v < prev) return false;
    prev = v;
  }
  return true;
}

const i32 = (a: Uint32Array | Uint8Array): Int32Array => new Int32Array(a.buffer, a.byteOffset, a.byteLength >> 2);

/** Offsets, indexes and types in range, so that nothing reading the pool can go out of bounds. */
function checkStructure(c: Counts, stringCount: number, arenaBytes: number, offsets: Uint32Array, k: Columns): boolean {
  if (!ascending(i32(offsets), stringCount, 0, arenaBytes)) return false;
  if (!ascending(i32(k.depIndex), c.count * DEP_KIND_COUNT, 0, c.depListLen)) return false;
  if (!ascending(i32(k.fileIndex), c.count, 0, c.fileLen)) return false;
  if (!inRange(k.depList, c.depCount)) return false;
  for (let i = 0; i < c.fileLen; i++) if (k.fileType[i]! > 2) return false;
  return true;
}

/** Loads into a StringPool that already holds strings: intern each once, remap the id columns. */
function intern(
  c: Counts, stringCount: number, interned: number, arenaBytes: number, offsets: Uint32Array, hashes: Int32Array, arena: Buffer,
  strings: StringPool, k: Columns,
): PackagePool | undefined {
  // Intern every string once; remap[old id] = id in the shared pool.
  const remap = new Int32Array(stringCount);
  strings.reserve(interned, arenaBytes);
  // The stored hashes are covered by the digest, and a wrong one could only cost a duplicate
  // string, never a wrong match: internHashed still compares the bytes.
  for (let i = 1; i < interned; i++) {
    const s = offsets[i]!;
    const e = offsets[i + 1]!;
    remap[i] = e > s ? strings.internHashed(arena, s, e, hashes[i]!) : 0;
  }
  // The appended strings are contiguous at the end of the arena: one copy, and offsets shifted.
  // (StringPool's arena fields are public for exactly this kind of bulk work.)
  const m = stringCount - interned;
  if (m > 0) {
    const from = offsets[interned]!;
    const len = arenaBytes - from;
    if (strings.used + len > strings.bytes.length) strings.reserve(0, len);
    if (strings.count + m + 1 > strings.offsets.length) {
      const o = new Uint32Array(strings.count + m + 1);
      o.set(strings.offsets.subarray(0, strings.count + 1));
      strings.offsets = o;
    }
    arena.copy(strings.bytes, strings.used, from, arenaBytes);
    const so = strings.offsets;
    const c0 = strings.count;
    const shift = strings.used - from;
    for (let k = 0; k < m; k++) {
      so[c0 + k + 1] = offsets[interned + k + 1]! + shift;
      remap[interned + k] = c0 + k;
    }
    strings.count += m;
    strings.used += len;
  }
  const through = (a: Int32Array): boolean => {
    for (let i = 0; i < a.length; i++) {
      const id = a[i]!;
      if ((id >>> 0) >= stringCount) return false;
      a[i] = remap[id]!;
    }
    return true;
  };
  if (!through(k.ints) || !through(k.depName) || !through(k.depEvr) || !through(k.filePath)) return undefined;
  strings.trim();
  return new PackagePool({ strings, count: c.count, depCount: c.depCount, ...k });
}
