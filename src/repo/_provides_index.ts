/**
 * One pool's provides index in CSR form, what the solver's whatProvides reads (see
 * solver/universe.ts, which merges the pools' indexes into one over global package numbers):
 * for every string id `n` below `start.length - 1`, the entries `start[n] … start[n + 1] - 1`
 * of `pkg` (package index in the pool), `evr` (EVR string id) and `flags` (RPMSENSE) are the
 * packages providing `n` — every package also provides `name = EVR` of itself, first. Entries
 * go in package order, so every run is sorted by package and a package's repeats are adjacent.
 *
 * Built by a counting sort over the pool's raw columns (two passes, ~20 ms for 63,000 packages
 * cold) or taken from the pool cache, which stores it beside the columns (pool-cache.ts), so
 * that a run that loads a cached repository does not rebuild it.
 */
import { DEP_KIND_COUNT, F, NI } from './_scan_primary.ts';
import { type PackagePool, poolData } from './pool.ts';
import { RPMSENSE } from '../rpm/deps.ts';

export interface ProvidesIndex {
  start: Int32Array;
  pkg: Int32Array;
  evr: Int32Array;
  flags: Int32Array;
}

/** The columns the index is built from (a pool's, or pool-cache.ts's renumbered copies). */
export interface ProvidesSource {
  count: number;
  ints: Int32Array;
  depIndex: Uint32Array;
  depList: Int32Array;
  depName: Int32Array;
  depEvr: Int32Array;
  depFlags: Int32Array;
}

const PROVIDES = 0; // DEP.PROVIDES: the first kind in each package's depIndex row

/** The index over `d`, whose string ids are all below `ids`. */
export function buildProvidesIndex(d: ProvidesSource, ids: number): ProvidesIndex {
  const { count, ints, depIndex, depList, depName, depEvr, depFlags } = d;
  const start = new Int32Array(ids + 1);
  let total = 0;
  for (let i = 0; i < count; i++) {
    start[ints[i * NI + F.NAME]! + 1]!++;
    const ks = depIndex[i * DEP_KIND_COUNT + PROVIDES]!;
    const ke = depIndex[i * DEP_KIND_COUNT + PROVIDES + 1]!;
    for (let k = ks; k < ke; k++) start[depName[depList[k]!]! + 1]!++;
    total += 1 + ke - ks;
  }
  for (let k = 1; k < start.length; k++) start[k]! += start[k - 1]!;
  const fill = start.slice();
  const pkg = new Int32Array(total);
  const evr = new Int32Array(total);
  const flags = new Int32Array(total);
  for (let i = 0; i < count; i++) {
    let k = fill[ints[i * NI + F.NAME]!]!++;
    pkg[k] = i;
    evr[k] = ints[i * NI + F.EVR]!;
    flags[k] = RPMSENSE.EQUAL;
    const je = depIndex[i * DEP_KIND_COUNT + PROVIDES + 1]!;
    for (let j = depIndex[i * DEP_KIND_COUNT + PROVIDES]!; j < je; j++) {
      const dep = depList[j]!;
      k = fill[depName[dep]!]!++;
      pkg[k] = i;
      evr[k] = depEvr[dep]!;
      flags[k] = depFlags[dep]!;
    }
  }
  return { start, pkg, evr, flags };
}

/** Number of entries the index of `d` has (packages plus their provides). */
export function providesLength(d: Pick<ProvidesSource, 'count' | 'depIndex'>): number {
  let total = d.count;
  for (let i = 0; i < d.count; i++) total += d.depIndex[i * DEP_KIND_COUNT + PROVIDES + 1]! - d.depIndex[i * DEP_KIND_COUNT + PROVIDES]!;
  return total;
}

const indexes = new WeakMap<PackagePool, ProvidesIndex>();

/** Hands a pool the index it was loaded with (pool-cache.ts, after checking it). */
export function attachProvidesIndex(pool: PackagePool, index: ProvidesIndex): void {
  indexes.set(pool, index);
}

/** The pool's index: the one it was loaded with, else built once (pools do not change). */
export function providesIndexOf(pool: PackagePool): ProvidesIndex {
  let x = indexes.get(pool);
  if (!x) {
    const d = poolData(pool);
    indexes.set(pool, (x = buildProvidesIndex({ ...d, count: pool.count }, pool.strings.count)));
  }
  return x;
}
