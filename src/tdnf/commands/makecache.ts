/** `tdnf makecache`: refresh every enabled repo's metadata and build its pool cache. */
import { StringPool } from '../../repo/pool.ts';
import type { TdnfConfig } from '../config.ts';
import { type LoadedRepo, type LoadReposOptions, loadRepos } from '../repos.ts';
import { TDNF, TdnfError } from '../errors.ts';

/**
 * Refreshes all enabled repos (as `tdnf makecache`, which forces a refresh) and returns them.
 * No enabled repo is tdnf's 1012 error.
 */
export async function makecache(cfg: TdnfConfig, opts: Omit<LoadReposOptions, 'refresh'> & { refresh?: boolean } = {}): Promise<LoadedRepo[]> {
  if (!cfg.repos.some((r) => r.enabled)) {
    throw new TdnfError(TDNF.NO_ENABLED_REPOS, 'There are no enabled repos.\n Run "tdnf repolist all" to see the repos you have.\n You can enable repos by\n 1. by passing in --enablerepo <reponame>\n 2. editing repo files in your repodir(usually /etc/yum.repos.d)');
  }
  return loadRepos(cfg, new StringPool(), { ...opts, refresh: opts.refresh ?? true });
}
