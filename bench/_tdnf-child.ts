// The tdnf CLI for bench/tdnf.ts, bundled by esbuild: the CLI's dispatch table imports command
// modules by computed specifier, which a bundle cannot follow, so the commands benchmarked
// here are imported statically and called the way the dispatch table calls them.
import { tdnf } from '../src/cli/tdnf.ts';
import { loadConfig } from '../src/tdnf/config.ts';
import { TdnfError, exitStatus } from '../src/tdnf/errors.ts';
import { parseTdnfArgs, values } from '../src/tdnf/options.ts';
import { main as alter } from '../src/tdnf/commands/alter.ts';
import { makecache } from '../src/tdnf/commands/makecache.ts';

const io = { stdout: (s: string) => process.stdout.write(s), stderr: (s: string) => process.stderr.write(s) };
const argv = process.argv.slice(2);
const args = parseTdnfArgs(argv);
try {
  if (args.command === 'makecache') {
    const cfg = await loadConfig({
      ...(args.config !== undefined ? { configFile: args.config } : {}),
      installroot: args.installRoot, setopt: values(args, 'setopt'),
    });
    await makecache(cfg, { refresh: true });
    process.exitCode = 0;
  } else if (['install', 'erase', 'upgrade', 'distro-sync'].includes(args.command ?? '')) {
    process.exitCode = await alter(args, io);
  } else process.exitCode = await tdnf(argv, {}, io);
} catch (e) {
  if (!(e instanceof TdnfError)) throw e;
  io.stderr(`Error(${e.code}) : ${e.message}\n`);
  process.exitCode = exitStatus(e.code);
}
