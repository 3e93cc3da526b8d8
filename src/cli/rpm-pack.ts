import { resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { PhotonError, withFile } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { compressionFromName } from '../formats/compress.ts';
import { parseChangelog } from '../rpm/changelog.ts';
import { type PackSpec, type ScriptName, packRpm } from '../rpm/pack.ts';
import { type OptionSpec, all, one, parseArgs } from './args.ts';

const SPEC: OptionSpec = {
  directory: { value: true, short: 'C' },
  output: { value: true, short: 'o' },
  name: { value: true },
  version: { value: true },
  release: { value: true },
  epoch: { value: true },
  arch: { value: true },
  summary: { value: true },
  description: { value: true },
  license: { value: true },
  url: { value: true },
  group: { value: true },
  vendor: { value: true },
  packager: { value: true },
  requires: { value: true, multiple: true },
  provides: { value: true, multiple: true },
  conflicts: { value: true, multiple: true },
  obsoletes: { value: true, multiple: true },
  recommends: { value: true, multiple: true },
  suggests: { value: true, multiple: true },
  supplements: { value: true, multiple: true },
  enhances: { value: true, multiple: true },
  config: { value: true, multiple: true },
  'config-noreplace': { value: true, multiple: true },
  doc: { value: true, multiple: true },
  ghost: { value: true, multiple: true },
  script: { value: true, multiple: true },
  changelog: { value: true },
  compression: { value: true },
  owner: { value: true, multiple: true },
};

const USAGE =
  'usage: photon rpm pack -C DIR -o OUT.rpm --name N --version V [--release R] [--epoch E] [--arch A] ' +
  '[--summary S] [--description D] [--license L] [--url U] [--requires DEP]... [--provides DEP]... ' +
  '[--conflicts|--obsoletes|--recommends|--suggests|--supplements|--enhances DEP]... [--config PATH]... ' +
  '[--config-noreplace PATH]... [--doc PATH]... [--script pre|post|preun|postun|pretrans|posttrans=FILE]... ' +
  '[--changelog FILE] [--compression zstd|gzip|none] [--owner PATH=USER:GROUP]...';

const SCRIPT_NAMES = new Set(['pre', 'post', 'preun', 'postun', 'pretrans', 'posttrans']);

/** A script file starting with `#!` names its interpreter there, as `%pre -p` would. */
function splitShebang(text: string): { body: string; interpreter?: string } {
  const m = /^#!\s*(\S[^\n]*)\n/.exec(text);
  if (!m) return { body: text.replace(/\n$/, '') };
  return { body: text.slice(m[0].length).replace(/\n$/, ''), interpreter: m[1]!.trim() };
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (args.positionals.length) throw new PhotonError('E_USAGE', `unexpected argument '${args.positionals[0]}'\n${USAGE}`);
  const need = (n: string): string => {
    const v = one(args, n);
    if (v === undefined) throw new PhotonError('E_USAGE', `--${n} is required\n${USAGE}`);
    return v;
  };
  const dir = need('directory');
  const output = need('output');
  const spec: PackSpec = { name: need('name'), version: need('version'), root: resolve(dir) };
  const setStr = (key: 'release' | 'arch' | 'summary' | 'description' | 'license' | 'url' | 'group' | 'vendor' | 'packager') => {
    const v = one(args, key);
    if (v !== undefined) spec[key] = v;
  };
  for (const k of ['release', 'arch', 'summary', 'description', 'license', 'url', 'group', 'vendor', 'packager'] as const) setStr(k);
  const epoch = one(args, 'epoch');
  if (epoch !== undefined) {
    if (!/^\d+$/.test(epoch)) throw new PhotonError('E_USAGE', `--epoch must be a number, not '${epoch}'`);
    spec.epoch = Number(epoch);
  }
  for (const k of ['requires', 'provides', 'conflicts', 'obsoletes', 'recommends', 'suggests', 'supplements', 'enhances'] as const) {
    const v = all(args, k);
    if (v.length) spec[k] = v;
  }
  spec.config = all(args, 'config');
  spec.configNoreplace = all(args, 'config-noreplace');
  spec.doc = all(args, 'doc');
  spec.ghost = all(args, 'ghost');
  const owners: Record<string, { user: string; group: string }> = {};
  for (const o of all(args, 'owner')) {
    const m = /^(.+)=([^:=]+):([^:=]+)$/.exec(o);
    if (!m) throw new PhotonError('E_USAGE', `--owner expects PATH=USER:GROUP, not '${o}'`);
    owners[m[1]!] = { user: m[2]!, group: m[3]! };
  }
  spec.owners = owners;
  const scripts: PackSpec['scripts'] = {};
  for (const s of all(args, 'script')) {
    const eq = s.indexOf('=');
    const name = s.slice(0, eq);
    if (eq < 0 || !SCRIPT_NAMES.has(name)) throw new PhotonError('E_USAGE', `--script expects pre|post|preun|postun|pretrans|posttrans=FILE, not '${s}'`);
    const file = s.slice(eq + 1);
    const text = await readFile(file, 'utf8').catch((e: unknown) => {
      throw withFile(e, file);
    });
    const parsed = splitShebang(text);
    scripts[name as ScriptName] = parsed.interpreter !== undefined ? { body: parsed.body, interpreter: parsed.interpreter } : { body: parsed.body };
  }
  spec.scripts = scripts;
  const changelog = one(args, 'changelog');
  if (changelog !== undefined) {
    const text = await readFile(changelog, 'utf8').catch((e: unknown) => {
      throw withFile(e, changelog);
    });
    spec.changelog = parseChangelog(text, changelog);
  }
  const compression = one(args, 'compression');
  if (compression !== undefined) spec.compression = compressionFromName(compression);

  const bytes = await packRpm(spec);
  try {
    await writeFileAtomic(output, bytes);
  } catch (e) {
    throw withFile(e, output);
  }
  return 0;
}
