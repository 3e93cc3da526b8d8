/** `tdnf repolist`, `makecache` and `clean` through the CLI: tdnf's text, JSON and error codes, and the cache on disk. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createrepo } from '../src/repo/createrepo.ts';
import { run } from '../src/util/run.ts';
import { buildRpm } from './kit/rpmbuild.ts';
import { cleanup, tempDir } from './kit/tmp.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
let work: string;
let root: string;
let base: string[];

before(async () => {
  work = await tempDir('tdnf-repocmd');
  const rpms = join(work, 'repo');
  await mkdir(rpms, { recursive: true });
  await buildRpm(rpms, { name: 'alpha' });
  await createrepo(rpms);
  root = join(work, 'root');
  await mkdir(join(root, 'etc/tdnf'), { recursive: true });
  await mkdir(join(root, 'etc/yum.repos.d'), { recursive: true });
  await writeFile(join(root, 'etc/tdnf/tdnf.conf'), '[main]\ngpgcheck=0\n');
  await writeFile(join(root, 'etc/yum.repos.d/local.repo'), `[local]\nname=Local packages\nbaseurl=file://${rpms}\nenabled=1\n\n[off]\nname=Disabled one\nbaseurl=file:///nonexistent\nenabled=0\n`);
  base = ['--import', 'tsx', join(repo, 'src/cli/tdnf.ts'), '--installroot', root];
});

after(() => cleanup(work));

const tdnf = (args: string[]) => run(process.execPath, [...base, ...args], { cwd: repo, allowFailure: true });

test('repolist: tdnf\'s columns and JSON, filters', async () => {
  const row = (a: string, b: string, c: string) => `${a.padEnd(20)}${b.padEnd(40)}${c.padEnd(10)}\n`;
  assert.equal((await tdnf(['repolist'])).stdout.toString(), row('repo id', 'repo name', 'status') + row('local', 'Local packages', 'enabled'));
  assert.equal((await tdnf(['repolist', 'disabled'])).stdout.toString(), row('repo id', 'repo name', 'status') + row('off', 'Disabled one', 'disabled'));
  assert.deepEqual(JSON.parse((await tdnf(['-j', 'repolist', 'all'])).stdout.toString()), [
    { Repo: 'local', RepoName: 'Local packages', Enabled: true }, { Repo: 'off', RepoName: 'Disabled one', Enabled: false },
  ]);
});

test('makecache fills the cache tdnf\'s way; -C then works from it; clean all empties it', async () => {
  const m = await tdnf(['makecache']);
  assert.equal(m.status, 0, m.stderr.toString());
  assert.equal(m.stdout.toString(), "Refreshing metadata for: 'Local packages'\nMetadata cache created.\n");
  const cachedir = join(root, 'var/cache/tdnf');
  const [dir] = (await readdir(cachedir)).filter((d) => d.startsWith('local-'));
  assert.match(dir ?? '', /^local-[0-9a-f]{8}$/);
  assert.ok(existsSync(join(cachedir, dir!, 'repodata', 'repomd.xml')));
  assert.ok(existsSync(join(cachedir, dir!, 'lastrefresh')));
  const list = await tdnf(['-C', '-j', 'list', 'available']);
  assert.deepEqual(JSON.parse(list.stdout.toString()).map((p: { Name: string }) => p.Name), ['alpha']);
  const c = await tdnf(['clean', 'all']);
  assert.equal(c.status, 0, c.stderr.toString());
  assert.ok(!existsSync(join(cachedir, dir!)));
  const cached = await tdnf(['-C', 'list', 'available']);
  assert.notEqual(cached.status, 0, 'no cache left for -C');
});

test('clean without a type is 903, an unknown type 1016', async () => {
  const none = await tdnf(['clean']);
  assert.equal(none.status, 903 % 256);
  assert.match(none.stderr.toString(), /^Error\(903\) : /);
  const bad = await tdnf(['clean', 'everything']);
  assert.equal(bad.status, 1016 % 256);
  assert.match(bad.stderr.toString(), /^Error\(1016\) : Clean type specified is not supported/);
});
