import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { loadConfig } from '../tdnf/config.ts';
import type { Kickstart } from './kickstart.ts';
import { buildTdnfConfig } from './stages.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map(cleanup)));

/** What our tdnf reads from the install stage's files: the proof that they say what we meant. */
async function asTdnfSees(ks: Pick<Kickstart, 'repos' | 'insecure_repo'>, sources: { baseurl: string; gpgkey?: string }[]) {
  const dir = await tempDir('stages');
  dirs.push(dir);
  const repoDir = join(dir, 'repos.d');
  const files = buildTdnfConfig(ks, sources, { repoDir, cachedir: join(dir, 'cache') });
  await mkdir(repoDir);
  await writeFile(join(dir, 'tdnf.conf'), files.conf);
  await writeFile(join(repoDir, 'image-build.repo'), files.repo);
  return loadConfig({ configFile: join(dir, 'tdnf.conf'), releasever: '5.0', basearch: 'x86_64' });
}

test('build sources: signed ones are checked, unsigned ones are not', async () => {
  const cfg = await asTdnfSees({ repos: {}, insecure_repo: false }, [
    { baseurl: 'file:///stage', gpgkey: 'file:///stage/RPM-GPG-KEY-photon' },
    { baseurl: 'http://127.0.0.1:8080/extra' },
  ]);
  assert.equal(cfg.main.gpgcheck, true);
  assert.equal(cfg.main.keepcache, false);
  assert.deepEqual(cfg.repos.map((r) => [r.id, r.baseurl, r.gpgcheck, r.repoGpgcheck, r.gpgkey, r.sslverify]), [
    ['image-build-0', ['file:///stage'], true, true, ['file:///stage/RPM-GPG-KEY-photon'], true],
    ['image-build-1', ['http://127.0.0.1:8080/extra'], false, false, [], true],
  ]);
});

test("the kickstart's repos replace the sources, every key as tdnf spells it", async () => {
  const cfg = await asTdnfSees({
    insecure_repo: false,
    repos: {
      release: { name: 'photon $releasever', baseurl: ['https://a/$basearch', 'https://b/'], enabled: true, gpgcheck: false, priority: 10, metadata_expire: '2h' },
      off: { baseurl: ['file:///off'], enabled: false, gpgcheck: true, gpgkey: ['file:///k1', 'file:///k2'], skip_md_filelists: true },
    },
  }, [{ baseurl: 'file:///stage' }]);
  assert.deepEqual(cfg.repos.map((r) => r.id), ['release', 'off']);
  const [release, off] = cfg.repos as [typeof cfg.repos[0], typeof cfg.repos[0]];
  assert.equal(release.name, 'photon 5.0');
  assert.deepEqual(release.baseurl, ['https://a/x86_64', 'https://b/']);
  assert.deepEqual([release.enabled, release.gpgcheck, release.priority, release.metadataExpire], [true, false, 10, 7200]);
  assert.deepEqual([off.enabled, off.gpgcheck, off.gpgkey, off.skipMdFilelists], [false, true, ['file:///k1', 'file:///k2'], true]);
});

test('insecure_repo (POI): sslverify=0 on every repo, over its own setting; signatures still checked', async () => {
  const cfg = await asTdnfSees({
    insecure_repo: true,
    repos: { r: { baseurl: ['https://mirror/'], enabled: true, gpgcheck: true, sslverify: true } },
  }, []);
  assert.equal(cfg.main.sslverify, false);
  assert.equal(cfg.main.gpgcheck, true);
  assert.deepEqual(cfg.repos.map((r) => [r.id, r.sslverify, r.gpgcheck]), [['r', false, true]]);
  const plain = await asTdnfSees({ repos: {}, insecure_repo: true }, [{ baseurl: 'https://stage/', gpgkey: 'https://stage/key' }]);
  assert.deepEqual(plain.repos.map((r) => [r.sslverify, r.gpgcheck]), [[false, true]]);
});
