import { PhotonError } from '../util/errors.ts';
import { erasePackages, installPackages } from '../rpm/install.ts';
import { type OptionSpec, one, parseArgs } from './args.ts';

const COMMON: OptionSpec = {
  root: { value: true },
  dbpath: { value: true },
  nodeps: {},
  noscripts: {},
  justdb: {},
  verbose: { short: 'v' },
};

/**
 * The shared shell of `photon rpm install|erase`: --root and names required, warnings (saved
 * configs, failed scriptlets) on stderr, with -v the packages acted on on stdout.
 */
async function rootCommand(
  argv: string[], extra: OptionSpec, usage: string,
  act: (root: string, names: string[], flag: (n: string) => boolean, dbpath: string | undefined) => Promise<{ warnings: string[]; done: string[] }>,
): Promise<number> {
  const args = parseArgs(argv, { ...COMMON, ...extra });
  const root = one(args, 'root');
  if (!root || !args.positionals.length) throw new PhotonError('E_USAGE', usage);
  const flag = (n: string) => args.flags.has(n);
  const report = await act(root, args.positionals, flag, one(args, 'dbpath'));
  for (const w of report.warnings) process.stderr.write(`warning: ${w}\n`);
  if (flag('verbose')) for (const n of report.done) process.stdout.write(`${n}\n`);
  return 0;
}

/** `photon rpm install`: local packages into a root, as `rpm -U --nodeps` would. */
export function main(argv: string[]): Promise<number> {
  return rootCommand(argv, { force: {} }, 'usage: photon rpm install --root ROOT [--nodeps] [--noscripts] [--justdb] [--force] FILE...',
    async (root, files, f, dbpath) => {
      const r = await installPackages(root, files, { nodeps: f('nodeps'), noscripts: f('noscripts'), justdb: f('justdb'), force: f('force'), ...(dbpath ? { dbpath } : {}) });
      return { warnings: r.warnings, done: r.installed };
    });
}

/** `photon rpm erase`: as `rpm -e --nodeps`. */
export function erase(argv: string[]): Promise<number> {
  return rootCommand(argv, { allmatches: {} }, 'usage: photon rpm erase --root ROOT [--noscripts] [--justdb] [--allmatches] NAME...',
    async (root, names, f, dbpath) => {
      const r = await erasePackages(root, names, { noscripts: f('noscripts'), justdb: f('justdb'), allMatches: f('allmatches'), ...(dbpath ? { dbpath } : {}) });
      return { warnings: r.warnings, done: r.erased };
    });
}
