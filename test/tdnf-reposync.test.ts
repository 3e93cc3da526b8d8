/**
 * `tdnf reposync` against a repository built by rpmbuild + createrepo_c, served over HTTP on
 * 127.0.0.1 (port 0) by a small server in this file, and by file://.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { tdnf } from '../src/cli/tdnf.ts';
import { run } from '../src/util/run.ts';
import { buildRpm } from './kit/rpmbuild.ts';
import { type LoopbackServer, serveLoopback } from './kit/http.ts';
import { cleanup, tempDir } from './kit/tmp.ts';

let work: string;
let srv: string;
let root: string;
let web: LoopbackServer;
let base: string;
/** Paths of .rpm files the server has sent. */
const served: string[] = [];

before(async () => {
  work = await tempDir('tdnf-reposync');
  srv = join(work, 'srv');
  const build = join(work, 'build');
  await mkdir(build, { recursive: true });
  const place = async (rpm: string, arch: string): Promise<void> => {
    const dir = join(srv, 'RPMS', arch);
    await mkdir(dir, { recursive: true });
    await copyFile(rpm, join(dir, rpm.split('/').at(-1)!));
  };
  await place(await buildRpm(build, { name: 'alpha', version: '1.0' }), 'noarch');
  await place(await buildRpm(build, { name: 'alpha', version: '2.0' }), 'noarch');
  await place(await buildRpm(build, { name: 'beta', arch: 'x86_64' }), 'x86_64');
  await run('createrepo_c', ['--quiet', srv]);

  web = await serveLoopback((req, res) => {
    const rel = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^\/+/, '');
    const file = join(srv, rel);
    if (rel.startsWith('..') || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    if (rel.endsWith('.rpm')) served.push(rel);
    res.writeHead(200);
    createReadStream(file).pipe(res);
  });
  base = web.base;

  root = join(work, 'root');
  await mkdir(join(root, 'etc/tdnf'), { recursive: true });
  await mkdir(join(root, 'etc/yum.repos.d'), { recursive: true });
  await writeFile(join(root, 'etc/tdnf/tdnf.conf'), '[main]\ngpgcheck=0\n');
  await writeFile(join(root, 'etc/yum.repos.d/test.repo'),
    `[web]\nname=Web repo\nbaseurl=${base}/\nenabled=1\ngpgcheck=0\n\n[local]\nname=Local repo\nbaseurl=file://${srv}\nenabled=0\ngpgcheck=0\n`);
});

after(async () => {
  await web.close();
  await cleanup(work);
});

async function sync(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await tdnf(['--installroot', root, ...args], {}, { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } });
  return { code, out, err };
}

async function rpmsIn(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.rpm')).map((f) => f.split('\\').join('/')).sort();
}

const ALL = ['RPMS/noarch/alpha-1.0-1.noarch.rpm', 'RPMS/noarch/alpha-2.0-1.noarch.rpm', 'RPMS/x86_64/beta-1.0-1.x86_64.rpm'];

test('sync over HTTP mirrors the repo layout under <download-path>/<repoid>; a re-sync downloads nothing', async () => {
  const d = join(work, 'd1');
  served.length = 0;
  const r = await sync('--download-path', d, 'reposync');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(await rpmsIn(join(d, 'web')), ALL);
  assert.deepEqual(served.sort(), ALL);
  assert.match(r.out, /alpha-2\.0-1\.noarch\.rpm +\d+ 100%/);

  served.length = 0;
  const again = await sync('--download-path', d, 'reposync');
  assert.equal(again.code, 0, again.err);
  assert.deepEqual(served, [], 'files present with the right checksum are not fetched again');
  assert.doesNotMatch(again.out, /100%/);

  // A damaged copy is fetched again, and only that one.
  await writeFile(join(d, 'web', ALL[0]!), 'not an rpm');
  served.length = 0;
  assert.equal((await sync('--download-path', d, 'reposync')).code, 0);
  assert.deepEqual(served, [ALL[0]]);
  assert.ok((await stat(join(d, 'web', ALL[0]!))).size > 100);
});

test('--delete removes stray rpms from the repo folder, other files stay; without it strays stay', async () => {
  const d = join(work, 'd2');
  await mkdir(join(d, 'web', 'RPMS', 'noarch'), { recursive: true });
  await writeFile(join(d, 'web', 'faked-0.1.2.rpm'), 'fake package');
  await writeFile(join(d, 'web', 'RPMS', 'noarch', 'old-1-1.noarch.rpm'), 'old');
  await writeFile(join(d, 'web', 'README'), 'keep me');
  const keep = await sync('--download-path', d, 'reposync');
  assert.equal(keep.code, 0, keep.err);
  assert.ok(existsSync(join(d, 'web', 'faked-0.1.2.rpm')));
  const r = await sync('--download-path', d, '--delete', 'reposync');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(await rpmsIn(join(d, 'web')), ALL);
  assert.ok(existsSync(join(d, 'web', 'README')));
  assert.match(r.out, /^deleting .*faked-0\.1\.2\.rpm$/m);
});

test('--newest-only keeps the newest EVR of each name.arch', async () => {
  const d = join(work, 'd3');
  const r = await sync('--download-path', d, '--newest-only', 'reposync');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(await rpmsIn(join(d, 'web')), [ALL[1], ALL[2]]);
});

test('--urls prints the package URLs and downloads nothing', async () => {
  const d = join(work, 'd4');
  const r = await sync('--download-path', d, '--urls', 'reposync');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.out.trim().split('\n').filter((l) => l.startsWith('http')).sort(), ALL.map((p) => `${base}/${p}`));
  assert.ok(!existsSync(join(d, 'web')));
});

test('--download-metadata copies repodata (to --metadata-path when given); the copy is a usable repo', async () => {
  const d = join(work, 'd5');
  const m = join(work, 'm5');
  const r = await sync('--download-path', d, '--download-metadata', '--metadata-path', m, 'reposync');
  assert.equal(r.code, 0, r.err);
  const want = (await readdir(join(srv, 'repodata'))).sort();
  assert.deepEqual((await readdir(join(m, 'web', 'repodata'))).sort(), want);
  const r2 = await sync('--download-path', d, '--download-metadata', 'reposync');
  assert.equal(r2.code, 0, r2.err);
  assert.deepEqual((await readdir(join(d, 'web', 'repodata'))).sort(), want);
  // The synced folder serves as a repository for tdnf.
  const list = await sync('--repofrompath', `synced,${join(d, 'web')}`, '--repo', 'synced', '-j', 'list', 'available');
  assert.equal(list.code, 0, list.err);
  assert.deepEqual(JSON.parse(list.out.slice(list.out.indexOf('['))).map((p: { Name: string }) => p.Name).sort(), ['alpha', 'alpha', 'beta']);
});

test('--arch keeps only the given architectures (repeatable; unknown ones are harmless)', async () => {
  const d = join(work, 'd6');
  const r = await sync('--download-path', d, '--arch', 'x86_64', '--arch', 'baroque', 'reposync');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(await rpmsIn(join(d, 'web')), [ALL[2]]);
  assert.ok(!existsSync(join(d, 'web', 'RPMS', 'noarch')));
});

test('file:// repo, --norepopath puts packages straight under the download path', async () => {
  const d = join(work, 'd7');
  const r = await sync('--repo', 'local', '--download-path', d, '--norepopath', 'reposync');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(await rpmsIn(d), ALL);
  assert.ok(!existsSync(join(d, 'local')));
});

test('--norepopath refuses --delete and several repos (1622)', async () => {
  const d = join(work, 'd8');
  const del = await sync('--download-path', d, '--norepopath', '--delete', 'reposync');
  assert.equal(del.code, 1622 % 256);
  assert.match(del.err, /cannot use the delete option with norepopath\nError\(1622\) : /);
  const many = await sync('--enablerepo', 'local', '--download-path', d, '--norepopath', 'reposync');
  assert.equal(many.code, 1622 % 256);
  assert.match(many.err, /cannot use norepopath with multiple repos/);
  await rm(d, { recursive: true, force: true });
});
