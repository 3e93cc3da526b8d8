/**
 * The whole package set, built once per machine state for the tests that need it (the
 * distribution acceptance test, the image builder's boot tests): `photon build` of SPECS/ into
 * a stage under the cache, with a test signing key. Test files run in parallel processes, so a
 * directory lock makes the second wait for the first; after that, builds are cache hits.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BuildSummary, build, defaultCacheDir } from '../../src/build/build.ts';
import { processAlive, processStartTime } from '../../src/util/proc.ts';
import { run } from '../../src/util/run.ts';
import { makeGpgKey } from './gpg.ts';

export interface TestStage {
  stage: string;
  keyFile: string;
  summary: BuildSummary;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withLock<T>(lock: string, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), `${process.pid} ${processStartTime(process.pid)}`);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const [pid, start] = (await readFile(join(lock, 'pid'), 'utf8').catch(() => '')).split(' ');
      // A lock left by a test run that was killed is taken over.
      if (pid && start !== undefined && !processAlive(Number(pid), start)) await rm(lock, { recursive: true, force: true });
      else await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** The test stage of `arch` (x86_64: ./stage's twin; aarch64: the same recipes for arm64). */
export async function testStage(arch: 'x86_64' | 'aarch64' = 'x86_64'): Promise<TestStage> {
  const base = join(defaultCacheDir(), 'test-stage');
  await mkdir(base, { recursive: true });
  // One signing key for both architectures' stages, made once.
  const keyFile = await withLock(join(base, '.lock-key'), async () => {
    const keyDir = join(base, 'key');
    const file = join(keyDir, 'build.sec.asc');
    if (await stat(file).then(() => true, () => false)) return file;
    await rm(keyDir, { recursive: true, force: true });
    await mkdir(keyDir, { recursive: true });
    return (await makeGpgKey(keyDir, 'build')).secretFile;
  });
  return withLock(join(base, `.lock-${arch}`), async () => {
    const stage = join(base, arch === 'x86_64' ? 'stage' : `stage-${arch}`);
    const summary = await build({ specsDir: 'SPECS', stageDir: stage, projectRoot: process.cwd(), keyFile, arch, log: (l) => process.stderr.write(`# ${l}\n`) });
    if (!summary.published) {
      const why = [...summary.outcomes.filter((o) => o.error).map((o) => `${o.recipe}: ${o.error}`), ...summary.unmet.map((u) => `${u.pkg} requires ${u.requirement}`)];
      throw new Error(`photon build of SPECS failed:\n${why.join('\n')}`);
    }
    return { stage, keyFile, summary };
  });
}

/** Installs `packages` from the test stage into `into` with our tdnf, as an image build would. */
export async function installRoot(into: string, packages: string[]): Promise<void> {
  const { stage } = await testStage();
  await mkdir(join(into, 'etc/yum.repos.d'), { recursive: true });
  await mkdir(join(into, 'etc/tdnf'), { recursive: true });
  await writeFile(join(into, 'etc/tdnf/tdnf.conf'), '[main]\ngpgcheck=1\n');
  await writeFile(
    join(into, 'etc/yum.repos.d/photon.repo'),
    `[photon]\nname=Photon\nbaseurl=file://${stage}\nenabled=1\ngpgcheck=1\ngpgkey=file://${stage}/RPM-GPG-KEY-photon\n`,
  );
  const t = await run('node', ['bin/tdnf.js', '--installroot', into, '-y', '-q', 'install', ...packages], { allowFailure: true });
  assert.equal(t.status, 0, t.stderr.toString() + t.stdout.toString().slice(-3000));
}
