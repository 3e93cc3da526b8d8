/**
 * The Debian side of the build: which binary packages exist (apt's view of the mirror), the
 * lock file that pins each one to a version and sha256, a download cache addressed by sha256,
 * and reading a .deb's data.tar. apt-get is used as the field uses it (its sources, proxies and
 * mirror choice apply); every byte it fetches is checked against the lock before use.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readAr } from '../formats/ar.ts';
import { type CompressionFormat, decompressBuffer } from '../formats/decompress.ts';
import { type TarEntry, readTar } from '../formats/tar.ts';
import { PhotonError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { run } from '../util/run.ts';

export interface LockEntry {
  version: string;
  architecture: string;
  filename: string;
  sha256: string;
  size: number;
}

export interface Lock {
  suite: string;
  /** Debian architecture (amd64, arm64) → package name → pin. */
  packages: Record<string, Record<string, LockEntry>>;
}

export const LOCK_FILE = 'debian.lock';

export async function readLock(specsDir: string, suite: string): Promise<Lock> {
  const file = join(specsDir, LOCK_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { suite, packages: {} };
    throw new PhotonError('E_LOCK', (e as Error).message, { file });
  }
  let data: Lock;
  try {
    data = JSON.parse(text) as Lock;
  } catch (e) {
    throw new PhotonError('E_LOCK', `not valid JSON: ${(e as Error).message}`, { file });
  }
  if (typeof data !== 'object' || data === null || typeof data.packages !== 'object') {
    throw new PhotonError('E_LOCK', 'expected {"suite": ..., "packages": {...}}', { file });
  }
  for (const [arch, pkgs] of Object.entries(data.packages)) {
    for (const [name, e] of Object.entries(pkgs)) {
      if (typeof e.version !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256 ?? '') || typeof e.filename !== 'string') {
        throw new PhotonError('E_LOCK', `packages.${arch}.${name}: needs version, filename and a sha256`, { file });
      }
    }
  }
  return data;
}

/** Sorted keys, one entry a line block: the lock diffs well in review. */
export async function writeLock(specsDir: string, lock: Lock): Promise<void> {
  const sorted: Lock = { suite: lock.suite, packages: {} };
  for (const arch of Object.keys(lock.packages).sort()) {
    const pkgs = lock.packages[arch]!;
    sorted.packages[arch] = Object.fromEntries(Object.keys(pkgs).sort().map((n) => [n, pkgs[n]!]));
  }
  await writeFileAtomic(join(specsDir, LOCK_FILE), `${JSON.stringify(sorted, null, 1)}\n`);
}

/** dpkg's version order (lib/dpkg/version.c): epoch, then upstream and revision by verrevcmp. */
export function compareDebianVersions(a: string, b: string): number {
  const split = (v: string) => {
    const colon = v.indexOf(':');
    const epoch = colon >= 0 ? Number(v.slice(0, colon)) : 0;
    const rest = colon >= 0 ? v.slice(colon + 1) : v;
    const dash = rest.lastIndexOf('-');
    return { epoch, upstream: dash >= 0 ? rest.slice(0, dash) : rest, revision: dash >= 0 ? rest.slice(dash + 1) : '' };
  };
  const order = (c: string | undefined): number => {
    if (c === undefined) return 0;
    if (c === '~') return -1;
    if (/[0-9]/.test(c)) return 0;
    if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
    return c.charCodeAt(0) + 256;
  };
  const verrevcmp = (x: string, y: string): number => {
    let i = 0;
    let j = 0;
    while (i < x.length || j < y.length) {
      let firstDiff = 0;
      while ((i < x.length && !/[0-9]/.test(x[i]!)) || (j < y.length && !/[0-9]/.test(y[j]!))) {
        const ac = order(x[i]);
        const bc = order(y[j]);
        if (ac !== bc) return ac - bc;
        i++;
        j++;
      }
      while (x[i] === '0') i++;
      while (y[j] === '0') j++;
      while (i < x.length && /[0-9]/.test(x[i]!) && j < y.length && /[0-9]/.test(y[j]!)) {
        if (!firstDiff) firstDiff = x.charCodeAt(i) - y.charCodeAt(j);
        i++;
        j++;
      }
      if (i < x.length && /[0-9]/.test(x[i]!)) return 1;
      if (j < y.length && /[0-9]/.test(y[j]!)) return -1;
      if (firstDiff) return firstDiff;
    }
    return 0;
  };
  const va = split(a);
  const vb = split(b);
  return va.epoch - vb.epoch || verrevcmp(va.upstream, vb.upstream) || verrevcmp(va.revision, vb.revision);
}

/** `1:9.2p1-2+deb12u3` → `9.2p1`: what a Photon spec's Version would say. */
export function upstreamVersion(debianVersion: string): string {
  let v = debianVersion.replace(/^\d+:/, '');
  const dash = v.lastIndexOf('-');
  if (dash >= 0) v = v.slice(0, dash);
  v = v.replace(/[+~](dfsg|ds|repack|really)[0-9.]*.*$/i, '');
  return v.replace(/-/g, '_').replace(/:/g, '_');
}

/** The stanzas `apt-cache show` prints, as field maps. */
function parseStanzas(text: string): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  for (const block of text.split(/\n\n+/)) {
    const fields = new Map<string, string>();
    let last = '';
    for (const line of block.split('\n')) {
      if (/^\s/.test(line) && last) fields.set(last, `${fields.get(last)}\n${line.trim()}`);
      else {
        const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
        if (m) {
          last = m[1]!;
          fields.set(last, m[2]!);
        }
      }
    }
    if (fields.has('Package')) out.push(fields);
  }
  return out;
}

/**
 * Pins for `names` from apt's package lists: the newest version the mirror offers (stanzas with
 * a Filename; what dpkg has installed locally does not count).
 */
export async function resolveFromApt(names: readonly string[], arch: string): Promise<Map<string, LockEntry>> {
  const out = new Map<string, LockEntry>();
  if (names.length === 0) return out;
  // apt files Architecture: all packages under the host's own architecture only, and answers
  // NAME:all with the host's build of NAME too: ask for both, keep only `arch` and `all`.
  const res = await run('apt-cache', ['show', ...names.flatMap((n) => [`${n}:${arch}`, `${n}:all`])], { allowFailure: true });
  const stanzas = parseStanzas(res.stdout.toString());
  for (const s of stanzas) {
    const name = s.get('Package')!;
    const filename = s.get('Filename');
    const sha256 = s.get('SHA256');
    const a = s.get('Architecture') ?? arch;
    if (!filename || !sha256 || (a !== arch && a !== 'all')) continue;
    const entry: LockEntry = {
      version: s.get('Version')!,
      architecture: a,
      filename,
      sha256,
      size: Number(s.get('Size') ?? 0),
    };
    const have = out.get(name);
    if (!have || compareDebianVersions(entry.version, have.version) > 0) out.set(name, entry);
  }
  return out;
}

export interface FetchOptions {
  cacheDir: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

function debPath(cacheDir: string, e: LockEntry): string {
  return join(cacheDir, 'debs', `${e.sha256}.deb`);
}

async function sha256File(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/**
 * Makes sure every pinned .deb is in the cache, downloading the missing ones in one apt-get
 * call (apt fetches in parallel), and returns name → cached path.
 */
export async function fetchDebs(pins: Map<string, LockEntry>, options: FetchOptions): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const missing: [string, LockEntry][] = [];
  for (const [name, e] of pins) {
    const path = debPath(options.cacheDir, e);
    const ok = await stat(path).then((s) => s.size === e.size || e.size === 0, () => false);
    if (ok) out.set(name, path);
    else missing.push([name, e]);
  }
  if (missing.length === 0) return out;
  await mkdir(join(options.cacheDir, 'debs'), { recursive: true });
  const tmp = await mkdtemp(join(options.cacheDir, 'debs', '.dl-'));
  try {
    options.log?.(`downloading ${missing.length} Debian package${missing.length > 1 ? 's' : ''}`);
    // NAME:ARCH: without it apt takes the host's architecture (ARCH may be `all`).
    const download = () => run('apt-get', ['download', '-q', ...missing.map(([n, e]) => `${n}:${e.architecture}=${e.version}`)], { cwd: tmp, allowFailure: true });
    let res = await download();
    if (res.status !== 0 && /was not found|Unable to locate/.test(res.stderr.toString())) {
      // The lists may predate the pins (a fresh machine's image): refresh them once.
      options.log?.('refreshing apt lists (apt-get update)');
      await run('apt-get', ['update', '-qq'], { allowFailure: true });
      res = await download();
    }
    if (res.status !== 0) {
      const err = res.stderr.toString();
      const gone = /Version '([^']+)' for '([^']+)' was not found/.exec(err) ?? /Unable to locate package ([^\s]+)/.exec(err);
      const what = gone ? (gone[2] ? `${gone[2]} ${gone[1]}` : gone[1]) : err.trim().split('\n').pop();
      throw new PhotonError('E_FETCH', `apt-get download failed: ${what}${gone ? ' is not offered by the mirror any more; run photon build --update-lock' : ''}`, {
        file: LOCK_FILE,
      });
    }
    const byName = new Map<string, string>();
    for (const f of await readdir(tmp)) byName.set(decodeURIComponent(f.split('_')[0]!), join(tmp, f));
    for (const [name, e] of missing) {
      const got = byName.get(name);
      if (!got) throw new PhotonError('E_FETCH', `apt-get download gave no file for ${name} ${e.version}`);
      const sum = await sha256File(got);
      if (sum !== e.sha256) {
        throw new PhotonError('E_FETCH', `${name} ${e.version}: sha256 ${sum} differs from the pinned ${e.sha256}`, { file: LOCK_FILE });
      }
      const dest = debPath(options.cacheDir, e);
      await rename(got, dest);
      out.set(name, dest);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return out;
}

const MEMBER_FORMAT: Record<string, CompressionFormat> = { '.xz': 'xz', '.zst': 'zstd', '.gz': 'gzip', '.bz2': 'bzip2', '.lzma': 'lzma', '': 'none' };

/** Host decompressors are several times faster than ours on a 400 MB kernel tree; ours is the fallback. */
const HOST_TOOL: Partial<Record<CompressionFormat, string>> = { xz: 'xz', zstd: 'zstd', gzip: 'gzip' };

async function decompressMember(format: CompressionFormat, data: Uint8Array): Promise<Uint8Array> {
  if (format === 'none') return data;
  const tool = HOST_TOOL[format];
  if (tool) {
    try {
      const res = await run(tool, ['-dc'], { input: data });
      return new Uint8Array(res.stdout.buffer, res.stdout.byteOffset, res.stdout.byteLength);
    } catch (e) {
      if ((e as PhotonError).code !== 'E_TOOL_MISSING') throw e;
    }
  }
  return decompressBuffer(format, data);
}

export interface DebContents {
  control: Map<string, string>;
  /** Paths dpkg treats as configuration (the control member `conffiles`). */
  conffiles: string[];
  entries: TarEntry[];
}

/** The control fields and the data.tar entries of a .deb. */
export async function readDeb(path: string): Promise<DebContents> {
  const bytes = new Uint8Array(await readFile(path));
  try {
    const members = readAr(bytes, path);
    if (members[0]?.name !== 'debian-binary') throw new PhotonError('E_DEB', 'not a Debian package (no debian-binary member first)', { file: path });
    const find = (prefix: string) => {
      const m = members.find((x) => x.name.startsWith(prefix));
      if (!m) throw new PhotonError('E_DEB', `no ${prefix}* member`, { file: path });
      const ext = m.name.slice(prefix.length);
      const format = MEMBER_FORMAT[ext];
      if (format === undefined) throw new PhotonError('E_DEB', `${m.name}: unknown compression`, { file: path });
      return decompressMember(format, m.data);
    };
    const controlTar = readTar(await find('control.tar'), path);
    const controlFile = controlTar.find((e) => e.path === 'control');
    const control = parseStanzas(new TextDecoder().decode(controlFile?.data ?? new Uint8Array()))[0] ?? new Map<string, string>();
    const conffilesFile = controlTar.find((e) => e.path === 'conffiles');
    const conffiles = new TextDecoder()
      .decode(conffilesFile?.data ?? new Uint8Array())
      .split('\n')
      .map((l) => l.replace(/^remove-on-upgrade\s+/, '').trim())
      .filter((l) => l.startsWith('/'));
    const entries = readTar(await find('data.tar'), path);
    return { control, conffiles, entries };
  } catch (e) {
    if (e instanceof PhotonError) throw e.file ? e : new PhotonError(e.code, e.message, { file: path });
    throw new PhotonError('E_DEB', `cannot read: ${(e as Error).message}`, { file: path });
  }
}
