/**
 * `tdnf reposync`: mirrors the enabled repositories' packages into a local tree, as C tdnf's
 * TDNFRepoSync does:
 *
 * - each package goes to `<download-path>/<repoid>/<location>` (the repo's own layout, e.g.
 *   `RPMS/x86_64/foo-1-1.x86_64.rpm`; `--norepopath`: straight under the download path, one
 *   repo only); the download path defaults to the working directory;
 * - a file already there is kept when its checksum is the one primary.xml names, downloaded
 *   again otherwise; new downloads are verified (checksum and size) on the way;
 * - `--arch A` (repeatable) keeps only those architectures, `--source` only source packages
 *   (binary ones otherwise), `--newest-only` the newest EVR per name.arch of each repo;
 * - `--gpgcheck` checks each package's signature against the repo's keys and deletes one that
 *   fails ("checking package … failed: N, deleting");
 * - `--delete` removes every `*.rpm` under `<download-path>/<repoid>/` that was not part of the
 *   sync ("deleting PATH"); refused with `--norepopath` (1622) so a shared folder is never wiped;
 * - `--download-metadata` copies repomd.xml and the files it names into
 *   `<metadata-path or download-path>/<repoid>/repodata/`;
 * - `--urls` prints each package's (and with --download-metadata, each metadata file's) URL and
 *   downloads nothing.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { basename, join, resolve, sep } from 'node:path';
import { fetchFile, joinUrl } from '../../repo/fetch.ts';
import { hashAlgorithm } from '../../repo/_source.ts';
import { StringPool } from '../../repo/pool.ts';
import { comparePackageEvr } from '../../rpm/version.ts';
import type { TdnfConfig } from '../config.ts';
import { TDNF, TdnfError } from '../errors.ts';
import { gpgCheckPackage } from '../gpgcheck.ts';
import { type TdnfArgs, flag, values } from '../options.ts';
import { nameMatcher } from '../../util/glob.ts';
import { type LoadedRepo, fetchOptionsFor, loadRepos } from '../repos.ts';
import { type Io, configFromArgs, repoLoadOptions } from './_cli_session.ts';

export interface ReposyncOptions {
  /** Default: the working directory. */
  downloadPath?: string;
  metadataPath?: string;
  arch: readonly string[];
  delete: boolean;
  downloadMetadata: boolean;
  gpgcheck: boolean;
  newestOnly: boolean;
  noRepoPath: boolean;
  source: boolean;
  urlsOnly: boolean;
}

export interface ReposyncEvents {
  /** A line tdnf prints on stdout (URLs, download lines, "deleting …"). */
  info(line: string): void;
  /** A line tdnf prints with pr_crit (stderr). */
  crit(line: string): void;
  /** Import-key question for --gpgcheck. */
  confirm(question: string): boolean | Promise<boolean>;
}

export interface ReposyncResult {
  downloaded: string[];
  kept: string[];
  deleted: string[];
  failedGpg: string[];
}

interface SyncPkg {
  name: string;
  arch: string;
  epoch: string;
  version: string;
  release: string;
  location: string;
  locationBase: string;
  checksumType: string;
  checksum: string;
  size: number;
}

const SOURCE_ARCHES = new Set(['src', 'nosrc']);

function packagesOf(repo: LoadedRepo, o: ReposyncOptions, excludes: readonly string[]): SyncPkg[] {
  const pool = repo.pool;
  const ex = excludes.map(nameMatcher);
  const out: SyncPkg[] = [];
  for (let p = 0; p < pool.count; p++) {
    const arch = pool.str(pool.arch(p));
    if (o.source !== SOURCE_ARCHES.has(arch)) continue;
    if (o.arch.length && !o.arch.includes(arch)) continue;
    const name = pool.str(pool.name(p));
    if (ex.some((t) => t(name))) continue;
    out.push({
      name, arch, epoch: pool.str(pool.epoch(p)) || '0', version: pool.str(pool.version(p)), release: pool.str(pool.release(p)),
      location: pool.str(pool.location(p)), locationBase: pool.str(pool.locationBase(p)),
      checksumType: pool.str(pool.checksumType(p)), checksum: pool.str(pool.pkgid(p)), size: pool.sizePackage(p),
    });
  }
  if (!o.newestOnly) return out;
  const best = new Map<string, SyncPkg>();
  for (const k of out) {
    const key = `${k.name}.${k.arch}`;
    const cur = best.get(key);
    if (!cur || comparePackageEvr(k, cur) > 0) best.set(key, k);
  }
  return out.filter((k) => best.get(`${k.name}.${k.arch}`) === k);
}

function packageUrls(repo: LoadedRepo, k: SyncPkg): string[] {
  return k.locationBase ? [joinUrl(k.locationBase, k.location)] : repo.baseUrls.map((u) => joinUrl(u, k.location));
}

/** Hex digest of a file, or undefined when it cannot be read. */
async function fileDigest(path: string, type: string): Promise<string | undefined> {
  try {
    const h = createHash(hashAlgorithm(type, path));
    for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
    return h.digest('hex');
  } catch {
    return undefined;
  }
}

/** `dir/rel`, refusing a location that climbs out of `dir` (`../../etc/passwd`). */
function inside(dir: string, rel: string): string {
  const root = resolve(dir);
  const path = resolve(root, rel.replace(/^\/+/, ''));
  if (path !== root && !path.startsWith(root.endsWith(sep) ? root : root + sep)) {
    throw new TdnfError(TDNF.URL_INVALID, `invalid package location '${rel}'`);
  }
  return path;
}

async function rpmsUnder(dir: string): Promise<string[]> {
  const names = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  const out: string[] = [];
  for (const n of names) {
    if (!n.endsWith('.rpm')) continue;
    const p = join(dir, n);
    if ((await stat(p).catch(() => undefined))?.isFile()) out.push(p);
  }
  return out.sort();
}

export async function reposync(cfg: TdnfConfig, repos: readonly LoadedRepo[], o: ReposyncOptions, ev: ReposyncEvents): Promise<ReposyncResult> {
  const rootPath = o.downloadPath ?? process.cwd();
  const result: ReposyncResult = { downloaded: [], kept: [], deleted: [], failedGpg: [] };
  const repoDir = (base: string, id: string): string => (o.noRepoPath ? base : join(base, id));

  for (const repo of repos) {
    const fo = fetchOptionsFor(cfg, repo.config);
    const dir = repoDir(rootPath, repo.id);
    for (const k of packagesOf(repo, o, cfg.excludes)) {
      const urls = packageUrls(repo, k);
      if (o.urlsOnly) {
        ev.info(urls[0] ?? k.location);
        continue;
      }
      const dest = inside(dir, k.location);
      const have = await fileDigest(dest, k.checksumType);
      if (have !== undefined && have === k.checksum.toLowerCase()) {
        result.kept.push(dest);
      } else {
        await mkdir(join(dest, '..'), { recursive: true });
        await fetchFile(urls, dest, { ...fo, expect: { type: k.checksumType, value: k.checksum }, size: k.size || undefined });
        ev.info(`${basename(k.location).padEnd(50)} ${String(k.size).padStart(10)} 100%`);
        result.downloaded.push(dest);
      }
      if (o.gpgcheck) {
        try {
          await gpgCheckPackage(cfg.installroot, dest, { id: repo.id, gpgcheck: true, gpgkey: repo.config.gpgkey }, {
            cachedir: cfg.cachedir, confirm: ev.confirm, onInfo: ev.info,
          });
        } catch (e) {
          const code = e instanceof TdnfError ? e.code : TDNF.RPMRC_FAIL;
          ev.crit(`checking package ${dest} failed: ${code}, deleting`);
          await rm(dest, { force: true }).catch((err: Error) => ev.crit(`unable to remove ${dest}: ${err.message}`));
          result.failedGpg.push(dest);
          const i = result.kept.indexOf(dest);
          if (i >= 0) result.kept.splice(i, 1);
          const j = result.downloaded.indexOf(dest);
          if (j >= 0) result.downloaded.splice(j, 1);
        }
      }
    }
  }

  if (o.delete && !o.urlsOnly) {
    const keep = new Set([...result.kept, ...result.downloaded]);
    for (const repo of repos) {
      for (const f of await rpmsUnder(join(rootPath, repo.id))) {
        if (keep.has(f)) continue;
        ev.info(`deleting ${f}`);
        await rm(f, { force: true }).catch((err: Error) => ev.crit(`unable to remove ${f}: ${err.message}`));
        result.deleted.push(f);
      }
    }
  }

  if (o.downloadMetadata) {
    for (const repo of repos) {
      const dir = join(repoDir(o.metadataPath ?? rootPath, repo.id), 'repodata');
      const fo = fetchOptionsFor(cfg, repo.config);
      if (o.urlsOnly) {
        ev.info(joinUrl(repo.baseUrls[0] ?? '', 'repodata/repomd.xml'));
        for (const d of repo.repomd.data) ev.info(d.locationBase ? joinUrl(d.locationBase, d.location) : joinUrl(repo.baseUrls[0] ?? '', d.location));
        continue;
      }
      await mkdir(dir, { recursive: true });
      await copyFile(join(repo.cacheDir, 'repodata', 'repomd.xml'), join(dir, 'repomd.xml'));
      for (const d of repo.repomd.data) {
        const dest = inside(join(dir, '..'), d.location);
        const cached = inside(repo.cacheDir, d.location);
        if ((await fileDigest(cached, d.checksum.type)) === d.checksum.value.toLowerCase()) {
          await mkdir(join(dest, '..'), { recursive: true });
          await copyFile(cached, dest);
          continue;
        }
        const sources = d.locationBase ? [joinUrl(d.locationBase, d.location)] : repo.baseUrls.map((u) => joinUrl(u, d.location));
        await fetchFile(sources, dest, { ...fo, expect: d.checksum, size: d.size });
      }
    }
  }
  return result;
}

export function reposyncOptions(args: TdnfArgs): ReposyncOptions {
  const o: ReposyncOptions = {
    arch: values(args, 'arch', true),
    delete: flag(args, 'delete'),
    downloadMetadata: flag(args, 'download-metadata'),
    gpgcheck: flag(args, 'gpgcheck'),
    newestOnly: flag(args, 'newest-only'),
    noRepoPath: flag(args, 'norepopath'),
    source: args.source,
    urlsOnly: flag(args, 'urls'),
  };
  const dp = values(args, 'download-path').at(-1);
  const mp = values(args, 'metadata-path').at(-1);
  if (dp !== undefined) o.downloadPath = dp;
  if (mp !== undefined) o.metadataPath = mp;
  return o;
}

/** The `tdnf reposync` command (called by src/cli/tdnf.ts). */
export async function main(args: TdnfArgs, io: Io): Promise<number> {
  const o = reposyncOptions(args);
  const cfg = await configFromArgs(args);
  const enabled = cfg.repos.filter((r) => r.enabled);
  if (enabled.length > 1 && o.noRepoPath) {
    io.stderr('cannot use norepopath with multiple repos\n');
    throw new TdnfError(TDNF.INVALID_PARAMETER, 'Invalid argument');
  }
  if (o.delete && o.noRepoPath) {
    io.stderr('cannot use the delete option with norepopath\n');
    throw new TdnfError(TDNF.INVALID_PARAMETER, 'Invalid argument');
  }
  const repos = await loadRepos(cfg, new StringPool(), repoLoadOptions(args, io));
  const quiet = args.quiet || args.json;
  await reposync(cfg, repos, o, {
    info: (l) => {
      if (!quiet || o.urlsOnly) io.stdout(`${l}\n`);
    },
    crit: (l) => io.stderr(`${l}\n`),
    confirm: () => args.assumeYes,
  });
  return 0;
}
