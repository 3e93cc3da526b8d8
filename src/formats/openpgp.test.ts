import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gpg, makeGpgKey, type GpgKey } from '../../test/kit/gpg.ts';
import { mutate, onlyPhotonErrors, prng } from '../../test/kit/random.ts';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { PhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import {
  armor, dearmor, readPublicKeys, readSecretKey, readSignature, signDetached, signatureKeyId, verifyDetached,
  type PublicKey, type SecretKey,
} from './openpgp.ts';

let root = '';
let rsa: GpgKey;
let ed: GpgKey;
let rsaSub: GpgKey;

before(async () => {
  root = await tempDir('openpgp');
  [rsa, ed, rsaSub] = await Promise.all([
    makeGpgKey(root, 'rsa', { algo: 'rsa2048' }),
    makeGpgKey(root, 'ed', { algo: 'ed25519' }),
    makeGpgKey(root, 'sub', { algo: 'ed25519', signingSubkey: 'rsa2048' }),
  ]);
});

after(async () => {
  await cleanup(root);
});

const DATA = new TextEncoder().encode('Photon OS\nsome bytes to sign\n');

async function gpgVerify(home: string, data: Uint8Array, sig: Uint8Array): Promise<{ status: number; stderr: string }> {
  const dir = await mkdtemp(join(root, 'v-'));
  await writeFile(join(dir, 'file'), data);
  await writeFile(join(dir, 'file.sig'), sig);
  const r = await gpg(home, ['--verify', join(dir, 'file.sig'), join(dir, 'file')], { allowFailure: true });
  return { status: r.status, stderr: r.stderr.toString() };
}

async function gpgSign(home: string, data: Uint8Array, digest = 'SHA256'): Promise<Uint8Array> {
  const dir = await mkdtemp(join(root, 's-'));
  await writeFile(join(dir, 'file'), data);
  await gpg(home, ['--digest-algo', digest, '--detach-sign', '-o', join(dir, 'file.sig'), join(dir, 'file')]);
  return new Uint8Array(await readFile(join(dir, 'file.sig')));
}

function altered(data: Uint8Array, at = 3): Uint8Array {
  const copy = data.slice();
  copy[at] = (copy[at] as number) ^ 1;
  return copy;
}

describe('readSecretKey / readPublicKeys', () => {
  it('reads gpg RSA and Ed25519 exports with matching fingerprints and user IDs', () => {
    for (const k of [rsa, ed]) {
      const secret = readSecretKey(k.secretArmored);
      assert.equal(secret.fingerprint, k.fingerprint);
      assert.equal(secret.keyId, k.fingerprint.slice(-16));
      const [pub, ...more] = readPublicKeys(k.publicArmored);
      assert.equal(more.length, 0);
      assert.equal(pub?.fingerprint, k.fingerprint);
      assert.deepEqual(pub?.userIds, secret.publicKey.userIds);
      assert.match(pub?.userIds[0] ?? '', /@example\.com>$/);
    }
    assert.equal(readSecretKey(rsa.secretArmored).algorithm, 1);
    assert.equal(readSecretKey(ed.secretArmored).algorithm, 22);
  });

  it('reads several concatenated keys and blocks', () => {
    const keys = readPublicKeys(rsa.publicArmored + ed.publicArmored);
    assert.deepEqual(keys.map((k) => k.fingerprint), [rsa.fingerprint, ed.fingerprint]);
    const binary = new Uint8Array([...dearmor(rsa.publicArmored).data, ...dearmor(ed.publicArmored).data]);
    assert.equal(readPublicKeys(binary).length, 2);
  });

  it('picks the signing subkey when the primary key may only certify', () => {
    const secret = readSecretKey(rsaSub.secretArmored);
    assert.notEqual(secret.fingerprint, rsaSub.fingerprint);
    assert.equal(secret.publicKey.fingerprint, rsaSub.fingerprint);
    assert.equal(secret.algorithm, 1);
    const sub = secret.publicKey.subkeys.find((s) => s.fingerprint === secret.fingerprint);
    assert.ok(sub?.bound && sub.canSign);
  });

  it('rejects a passphrase-protected key with E_PGP_KEY_ENCRYPTED', async () => {
    const locked = await makeGpgKey(root, 'locked', { algo: 'rsa2048', passphrase: 'secret words' });
    assert.throws(() => readSecretKey(locked.secretArmored), (e: unknown) => e instanceof PhotonError && e.code === 'E_PGP_KEY_ENCRYPTED' && /passphrase/.test(e.message));
    const lockedEd = await makeGpgKey(root, 'locked-ed', { algo: 'ed25519', passphrase: 'secret words' });
    assert.throws(() => readSecretKey(lockedEd.secretArmored), { code: 'E_PGP_KEY_ENCRYPTED' });
  });

  it('rejects a public key given as secret, and an unsupported algorithm', async () => {
    assert.throws(() => readSecretKey(rsa.publicArmored), { code: 'E_PGP_NOT_SECRET' });
    const dsa = await makeGpgKey(root, 'dsa', { algo: 'dsa2048' });
    assert.throws(() => readSecretKey(dsa.secretArmored), { code: 'E_PGP_UNSUPPORTED' });
    assert.equal(readPublicKeys(dsa.publicArmored)[0]?.algorithm, 17);
  });
});

describe('signDetached is accepted by gpg', () => {
  for (const [name, hash] of [['rsa', 'sha256'], ['rsa', 'sha512'], ['ed', 'sha256'], ['ed', 'sha512'], ['sub', 'sha256']] as const) {
    it(`${name} ${hash}`, async () => {
      const k = name === 'rsa' ? rsa : name === 'ed' ? ed : rsaSub;
      const key = readSecretKey(k.secretArmored);
      // Fixed so that the two signatures below compare equal; not before the key, or gpg objects.
      const created = new Date(Math.floor(Date.now() / 1000) * 1000);
      const sig = signDetached(key, [DATA.subarray(0, 5), DATA.subarray(5)], { hash, created });
      // Both RSA PKCS#1 v1.5 and Ed25519 are deterministic: chunks must sign like their concatenation.
      assert.deepEqual(sig, signDetached(key, DATA, { hash, created }));
      const good = await gpgVerify(k.home, DATA, sig);
      assert.equal(good.status, 0, good.stderr);
      assert.match(good.stderr, /Good signature/);
      const bad = await gpgVerify(k.home, altered(DATA), sig);
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr, /BAD signature/);
      assert.equal(signatureKeyId(sig), key.keyId);
      const ours = verifyDetached(readPublicKeys(k.publicArmored), DATA, sig);
      assert.deepEqual(ours, { ok: true, keyId: key.keyId, fingerprint: key.fingerprint, primaryFingerprint: k.fingerprint });
    });
  }
});

describe('verifyDetached accepts gpg signatures', () => {
  for (const [name, digest] of [['rsa', 'SHA1'], ['rsa', 'SHA256'], ['rsa', 'SHA384'], ['rsa', 'SHA512'], ['ed', 'SHA256'], ['ed', 'SHA512'], ['sub', 'SHA256']] as const) {
    it(`${name} ${digest}`, async () => {
      const k = name === 'rsa' ? rsa : name === 'ed' ? ed : rsaSub;
      const sig = await gpgSign(k.home, DATA, digest);
      const keys = readPublicKeys(k.publicArmored);
      const r = verifyDetached(keys, DATA, sig);
      assert.equal(r.ok, true, JSON.stringify(r));
      if (r.ok) {
        assert.equal(r.primaryFingerprint, k.fingerprint);
        if (name !== 'sub') assert.equal(r.fingerprint, k.fingerprint);
        else assert.equal(r.fingerprint, keys[0]?.subkeys[0]?.fingerprint);
      }
      assert.deepEqual(verifyDetached(keys, altered(DATA), sig), { ok: false, reason: 'bad-signature', keyId: signatureKeyId(sig) });
      const other = readPublicKeys((k === ed ? rsa : ed).publicArmored);
      assert.deepEqual(verifyDetached(other, DATA, sig), { ok: false, reason: 'unknown-key', keyId: signatureKeyId(sig) });
      // Armored input goes through readSignature.
      const armored = armor('SIGNATURE', sig);
      assert.deepEqual(readSignature(armored), sig);
      assert.equal(verifyDetached(keys, DATA, readSignature(armored)).ok, true);
    });
  }

  it('does not let a subkey without a valid binding signature verify', async () => {
    const sig = await gpgSign(rsaSub.home, DATA);
    const [key] = readPublicKeys(rsaSub.publicArmored) as [PublicKey];
    const unbound: PublicKey = { ...key, subkeys: key.subkeys.map((s) => ({ ...s, bound: false })) };
    assert.equal(verifyDetached([unbound], DATA, sig).ok, false);
  });

  it('reports a garbage signature as malformed', () => {
    const keys = readPublicKeys(rsa.publicArmored);
    assert.deepEqual(verifyDetached(keys, DATA, new Uint8Array([1, 2, 3])), { ok: false, reason: 'malformed' });
    assert.deepEqual(verifyDetached(keys, DATA, new Uint8Array(0)), { ok: false, reason: 'malformed' });
  });
});

describe('armor', () => {
  it('round-trips with a CRC24 that gpg accepts', async () => {
    const { type, data } = dearmor(rsa.publicArmored);
    assert.equal(type, 'PUBLIC KEY BLOCK');
    const again = armor('PUBLIC KEY BLOCK', data);
    assert.deepEqual(dearmor(again), { type, data });
    assert.match(again, /\n=[A-Za-z0-9+/]{4}\n-----END PGP PUBLIC KEY BLOCK-----\n$/);
    // gpg's own export carries the same checksum line as ours.
    assert.equal(/\n(=[A-Za-z0-9+/]{4})\n/.exec(again)?.[1], /\n(=[A-Za-z0-9+/]{4})\r?\n/.exec(rsa.publicArmored)?.[1]);
    const empty = armor('SIGNATURE', new Uint8Array(0));
    assert.deepEqual(dearmor(empty).data, new Uint8Array(0));
  });

  it('rejects a corrupt CRC, a corrupt body and a missing END line', () => {
    const text = armor('SIGNATURE', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const badCrc = text.replace(/\n=(.)/, (_m, c: string) => `\n=${c === 'A' ? 'B' : 'A'}`);
    assert.throws(() => dearmor(badCrc), { code: 'E_PGP_MALFORMED', message: /CRC24/ });
    const badBody = text.replace(/\n\n(.)/, (_m, c: string) => `\n\n${c === 'A' ? 'B' : 'A'}`);
    assert.throws(() => dearmor(badBody), { code: 'E_PGP_MALFORMED' });
    assert.throws(() => dearmor(text.replace(/-----END[^\n]*\n/, '')), { code: 'E_PGP_MALFORMED' });
    assert.throws(() => dearmor('not armor at all'), { code: 'E_PGP_MALFORMED' });
    assert.throws(() => dearmor(text.replace('AQID', 'AQ!D')), { code: 'E_PGP_MALFORMED' });
  });

  it('exports a public key that gpg and rpm import', async () => {
    for (const k of [rsa, ed, rsaSub]) {
      const key = readSecretKey(k.secretArmored);
      const pub = armor('PUBLIC KEY BLOCK', key.publicKey.packets);
      assert.equal(readPublicKeys(pub)[0]?.fingerprint, k.fingerprint);
      const dir = await mkdtemp(join(root, 'imp-'));
      await writeFile(join(dir, 'pub.asc'), pub);
      await mkdir(join(dir, 'gnupg'), { mode: 0o700 });
      const imp = await gpg(join(dir, 'gnupg'), ['--import', join(dir, 'pub.asc')], { allowFailure: true });
      assert.equal(imp.status, 0, imp.stderr.toString());
      assert.match(imp.stderr.toString(), /imported: 1/);
      const rpm = await run('rpm', ['--dbpath', join(dir, 'rpmdb'), '--import', join(dir, 'pub.asc')], { allowFailure: true });
      assert.equal(rpm.status, 0, rpm.stderr.toString());
      const q = await run('rpm', ['--dbpath', join(dir, 'rpmdb'), '-q', 'gpg-pubkey'], { allowFailure: true });
      assert.match(q.stdout.toString(), new RegExp(`^gpg-pubkey-${k.fingerprint.slice(-8)}-`));
    }
  });
});

describe('robustness', () => {
  it('throws only PhotonError on 2,000 mutated keys and signatures', async () => {
    const rand = prng(0x5eed);
    const secretBins = [rsa, ed, rsaSub].map((k) => dearmor(k.secretArmored).data);
    const publicBins = [rsa, ed, rsaSub].map((k) => dearmor(k.publicArmored).data);
    const keys: PublicKey[] = [rsa, ed, rsaSub].flatMap((k) => readPublicKeys(k.publicArmored));
    const secrets: SecretKey[] = [rsa, ed, rsaSub].map((k) => readSecretKey(k.secretArmored));
    const sigs = [...secrets.map((s) => signDetached(s, DATA)), await gpgSign(rsa.home, DATA), await gpgSign(ed.home, DATA)];
    const texts = [rsa.publicArmored, armor('SIGNATURE', sigs[0] as Uint8Array)];
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    let accepted = 0;
    for (let i = 0; i < 2000; i++) {
      const sec = mutate(rand, pick(secretBins));
      onlyPhotonErrors(`readSecretKey #${i}`, () => {
        const k = readSecretKey(sec);
        signDetached(k, DATA);
      });
      const pub = mutate(rand, pick(publicBins));
      let mutatedKeys: PublicKey[] = [];
      onlyPhotonErrors(`readPublicKeys #${i}`, () => {
        mutatedKeys = readPublicKeys(pub);
      });
      const sig = mutate(rand, pick(sigs));
      onlyPhotonErrors(`verifyDetached #${i}`, () => {
        if (verifyDetached([...keys, ...mutatedKeys], DATA, sig).ok) accepted++;
        signatureKeyId(sig);
        readSignature(sig);
      });
      const text = pick(texts);
      const cut = Math.floor(rand() * text.length);
      const mangled = rand() < 0.5 ? text.slice(0, cut) : `${text.slice(0, cut)}${String.fromCharCode(32 + Math.floor(rand() * 95))}${text.slice(cut + 1)}`;
      onlyPhotonErrors(`dearmor #${i}`, () => {
        readPublicKeys(mangled);
        readSignature(mangled);
      });
    }
    // A mutation confined to the unhashed area may still verify; anything more would be a hole.
    assert.ok(accepted < 200, `${accepted} mutated signatures verified`);
  });
});
