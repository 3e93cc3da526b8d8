/** `photon image build [KS] [--format FMT] [--repo URL|DIR]... [-o OUT]` and `photon image run IMAGE`. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildImage } from '../image/build.ts';
import { loadKickstart } from '../image/kickstart.ts';
import { OUTPUT_FORMATS, type OutputFormat, defaultOutputName } from '../image/outputs.ts';
import type { RepoSource } from '../image/stages.ts';
import { PhotonError } from '../util/errors.ts';
import { type OptionSpec, one, subcommandArgs } from './args.ts';

const SPEC: OptionSpec = {
  format: { value: true, short: 'f' },
  repo: { value: true, multiple: true },
  output: { value: true, short: 'o' },
  'keep-work': {},
  quiet: { short: 'q' },
  help: { short: 'h' },
};

const USAGE = `usage: photon image build [KICKSTART] [--format raw|qcow2|ova|ami|gce|azure] [--repo URL|DIR]...
                          [-o OUTPUT] [--keep-work] [-q]
       photon image run IMAGE [options]   (photon image run --help)

KICKSTART defaults to profiles/minimal.yaml; --repo to ./stage (what photon build writes).
`;

/** A photon build stage directory (file://, with its key) or a repository URL. */
function repoSource(arg: string): RepoSource {
  if (/^[a-z]+:\/\//.test(arg)) return { baseurl: arg.endsWith('/') ? arg : `${arg}/`, gpgkey: `${arg.replace(/\/$/, '')}/RPM-GPG-KEY-photon` };
  const dir = resolve(arg);
  if (!existsSync(`${dir}/repodata/repomd.xml`)) throw new PhotonError('E_USAGE', `--repo ${arg}: no repodata/repomd.xml there (run photon build first)`);
  const key = `${dir}/RPM-GPG-KEY-photon`;
  return { baseurl: pathToFileURL(dir).href, gpgkey: existsSync(key) ? pathToFileURL(key).href : undefined };
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'run') return (await import('./image-run.ts')).main(argv.slice(1));
  const args = subcommandArgs(argv, 'build', SPEC, USAGE);
  if (typeof args === 'number') return args;
  if (args.positionals.length > 1) throw new PhotonError('E_USAGE', `expected one kickstart\n${USAGE}`);
  const format = (one(args, 'format') ?? 'raw') as OutputFormat;
  if (!OUTPUT_FORMATS.includes(format)) throw new PhotonError('E_USAGE', `--format must be one of ${OUTPUT_FORMATS.join(', ')}, not '${format}'`);
  const ks = await loadKickstart(args.positionals[0] ?? 'profiles/minimal.yaml');
  const repos = (args.options.get('repo') ?? ['stage']).map(repoSource);
  const output = one(args, 'output') ?? defaultOutputName(ks.disks.default.filename.replace(/\.[a-z0-9]+$/i, ''), format);
  const tdnf = resolve(new URL('../..', import.meta.url).pathname, 'dist', 'tdnf.mjs');
  const bundled = existsSync(tdnf) ? tdnf : resolve('dist/tdnf.mjs');
  if (!existsSync(bundled)) throw new PhotonError('E_USAGE', 'dist/tdnf.mjs is missing: run npm run build first');
  const quiet = args.flags.has('quiet');
  const t0 = Date.now();
  const result = await buildImage(ks, {
    format,
    output,
    repos,
    tdnf: bundled,
    keepWork: args.flags.has('keep-work'),
    log: quiet ? undefined : (l) => process.stdout.write(`${l}\n`),
  });
  process.stdout.write(`${result.output}: ${format}, kernel ${result.kver}, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  return 0;
}
