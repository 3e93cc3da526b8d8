/** `tdnf help` / `--help`: tdnf's usage text (tools/cli/lib/help.c), listing what we accept. */


const COMMON = [
  '[--assumeno]', '[-y, --assumeyes]', '[-C, --cacheonly]', '[-c [config file]]', '[--debugsolver]',
  '[--disableexcludes]', '[--disableplugin=<plugin_name>]', '[--disablerepo=<repoid>]',
  '[--downloaddir=<directory>]', '[--downloadonly]', '[--enableplugin=<plugin_name>]', '[--enablerepo=<repoid>]',
  '[--exclude [file1,file2,...]]', '[--installroot [path]]', '[-j, --json]', '[--noautoremove]', '[--nogpgcheck]',
  '[--noplugins]', '[-q, --quiet]', '[--reboot-required]', '[--refresh]', '[--releasever RELEASEVER]',
  '[--repofrompath <repoid>,<path/url>]', '[--repofromdir <repoid>,<dir>]', '[--rpmverbosity [debug level name]]',
  '[--security]', '[--sec-severity CVSS_v3.0_Severity]', '[--setopt SETOPTS]', '[--skipconflicts]', '[--skipdigest]',
  '[--skipobsoletes]', '[--skipsignature]', '[-v, --verbose]', '[--version]',
];
const SELECT = [
  '[--available]', '[--duplicates]', '[--extras]', '[--file <file>]', '[--installed]', '[--userinstalled]', '[--upgrades]',
  ...['depends', 'requires', 'enhances', 'obsoletes', 'provides', 'recommends', 'suggests', 'supplements', 'conflicts']
    .map((w) => `[--what${w} <capability1>[,<capability2>[..]]]`),
];
const QUERY = ['[--changelogs]', '[--conflicts]', '[--depends]', '[--enhances]', '[--list]', '[--location]', '[--obsoletes]',
  '[--provides]', '[--qf <format>]', '[--recommends]', '[--requires]', '[--requires-pre]', '[--source]', '[--suggests]', '[--supplements]'];
const REPOSYNC = ['[--arch=<arch> [--arch=<arch> [..]]', '[--delete]', '[--download-path=<directory>]', '[--download-metadata]',
  '[--gpgcheck]', '[--metadata-path=<directory>]', '[--newest-only]', '[--norepopath]', '[--source]', '[--urls]'];
const COMMANDS: [string, string][] = [
  ['autoremove', 'Remove a package and its automatic dependencies'],
  ['check', 'Check for problems in installed and available packages'],
  ['check-local', 'Checks local rpm folder for problems'],
  ['check-update', 'Check for available package upgrades'],
  ['clean', 'Remove cached data'],
  ['count', 'Count the packages in the installed set and enabled repositories'],
  ['distro-sync', 'Synchronize installed packages to the latest available versions'],
  ['downgrade', 'Downgrade a package'],
  ['erase', 'Remove a package or packages from your system'],
  ['help', 'Display a helpful usage message'],
  ['history', 'History commands'],
  ['info', 'Display details about a package or group of packages'],
  ['install', 'Install a package or packages on your system'],
  ['list', 'List a package or groups of packages'],
  ['makecache', 'Generate the metadata cache'],
  ['mark', 'Mark packages as user or auto installed'],
  ['provides', 'Find what package provides the given value'],
  ['reinstall', 'Reinstall a package'],
  ['remove', 'Remove a package or packages from your system'],
  ['repolist', 'Display the configured software repositories'],
  ['repoquery', 'Query repositories'],
  ['reposync', 'Download all packages from one or more repositories to a directory'],
  ['search', 'Search package details for the given string'],
  ['update', "Upgrade a package or packages on your system (same as 'upgrade')"],
  ['updateinfo', 'Display advisories about packages'],
  ['upgrade', 'Upgrade a package or packages on your system'],
  ['upgrade-to', 'Upgrade a package on your system to the specified version'],
];

const block = (title: string, lines: readonly string[]): string => `${title}:\n${lines.map((l) => `           ${l}\n`).join('')}\n`;

export function helpText(): string {

  return `Usage: tdnf [options] COMMAND\n\n${block('common options', COMMON)}${block('repoquery select options', SELECT)}`
    + `${block('repoquery query options', QUERY)}${block('reposync options', REPOSYNC)}List of Main Commands\n\n`
    + COMMANDS.map(([c, d]) => `${c.padEnd(19)}${d}\n`).join('');
}
