/**
 * A binary cache of a PackagePool, what libsolv's .solv files are to tdnf: the pool's typed
 * arrays and the strings they name, written raw, so that a repository whose repomd.xml has not
 * changed loads in milliseconds instead of re-parsing primary.xml.
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
 *   48     32    sha256 of the file without these 32 bytes
 *   80     …     source key, then the sections in SECTIONS order, then the string offsets
 *                (stringCount + 1 × u32), each string's StringPool hash (stringCount × u32,
 *                so loading skips rehashing 400,000 strings), and the string arena last
 *
 * Strings: the pool's ids point into a StringPool shared by every pool of a run, which also
 * holds other repositories' strings. Saving renumbers the strings this pool uses to 0 … n-1 and
 * writes only those; loading interns each of them once into the caller's StringPool (so ids
 * compare across repositories again) and rewrites the id columns through an Int32Array remap.
 * Loading checks the digest, every length, and that every id, index and type is in range:
 * a corrupt or stale file is reported as `undefined` (rebuild), never trusted.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { DEP_KIND_COUNT, F, NI, NN } from './_scan_primary.ts';
import { hashBytes } from './_strpool.ts';
import { PackagePool, type PoolData, poolData, type StringPool } from './pool.ts';
import { writeFileAtomic } from '../util/fs.ts';

/** Package columns whose text the scanner stores with StringPool.add(): unique, not looked up. */
const ADDED = new Uint8Array(NI);
for (const f of [F.PKGID, F.SUMMARY, F.DESCRIPTION, F.URL, F.LOCATION]) ADDED[f] = 1;

const MAGIC = Buffer.from('TDNFPOOL', 'latin1');
export const POOL_CACHE_VERSION = 1;
const BOM = 0x01020304;
const HEADER = 80;

function pad8(n: number): number {
  return (n + 7) & ~7;
}

interface Counts {
  count: number;
  depCount: number;
  depListLen: number;
  fileLen: number;
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
  };
  // Renumber the strings this pool uses: first those that must stay findable by lookup()
  // (names, EVRs, arches, paths …), then the per-package text the scanner stores with add()
  // (ADDED columns), which loading appends without touching the hash table.
  const sp = d.strings;
  const map = new Int32Array(sp.count).fill(-1);
  map[0] = 0;
  let n = 1;
  const ints = new Int32Array(c.count * NI);
  const use = (a: Int32Array, len: number, out = new Int32Array(len), keep?: (i: number) => boolean): Int32Array => {
    for (let i = 0; i < len; i++) {
      if (keep && !keep(i)) continue;
      const id = a[i]!;
      let m = map[id]!;
      if (m < 0) m = map[id] = n++;
      out[i] = m;
    }
    return out;
  };
  use(d.ints, c.count * NI, ints, (i) => !ADDED[i % NI]);
  const depName = use(d.depName, c.depCount);
  const depEvr = use(d.depEvr, c.depCount);
  const filePath = use(d.filePath, c.fileLen);
  const interned = n;
  use(d.ints, c.count * NI, ints, (i) => ADDED[i % NI] === 1);
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
  const hashes = new Int32Array(n);
  const arena = Buffer.allocUnsafe(arenaBytes);
  let at = 0;
  for (let m = 0; m < n; m++) {
    const id = order[m]!;
    const o = sp.offsets[id]!;
    const e = sp.offsets[id + 1]!;
    sp.bytes.copy(arena, at, o, e);
    hashes[m] = hashBytes(arena, at, at + e - o);
    at += e - o;
    offsets[m + 1] = at;
  }
  const source = Buffer.from(options.source ?? '', 'utf8');
  let size = pad8(HEADER + source.length);
  for (const [name] of SECTIONS) size = pad8(size + cols[name].byteLength);
  size = pad8(pad8(size + offsets.byteLength) + hashes.byteLength) + arenaBytes;
  const out = Buffer.alloc(size);
  MAGIC.copy(out, 0);
  const h = [POOL_CACHE_VERSION, BOM, c.count, c.depCount, c.depListLen, c.fileLen, n, arenaBytes, source.length, interned];
  h.forEach((v, i) => out.writeUInt32LE(v, 8 + 4 * i));
  source.copy(out, HEADER);
  let pos = pad8(HEADER + source.length);
  for (const [name] of SECTIONS) {
    const v = cols[name];
    out.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), pos);
    pos = pad8(pos + v.byteLength);
  }
  out.set(new Uint8Array(offsets.buffer), pos);
  pos = pad8(pos + offsets.byteLength);
  out.set(new Uint8Array(hashes.buffer), pos);
  pos = pad8(pos + hashes.byteLength);
  arena.copy(out, pos);
  createHash('sha256').update(out.subarray(0, 48)).update(out.subarray(HEADER)).digest().copy(out, 48);
  return out;
}

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
  try {
    const st = await fh.stat();
    if (st.size < HEADER) return undefined;
    const head = Buffer.alloc(HEADER);
    await fh.read(head, 0, HEADER, 0);
    if (!head.subarray(0, 8).equals(MAGIC)) return undefined;
    const u = (i: number): number => head.readUInt32LE(8 + 4 * i);
    if (u(0) !== POOL_CACHE_VERSION || u(1) !== BOM) return undefined;
    const c: Counts = { count: u(2), depCount: u(3), depListLen: u(4), fileLen: u(5) };
    const stringCount = u(6);
    const arenaBytes = u(7);
    const sourceLen = u(8);
    const interned = u(9);
    if (stringCount < 1 || interned < 1 || interned > stringCount) return undefined;
    const bodyStart = pad8(HEADER + sourceLen);
    let pos = bodyStart;
    const at: Partial<Record<SectionName, [number, number]>> = {};
    for (const [name, el, len] of SECTIONS) {
      at[name] = [pos, len(c)];
      pos = pad8(pos + el * len(c));
    }
    const offsetsAt = pos;
    const hashesAt = pad8(offsetsAt + 4 * (stringCount + 1));
    const arenaAt = pad8(hashesAt + 4 * stringCount);
    if (arenaAt + arenaBytes !== st.size) return undefined;
    // One read for the columns (kept: the pool views them in place), one for the strings
    // (dropped once interned), so the arena's bytes are not kept alive twice.
    const cols = Buffer.allocUnsafeSlow(arenaAt - bodyStart);
    const strs = Buffer.allocUnsafeSlow(arenaBytes);
    const src = Buffer.alloc(bodyStart - HEADER);
    await fh.read(src, 0, src.length, HEADER);
    if (options.source !== undefined && src.toString('utf8', 0, sourceLen) !== options.source) return undefined;
    await fh.read(cols, 0, cols.length, bodyStart);
    await fh.read(strs, 0, strs.length, arenaAt);
    const hash = createHash('sha256');
    hash.update(head.subarray(0, 48));
    hash.update(src);
    hash.update(cols);
    hash.update(strs);
    if (!hash.digest().equals(head.subarray(48, 80))) return undefined;
    const view = <T>(C: new (b: ArrayBufferLike, o: number, n: number) => T, name: SectionName): T => {
      const [o, n] = at[name]!;
      return new C(cols.buffer, cols.byteOffset + o - bodyStart, n);
    };
    const offsets = new Uint32Array(cols.buffer, cols.byteOffset + offsetsAt - bodyStart, stringCount + 1);
    const hashes = new Int32Array(cols.buffer, cols.byteOffset + hashesAt - bodyStart, stringCount);
    return decode(c, stringCount, interned, arenaBytes, offsets, hashes, strs, strings, {
      ints: view(Int32Array, 'ints'), nums: view(Float64Array, 'nums'), depIndex: view(Uint32Array, 'depIndex'),
      depList: view(Int32Array, 'depList'), depName: view(Int32Array, 'depName'), depFlags: view(Int32Array, 'depFlags'),
      depEvr: view(Int32Array, 'depEvr'), fileIndex: view(Uint32Array, 'fileIndex'), filePath: view(Int32Array, 'filePath'),
      fileType: view(Uint8Array, 'fileType'),
    });
  } finally {
    await fh.close();
  }
}

type Columns = Omit<PoolData, 'strings' | 'count' | 'depCount'>;

function decode(
  c: Counts, stringCount: number, interned: number, arenaBytes: number, offsets: Uint32Array, hashes: Int32Array, arena: Buffer,
  strings: StringPool, k: Columns,
): PackagePool | undefined {
  // Structure first: offsets, indexes and types in range, so nothing below can read out of bounds.
  if (offsets[0] !== 0 || offsets[stringCount] !== arenaBytes) return undefined;
  for (let i = 0; i < stringCount; i++) if (offsets[i + 1]! < offsets[i]!) return undefined;
  if (k.depIndex[0] !== 0 || k.depIndex[c.count * DEP_KIND_COUNT] !== c.depListLen) return undefined;
  for (let i = 0; i < c.count * DEP_KIND_COUNT; i++) if (k.depIndex[i + 1]! < k.depIndex[i]!) return undefined;
  if (k.fileIndex[0] !== 0 || k.fileIndex[c.count] !== c.fileLen) return undefined;
  for (let i = 0; i < c.count; i++) if (k.fileIndex[i + 1]! < k.fileIndex[i]!) return undefined;
  for (let i = 0; i < c.depListLen; i++) if ((k.depList[i]! >>> 0) >= c.depCount) return undefined;
  for (let i = 0; i < c.fileLen; i++) if (k.fileType[i]! > 2) return undefined;
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
