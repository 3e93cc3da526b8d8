import { PhotonError } from '../util/errors.ts';
import { installPackages } from '../rpm/install.ts';
import { type OptionSpec, one, parseArgs } from './args.ts';

const SPEC: OptionSpec = {
  root: { value: true },
  dbpath: { value: true },
  nodeps: {},
  noscripts: {},
  justdb: {},
  force: {},
  verbose: { short: 'v' },
};

const USAGE = 'usage: photon rpm install --root ROOT [--nodeps] [--noscripts] [--justdb] [--force] FILE...';

/** `photon rpm install`: local packages into a root, as `rpm -U --nodeps` would; warnings on stderr. */
export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  const root = one(args, 'root');
  if (!root || !args.positionals.length) throw new PhotonError('E_USAGE', USAGE);
  const f = (n: string) => args.flags.has(n);
  const dbpath = one(args, 'dbpath');
  const report = await installPackages(root, args.positionals, {
    nodeps: f('nodeps'), noscripts: f('noscripts'), justdb: f('justdb'), force: f('force'), ...(dbpath ? { dbpath } : {}),
  });
  for (const w of report.warnings) process.stderr.write(`warning: ${w}\n`);
  if (f('verbose')) for (const n of report.installed) process.stdout.write(`${n}\n`);
  return 0;
}
