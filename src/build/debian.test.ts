import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { run } from '../util/run.ts';
import { PhotonError } from '../util/errors.ts';
import { compareDebianVersions, readLock, resolveFromApt, upstreamVersion } from './debian.ts';

test('Debian version order agrees with dpkg --compare-versions', async () => {
  const versions = [
    '1.0', '1.0-1', '1.0-2', '1:0.9', '1.0~rc1', '1.0~~', '1.0+b1', '1.0a', '1.0.1', '1.00', '2.06-13+deb12u1',
    '2.06-13+deb12u2', '2.06-13', '9.2p1-2+deb12u3', '9.2p1-2', '252.39-1~deb12u1', '252.39-1', '0', 'a', 'A', '1.0-1~bpo1',
  ];
  for (const a of versions) {
    for (const b of versions) {
      const ours = Math.sign(compareDebianVersions(a, b));
      const lt = (await run('dpkg', ['--compare-versions', a, 'lt', b], { allowFailure: true })).status === 0;
      const eq = (await run('dpkg', ['--compare-versions', a, 'eq', b], { allowFailure: true })).status === 0;
      assert.equal(ours, lt ? -1 : eq ? 0 : 1, `${a} vs ${b}`);
    }
  }
});

test('upstream versions as a Photon spec would write them', () => {
  assert.equal(upstreamVersion('1:9.2p1-2+deb12u3'), '9.2p1');
  assert.equal(upstreamVersion('5.2.15-2+b7'), '5.2.15');
  assert.equal(upstreamVersion('18.20.4+dfsg-1~deb12u3'), '18.20.4');
  assert.equal(upstreamVersion('2026f-0+deb12u1'), '2026f');
  assert.equal(upstreamVersion('20230311'), '20230311');
  assert.equal(upstreamVersion('1.2-3-4'), '1.2_3');
});

test('a broken lock file is an error naming it and the entry', async () => {
  const dir = await tempDir('lock');
  try {
    await writeFile(join(dir, 'debian.lock'), '{"suite":"bookworm","packages":{"amd64":{"bash":{"version":"5"}}}}');
    await assert.rejects(readLock(dir, 'bookworm'), (e: PhotonError) => e.file === join(dir, 'debian.lock') && /packages\.amd64\.bash/.test(e.message));
    await writeFile(join(dir, 'debian.lock'), '{');
    await assert.rejects(readLock(dir, 'bookworm'), /not valid JSON/);
    await cleanup(dir);
    assert.deepEqual(await readLock(dir, 'bookworm'), { suite: 'bookworm', packages: {} });
  } finally {
    await cleanup(dir);
  }
});

test("pins come from the mirror's lists: the newest offered version, with its sha256", async () => {
  const pins = await resolveFromApt(['bash', 'tzdata', 'no-such-package-here'], 'amd64');
  assert.equal(pins.has('no-such-package-here'), false);
  const bash = pins.get('bash')!;
  assert.match(bash.sha256, /^[0-9a-f]{64}$/);
  assert.match(bash.filename, /^pool\/main\/b\/bash\/bash_.*_amd64\.deb$/);
  assert.equal(pins.get('tzdata')!.architecture, 'all');
  // What apt itself would install is the candidate: the same version, when it comes from the mirror.
  const policy = (await run('apt-cache', ['madison', 'bash'])).stdout.toString();
  const offered = policy.split('\n').filter(Boolean).map((l) => l.split('|')[1]!.trim());
  assert.ok(offered.includes(bash.version));
  for (const v of offered) assert.ok(compareDebianVersions(bash.version, v) >= 0, `${bash.version} >= ${v}`);
});

test("another architecture's pins (setup.sh adds arm64 to apt): its own builds and Architecture: all, never the host's", async () => {
  const pins = await resolveFromApt(['bash', 'tzdata'], 'arm64');
  assert.match(pins.get('bash')!.filename, /^pool\/main\/b\/bash\/bash_.*_arm64\.deb$/);
  assert.equal(pins.get('bash')!.architecture, 'arm64');
  assert.equal(pins.get('tzdata')!.architecture, 'all');
  assert.notEqual(pins.get('bash')!.sha256, (await resolveFromApt(['bash'], 'amd64')).get('bash')!.sha256);
});
