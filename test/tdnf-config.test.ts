/** `tdnf-config`: each action, comments and order kept, the C tool's exit codes, key checks. */
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tdnfConfig } from '../src/cli/tdnf-config.ts';
import { run } from '../src/util/run.ts';
import { cleanup, tempDir } from './kit/tmp.ts';

let dir: string;
let conf: string;
const REPO = '# Photon repo\n[photon]\nname=Photon\n# the mirrors\nbaseurl=http://a/\n  http://b/\nenabled=1\n\n[photon-debug]\nname=Debug\nenabled=0\n';

beforeEach(async () => {
  dir = await tempDir('tdnf-config');
  await mkdir(join(dir, 'repos'));
  conf = join(dir, 'tdnf.conf');
  await writeFile(conf, `# tdnf settings\n[main]\ngpgcheck=1\n; where repos are\nrepodir=${dir}/repos\n`);
  await writeFile(join(dir, 'repos', 'photon.repo'), REPO);
});

async function tc(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await tdnfConfig(['-c', conf, ...argv], { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } });
  return { code, out, err };
}
const repoText = () => readFile(join(dir, 'repos', 'photon.repo'), 'utf8');

test('get: main and repo keys; 3 for no repo, 4 for no key', async () => {
  assert.deepEqual(await tc('get', 'main', 'gpgcheck'), { code: 0, out: '1\n', err: '' });
  assert.deepEqual(await tc('get', 'photon-debug', 'name'), { code: 0, out: 'Debug\n', err: '' });
  assert.deepEqual(await tc('get', 'nope', 'name'), { code: 3, out: '', err: "repo 'nope' not found\n" });
  assert.deepEqual(await tc('get', 'photon', 'priority'), { code: 4, out: '', err: "'priority' not found in 'photon'\n" });
  assert.equal((await tc('get', 'photon')).code, 1);
  await cleanup(dir);
});

test('edit: changes in place, adds after the last key, keeps comments and the other section', async () => {
  const r = await tc('edit', 'photon', 'enabled=0', 'priority = 10', 'baseurl=http://c/');
  assert.equal(r.code, 0, r.err);
  assert.equal(await repoText(), '# Photon repo\n[photon]\nname=Photon\n# the mirrors\nbaseurl=http://c/\nenabled=0\npriority=10\n\n[photon-debug]\nname=Debug\nenabled=0\n');
  assert.equal((await tc('edit', 'main', 'keepcache=1')).code, 0);
  assert.equal(await readFile(conf, 'utf8'), `# tdnf settings\n[main]\ngpgcheck=1\n; where repos are\nrepodir=${dir}/repos\nkeepcache=1\n`);
  await cleanup(dir);
});

test('edit/create check keys and values against tdnf\'s settings tables', async () => {
  assert.deepEqual(await tc('edit', 'photon', 'enabeld=0'), { code: 1, out: '', err: "unknown key 'enabeld' for repo 'photon'\n" });
  assert.match((await tc('edit', 'main', 'gpgcheck=maybe')).err, /^invalid value 'maybe' for key 'gpgcheck'/);
  assert.match((await tc('edit', 'photon', 'metadata_expire=soon')).err, /^invalid value 'soon'/);
  assert.equal((await tc('edit', 'main', 'installonly_limit=x')).code, 1);
  assert.equal((await tc('edit', 'photon', 'metadata_expire=2h')).code, 0);
  assert.deepEqual(await tc('edit', 'photon', 'enabled'), { code: 1, out: '', err: "expected '=' after key enabled\n" });
  assert.equal(await readFile(join(dir, 'repos', 'photon.repo'), 'utf8'), REPO.replace('enabled=1\n', 'enabled=1\nmetadata_expire=2h\n'));
  await cleanup(dir);
});

test('create: a new file in reposdir, or a section appended to -f FILE; existing id 5; main 1', async () => {
  assert.equal((await tc('create', 'extra', 'name=Extra', 'baseurl=http://x/', 'enabled=1')).code, 0);
  assert.equal(await readFile(join(dir, 'repos', 'extra.repo'), 'utf8'), '[extra]\nname=Extra\nbaseurl=http://x/\nenabled=1\n');
  assert.equal((await tc('-f', join(dir, 'repos', 'photon.repo'), 'create', 'more', 'enabled=0')).code, 0);
  assert.equal(await repoText(), `${REPO}\n[more]\nenabled=0\n`);
  assert.deepEqual(await tc('create', 'photon', 'enabled=1'), { code: 5, out: '', err: "repo 'photon' already exists\n" });
  assert.deepEqual(await tc('create', 'main', 'gpgcheck=0'), { code: 1, out: '', err: "invalid repo name 'main'\n" });
  assert.deepEqual(await tc('create', 'x'), { code: 1, out: '', err: 'Expected at least one setting.' });
  await cleanup(dir);
});

test('remove keys; removerepo drops the section and a file left empty', async () => {
  assert.equal((await tc('remove', 'photon', 'baseurl', 'name')).code, 0);
  assert.equal(await repoText(), '# Photon repo\n[photon]\n# the mirrors\nenabled=1\n\n[photon-debug]\nname=Debug\nenabled=0\n');
  assert.deepEqual(await tc('remove', 'photon', 'nokey'), { code: 4, out: '', err: "key 'nokey' not found\n" });
  assert.equal((await tc('removerepo', 'photon-debug')).code, 0);
  assert.equal(await repoText(), '# Photon repo\n[photon]\n# the mirrors\nenabled=1\n');
  assert.equal((await tc('removerepo', 'photon')).code, 0);
  assert.ok(!existsSync(join(dir, 'repos', 'photon.repo')));
  assert.equal((await tc('removerepo', 'photon')).code, 3);
  await cleanup(dir);
});

test('dump: the file, or the section as JSON with -j; unknown action 1', async () => {
  assert.equal((await tc('dump', 'photon')).out, REPO);
  assert.deepEqual(JSON.parse((await tc('-j', 'dump', 'photon-debug')).out), { 'photon-debug': { name: 'Debug', enabled: '0' } });
  assert.deepEqual(await tc('frobnicate', 'x'), { code: 1, out: '', err: "Unknown command 'frobnicate'\n" });
  await cleanup(dir);
});

test('bin/tdnf-config.js runs it once, with its exit status', async () => {
  const bin = fileURLToPath(new URL('../bin/tdnf-config.js', import.meta.url));
  const r = await run(process.execPath, [bin, '-c', conf, 'get', 'photon', 'name'], { allowFailure: true });
  assert.equal(r.stdout.toString(), 'Photon\n');
  const bad = await run(process.execPath, [bin, '-c', conf, 'get', 'nope', 'name'], { allowFailure: true });
  assert.equal(bad.status, 3);
  await cleanup(dir);
});
