/**
 * `photon build`: recipes → signed RPMs → a published, signed, closed repository.
 *
 *   load + validate every recipe → order by buildRequires → pin Debian inputs (lock) → hash
 *   each recipe's inputs → reuse cached outputs → download missing .debs → build the rest in
 *   parallel workers → check the set is closed → write repodata into a new stage → swap it in.
 *
 * Outputs are cached by input hash (`<cache>/build/<hash>/`), so a failed or interrupted build
 * keeps what it finished while the published stage stays as it was until the final swap.
 */
import { createHash } from 'node:crypto';
import { cpus, homedir } from 'node:os';
import { link, mkdir, readFile, readdir, rename, rm, stat, writeFile, lstat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createrepo } from '../repo/createrepo.ts';
import { ARCHES, type Arch } from '../util/arch.ts';
import { PhotonError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { type PackageFacts, unmetRequirements } from './closure.ts';
import { type Lock, type LockEntry, LOCK_FILE, fetchDebs, readLock, resolveFromApt, writeLock } from './debian.ts';
import { loadSigningKey } from './keys.ts';
import { type Distribution, type Recipe, archMacros, loadDistribution, loadRecipes } from './recipe.ts';
import { type BuiltRpm, type RecipeJob, type WorkerReply, buildRecipe } from './worker.ts';

/**
 * The converter's own code is an input of every package: a changed converter rebuilds all.
 * Bundled, that is the worker bundle; from sources, the modules it is made of.
 */
async function converterFingerprint(): Promise<string> {
  const self = fileURLToPath(import.meta.url);
  const h = createHash('sha256');
  if (!self.endsWith('.ts')) {
    h.update(await readFile(join(dirname(self), 'build-worker.mjs')));
    return h.digest('hex');
  }
  // From sources: the modules worker.ts imports, followed through relative imports.
  const seen = new Set<string>();
  const visit = async (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = await readFile(file, 'utf8');
    h.update(text);
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+\.ts)'/g)) await visit(resolve(dirname(file), m[1]!));
  };
  await visit(join(dirname(self), 'worker.ts'));
  return h.digest('hex');
}

export interface BuildOptions {
  specsDir: string;
  stageDir: string;
  cacheDir?: string | undefined;
  projectRoot: string;
  /** Recipes to build (plus their buildRequires); default all. */
  only?: string[] | undefined;
  /** Re-pin every Debian input to the mirror's newest version. */
  updateLock?: boolean | undefined;
  jobs?: number | undefined;
  keyFile?: string | undefined;
  keyDir?: string | undefined;
  /** RPM architecture; the Debian one is derived. */
  arch?: string | undefined;
  log?: ((line: string) => void) | undefined;
}

export interface RecipeOutcome {
  recipe: string;
  status: 'built' | 'reused' | 'failed';
  rpms: BuiltRpm[];
  seconds: number;
  error?: string;
}

export interface BuildSummary {
  outcomes: RecipeOutcome[];
  packages: number;
  totalSize: number;
  seconds: number;
  unmet: { pkg: string; requirement: string }[];
  published: boolean;
}

export function defaultCacheDir(): string {
  return process.env['PHOTON_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'photon');
}

/** Recipes in an order where each comes after its buildRequires; a cycle is an error. */
export function buildOrder(recipes: readonly Recipe[], wanted: readonly string[]): Recipe[] {
  const byName = new Map(recipes.map((r) => [r.name, r]));
  const out: Recipe[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[], from: Recipe | undefined) => {
    const r = byName.get(name);
    if (!r) {
      if (from) throw new PhotonError('E_RECIPE', `buildRequires: no recipe '${name}'`, { file: from.file });
      throw new PhotonError('E_USAGE', `no recipe '${name}' under SPECS`);
    }
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting') throw new PhotonError('E_RECIPE', `buildRequires cycle: ${[...path, name].join(' → ')}`, { file: r.file });
    state.set(name, 'visiting');
    for (const dep of r.buildRequires) visit(dep, [...path, name], r);
    state.set(name, 'done');
    out.push(r);
  };
  for (const name of wanted) visit(name, [], undefined);
  return out;
}

async function hashTree(dir: string, h: ReturnType<typeof createHash>): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    return;
  }
  for (const n of names) {
    const p = join(dir, n);
    const st = await lstat(p);
    h.update(`${n}\0${st.mode}\0`);
    if (st.isDirectory()) await hashTree(p, h);
    else if (st.isFile()) h.update(await readFile(p));
  }
}

/** The newest mtime of the sources esbuild made `bundle` from (scripts/bundle.mjs records them). */
async function newestInput(projectRoot: string, bundle: string): Promise<number> {
  const inputs = JSON.parse(await readFile(join(projectRoot, 'dist', 'inputs.json'), 'utf8').catch(() => '{}')) as Record<string, string[]>;
  let t = 0;
  for (const f of inputs[bundle] ?? []) t = Math.max(t, (await stat(join(projectRoot, f)).catch(() => undefined))?.mtimeMs ?? 0);
  return t;
}

async function recipeHash(r: Recipe, pins: LockEntry[], common: string, deps: string[], projectRoot: string): Promise<string> {
  const h = createHash('sha256');
  h.update(common);
  await hashTree(r.dir, h);
  for (const p of pins) h.update(`${p.sha256}\0`);
  for (const p of r.project) {
    const file = join(projectRoot, p.from);
    const st = await stat(file).catch(() => undefined);
    if (!st) throw new PhotonError('E_RECIPE', `project: ${p.from} does not exist (run npm run build first)`, { file: r.file });
    // A bundle older than the sources it is made from would ship stale code without a word.
    if (p.from.startsWith('dist/') && st.mtimeMs < (await newestInput(projectRoot, p.from))) {
      throw new PhotonError('E_RECIPE', `project: ${p.from} is older than its sources (run npm run build first)`, { file: r.file });
    }
    h.update(await readFile(file));
  }
  for (const d of deps) h.update(`${d}\0`);
  return h.digest('hex').slice(0, 32);
}

/** Pins for every Debian package the recipes name; new names are pinned, old pins move only with updateLock. */
async function pinInputs(recipes: readonly Recipe[], specsDir: string, dist: Distribution, debArch: string, updateLock: boolean, log: (l: string) => void): Promise<Lock> {
  const lock = await readLock(specsDir, dist.debianSuite);
  const pins = (lock.packages[debArch] ??= {});
  const wanted = [...new Set(recipes.flatMap((r) => r.debian))].sort();
  const toResolve = updateLock ? wanted : wanted.filter((n) => !pins[n]);
  if (toResolve.length === 0) return lock;
  log(`pinning ${toResolve.length} Debian package${toResolve.length > 1 ? 's' : ''} in ${LOCK_FILE}`);
  const found = await resolveFromApt(toResolve, debArch);
  for (const name of toResolve) {
    const e = found.get(name);
    if (!e) {
      const r = recipes.find((x) => x.debian.includes(name))!;
      throw new PhotonError('E_RECIPE', `debian: no Debian package '${name}' in ${dist.debianSuite} for ${debArch} (apt-cache show ${name})`, { file: r.file });
    }
    pins[name] = e;
  }
  await writeLock(specsDir, lock);
  return lock;
}

interface StageState {
  /** recipe → its hash and RPMs (relative to the stage's RPMS/). */
  recipes: Record<string, { hash: string; rpms: BuiltRpm[] }>;
}

const STATE_FILE = '.photon-build.json';

async function readState(stageDir: string): Promise<StageState> {
  try {
    return JSON.parse(await readFile(join(stageDir, STATE_FILE), 'utf8')) as StageState;
  } catch {
    return { recipes: {} };
  }
}

/** Runs jobs on a pool of worker threads; `run` resolves when the job's worker replies. */
class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly waiting: ((w: Worker) => void)[] = [];
  private readonly all: Worker[] = [];

  constructor(size: number) {
    const self = import.meta.url;
    for (let i = 0; i < size; i++) {
      // In the bundle the worker is its own file beside it. From sources, a worker thread does
      // not inherit tsx's loader, so a small bootstrap registers it before loading worker.ts.
      const w = self.endsWith('.ts')
        ? new Worker(
            `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(new URL('./worker.ts', self).href)}); });`,
            { eval: true },
          )
        : new Worker(new URL('./build-worker.mjs', self));
      w.unref();
      this.all.push(w);
      this.idle.push(w);
    }
  }

  async run(job: RecipeJob): Promise<BuiltRpm[]> {
    const w = this.idle.pop() ?? (await new Promise<Worker>((res) => this.waiting.push(res)));
    try {
      const reply = await new Promise<WorkerReply>((res, rej) => {
        const onMessage = (m: WorkerReply) => {
          w.off('error', onError);
          res(m);
        };
        const onError = (e: Error) => {
          w.off('message', onMessage);
          rej(e);
        };
        w.once('message', onMessage);
        w.once('error', onError);
        w.postMessage(job);
      });
      if (!reply.ok) throw new PhotonError('E_BUILD', reply.error, { file: reply.file });
      return reply.rpms;
    } finally {
      const next = this.waiting.shift();
      if (next) next(w);
      else this.idle.push(w);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

export async function build(options: BuildOptions): Promise<BuildSummary> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const specsDir = resolve(options.specsDir);
  const stageDir = resolve(options.stageDir);
  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
  const arch = (options.arch ?? 'x86_64') as Arch;
  if (!ARCHES.includes(arch)) throw new PhotonError('E_USAGE', `unsupported architecture '${arch}' (${ARCHES.join(', ')})`);
  const debArch = archMacros(arch).debian_arch;

  const dist = await loadDistribution(specsDir);
  const distText = await readFile(join(specsDir, 'distribution.yaml'), 'utf8');
  const recipes = await loadRecipes(specsDir, arch);
  const names = new Set<string>();
  for (const r of recipes) {
    for (const n of [r.name, ...r.subpackages.map((s) => s.name)]) {
      if (names.has(n)) throw new PhotonError('E_RECIPE', `package name '${n}' is made by two recipes`, { file: r.file });
      names.add(n);
    }
  }
  const whole = options.only === undefined || options.only.length === 0;
  const order = buildOrder(recipes, whole ? recipes.map((r) => r.name) : options.only!);
  const lock = await pinInputs(order, specsDir, dist, debArch, options.updateLock ?? false, log);
  const pins = lock.packages[debArch]!;
  const key = await loadSigningKey({ keyFile: options.keyFile, keyDir: options.keyDir, log });

  // Input hashes, in build order so that a recipe's hash covers its buildRequires' hashes.
  const hashes = new Map<string, string>();
  // The architecture too: a recipe without Debian inputs reads the same for both.
  const common = `${await converterFingerprint()}\0${distText}\0${key.fingerprint}\0${arch}\0`;
  for (const r of order) {
    const deps = r.buildRequires.map((d) => hashes.get(d)!);
    hashes.set(r.name, await recipeHash(r, r.debian.map((n) => pins[n]!), common, deps, options.projectRoot));
  }
  const outDirOf = (r: Recipe) => join(cacheDir, 'build', `${r.name}-${hashes.get(r.name)}`);
  const manifestOf = (r: Recipe) => join(outDirOf(r), 'manifest.json');

  const outcomes = new Map<string, RecipeOutcome>();
  const todo: Recipe[] = [];
  for (const r of order) {
    const m = await readFile(manifestOf(r), 'utf8').then((t) => JSON.parse(t) as BuiltRpm[], () => undefined);
    if (m) outcomes.set(r.name, { recipe: r.name, status: 'reused', rpms: m, seconds: 0 });
    else todo.push(r);
  }

  const debPaths = await fetchDebs(new Map(todo.flatMap((r) => r.debian.map((n) => [n, pins[n]!] as const))), { cacheDir, log });

  const jobs = Math.max(1, Math.min(options.jobs ?? cpus().length, todo.length));
  const pool = todo.length > 1 && jobs > 1 ? new WorkerPool(jobs) : undefined;
  const total = order.length;
  let finished = outcomes.size;
  for (const o of outcomes.values()) log(`[${String(o.recipe)}] reused`);
  const running = new Map<string, Promise<void>>();
  const buildOne = (r: Recipe): Promise<void> => {
    let p = running.get(r.name);
    if (p) return p;
    p = (async () => {
      for (const d of r.buildRequires) if (todo.some((t) => t.name === d)) await buildOne(todo.find((t) => t.name === d)!);
      const failedDep = r.buildRequires.find((d) => outcomes.get(d)?.status === 'failed');
      const t0 = Date.now();
      if (failedDep) {
        outcomes.set(r.name, { recipe: r.name, status: 'failed', rpms: [], seconds: 0, error: `buildRequires ${failedDep} failed` });
        return;
      }
      const outDir = outDirOf(r);
      const tmpOut = `${outDir}.tmp-${process.pid}`;
      await rm(tmpOut, { recursive: true, force: true });
      const job: RecipeJob = {
        recipeDir: r.dir,
        dist,
        debs: r.debian.map((n) => ({ name: n, pin: pins[n]!, path: debPaths.get(n)! })),
        projectRoot: options.projectRoot,
        arch,
        publicKey: key.publicArmored,
        secretKey: key.secretArmored,
        outDir: tmpOut,
      };
      try {
        const rpms = pool ? await pool.run(job) : await buildRecipe(job);
        await writeFile(join(tmpOut, 'manifest.json'), JSON.stringify(rpms));
        await rm(outDir, { recursive: true, force: true });
        await rename(tmpOut, outDir);
        const seconds = (Date.now() - t0) / 1000;
        outcomes.set(r.name, { recipe: r.name, status: 'built', rpms, seconds });
        const size = rpms.reduce((a, x) => a + x.size, 0);
        log(`[${++finished}/${total}] ${r.name}: built ${rpms.length} rpm${rpms.length > 1 ? 's' : ''}, ${(size / 1048576).toFixed(1)} MiB in ${seconds.toFixed(1)} s`);
      } catch (e) {
        await rm(tmpOut, { recursive: true, force: true });
        const err = e instanceof PhotonError ? e.describe() : String((e as Error)?.stack ?? e);
        outcomes.set(r.name, { recipe: r.name, status: 'failed', rpms: [], seconds: (Date.now() - t0) / 1000, error: err });
        log(`[${++finished}/${total}] ${r.name}: FAILED: ${err}`);
      }
    })();
    running.set(r.name, p);
    return p;
  };
  try {
    // Biggest inputs first, so the long kernel builds overlap the many small ones.
    const bySize = [...todo].sort((a, b) => sizeOf(b, pins) - sizeOf(a, pins));
    await Promise.all(bySize.map(buildOne));
  } finally {
    await pool?.close();
  }

  const list = order.map((r) => outcomes.get(r.name)!);
  const failed = list.filter((o) => o.status === 'failed');
  const summary: BuildSummary = { outcomes: list, packages: 0, totalSize: 0, seconds: 0, unmet: [], published: false };
  if (failed.length) {
    summary.seconds = (Date.now() - started) / 1000;
    return summary;
  }

  // The new stage: this build's outputs plus, for a partial build, what the stage had for the rest.
  const old = await readState(stageDir);
  const state: StageState = { recipes: {} };
  for (const r of recipes) {
    const o = outcomes.get(r.name);
    if (o) state.recipes[r.name] = { hash: hashes.get(r.name)!, rpms: o.rpms };
    else if (old.recipes[r.name]) state.recipes[r.name] = old.recipes[r.name]!;
  }
  const facts: PackageFacts[] = Object.values(state.recipes).flatMap((s) => s.rpms.map((x) => x.facts));
  summary.unmet = unmetRequirements(facts);
  const complete = recipes.every((r) => state.recipes[r.name]);
  summary.packages = facts.length;
  summary.totalSize = Object.values(state.recipes).reduce((a, s) => a + s.rpms.reduce((b, x) => b + x.size, 0), 0);
  if (summary.unmet.length && complete) {
    summary.seconds = (Date.now() - started) / 1000;
    return summary;
  }

  const newStage = `${stageDir}.new-${process.pid}`;
  await rm(newStage, { recursive: true, force: true });
  await mkdir(join(newStage, 'RPMS'), { recursive: true });
  for (const [name, s] of Object.entries(state.recipes)) {
    const fromCache = outcomes.has(name) ? join(cacheDir, 'build', `${name}-${hashes.get(name)}`) : join(stageDir, 'RPMS');
    for (const rpm of s.rpms) {
      const dest = join(newStage, 'RPMS', rpm.file);
      await mkdir(join(dest, '..'), { recursive: true });
      const src = join(fromCache, rpm.file);
      // A hard link where the cache and stage share a filesystem; a copy otherwise.
      await link(src, dest).catch(async () => writeFile(dest, await readFile(src)));
    }
  }
  await createrepo(newStage, { signKey: key.secret });
  await writeFile(join(newStage, 'RPM-GPG-KEY-photon'), key.publicArmored);
  await writeFileAtomic(join(newStage, STATE_FILE), JSON.stringify(state));
  const previous = `${stageDir}.old-${process.pid}`;
  const had = await exists(stageDir);
  if (had) await rename(stageDir, previous);
  await rename(newStage, stageDir);
  if (had) await rm(previous, { recursive: true, force: true });
  summary.published = true;
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}

function sizeOf(r: Recipe, pins: Record<string, LockEntry>): number {
  return r.debian.reduce((a, n) => a + (pins[n]?.size ?? 0), 0);
}
