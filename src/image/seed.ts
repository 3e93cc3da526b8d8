/**
 * cloud-init NoCloud seeds: an ISO9660 volume labeled `cidata` holding user-data, meta-data and
 * optionally network-config (cloud-init finds it by label on any block device). ISO rather than
 * vfat because it needs no size guess and cloud-init reads both.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PhotonError, withFile } from '../util/errors.ts';
import { tempPathFor } from '../util/fs.ts';
import { run } from '../util/run.ts';

export interface SeedContent {
  userData: string;
  metaData: string;
  networkConfig?: string;
  vendorData?: string;
}

/** The volume label cloud-init's NoCloud datasource looks for. */
export const SEED_LABEL = 'cidata';

/** meta-data with a fresh instance-id, so cloud-init treats each run as a first boot. */
export function defaultMetaData(hostname?: string): string {
  const id = `iid-photon-${randomBytes(6).toString('hex')}`;
  return `instance-id: ${id}\n${hostname ? `local-hostname: ${hostname}\n` : ''}`;
}

/** Reads a seed directory as cloud-init's `nocloud-net` seedfrom layout names its files. */
export async function readSeedDir(dir: string): Promise<SeedContent> {
  const read = async (name: string, required: boolean): Promise<string | undefined> => {
    try {
      return await readFile(join(dir, name), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !required) return undefined;
      throw withFile(e, join(dir, name));
    }
  };
  const userData = (await read('user-data', true))!;
  const metaData = (await read('meta-data', false)) ?? defaultMetaData();
  const networkConfig = await read('network-config', false);
  const vendorData = await read('vendor-data', false);
  return { userData, metaData, ...(networkConfig !== undefined ? { networkConfig } : {}), ...(vendorData !== undefined ? { vendorData } : {}) };
}

// The first lines cloud-init recognises; anything else it skips without a word, which is the
// usual reason a seed "does nothing" (a #cloud-config header forgotten).
const USER_DATA_HEADS = ['#cloud-config', '#!', '#include', '#cloud-boothook', '#part-handler', '#upstart-job', '## template:', 'Content-Type:'];

/** Refuses user-data that cloud-init would silently ignore; `file` is named in the error. */
export function checkUserData(userData: string, file = 'user-data'): void {
  if (userData.trim() === '') return;
  if (USER_DATA_HEADS.some((h) => userData.startsWith(h))) return;
  const first = userData.split('\n', 1)[0]!.slice(0, 60);
  throw new PhotonError('E_SEED', `user-data starts with '${first}', which cloud-init ignores (start it with #cloud-config or #!)`, { file });
}

/** Writes the seed ISO to `out` atomically. Needs xorriso. */
export async function makeSeedIso(out: string, seed: SeedContent): Promise<void> {
  checkUserData(seed.userData);
  const stage = await mkdtemp(join(tmpdir(), 'photon-seed-'));
  const tmp = tempPathFor(out);
  try {
    await writeFile(join(stage, 'user-data'), seed.userData);
    await writeFile(join(stage, 'meta-data'), seed.metaData);
    if (seed.networkConfig !== undefined) await writeFile(join(stage, 'network-config'), seed.networkConfig);
    if (seed.vendorData !== undefined) await writeFile(join(stage, 'vendor-data'), seed.vendorData);
    // Rock Ridge and Joliet keep the lower-case, hyphenated names that plain ISO9660 would mangle.
    const args = ['-as', 'genisoimage', '-quiet', '-output', tmp, '-volid', SEED_LABEL, '-joliet', '-rock', stage];
    await run('xorriso', args).catch((e: unknown) => {
      if (e instanceof PhotonError && e.code === 'E_TOOL_MISSING') throw new PhotonError(e.code, 'xorriso not found (apt-get install xorriso)');
      throw withFile(e, out);
    });
    await rename(tmp, out);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
