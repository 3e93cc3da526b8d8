// gpgcheck against Debian's rpm 4.18: keys we import are gpg-pubkey entries rpm lists and
// field for field what rpm --import makes, and rpm -K verifies packages with them; tdnf's
// import-on-demand flow and its error codes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readSecretKey } from '../formats/openpgp.ts';
import { signPackageFile } from '../rpm/sign.ts';
import { type GpgCheckOptions, gpgCheckPackage, importKeys, importedKeys } from './gpgcheck.ts';
import { TdnfError } from './errors.ts';
import { type GpgKey, makeGpgKey } from '../../test/kit/gpg.ts';
import { buildRpm, hostRpm } from '../../test/kit/rpmbuild.ts';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';

let work: string;
let key: GpgKey;
let other: GpgKey;
const P: Record<string, string> = {};
let n = 0;

before(async () => {
  work = await tempDir('tdnf-gpg');
  [key, other] = await Promise.all([makeGpgKey(work, 'signer', { algo: 'rsa2048' }), makeGpgKey(work, 'other', { algo: 'rsa2048', signingSubkey: 'rsa2048' })]);
  P.unsigned = await buildRpm(work, { name: 'hello' });
  for (const [name, k] of [['signed', key], ['byother', other]] as const) {
    P[name] = join(work, `${name}.rpm`);
    await copyFile(P.unsigned, P[name]!);
    await signPackageFile(P[name]!, readSecretKey(k.secretArmored));
  }
});
after(async () => {
  await cleanup(work);
});

const newRoot = async () => {
  const r = join(work, `root${n++}`);
  await mkdir(r, { recursive: true });
  return r;
};
const QF = '%{NAME}-%{VERSION}-%{RELEASE} %{SUMMARY} %{GROUP} %{LICENSE} %{PACKAGER} %{BUILDTIME} %{SOURCERPM} %{SIZE}\\n%{DESCRIPTION}\\n%{PUBKEYS}\\n[%{PROVIDENAME} %{PROVIDEFLAGS} %{PROVIDEVERSION}\\n]%{SHA1HEADER}\\n';

test('imported keys are the gpg-pubkey entries rpm --import makes; rpm -K verifies with them', async () => {
  const ours = await newRoot();
  const theirs = await newRoot();
  assert.equal((await importKeys(ours, key.publicArmored, { dbpath: '/var/lib/rpm' })).length, 1);
  assert.deepEqual(await importKeys(ours, key.publicArmored, { dbpath: '/var/lib/rpm' }), []);
  await importKeys(ours, other.publicArmored, { dbpath: '/var/lib/rpm' });
  await hostRpm(theirs, ['--import', key.publicFile]);
  await hostRpm(theirs, ['--import', other.publicFile]);
  const q = async (r: string) => (await hostRpm(r, ['-q', '--qf', QF, 'gpg-pubkey'])).stdout.toString();
  assert.equal(await q(ours), await q(theirs));
  assert.equal((await hostRpm(ours, ['-qa', 'gpg-pubkey'])).stdout.toString().trim().split('\n').length, 2);
  const k = await hostRpm(ours, ['-K', P.signed!, P.byother!]);
  assert.match(k.stdout.toString(), /signed\.rpm: digests signatures OK\n.*byother\.rpm: digests signatures OK/);
  assert.equal((await importedKeys(ours, '/var/lib/rpm')).length, 2);
});

test('tdnf\'s flow: import on demand after asking, and its error codes', async () => {
  const root = await newRoot();
  const asked: string[] = [];
  const info: string[] = [];
  const opts = (yes = true): GpgCheckOptions => ({ dbpath: '/var/lib/rpm', confirm: (q) => (asked.push(q), yes), onInfo: (l) => info.push(l) });
  const repo = { id: 'r', gpgcheck: true, gpgkey: [pathToFileURL(key.publicFile).href] };
  const code = (c: number) => (e: unknown) => e instanceof TdnfError && e.code === c;

  await assert.rejects(gpgCheckPackage(root, P.signed!, repo, opts(false)), code(1032));
  await assert.rejects(gpgCheckPackage(root, P.signed!, { ...repo, gpgkey: [] }, opts()), code(1523));
  await gpgCheckPackage(root, P.signed!, repo, opts());
  assert.deepEqual(info.slice(-1), [`importing key from ${repo.gpgkey[0]}`]);
  assert.deepEqual(asked.slice(-1), ['Is this ok [y/N]: ']);
  const before = asked.length;
  await gpgCheckPackage(root, P.signed!, repo, opts());
  assert.equal(asked.length, before, 'no question once the key is in');
  await assert.rejects(gpgCheckPackage(root, P.unsigned!, repo, opts()), code(1510));
  // Signed by a key the repo's gpgkey does not hold.
  await assert.rejects(gpgCheckPackage(root, P.byother!, repo, opts()), code(1514));
  await gpgCheckPackage(root, P.byother!, repo, { ...opts(), nogpgcheck: true });
  await gpgCheckPackage(root, P.unsigned!, { ...repo, gpgcheck: false }, opts());
  await gpgCheckPackage(root, P.byother!, repo, { ...opts(), skipsignature: true });
  assert.equal((await hostRpm(root, ['-qa', 'gpg-pubkey'])).stdout.toString().trim().split('\n').length, 1);
});
