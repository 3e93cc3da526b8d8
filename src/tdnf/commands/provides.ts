/** `tdnf provides` / `whatprovides`: packages providing a capability or owning a file. */
import { TDNF, TdnfError } from '../errors.ts';
import { type Sack, allRepos, packagesOf, selectSpec } from '../query.ts';
import { type PkgInfo, pkgInfo, sortPkgs } from './list.ts';

export function provides(sack: Sack, spec: string | undefined): PkgInfo[] {
  if (!spec) throw new TdnfError(TDNF.CLI_PROVIDES_EXPECT_ARG, 'Need an item to match.');
  const found = selectSpec(packagesOf(allRepos(sack)), spec, { files: true, provides: true });
  if (!found.length) throw new TdnfError(TDNF.NO_MATCH, 'No matching packages');
  return sortPkgs(found).map(pkgInfo);
}
