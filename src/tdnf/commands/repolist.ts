/** `tdnf repolist [all|enabled|disabled]`: rows as tdnf prints them (repo id, repo name, status). */
import type { TdnfConfig } from '../config.ts';

export type RepolistFilter = 'all' | 'enabled' | 'disabled';

export interface RepolistRow {
  id: string;
  name: string;
  enabled: boolean;
}

/** The repos matching `filter`, in config order (tdnf's default filter is 'enabled'). */
export function repolist(cfg: TdnfConfig, filter: RepolistFilter = 'enabled'): RepolistRow[] {
  return cfg.repos
    .filter((r) => filter === 'all' || (filter === 'enabled') === r.enabled)
    .map((r) => ({ id: r.id, name: r.name, enabled: r.enabled }));
}
