/**
 * Builds one recipe: read its .debs, convert, pack, sign, write the RPMs into `outDir`. Runs in
 * a worker thread (one per core) so that recipes build in parallel; `buildRecipe` is also
 * called directly with one job at a time.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { readSecretKey } from '../formats/openpgp.ts';
import { headerDeps, headerFiles, readPackage } from '../rpm/package.ts';
import { packRpm } from '../rpm/pack.ts';
import { signPackage } from '../rpm/sign.ts';
import type { Arch } from '../util/arch.ts';
import { PhotonError, isPhotonError } from '../util/errors.ts';
import type { PackageFacts } from './closure.ts';
import { convertRecipe } from './convert.ts';
import { type LockEntry, readDeb } from './debian.ts';
import { type Distribution, loadRecipe } from './recipe.ts';

export interface RecipeJob {
  recipeDir: string;
  dist: Distribution;
  debs: { name: string; pin: LockEntry; path: string }[];
  projectRoot: string;
  arch: Arch;
  publicKey: string;
  secretKey: string;
  /** Where the RPMs go: `outDir/<arch>/<nevra>.rpm`. */
  outDir: string;
}

export interface BuiltRpm {
  name: string;
  /** Relative to outDir. */
  file: string;
  size: number;
  /** What the closure check needs, so reused packages need not be read again. */
  facts: PackageFacts;
}

export async function buildRecipe(job: RecipeJob): Promise<BuiltRpm[]> {
  const recipe = await loadRecipe(job.recipeDir, job.arch);
  if (!recipe) throw new PhotonError('E_RECIPE', `not built for ${job.arch} (exclusiveArch)`, { file: job.recipeDir });
  const debs = [];
  for (const d of job.debs) debs.push({ name: d.name, pin: d.pin, contents: await readDeb(d.path) });
  const packages = await convertRecipe({
    recipe,
    dist: job.dist,
    debs,
    projectRoot: job.projectRoot,
    arch: job.arch,
    generators: { publicKey: job.publicKey },
  });
  const key = readSecretKey(job.secretKey);
  const out: BuiltRpm[] = [];
  for (const p of packages) {
    const unsigned = await packRpm(p.spec);
    // The signature's creation time is the build time too: same inputs, same signed bytes.
    const signed = signPackage(unsigned, key, { created: new Date(job.dist.sourceDateEpoch * 1000) });
    const arch = p.spec.arch ?? 'noarch';
    const file = join(arch, `${p.spec.name}-${p.spec.version}-${p.spec.release}.${arch}.rpm`);
    await mkdir(join(job.outDir, arch), { recursive: true });
    const tmp = join(job.outDir, `${file}.tmp`);
    await writeFile(tmp, signed);
    await rename(tmp, join(job.outDir, file));
    const h = readPackage(signed, file).header;
    const facts: PackageFacts = {
      name: p.name,
      evr: `${p.spec.epoch !== undefined ? `${p.spec.epoch}:` : ''}${p.spec.version}-${p.spec.release}`,
      requires: headerDeps(h, 'requires'),
      provides: headerDeps(h, 'provides'),
      files: headerFiles(h).map((f) => f.path),
    };
    out.push({ name: p.name, file, size: signed.length, facts });
  }
  return out;
}

export type WorkerReply = { ok: true; rpms: BuiltRpm[] } | { ok: false; error: string; file?: string | undefined };

parentPort?.on('message', (job: RecipeJob) => {
  buildRecipe(job).then(
    (rpms) => parentPort!.postMessage({ ok: true, rpms } satisfies WorkerReply),
    (e: unknown) => {
      const reply: WorkerReply = isPhotonError(e)
        ? { ok: false, error: e.message, file: e.file }
        : { ok: false, error: (e as Error)?.stack ?? String(e) };
      parentPort!.postMessage(reply);
    },
  );
});
