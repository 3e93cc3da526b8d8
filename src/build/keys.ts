/**
 * The signing key store: outside git (default ~/.local/share/photon/keys), made on first use.
 * GnuPG makes the key, as on a packager's machine; everything after that (signing packages and
 * repomd.xml) is ours.
 */
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SecretKey, armor, readSecretKey } from '../formats/openpgp.ts';
import { PhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';

export interface SigningKey {
  secret: SecretKey;
  secretArmored: string;
  publicArmored: string;
  /** Hex fingerprint of the primary key: part of every package's build hash. */
  fingerprint: string;
}

export function defaultKeyDir(): string {
  return process.env['PHOTON_KEYDIR'] ?? join(homedir(), '.local', 'share', 'photon', 'keys');
}

async function generate(dir: string, log: (l: string) => void): Promise<void> {
  log(`creating a signing key in ${dir}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const home = await mkdtemp(join(tmpdir(), 'photon-gpg-'));
  try {
    const env = { ...process.env, GNUPGHOME: home };
    const gpg = (args: string[]) => run('gpg', ['--batch', '-q', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { env });
    await gpg(['--quick-gen-key', 'Photon OS packages <packages@photon.invalid>', 'ed25519', 'sign', 'never']);
    const sec = (await gpg(['--armor', '--export-secret-keys'])).stdout;
    const pub = (await gpg(['--armor', '--export'])).stdout;
    await writeFile(join(dir, 'signing.pub.asc'), pub);
    await writeFile(join(dir, 'signing.asc.tmp'), sec, { mode: 0o600 });
    await rename(join(dir, 'signing.asc.tmp'), join(dir, 'signing.asc'));
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** The key in `keyFile` (an armored secret key), or the store's key, made when missing. */
export async function loadSigningKey(options: { keyFile?: string | undefined; keyDir?: string | undefined; log?: ((l: string) => void) | undefined }): Promise<SigningKey> {
  let secretFile = options.keyFile;
  if (secretFile === undefined) {
    const dir = options.keyDir ?? defaultKeyDir();
    secretFile = join(dir, 'signing.asc');
    const exists = await readFile(secretFile).then(() => true, () => false);
    if (!exists) await generate(dir, options.log ?? (() => {}));
  }
  let secretArmored: string;
  try {
    secretArmored = await readFile(secretFile, 'utf8');
  } catch (e) {
    throw new PhotonError('E_KEY', `cannot read the signing key: ${(e as Error).message}`, { file: secretFile });
  }
  let secret: SecretKey;
  try {
    secret = readSecretKey(secretArmored);
  } catch (e) {
    throw new PhotonError('E_KEY', (e as Error).message, { file: secretFile });
  }
  const publicArmored = armor('PUBLIC KEY BLOCK', secret.publicKey.packets);
  return { secret, secretArmored, publicArmored, fingerprint: secret.publicKey.fingerprint };
}
