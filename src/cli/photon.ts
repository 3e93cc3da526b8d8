#!/usr/bin/env node
import { isPhotonError } from '../util/errors.ts';

/** Each subcommand lives in its own module, loaded only when called, so start-up stays small. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<{ main(argv: string[]): Promise<number> }> }> = {
  rpm: { summary: 'read, write, sign, install and query RPM packages', load: () => import('./rpm.ts') },
  createrepo: { summary: 'write RPM-md repository metadata for a directory of RPMs', load: () => import('./createrepo.ts') },
  build: { summary: 'build the package set under SPECS into a signed repository (stage/)', load: () => import('./build.ts') },
  repo: { summary: 'serve the built repository over HTTP (repo serve)', load: () => import('./repo.ts') },
  image: { summary: 'build a bootable image from a kickstart (image build), boot one under QEMU (image run)', load: () => import('./image.ts') },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `usage: photon COMMAND [ARGS...]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function photon(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`photon: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  try {
    return await (await command.load()).main(rest);
  } catch (e) {
    if (isPhotonError(e)) {
      process.stderr.write(`photon ${name}: ${e.describe()}\n`);
      return e.code === 'E_USAGE' ? 2 : 1;
    }
    throw e;
  }
}

process.exitCode = await photon(process.argv.slice(2));
