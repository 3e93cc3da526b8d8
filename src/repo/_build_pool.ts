/**
 * Builds PoolData from RepoPackage objects: the rpmdb's installed packages and `@cmdline` RPM
 * files arrive as objects, not as primary.xml, but the solver and queries want every package
 * set in the same columns. Same layout and interning rules as the primary scanner (see
 * _scan_primary.ts): EVR without a zero epoch, one entry per distinct dependency.
 */
import type { Dep } from '../rpm/deps.ts';
import { DEP_KIND_COUNT, F, N, NI, NN, type PoolData } from './_scan_primary.ts';
import { StringPool } from './_strpool.ts';
import type { RepoPackage } from './primary.ts';

const KINDS = ['provides', 'requires', 'conflicts', 'obsoletes', 'recommends', 'suggests', 'supplements', 'enhances'] as const;
const FILE_TYPE = { file: 0, dir: 1, ghost: 2 } as const;

function evrText(epoch: string, version: string, release: string): string {
  let s = epoch && epoch !== '0' ? `${epoch}:${version}` : version;
  if (release) s += `-${release}`;
  return s;
}

export function buildPoolData(packages: readonly RepoPackage[], strings: StringPool = new StringPool()): PoolData {
  const count = packages.length;
  const ints = new Int32Array(Math.max(1, count * NI));
  const nums = new Float64Array(Math.max(1, count * NN));
  const depIndex = new Uint32Array(count * DEP_KIND_COUNT + 1);
  const fileIndex = new Uint32Array(count + 1);
  const depList: number[] = [];
  const depName: number[] = [];
  const depFlags: number[] = [];
  const depEvr: number[] = [];
  const depIds = new Map<string, number>();
  const filePath: number[] = [];
  const fileType: number[] = [];
  const s = (v: string | undefined): number => (v ? strings.internString(v) : 0);
  const depId = (d: Dep): number => {
    const key = `${d.name}\0${d.flags}\0${d.evr}`;
    let id = depIds.get(key);
    if (id === undefined) {
      id = depName.length;
      depIds.set(key, id);
      depName.push(s(d.name));
      depFlags.push(d.flags);
      depEvr.push(s(d.evr));
    }
    return id;
  };
  packages.forEach((p, i) => {
    const r = i * NI;
    ints[r + F.NAME] = s(p.name);
    ints[r + F.ARCH] = s(p.arch);
    ints[r + F.EPOCH] = s(p.epoch || '0');
    ints[r + F.VERSION] = s(p.version);
    ints[r + F.RELEASE] = s(p.release);
    ints[r + F.EVR] = s(evrText(p.epoch, p.version, p.release));
    ints[r + F.CHECKSUM_TYPE] = s(p.checksumType);
    ints[r + F.PKGID] = s(p.pkgid);
    ints[r + F.SUMMARY] = s(p.summary);
    ints[r + F.DESCRIPTION] = s(p.description);
    ints[r + F.PACKAGER] = s(p.packager);
    ints[r + F.URL] = s(p.url);
    ints[r + F.LOCATION] = s(p.location);
    ints[r + F.LOCATION_BASE] = s(p.locationBase);
    ints[r + F.LICENSE] = s(p.license);
    ints[r + F.VENDOR] = s(p.vendor);
    ints[r + F.GROUP] = s(p.group);
    ints[r + F.BUILDHOST] = s(p.buildhost);
    ints[r + F.SOURCERPM] = s(p.sourcerpm);
    const m = i * NN;
    nums[m + N.TIME_FILE] = p.timeFile;
    nums[m + N.TIME_BUILD] = p.timeBuild;
    nums[m + N.SIZE_PACKAGE] = p.sizePackage;
    nums[m + N.SIZE_INSTALLED] = p.sizeInstalled;
    nums[m + N.SIZE_ARCHIVE] = p.sizeArchive;
    nums[m + N.HEADER_START] = p.headerStart;
    nums[m + N.HEADER_END] = p.headerEnd;
    KINDS.forEach((k, ki) => {
      depIndex[i * DEP_KIND_COUNT + ki] = depList.length;
      for (const d of p[k]) depList.push(depId(d));
    });
    fileIndex[i] = filePath.length;
    for (const f of p.files) {
      filePath.push(s(f.path));
      fileType.push(FILE_TYPE[f.type]);
    }
  });
  depIndex[count * DEP_KIND_COUNT] = depList.length;
  fileIndex[count] = filePath.length;
  return {
    strings, count, ints, nums, depIndex, depList: Int32Array.from(depList),
    depName: Int32Array.from(depName), depFlags: Int32Array.from(depFlags), depEvr: Int32Array.from(depEvr),
    depCount: depName.length, fileIndex, filePath: Int32Array.from(filePath), fileType: Uint8Array.from(fileType),
  };
}
