/**
 * createrepo --update: what the previous metadata offers. Records are keyed by location href;
 * `locations` lists every file the old repomd.xml referenced, so that those no longer used can
 * be deleted after the new repomd.xml is in place.
 *
 * Old metadata that fails its checksums or does not parse is not an error: the packages are
 * read again, which gives the right output, and the caller reports the warning.
 */
import { access } from 'node:fs/promises';
import type { RepoChangelog } from './dump.ts';
import { readFilelists, readOther } from './filelists.ts';
import type { PackageRecord } from './from-header.ts';
import { readPrimary, type RepoFile, type RepoPackage } from './primary.ts';
import { dataPath, expectationOf, findData, type RepomdData, readRepomd } from './repomd.ts';

/** The types createrepo derives from the packages; anything else (updateinfo, group, …) was added by other tools. */
export const DERIVED_TYPE = /^(primary|filelists|other)(_db|_zck)?$/;

export interface PreviousRepo {
  records: Map<string, PackageRecord>;
  locations: string[];
  /** Entries of other types (updateinfo, group, modules), carried over by --update. */
  extra: RepomdData[];
  /** Why the previous metadata could not be reused, when it could not. */
  warning?: string;
}

export async function readPrevious(repomdPath: string, wantRecords: boolean): Promise<PreviousRepo> {
  const records = new Map<string, PackageRecord>();
  if (!(await access(repomdPath).then(() => true, () => false))) return { records, locations: [], extra: [] };
  let locations: string[] = [];
  let extra: RepomdData[] = [];
  try {
    const repomd = await readRepomd(repomdPath);
    locations = repomd.data.filter((d) => !d.locationBase).map((d) => d.location);
    if (!wantRecords) return { records, locations, extra };
    extra = repomd.data.filter((d) => !DERIVED_TYPE.test(d.type));
    const pri = findData(repomd, 'primary');
    const fil = findData(repomd, 'filelists');
    const oth = findData(repomd, 'other');
    if (!pri || !fil || !oth) return { records, locations, extra, warning: `${repomdPath}: lacks primary, filelists or other; every package read again` };
    const intern = new Map<string, string>();
    const packages: RepoPackage[] = [];
    await readPrimary(dataPath(repomdPath, pri), (p) => packages.push(p), { expect: expectationOf(pri), intern });
    const files = new Map<string, RepoFile[]>();
    await readFilelists(dataPath(repomdPath, fil), (e) => files.set(e.pkgid, e.files), { expect: expectationOf(fil), intern });
    const changelogs = new Map<string, RepoChangelog[]>();
    await readOther(dataPath(repomdPath, oth), (e) => changelogs.set(e.pkgid, e.changelogs), { expect: expectationOf(oth), intern });
    for (const pkg of packages) {
      const filelist = files.get(pkg.pkgid);
      const log = changelogs.get(pkg.pkgid);
      // A package missing from filelists or other is read again rather than half reused.
      if (filelist && log) records.set(pkg.location, { pkg, filelist, changelogs: log });
    }
  } catch (e) {
    records.clear();
    return { records, locations, extra, warning: `previous metadata not reused (${(e as Error).message}); every package read again` };
  }
  return { records, locations, extra };
}
