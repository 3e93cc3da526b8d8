/**
 * A byte-level string table in the manner of libsolv's stringpool: every string lives once in
 * one UTF-8 arena and is named by an integer id, so a package set of tens of thousands of
 * packages holds no JS strings at all until someone asks for one.
 *
 * Layout and cost:
 * - `bytes` (a Buffer, grown by doubling) holds the strings back to back; string `id` is
 *   `bytes[offsets[id], offsets[id + 1])`. 4 bytes of offset per string, no per-string header.
 * - `table` is an open-addressing hash (linear probing, load ≤ 1/2) keyed by FNV-1a over the
 *   bytes, each slot two int32s [hash, id] side by side: a probe touches one cache line, and
 *   only a full hash match goes on to compare bytes (a second line or two). Growing the table
 *   never rereads the arena. A lookup hashes once and compares once on a hit; no JS string.
 * - `add` appends without hashing, for text that is unique per package (checksums, locations,
 *   summaries): it shares the id space and the accessor but costs no table slot.
 * - Id 0 is always ''.
 * - `adopt` makes an empty pool the strings of a binary pool cache (pool-cache.ts) in place:
 *   arena, offsets and hash table are views of the file's bytes, so the first repository of a
 *   run interns nothing and its ids need no remapping.
 * - `str(id)` decodes on demand (latin1 when the bytes are ASCII, UTF-8 otherwise) and caches
 *   the result, so a name asked for twice is decoded once.
 * - An adopted arena may come with its tail not read yet (`adopt`'s `tail`): the per-package
 *   text a solve never looks at. The first read of a string there, or any growth that would copy
 *   the arena, reads it in first.
 */


/**
 * A multiplicative hash over bytes [s, e), four bytes per multiply: the dependency chain of one
 * Math.imul per byte is what limits a bytewise FNV loop, so this runs at about four times its
 * speed. The murmur3 finaliser then mixes the bits for the table index.
 */
export function hashBytes(b: Uint8Array, s: number, e: number): number {
  let h = (e - s) | 0;
  let i = s;
  for (const e4 = e - 3; i < e4; i += 4) {
    h = Math.imul(h ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)), 0x9e3779b1);
    h ^= h >>> 15;
  }
  for (; i < e; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Slots of a table holding `hashed` strings at StringPool's load (≤ 1/2): a power of two. */
export function tableSlots(hashed: number): number {
  let size = 16;
  while (hashed > (size - 1) >>> 1) size *= 2;
  return size;
}

/**
 * A hash table in StringPool's layout ([hash, id] per slot, linear probing) holding ids
 * 1 … n-1 with hashes `hashes[id]`, for a pool cache to store beside its strings.
 */
export function buildTable(hashes: Int32Array, n: number, slots: number): Int32Array {
  const table = new Int32Array(2 * slots);
  const mask = slots - 1;
  for (let id = 1; id < n; id++) {
    const h = hashes[id]!;
    let i = h & mask;
    while (table[2 * i + 1] !== 0) i = (i + 1) & mask;
    table[2 * i] = h;
    table[2 * i + 1] = id;
  }
  return table;
}

export class StringPool {
  bytes: Buffer;
  used = 0;
  offsets: Uint32Array;
  /** Strings, including id 0. */
  count = 1;
  private table: Int32Array;
  private mask: number;
  /** Decoded strings by id: a Map, since a run decodes a few thousand of a million strings. */
  private cache = new Map<number, string>();
  /** True when the last intern() call added a new string. */
  added = false;
  /** Strings in the hash table (add()ed ones are not): what the table's load is counted by. */
  private hashed = 0;
  /** Arena bytes [from, to) are not read yet; `read()` fills them in place. */
  private tail: { from: number; to: number; read: () => void } | undefined;

  constructor(bytesHint = 1 << 16, stringsHint = 1 << 10) {
    this.bytes = Buffer.allocUnsafe(Math.max(64, bytesHint));
    this.offsets = new Uint32Array(Math.max(16, stringsHint + 1));
    let size = 16;
    while (size < stringsHint * 2) size *= 2;
    this.table = new Int32Array(2 * size);
    this.mask = size - 1;
  }

  /** The id of bytes [s, e) of `src`, adding them if new. */
  intern(src: Uint8Array, s: number, e: number): number {
    return e <= s ? (this.added = false, 0) : this.internHashed(src, s, e, hashBytes(src, s, e));
  }

  /** As intern(), with `h` = hashBytes(src, s, e) already computed by the caller's scan. */
  internHashed(src: Uint8Array, s: number, e: number, h: number): number {
    const len = e - s;
    const table = this.table;
    const mask = this.mask;
    let i = h & mask;
    for (let id = table[2 * i + 1]!; id !== 0; id = table[2 * i + 1]!) {
      if (table[2 * i] === h) {
        const offsets = this.offsets;
        const o = offsets[id]!;
        if (offsets[id + 1]! - o === len) {
          const bytes = this.bytes;
          let k = 0;
          while (k < len && bytes[o + k] === src[s + k]) k++;
          if (k === len) {
            this.added = false;
            return id;
          }
        }
      }
      i = (i + 1) & mask;
    }
    const id = this.append(src, s, e);
    table[2 * i] = h;
    table[2 * i + 1] = id;
    this.added = true;
    if (++this.hashed > mask >>> 1) this.rehash();
    return id;
  }

  /** Adds bytes [s, e) as a new string that lookups will not find (unique text). */
  add(src: Uint8Array, s: number, e: number): number {
    return e <= s ? 0 : this.append(src, s, e);
  }

  /** The id of a JS string, adding it if new. */
  internString(s: string): number {
    const b = Buffer.from(s, 'utf8');
    return this.intern(b, 0, b.length);
  }

  /** The id of `s`, or -1 when the pool does not hold it. */
  lookup(s: string): number {
    if (s === '') return 0;
    const b = Buffer.from(s, 'utf8');
    const h = hashBytes(b, 0, b.length);
    const t = this.table;
    for (let i = h & this.mask; t[2 * i + 1] !== 0; i = (i + 1) & this.mask) {
      if (t[2 * i] === h && this.equalBytes(t[2 * i + 1]!, b, 0, b.length)) return t[2 * i + 1]!;
    }
    return -1;
  }

  equalBytes(id: number, src: Uint8Array, s: number, e: number): boolean {
    const o = this.offsets[id]!;
    const len = e - s;
    if (this.offsets[id + 1]! - o !== len) return false;
    for (let k = 0; k < len; k++) if (this.bytes[o + k] !== src[s + k]) return false;
    return true;
  }

  /** Length in bytes of string `id`. */
  byteLength(id: number): number {
    return this.offsets[id + 1]! - this.offsets[id]!;
  }

  str(id: number): string {
    if (id === 0) return '';
    let s = this.cache.get(id);
    if (s === undefined) {
      const o = this.offsets[id]!;
      const e = this.offsets[id + 1]!;
      // Strings appended since the adoption lie past the tail: they are there already.
      if (this.tail !== undefined && e > this.tail.from && o < this.tail.to) this.readTail();
      let ascii = true;
      for (let k = o; k < e; k++) {
        if (this.bytes[k]! >= 0x80) {
          ascii = false;
          break;
        }
      }
      s = this.bytes.toString(ascii ? 'latin1' : 'utf8', o, e);
      this.cache.set(id, s);
    }
    return s;
  }

  /** Makes room for `strings` more strings of `bytes` bytes in all, growing the arrays once. */
  reserve(strings: number, bytes: number): void {
    if (this.used + bytes > this.bytes.length) {
      this.readTail();
      const b = Buffer.allocUnsafe(this.used + bytes);
      this.bytes.copy(b, 0, 0, this.used);
      this.bytes = b;
    }
    const n = this.count + strings;
    if (n + 1 > this.offsets.length) {
      const o = new Uint32Array(n + 1);
      o.set(this.offsets);
      this.offsets = o;
    }
    while (this.hashed + strings > this.mask >>> 1) this.rehash();
  }

  /** Whether the pool holds nothing but id 0 (so adopt() may take it over). */
  get empty(): boolean {
    return this.count === 1 && this.used === 0;
  }

  /**
   * Takes over strings laid out as this class keeps them — `bytes[0, used)` the arena (room past
   * `used` is used before growing), `offsets` for `count` strings, `table` (2 × a power of two
   * int32s) holding `hashed` of them — without copying: the arrays are used and written in
   * place. The pool must be empty. The caller vouches for the layout (pool-cache.ts checks it).
   * With `tail`, the arena from `tail.from` to `used` is not read yet: `tail.read()` fills it in
   * place when a string there is first asked for.
   */
  adopt(
    bytes: Buffer, used: number, offsets: Uint32Array, count: number, table: Int32Array, hashed: number,
    tail?: { from: number; read: () => void },
  ): void {
    if (!this.empty) throw new Error('StringPool.adopt: the pool is not empty');
    this.tail = tail && { ...tail, to: used };
    this.bytes = bytes;
    this.used = used;
    this.offsets = offsets;
    this.count = count;
    this.table = table;
    this.mask = (table.length >>> 1) - 1;
    this.hashed = hashed;
    this.cache.clear();
  }

  /** Reads the adopted arena's tail in, when it is not yet (before anything copies the arena). */
  readTail(): void {
    const t = this.tail;
    this.tail = undefined;
    t?.read();
  }

  /**
   * Gives back the unused tail of the offsets once loading is over. The byte arena keeps its
   * size: its unused tail was never written, so it holds no memory (a big allocation is its own
   * mapping, paged in on first write), and copying the used part out would fault in and fill
   * as much again (~100 ms for a 63,000-package primary).
   */
  trim(): void {
    if (this.offsets.length > this.count + 1024) this.offsets = this.offsets.slice(0, this.count + 1);
  }

  private append(src: Uint8Array, s: number, e: number): number {
    const len = e - s;
    if (this.used + len > this.bytes.length) {
      let size = this.bytes.length * 2;
      while (size < this.used + len) size *= 2;
      this.readTail();
      const b = Buffer.allocUnsafe(size);
      this.bytes.copy(b, 0, 0, this.used);
      this.bytes = b;
    }
    // A JS loop beats a native copy's call overhead up to about 48 bytes (most names).
    if (len < 48) {
      const bytes = this.bytes;
      for (let k = 0, o = this.used; k < len; k++) bytes[o + k] = src[s + k]!;
    } else if (Buffer.isBuffer(src)) src.copy(this.bytes, this.used, s, e);
    else this.bytes.set(src.subarray(s, e), this.used);
    this.used += len;
    const id = this.count++;
    if (this.count + 1 > this.offsets.length) {
      const o = new Uint32Array(this.offsets.length * 2);
      o.set(this.offsets);
      this.offsets = o;
    }
    this.offsets[id + 1] = this.used;
    return id;
  }

  private rehash(): void {
    const old = this.table;
    const size = old.length; // slots double: 2 ints per slot
    const table = new Int32Array(2 * size);
    const mask = size - 1;
    for (let j = 0; j < old.length; j += 2) {
      const id = old[j + 1]!;
      if (id === 0) continue;
      const h = old[j]!;
      let i = h & mask;
      while (table[2 * i + 1] !== 0) i = (i + 1) & mask;
      table[2 * i] = h;
      table[2 * i + 1] = id;
    }
    this.table = table;
    this.mask = mask;
  }
}
