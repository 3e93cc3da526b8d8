/** `photon build [PKG...]`: recipes under SPECS/ → signed RPMs + repodata in the stage. */
import { resolve } from 'node:path';
import { build } from '../build/build.ts';
import { PhotonError } from '../util/errors.ts';
import { type OptionSpec, one, parseArgs } from './args.ts';

const SPEC: OptionSpec = {
  specs: { value: true },
  stage: { value: true },
  cache: { value: true },
  'update-lock': {},
  jobs: { value: true, short: 'j' },
  key: { value: true },
  arch: { value: true },
  quiet: { short: 'q' },
  help: { short: 'h' },
};

const USAGE = `usage: photon build [--specs DIR] [--stage DIR] [--cache DIR] [--update-lock]
                    [-j N] [--key SECRET.asc] [--arch x86_64|aarch64] [-q] [PKG...]

Builds the recipes under SPECS (default: all; with PKG, those and their buildRequires) into
signed RPMs and publishes them with signed repodata in the stage (default ./stage).
`;

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (args.flags.has('help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const jobsText = one(args, 'jobs');
  if (jobsText !== undefined && !/^[1-9]\d*$/.test(jobsText)) throw new PhotonError('E_USAGE', `--jobs needs a positive integer, not '${jobsText}'`);
  const quiet = args.flags.has('quiet');
  const specsDir = one(args, 'specs') ?? 'SPECS';
  const summary = await build({
    specsDir,
    stageDir: one(args, 'stage') ?? 'stage',
    cacheDir: one(args, 'cache'),
    // `project:` paths (e.g. dist/tdnf.mjs) are relative to the tree SPECS lives in.
    projectRoot: resolve(specsDir, '..'),
    only: args.positionals,
    updateLock: args.flags.has('update-lock'),
    jobs: jobsText === undefined ? undefined : Number(jobsText),
    keyFile: one(args, 'key'),
    arch: one(args, 'arch'),
    log: quiet ? undefined : (line) => process.stdout.write(`${line}\n`),
  });
  const count = (s: string) => summary.outcomes.filter((o) => o.status === s).length;
  const failed = summary.outcomes.filter((o) => o.status === 'failed');
  for (const f of failed) process.stderr.write(`photon build: ${f.recipe}: ${f.error}\n`);
  const unmet = [...new Set(summary.unmet.map((u) => `${u.pkg} requires ${u.requirement}`))];
  for (const u of unmet.slice(0, 50)) process.stderr.write(`photon build: not closed: ${u}\n`);
  if (unmet.length > 50) process.stderr.write(`photon build: … and ${unmet.length - 50} more unmet requirements\n`);
  process.stdout.write(
    `built ${count('built')}, reused ${count('reused')}, failed ${count('failed')}; ` +
      `${summary.packages} packages, ${mib(summary.totalSize)} in the stage; ${summary.seconds.toFixed(1)} s` +
      `${summary.published ? '' : ' — stage left as it was'}\n`,
  );
  return failed.length || !summary.published ? 1 : 0;
}
