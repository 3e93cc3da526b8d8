/**
 * The packages one solver run sees: `@System` (installed) first, then the enabled repositories
 * (each with a priority, lower wins as in tdnf/libsolv) and `@cmdline`, all sharing one
 * StringPool so that a name id means the same everywhere. A package has one global number
 * `p = offset of its pool + index in the pool`.
 *
 * Lookups the solver makes thousands of times are flat:
 * - `nameOf/evrOf/archOf` read the pool rows through a per-package pool index (Uint16Array);
 * - the provides index is built once, lazily, in CSR form: for every name id, a run of
 *   (package, EVR id, flags) triples in three Int32Arrays — about 12 bytes per provide, no object
 *   per package; every package also provides `name = EVR` of itself;
 * - file provides come from the pools' file lists (repos carry primary's subset, installed
 *   pools the full lists), indexed the same way by path id on the first file query;
 * - `whatProvides` answers are cached per (name, flags, EVR) key.
 */
import { DEP, type PackagePool, type StringPool } from '../repo/pool.ts';
import { RPMSENSE, RPMSENSE_SENSEMASK, evrRangesOverlap } from '../rpm/deps.ts';
import { comparePackageEvr, parseEvr, type Evr } from '../rpm/version.ts';

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

export class Universe {
  readonly strings: StringPool;
  /** Number of packages over all pools; global numbers are 0 … count - 1. */
  readonly count: number;
  readonly pools: readonly PoolEntry[];
  /** Global numbers below this are installed (`@System` comes first). */
  readonly installedEnd: number;
  private readonly poolIx: Uint16Array;
  private readonly archOk: Uint8Array;
  private provName?: Int32Array; // CSR start per name id (length names + 1)
  private provPkg?: Int32Array;
  private provEvr?: Int32Array;
  private provFlags?: Int32Array;
  private fileStart?: Int32Array;
  private filePkg?: Int32Array;
  private readonly cache = new Map<string, Int32Array>();
  private readonly evrCache = new Map<number, Evr>();
  private byNameIx?: Map<number, number[]>;

  constructor(options: UniverseOptions) {
    this.strings = options.strings;
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
    for (let i = 0; i < entries.length; i++) this.poolIx.fill(i, entries[i]!.offset, entries[i]!.offset + entries[i]!.pool.count);
    // Arch policy, decided once per arch id.
    const host = options.arch ?? 'x86_64';
    const ok = new Set([this.strings.lookup(host), this.strings.lookup('noarch')]);
    this.archOk = new Uint8Array(offset);
    for (let p = 0; p < offset; p++) this.archOk[p] = ok.has(this.archOf(p)) ? 1 : 0;
  }

  entry(p: number): PoolEntry {
    return this.pools[this.poolIx[p]!]!;
  }
  /** The pool holding `p` and `p`'s index in it. */
  local(p: number): [PackagePool, number] {
    const e = this.pools[this.poolIx[p]!]!;
    return [e.pool, p - e.offset];
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
    const e = this.pools[this.poolIx[p]!]!;
    return e.pool.name(p - e.offset);
  }
  evrOf(p: number): number {
    const e = this.pools[this.poolIx[p]!]!;
    return e.pool.evr(p - e.offset);
  }
  archOf(p: number): number {
    const e = this.pools[this.poolIx[p]!]!;
    return e.pool.arch(p - e.offset);
  }
  str(id: number): string {
    return this.strings.str(id);
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
    const a = this.evrOf(p);
    const b = this.evrOf(q);
    return a === b ? 0 : comparePackageEvr(this.parsedEvr(a), this.parsedEvr(b));
  }

  /** Every package named `nameId` (any pool, any arch), in global order. */
  byName(nameId: number): readonly number[] {
    if (!this.byNameIx) {
      const m = new Map<number, number[]>();
      for (let p = 0; p < this.count; p++) {
        const n = this.nameOf(p);
        const l = m.get(n);
        if (l) l.push(p);
        else m.set(n, [p]);
      }
      this.byNameIx = m;
    }
    return this.byNameIx.get(nameId) ?? [];
  }

  private buildProvides(): void {
    // Two passes over every provide: count per name id, then fill (a counting sort).
    let maxName = 0;
    let total = 0;
    for (const e of this.pools) {
      for (let i = 0; i < e.pool.count; i++) {
        const ds = e.pool.deps(i, DEP.PROVIDES);
        total += ds.length + 1;
        const n = e.pool.name(i);
        if (n > maxName) maxName = n;
        for (const d of ds) if (e.pool.depName(d) > maxName) maxName = e.pool.depName(d);
      }
    }
    const start = new Int32Array(maxName + 2);
    for (const e of this.pools) {
      for (let i = 0; i < e.pool.count; i++) {
        start[e.pool.name(i) + 1]!++;
        for (const d of e.pool.deps(i, DEP.PROVIDES)) start[e.pool.depName(d) + 1]!++;
      }
    }
    for (let k = 1; k < start.length; k++) start[k]! += start[k - 1]!;
    const fill = start.slice();
    const pkg = new Int32Array(total);
    const evr = new Int32Array(total);
    const flags = new Int32Array(total);
    for (const e of this.pools) {
      const pool = e.pool;
      for (let i = 0; i < pool.count; i++) {
        const p = e.offset + i;
        let k = fill[pool.name(i)]!++;
        pkg[k] = p;
        evr[k] = pool.evr(i);
        flags[k] = RPMSENSE.EQUAL;
        for (const d of pool.deps(i, DEP.PROVIDES)) {
          k = fill[pool.depName(d)]!++;
          pkg[k] = p;
          evr[k] = pool.depEvr(d);
          flags[k] = pool.depFlags(d);
        }
      }
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
      for (let i = 0; i < e.pool.count; i++) {
        const fs = e.pool.filePaths(i);
        total += fs.length;
        for (const f of fs) if (f > maxPath) maxPath = f;
      }
    }
    const start = new Int32Array(maxPath + 2);
    for (const e of this.pools) for (let i = 0; i < e.pool.count; i++) for (const f of e.pool.filePaths(i)) start[f + 1]!++;
    for (let k = 1; k < start.length; k++) start[k]! += start[k - 1]!;
    const fill = start.slice();
    const pkg = new Int32Array(total);
    for (const e of this.pools) {
      for (let i = 0; i < e.pool.count; i++) for (const f of e.pool.filePaths(i)) pkg[fill[f]!++] = e.offset + i;
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
    const sense = flags & RPMSENSE_SENSEMASK;
    const key = sense && evrId ? `${nameId} ${sense} ${evrId}` : `${nameId}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    if (!this.provName) this.buildProvides();
    const out: number[] = [];
    const st = this.provName!;
    if (nameId + 1 < st.length) {
      const reqEvr = sense && evrId ? this.strings.str(evrId) : '';
      for (let k = st[nameId]!, e = st[nameId + 1]!; k < e; k++) {
        const pf = this.provFlags![k]! & RPMSENSE_SENSEMASK;
        const pe = this.provEvr![k]!;
        if (reqEvr && pf && pe && !evrRangesOverlap(this.strings.str(pe), pf, reqEvr, sense)) continue;
        out.push(this.provPkg![k]!);
      }
    }
    if (this.strings.str(nameId).charCodeAt(0) === 47 /* / */) {
      if (!this.fileStart) this.buildFiles();
      const fs = this.fileStart!;
      if (nameId + 1 < fs.length) for (let k = fs[nameId]!, e = fs[nameId + 1]!; k < e; k++) out.push(this.filePkg![k]!);
    }
    out.sort((a, b) => a - b);
    let w = 0;
    for (let i = 0; i < out.length; i++) if (i === 0 || out[i] !== out[i - 1]) out[w++] = out[i]!;
    const r = out.length ? Int32Array.from(out.slice(0, w)) : EMPTY;
    this.cache.set(key, r);
    return r;
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
