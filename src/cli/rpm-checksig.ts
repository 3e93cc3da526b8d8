import { readFile } from 'node:fs/promises';
import { type PublicKey, readPublicKeys } from '../formats/openpgp.ts';
import { readPackageFile, verifyDigests } from '../rpm/package.ts';
import { verifyPackageSignature } from '../rpm/sign.ts';
import { PhotonError, isPhotonError, withFile } from '../util/errors.ts';
import { type OptionSpec, all, parseArgs } from './args.ts';

const SPEC: OptionSpec = {
  key: { value: true, multiple: true, short: 'k' },
};

const USAGE = 'usage: photon rpm checksig [--key PUBLIC_KEY.asc]... FILE...';

/**
 * `photon rpm checksig`: what `rpm -K` prints, line for line ("FILE: digests signatures OK",
 * "FILE: digests SIGNATURES NOT OK", …), against the public keys given instead of an rpmdb's.
 * Exit status 1 when any package is not OK; why goes to stderr, one line per package.
 */
export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (args.positionals.length === 0) throw new PhotonError('E_USAGE', USAGE);
  const keys: PublicKey[] = [];
  for (const file of all(args, 'key')) {
    try {
      keys.push(...readPublicKeys(await readFile(file)));
    } catch (e) {
      throw withFile(e, file);
    }
  }
  let status = 0;
  for (const file of args.positionals) {
    let line: string;
    let why: string | undefined;
    try {
      const { pkg, bytes } = await readPackageFile(file);
      const d = verifyDigests(pkg, bytes);
      const digestsOk = d.header !== 'bad' && d.payload !== 'bad';
      if (d.header === 'bad') why = 'header digest mismatch';
      else if (d.payload === 'bad') why = 'payload digest mismatch';
      const sig = verifyPackageSignature(pkg, bytes, keys);
      const words = digestsOk ? 'digests' : 'DIGESTS';
      if (!sig.ok && sig.reason === 'unsigned') {
        line = `${words} ${digestsOk ? 'OK' : 'NOT OK'}`;
      } else {
        if (!sig.ok) {
          why ??= sig.reason === 'unknown-key' ? `signed by unknown key ${sig.keyId ?? '(no key id)'}`
            : sig.reason === 'bad-signature' ? `bad signature by key ${sig.keyId ?? '(no key id)'}` : 'malformed signature';
        }
        // rpm 4.18 counts a signed package's digest failure against its signatures as well.
        line = digestsOk && sig.ok ? 'digests signatures OK' : `${words} SIGNATURES NOT OK`;
      }
      if (why) status = 1;
    } catch (e) {
      if (!isPhotonError(e)) throw e;
      line = 'DIGESTS SIGNATURES NOT OK';
      why = e.message;
      status = 1;
    }
    process.stdout.write(`${file}: ${line}\n`);
    if (why) process.stderr.write(`photon rpm checksig: ${file}: ${why}\n`);
  }
  return status;
}
