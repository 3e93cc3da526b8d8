/**
 * A compact in-memory package set loaded from primary.xml: what tdnf's solver loads a repository
 * into. libsolv's layout, in typed arrays:
 *
 * - Strings (names, EVRs, arches, file paths, summaries …) live once in a StringPool (a UTF-8
 *   arena) and are named by integer ids; equal names have equal ids, across repositories too
 *   when their pools share one StringPool (`options.strings`). `str(id)` decodes on demand.
 * - Packages are rows of NI string ids (Int32Array) and NN numbers (Float64Array): about 130
 *   bytes per package whatever its strings, no object per package.
 * - Dependencies are interned as (name id, RPMSENSE flags, EVR id) triples in three parallel
 *   Int32Arrays, one entry per distinct `<rpm:entry>`; a package's dependencies are a run of
 *   dependency ids per kind (provides, requires, …) in `depList`: 4 bytes per dependency.
 * - Files in primary are string ids with a type byte.
 *
 * For code that wants objects, `package(p)` materialises the same RepoPackage that
 * `primaryPackages` yields. Debian bookworm converted to RPM-md (63,440 packages, 72 MB of XML,
 * 415,000 <rpm:entry>) makes a pool of about 40 MB: a 14 MB string arena (390,000 strings), its
 * 8 MB hash table, 8 MB of package rows and 7 MB of dependencies (155,000 distinct).
 *
 * The scanner behind it (_scan_primary.ts) reads bytes, not text; see there for how it is fast.
 * primaryPackages()/readPrimary() remain the streaming, object-per-package readers (createrepo
 * --update uses them); both check the same XML rules and fail with the same error codes.
 */
import type { Dep } from '../rpm/deps.ts';
import { PhotonError } from '../util/errors.ts';
import { type MetadataSource, type ReadOptions, openMetadataBytes } from './_source.ts';
import { DEP_KIND_COUNT, F, N, NI, NN, type PoolData, PrimaryScanner } from './_scan_primary.ts';
import { StringPool } from './_strpool.ts';
import { buildPoolData } from './_build_pool.ts';
import type { RepoFile, RepoFileType, RepoPackage } from './primary.ts';

export { StringPool } from './_strpool.ts';
export type { PoolData } from './_scan_primary.ts';

/** Dependency kinds, in the order of their numbers (DEP.PROVIDES = 0 …). */
export const DEP_KINDS = [
  'provides', 'requires', 'conflicts', 'obsoletes', 'recommends', 'suggests', 'supplements', 'enhances',
] as const;
export type DepKind = (typeof DEP_KINDS)[number];
export const DEP = {
  PROVIDES: 0, REQUIRES: 1, CONFLICTS: 2, OBSOLETES: 3, RECOMMENDS: 4, SUGGESTS: 5, SUPPLEMENTS: 6, ENHANCES: 7,
} as const;

const FILE_TYPES: readonly RepoFileType[] = ['file', 'dir', 'ghost'];

export interface LoadPoolOptions extends ReadOptions {
  /** Intern into this string table (share one across repositories so that ids compare). */
  strings?: StringPool;
}

export class PackagePool {
  /** Packages, numbered 0 … count - 1 in file order. */
  readonly count: number;
  readonly strings: StringPool;
  /** Distinct dependencies, numbered 0 … depCount - 1. */
  readonly depCount: number;
  private readonly d: PoolData;

  constructor(data: PoolData) {
    this.d = data;
    this.count = data.count;
    this.strings = data.strings;
    this.depCount = data.depCount;
  }

  /** The text of string `id`. */
  str(id: number): string {
    return this.strings.str(id);
  }
  /** The id of `s`, or -1 when no package mentions it. */
  lookup(s: string): number {
    return this.strings.lookup(s);
  }

  // --- package columns (string ids) -----------------------------------------------------------

  name(p: number): number {
    return this.d.ints[p * NI + F.NAME]!;
  }
  arch(p: number): number {
    return this.d.ints[p * NI + F.ARCH]!;
  }
  /** `[epoch:]version[-release]`, epoch left out when 0, as dependency EVRs are written. */
  evr(p: number): number {
    return this.d.ints[p * NI + F.EVR]!;
  }
  /** As written ('0' when the package has none). */
  epoch(p: number): number {
    return this.d.ints[p * NI + F.EPOCH]!;
  }
  version(p: number): number {
    return this.d.ints[p * NI + F.VERSION]!;
  }
  release(p: number): number {
    return this.d.ints[p * NI + F.RELEASE]!;
  }
  /** The package checksum (hex), which is also its pkgid. */
  pkgid(p: number): number {
    return this.d.ints[p * NI + F.PKGID]!;
  }
  checksumType(p: number): number {
    return this.d.ints[p * NI + F.CHECKSUM_TYPE]!;
  }
  location(p: number): number {
    return this.d.ints[p * NI + F.LOCATION]!;
  }
  /** xml:base of the location; 0 ('') when absent. */
  locationBase(p: number): number {
    return this.d.ints[p * NI + F.LOCATION_BASE]!;
  }
  summary(p: number): number {
    return this.d.ints[p * NI + F.SUMMARY]!;
  }
  sizePackage(p: number): number {
    return this.d.nums[p * NN + N.SIZE_PACKAGE]!;
  }
  sizeInstalled(p: number): number {
    return this.d.nums[p * NN + N.SIZE_INSTALLED]!;
  }
  timeBuild(p: number): number {
    return this.d.nums[p * NN + N.TIME_BUILD]!;
  }
  /** `name-[epoch:]version-release.arch`. */
  nevra(p: number): string {
    return `${this.str(this.name(p))}-${this.str(this.evr(p))}.${this.str(this.arch(p))}`;
  }

  // --- dependencies ---------------------------------------------------------------------------

  /** Package `p`'s dependency ids of `kind` (DEP.*): a view, do not modify. */
  deps(p: number, kind: number): Int32Array {
    const i = p * DEP_KIND_COUNT + kind;
    return this.d.depList.subarray(this.d.depIndex[i]!, this.d.depIndex[i + 1]!);
  }
  depName(dep: number): number {
    return this.d.depName[dep]!;
  }
  /** RPMSENSE bits: LESS/GREATER/EQUAL, PREREQ for `pre="1"`. */
  depFlags(dep: number): number {
    return this.d.depFlags[dep]!;
  }
  /** EVR id; 0 ('') when the dependency is unversioned. */
  depEvr(dep: number): number {
    return this.d.depEvr[dep]!;
  }
  /** Dependency `dep` as an object (a new one per call). */
  dep(dep: number): Dep {
    return { name: this.str(this.d.depName[dep]!), flags: this.d.depFlags[dep]!, evr: this.str(this.d.depEvr[dep]!) };
  }

  // --- files ----------------------------------------------------------------------------------

  /** Package `p`'s file path ids (the files createrepo copies into primary): a view. */
  filePaths(p: number): Int32Array {
    return this.d.filePath.subarray(this.d.fileIndex[p]!, this.d.fileIndex[p + 1]!);
  }
  files(p: number): RepoFile[] {
    const out: RepoFile[] = [];
    for (let i = this.d.fileIndex[p]!, e = this.d.fileIndex[p + 1]!; i < e; i++) {
      out.push({ path: this.str(this.d.filePath[i]!), type: FILE_TYPES[this.d.fileType[i]!]! });
    }
    return out;
  }

  /** Package `p` as the RepoPackage object primaryPackages() would have made. */
  package(p: number): RepoPackage {
    const r = p * NI;
    const m = p * NN;
    const ints = this.d.ints;
    const nums = this.d.nums;
    const s = (f: number): string => this.str(ints[r + f]!);
    const deps = (k: number): Dep[] => Array.from(this.deps(p, k), (d) => this.dep(d));
    const pkg: RepoPackage = {
      name: s(F.NAME), arch: s(F.ARCH), epoch: s(F.EPOCH), version: s(F.VERSION), release: s(F.RELEASE),
      pkgid: s(F.PKGID), checksumType: s(F.CHECKSUM_TYPE), summary: s(F.SUMMARY), description: s(F.DESCRIPTION),
      packager: s(F.PACKAGER), url: s(F.URL), timeFile: nums[m + N.TIME_FILE]!, timeBuild: nums[m + N.TIME_BUILD]!,
      sizePackage: nums[m + N.SIZE_PACKAGE]!, sizeInstalled: nums[m + N.SIZE_INSTALLED]!,
      sizeArchive: nums[m + N.SIZE_ARCHIVE]!, location: s(F.LOCATION),
      license: s(F.LICENSE), vendor: s(F.VENDOR), group: s(F.GROUP), buildhost: s(F.BUILDHOST),
      sourcerpm: s(F.SOURCERPM), headerStart: nums[m + N.HEADER_START]!, headerEnd: nums[m + N.HEADER_END]!,
      provides: deps(0), requires: deps(1), conflicts: deps(2), obsoletes: deps(3),
      recommends: deps(4), suggests: deps(5), supplements: deps(6), enhances: deps(7), files: this.files(p),
    };
    if (ints[r + F.LOCATION_BASE]) pkg.locationBase = s(F.LOCATION_BASE);
    return pkg;
  }
}

/**
 * The column arrays behind `pool`, for the binary pool cache (pool-cache.ts), which writes them
 * raw; a PackagePool is rebuilt from them with `new PackagePool(data)`. Read-only by contract.
 */
export function poolData(pool: PackagePool): PoolData {
  return (pool as unknown as { d: PoolData }).d;
}

/**
 * Loads a primary.xml[.gz|.xz|.zst|.bz2] into a PackagePool, verifying the checksums and sizes in
 * `options.expect` on the way. Malformed XML fails with E_XML and a line number; a checksum or
 * size mismatch with E_REPO_CHECKSUM; nothing is returned before the whole file has passed.
 */
export async function loadPrimaryPool(source: MetadataSource, options: LoadPoolOptions = {}): Promise<PackagePool> {
  const file = options.file ?? (typeof source === 'string' ? source : undefined);
  const scanner = new PrimaryScanner({ file, strings: options.strings });
  try {
    for await (const chunk of openMetadataBytes(source, options)) scanner.write(chunk);
    return new PackagePool(scanner.end());
  } catch (e) {
    if (e instanceof PhotonError && !e.file && file) throw new PhotonError(e.code, e.message, { file, cause: e.cause });
    throw e;
  }
}

/**
 * A PackagePool from package objects (installed packages from the rpmdb, `@cmdline` RPM files),
 * so that they are queried and solved exactly like a repository's. Share `strings` with the
 * repositories' pools so that ids compare across them.
 */
export function buildPool(packages: readonly RepoPackage[], options: { strings?: StringPool } = {}): PackagePool {
  return new PackagePool(buildPoolData(packages, options.strings));
}
