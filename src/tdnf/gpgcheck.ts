/**
 * tdnf's package signature check (client/gpgcheck.c TDNFGPGCheckPackage): for a repo with
 * gpgcheck=1, every package's header signature must verify against a key in the root's rpmdb
 * (gpg-pubkey entries, as rpm --import makes them: _tx_pubkey.ts). A key not imported yet is
 * fetched from the repo's gpgkey URLs, after tdnf's "importing key from URL" and
 * "Is this ok [y/N]: " (a confirm callback; -y answers yes), imported, and the package checked
 * again. Remote keys are cached in `<cachedir>/<repoid>/keys/` as tdnf does.
 *
 * Errors (tdnf's codes and words): unsigned 1510, unknown key and no gpgkey 1523, no imported
 * key verifies it 1514, unreadable signature 1513, refused import 1032, key file without a
 * public key 1505, unsupported key URL 1508.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PublicKey, readPublicKeys } from '../formats/openpgp.ts';
import { type RpmPackage, readPackageFile, verifyDigests } from '../rpm/package.ts';
import { openRpmdb } from '../rpm/rpmdb.ts';
import { verifyPackageSignature } from '../rpm/sign.ts';
import { fetchFile } from '../repo/fetch.ts';
import { TDNF, TdnfError } from './errors.ts';
import { pubkeyBytes, pubkeyHeaderBlob, pubkeyRelease, pubkeyVersion } from './_tx_pubkey.ts';

export const MSG = {
  NOT_SIGNED: 'RPM not signed. Use --skipsignature or --nogpgcheck to ignore.',
  NO_MATCH: 'RPM is signed but failed to match with known keys. Use --skipsignature or --nogpgcheck to ignore.',
  NO_GPGKEY: 'gpgkey entry is missing for this repo. please add gpgkey in repo file or use --nogpgcheck to ignore.',
} as const;

export interface RepoKeys {
  id: string;
  gpgcheck: boolean;
  /** gpgkey URLs (file://, http://, https://). */
  gpgkey: readonly string[];
}

export interface GpgCheckOptions {
  /** --nogpgcheck */
  nogpgcheck?: boolean;
  /** --skipsignature */
  skipsignature?: boolean;
  /** --skipdigest */
  skipdigest?: boolean;
  dbpath?: string;
  /** Where remote keys are downloaded: `<cachedir>/<repoid>/keys/`. */
  cachedir?: string;
  /** tdnf's question; -y answers true without asking. */
  confirm: (question: string) => boolean | Promise<boolean>;
  /** Informational lines tdnf prints ("importing key from URL"). */
  onInfo?: (line: string) => void;
  now?: number;
}

/** The public keys imported into the root's rpmdb. */
export async function importedKeys(root: string, dbpath?: string): Promise<PublicKey[]> {
  const db = await openRpmdb(root, { readonly: true, ...(dbpath ? { dbpath } : {}) }).catch(() => undefined);
  if (!db) return [];
  try {
    const out: PublicKey[] = [];
    for (const p of db.findByName('gpg-pubkey')) {
      const bytes = pubkeyBytes(p);
      if (!bytes) continue;
      try {
        out.push(...readPublicKeys(bytes));
      } catch {
        // An entry we cannot parse (an algorithm we lack) verifies nothing; rpm skips it too.
      }
    }
    return out;
  } finally {
    db.close();
  }
}

/**
 * Imports every public key in `data` (armored or binary) into the root's rpmdb as rpm --import
 * does; keys already there (same version-release) are skipped. Returns the NEVRs added.
 */
export async function importKeys(root: string, data: string | Uint8Array, opts: { dbpath?: string; now?: number } = {}): Promise<string[]> {
  let keys: PublicKey[];
  try {
    keys = readPublicKeys(data);
  } catch (e) {
    throw new TdnfError(TDNF.INVALID_PUBKEY_FILE, `no public key found: ${(e as Error).message}`, { cause: e });
  }
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const db = await openRpmdb(root, { create: true, ...(opts.dbpath ? { dbpath: opts.dbpath } : {}) });
  const added: string[] = [];
  try {
    await db.transaction((tx) => {
      const have = new Set([...tx.packages()].filter((p) => p.name === 'gpg-pubkey').map((p) => `${p.version}-${p.release}`));
      for (const k of keys) {
        const vr = `${pubkeyVersion(k)}-${pubkeyRelease(k)}`;
        if (have.has(vr)) continue;
        have.add(vr);
        tx.add(pubkeyHeaderBlob(k, now));
        added.push(`gpg-pubkey-${vr}`);
      }
    });
  } finally {
    db.close();
  }
  return added;
}

async function fetchKey(url: string, repo: string, opts: GpgCheckOptions): Promise<Uint8Array> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'file') return new Uint8Array(await readFile(fileURLToPath(url)));
  if (scheme === 'http' || scheme === 'https') {
    const dir = posix.join(opts.cachedir ?? '/var/cache/tdnf', repo, 'keys');
    const path = posix.normalize(posix.join(dir, new URL(url).pathname));
    if (!path.startsWith(`${dir}/`)) throw new TdnfError(TDNF.KEYURL_INVALID, `Error processing key: ${url}`);
    await mkdir(posix.dirname(path), { recursive: true });
    await fetchFile([url], path);
    return new Uint8Array(await readFile(path));
  }
  if (!scheme) throw new TdnfError(TDNF.KEYURL_INVALID, `Error processing key: ${url}`);
  throw new TdnfError(TDNF.KEYURL_UNSUPPORTED, `Error processing key: ${url}: unsupported scheme ${scheme}`);
}

type Verdict = 'ok' | 'unsigned' | 'unknown-key' | 'bad-signature' | 'malformed';

function verdict(pkg: RpmPackage, bytes: Uint8Array, keys: readonly PublicKey[]): Verdict {
  const r = verifyPackageSignature(pkg, bytes, keys);
  return r.ok ? 'ok' : r.reason;
}

/**
 * Checks one downloaded package from `repo`: digests (unless --skipdigest), then the signature
 * when the repo has gpgcheck and neither --nogpgcheck nor --skipsignature is given.
 */
export async function gpgCheckPackage(root: string, file: string, repo: RepoKeys, opts: GpgCheckOptions): Promise<void> {
  const { pkg, bytes } = await readPackageFile(file);
  if (!opts.skipdigest) {
    const d = verifyDigests(pkg, bytes);
    if (d.header === 'bad' || d.payload === 'bad') {
      throw new TdnfError(TDNF.RPMRC_FAIL, `${file}: ${d.header === 'bad' ? 'Header SHA256' : 'Payload SHA256'} digest: BAD`);
    }
  }
  if (opts.nogpgcheck || opts.skipsignature || !repo.gpgcheck) return;
  const dbpath = opts.dbpath ? { dbpath: opts.dbpath } : {};
  let v = verdict(pkg, bytes, await importedKeys(root, opts.dbpath));
  if (v === 'ok') return;
  if (v === 'unsigned') throw new TdnfError(TDNF.RPM_NOT_SIGNED, MSG.NOT_SIGNED);
  if (v === 'malformed') throw new TdnfError(TDNF.RPM_GPG_PARSE_FAILED, `Error verifying signature of: ${file}`);
  if (v === 'unknown-key') {
    if (repo.gpgkey.length === 0) throw new TdnfError(TDNF.NO_GPGKEY_CONF_ENTRY, MSG.NO_GPGKEY);
    for (const url of repo.gpgkey) {
      opts.onInfo?.(`importing key from ${url}`);
      if (!(await opts.confirm('Is this ok [y/N]: '))) throw new TdnfError(TDNF.OPERATION_ABORTED, 'Operation aborted.');
      await importKeys(root, await fetchKey(url, repo.id, opts), { ...dbpath, ...(opts.now !== undefined ? { now: opts.now } : {}) });
    }
    v = verdict(pkg, bytes, await importedKeys(root, opts.dbpath));
    if (v === 'ok') return;
  }
  throw new TdnfError(TDNF.RPM_GPG_NO_MATCH, MSG.NO_MATCH);
}
