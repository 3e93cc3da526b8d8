import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeGpgKey } from '../../test/kit/gpg.ts';
import { buildRpm, type SpecOptions } from '../../test/kit/rpmbuild.ts';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { armor, readPublicKeys, readSecretKey, type SecretKey } from '../formats/openpgp.ts';
import { run } from '../util/run.ts';
import { packRpm } from './pack.ts';
import { readPackage } from './package.ts';
import { signPackage, signPackageFile, verifyPackageSignature } from './sign.ts';
import { SIGTAG } from './tags.ts';

const SPEC: SpecOptions = {
  name: 'signme',
  install: ['mkdir -p $RPM_BUILD_ROOT/usr/share/signme', 'echo hello > $RPM_BUILD_ROOT/usr/share/signme/hello'],
  files: ['/usr/share/signme/hello'],
};
/** Text of the package's description, where the header is flipped. */
const DESCRIPTION = 'Test package signme.';

let root = '';
let built = '';
const keys: Record<'rsa' | 'ed', { secret: SecretKey; pubFile: string; secretFile: string }> = {} as never;

async function makeKey(name: 'rsa' | 'ed', algo: string): Promise<void> {
  const { secretArmored, secretFile } = await makeGpgKey(root, name, { algo });
  const secret = readSecretKey(secretArmored);
  // Our own export rather than gpg's, so the test also shows rpm takes our armor.
  const pubFile = join(root, `${name}.ours.pub.asc`);
  await writeFile(pubFile, armor('PUBLIC KEY BLOCK', secret.publicKey.packets));
  keys[name] = { secret, pubFile, secretFile };
}

/** rpm -K against a fresh rpmdb that holds `pubFile`, or no key at all. */
async function rpmCheck(pkg: string, pubFile?: string): Promise<{ status: number; out: string }> {
  const db = await mkdtemp(join(root, 'db-'));
  if (pubFile) await run('rpm', ['--dbpath', db, '--import', pubFile]);
  const r = await run('rpm', ['--dbpath', db, '-K', pkg], { allowFailure: true });
  return { status: r.status, out: r.stdout.toString() + r.stderr.toString() };
}

before(async () => {
  root = await tempDir('rpmsign');
  await Promise.all([makeKey('rsa', 'rsa2048'), makeKey('ed', 'ed25519')]);
  built = await buildRpm(root, SPEC);
});

after(async () => {
  await cleanup(root);
});

describe('rpm sign', () => {
  for (const name of ['rsa', 'ed'] as const) {
    it(`${name}: rpm -K accepts an rpmbuild package we signed, and only with the key`, async () => {
      const file = join(root, `${name}.rpm`);
      await copyFile(built, file);
      await signPackageFile(file, keys[name].secret);
      const good = await rpmCheck(file, keys[name].pubFile);
      assert.equal(good.status, 0, good.out);
      assert.match(good.out, /digests signatures OK/);
      const nokey = await rpmCheck(file);
      assert.notEqual(nokey.status, 0, nokey.out);
      const other = await rpmCheck(file, keys[name === 'rsa' ? 'ed' : 'rsa'].pubFile);
      assert.notEqual(other.status, 0, other.out);

      const bytes = new Uint8Array(await readFile(file));
      const pkg = readPackage(bytes);
      assert.deepEqual(verifyPackageSignature(pkg, bytes, readPublicKeys(await readFile(keys[name].pubFile))), {
        ok: true, keyId: keys[name].secret.keyId, fingerprint: keys[name].secret.fingerprint, primaryFingerprint: keys[name].secret.fingerprint,
      });
      // rpmbuild's reserved space absorbs the signature, as with rpmsign.
      assert.equal(bytes.length, (await stat(built)).size);
      assert.ok(pkg.signature.entries.has(SIGTAG.RSA));
    });
  }

  it('rpm -K rejects an altered header and an altered payload', async () => {
    const signed = signPackage(new Uint8Array(await readFile(built)), keys.rsa.secret);
    const pkg = readPackage(signed);
    const text = Buffer.from(signed.subarray(pkg.headerOffset, pkg.payloadOffset)).indexOf(DESCRIPTION);
    assert.ok(text > 0);
    for (const [what, at] of [['header', pkg.headerOffset + text], ['payload', signed.length - 10]] as const) {
      const bad = signed.slice();
      bad[at] = (bad[at] as number) ^ 0x20;
      const file = join(root, `bad-${what}.rpm`);
      await writeFile(file, bad);
      const r = await rpmCheck(file, keys.rsa.pubFile);
      assert.notEqual(r.status, 0, `${what}: ${r.out}`);
      if (what === 'header') {
        const badPkg = readPackage(bad);
        assert.deepEqual(verifyPackageSignature(badPkg, bad, readPublicKeys(await readFile(keys.rsa.pubFile))).ok, false);
      }
    }
  });

  it('re-signing replaces the old signature; packRpm packages sign too', async () => {
    const packed = await packRpm({ name: 'packed', version: '2', release: '1', arch: 'noarch', summary: 's', description: 'd', license: 'MIT', buildTime: 1700000000 });
    const once = signPackage(packed, keys.rsa.secret);
    const twice = signPackage(once, keys.ed.secret);
    const file = join(root, 'packed.rpm');
    await writeFile(file, twice);
    const good = await rpmCheck(file, keys.ed.pubFile);
    assert.equal(good.status, 0, good.out);
    assert.match(good.out, /digests signatures OK/);
    assert.notEqual((await rpmCheck(file, keys.rsa.pubFile)).status, 0);
  });

  it('photon rpm sign --key signs files in place', async () => {
    const file = join(root, 'cli.rpm');
    await copyFile(built, file);
    const r = await run(process.execPath, [join(process.cwd(), 'bin/photon.js'), 'rpm', 'sign', '--key', keys.ed.secretFile, file]);
    assert.match(r.stdout.toString(), new RegExp(`signed with key ${keys.ed.secret.keyId}`));
    const good = await rpmCheck(file, keys.ed.pubFile);
    assert.equal(good.status, 0, good.out);
    const usage = await run(process.execPath, [join(process.cwd(), 'bin/photon.js'), 'rpm', 'sign', file], { allowFailure: true });
    assert.equal(usage.status, 2);
  });
});
