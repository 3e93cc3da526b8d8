/**
 * `tdnf clean …`: what each kind removes from every enabled repo's cache folders.
 *
 *   metadata      repodata/, metalink, mirrorlist and lastrefresh (and the pool cache, made from them)
 *   dbcache       the pool cache (solvcache/): tdnf's libsolv cache
 *   packages      <cachedir>/<id>/rpms/
 *   keys          downloaded gpg keys (keys/)
 *   expire-cache  lastrefresh only, so the next run refreshes
 *   all           the repo's cache folder and its package folder entirely
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TdnfConfig } from '../config.ts';
import { TDNF, TdnfError } from '../errors.ts';
import { LAST_REFRESH, repoCacheDir, repoPackagesDir } from '../repos.ts';

export type CleanKind = 'packages' | 'metadata' | 'dbcache' | 'keys' | 'expire-cache' | 'all';
export const CLEAN_KINDS: readonly CleanKind[] = ['packages', 'metadata', 'dbcache', 'keys', 'expire-cache', 'all'];

export interface CleanResult {
  /** The repos whose caches were cleaned ("Cleaning repos: …"). */
  reposUsed: string[];
  /** What was removed. */
  removed: string[];
}

export async function clean(cfg: TdnfConfig, what: CleanKind): Promise<CleanResult> {
  if (!CLEAN_KINDS.includes(what)) throw new TdnfError(TDNF.CLEAN_UNSUPPORTED, 'Clean type specified is not supported in this release. Please try clean all.');
  const repos = cfg.repos.filter((r) => r.enabled);
  if (repos.length === 0) throw new TdnfError(TDNF.NO_ENABLED_REPOS, 'There are no enabled repos.');
  const removed: string[] = [];
  const del = async (p: string): Promise<void> => {
    await rm(p, { recursive: true, force: true });
    removed.push(p);
  };
  for (const repo of repos) {
    const dir = repoCacheDir(cfg, repo);
    switch (what) {
      case 'packages': await del(repoPackagesDir(cfg, repo)); break;
      case 'metadata':
        for (const p of ['repodata', 'metalink', 'mirrorlist', LAST_REFRESH, 'solvcache', 'tmp']) await del(join(dir, p));
        break;
      case 'dbcache': await del(join(dir, 'solvcache')); break;
      case 'keys': await del(join(dir, 'keys')); break;
      case 'expire-cache': await del(join(dir, LAST_REFRESH)); break;
      case 'all':
        await del(dir);
        await del(join(cfg.cachedir, repo.id));
        break;
    }
  }
  return { reposUsed: repos.map((r) => r.id), removed };
}
