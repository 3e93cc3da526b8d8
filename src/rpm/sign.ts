/**
 * RPM v4 package signing as rpm 4.18's rpmsign --addsign does it: one OpenPGP signature over
 * the main header as stored (magic included, the same bytes SHA256HEADER covers), kept in the
 * signature header as RSAHEADER (268) — rpm files every non-DSA OpenPGP header signature
 * there, EdDSA included. The header and payload are left byte for byte, so the existing
 * digests stay valid.
 */
import { stat } from 'node:fs/promises';
import { type PublicKey, type SecretKey, type VerifyResult, signDetached, verifyDetached } from '../formats/openpgp.ts';
import { type HeaderValue, REGION_SIGNATURES, TagType, writeHeader } from '../formats/rpm-header.ts';
import { PhotonError, withFile } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { type RpmPackage, readPackage, readPackageFile, rewriteSignature, signatureEntries } from './package.ts';
import { SIGTAG } from './tags.ts';

export interface RpmSignOptions {
  hash?: 'sha256' | 'sha512';
  created?: Date;
}

/** Signatures that a new signature replaces; a stale one by another key would make rpm -K say NOKEY. */
const OLD_SIGNATURES = [SIGTAG.DSA, SIGTAG.RSA, SIGTAG.PGP, SIGTAG.GPG];

const pad8 = (n: number): number => (8 - (n % 8)) % 8;

/** The bytes rpm's header signature covers: magic plus the main header, all inside its region. */
export function signedHeaderBytes(pkg: RpmPackage, bytes: Uint8Array): Uint8Array {
  const raw = pkg.header.raw;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const fail = (msg: string): never => {
    throw new PhotonError('E_RPM_SIGN', msg, pkg.file === undefined ? {} : { file: pkg.file });
  };
  if (raw.length < 24 || dv.getInt32(8) !== 63) fail('main header has no immutable region; rpm signs only regioned headers');
  const il = dv.getUint32(0);
  const trailerAt = 8 + il * 16 + dv.getInt32(16);
  if (trailerAt < 0 || trailerAt + 16 > raw.length) fail('main header region trailer out of bounds');
  // rpm hashes only the region; entries added after it (as rpmdb does) would not be signed.
  if (-dv.getInt32(trailerAt + 8) / 16 !== il) fail('main header has entries outside its immutable region');
  return bytes.subarray(pkg.headerOffset, pkg.payloadOffset);
}

/**
 * Returns the package with its signature header rewritten to hold a new header signature.
 * rpmbuild's RESERVEDSPACE padding is shrunk by what the signature adds, as rpmsign does, so a
 * freshly built package usually keeps its size.
 */
export function signPackage(bytes: Uint8Array, key: SecretKey, options: RpmSignOptions = {}, file?: string): Uint8Array {
  const pkg = readPackage(bytes, file);
  const signature = signDetached(key, signedHeaderBytes(pkg, bytes), options);
  const entries = signatureEntries(pkg);
  for (const tag of OLD_SIGNATURES) entries.delete(tag);
  entries.set(SIGTAG.RSA, { type: TagType.BIN, value: signature });

  const reserved = entries.get(SIGTAG.RESERVEDSPACE);
  if (reserved?.type === TagType.BIN) {
    const oldSize = pkg.headerOffset - pkg.signatureOffset;
    const sizeWith = (e: Map<number, HeaderValue>): number => {
      const n = writeHeader(e, { magic: true, region: REGION_SIGNATURES }).length;
      return n + pad8(n);
    };
    const grow = sizeWith(entries) - oldSize;
    if (grow > 0 && grow < reserved.value.length) {
      entries.set(SIGTAG.RESERVEDSPACE, { type: TagType.BIN, value: new Uint8Array(reserved.value.length - grow) });
    }
  }
  return rewriteSignature(pkg, bytes, entries);
}

/** Signs a package file in place, atomically, keeping its permission bits. */
export async function signPackageFile(path: string, key: SecretKey, options: RpmSignOptions = {}): Promise<void> {
  const { bytes } = await readPackageFile(path);
  const signed = signPackage(bytes, key, options, path);
  try {
    const mode = (await stat(path)).mode & 0o7777;
    await writeFileAtomic(path, signed, mode);
  } catch (e) {
    throw withFile(e, path);
  }
}

/**
 * Checks the package's header signature (RSAHEADER, else DSAHEADER) against `keys`, as
 * rpm -K does for header-only signatures; the digests are verifyDigests' business.
 */
export function verifyPackageSignature(pkg: RpmPackage, bytes: Uint8Array, keys: readonly PublicKey[]): VerifyResult | { ok: false; reason: 'unsigned' } {
  const sig = pkg.signature.entries.get(SIGTAG.RSA) ?? pkg.signature.entries.get(SIGTAG.DSA);
  if (sig?.type !== TagType.BIN) return { ok: false, reason: 'unsigned' };
  let signed: Uint8Array;
  try {
    signed = signedHeaderBytes(pkg, bytes);
  } catch (e) {
    if (e instanceof PhotonError) return { ok: false, reason: 'malformed' };
    throw e;
  }
  return verifyDetached(keys, signed, sig.value);
}
