// Issue 4's acceptance: the whole package set under SPECS/ builds into a signed, closed
// repository, and our tdnf installs `minimal` from it (served over loopback) into a root where
// systemd, sshd, docker and tdnf itself work, which Debian's rpm verifies without a missing file.
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serveRepo } from '../src/build/serve.ts';
import { run } from '../src/util/run.ts';
import { type TestStage, testStage } from './kit/stage.ts';
import { cleanup, tempDir } from './kit/tmp.ts';

/**
 * Every RPM of `stage` passes rpm -K with the project key, and libsolv's installcheck finds the
 * repository closed for `arch`; returns the RPMs' paths.
 */
async function signedAndClosed(stage: string, arch: string, work: string): Promise<string[]> {
  await mkdir(work, { recursive: true });
  const rpms: string[] = [];
  for (const a of await readdir(join(stage, 'RPMS'))) for (const f of await readdir(join(stage, 'RPMS', a))) rpms.push(join(stage, 'RPMS', a, f));
  assert.ok(rpms.length >= 150, `${rpms.length} packages`);
  const keydb = join(work, 'keydb');
  await run('rpm', ['--dbpath', keydb, '--import', join(stage, 'RPM-GPG-KEY-photon')]);
  const k = await run('rpm', ['--dbpath', keydb, '-K', ...rpms], { allowFailure: true });
  const lines = k.stdout.toString().trim().split('\n');
  assert.equal(lines.length, rpms.length);
  for (const line of lines) assert.match(line, /: digests signatures OK$/);
  const primary = (await readdir(join(stage, 'repodata'))).find((f) => f.endsWith('-primary.xml.gz'))!;
  await writeFile(join(work, 'repo.solv'), (await run('sh', ['-c', `gzip -dc '${join(stage, 'repodata', primary)}' | rpmmd2solv`])).stdout);
  const ic = await run('installcheck', [arch, join(work, 'repo.solv')], { allowFailure: true });
  assert.equal(ic.status, 0, ic.stdout.toString());
  return rpms;
}

let dir = '';
let built: TestStage;

describe('the distribution', () => {
  before(async () => {
    dir = await tempDir('distribution');
    built = await testStage();
  });
  after(() => cleanup(dir));

  it('every RPM passes rpm -K with the project key, and libsolv finds the repository closed', async () => {
    const names = (await signedAndClosed(built.stage, 'x86_64', join(dir, 'x86_64'))).map((p) => p.split('/').pop()!);
    for (const want of ['minimal-5.0', 'basic-5.0', 'linux-6.', 'linux-esx-6.', 'linux-rt-6.', 'tdnf-3.', 'docker-', 'systemd-2', 'openssh-server-', 'grub2-efi-image-', 'grub2-pc-', 'systemd-boot-', 'dracut-']) {
      assert.ok(names.some((n) => n.startsWith(want)), want);
    }
  });

  it('aarch64: the same recipes build for arm64 into a signed, closed repository of arm64 binaries', async () => {
    const arm = await testStage('aarch64');
    const rpms = await signedAndClosed(arm.stage, 'aarch64', join(dir, 'aarch64'));
    const names = rpms.map((p) => p.split('/').pop()!);
    for (const want of ['minimal-5.0', 'linux-6.', 'linux-esx-6.', 'linux-rt-6.', 'tdnf-3.', 'docker-', 'systemd-2', 'grub2-efi-image-', 'systemd-boot-']) {
      assert.ok(names.some((n) => n.startsWith(want)), want);
    }
    assert.ok(names.every((n) => /\.(aarch64|noarch)\.rpm$/.test(n)), names.filter((n) => !/\.(aarch64|noarch)\.rpm$/.test(n)).join(' '));
    // BIOS GRUB is for PCs only (exclusiveArch), as in Photon's spec.
    assert.ok(!names.some((n) => n.startsWith('grub2-pc-')));
    // What is inside is arm64: bash's ELF header, the GRUB image's and the kernel flavor's names.
    const x = join(dir, 'aarch64-x');
    await mkdir(x, { recursive: true });
    const rpmOf = (prefix: string) => rpms.find((p) => p.split('/').pop()!.startsWith(prefix))!;
    await run('sh', ['-c', `rpm2cpio '${rpmOf('bash-5')}' | cpio -idm --quiet ./usr/bin/bash`], { cwd: x });
    assert.match((await run('readelf', ['-h', join(x, 'usr/bin/bash')])).stdout.toString(), /Machine:\s+AArch64/);
    const lists = async (prefix: string) => (await run('rpm', ['-qlp', rpmOf(prefix)])).stdout.toString();
    assert.match(await lists('grub2-efi-image-'), /^\/usr\/lib\/grub\/arm64-efi\/monolithic\/grubaa64\.efi$/m);
    assert.match(await lists('linux-esx-'), /^\/boot\/vmlinuz-6\.1\.0-\d+-cloud-arm64$/m);
    assert.match(await lists('systemd-boot-'), /systemd-bootaa64\.efi$/m);
  });

  it('tdnf install minimal gives a root where systemd, sshd, docker and tdnf work, and rpm -Va finds every file', async () => {
    const { server, url } = await serveRepo({ root: built.stage, port: 0 });
    const root = join(dir, 'root');
    try {
      await mkdir(join(root, 'etc', 'yum.repos.d'), { recursive: true });
      await mkdir(join(root, 'etc', 'tdnf'), { recursive: true });
      await writeFile(join(root, 'etc', 'tdnf', 'tdnf.conf'), '[main]\ngpgcheck=1\n');
      await writeFile(join(root, 'etc', 'yum.repos.d', 'photon.repo'), `[photon]\nname=Photon\nbaseurl=${url}\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=${url}RPM-GPG-KEY-photon\n`);
      const t = await run('node', ['dist/tdnf.mjs', '--installroot', root, '-y', '-q', 'install', 'minimal'], { allowFailure: true });
      assert.equal(t.status, 0, t.stderr.toString() + t.stdout.toString().slice(-3000));
    } finally {
      server.close();
    }
    // A chroot gets its /dev from whoever prepares it (the image builder, systemd at boot);
    // sshd opens /dev/null before anything else. (Scriptlets writing to /dev/null in a root
    // without /dev leave a plain file there, as they do under rpm --root.)
    await rm(join(root, 'dev', 'null'), { force: true });
    await run('mknod', ['-m', '666', join(root, 'dev', 'null'), 'c', '1', '3']);
    const out = await run('chroot', [root, '/bin/bash', '-c', 'systemctl --version; sshd -V 2>&1; docker --version; tdnf --version; systemd-hwdb query pci:v00008086d000029C0; tdnf list installed'], { allowFailure: true });
    const text = out.stdout.toString();
    assert.equal(out.status, 0, out.stderr.toString() + text.slice(0, 2000));
    assert.match(text, /^systemd 252 /m);
    assert.match(text, /^OpenSSH_9\.2, OpenSSL 3\./m);
    assert.match(text, /^Docker version 20\.10\./m);
    assert.match(text, /^tdnf: 3\./m);
    // systemd-udev's %post compiled the hardware database its rules look things up in.
    assert.match(text, /^ID_VENDOR_FROM_DATABASE=Intel Corporation$/m);
    for (const pkg of ['minimal.noarch', 'systemd.x86_64', 'openssh-server.x86_64', 'docker.x86_64', 'tdnf.noarch', 'filesystem.']) {
      assert.match(text, new RegExp(`^${pkg.replace('.', '\\.')}`, 'm'), pkg);
    }
    const va = await run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-Va'], { allowFailure: true });
    assert.doesNotMatch(va.stdout.toString(), /missing/, va.stdout.toString());
  });
});
