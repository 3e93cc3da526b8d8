/**
 * `tdnf mark install|remove SPEC…`: marks installed packages user-installed (install) or
 * auto-installed (remove, so autoremove may take them), in history.db's flag_set as C tdnf does.
 */
import { TDNF, TdnfError } from '../errors.ts';
import type { TdnfArgs } from '../options.ts';
import { nameOf, selectSpec } from '../query.ts';
import { type Io, installedPkgs, openAlterSession } from '../_alter_session.ts';

export async function main(args: TdnfArgs, io: Io): Promise<number> {
  const [action, ...specs] = args.args;
  if (action === undefined) {
    io.stderr("need action ('install' or 'remove') as argument\n");
    throw new TdnfError(TDNF.INVALID_PARAMETER, 'Invalid parameter.');
  }
  if (action !== 'install' && action !== 'remove') {
    io.stderr(`unknown action '${action}'\n`);
    throw new TdnfError(TDNF.CLI_INVALID_ARGUMENT, 'Invalid argument.');
  }
  if (!specs.length) {
    io.stderr('need package spec(s) as argument\n');
    throw new TdnfError(TDNF.INVALID_PARAMETER, 'Invalid parameter.');
  }
  const s = await openAlterSession(args, { io, noRepos: true });
  try {
    const inst = installedPkgs(s);
    const names = new Set<string>();
    for (const spec of specs) {
      const found = selectSpec(inst, spec);
      if (!found.length) throw new TdnfError(TDNF.NO_MATCH, 'No matching packages');
      for (const k of found) names.add(nameOf(k));
    }
    await s.history.setAutoInstalled([...names], action === 'remove');
    return 0;
  } finally {
    await s.release();
  }
}
