/** `tdnf info`: list's selection with each package's details. */
import type { Sack, Scope } from '../query.ts';
import { type PkgInfo, pkgInfo, selectScoped } from './list.ts';

export function info(sack: Sack, scope: Scope, specs: readonly string[]): PkgInfo[] {
  return selectScoped(sack, scope, specs).map(pkgInfo);
}
