/** `tdnf search`: case-insensitive substrings of name, summary and description. */
import { TDNF, TdnfError } from '../errors.ts';
import { type Pkg, type Sack, allRepos, latestPerNameArch, nameOf, packagesOf } from '../query.ts';
import { sortPkgs } from './list.ts';

export interface SearchHit {
  name: string;
  summary: string;
}

export function search(sack: Sack, terms: readonly string[]): SearchHit[] {
  if (!terms.length) throw new TdnfError(TDNF.CLI_NOT_ENOUGH_ARGS, 'The command line parser could not continue. Expected at least one argument.');
  const pkgs = packagesOf(allRepos(sack));
  const hits = new Set<Pkg>();
  for (const term of terms) {
    const t = term.toLowerCase();
    for (const k of pkgs) {
      if (hits.has(k)) continue;
      const full = k.repo.pool.package(k.p);
      if (nameOf(k).toLowerCase().includes(t) || full.summary.toLowerCase().includes(t) || full.description.toLowerCase().includes(t)) hits.add(k);
    }
  }
  if (!hits.size) throw new TdnfError(TDNF.NO_SEARCH_RESULTS, 'No matches found');
  // One line per name: the newest package speaks for it.
  const seen = new Set<string>();
  const out: SearchHit[] = [];
  for (const k of sortPkgs(latestPerNameArch([...hits]))) {
    if (seen.has(nameOf(k))) continue;
    seen.add(nameOf(k));
    out.push({ name: nameOf(k), summary: k.repo.pool.str(k.repo.pool.summary(k.p)) });
  }
  return out;
}
