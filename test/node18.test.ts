/**
 * The tools that run inside images run on Debian 12's Node.js 18, bundled (no node_modules).
 * This drives the esbuild bundles under Node 18.20.4 through a whole cycle — pack, sign,
 * createrepo, install, query, erase, then tdnf install/erase — checking each step with Debian's
 * own tools.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../src/util/run.ts';
import { gpg, makeGpgKey, type GpgKey } from './kit/gpg.ts';
import { hostRpm } from './kit/rpmbuild.ts';
import { cleanup, tempDir } from './kit/tmp.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
let node18: string;
let work: string;
let key: GpgKey;

const photon18 = (args: string[]) => run(node18, [join(repo, 'dist/photon.mjs'), ...args], { cwd: repo });
const lines = (b: Buffer) => b.toString().trim().split('\n').filter(Boolean).sort();

before(async () => {
  node18 = (await run('bash', [join(repo, 'scripts/node18.sh')])).stdout.toString().trim();
  assert.match((await run(node18, ['--version'])).stdout.toString(), /^v18\./);
  await run(process.execPath, [join(repo, 'scripts/bundle.mjs')], { cwd: repo });
  work = await tempDir('node18');
  key = await makeGpgKey(work, 'node18', { algo: 'ed25519' });
});

after(async () => {
  await cleanup(work);
});

async function packExample(name: string, out: string): Promise<void> {
  const args = (await readFile(join(repo, 'examples', name, 'pack.args'), 'utf8')).split('\n').filter(Boolean);
  await photon18(['rpm', 'pack', '-C', join(repo, 'examples', name, 'root'), '-o', out, ...args]);
}

test('pack, sign, createrepo, install, query and erase under Node 18 from the bundle', async () => {
  const rpms = join(work, 'repo', 'RPMS');
  await run('mkdir', ['-p', rpms]);
  const files = [join(rpms, 'photon-release.rpm'), join(rpms, 'photon-hello.rpm')];
  await packExample('photon-release', files[0]!);
  await packExample('photon-hello', files[1]!);

  // Debian's rpm names the packages as our query does, and accepts our digests and signatures.
  for (const f of files) {
    assert.equal((await photon18(['rpm', 'query', '-p', f])).stdout.toString(), (await run('rpm', ['-qp', f])).stdout.toString());
  }
  await photon18(['rpm', 'sign', '--key', key.secretFile, ...files]);
  const keydb = join(work, 'keydb');
  await run('rpm', ['--dbpath', keydb, '--import', key.publicFile]);
  const k = await run('rpm', ['--dbpath', keydb, '-K', ...files]);
  assert.equal(lines(k.stdout).filter((l) => l.endsWith('digests signatures OK')).length, 2, k.stdout.toString());

  // Repository metadata, signed; gpg checks the signature.
  await photon18(['createrepo', '-q', '--sign-key', key.secretFile, join(work, 'repo')]);
  const repodata = join(work, 'repo', 'repodata');
  assert.ok((await readdir(repodata)).some((f) => f.endsWith('-primary.xml.gz')));
  await gpg(key.home, ['--verify', join(repodata, 'repomd.xml.asc'), join(repodata, 'repomd.xml')]);

  // Install into a fresh root: rpm reads our rpmdb, verifies the files, and agrees with our query.
  const root = join(work, 'root');
  await photon18(['rpm', 'install', '--root', root, ...files]);
  assert.deepEqual(lines((await hostRpm(root, ['-qa'])).stdout), ['photon-hello-1.0-1.ph5.noarch', 'photon-release-5.0-1.ph5.noarch']);
  const verify = await hostRpm(root, ['-Va']);
  assert.equal(verify.stdout.toString(), '', 'rpm -Va reports no differences');
  assert.deepEqual(lines((await photon18(['rpm', 'query', '--root', root, '-a'])).stdout), lines((await hostRpm(root, ['-qa'])).stdout));
  assert.equal(await readFile(join(root, 'usr/share/photon-hello/greeting'), 'utf8'), 'Hello from Photon OS\n');

  await photon18(['rpm', 'erase', '--root', root, 'photon-hello']);
  assert.deepEqual(lines((await hostRpm(root, ['-qa'])).stdout), ['photon-release-5.0-1.ph5.noarch']);

  // tdnf from its bundle: resolve, import the repo's key after -y, verify signatures, install,
  // record history, erase — into a fresh root whose rpmdb Debian's rpm then reads.
  const troot = join(work, 'troot');
  await run('mkdir', ['-p', join(troot, 'etc/tdnf'), join(troot, 'etc/yum.repos.d')]);
  await writeFile(join(troot, 'etc/tdnf/tdnf.conf'), '[main]\ngpgcheck=1\n');
  await writeFile(join(troot, 'etc/yum.repos.d/demo.repo'),
    `[demo]\nname=Demo\nbaseurl=file://${join(work, 'repo')}\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=file://${key.publicFile}\n`);
  const tdnf18 = (args: string[]) => run(node18, [join(repo, 'dist/tdnf.mjs'), '--installroot', troot, ...args], { cwd: repo });
  const inst = await tdnf18(['-y', 'install', 'photon-hello']);
  assert.match(inst.stdout.toString(), /Complete!/);
  const packages = async () => lines((await hostRpm(troot, ['-qa'])).stdout).filter((l) => !l.startsWith('gpg-pubkey'));
  assert.deepEqual(await packages(), ['photon-hello-1.0-1.ph5.noarch', 'photon-release-5.0-1.ph5.noarch']);
  const hist = JSON.parse((await tdnf18(['-j', 'history', 'list'])).stdout.toString()) as Array<{ CmdLine: string; AddedCount: number }>;
  assert.equal(hist.at(-1)?.CmdLine, 'install photon-hello');
  // The two packages, and the key imported into the rpmdb as gpg-pubkey during the transaction.
  assert.equal(hist.at(-1)?.AddedCount, 3);
  await tdnf18(['-y', 'erase', 'photon-hello']);
  assert.deepEqual(await packages(), ['photon-release-5.0-1.ph5.noarch']);
});

test("tdnf's code cache under Node 18: written after a run, used by the next, a damaged one refused and rewritten", async () => {
  const cache = join(work, 'tdnf.v8cache');
  const tdnf = (args: string[]) => run(node18, [join(repo, 'dist/tdnf.mjs'), ...args], { cwd: repo, env: { ...process.env, TDNF_CODE_CACHE: cache } });
  const plain = (await run(node18, [join(repo, 'dist/tdnf.mjs'), '--help'], { cwd: repo })).stdout.toString();
  assert.match(plain, /^Usage: tdnf/m);
  assert.equal((await tdnf(['--help'])).stdout.toString(), plain);
  const first = await readFile(cache);
  assert.ok(first.length > 10_000, `a code cache of ${first.length} bytes`);
  // Accepted: the next run leaves the file as it is (a rejected one would be written again).
  const before = (await stat(cache)).mtimeMs;
  assert.equal((await tdnf(['--help'])).stdout.toString(), plain);
  assert.equal((await stat(cache)).mtimeMs, before);
  // A damaged payload: V8's checksum refuses it, the run is the same, and the file is rewritten.
  const bad = Buffer.from(first);
  bad.fill(0xa5, bad.length >> 1, (bad.length >> 1) + 64);
  await writeFile(cache, bad);
  assert.equal((await tdnf(['--help'])).stdout.toString(), plain);
  const after = await readFile(cache);
  assert.ok(!after.subarray(after.length >> 1, (after.length >> 1) + 64).equals(Buffer.alloc(64, 0xa5)), 'the damaged cache was rewritten');
  // Not writable (a directory in its place): tdnf still runs, without a cache.
  await rm(cache);
  await mkdir(cache);
  assert.equal((await tdnf(['--help'])).stdout.toString(), plain);
});
