/**
 * Package recipes: `SPECS/<name>/recipe.yaml`, one folder a package, as Photon keeps one spec a
 * folder. A recipe names the Debian 12 binary packages a Photon package is made from and says
 * declaratively what Debian's maintainer scripts would have done (users, units, links, config),
 * because those scripts are never run. Every key is checked here, at the boundary: an unknown
 * key, a wrong type or a bad value is an error naming the recipe file and the key.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ARCHES, type Arch, efiArch } from '../util/arch.ts';
import { PhotonError } from '../util/errors.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
/** rpm's version/release alphabet: no '-' (it separates version and release), no whitespace. */
const RPM_VERSION = /^[A-Za-z0-9._+~^]+$/;
const ABS_PATH = /^\/[^\0]*$/;
const MODE = /^0?[0-7]{3,4}$/;

const name = z.string().regex(NAME, 'a package name: letters, digits and . _ + -');
/** `%{name}`, `%{version}`, `%{release}` and `%{evr}` expand to the recipe's, as in a spec file. */
const dep = z
  .string()
  .min(1)
  .refine((s) => !/[\n\r]/.test(s), 'one dependency per line')
  .refine((s) => !/%(?!\{(name|version|release|evr)\})/.test(s), 'only the macros %{name}, %{version}, %{release} and %{evr} are known');
const absPath = z.string().regex(ABS_PATH, 'an absolute path');
const debName = z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, 'a Debian package name');
const pathGlobs = z.array(absPath);

const script = z.union([
  z.string(),
  z.strictObject({ body: z.string().default(''), interpreter: z.string().min(1) }),
]);
const scripts = z.strictObject({
  pre: script.optional(),
  post: script.optional(),
  preun: script.optional(),
  postun: script.optional(),
  pretrans: script.optional(),
  posttrans: script.optional(),
});

const attrs = z.strictObject({
  mode: z.string().regex(MODE, 'an octal mode such as "0755"').optional(),
  user: z.string().min(1).optional(),
  group: z.string().min(1).optional(),
});

/** What one RPM (the main package or a sub-package) declares. */
const packageFields = {
  summary: z.string().min(1),
  description: z.string().optional(),
  requires: z.array(dep).default([]),
  provides: z.array(dep).default([]),
  conflicts: z.array(dep).default([]),
  obsoletes: z.array(dep).default([]),
  recommends: z.array(dep).default([]),
  /** %config(noreplace) files (globs). */
  config: pathGlobs.default([]),
  scripts: scripts.default({}),
  /** systemd units enabled/disabled by the package's preset, applied on install as %systemd_post does. */
  systemd: z
    .strictObject({ enable: z.array(z.string().min(1)).default([]), disable: z.array(z.string().min(1)).default([]) })
    .optional(),
  /** sysusers.d fragment (its text): shipped as /usr/lib/sysusers.d/<pkg>.conf and applied in %pre. */
  sysusers: z.string().min(1).optional(),
  /** tmpfiles.d fragment (its text): shipped as /usr/lib/tmpfiles.d/<pkg>.conf and applied in %post. */
  tmpfiles: z.string().min(1).optional(),
  /** Run ldconfig after install/erase; default: when the package ships a shared library with a SONAME. */
  ldconfig: z.boolean().optional(),
  /** Generate ELF/interpreter requires and provides as rpmbuild does (default true). */
  autodeps: z.boolean().default(true),
};

/** As a spec's ExclusiveArch: built only for these (default: every architecture). */
const exclusiveArch = z.array(z.enum(ARCHES, { error: 'x86_64 or aarch64' })).min(1).optional();

const subpackage = z.strictObject({
  /** The full package name, e.g. `systemd-udev`. */
  name,
  exclusiveArch,
  /** Paths (globs) moved out of the main package into this one. */
  files: pathGlobs.min(1),
  /** Default: the recipe's. */
  license: z.string().min(1).optional(),
  ...packageFields,
});

export const recipeSchema = z.strictObject({
  name,
  /** Default: the upstream part of the first Debian package's pinned version. */
  version: z.string().regex(RPM_VERSION, "an rpm version: letters, digits and . _ + ~ ^ (no '-')").optional(),
  /** The release number; the distribution's dist tag (e.g. `.ph5`) is appended. */
  release: z.number().int().positive().default(1),
  epoch: z.number().int().nonnegative().optional(),
  license: z.string().min(1),
  url: z.string().url().optional(),
  group: z.string().optional(),
  /** `noarch` for packages with no binaries; default: noarch when every input is. */
  arch: z.enum(['auto', 'noarch']).default('auto'),
  exclusiveArch,
  /**
   * Debian 12 binary packages whose files make up this package (versions pinned in
   * SPECS/debian.lock), by name or as `{name, exclusiveArch}` for those of some architectures.
   */
  debian: z
    .array(z.union([debName, z.strictObject({ name: debName, exclusiveArch: exclusiveArch.unwrap() })]))
    .default([]),
  /** Files of this project (paths relative to the repository root, e.g. `dist/tdnf.mjs`) installed at `to`. */
  project: z.array(z.strictObject({ from: z.string().min(1), to: absPath, mode: z.string().regex(MODE).optional() })).default([]),
  /**
   * Which files to take. Docs, man/info pages and locales are dropped by default, as Photon's
   * minimal images do; `keep` overrides every drop rule for the paths it matches.
   */
  trim: z
    .strictObject({
      docs: z.boolean().default(true),
      man: z.boolean().default(true),
      locales: z.boolean().default(true),
      drop: pathGlobs.default([]),
      keep: pathGlobs.default([]),
    })
    .default({ docs: true, man: true, locales: true, drop: [], keep: [] }),
  /** Symlinks to add (path → target, or {target, exclusiveArch}), e.g. what Debian's alternatives would have made. */
  symlinks: z.record(absPath, z.union([z.string().min(1), z.strictObject({ target: z.string().min(1), exclusiveArch: exclusiveArch.unwrap() })])).default({}),
  /** Small files written from the recipe (path → text), where the text or the path has a macro. */
  inline: z.record(absPath, z.string()).default({}),
  /** Files installed a second time at another path (to → from), e.g. an EFI image into the ESP. */
  copies: z.record(absPath, absPath).default({}),
  /** Empty directories to own, e.g. state directories a maintainer script would have made. */
  dirs: z.array(absPath).default([]),
  /** Mode/owner overrides per path (globs). */
  attrs: z.record(absPath, attrs).default({}),
  /** Build-time generators (see src/build/generators.ts), e.g. `ca-bundle`. */
  generate: z.array(z.string().min(1)).default([]),
  /** Recipes whose packages must be built first (their RPMs are inputs of a generator). */
  buildRequires: z.array(name).default([]),
  subpackages: z.array(subpackage).default([]),
  ...packageFields,
});

/** A recipe as built for one architecture: what that architecture does not get is gone. */
export type Recipe = Omit<z.infer<typeof recipeSchema>, 'debian' | 'exclusiveArch' | 'subpackages' | 'symlinks'> & {
  /** Debian packages for this architecture. */
  debian: string[];
  /** Symlinks for this architecture: path → target. */
  symlinks: Record<string, string>;
  subpackages: SubpackageRecipe[];
  /** The recipe's folder; files under `root/` there are laid over the package's tree. */
  dir: string;
  /** The recipe file, for messages. */
  file: string;
};
export type SubpackageRecipe = Omit<z.infer<typeof subpackage>, 'exclusiveArch'>;

/**
 * Macros a recipe's text may use for what differs between architectures, expanded before it is
 * read (as rpm expands a spec's): `%{_arch}` (x86_64), `%{debian_arch}` (amd64),
 * `%{deb_host_multiarch}` (x86_64-linux-gnu), `%{efi_arch}` and `%{efi_arch_upper}` (x64 and X64:
 * grubx64.efi, BOOTX64.EFI) and `%{grub_efi}` (x86_64-efi, GRUB's platform directory).
 */
export function archMacros(arch: Arch): { _arch: string; debian_arch: string; deb_host_multiarch: string; efi_arch: string; efi_arch_upper: string; grub_efi: string } {
  const x86 = arch === 'x86_64';
  return {
    _arch: arch,
    debian_arch: x86 ? 'amd64' : 'arm64',
    deb_host_multiarch: `${arch}-linux-gnu`,
    efi_arch: efiArch(arch),
    efi_arch_upper: efiArch(arch).toUpperCase(),
    grub_efi: x86 ? 'x86_64-efi' : 'arm64-efi',
  };
}

const ARCH_MACRO = /%\{(_arch|debian_arch|deb_host_multiarch|efi_arch|efi_arch_upper|grub_efi)\}/g;

export type ScriptValue = z.infer<typeof script>;

/** Distribution-wide settings: `SPECS/distribution.yaml`. */
export const distributionSchema = z.strictObject({
  /** Appended to every release, e.g. `.ph5`. */
  dist: z.string().regex(/^\.[A-Za-z0-9_]+$/, 'a dist tag such as ".ph5"'),
  vendor: z.string().min(1),
  packager: z.string().min(1).optional(),
  /** Build time and mtime ceiling of every package (SOURCE_DATE_EPOCH), so builds are reproducible. */
  sourceDateEpoch: z.number().int().positive(),
  /** Debian suite the lock file pins from. */
  debianSuite: z.string().min(1).default('bookworm'),
});
export type Distribution = z.infer<typeof distributionSchema>;

/** `a.b.c: message` for the first few problems zod found. */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => {
      const key = i.path.length ? i.path.map(String).join('.') : '(top level)';
      if (i.code === 'unrecognized_keys') {
        const where = i.path.length ? `${key}: ` : '';
        return `${where}unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `'${k}'`).join(', ')}`;
      }
      return `${key}: ${i.message}`;
    })
    .join('; ');
}

async function readYaml(file: string, macros: Readonly<Record<string, string>> = {}): Promise<unknown> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).replace(ARCH_MACRO, (m, k: string) => macros[k] ?? m);
  } catch (e) {
    throw new PhotonError('E_RECIPE', `cannot read: ${(e as Error).message}`, { file });
  }
  try {
    return parseYaml(text, { strict: true, uniqueKeys: true });
  } catch (e) {
    throw new PhotonError('E_RECIPE', `not valid YAML: ${(e as Error).message.split('\n')[0]}`, { file });
  }
}

/**
 * The recipe (already macro-expanded for `arch`) as built for `arch`; undefined when its
 * exclusiveArch leaves `arch` out.
 */
export function parseRecipe(data: unknown, file: string, dir: string, arch: Arch = 'x86_64'): Recipe | undefined {
  const parsed = recipeSchema.safeParse(data);
  if (!parsed.success) throw new PhotonError('E_RECIPE', describeIssues(parsed.error), { file });
  const forArch = (only: readonly Arch[] | undefined) => only === undefined || only.includes(arch);
  if (!forArch(parsed.data.exclusiveArch)) return undefined;
  const { exclusiveArch: _, ...all } = parsed.data;
  const r = {
    ...all,
    debian: all.debian.flatMap((d) => (typeof d === 'string' ? [d] : forArch(d.exclusiveArch) ? [d.name] : [])),
    subpackages: all.subpackages.filter((sp) => forArch(sp.exclusiveArch)).map(({ exclusiveArch: _x, ...sp }) => sp),
    symlinks: Object.fromEntries(Object.entries(all.symlinks).flatMap(([path, l]) =>
      typeof l === 'string' ? [[path, l]] : forArch(l.exclusiveArch) ? [[path, l.target]] : [])),
  };
  const folder = dir.split('/').filter(Boolean).pop();
  if (folder !== r.name) throw new PhotonError('E_RECIPE', `name: '${r.name}' differs from its folder '${folder}'`, { file });
  const names = new Set([r.name]);
  for (const [i, sp] of r.subpackages.entries()) {
    if (names.has(sp.name)) throw new PhotonError('E_RECIPE', `subpackages.${i}.name: '${sp.name}' is used twice`, { file });
    names.add(sp.name);
  }
  if (r.debian.length === 0 && r.version === undefined) {
    throw new PhotonError('E_RECIPE', 'version: required when the recipe takes no Debian package', { file });
  }
  return { ...r, dir, file };
}

/** The recipe in `dir` as built for `arch` (undefined: not built for it). */
export async function loadRecipe(dir: string, arch: Arch = 'x86_64'): Promise<Recipe | undefined> {
  const file = join(dir, 'recipe.yaml');
  return parseRecipe(await readYaml(file, archMacros(arch)), file, dir, arch);
}

export async function loadDistribution(specsDir: string): Promise<Distribution> {
  const file = join(specsDir, 'distribution.yaml');
  const parsed = distributionSchema.safeParse(await readYaml(file));
  if (!parsed.success) throw new PhotonError('E_RECIPE', describeIssues(parsed.error), { file });
  return parsed.data;
}

/** Every recipe under `specsDir` built for `arch`, sorted by name; a folder without recipe.yaml is an error. */
export async function loadRecipes(specsDir: string, arch: Arch = 'x86_64'): Promise<Recipe[]> {
  const out: Recipe[] = [];
  for (const entry of (await readdir(specsDir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!entry.isDirectory()) continue;
    const dir = join(specsDir, entry.name);
    const has = await stat(join(dir, 'recipe.yaml')).then(() => true, () => false);
    if (!has) throw new PhotonError('E_RECIPE', 'recipe folder without recipe.yaml', { file: dir });
    const r = await loadRecipe(dir, arch);
    if (r) out.push(r);
  }
  return out;
}

/** Every package name a recipe produces (main first). */
export function packageNames(r: Recipe): string[] {
  return [r.name, ...r.subpackages.map((s) => s.name)];
}
