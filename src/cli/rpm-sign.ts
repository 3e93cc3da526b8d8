import { readFile } from 'node:fs/promises';
import { readSecretKey } from '../formats/openpgp.ts';
import { signPackageFile } from '../rpm/sign.ts';
import { PhotonError, withFile } from '../util/errors.ts';
import { type OptionSpec, one, parseArgs } from './args.ts';

const SPEC: OptionSpec = {
  key: { value: true, short: 'k' },
  'digest-algo': { value: true },
};

const USAGE = 'usage: photon rpm sign --key SECRET_KEY.asc [--digest-algo sha256|sha512] FILE...';

/**
 * `photon rpm sign`: the key is an unprotected `gpg --export-secret-keys --armor` export,
 * read once; every package is rewritten atomically, so an interrupted run leaves each file
 * either signed or as it was.
 */
export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  const keyFile = one(args, 'key');
  if (!keyFile || args.positionals.length === 0) throw new PhotonError('E_USAGE', USAGE);
  const digest = one(args, 'digest-algo') ?? 'sha256';
  if (digest !== 'sha256' && digest !== 'sha512') throw new PhotonError('E_USAGE', `--digest-algo must be sha256 or sha512, not '${digest}'\n${USAGE}`);

  let key;
  try {
    key = readSecretKey(await readFile(keyFile));
  } catch (e) {
    throw withFile(e, keyFile);
  }
  for (const file of args.positionals) {
    await signPackageFile(file, key, { hash: digest });
    process.stdout.write(`${file}: signed with key ${key.keyId}\n`);
  }
  return 0;
}
