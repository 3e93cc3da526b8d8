import { PhotonError, withFile } from '../util/errors.ts';
import { type QuerySelection, formatQuery, queryJson } from '../rpm/query-format.ts';
import { readPackageFile } from '../rpm/package.ts';
import { type OptionSpec, type ParsedArgs, one, parseArgs } from './args.ts';

const SPEC: OptionSpec = {
  package: { short: 'p' },
  json: {},
  info: { short: 'i' },
  list: { short: 'l' },
  requires: { short: 'R' },
  provides: {},
  scripts: {},
  changelog: {},
  root: { value: true },
  all: { short: 'a' },
};

const USAGE = 'usage: photon rpm query -p FILE... [--json] [-i|--info] [-l|--list] [-R|--requires] [--provides] [--scripts] [--changelog]';

function selection(args: ParsedArgs): QuerySelection {
  const f = (n: string) => args.flags.has(n);
  return { info: f('info'), list: f('list'), requires: f('requires'), provides: f('provides'), scripts: f('scripts'), changelog: f('changelog') };
}

/**
 * `photon rpm query`: each source of headers (package files with -p; the rpmdb with --root,
 * to come) yields headers, and src/rpm/query-format.ts prints them the same way.
 */
export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  const sel = selection(args);
  const json = args.flags.has('json');

  const root = one(args, 'root');
  if (root !== undefined && !args.flags.has('package')) {
    const db = await (await import('../rpm/rpmdb.ts')).openRpmdb(root, { readonly: true });
    const pkgs = args.flags.has('all') ? [...db.packages()] : args.positionals.flatMap((n) => {
      const found = db.findByName(n);
      if (!found.length) throw new PhotonError('E_NOT_INSTALLED', `package ${n} is not installed`);
      return found;
    });
    if (!pkgs.length && !args.flags.has('all')) throw new PhotonError('E_USAGE', USAGE);
    const text = json ? JSON.stringify(pkgs.map((p) => queryJson(p.header)), null, 2) + '\n' : pkgs.map((p) => formatQuery(p.header, sel)).join('');
    db.close();
    process.stdout.write(text);
    return 0;
  }
  if (!args.flags.has('package')) throw new PhotonError('E_USAGE', `${USAGE}\n(only -p is supported so far)`);
  if (!args.positionals.length) throw new PhotonError('E_USAGE', USAGE);

  const objects: Record<string, unknown>[] = [];
  let out = '';
  for (const file of args.positionals) {
    const { pkg } = await readPackageFile(file);
    try {
      if (json) objects.push({ File: file, ...queryJson(pkg.header) });
      else out += formatQuery(pkg.header, sel, pkg.signature);
    } catch (e) {
      throw withFile(e, file);
    }
  }
  process.stdout.write(json ? JSON.stringify(objects, null, 2) + '\n' : out);
  return 0;
}
