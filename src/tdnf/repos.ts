/**
 * Enabled repositories → fresh metadata in tdnf's cache → one PackagePool per repo.
 *
 * Cache layout, as C tdnf's (so `tdnf clean`, plugins and scripts find the same files):
 *
 *   <cachedir>/<id>-<8 hex of sha256(metalink | mirrorlist | first baseurl)>/
 *       repodata/repomd.xml           the repomd.xml in use
 *       repodata/repomd.xml.asc       its signature, with repo_gpgcheck
 *       repodata/<…>-primary.xml.gz   … and the other parts repomd.xml names
 *       lastrefresh                   touched when repomd.xml was last downloaded
 *       metalink / mirrorlist         the resolved list of mirrors
 *       solvcache/pool.bin            our binary pool (pool-cache.ts), valid while repomd.xml is
 *                                     the one it was made from (where tdnf keeps its .solv)
 *   <cachedir>/<id>/rpms/             downloaded packages
 *
 * Refresh: repomd.xml is downloaded when missing, when `lastrefresh` is older than
 * metadata_expire (-1 never expires), or with --refresh; a new repomd.xml whose bytes differ
 * replaces the old repodata (and, without keepcache, the repo's package cache) as tdnf does.
 * With -C/--cacheonly nothing is downloaded; a repo without cached metadata fails with 1034.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readPublicKeys, readSignature, verifyDetached, type PublicKey } from '../formats/openpgp.ts';
import { fetchFile, type FetchOptions, baseOfRepomdUrl, joinUrl, parseMetalink, parseMirrorlist } from '../repo/fetch.ts';
import { loadPoolCache, savePoolCache } from '../repo/pool-cache.ts';
import { loadPrimaryPool, type PackagePool, type StringPool } from '../repo/pool.ts';
import { type Repomd, type RepomdData, expectationOf, findData, readRepomd } from '../repo/repomd.ts';
import { PhotonError } from '../util/errors.ts';
import type { RepoConfig, TdnfConfig } from './config.ts';
import { TDNF, TdnfError } from './errors.ts';

export interface LoadedRepo {
  id: string;
  name: string;
  config: Readonly<RepoConfig>;
  pool: PackagePool;
  cacheDir: string;
  repomd: Repomd;
  /** Where packages are fetched from (after metalink/mirrorlist resolution). */
  baseUrls: string[];
  updateinfoPath?: string;
  otherPath?: string;
  filelistsPath?: string;
}

export interface LoadReposOptions {
  refresh?: boolean;
  cacheonly?: boolean;
  onProgress?: (event: RepoEvent) => void;
}

export type RepoEvent =
  | { type: 'refresh'; repo: string; name: string }
  | { type: 'download'; repo: string; file: string; done: number; total: number | undefined }
  | { type: 'skipped'; repo: string; name: string; error: TdnfError }
  | { type: 'cache'; repo: string; fromCache: boolean };

/** `<cachedir>/<cacheName>`: the repo's metadata folder. */
export function repoCacheDir(cfg: TdnfConfig, repo: Readonly<RepoConfig>): string {
  return join(cfg.cachedir, repo.cacheName);
}

/** `<cachedir>/<id>/rpms`: where the repo's packages are downloaded. */
export function repoPackagesDir(cfg: TdnfConfig, repo: Readonly<RepoConfig> | string): string {
  return join(cfg.cachedir, typeof repo === 'string' ? repo : repo.id, 'rpms');
}

export const LAST_REFRESH = 'lastrefresh';
export const POOL_CACHE_FILE = join('solvcache', 'pool.bin');

/** Download options for `repo` from its settings and tdnf.conf's proxy. */
export function fetchOptionsFor(cfg: TdnfConfig, repo: Readonly<RepoConfig>): FetchOptions {
  return {
    retries: repo.retries, timeoutMs: repo.timeout > 0 ? repo.timeout * 1000 : undefined,
    minrate: repo.minrate || undefined, throttle: repo.throttle || undefined,
    proxy: cfg.main.proxy, proxyUsername: cfg.main.proxyUsername, proxyPassword: cfg.main.proxyPassword,
    username: repo.username, password: repo.password,
    sslverify: repo.sslverify, sslcacert: repo.sslcacert, sslclientcert: repo.sslclientcert, sslclientkey: repo.sslclientkey,
  };
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

/** Whether metadata must be refetched: no marker, or the marker is older than metadata_expire. */
async function expired(dir: string, expire: number): Promise<boolean> {
  const st = await stat(join(dir, LAST_REFRESH)).catch(() => undefined);
  if (!st) return true;
  if (expire < 0) return false;
  return (Date.now() - st.mtimeMs) / 1000 >= expire;
}

async function touch(p: string): Promise<void> {
  const now = new Date();
  await writeFile(p, '', { flag: 'a' });
  await utimes(p, now, now);
}

/** Reads the keys named by gpgkey= (file:// paths, or downloaded for http/https). */
async function repoKeys(cfg: TdnfConfig, repo: Readonly<RepoConfig>, dir: string): Promise<PublicKey[]> {
  if (repo.gpgkey.length === 0) throw new TdnfError(TDNF.NO_GPGKEY_CONF_ENTRY, `gpgkey entry is missing for repo '${repo.id}'. please add gpgkey in repo file or use --nogpgcheck to ignore.`);
  const keys: PublicKey[] = [];
  for (const [i, url] of repo.gpgkey.entries()) {
    let bytes: Buffer;
    if (url.startsWith('file://') || url.startsWith('/')) {
      const path = url.startsWith('/') ? url : decodeURIComponent(new URL(url).pathname);
      bytes = await readFile(cfg.installroot !== '/' && !(await exists(path)) ? join(cfg.installroot, path) : path).catch((e) => {
        throw new TdnfError(TDNF.KEYURL_INVALID, `GpgKey Url is invalid: ${url}: ${(e as Error).message}`);
      });
    } else if (/^https?:\/\//.test(url)) {
      const dest = join(dir, 'keys', `key-${i}.asc`);
      await fetchFile([url], dest, fetchOptionsFor(cfg, repo));
      bytes = await readFile(dest);
    } else throw new TdnfError(TDNF.KEYURL_UNSUPPORTED, `GpgKey Url schemes other than file, http and https are not supported: ${url}`);
    try {
      keys.push(...readPublicKeys(bytes.toString('latin1').includes('-----BEGIN') ? bytes.toString('latin1') : bytes));
    } catch (e) {
      throw new TdnfError(TDNF.INVALID_PUBKEY_FILE, `public key file is invalid or corrupted: ${url}`, { cause: e });
    }
  }
  return keys;
}

/** Resolves metalink / mirrorlist into base URLs, refreshing the list file when expired. */
async function resolveBaseUrls(cfg: TdnfConfig, repo: Readonly<RepoConfig>, dir: string, download: boolean): Promise<{ urls: string[]; metalink?: ReturnType<typeof parseMetalink> }> {
  const fo = fetchOptionsFor(cfg, repo);
  if (repo.metalink) {
    const file = join(dir, 'metalink');
    if (download || !(await exists(file))) {
      if (!download && !(await exists(file))) throw new TdnfError(TDNF.CACHE_DISABLED, `cache only is set, but no repo data found for repo '${repo.id}'`);
      await fetchFile([repo.metalink], file, fo);
    }
    const ml = parseMetalink(await readFile(file, 'utf8'), file);
    return { urls: ml.urls.map(baseOfRepomdUrl), metalink: ml };
  }
  if (repo.mirrorlist) {
    const file = join(dir, 'mirrorlist');
    if (download || !(await exists(file))) {
      if (!download) throw new TdnfError(TDNF.CACHE_DISABLED, `cache only is set, but no repo data found for repo '${repo.id}'`);
      await fetchFile([repo.mirrorlist], file, fo);
    }
    return { urls: parseMirrorlist(await readFile(file, 'utf8')) };
  }
  return { urls: [...repo.baseurl] };
}

function partPath(dir: string, d: RepomdData): string {
  return join(dir, d.location);
}

/**
 * Makes sure `repo`'s metadata is in its cache folder (downloading what is missing or stale)
 * and returns its pool, from the binary cache when repomd.xml is unchanged.
 */
export async function loadRepo(cfg: TdnfConfig, repo: Readonly<RepoConfig>, strings: StringPool, opts: LoadReposOptions = {}): Promise<LoadedRepo> {
  const dir = repoCacheDir(cfg, repo);
  const repodata = join(dir, 'repodata');
  const repomdPath = join(repodata, 'repomd.xml');
  const fo = fetchOptionsFor(cfg, repo);
  const have = await exists(repomdPath);
  const want = !opts.cacheonly && (opts.refresh || !have || (await expired(dir, repo.metadataExpire)));
  if (opts.cacheonly && !have) throw new TdnfError(TDNF.CACHE_DISABLED, `cache only is set, but no repo data found for repo '${repo.id}'`);

  const { urls, metalink } = await resolveBaseUrls(cfg, repo, dir, want);
  if (urls.length === 0) throw new TdnfError(TDNF.BASEURL_DOES_NOT_EXISTS, `Cannot find a valid base URL for repo: ${repo.name}`);

  if (want) {
    opts.onProgress?.({ type: 'refresh', repo: repo.id, name: repo.name });
    const tmpDir = join(dir, 'tmp');
    await rm(tmpDir, { recursive: true, force: true });
    const tmpRepomd = join(tmpDir, 'repomd.xml');
    try {
      const expect = metalink?.hashes.find((h) => h.type === 'sha512') ?? metalink?.hashes.find((h) => h.type === 'sha256');
      await fetchFile(urls.map((u) => joinUrl(u, 'repodata/repomd.xml')), tmpRepomd, { ...fo, expect, size: metalink?.size });
      if (repo.repoGpgcheck) {
        await fetchFile(urls.map((u) => joinUrl(u, 'repodata/repomd.xml.asc')), `${tmpRepomd}.asc`, fo);
        const keys = await repoKeys(cfg, repo, dir);
        const raw = await readFile(`${tmpRepomd}.asc`);
        let sig: Uint8Array;
        try {
          sig = readSignature(raw.includes('-----BEGIN') ? raw.toString('latin1') : raw);
        } catch (e) {
          throw new TdnfError(TDNF.RPM_GPG_PARSE_FAILED, `repomd.xml.asc of repo '${repo.id}' is not a readable signature`, { cause: e });
        }
        const r = verifyDetached(keys, await readFile(tmpRepomd), sig);
        if (!r.ok) throw new TdnfError(TDNF.RPM_GPG_NO_MATCH, `repomd.xml of repo '${repo.id}' failed signature verification (${r.reason})`);
      }
      const fresh = await readFile(tmpRepomd);
      const old = have ? await readFile(repomdPath).catch(() => undefined) : undefined;
      if (!old || !old.equals(fresh)) {
        // New metadata: drop the old repodata and pool cache (and the package cache unless keepcache).
        await rm(repodata, { recursive: true, force: true });
        await rm(join(dir, 'solvcache'), { recursive: true, force: true });
        if (!cfg.main.keepcache) await rm(repoPackagesDir(cfg, repo), { recursive: true, force: true });
        await mkdir(repodata, { recursive: true });
        await writeFile(repomdPath, fresh);
        if (repo.repoGpgcheck) await writeFile(`${repomdPath}.asc`, await readFile(`${tmpRepomd}.asc`));
      }
      await touch(join(dir, LAST_REFRESH));
    } finally {
      await rm(tmpDir, { recursive: true, force: true });
    }
  }

  let repomd: Repomd;
  const repomdBytes = await readFile(repomdPath).catch(() => {
    throw new TdnfError(opts.cacheonly ? TDNF.CACHE_DISABLED : TDNF.FILE_NOT_FOUND, `cache only is set, but no repo data found for repo '${repo.id}'`);
  });
  try {
    repomd = await readRepomd(repomdBytes, { file: repomdPath });
  } catch (e) {
    throw asTdnf(e, TDNF.REPO_PERFORM);
  }
  const primary = findData(repomd, 'primary');
  if (!primary) throw new TdnfError(TDNF.REPO_PERFORM, `${repomdPath}: no primary metadata`);
  const wanted: [string, RepomdData | undefined][] = [
    ['primary', primary],
    ['filelists', repo.skipMdFilelists ? undefined : findData(repomd, 'filelists')],
    ['updateinfo', repo.skipMdUpdateinfo ? undefined : findData(repomd, 'updateinfo')],
    ['other', repo.skipMdOther ? undefined : findData(repomd, 'other')],
  ];
  for (const [type, d] of wanted) {
    if (!d) continue;
    const dest = partPath(dir, d);
    if (await exists(dest)) continue;
    if (opts.cacheonly) throw new TdnfError(TDNF.CACHE_DISABLED, `cache only is set, but no repo data found for repo '${repo.id}' (${type})`);
    const sources = d.locationBase ? [joinUrl(d.locationBase, d.location)] : urls.map((u) => joinUrl(u, d.location));
    await fetchFile(sources, dest, {
      ...fo, expect: d.checksum, size: d.size,
      onProgress: (done, total) => opts.onProgress?.({ type: 'download', repo: repo.id, file: type, done, total }),
    });
  }

  // The pool: from the binary cache when it was made from this very repomd.xml.
  const source = createHash('sha256').update(repomdBytes).digest('hex');
  const cacheFile = join(dir, POOL_CACHE_FILE);
  let pool = await loadPoolCache(cacheFile, strings, { source });
  opts.onProgress?.({ type: 'cache', repo: repo.id, fromCache: pool !== undefined });
  if (!pool) {
    try {
      pool = await loadPrimaryPool(partPath(dir, primary), { strings, expect: expectationOf(primary) });
    } catch (e) {
      // A corrupt cached part: remove it so the next run downloads it again.
      await rm(partPath(dir, primary), { force: true });
      throw asTdnf(e, TDNF.CHECKSUM_VALIDATION_FAILED);
    }
    // The cache is an optimisation: failing to write it (read-only cache dir) is not an error.
    await savePoolCache(pool, cacheFile, { source }).catch(() => undefined);
  }
  const out: LoadedRepo = { id: repo.id, name: repo.name, config: repo, pool, cacheDir: dir, repomd, baseUrls: urls };
  const fl = wanted[1]![1];
  const ui = wanted[2]![1];
  const ot = wanted[3]![1];
  if (fl) out.filelistsPath = partPath(dir, fl);
  if (ui) out.updateinfoPath = partPath(dir, ui);
  if (ot) out.otherPath = partPath(dir, ot);
  return out;
}

function asTdnf(e: unknown, code: number): TdnfError {
  if (e instanceof TdnfError) return e;
  if (e instanceof PhotonError) {
    const c = e.code === 'E_REPO_CHECKSUM' ? TDNF.CHECKSUM_VALIDATION_FAILED : code;
    return new TdnfError(c, e.describe(), { cause: e });
  }
  return new TdnfError(code, String((e as Error)?.message ?? e), { cause: e });
}

/**
 * Loads every enabled repo that has metadata, in config order. A repo that fails is skipped
 * (with a 'skipped' event) when skip_if_unavailable is set, else its error is thrown.
 */
export async function loadRepos(cfg: TdnfConfig, strings: StringPool, opts: LoadReposOptions = {}): Promise<LoadedRepo[]> {
  const out: LoadedRepo[] = [];
  for (const repo of cfg.repos) {
    if (!repo.enabled || !repo.hasMetadata) continue;
    try {
      out.push(await loadRepo(cfg, repo, strings, opts));
    } catch (e) {
      const err = asTdnf(e, TDNF.REPO_PERFORM);
      if (repo.skipIfUnavailable && err.code !== TDNF.CACHE_DISABLED) {
        opts.onProgress?.({ type: 'skipped', repo: repo.id, name: repo.name, error: err });
        continue;
      }
      throw err;
    }
  }
  return out;
}
