/**
 * What the commands that own their `main(args, io)` (reposync, check) need from the command
 * line: the configuration as `tdnf` resolves it, and tdnf's refresh notice while repositories
 * load. The same mapping src/cli/tdnf.ts makes for its built-in handlers.
 */
import { type TdnfConfig, loadConfig } from '../config.ts';
import { type TdnfArgs, values } from '../options.ts';
import type { LoadReposOptions } from '../repos.ts';

export interface Io {
  stdout(s: string): void;
  stderr(s: string): void;
}

export function configFromArgs(args: TdnfArgs): Promise<TdnfConfig> {
  return loadConfig({
    ...(args.config !== undefined ? { configFile: args.config } : {}),
    installroot: args.installRoot,
    ...(args.releaseVer !== undefined ? { releasever: args.releaseVer } : {}),
    ...(args.forceArch !== undefined ? { basearch: args.forceArch } : {}),
    setopt: values(args, 'setopt'),
    enablerepo: args.enableRepo,
    disablerepo: args.disableRepo,
    repoid: args.repo,
    repofrompath: values(args, 'repofrompath'),
    repofromdir: values(args, 'repofromdir'),
    disableexcludes: args.disableExcludes,
    exclude: values(args, 'exclude'),
  });
}

/** Options for loadRepos: --refresh, -C, and "Refreshing metadata for: 'NAME'" unless -q / -j. */
export function repoLoadOptions(args: TdnfArgs, io: Io): LoadReposOptions {
  const o: LoadReposOptions = { refresh: args.refresh, cacheonly: args.cacheOnly };
  if (!args.quiet && !args.json) {
    o.onProgress = (e) => {
      if (e.type === 'refresh') io.stdout(`Refreshing metadata for: '${e.name}'\n`);
    };
  }
  return o;
}
