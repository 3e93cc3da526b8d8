/** `tdnf check-update [SPEC…]`: the newest available upgrade of each installed name.arch. */
import { TDNF, TdnfError } from '../errors.ts';
import { type Sack, archOf, latestPerNameArch, nameOf, packagesOf, selectSpecs, upDownCandidates } from '../query.ts';
import { type PkgInfo, pkgInfo, sortPkgs } from './list.ts';

/** `only`: the `name.arch`s an advisory filter allows (--security, --sec-severity, --reboot-required). */
export function checkUpdate(sack: Sack, specs: readonly string[], only?: ReadonlySet<string>): PkgInfo[] {
  const installed = selectSpecs(packagesOf([sack.installed]), specs);
  if (specs.length && !installed.length) throw new TdnfError(TDNF.NO_MATCH, 'No matching packages');
  const instArch = new Set(installed.map((k) => `${nameOf(k)}.${archOf(k)}`));
  // An upgrade keeps the arch, except noarch <-> arch moves, which tdnf also offers.
  const ups = upDownCandidates(sack, true, installed).filter((k) => (!only || only.has(`${nameOf(k)}.${archOf(k)}`)) && (
    instArch.has(`${nameOf(k)}.${archOf(k)}`) || archOf(k) === 'noarch' || installed.some((i) => nameOf(i) === nameOf(k) && archOf(i) === 'noarch')));
  return sortPkgs(latestPerNameArch(ups)).map(pkgInfo);
}
