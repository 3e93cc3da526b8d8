/**
 * Build-time generators: files Debian makes in maintainer scripts on the target (the CA bundle,
 * module dependency maps) are made once, at build time, so the package ships them and `rpm -V`
 * accounts for them.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import type { Tree, TreeNode } from './convert.ts';
import type { Recipe } from './recipe.ts';

export interface GeneratorContext {
  /** The build's public signing key, armored. */
  publicKey: string;
}

type Generator = (tree: Tree, ctx: GeneratorContext, clamp: number, recipe: Recipe) => Promise<void>;

const fileNode = (path: string, data: Uint8Array | string, clamp: number, origin: string): TreeNode => ({
  path,
  type: 'file',
  mode: 0o644,
  user: 'root',
  group: 'root',
  mtime: clamp,
  data: typeof data === 'string' ? new TextEncoder().encode(data) : data,
  origin,
});

const linkNode = (path: string, linkTo: string, clamp: number, origin: string): TreeNode => ({
  path,
  type: 'symlink',
  mode: 0o777,
  user: 'root',
  group: 'root',
  mtime: clamp,
  linkTo,
  origin,
});

const dirNode = (path: string, clamp: number, origin: string): TreeNode => ({ path, type: 'dir', mode: 0o755, user: 'root', group: 'root', mtime: clamp, origin });

/** What update-ca-certificates writes from Mozilla's set, in Photon's location (ca-bundle.crt). */
const caBundle: Generator = async (tree, _ctx, clamp, recipe) => {
  const certs = [...tree.values()]
    .filter((n) => n.type === 'file' && /^\/usr\/share\/ca-certificates\/.+\.crt$/.test(n.path))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  if (certs.length === 0) throw new PhotonError('E_RECIPE', 'generate ca-bundle: no certificates under /usr/share/ca-certificates', { file: recipe.file });
  const parts = certs.map((n) => {
    const text = new TextDecoder().decode(n.data);
    return text.endsWith('\n') ? text : `${text}\n`;
  });
  const bundle = '/etc/pki/tls/certs/ca-bundle.crt';
  for (const d of ['/etc/pki', '/etc/pki/tls', '/etc/pki/tls/certs', '/etc/ssl', '/etc/ssl/certs']) if (!tree.has(d)) tree.set(d, dirNode(d, clamp, 'ca-bundle'));
  tree.set(bundle, fileNode(bundle, parts.join(''), clamp, 'ca-bundle'));
  tree.set('/etc/ssl/certs/ca-certificates.crt', linkNode('/etc/ssl/certs/ca-certificates.crt', '../../pki/tls/certs/ca-bundle.crt', clamp, 'ca-bundle'));
  tree.set('/etc/pki/tls/cert.pem', linkNode('/etc/pki/tls/cert.pem', 'certs/ca-bundle.crt', clamp, 'ca-bundle'));
};

const signingKey: Generator = async (tree, ctx, clamp) => {
  for (const d of ['/etc/pki', '/etc/pki/rpm-gpg']) if (!tree.has(d)) tree.set(d, dirNode(d, clamp, 'signing-key'));
  const path = '/etc/pki/rpm-gpg/RPM-GPG-KEY-photon';
  tree.set(path, fileNode(path, ctx.publicKey, clamp, 'signing-key'));
};

/** modules.dep & co. by the host's depmod over the package's own module tree. */
const depmod: Generator = async (tree, _ctx, clamp, recipe) => {
  const versions = new Set<string>();
  for (const p of tree.keys()) {
    const m = /^\/usr\/lib\/modules\/([^/]+)\/kernel\//.exec(p);
    if (m) versions.add(m[1]!);
  }
  if (versions.size === 0) throw new PhotonError('E_RECIPE', 'generate depmod: no /usr/lib/modules/<version>/kernel in the package', { file: recipe.file });
  const tmp = await mkdtemp(join(tmpdir(), 'photon-depmod-'));
  try {
    for (const node of tree.values()) {
      if (!node.path.startsWith('/usr/lib/modules/')) continue;
      const host = join(tmp, 'lib', node.path.slice('/usr/lib/'.length));
      if (node.type === 'dir') await mkdir(host, { recursive: true });
      else {
        await mkdir(dirname(host), { recursive: true });
        if (node.type === 'symlink') await symlink(node.linkTo!, host);
        else if (node.data) await writeFile(host, node.data);
      }
    }
    for (const v of versions) {
      await run('depmod', ['-b', tmp, v]);
      const dir = join(tmp, 'lib', 'modules', v);
      for (const name of (await readdir(dir)).sort()) {
        if (!name.startsWith('modules.')) continue;
        const path = `/usr/lib/modules/${v}/${name}`;
        if (tree.get(path)?.origin !== 'depmod' && tree.has(path)) continue;
        tree.set(path, fileNode(path, new Uint8Array(await readFile(join(dir, name))), clamp, 'depmod'));
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
};

const GENERATORS: Record<string, Generator> = { 'ca-bundle': caBundle, 'signing-key': signingKey, depmod };

export const GENERATOR_NAMES = Object.keys(GENERATORS);

export async function runGenerators(tree: Tree, recipe: Recipe, ctx: GeneratorContext, clamp: number): Promise<void> {
  for (const name of recipe.generate) {
    const g = GENERATORS[name];
    if (!g) throw new PhotonError('E_RECIPE', `generate: unknown generator '${name}' (known: ${GENERATOR_NAMES.join(', ')})`, { file: recipe.file });
    await g(tree, ctx, clamp, recipe);
  }
}
