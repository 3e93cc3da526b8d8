// Debian's dnf 4.14 installs from a repository that photon createrepo wrote: packages signed by
// src/rpm/sign.ts (gpgcheck=1), repomd.xml signed by us (repo_gpgcheck=1, dnf imports the key),
// dependencies resolved through our primary.xml; and a primary.xml edited after the fact is
// refused by our reader and by dnf alike. dnf is slow: three runs in all.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { armor, readSecretKey, type SecretKey, signDetached } from '../src/formats/openpgp.ts';
import { createrepo } from '../src/repo/createrepo.ts';
import { dataPath, expectationOf, findData, readPrimary, readRepomd } from '../src/repo/metadata.ts';
import { packRpm } from '../src/rpm/pack.ts';
import { signPackage } from '../src/rpm/sign.ts';
import { PhotonError } from '../src/util/errors.ts';
import { run } from '../src/util/run.ts';
import { makeGpgKey } from './kit/gpg.ts';
import { cleanup, tempDir } from './kit/tmp.ts';

let root = '';
let repo = '';
let pubFile = '';
let key: SecretKey;

async function dnf(installroot: string, extra: string[], ...pkgs: string[]) {
  return run('dnf', [
    '-y', '--installroot', installroot, '--releasever', '5.0', '--setopt=reposdir=/nonexistent',
    // A cache of its own per run (dnf may place it under the installroot): no run sees another's metadata.
    `--setopt=cachedir=${installroot}-cache`,
    `--repofrompath=t,file://${repo}`, '--repo', 't', '--setopt=t.gpgcheck=1', `--setopt=t.gpgkey=file://${pubFile}`,
    ...extra, 'install', ...pkgs,
  ], { allowFailure: true, env: { ...process.env, LC_ALL: 'C.UTF-8' } });
}

before(async () => {
  root = await tempDir('dnf');
  key = readSecretKey((await makeGpgKey(root, 'repo')).secretArmored);
  // Our own armor of the public key, as a distribution would ship it.
  pubFile = join(root, 'RPM-GPG-KEY-test');
  await writeFile(pubFile, armor('PUBLIC KEY BLOCK', key.publicKey.packets));

  repo = join(root, 'repo');
  await mkdir(join(repo, 'RPMS', 'noarch'), { recursive: true });
  const common = { release: '1', arch: 'noarch', buildTime: 1700000000, license: 'MIT', compression: 'gzip' as const };
  const hello = await packRpm({
    ...common, name: 'hello', version: '2.0', summary: 'says hello', description: 'Hello & <welcome>.',
    requires: ['hello-lib >= 1.0'],
    files: [
      { path: '/usr/bin/hello', type: 'file', data: Buffer.from('#!/bin/sh\necho hello\n'), mode: 0o755 },
      { path: '/etc/hello.conf', type: 'file', data: Buffer.from('greeting=hi\n') },
    ],
    config: ['/etc/hello.conf'],
    changelog: [{ time: 1704196800, name: 'Tester <t@example.org> - 2.0-1', text: '- first' }],
  });
  const lib = await packRpm({
    ...common, name: 'hello-lib', version: '1.5', summary: 'hello library', description: 'Library.',
    files: [{ path: '/usr/share/hello/lib.txt', type: 'file', data: Buffer.from('lib\n') }],
  });
  await writeFile(join(repo, 'RPMS', 'noarch', 'hello-2.0-1.noarch.rpm'), signPackage(hello, key));
  await writeFile(join(repo, 'RPMS', 'noarch', 'hello-lib-1.5-1.noarch.rpm'), signPackage(lib, key));
  await createrepo(repo, { signKey: key });
});

after(async () => {
  if (process.env['KEEP_DNF_TEST']) return;
  await cleanup(root);
});

describe('dnf installs from our repository', () => {
  it('gpgcheck=1 and repo_gpgcheck=1: resolves the dependency, verifies both signatures, installs', async () => {
    const r1 = join(root, 'root1');
    const r = await dnf(r1, ['--setopt=t.repo_gpgcheck=1'], 'hello');
    const out = r.stdout.toString() + r.stderr.toString();
    assert.equal(r.status, 0, out);
    assert.match(out, /Importing GPG key/);
    assert.match(out, /hello-lib/);
    assert.match(out, /Complete!/);
    // No --dbpath: Debian's rpm keeps its database where its macros say (~/.rpmdb), and dnf
    // used the same macros inside the installroot.
    const qa = await run('rpm', ['--root', r1, '-qa', '--qf', '%{NAME}-%{VERSION}\n']);
    assert.deepEqual(qa.stdout.toString().split('\n').filter((l) => l && !l.startsWith('gpg-pubkey')).sort(), ['hello-2.0', 'hello-lib-1.5']);
    assert.equal(await readFile(join(r1, 'etc', 'hello.conf'), 'utf8'), 'greeting=hi\n');
  });

  it('a repomd.xml.asc that does not match makes repo_gpgcheck fail', async () => {
    const asc = join(repo, 'repodata', 'repomd.xml.asc');
    const good = await readFile(asc);
    await writeFile(asc, armor('SIGNATURE', signDetached(key, Buffer.from('something else'))));
    try {
      const r = await dnf(join(root, 'root2'), ['--setopt=t.repo_gpgcheck=1'], 'hello');
      assert.notEqual(r.status, 0, 'dnf must refuse a repomd.xml whose signature does not verify');
      assert.match(r.stdout.toString() + r.stderr.toString(), /repomd\.xml GPG signature verification error/);
    } finally {
      await writeFile(asc, good);
    }
  });

  it('primary.xml edited after the fact: our reader says E_REPO_CHECKSUM and dnf fails', async () => {
    const repomdPath = join(repo, 'repodata', 'repomd.xml');
    const pri = findData(await readRepomd(repomdPath), 'primary')!;
    const path = dataPath(repomdPath, pri);
    const xml = gunzipSync(await readFile(path)).toString().replace('says hello', 'says HELLO');
    await writeFile(path, gzipSync(xml));
    await assert.rejects(readPrimary(path, () => {}, { expect: expectationOf(pri) }),
      (e: unknown) => e instanceof PhotonError && e.code === 'E_REPO_CHECKSUM');
    const r = await dnf(join(root, 'root3'), ['--nogpgcheck'], 'hello');
    assert.notEqual(r.status, 0, 'dnf must refuse metadata whose checksum does not match repomd.xml');
    assert.match(r.stdout.toString() + r.stderr.toString(), /checksum doesn't match/);
  });
});
