/**
 * File system work for the installer, confined to a root: every parent directory is resolved
 * by us, component by component, with symlinks followed as a chroot would (absolute targets
 * start again at the root) and any `..` that would climb above the root refused. Files are
 * written under temporary names beside their targets and renamed into place only when the
 * whole package has been written, as rpm's fsm does.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, lchown, link, lstat, lutimes, mkdir, open, readFile, readlink, rename, rm, rmdir, symlink, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { PhotonError } from '../util/errors.ts';

const MAX_LINKS = 40;

function escape(path: string, why: string): PhotonError {
  return new PhotonError('E_INSTALL_UNSAFE_PATH', `${path}: ${why}`, { file: path });
}

/**
 * The real directory for the root-relative directory `dir` (absolute, e.g. '/usr/lib'). With
 * `create`, missing components are made (0755) and reported through `created`; without it, a
 * missing component ends the walk and the rest is taken as directories still to be made.
 */
export async function resolveDir(root: string, dir: string, create: boolean, created?: string[]): Promise<string> {
  let parts: string[] = [];
  let queue = dir.split('/').filter((c) => c !== '' && c !== '.');
  let hops = 0;
  let missing = false;
  while (queue.length) {
    const c = queue.shift()!;
    if (c === '.' || c === '') continue;
    if (c === '..') {
      if (!parts.length) throw escape(dir, 'a symlink on the way leads outside the root');
      parts.pop();
      continue;
    }
    const p = join(root, ...parts, c);
    if (missing) {
      parts.push(c);
      continue;
    }
    const st = await lstat(p).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (!st) {
      if (!create) {
        missing = true;
        parts.push(c);
        continue;
      }
      await mkdir(p, { mode: 0o755 });
      created?.push(p);
      parts.push(c);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++hops > MAX_LINKS) throw escape(dir, 'too many levels of symbolic links');
      const target = await readlink(p);
      if (target.startsWith('/')) parts = [];
      queue = [...target.split('/'), ...queue];
      continue;
    }
    if (!st.isDirectory()) throw new PhotonError('E_INSTALL_CONFLICT', `${posix.join('/', ...parts, c)} is not a directory`, { file: p });
    parts.push(c);
  }
  return join(root, ...parts);
}

/** The host path for the root-relative file `path`: its parent resolved, its last component kept (never followed). */
export async function resolveFile(root: string, path: string, create: boolean, created?: string[]): Promise<string> {
  const dir = posix.dirname(path);
  return join(await resolveDir(root, dir, create, created), posix.basename(path));
}

/** Users and groups by name from the root's /etc/passwd and /etc/group; unknown names map to 0, as rpm does. */
export class IdMap {
  private users = new Map<string, number>();
  private groups = new Map<string, number>();

  static async load(root: string): Promise<IdMap> {
    const m = new IdMap();
    const read = async (f: string) => (await readFile(join(root, f), 'utf8').catch(() => '')).split('\n');
    for (const line of await read('etc/passwd')) {
      const f = line.split(':');
      if (f.length >= 4 && f[0] && /^\d+$/.test(f[2]!)) m.users.set(f[0], Number(f[2]));
    }
    for (const line of await read('etc/group')) {
      const f = line.split(':');
      if (f.length >= 3 && f[0] && /^\d+$/.test(f[2]!)) m.groups.set(f[0], Number(f[2]));
    }
    return m;
  }

  uid(name: string): number {
    return this.users.get(name) ?? 0;
  }

  gid(name: string): number {
    return this.groups.get(name) ?? 0;
  }
}

export const canChown = typeof process.getuid === 'function' && process.getuid() === 0;

/** rpm's temporary name beside a target: `name;` plus 8 hex digits. */
export function tempName(target: string): string {
  return `${target};${randomBytes(4).toString('hex')}`;
}

export interface Meta {
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
}

async function setMeta(p: string, m: Meta, isLink: boolean): Promise<void> {
  if (isLink) {
    if (canChown) await lchown(p, m.uid, m.gid);
    await lutimes(p, m.mtime, m.mtime).catch(() => undefined);
    return;
  }
  // chown first: it clears set-id bits that chmod then restores.
  if (canChown) await chown(p, m.uid, m.gid);
  await chmod(p, m.mode & 0o7777);
  await utimes(p, m.mtime, m.mtime);
}

export async function writeTempFile(target: string, data: Uint8Array, m: Meta): Promise<string> {
  const tmp = tempName(target);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
  await setMeta(tmp, m, false);
  return tmp;
}

export async function writeTempSymlink(target: string, linkTo: string, m: Meta): Promise<string> {
  const tmp = tempName(target);
  await symlink(linkTo, tmp);
  await setMeta(tmp, m, true);
  return tmp;
}

export async function linkTemp(existingTmp: string, target: string): Promise<string> {
  const tmp = tempName(target);
  await link(existingTmp, tmp);
  return tmp;
}

/** Makes `target` a directory with `m`, keeping an existing directory or a symlink to one. */
export async function ensureDir(root: string, rootPath: string, target: string, m: Meta): Promise<void> {
  const st = await lstat(target).catch(() => undefined);
  if (st?.isSymbolicLink()) {
    // /lib -> usr/lib in a merged-/usr root: rpm keeps the link when it leads to a directory.
    await resolveDir(root, rootPath, false);
    return;
  }
  if (st && !st.isDirectory()) throw new PhotonError('E_INSTALL_CONFLICT', `${rootPath} exists and is not a directory`, { file: target });
  if (!st) await mkdir(target, { mode: 0o700 });
  await setMeta(target, m, false);
}

export async function commit(tmp: string, target: string): Promise<void> {
  const st = await lstat(target).catch(() => undefined);
  if (st?.isDirectory()) throw new PhotonError('E_INSTALL_CONFLICT', `${target} is a directory; refusing to replace it with a file`, { file: target });
  await rename(tmp, target);
}

/** Digest of what is at `p` as rpm's FILEDIGESTS records it; '' for symlinks, undefined if absent or not a file. */
export async function digestOf(p: string, algo: string): Promise<string | undefined> {
  const st = await lstat(p).catch(() => undefined);
  if (!st) return undefined;
  if (!st.isFile()) return st.isSymbolicLink() ? '' : undefined;
  return createHash(algo).update(await readFile(p)).digest('hex');
}

export async function removePath(p: string): Promise<void> {
  const st = await lstat(p).catch(() => undefined);
  if (!st) return;
  if (st.isDirectory()) await rmdir(p).catch(() => undefined);
  else await rm(p, { force: true });
}

export { rename };
