/** `photon createrepo [--update] [--baseurl URL] [--compress-type gz|zstd] … DIR` */
import { readFile } from 'node:fs/promises';
import { readSecretKey } from '../formats/openpgp.ts';
import { type CompressType, createrepo } from '../repo/createrepo.ts';
import { PhotonError, withFile } from '../util/errors.ts';
import { type OptionSpec, one, parseArgs } from './args.ts';

const SPEC: OptionSpec = {
  update: {},
  baseurl: { value: true },
  'compress-type': { value: true },
  'changelog-limit': { value: true },
  revision: { value: true },
  'sign-key': { value: true },
  quiet: { short: 'q' },
  help: { short: 'h' },
};

const USAGE = `usage: photon createrepo [--update] [--baseurl URL] [--compress-type gz|zstd]
                         [--changelog-limit N] [--revision R] [--sign-key KEY.asc] [-q] DIR
`;

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (args.flags.has('help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.positionals.length !== 1) throw new PhotonError('E_USAGE', `expected one directory\n${USAGE}`);
  const dir = args.positionals[0]!;
  const compressType = one(args, 'compress-type') ?? 'gz';
  if (compressType !== 'gz' && compressType !== 'zstd') throw new PhotonError('E_USAGE', `--compress-type must be gz or zstd, not '${compressType}'`);
  const limitText = one(args, 'changelog-limit');
  if (limitText !== undefined && !/^-?\d+$/.test(limitText)) throw new PhotonError('E_USAGE', `--changelog-limit needs an integer, not '${limitText}'`);
  const keyPath = one(args, 'sign-key');
  let signKey;
  if (keyPath !== undefined) {
    const text = await readFile(keyPath).catch((e: unknown) => {
      throw withFile(e, keyPath);
    });
    try {
      signKey = readSecretKey(new Uint8Array(text.buffer, text.byteOffset, text.byteLength));
    } catch (e) {
      throw withFile(e, keyPath);
    }
  }
  const baseurl = one(args, 'baseurl');
  const revision = one(args, 'revision');
  const result = await createrepo(dir, {
    update: args.flags.has('update'),
    compressType: compressType as CompressType,
    ...(baseurl !== undefined ? { baseurl } : {}),
    ...(revision !== undefined ? { revision } : {}),
    ...(limitText !== undefined ? { changelogLimit: Number(limitText) } : {}),
    ...(signKey ? { signKey } : {}),
  });
  if (!args.flags.has('quiet')) {
    if (result.warning) process.stderr.write(`photon createrepo: warning: ${result.warning}\n`);
    process.stdout.write(`${result.packages} packages (${result.read} read, ${result.reused} reused); metadata written to ${result.repomd}${keyPath ? ' (signed)' : ''}\n`);
  }
  return 0;
}
