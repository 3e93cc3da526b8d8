import { PhotonError } from '../util/errors.ts';
import { erasePackages } from '../rpm/install.ts';
import { type OptionSpec, one, parseArgs } from './args.ts';

const SPEC: OptionSpec = {
  root: { value: true },
  dbpath: { value: true },
  nodeps: {},
  noscripts: {},
  justdb: {},
  allmatches: {},
  verbose: { short: 'v' },
};

const USAGE = 'usage: photon rpm erase --root ROOT [--noscripts] [--justdb] [--allmatches] NAME...';

/** `photon rpm erase`: as `rpm -e --nodeps`; warnings (saved configs, failed scriptlets) on stderr. */
export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  const root = one(args, 'root');
  if (!root || !args.positionals.length) throw new PhotonError('E_USAGE', USAGE);
  const f = (n: string) => args.flags.has(n);
  const dbpath = one(args, 'dbpath');
  const report = await erasePackages(root, args.positionals, {
    noscripts: f('noscripts'), justdb: f('justdb'), allMatches: f('allmatches'), ...(dbpath ? { dbpath } : {}),
  });
  for (const w of report.warnings) process.stderr.write(`warning: ${w}\n`);
  if (f('verbose')) for (const n of report.erased) process.stdout.write(`${n}\n`);
  return 0;
}
