import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { isPhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import { checkUserData, defaultMetaData, makeSeedIso, readSeedDir } from './seed.ts';

const USER_DATA = '#cloud-config\nhostname: seeded\nusers:\n  - name: photon\n';
const META_DATA = 'instance-id: iid-test-1\nlocal-hostname: seeded\n';
const NETWORK = 'version: 2\nethernets:\n  id0:\n    match: {name: "e*"}\n    dhcp4: true\n';

test('the seed is an ISO9660 volume labeled cidata that isoinfo and xorriso read back', async () => {
  const dir = await tempDir('seed');
  try {
    const iso = join(dir, 'seed.iso');
    await makeSeedIso(iso, { userData: USER_DATA, metaData: META_DATA, networkConfig: NETWORK });
    const info = (await run('isoinfo', ['-d', '-i', iso])).stdout.toString();
    assert.match(info, /^Volume id: cidata$/m);
    assert.match(info, /Rock Ridge signatures version/);
    assert.match(info, /Joliet with UCS level/);
    const ls = (await run('xorriso', ['-indev', iso, '-ls', '/'])).stdout.toString();
    assert.deepEqual(ls.trim().split('\n').map((l) => l.replace(/'/g, '')).sort(), ['meta-data', 'network-config', 'user-data']);
    // cloud-init mounts the volume and reads files by these exact names (Rock Ridge).
    for (const [name, text] of [['user-data', USER_DATA], ['meta-data', META_DATA], ['network-config', NETWORK]] as const) {
      const got = (await run('isoinfo', ['-R', '-i', iso, '-x', `/${name}`])).stdout.toString();
      assert.equal(got, text, name);
    }
    assert.deepEqual(await readdir(dir), ['seed.iso'], 'no temporary file left beside the output');
  } finally {
    await cleanup(dir);
  }
});

test('a seed directory: meta-data defaults to a fresh instance-id; user-data is required', async () => {
  const dir = await tempDir('seed');
  try {
    await writeFile(join(dir, 'user-data'), USER_DATA);
    const s = await readSeedDir(dir);
    assert.equal(s.userData, USER_DATA);
    assert.match(s.metaData, /^instance-id: iid-photon-[0-9a-f]{12}\n$/);
    assert.equal(s.networkConfig, undefined);
    assert.notEqual(defaultMetaData(), defaultMetaData());
    assert.equal(defaultMetaData('h1').split('\n')[1], 'local-hostname: h1');

    const empty = join(dir, 'empty');
    await mkdir(empty);
    await assert.rejects(readSeedDir(empty), (e) => isPhotonError(e) && e.code === 'E_ENOENT' && e.file === join(empty, 'user-data'));
  } finally {
    await cleanup(dir);
  }
});

test('user-data cloud-init would silently ignore is refused, naming the file', async () => {
  checkUserData('');
  checkUserData('#!/bin/sh\necho hi\n');
  checkUserData('#cloud-config\n{}\n');
  assert.throws(() => checkUserData('hostname: x\n', 'my/user-data'), (e) => isPhotonError(e) && e.file === 'my/user-data' && /#cloud-config/.test(e.message));
  const dir = await tempDir('seed');
  try {
    await assert.rejects(makeSeedIso(join(dir, 'x.iso'), { userData: 'users: []\n', metaData: META_DATA }), /cloud-init ignores/);
    assert.deepEqual(await readdir(dir), []);
  } finally {
    await cleanup(dir);
  }
});
