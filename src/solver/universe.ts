/**
 * The packages one solver run sees: `@System` (installed) first, then the enabled repositories
 * (each with a priority, lower wins as in tdnf/libsolv) and `@cmdline`, all sharing one
 * StringPool so that a name id means the same everywhere. A package has one global number
 * `p = offset of its pool + index in the pool`.
 *
 * Lookups the solver makes thousands of times are flat, and built from the pools' raw column
 * arrays (poolData) rather than through per-call accessors and subarray views:
 * - `nameOf/evrOf/archOf` read three global Int32Array columns copied once from the pools'
 *   rows (12 bytes per package: 0.8 MB for 63,000 packages, ~1 ms to build);
 * - `byName` needs no index of its own: a package's own `name = EVR` entry sits in the provides
 *   run of its name, so the packages named N are the entries of N's run whose package is named
 *   N (cached per name asked, as an Int32Array);
 * - the provides index is built once, lazily, in CSR form: for every name id, a run of
 *   (package, EVR id, flags) triples in three Int32Arrays — about 12 bytes per provide, no object
 *   per package; every package also provides `name = EVR` of itself. The fill goes in global
 *   package order, so every run is sorted by package and a package's duplicates are adjacent:
 *   answers need no sort, only a compare with the previous entry. It is merged from the pools'
 *   own indexes (repo/_provides_index.ts: a cached repository's comes with its pool cache,
 *   the others are counting-sorted once), or is the one pool's index itself on a fresh root;
 * - file provides come from the pools' file lists (repos carry primary's subset, installed
 *   pools the full lists), indexed the same way by path id on the first file query;
 * - `whatProvides` answers are cached by number, never by string: unversioned ones in an array
 *   indexed by name id, versioned ones in a Map keyed by (name id, sense, EVR id) packed into one
 *   double-safe integer;
 * - EVRs are compared on ids (evr.ts): split once per id into byte offsets of the string
 *   arena and compared there, never decoded to strings.
 */
import { type PackagePool, type StringPool, poolData } from '../repo/pool.ts';
import { F, NI } from '../repo/_scan_primary.ts';
import { RPMSENSE_SENSEMASK, evrPartsOverlap } from '../rpm/deps.ts';
import { parseEvr, type Evr } from '../rpm/version.ts';
import { EvrTable } from './evr.ts';
import { type ProvidesIndex, providesIndexOf } from '../repo/_provides_index.ts';

export interface UniverseRepo {
  id: string;
  pool: PackagePool;
  /** tdnf's repo priority: lower is preferred (default 50). */
  priority?: number;
}

export interface UniverseOptions {
  strings: StringPool;
  /** The rpmdb as a pool (`@System`); absent means an empty root. */
  installed?: PackagePool;
  repos?: UniverseRepo[];
  /** RPM files named on the command line (`@cmdline`). */
  cmdline?: PackagePool;
  /** Host architecture (default x86_64): Photon installs host + noarch, never src/nosrc. */
  arch?: string;
}

interface PoolEntry {
  id: string;
  pool: PackagePool;
  offset: number;
  priority: number;
  installed: boolean;
}

const EMPTY = new Int32Array(0);
/** Versioned whatProvides keys pack (name id, sense, EVR id) into one safe integer. */
const KEY_EVR = 2 ** 26;
const KEY_NAME = 2 ** 24;


export class Universe {
  readonly strings: StringPool;
  /** Number of packages over all pools; global numbers are 0 … count - 1. */
  readonly count: number;
  readonly pools: readonly PoolEntry[];
  /** Global numbers below this are installed (`@System` comes first). */
  readonly installedEnd: number;
  private readonly poolIx: Uint16Array;
  /** Per package: 1 when the arch policy allows installing it (a view for bulk copies). */
  readonly archOk: Uint8Array;
  /** Global columns: name, EVR and arch string ids of package p (copied from the pool rows). */
  private readonly nameCol: Int32Array;
  private readonly evrCol: Int32Array;
  private readonly archCol: Int32Array;
  private readonly byNameIx = new Map<number, Int32Array>();
  private readonly byNameLists = new Map<number, number[]>();
  private provName?: Int32Array; // CSR start per name id (length names + 1)
  private provPkg?: Int32Array;
  private provEvr?: Int32Array;
  private provFlags?: Int32Array;
  private fileStart?: Int32Array;
  private filePkg?: Int32Array;
  /** Unversioned answers: plainSlot[name id] = 1 + index in `answers`, 0 when not asked yet. */
  private plainSlot?: Int32Array;
  private readonly answers: Int32Array[] = [];
  private readonly versioned = new Map<number, Int32Array>();
  /** Scratch for building one answer (grown to the longest run seen). */
  private scratch = new Int32Array(256);
  private readonly evrCache = new Map<number, Evr>();
  private readonly evrs: EvrTable;

  constructor(options: UniverseOptions) {
    this.strings = options.strings;
    this.evrs = new EvrTable(options.strings);
    const entries: PoolEntry[] = [];
    let offset = 0;
    const add = (id: string, pool: PackagePool, priority: number, installed: boolean): void => {
      entries.push({ id, pool, offset, priority, installed });
      offset += pool.count;
    };
    if (options.installed) add('@System', options.installed, 0, true);
    for (const r of options.repos ?? []) add(r.id, r.pool, r.priority ?? 50, false);
    if (options.cmdline) add('@cmdline', options.cmdline, 0, false);
    this.pools = entries;
    this.count = offset;
    this.installedEnd = options.installed ? options.installed.count : 0;
    this.poolIx = new Uint16Array(offset);
    this.nameCol = new Int32Array(offset);
    this.evrCol = new Int32Array(offset);
    this.archCol = new Int32Array(offset);
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k]!;
      this.poolIx.fill(k, e.offset, e.offset + e.pool.count);
      const ints = poolData(e.pool).ints;
      for (let i = 0, p = e.offset; i < e.pool.count; i++, p++) {
        const r = i * NI;
        this.nameCol[p] = ints[r + F.NAME]!;
        this.evrCol[p] = ints[r + F.EVR]!;
        this.archCol[p] = ints[r + F.ARCH]!;
      }
    }
    // Arch policy, decided once per arch id.
    const host = options.arch ?? 'x86_64';
    const hostId = this.strings.lookup(host);
    const noarchId = this.strings.lookup('noarch');
    this.archOk = new Uint8Array(offset);
    for (let p = 0; p < offset; p++) {
      const a = this.archCol[p]!;
      this.archOk[p] = (a === hostId && hostId >= 0) || (a === noarchId && noarchId >= 0) ? 1 : 0;
    }
  }

  entry(p: number): PoolEntry {
    return this.pools[this.poolIx[p]!]!;
  }
  /** The pool holding `p` and `p`'s index in it. */
  local(p: number): [PackagePool, number] {
    const e = this.pools[this.poolIx[p]!]!;
    return [e.pool, p - e.offset];
  }
  /** Index of `p`'s pool in `pools`. */
  poolIndex(p: number): number {
    return this.poolIx[p]!;
  }
  isInstalled(p: number): boolean {
    return p < this.installedEnd;
  }
  /** Whether the arch policy lets `p` be installed (installed packages always may stay). */
  archAllowed(p: number): boolean {
    return p < this.installedEnd || this.archOk[p] === 1;
  }
  repoId(p: number): string {
    return this.entry(p).id;
  }
  priority(p: number): number {
    return this.entry(p).priority;
  }
  nameOf(p: number): number {
    return this.nameCol[p]!;
  }
  evrOf(p: number): number {
    return this.evrCol[p]!;
  }
  archOf(p: number): number {
    return this.archCol[p]!;
  }
  str(id: number): string {
    return this.strings.str(id);
  }
  /**
   * The first byte of string `id` (-1 when empty), read from the arena: classifying a name
   * ('/' file, '(' rich) must not decode it, as `str` would (and cache it) for every name seen.
   */
  firstByte(id: number): number {
    const o = this.strings.offsets[id]!;
    return o < this.strings.offsets[id + 1]! ? this.strings.bytes[o]! : -1;
  }
  /** `name-evr.arch` as libsolv prints a solvable. */
  nevra(p: number): string {
    const [pool, i] = this.local(p);
    return pool.nevra(i);
  }
  /** The parsed EVR of string id `evrId` (cached: the solver compares the same few often). */
  parsedEvr(evrId: number): Evr {
    let e = this.evrCache.get(evrId);
    if (!e) this.evrCache.set(evrId, (e = parseEvr(this.strings.str(evrId))));
    return e;
  }
  /** rpmVersionCompare of two packages' EVRs. */
  compareEvr(p: number, q: number): number {
    const a = this.evrCol[p]!;
    const b = this.evrCol[q]!;
    return a === b ? 0 : this.evrs.comparePackages(a, b);
  }

  /** Every package named `nameId` (any pool, any arch), ascending: shared, do not modify. */
  byNameIds(nameId: number): Int32Array {
    let r = this.byNameIx.get(nameId);
    if (r) return r;
    if (!this.provName) this.buildProvides();
    const st = this.provName!;
    r = EMPTY;
    if (nameId >= 0 && nameId + 1 < st.length) {
      const pkg = this.provPkg!;
      let n = 0;
      let last = -1;
      for (let k = st[nameId]!, e = st[nameId + 1]!; k < e; k++) {
        const q = pkg[k]!;
        if (q !== last && this.nameCol[q] === nameId) n++, (last = q);
      }
      if (n) {
        r = new Int32Array(n);
        n = 0;
        last = -1;
        for (let k = st[nameId]!, e = st[nameId + 1]!; k < e; k++) {
          const q = pkg[k]!;
          if (q !== last && this.nameCol[q] === nameId) r[n++] = last = q;
        }
      }
    }
    this.byNameIx.set(nameId, r);
    return r;
  }
  /** Every package named `nameId` (any pool, any arch), in global order. */
  byName(nameId: number): readonly number[] {
    let l = this.byNameLists.get(nameId);
    if (!l) this.byNameLists.set(nameId, (l = Array.from(this.byNameIds(nameId))));
    return l;
  }

  private buildProvides(): void {
    // Every pool's own index (the pool cache's, or built once per pool: _provides_index.ts),
    // merged name by name in pool order, which is global package order, so every run stays
    // sorted by package. Every name id is below its pool's string count (one shared StringPool
    // in practice), so that count sizes `start`.
    let ids = this.strings.count;
    for (const e of this.pools) ids = Math.max(ids, e.pool.strings.count);
    const parts: { x: ProvidesIndex; offset: number }[] = [];
    let total = 0;
    for (const e of this.pools) {
      if (!e.pool.count) continue;
      const x = providesIndexOf(e.pool);
      parts.push({ x, offset: e.offset });
      total += x.pkg.length;
    }
    this.plainSlot = new Int32Array(ids + 1);
    if (parts.length === 1 && parts[0]!.offset === 0) {
      // One pool at offset 0 (a fresh root, one repository): its index is the Universe's, as is.
      // Names past its `start` have no provider there (computeProvides checks the length).
      const { x } = parts[0]!;
      this.provName = x.start;
      this.provPkg = x.pkg;
      this.provEvr = x.evr;
      this.provFlags = x.flags;
      return;
    }
    const start = new Int32Array(ids + 1);
    const pkg = new Int32Array(total);
    const evr = new Int32Array(total);
    const flags = new Int32Array(total);
    let k = 0;
    for (let n = 0; n < ids; n++) {
      for (const { x, offset } of parts) {
        const st = x.start;
        if (n + 1 >= st.length) continue;
        const e = st[n + 1]!;
        for (let j = st[n]!; j < e; j++, k++) {
          pkg[k] = x.pkg[j]! + offset;
          evr[k] = x.evr[j]!;
          flags[k] = x.flags[j]!;
        }
      }
      start[n + 1] = k;
    }
    this.provName = start;
    this.provPkg = pkg;
    this.provEvr = evr;
    this.provFlags = flags;
  }

  private buildFiles(): void {
    let maxPath = 0;
    let total = 0;
    for (const e of this.pools) {
      const d = poolData(e.pool);
      total += d.fileIndex[e.pool.count]! - d.fileIndex[0]!;
      for (let k = d.fileIndex[0]!, ke = d.fileIndex[e.pool.count]!; k < ke; k++) if (d.filePath[k]! > maxPath) maxPath = d.filePath[k]!;
    }
    const start = new Int32Array(maxPath + 2);
    for (const e of this.pools) {
      const d = poolData(e.pool);
      for (let k = d.fileIndex[0]!, ke = d.fileIndex[e.pool.count]!; k < ke; k++) start[d.filePath[k]! + 1]!++;
    }
    for (let k = 1; k < start.length; k++) start[k]! += start[k - 1]!;
    const fill = start.slice();
    const pkg = new Int32Array(total);
    for (const e of this.pools) {
      const d = poolData(e.pool);
      for (let i = 0; i < e.pool.count; i++) {
        for (let k = d.fileIndex[i]!, ke = d.fileIndex[i + 1]!; k < ke; k++) pkg[fill[d.filePath[k]!]!++] = e.offset + i;
      }
    }
    this.fileStart = start;
    this.filePkg = pkg;
  }

  /**
   * Packages providing `name [op evr]` with rpm's range semantics, ascending and without
   * duplicates; a name starting with '/' also matches file lists. A shared view: do not modify.
   * Packages the arch policy rejects are included (the solver filters); rich names are not
   * handled here (see rules in solver.ts).
   */
  whatProvides(nameId: number, flags: number, evrId: number): Int32Array {
    if (!this.provName) this.buildProvides();
    const sense = flags & RPMSENSE_SENSEMASK;
    const versioned = sense !== 0 && evrId !== 0;
    let key = -1;
    if (!versioned) {
      if (nameId + 1 < this.plainSlot!.length) {
        const s = this.plainSlot![nameId]!;
        if (s) return this.answers[s - 1]!;
      }
    } else if (nameId < KEY_NAME && evrId < KEY_EVR) {
      key = (nameId * 8 + (sense >> 1)) * KEY_EVR + evrId;
      const hit = this.versioned.get(key);
      if (hit) return hit;
    }
    const r = this.computeProvides(nameId, sense, versioned ? evrId : 0);
    if (!versioned) {
      if (nameId + 1 < this.plainSlot!.length) {
        this.answers.push(r);
        this.plainSlot![nameId] = this.answers.length;
      }
    } else if (key >= 0) this.versioned.set(key, r);
    return r;
  }

  /**
   * whatProvides with the EVR as text (rich dependencies' operands): the EVR is looked up, not
   * interned — interning would grow the shared string arena (a copy of megabytes) for a string
   * no package carries; such an answer is computed uncached.
   */
  whatProvidesText(nameId: number, flags: number, evr: string): Int32Array {
    if (!evr || !(flags & RPMSENSE_SENSEMASK)) return this.whatProvides(nameId, flags, 0);
    const id = this.strings.lookup(evr);
    if (id >= 0) return this.whatProvides(nameId, flags, id);
    if (!this.provName) this.buildProvides();
    return this.computeProvides(nameId, flags & RPMSENSE_SENSEMASK, 0, parseEvr(evr));
  }

  /** The answer for `nameId [sense req]`; `req` an EVR id (0: unversioned) or, else, `reqText`. */
  private computeProvides(nameId: number, sense: number, req: number, reqText?: Evr): Int32Array {
    const st = this.provName!;
    let a = 0;
    let ae = 0;
    if (nameId >= 0 && nameId + 1 < st.length) {
      a = st[nameId]!;
      ae = st[nameId + 1]!;
    }
    const isFile = this.firstByte(nameId) === 47; /* / */
    let f = 0;
    let fe = 0;
    if (isFile) {
      if (!this.fileStart) this.buildFiles();
      const fs = this.fileStart!;
      if (nameId + 1 < fs.length) {
        f = fs[nameId]!;
        fe = fs[nameId + 1]!;
      }
    }
    if (a === ae && f === fe) return EMPTY;
    if (this.scratch.length < ae - a + fe - f) this.scratch = new Int32Array(2 * (ae - a + fe - f));
    const out = this.scratch;
    let n = 0;
    const pkg = this.provPkg!;
    // Both runs are ascending by package: merge them, dropping repeats.
    const filePkg = this.filePkg;
    let last = -1;
    for (;;) {
      let q: number;
      if (a < ae) {
        // Skip provides whose range misses the requirement.
        if (req || reqText) {
          const pf = this.provFlags![a]! & RPMSENSE_SENSEMASK;
          const pe = this.provEvr![a]!;
          if (pf && pe && !(req ? this.evrs.overlap(pe, pf, req, sense) : evrPartsOverlap(this.parsedEvr(pe), pf, reqText!, sense))) {
            a++;
            continue;
          }
        }
        if (f < fe && filePkg![f]! < pkg[a]!) q = filePkg![f++]!;
        else q = pkg[a++]!;
      } else if (f < fe) q = filePkg![f++]!;
      else break;
      if (q !== last) out[n++] = last = q;
    }
    return n ? out.slice(0, n) : EMPTY;
  }

/** Global package number of the package named `name` with `evr`/`arch` (tests, tools). */
  find(name: string, evr?: string, arch?: string, repo?: string): number {
    const n = this.strings.lookup(name);
    if (n < 0) return -1;
    for (const p of this.byName(n)) {
      if (evr !== undefined && this.str(this.evrOf(p)) !== evr) continue;
      if (arch !== undefined && this.str(this.archOf(p)) !== arch) continue;
      if (repo !== undefined && this.repoId(p) !== repo) continue;
      return p;
    }
    return -1;
  }
}
