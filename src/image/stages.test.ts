import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { loadConfig } from '../tdnf/config.ts';
import type { Kickstart } from './kickstart.ts';
import { bootEnvironment, buildTdnfConfig, kernelCmdline } from './stages.ts';

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

test("the boot line is Photon's grub.cfg's: root, the flavor's photon_cmdline, systemd_cmdline, then rootwait and consoles", async () => {
  const root = await tempDir('stages-boot');
  dirs.push(root);
  await mkdir(join(root, 'boot'));
  const ks = { arch: 'x86_64', linux_flavor: 'linux-esx' } as const;
  // No photon.cfg (another distribution's tree): ro quiet and Photon's default systemd_cmdline.
  assert.deepEqual(await bootEnvironment(root), { photonCmdline: undefined, systemdCmdline: undefined });
  assert.equal(kernelCmdline(ks, 'P'), 'root=PARTUUID=P ro quiet net.ifnames=0 rootwait console=tty0 console=ttyS0,115200n8');
  // photon.cfg is the kernel package's link to its linux-<ver>.cfg; GRUB's env blocks may be #-padded.
  await writeFile(join(root, 'boot', 'linux-6.1-esx.cfg'), `# GRUB Environment Block\nphoton_cmdline=init=/lib/systemd/systemd rw  quiet noreplace-smp\nphoton_linux=vmlinuz-6.1-esx\n${'#'.repeat(40)}`);
  await symlink('linux-6.1-esx.cfg', join(root, 'boot', 'photon.cfg'));
  await writeFile(join(root, 'boot', 'systemd.cfg'), 'systemd_cmdline=net.ifnames=0 systemd.unified_cgroup_hierarchy=yes\n');
  const env = await bootEnvironment(root);
  assert.deepEqual(env, { photonCmdline: 'init=/lib/systemd/systemd rw  quiet noreplace-smp', systemdCmdline: 'net.ifnames=0 systemd.unified_cgroup_hierarchy=yes' });
  assert.equal(kernelCmdline(ks, 'P', env), 'root=PARTUUID=P init=/lib/systemd/systemd rw quiet noreplace-smp net.ifnames=0 systemd.unified_cgroup_hierarchy=yes rootwait console=tty0 console=ttyS0,115200n8');
  assert.match(kernelCmdline({ arch: 'aarch64', linux_flavor: 'linux-esx' }, 'P', env), / rootwait console=ttyS0,115200n8 console=ttyAMA0,115200n8$/);
});
