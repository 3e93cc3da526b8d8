/** `tdnf count`: how many packages the installed set and the enabled repositories hold. */
import { type Sack, allRepos } from '../query.ts';

export function count(sack: Sack): number {
  return allRepos(sack).reduce((n, r) => n + r.pool.count, 0);
}
