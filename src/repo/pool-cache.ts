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
 *   56     8     0
 *   64     32    sha256 of the file without these 32 bytes
 *   96     …     source key, then the sections in SECTIONS order (the pool's columns, then its
 *                provides index: _provides_index.ts, over the file's string ids), then the strings: offsets
 *                (stringCount + 1 × u32), the StringPool hash of each interned string
 *                (interned × i32), StringPool's hash table of them (2 × tableSlots × i32), and the
 *                string arena last; the file is padded to 8 bytes
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
 * Loading checks the digest (native sha256 outruns any JS checksum over 35 MB), every length,
 * and that every id, index and type is in range: a corrupt or stale file is reported as `undefined` (rebuild),
 * never trusted.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { DEP_KIND_COUNT, F, NI, NN } from './_scan_primary.ts';
import { attachProvidesIndex, buildProvidesIndex } from './_provides_index.ts';
import { buildTable, hashBytes, tableSlots } from './_strpool.ts';
import { PackagePool, type PoolData, poolData, type StringPool } from './pool.ts';
import { writeFileAtomic } from '../util/fs.ts';

/** Package columns whose text the scanner stores with StringPool.add(): unique, not looked up. */
const ADDED = new Uint8Array(NI);
for (const f of [F.PKGID, F.SUMMARY, F.DESCRIPTION, F.URL, F.LOCATION]) ADDED[f] = 1;

const MAGIC = Buffer.from('TDNFPOOL', 'latin1');
export const POOL_CACHE_VERSION = 3;
const BOM = 0x01020304;
const HEADER = 96;
/** Where the sha256 digest sits in the header. */
const DIGEST = 64;

function pad8(n: number): number {
  return (n + 7) & ~7;
}

interface Counts {
  count: number;
  depCount: number;
  depListLen: number;
  fileLen: number;
  /** Strings in the file (the provides index's start has one more entry). */
  strings: number;
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
  ['provStart', 4, (c: Counts) => c.strings + 1],
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
    strings: 0, provLen: 0,
  };
  // Renumber the strings this pool uses: first those that must stay findable by lookup()
  // (names, EVRs, arches, paths …), then the per-package text the scanner stores with add()
  // (ADDED columns), which loading appends without touching the hash table.
  const sp = d.strings;
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
  const interned = n;
  row(1);
  c.strings = n;
  const prov = buildProvidesIndex({ count: c.count, ints, depIndex: d.depIndex, depList: d.depList, depName, depEvr, depFlags: d.depFlags }, n);
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
  const hashesAt = pad8(offsetsAt + offsets.byteLength);
  const tableAt = pad8(hashesAt + hashes.byteLength);
  const arenaAt = tableAt + 8 * slots;
  size = pad8(arenaAt + arenaBytes);
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
  const h = [POOL_CACHE_VERSION, BOM, c.count, c.depCount, c.depListLen, c.fileLen, n, arenaBytes, source.length, interned, slots, c.provLen];
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
  digest(out).copy(out, DIGEST);
  return out;
}

/** sha256 of a cache file's bytes without the digest itself. */
function digest(file: Buffer): Buffer {
  return createHash('sha256').update(file.subarray(0, DIGEST)).update(file.subarray(HEADER)).digest();
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
  const h = createHash('sha256');
  try {
    size = (await fh.stat()).size;
    if (size < HEADER || size % 8 !== 0) return undefined;
    // One buffer that the pool's columns (and, adopted, its strings) view in place; the spare
    // room past the end is only touched (and only then resident) when used. It is read in
    // chunks, each hashed while the next one is read (the read, page faults of the fresh
    // buffer included, runs on libuv's pool): the digest costs little more than the read.
    buf = Buffer.allocUnsafeSlow(size + ARENA_SPARE);
    let hashed = 0;
    let got = 0;
    let next = fh.read(buf, 0, Math.min(READ_CHUNK, size), 0);
    while (got < size) {
      const { bytesRead } = await next;
      if (bytesRead === 0) return undefined;
      got += bytesRead;
      if (got < size) next = fh.read(buf, got, Math.min(READ_CHUNK, size - got), got);
      // The digest covers the file without its own 32 bytes (DIGEST … HEADER).
      if (hashed < DIGEST) h.update(buf.subarray(hashed, (hashed = Math.min(got, DIGEST))));
      if (hashed === DIGEST && got > DIGEST) hashed = Math.min(got, HEADER);
      if (got > hashed) h.update(buf.subarray(hashed, (hashed = got)));
    }
  } finally {
    await fh.close();
  }
  return decodePoolCache(buf, size, strings, options, h.digest());
}

/** Bytes per read of a cache file (hashed while the next is read). */
const READ_CHUNK = 4 << 20;

/** The pool in the first `size` bytes of `buf` (room past them is the arena's spare). */
function decodePoolCache(buf: Buffer, size: number, strings: StringPool, options: PoolCacheOptions, sum = digest(buf.subarray(0, size))): PackagePool | undefined {
  if (!buf.subarray(0, 8).equals(MAGIC)) return undefined;
  const u = (i: number): number => buf.readUInt32LE(8 + 4 * i);
  if (u(0) !== POOL_CACHE_VERSION || u(1) !== BOM) return undefined;
  const stringCount = u(6);
  const c: Counts = { count: u(2), depCount: u(3), depListLen: u(4), fileLen: u(5), strings: stringCount, provLen: u(11) };
  const arenaBytes = u(7);
  const sourceLen = u(8);
  const interned = u(9);
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
  const hashesAt = pad8(offsetsAt + 4 * (stringCount + 1));
  const tableAt = pad8(hashesAt + 4 * interned);
  const arenaAt = tableAt + 8 * slots;
  if (pad8(arenaAt + arenaBytes) !== size) return undefined;
  if (options.source !== undefined && buf.toString('utf8', HEADER, HEADER + sourceLen) !== options.source) return undefined;
  if (!sum.equals(buf.subarray(DIGEST, HEADER))) return undefined;
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
  const hashes = view(Int32Array, hashesAt, interned);
  const table = view(Int32Array, tableAt, 2 * slots);
  if (!checkStructure(c, stringCount, arenaBytes, offsets, k)) return undefined;
  if (strings.empty) {
    // The first pool of the run: the StringPool becomes the file's strings, ids as stored.
    if (!inRange(table, interned, 1, 2)) return undefined;
    if (!inRange(k.ints, stringCount) || !inRange(k.depName, stringCount) || !inRange(k.depEvr, stringCount) || !inRange(k.filePath, stringCount)) return undefined;
    if (!checkProvides(c, k)) return undefined;
    strings.adopt(buf.subarray(arenaAt), arenaBytes, offsets, stringCount, table, interned - 1);
    const { provStart, provPkg, provEvr, provFlags, ...cols } = k;
    const pool = new PackagePool({ strings, count: c.count, depCount: c.depCount, ...cols });
    attachProvidesIndex(pool, { start: provStart, pkg: provPkg, evr: provEvr, flags: provFlags });
    return pool;
  }
  // Interned, the ids change: the stored provides index no longer applies (rebuilt on demand).
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
  return ascending(k.provStart, c.strings, 0, c.provLen) && inRange(k.provPkg, c.count) && inRange(k.provEvr, c.strings);
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
