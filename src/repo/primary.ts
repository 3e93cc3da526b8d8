/** primary.xml: one <package> per RPM with its identity, sizes, location and dependencies. */
import { RPMSENSE, type Dep } from '../rpm/deps.ts';
import {
  type MetadataSource, type ReadOptions, internString, ownString, parseItems, toInt,
} from './_source.ts';
import type { XmlAttrs, XmlHandler } from './xml.ts';

export type RepoFileType = 'file' | 'dir' | 'ghost';

export interface RepoFile {
  path: string;
  type: RepoFileType;
}

/** One <package> of primary.xml. Absent text reads as '' and absent numbers as 0. */
export interface RepoPackage {
  name: string;
  arch: string;
  /** As written by createrepo: '0' when the package has none. */
  epoch: string;
  version: string;
  release: string;
  /** The package checksum, which is also its pkgid in filelists and other. */
  pkgid: string;
  checksumType: string;
  summary: string;
  description: string;
  packager: string;
  url: string;
  timeFile: number;
  timeBuild: number;
  sizePackage: number;
  sizeInstalled: number;
  sizeArchive: number;
  location: string;
  locationBase?: string;
  license: string;
  vendor: string;
  group: string;
  buildhost: string;
  sourcerpm: string;
  headerStart: number;
  headerEnd: number;
  provides: Dep[];
  requires: Dep[];
  conflicts: Dep[];
  obsoletes: Dep[];
  recommends: Dep[];
  suggests: Dep[];
  supplements: Dep[];
  enhances: Dep[];
  /** The subset of files createrepo copies into primary (bin dirs, /etc, …). */
  files: RepoFile[];
}

/** createrepo's flags attribute → RPMSENSE bits. */
export const FLAGS_OF: Record<string, number> = {
  EQ: RPMSENSE.EQUAL,
  LT: RPMSENSE.LESS,
  LE: RPMSENSE.LESS | RPMSENSE.EQUAL,
  GT: RPMSENSE.GREATER,
  GE: RPMSENSE.GREATER | RPMSENSE.EQUAL,
};

const EMPTY: Dep[] = [];

function newPackage(): RepoPackage {
  return {
    name: '', arch: '', epoch: '', version: '', release: '', pkgid: '', checksumType: '',
    summary: '', description: '', packager: '', url: '', timeFile: 0, timeBuild: 0,
    sizePackage: 0, sizeInstalled: 0, sizeArchive: 0, location: '',
    license: '', vendor: '', group: '', buildhost: '', sourcerpm: '', headerStart: 0, headerEnd: 0,
    // Most packages have no conflicts, obsoletes or weak dependencies: share one empty array
    // until the first entry arrives instead of allocating eight arrays per package.
    provides: EMPTY, requires: EMPTY, conflicts: EMPTY, obsoletes: EMPTY,
    recommends: EMPTY, suggests: EMPTY, supplements: EMPTY, enhances: EMPTY, files: [],
  };
}

type DepField = 'provides' | 'requires' | 'conflicts' | 'obsoletes' | 'recommends' | 'suggests' | 'supplements' | 'enhances';
type TextField = 'name' | 'arch' | 'summary' | 'description' | 'packager' | 'url' | 'license' | 'vendor' | 'group' | 'buildhost' | 'sourcerpm' | 'pkgid' | 'file';

const DEP_LISTS: Record<string, DepField> = {
  'rpm:provides': 'provides', 'rpm:requires': 'requires', 'rpm:conflicts': 'conflicts', 'rpm:obsoletes': 'obsoletes',
  'rpm:recommends': 'recommends', 'rpm:suggests': 'suggests', 'rpm:supplements': 'supplements', 'rpm:enhances': 'enhances',
};

/** Text fields whose values repeat across packages and are worth interning. */
const INTERNED = new Set<TextField>(['arch', 'packager', 'license', 'vendor', 'group', 'buildhost']);

function parseEntry(a: XmlAttrs, intern: (s: string) => string): Dep {
  const f = a.get('flags');
  let flags = f === undefined ? 0 : (FLAGS_OF[f] ?? 0);
  let evr = '';
  if (flags) {
    const e = a.get('epoch');
    const v = a.get('ver') ?? '';
    const r = a.get('rel');
    // createrepo writes epoch="0" for "no epoch"; rpm prints neither, so neither do we.
    evr = e && e !== '0' ? `${e}:${v}` : v;
    if (r) evr += `-${r}`;
    evr = intern(evr);
  }
  if (a.get('pre') === '1') flags |= RPMSENSE.PREREQ;
  return { name: intern(a.get('name') ?? ''), flags, evr };
}

function primaryHandler(emit: (p: RepoPackage) => void, pool: Map<string, string>): XmlHandler {
  const entries = new Map<string, Dep>();
  let pkg: RepoPackage | undefined;
  let field: TextField | undefined;
  let text = '';
  let fileType: RepoFileType = 'file';
  let list: DepField | undefined;
  let listElement = '';
  const intern = (s: string): string => internString(pool, s);

  const h: XmlHandler = {
    wantText: false,
    open(name: string, a: XmlAttrs): void {
      switch (name) {
        case 'rpm:entry': {
          if (!pkg || !list) return;
          // The same entry text recurs across packages (libc6 >= 2.34 …): parse it once and
          // share the Dep object, which is why Deps must be treated as immutable.
          const raw = a.raw();
          let dep = entries.get(raw);
          if (dep === undefined) {
            dep = parseEntry(a, intern);
            entries.set(ownString(raw), dep);
          }
          const deps = pkg[list] === EMPTY ? (pkg[list] = []) : pkg[list];
          deps.push(dep);
          return;
        }
        case 'package':
          pkg = newPackage();
          return;
        // Literal field names, not `name` itself: a property key made from parsed text would
        // have to be looked up in V8's string table on every store.
        case 'name': field = 'name'; break;
        case 'arch': field = 'arch'; break;
        case 'summary': field = 'summary'; break;
        case 'description': field = 'description'; break;
        case 'packager': field = 'packager'; break;
        case 'url': field = 'url'; break;
        case 'rpm:license': field = 'license'; break;
        case 'rpm:vendor': field = 'vendor'; break;
        case 'rpm:group': field = 'group'; break;
        case 'rpm:buildhost': field = 'buildhost'; break;
        case 'rpm:sourcerpm': field = 'sourcerpm'; break;
        case 'version':
          if (!pkg) return;
          pkg.epoch = intern(a.get('epoch') ?? '');
          pkg.version = intern(a.get('ver') ?? '');
          pkg.release = intern(a.get('rel') ?? '');
          return;
        case 'checksum':
          if (!pkg) return;
          pkg.checksumType = intern(a.get('type') ?? '');
          field = 'pkgid';
          break;
        case 'time':
          if (!pkg) return;
          pkg.timeFile = toInt(a.get('file'));
          pkg.timeBuild = toInt(a.get('build'));
          return;
        case 'size':
          if (!pkg) return;
          pkg.sizePackage = toInt(a.get('package'));
          pkg.sizeInstalled = toInt(a.get('installed'));
          pkg.sizeArchive = toInt(a.get('archive'));
          return;
        case 'location': {
          if (!pkg) return;
          pkg.location = ownString(a.get('href') ?? '');
          const base = a.get('xml:base');
          if (base) pkg.locationBase = intern(base);
          return;
        }
        case 'rpm:header-range':
          if (!pkg) return;
          pkg.headerStart = toInt(a.get('start'));
          pkg.headerEnd = toInt(a.get('end'));
          return;
        case 'file': {
          const t = a.get('type');
          fileType = t === 'dir' ? 'dir' : t === 'ghost' ? 'ghost' : 'file';
          field = 'file';
          break;
        }
        default: {
          const l = DEP_LISTS[name];
          if (l !== undefined) {
            list = l;
            listElement = name;
          }
          return;
        }
      }
      if (!pkg) {
        field = undefined;
        return;
      }
      text = '';
      h.wantText = true;
    },
    close(name: string): void {
      if (field !== undefined) {
        h.wantText = false;
        const p = pkg!;
        const f = field;
        field = undefined;
        if (f === 'file') p.files.push({ path: ownString(text), type: fileType });
        else if (f === 'pkgid') p.pkgid = ownString(text);
        else p[f] = INTERNED.has(f) ? intern(text) : ownString(text);
        text = '';
        return;
      }
      if (name === 'package') {
        if (pkg) emit(pkg);
        pkg = undefined;
      } else if (list !== undefined && name !== 'rpm:entry' && name === listElement) list = undefined;
    },
    text(t: string): void {
      text = text === '' ? t : text + t;
    },
  };
  return h;
}

/**
 * Streams the packages of a primary.xml[.gz|.xz|.zst|.bz2]. To hold a whole repository in
 * memory (a solver's package set), loadPrimaryPool in pool.ts takes half the time and memory.
 */
export function primaryPackages(source: MetadataSource, options: ReadOptions = {}): AsyncGenerator<RepoPackage> {
  const pool = options.intern ?? new Map<string, string>();
  return parseItems(source, options, (emit) => primaryHandler(emit, pool));
}

/**
 * Calls `onPackage` for each package and resolves with the count once the whole file, its
 * checksums included, has been verified. Packages arrive before that verification ends: build
 * into a scratch pool and adopt it only when this resolves.
 */
export async function readPrimary(
  source: MetadataSource,
  onPackage: (pkg: RepoPackage) => void,
  options: ReadOptions = {},
): Promise<number> {
  let n = 0;
  for await (const p of primaryPackages(source, options)) {
    onPackage(p);
    n++;
  }
  return n;
}
