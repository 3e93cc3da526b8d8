/** `photon repo serve [--stage DIR] [--port N] [--bind ADDR]`: the stage over HTTP. */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { serveRepo } from '../build/serve.ts';
import { PhotonError } from '../util/errors.ts';
import { type OptionSpec, one, subcommandArgs } from './args.ts';

const SPEC: OptionSpec = {
  stage: { value: true },
  port: { value: true, short: 'p' },
  bind: { value: true },
  quiet: { short: 'q' },
  help: { short: 'h' },
};

const USAGE = `usage: photon repo serve [--stage DIR] [--port N] [--bind ADDR] [-q]

Serves the stage (default ./stage, as photon build writes it) over HTTP, on 127.0.0.1:8080 by default.
`;

export async function main(argv: string[]): Promise<number> {
  const args = subcommandArgs(argv, 'serve', SPEC, USAGE);
  if (typeof args === 'number') return args;
  const root = one(args, 'stage') ?? 'stage';
  const portText = one(args, 'port') ?? '8080';
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) throw new PhotonError('E_USAGE', `--port needs a port number, not '${portText}'`);
  const ok = await stat(join(root, 'repodata', 'repomd.xml')).then(() => true, () => false);
  if (!ok) throw new PhotonError('E_USAGE', `${root} has no repodata/repomd.xml: run photon build first`);
  const quiet = args.flags.has('quiet');
  const { url } = await serveRepo({ root, host: one(args, 'bind'), port: Number(portText), log: quiet ? undefined : (l) => process.stdout.write(`${l}\n`) });
  process.stdout.write(`serving ${root} at ${url}\n`);
  await new Promise(() => {});
  return 0;
}
