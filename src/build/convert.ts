/**
 * One recipe → the PackSpecs of its RPMs. The steps, each a small function over one in-memory
 * tree: take the Debian data.tars → merge /usr → trim → lay the recipe's own files over →
 * generate → apply attributes → split sub-packages → per package: declared effects, automatic
 * dependencies, metadata.
 */
import { readFile, readdir, lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { readElf } from '../formats/elf.ts';
import type { TarEntry } from '../formats/tar.ts';
import { type PackFile, type PackSpec, SYSTEM_DIRS } from '../rpm/pack.ts';
import { RPMFILE } from '../rpm/tags.ts';
import { PhotonError } from '../util/errors.ts';
import { anyPathMatcher, pathMatcher } from '../util/glob.ts';
import { autoDeps } from './autodeps.ts';
import { type DebContents, type LockEntry, upstreamVersion } from './debian.ts';
import { type GeneratorContext, runGenerators } from './generators.ts';
import type { Distribution, Recipe, SubpackageRecipe } from './recipe.ts';
import { declaredEffects } from './scriptlets.ts';

export interface TreeNode {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  user: string;
  group: string;
  mtime: number;
  data?: Uint8Array;
  linkTo?: string;
  /** Path of the regular file this one is a hard link of. */
  hardlinkOf?: string | undefined;
  /** Where it came from, for messages: a Debian package name, `root/`, `project`, a generator. */
  origin: string;
  /** The path it had before /usr was merged, when it moved from /bin or /sbin. */
  movedFrom?: string | undefined;
  config?: boolean | undefined;
}

export type Tree = Map<string, TreeNode>;

export interface DebInput {
  name: string;
  pin: LockEntry;
  contents: DebContents;
}

export interface ConvertInput {
  recipe: Recipe;
  dist: Distribution;
  debs: DebInput[];
  /** The repository root, for `project` files. */
  projectRoot: string;
  /** RPM architecture of the build (x86_64, aarch64). */
  arch: string;
  generators: GeneratorContext;
}

export interface ConvertedPackage {
  name: string;
  spec: PackSpec;
}

/** Merged /usr (and /run): Debian 12 packages still ship the pre-merge paths. */
const MERGED: [string, string][] = [
  ['/bin', '/usr/bin'],
  ['/sbin', '/usr/sbin'],
  ['/lib64', '/usr/lib64'],
  ['/lib', '/usr/lib'],
  ['/var/run', '/run'],
  ['/var/lock', '/run/lock'],
];

export function canonicalPath(path: string): string {
  for (const [from, to] of MERGED) {
    if (path === from || path.startsWith(`${from}/`)) return to + path.slice(from.length);
  }
  return path;
}

/** Debian-only material nobody on Photon reads, dropped whatever `trim` says. */
const ALWAYS_DROP = ['/usr/share/lintian', '/usr/share/bug', '/usr/share/doc-base', '/etc/init.d', '/etc/rc?.d', '/usr/share/menu'];

function fromTar(e: TarEntry, origin: string, clamp: number): TreeNode | undefined {
  if (e.path === '.' || e.path === '') return undefined;
  const path = `/${e.path}`;
  const base = { path, mode: e.mode & 0o7777, user: e.uname || 'root', group: e.gname || 'root', mtime: Math.min(e.mtime, clamp), origin };
  switch (e.type) {
    case 'file':
      return { ...base, type: 'file', data: e.data ?? new Uint8Array() };
    case 'dir':
      return { ...base, type: 'dir' };
    case 'symlink':
      return { ...base, type: 'symlink', mode: 0o777, linkTo: e.linkTarget ?? '' };
    case 'hardlink':
      return { ...base, type: 'file', hardlinkOf: `/${(e.linkTarget ?? '').replace(/^\.?\//, '')}` };
    default:
      // Device nodes and fifos: udev and systemd make them at run time; a package cannot own them portably.
      return undefined;
  }
}

/** Step 1+2: the Debian trees, in recipe order, on merged /usr. */
export function debianTree(debs: readonly DebInput[], clamp: number): Tree {
  const tree: Tree = new Map();
  for (const deb of debs) {
    const conffiles = new Set((deb.contents.conffiles ?? []).map(canonicalPath));
    for (const e of deb.contents.entries) {
      const node = fromTar(e, deb.name, clamp);
      if (!node) continue;
      const canon = canonicalPath(node.path);
      if (canon !== node.path && (node.path.startsWith('/bin/') || node.path.startsWith('/sbin/'))) node.movedFrom = node.path;
      node.path = canon;
      if (node.hardlinkOf) node.hardlinkOf = canonicalPath(node.hardlinkOf);
      if (conffiles.has(canon)) node.config = true;
      const have = tree.get(canon);
      // After the merge a path can come twice (Debian's compat symlink /usr/bin/x → /bin/x next to
      // /bin/x): the real file wins over a symlink, and within a kind the later package wins.
      if (have && have.type !== 'symlink' && node.type === 'symlink' && have.origin === node.origin) continue;
      if (have?.type === 'dir' && node.type === 'dir') continue;
      tree.set(canon, node);
    }
  }
  return tree;
}

/** Step 3: what Photon's minimal images leave out. Licenses stay, under /usr/share/licenses. */
export function trimTree(tree: Tree, recipe: Recipe): void {
  const t = recipe.trim;
  const drop: string[] = [...ALWAYS_DROP, ...t.drop];
  if (t.docs) drop.push('/usr/share/doc', '/usr/share/gtk-doc');
  if (t.man) drop.push('/usr/share/man', '/usr/share/info');
  if (t.locales) drop.push('/usr/share/locale/*/**', '/usr/share/i18n/locales');
  const dropped = anyPathMatcher(drop, true);
  const kept = anyPathMatcher(t.keep, true);
  for (const [path, node] of [...tree]) {
    if (!dropped(path) || kept(path)) continue;
    tree.delete(path);
    const m = /^\/usr\/share\/doc\/([^/]+)\/copyright$/.exec(path);
    if (m && t.docs && node.type === 'file') {
      const to = `/usr/share/licenses/${m[1]}/copyright`;
      tree.set(to, { ...node, path: to });
    }
  }
}

async function walkOverlay(dir: string, prefix: string, out: TreeNode[], clamp: number): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  for (const n of names) {
    const host = join(dir, n);
    const path = `${prefix}/${n}`;
    const st = await lstat(host);
    const base = { path, user: 'root', group: 'root', mtime: clamp, origin: 'root/' };
    if (st.isDirectory()) {
      out.push({ ...base, type: 'dir', mode: st.mode & 0o7777 });
      await walkOverlay(host, path, out, clamp);
    } else if (st.isSymbolicLink()) out.push({ ...base, type: 'symlink', mode: 0o777, linkTo: await readlink(host) });
    else out.push({ ...base, type: 'file', mode: st.mode & 0o777, data: new Uint8Array(await readFile(host)) });
  }
}

function parseMode(s: string): number {
  return parseInt(s, 8);
}

/** Step 4: the recipe's own files, project files, links and directories. */
export async function overlayTree(tree: Tree, input: ConvertInput): Promise<void> {
  const { recipe, dist } = input;
  const clamp = dist.sourceDateEpoch;
  const overlay: TreeNode[] = [];
  await walkOverlay(join(recipe.dir, 'root'), '', overlay, clamp);
  for (const n of overlay) {
    // An overlay directory only makes parents; it does not take over a Debian directory's mode.
    if (n.type === 'dir' && tree.has(n.path)) continue;
    tree.set(n.path, n);
  }
  for (const [path, text] of Object.entries(recipe.inline)) {
    tree.set(path, { path, type: 'file', mode: 0o644, user: 'root', group: 'root', mtime: clamp, data: new TextEncoder().encode(text), origin: 'inline' });
  }
  for (const p of recipe.project) {
    const file = join(input.projectRoot, p.from);
    let data: Uint8Array;
    try {
      data = new Uint8Array(await readFile(file));
    } catch (e) {
      throw new PhotonError('E_RECIPE', `project: ${p.from}: ${(e as Error).message} (run npm run build first?)`, { file: recipe.file });
    }
    tree.set(p.to, { path: p.to, type: 'file', mode: p.mode ? parseMode(p.mode) : 0o644, user: 'root', group: 'root', mtime: clamp, data, origin: 'project' });
  }
  for (const [path, target] of Object.entries(recipe.symlinks)) {
    tree.set(path, { path, type: 'symlink', mode: 0o777, user: 'root', group: 'root', mtime: clamp, linkTo: target, origin: 'symlinks' });
  }
  for (const [to, from] of Object.entries(recipe.copies)) {
    const src = tree.get(from);
    if (src?.type !== 'file' || !src.data) throw new PhotonError('E_RECIPE', `copies: ${from} is not a regular file of the package`, { file: recipe.file });
    tree.set(to, { ...src, path: to, hardlinkOf: undefined, movedFrom: undefined, config: false, origin: 'copies' });
  }
  for (const path of recipe.dirs) {
    if (!tree.has(path)) tree.set(path, { path, type: 'dir', mode: 0o755, user: 'root', group: 'root', mtime: clamp, origin: 'dirs' });
  }
}

/** Step 6: modes and owners; a glob here names exactly the paths it matches. */
export function applyAttrs(tree: Tree, recipe: Recipe): void {
  for (const [glob, a] of Object.entries(recipe.attrs)) {
    const match = pathMatcher(glob, false);
    let hit = false;
    for (const node of tree.values()) {
      if (!match(node.path)) continue;
      hit = true;
      if (a.mode) node.mode = parseMode(a.mode);
      if (a.user) node.user = a.user;
      if (a.group) node.group = a.group;
    }
    if (!hit) throw new PhotonError('E_RECIPE', `attrs: '${glob}' matches no file of the package`, { file: recipe.file });
    const unowned = [...tree.values()].find((n) => match(n.path) && n.type === 'dir' && SYSTEM_DIRS.has(n.path) && !recipe.dirs.includes(n.path));
    if (unowned) throw new PhotonError('E_RECIPE', `attrs: ${unowned.path} is a well-known directory this package does not own (list it in dirs)`, { file: recipe.file });
  }
}

/** Step 7: main package first, then each sub-package takes the paths its `files` match (first match wins). */
export function splitTree(tree: Tree, recipe: Recipe): Map<string, Tree> {
  const out = new Map<string, Tree>([[recipe.name, new Map()]]);
  const tests = recipe.subpackages.map((s) => ({ name: s.name, match: anyPathMatcher(s.files, true), hits: 0 }));
  for (const s of recipe.subpackages) out.set(s.name, new Map());
  for (const node of tree.values()) {
    const t = tests.find((x) => x.match(node.path));
    if (t) t.hits++;
    out.get(t ? t.name : recipe.name)!.set(node.path, node);
  }
  for (const t of tests) {
    if (t.hits === 0) throw new PhotonError('E_RECIPE', `subpackages ${t.name}: files match nothing`, { file: recipe.file });
  }
  // A hard link whose other half went to another package (or was trimmed) becomes a copy.
  for (const part of out.values()) {
    for (const node of part.values()) {
      if (!node.hardlinkOf) continue;
      const head = part.get(node.hardlinkOf);
      if (head && head.type === 'file' && !head.hardlinkOf) continue;
      const src = tree.get(node.hardlinkOf);
      if (!src?.data) throw new PhotonError('E_RECIPE', `${node.path}: hard link to ${node.hardlinkOf}, which the package does not have`, { file: recipe.file });
      part.set(node.path, { ...node, hardlinkOf: undefined, data: src.data });
    }
  }
  return out;
}

function isElf(node: TreeNode): boolean {
  return node.type === 'file' && !!node.data && node.data.length > 4 && node.data[0] === 0x7f && node.data[1] === 0x45 && node.data[2] === 0x4c && node.data[3] === 0x46;
}

function packArch(recipe: Recipe, debs: readonly DebInput[], tree: Tree, arch: string): string {
  if (recipe.arch === 'noarch') return 'noarch';
  const anyElf = [...tree.values()].some((n) => isElf(n) && readElf(n.data!) !== undefined);
  if (anyElf) return arch;
  return debs.some((d) => d.pin.architecture !== 'all') ? arch : 'noarch';
}

/** Requires a package's own files or provides already satisfy are left out, as they can never fail. */
function selfSatisfied(dep: string, provides: Set<string>, tree: Tree): boolean {
  if (dep.startsWith('/')) return tree.has(dep);
  return provides.has(dep);
}

interface PackageDeps {
  requires: string[];
  provides: string[];
  hasSoname: boolean;
}

function automaticDeps(tree: Tree, enabled: boolean): PackageDeps {
  const requires = new Set<string>();
  const provides = new Set<string>();
  let hasSoname = false;
  for (const node of tree.values()) {
    if (node.movedFrom && node.type !== 'dir') provides.add(node.movedFrom);
    if (!enabled || node.type !== 'file' || !node.data) continue;
    // Debian ships shared objects 0644; rpm reads requires only from executable files, as
    // rpmbuild's packages install libraries 0755. Without this, a library's own DT_NEEDED
    // (libnode → libuv) would be invisible and the set would look closed when it is not.
    const mode = /\.so(\.[0-9.]+)?$/.test(node.path) ? node.mode | 0o111 : node.mode;
    const d = autoDeps(node.path, node.data, mode);
    for (const r of d.requires) requires.add(r);
    for (const p of d.provides) {
      provides.add(p);
      if (/\.so[.(]/.test(p)) hasSoname = true;
    }
  }
  const req = [...requires].filter((r) => !selfSatisfied(r, provides, tree));
  return { requires: req.sort(), provides: [...provides].sort(), hasSoname };
}

function packFiles(tree: Tree, claimSystemDirs: ReadonlySet<string>): PackFile[] {
  const files: PackFile[] = [];
  for (const node of [...tree.values()].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    if (node.type === 'dir' && SYSTEM_DIRS.has(node.path) && !claimSystemDirs.has(node.path)) continue;
    const f: PackFile = { path: node.path, type: node.type, mode: node.mode, user: node.user, group: node.group, mtime: node.mtime };
    if (node.type === 'file') {
      if (node.hardlinkOf) f.hardlinkOf = node.hardlinkOf;
      else f.data = node.data ?? new Uint8Array();
    }
    if (node.type === 'symlink') f.linkTo = node.linkTo ?? '';
    if (node.config && node.type === 'file') f.flags = RPMFILE.CONFIG | RPMFILE.NOREPLACE;
    files.push(f);
  }
  return files;
}

function description(recipe: Recipe, fields: SubpackageRecipe | Recipe, debs: readonly DebInput[]): string {
  if (fields.description) return fields.description.trimEnd();
  const d = debs[0]?.contents.control.get('Description');
  if (!d) return fields.summary;
  // Debian's long description: continuation lines, with " ." for blank lines.
  const lines = d.split('\n').slice(1).map((l) => (l === '.' ? '' : l));
  return lines.length ? lines.join('\n') : fields.summary;
}

/** The PackSpecs of every RPM the recipe makes. */
export async function convertRecipe(input: ConvertInput): Promise<ConvertedPackage[]> {
  const { recipe, dist, debs } = input;
  const clamp = dist.sourceDateEpoch;
  const tree = debianTree(debs, clamp);
  trimTree(tree, recipe);
  await overlayTree(tree, input);
  await runGenerators(tree, recipe, input.generators, clamp);

  const pinned = debs[0]?.pin.version;
  const version = recipe.version ?? upstreamVersion(pinned!);
  const release = `${recipe.release}${dist.dist}`;
  const arch = packArch(recipe, debs, tree, input.arch);
  const claim = new Set(recipe.dirs);

  // Declared effects ship files too (sysusers.d, tmpfiles.d, presets): add them before splitting.
  // Whether ldconfig runs is known only after the split; it changes the scripts, not the files.
  const effectsOf = (fields: Recipe | SubpackageRecipe, ldconfig: boolean) =>
    declaredEffects({ pkg: fields.name, sysusers: fields.sysusers, tmpfiles: fields.tmpfiles, systemd: fields.systemd, ldconfig, scripts: fields.scripts });
  const effects = new Map<string, ReturnType<typeof declaredEffects>>();
  for (const fields of [recipe, ...recipe.subpackages]) {
    const e = effectsOf(fields, false);
    effects.set(fields.name, e);
    for (const f of e.files) {
      tree.set(f.path, { path: f.path, type: 'file', mode: 0o644, user: 'root', group: 'root', mtime: clamp, data: new TextEncoder().encode(f.text), origin: 'recipe' });
    }
  }
  applyAttrs(tree, recipe);
  const config = anyPathMatcher(recipe.config, true);
  for (const node of tree.values()) if (config(node.path)) node.config = true;
  const parts = splitTree(tree, recipe);
  for (const sp of recipe.subpackages) {
    const cfg = anyPathMatcher(sp.config, true);
    for (const node of parts.get(sp.name)!.values()) if (cfg(node.path)) node.config = true;
  }
  // Generated files belong to the package they were made for, whatever the split globs say.
  for (const fields of recipe.subpackages) {
    for (const f of effects.get(fields.name)!.files) {
      for (const part of parts.values()) part.delete(f.path);
      parts.get(fields.name)!.set(f.path, tree.get(f.path)!);
    }
  }

  const evr = `${recipe.epoch !== undefined ? `${recipe.epoch}:` : ''}${version}-${release}`;
  const macros: Record<string, string> = { name: recipe.name, version, release, evr };
  const expand = (deps: readonly string[]) => deps.map((d) => d.replace(/%\{(\w+)\}/g, (_, m: string) => macros[m]!));
  const out: ConvertedPackage[] = [];
  for (const fields of [recipe, ...recipe.subpackages] as (Recipe | SubpackageRecipe)[]) {
    const part = parts.get(fields.name)!;
    const deps = automaticDeps(part, fields.autodeps);
    const ldconfig = fields.ldconfig ?? deps.hasSoname;
    const e = ldconfig ? effectsOf(fields, true) : effects.get(fields.name)!;
    const files = packFiles(part, claim);
    const spec: PackSpec = {
      name: fields.name,
      version,
      release,
      arch,
      summary: fields.summary,
      description: description(recipe, fields, debs),
      license: fields.license ?? recipe.license,
      vendor: dist.vendor,
      buildHost: 'photon-build',
      buildTime: clamp,
      requires: [...expand(fields.requires), ...deps.requires],
      provides: [...expand(fields.provides), ...deps.provides],
      conflicts: expand(fields.conflicts),
      obsoletes: expand(fields.obsoletes),
      recommends: expand(fields.recommends),
      files,
      scripts: e.scripts,
      compression: 'zstd',
      compressionLevel: 3,
    };
    if (recipe.epoch !== undefined) spec.epoch = recipe.epoch;
    const url = recipe.url ?? debs[0]?.contents.control.get('Homepage');
    if (url) spec.url = url;
    if (recipe.group) spec.group = recipe.group;
    if (dist.packager) spec.packager = dist.packager;
    out.push({ name: fields.name, spec });
  }
  return out;
}
