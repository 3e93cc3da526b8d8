/** `photon rpm checksig` prints what Debian's `rpm -K` prints, case by case, and says why on stderr. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSecretKey } from '../src/formats/openpgp.ts';
import { packRpm } from '../src/rpm/pack.ts';
import { readPackage } from '../src/rpm/package.ts';
import { signPackage } from '../src/rpm/sign.ts';
import { run } from '../src/util/run.ts';
import { type GpgKey, makeGpgKey } from './kit/gpg.ts';
import { cleanup, tempDir } from './kit/tmp.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
let work: string;
let key: GpgKey;
let other: GpgKey;

before(async () => {
  work = await tempDir('checksig');
  [key, other] = await Promise.all([makeGpgKey(work, 'signer', { algo: 'rsa2048' }), makeGpgKey(work, 'other', { algo: 'ed25519' })]);
});

after(async () => {
  await cleanup(work);
});

const photon = (args: string[]) =>
  run(process.execPath, ['--import', 'tsx', join(repo, 'src/cli/photon.ts'), 'rpm', 'checksig', ...args], { cwd: repo, allowFailure: true });

test('each case prints rpm -K\'s line; failures exit 1 with a reason', async () => {
  const tree = join(work, 'tree');
  await run('mkdir', ['-p', join(tree, 'etc')]);
  await writeFile(join(tree, 'etc', 'c.conf'), 'x=1\n'.repeat(100));
  const plain = await packRpm({ name: 'c', version: '1', root: tree });
  const signed = signPackage(plain, readSecretKey(key.secretArmored));
  const { payloadOffset, headerOffset, header } = readPackage(signed);
  // The first byte of the header's data store: still a well-formed header, but not the signed one.
  const headerData = headerOffset + 16 + 16 * new DataView(header.raw.buffer, header.raw.byteOffset).getUint32(0);
  const flip = (at: number) => {
    const b = Uint8Array.from(signed);
    b[at] = b[at]! ^ 0xff;
    return b;
  };
  const cases: Record<string, Uint8Array> = {
    unsigned: plain,
    signed: signed,
    payloadEdited: flip(payloadOffset + 40),
    headerEdited: flip(headerData),
  };
  const keydb = join(work, 'keydb');
  await run('rpm', ['--dbpath', keydb, '--import', key.publicFile]);
  for (const [name, bytes] of Object.entries(cases)) {
    const file = join(work, `${name}.rpm`);
    await writeFile(file, bytes);
    const theirs = await run('rpm', ['--dbpath', keydb, '-K', file], { allowFailure: true });
    const ours = await photon(['--key', key.publicFile, file]);
    assert.equal(ours.stdout.toString(), theirs.stdout.toString(), name);
    assert.equal(ours.status, theirs.status === 0 ? 0 : 1, name);
    if (ours.status !== 0) assert.match(ours.stderr.toString(), new RegExp(`^photon rpm checksig: ${file}: \\S.*\\n$`), name);
  }

  // Signed, but by a key the checker does not hold: rpm says NOT OK; we name the key.
  const file = join(work, 'signed.rpm');
  const emptydb = join(work, 'emptydb');
  const theirs = await run('rpm', ['--dbpath', emptydb, '-K', file], { allowFailure: true });
  const ours = await photon(['--key', other.publicFile, file]);
  assert.equal(ours.stdout.toString(), theirs.stdout.toString());
  assert.equal(ours.status, 1);
  const keyId = key.fingerprint.slice(-16);
  assert.equal(ours.stderr.toString(), `photon rpm checksig: ${file}: signed by unknown key ${keyId}\n`);

  // Not a package at all: one line naming the file.
  const junk = join(work, 'junk.rpm');
  await writeFile(junk, 'not an rpm');
  const bad = await photon([junk]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr.toString(), new RegExp(`^photon rpm checksig: ${junk}: .+\\n$`));
  assert.equal((await readFile(junk, 'utf8')), 'not an rpm');
});
