/**
 * OpenPGP keys and detached signatures on node:crypto, enough to sign RPM headers and
 * repomd.xml the way gpg does (so rpm 4.18 and gpg accept them) and to check such signatures
 * (tdnf's gpgcheck). v4 keys and signatures only; RSA and Ed25519 sign, RSA, Ed25519 and ECDSA
 * verify.
 *
 * Error codes: E_PGP_MALFORMED (bad armor, framing, lengths, checksums), E_PGP_UNSUPPORTED
 * (key/signature version or algorithm we do not handle), E_PGP_KEY_ENCRYPTED (passphrase-protected
 * secret key), E_PGP_NOT_SECRET (a public key where a secret one is needed), E_PGP_NO_SIGNING_KEY
 * (no usable signing key or subkey), E_PGP_BAD_OPTION (bad signDetached option).
 */
import { createHash, createPrivateKey, createPublicKey, createVerify, constants, privateEncrypt, publicDecrypt, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { PhotonError } from '../util/errors.ts';
import {
  ALGO, CURVES, HASHES, Reader, TAG, armorBlock, bigIntToBytes, binaryInput, bytesToBigInt, concatBytes, dearmorAll,
  encodeMpi, encodeSubpacket, fixedSize, keyFlags, keyHashPrefix, malformed, parseKeyParams, parseSignature, readPackets,
  toHex, u32be, writePacket, type KeyParams, type Signature,
} from './_openpgp_packets.ts';

export interface PublicKeyPacket {
  /** OpenPGP public-key algorithm: 1 RSA, 17 DSA, 18 ECDH, 19 ECDSA, 22 EdDSA, ... */
  readonly algorithm: number;
  readonly created: Date;
  /** v4 fingerprint (SHA-1), 40 lowercase hex digits. */
  readonly fingerprint: string;
  /** The fingerprint's last 8 bytes, 16 lowercase hex digits. */
  readonly keyId: string;
  /** Whether its self-signature allows signing (or, without key flags, whether the algorithm can). */
  readonly canSign: boolean;
  /** The public key packet body the fingerprint covers. */
  readonly body: Uint8Array;
}

export interface PublicSubkey extends PublicKeyPacket {
  /** Whether a binding signature by the primary key verified: only bound subkeys verify anything. */
  readonly bound: boolean;
}

export interface PublicKey extends PublicKeyPacket {
  readonly userIds: readonly string[];
  readonly subkeys: readonly PublicSubkey[];
  /** The transferable public key (binary packets), for `armor('PUBLIC KEY BLOCK', ...)`. */
  readonly packets: Uint8Array;
}

export interface SecretKey {
  /** The whole certificate: primary key, user IDs, subkeys. */
  readonly publicKey: PublicKey;
  /** Fingerprint and key ID of the key that signs: the primary key, or a signing subkey. */
  readonly fingerprint: string;
  readonly keyId: string;
  readonly algorithm: number;
  readonly privateKey: KeyObject;
}

export type VerifyResult =
  | { ok: true; keyId: string; fingerprint: string; primaryFingerprint: string }
  | { ok: false; reason: 'unknown-key' | 'bad-signature' | 'malformed'; keyId?: string };

// ---------------------------------------------------------------------------------------------
// Armor

export function dearmor(text: string): { type: string; data: Uint8Array } {
  const first = dearmorAll(text)[0];
  if (!first) throw malformed('no "-----BEGIN PGP ...-----" armor found');
  return first;
}

export function armor(type: 'PUBLIC KEY BLOCK' | 'PRIVATE KEY BLOCK' | 'SIGNATURE', data: Uint8Array): string {
  return armorBlock(type, data);
}

// ---------------------------------------------------------------------------------------------
// Certificates

type SecretState =
  | { kind: 'none' }
  | { kind: 'clear'; secret: Uint8Array }
  | { kind: 'encrypted' }
  | { kind: 'stub' };

interface RawKey {
  body: Uint8Array; // public part only
  params: KeyParams;
  fingerprint: string;
  keyId: string;
  secret: SecretState;
  sigs: Signature[];
}

interface RawCert {
  primary: RawKey;
  userIds: string[];
  subkeys: RawKey[];
  out: Uint8Array[];
}

const SIGNING_ALGOS: ReadonlySet<number> = new Set([ALGO.rsa, ALGO.rsaSign, ALGO.dsa, ALGO.ecdsa, ALGO.eddsa]);

function rawKey(body: Uint8Array, isSecret: boolean): RawKey {
  const params = parseKeyParams(body);
  const pub = body.subarray(0, params.publicLength);
  const fp = toHex(createHash('sha1').update(keyHashPrefix(pub)).digest());
  let secret: SecretState = { kind: 'none' };
  if (isSecret) secret = readSecretState(body.subarray(params.publicLength));
  else if (params.publicLength !== body.length) throw malformed('public key packet has trailing bytes');
  return { body: pub, params, fingerprint: fp, keyId: fp.slice(-16), secret, sigs: [] };
}

function readSecretState(rest: Uint8Array): SecretState {
  const r = new Reader(rest, 'secret key material');
  const usage = r.u8();
  if (usage === 0) {
    const secret = r.take(r.left - 2);
    const want = r.u16();
    let sum = 0;
    for (const b of secret) sum = (sum + b) & 0xffff;
    if (sum !== want) throw malformed('secret key checksum mismatch');
    return { kind: 'clear', secret };
  }
  if (usage === 254 || usage === 255) {
    r.u8(); // symmetric algorithm
    // GnuPG's S2K 101 "GNU" marks a secret that is absent (mode 1) or on a smartcard (mode 2).
    if (r.u8() === 101 && r.left >= 4) {
      const gnu = r.take(3);
      if (gnu[0] === 0x47 && gnu[1] === 0x4e && gnu[2] === 0x55) return { kind: 'stub' };
    }
  }
  return { kind: 'encrypted' };
}

function parseCerts(bytes: Uint8Array): { certs: RawCert[]; skipped: PhotonError[] } {
  const certs: RawCert[] = [];
  const skipped: PhotonError[] = [];
  let cur: RawCert | undefined;
  // Where following signature packets belong; undefined while skipping an unusable subkey.
  let target: RawKey | undefined;
  const utf8 = new TextDecoder();
  for (const p of readPackets(bytes)) {
    switch (p.tag) {
      case TAG.secretKey:
      case TAG.publicKey: {
        cur = undefined;
        target = undefined;
        try {
          const primary = rawKey(p.body, p.tag === TAG.secretKey);
          cur = { primary, userIds: [], subkeys: [], out: [writePacket(TAG.publicKey, primary.body)] };
          certs.push(cur);
          target = primary;
        } catch (e) {
          if (!(e instanceof PhotonError) || e.code !== 'E_PGP_UNSUPPORTED') throw e;
          skipped.push(e);
        }
        break;
      }
      case TAG.secretSubkey:
      case TAG.publicSubkey: {
        if (!cur) break;
        target = undefined;
        try {
          const sub = rawKey(p.body, p.tag === TAG.secretSubkey);
          cur.subkeys.push(sub);
          cur.out.push(writePacket(TAG.publicSubkey, sub.body));
          target = sub;
        } catch (e) {
          // An encryption subkey of an algorithm we do not know must not cost us the certificate.
          if (!(e instanceof PhotonError) || e.code !== 'E_PGP_UNSUPPORTED') throw e;
        }
        break;
      }
      case TAG.userId:
      case TAG.userAttribute:
        if (!cur) break;
        if (p.tag === TAG.userId) cur.userIds.push(utf8.decode(p.body));
        cur.out.push(writePacket(p.tag, p.body));
        target = cur.primary;
        break;
      case TAG.signature:
        if (!cur || !target) break;
        cur.out.push(writePacket(p.tag, p.body));
        try {
          target.sigs.push(parseSignature(p.body));
        } catch (e) {
          // A certification we cannot read is one we cannot rely on; the key is still usable.
          if (!(e instanceof PhotonError)) throw e;
        }
        break;
      default:
        break; // trust, marker and unknown packets carry nothing we need
    }
  }
  return { certs, skipped };
}

function latestFlags(sigs: readonly Signature[], types: (t: number) => boolean, issuer: string): number | undefined {
  let best: Signature | undefined;
  for (const s of sigs) {
    if (!types(s.type) || (s.issuerKeyId !== undefined && s.issuerKeyId !== issuer)) continue;
    if (keyFlags(s) !== undefined && (!best || (s.created ?? 0) >= (best.created ?? 0))) best = s;
  }
  return best ? keyFlags(best) : undefined;
}

function toPublicPacket(k: RawKey, flags: number | undefined): PublicKeyPacket {
  return {
    algorithm: k.params.algo,
    created: new Date(k.params.created * 1000),
    fingerprint: k.fingerprint,
    keyId: k.keyId,
    canSign: flags === undefined ? SIGNING_ALGOS.has(k.params.algo) : (flags & 0x02) !== 0,
    body: k.body,
  };
}

function subkeyBound(primary: RawKey, sub: RawKey): { bound: boolean; flags: number | undefined } {
  const prefix = [keyHashPrefix(primary.body), keyHashPrefix(sub.body)];
  let best: Signature | undefined;
  for (const s of sub.sigs) {
    if (s.type !== 0x18 || (s.issuerKeyId !== undefined && s.issuerKeyId !== primary.keyId)) continue;
    if (best && (s.created ?? 0) < (best.created ?? 0)) continue;
    if (verifyWith(primary.params, primary.body, s, prefix)) best = s;
  }
  return { bound: best !== undefined, flags: best ? keyFlags(best) : undefined };
}

function toPublicKey(c: RawCert): { key: PublicKey; subFlags: Map<RawKey, PublicSubkey> } {
  const selfSig = (t: number): boolean => (t >= 0x10 && t <= 0x13) || t === 0x1f;
  const subFlags = new Map<RawKey, PublicSubkey>();
  const subkeys = c.subkeys.map((s) => {
    const { bound, flags } = subkeyBound(c.primary, s);
    const pub: PublicSubkey = { ...toPublicPacket(s, flags), bound };
    subFlags.set(s, pub);
    return pub;
  });
  const key: PublicKey = {
    ...toPublicPacket(c.primary, latestFlags(c.primary.sigs, selfSig, c.primary.keyId)),
    userIds: c.userIds,
    subkeys,
    packets: concatBytes(c.out),
  };
  return { key, subFlags };
}

/** Every v4 public key in a keyring (armored, possibly several blocks, or binary). */
export function readPublicKeys(armoredOrBinary: string | Uint8Array): PublicKey[] {
  const { certs, skipped } = parseCerts(binaryInput(armoredOrBinary, 'public key'));
  if (certs.length === 0) {
    throw skipped[0] ?? malformed('no public key packet found');
  }
  return certs.map((c) => toPublicKey(c).key);
}

/**
 * The signing key of an exported secret key: the primary key when it may sign, else the first
 * bound signing subkey whose secret is present.
 */
export function readSecretKey(armoredOrBinary: string | Uint8Array): SecretKey {
  const { certs, skipped } = parseCerts(binaryInput(armoredOrBinary, 'secret key'));
  const cert = certs[0];
  if (!cert) throw skipped[0] ?? malformed('no secret key packet found');
  if (cert.primary.secret.kind === 'none') {
    throw new PhotonError('E_PGP_NOT_SECRET', `key ${cert.primary.fingerprint} is a public key; a secret key export (gpg --export-secret-keys) is needed`);
  }
  const { key, subFlags } = toPublicKey(cert);
  const candidates: [RawKey, PublicKeyPacket][] = [[cert.primary, key]];
  for (const s of cert.subkeys) {
    const pub = subFlags.get(s);
    if (pub?.bound) candidates.push([s, pub]);
  }
  let encrypted: RawKey | undefined;
  let unsupported: RawKey | undefined;
  for (const [raw, pub] of candidates) {
    if (!pub.canSign) continue;
    if (raw.secret.kind === 'encrypted') encrypted ??= raw;
    if (raw.secret.kind !== 'clear') continue;
    const privateKey = privateKeyObject(raw, raw.secret.secret);
    if (!privateKey) {
      unsupported ??= raw;
      continue;
    }
    return { publicKey: key, fingerprint: raw.fingerprint, keyId: raw.keyId, algorithm: raw.params.algo, privateKey };
  }
  if (encrypted) {
    throw new PhotonError('E_PGP_KEY_ENCRYPTED', `secret key ${encrypted.fingerprint} is protected by a passphrase; export it without one (gpg --passwd, empty passphrase) for unattended signing`);
  }
  if (unsupported) {
    throw new PhotonError('E_PGP_UNSUPPORTED', `signing key ${unsupported.fingerprint} uses OpenPGP algorithm ${unsupported.params.algo}; only RSA and Ed25519 can sign`);
  }
  throw new PhotonError('E_PGP_NO_SIGNING_KEY', `key ${cert.primary.fingerprint} has no signing key or subkey with its secret part present`);
}

// ---------------------------------------------------------------------------------------------
// node:crypto key objects

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64url');
}

function stripZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [((a % m) + m) % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw malformed('RSA primes are not coprime');
  return ((s0 % m) + m) % m;
}

/** Ed25519 public point: native form, 0x40 then 32 bytes. */
function ed25519Point(params: KeyParams): Uint8Array | undefined {
  const point = params.mpis[0];
  if (params.oid !== '2b06010401da470f01' || !point || point.length !== 33 || point[0] !== 0x40) return undefined;
  return point.subarray(1);
}

function privateKeyObject(k: RawKey, secret: Uint8Array): KeyObject | undefined {
  const r = new Reader(secret, 'secret key material');
  const { algo, mpis } = k.params;
  try {
    if (algo === ALGO.rsa || algo === ALGO.rsaSign) {
      const [nB, eB] = mpis as [Uint8Array, Uint8Array];
      const d = bytesToBigInt(r.mpi());
      const p = bytesToBigInt(r.mpi());
      const q = bytesToBigInt(r.mpi());
      r.mpi(); // u = p^-1 mod q; JWK wants q^-1 mod p instead
      if (r.left !== 0) throw malformed('trailing bytes after RSA secret key');
      const n = bytesToBigInt(nB);
      if (p < 3n || q < 3n || p * q !== n) throw malformed('RSA secret key does not match its public modulus');
      const jwk = {
        kty: 'RSA', n: b64url(stripZeros(nB)), e: b64url(stripZeros(eB)), d: b64url(bigIntToBytes(d)),
        p: b64url(bigIntToBytes(p)), q: b64url(bigIntToBytes(q)), dp: b64url(bigIntToBytes(d % (p - 1n))),
        dq: b64url(bigIntToBytes(d % (q - 1n))), qi: b64url(bigIntToBytes(modInverse(q, p))),
      };
      return createPrivateKey({ key: jwk, format: 'jwk' });
    }
    if (algo === ALGO.eddsa) {
      const x = ed25519Point(k.params);
      if (!x) return undefined;
      const d = fixedSize(r.mpi(), 32, 'Ed25519 secret key');
      if (r.left !== 0) throw malformed('trailing bytes after Ed25519 secret key');
      const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64url(d), x: b64url(x) }, format: 'jwk' });
      // Node does not check that x belongs to d; a mismatch would sign with a key nobody can verify.
      if (createPublicKey(key).export({ format: 'jwk' }).x !== b64url(x)) throw malformed('Ed25519 secret key does not match its public key');
      return key;
    }
  } catch (e) {
    if (e instanceof PhotonError) throw e;
    throw malformed(`secret key rejected by node:crypto: ${(e as Error).message}`);
  }
  return undefined;
}

const publicKeyCache = new WeakMap<Uint8Array, KeyObject | null>();

/** A KeyObject for verification, or null when the key material is unusable. */
function publicKeyObject(params: KeyParams, body: Uint8Array): KeyObject | null {
  const cached = publicKeyCache.get(body);
  if (cached !== undefined) return cached;
  let key: KeyObject | null = null;
  try {
    if (params.algo === ALGO.rsa || params.algo === ALGO.rsaSign) {
      const [n, e] = params.mpis as [Uint8Array, Uint8Array];
      key = createPublicKey({ key: { kty: 'RSA', n: b64url(stripZeros(n)), e: b64url(stripZeros(e)) }, format: 'jwk' });
    } else if (params.algo === ALGO.eddsa) {
      const x = ed25519Point(params);
      if (x) key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(x) }, format: 'jwk' });
    } else if (params.algo === ALGO.ecdsa) {
      const curve = CURVES[params.oid ?? ''];
      const point = params.mpis[0];
      if (curve?.jwk && point && point.length === 1 + 2 * curve.size && point[0] === 0x04) {
        const x = point.subarray(1, 1 + curve.size);
        const y = point.subarray(1 + curve.size);
        key = createPublicKey({ key: { kty: 'EC', crv: curve.jwk, x: b64url(x), y: b64url(y) }, format: 'jwk' });
      }
    }
  } catch {
    key = null; // e.g. a point off the curve: such a key verifies nothing
  }
  publicKeyCache.set(body, key);
  return key;
}

// ---------------------------------------------------------------------------------------------
// Signatures

function hashOf(sig: Signature, chunks: readonly Uint8Array[]): Uint8Array | undefined {
  const info = HASHES[sig.hashAlgo];
  if (!info) return undefined;
  const h = createHash(info.name);
  for (const c of chunks) h.update(c);
  h.update(sig.hashTrailer);
  return h.digest();
}

function algoMatches(sigAlgo: number, keyAlgo: number): boolean {
  const rsa = (a: number): boolean => a === ALGO.rsa || a === ALGO.rsaSign;
  return sigAlgo === keyAlgo || (rsa(sigAlgo) && rsa(keyAlgo));
}

/** Checks `sig` over `chunks` with one key; `digest` may be passed when already computed. */
function verifyWith(params: KeyParams, body: Uint8Array, sig: Signature, chunks: readonly Uint8Array[], digest = hashOf(sig, chunks)): boolean {
  const info = HASHES[sig.hashAlgo];
  if (!info || !digest || !algoMatches(sig.pubAlgo, params.algo)) return false;
  if (digest[0] !== sig.left16[0] || digest[1] !== sig.left16[1]) return false;
  const key = publicKeyObject(params, body);
  if (!key) return false;
  try {
    if (params.algo === ALGO.eddsa) {
      const rs = concatBytes([fixedSize(sig.mpis[0] as Uint8Array, 32, 'EdDSA r'), fixedSize(sig.mpis[1] as Uint8Array, 32, 'EdDSA s')]);
      return edVerify(null, digest, key, rs);
    }
    if (params.algo === ALGO.ecdsa) {
      const size = CURVES[params.oid ?? '']?.size ?? 0;
      const rs = concatBytes([fixedSize(sig.mpis[0] as Uint8Array, size, 'ECDSA r'), fixedSize(sig.mpis[1] as Uint8Array, size, 'ECDSA s')]);
      // node:crypto has no pre-hashed ECDSA, so the data goes through the hash a second time.
      const v = createVerify(info.name);
      for (const c of chunks) v.update(c);
      v.update(sig.hashTrailer);
      return v.verify({ key, dsaEncoding: 'ieee-p1363' }, rs);
    }
    const modLen = ((key.asymmetricKeyDetails?.modulusLength ?? 0) + 7) >>> 3;
    const s = fixedSize(sig.mpis[0] as Uint8Array, modLen, 'RSA signature');
    // Compare the whole recovered encoding rather than parse it: no room for lax DigestInfo parsing.
    const recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, s);
    return Buffer.compare(recovered, Buffer.concat([info.digestInfo, digest])) === 0;
  } catch {
    return false;
  }
}

function chunksOf(data: Uint8Array | readonly Uint8Array[]): readonly Uint8Array[] {
  return data instanceof Uint8Array ? [data] : data;
}

const HASH_IDS = { sha256: 8, sha512: 10 } as const;

/**
 * A binary v4 detached signature packet (type 0x00, binary document) over `data` (an array is
 * taken as its concatenation), laid out as gpg 2.2 writes it.
 */
export function signDetached(
  key: SecretKey,
  data: Uint8Array | Uint8Array[],
  options: { hash?: 'sha256' | 'sha512'; created?: Date } = {},
): Uint8Array {
  const hashAlgo = HASH_IDS[options.hash ?? 'sha256'];
  if (hashAlgo === undefined) throw new PhotonError('E_PGP_BAD_OPTION', `unsupported hash '${String(options.hash)}'`);
  const time = Math.floor((options.created ?? new Date()).getTime() / 1000);
  if (!(time >= 0 && time <= 0xffffffff)) throw new PhotonError('E_PGP_BAD_OPTION', 'signature creation time out of range');
  const pubAlgo = key.algorithm === ALGO.eddsa ? ALGO.eddsa : ALGO.rsa;
  const hashed = concatBytes([
    encodeSubpacket(33, concatBytes([new Uint8Array([4]), Buffer.from(key.fingerprint, 'hex')])),
    encodeSubpacket(2, u32be(time)),
  ]);
  const unhashed = encodeSubpacket(16, Buffer.from(key.keyId, 'hex'));
  const head = concatBytes([new Uint8Array([4, 0x00, pubAlgo, hashAlgo, hashed.length >>> 8, hashed.length & 0xff]), hashed]);
  const trailer = concatBytes([head, new Uint8Array([4, 0xff]), u32be(head.length)]);
  const info = HASHES[hashAlgo] as (typeof HASHES)[number];
  const h = createHash(info.name);
  for (const c of chunksOf(data)) h.update(c);
  const digest = h.update(trailer).digest();
  let mpis: Uint8Array;
  if (pubAlgo === ALGO.eddsa) {
    // OpenPGP's legacy EdDSA signs the digest, not the message.
    const rs = edSign(null, digest, key.privateKey);
    mpis = concatBytes([encodeMpi(rs.subarray(0, 32)), encodeMpi(rs.subarray(32))]);
  } else {
    // PKCS#1 v1.5 over a digest we already have: node's sign() would hash the data again.
    mpis = encodeMpi(privateEncrypt({ key: key.privateKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([info.digestInfo, digest])));
  }
  const body = concatBytes([head, new Uint8Array([unhashed.length >>> 8, unhashed.length & 0xff]), unhashed, digest.subarray(0, 2), mpis]);
  return writePacket(TAG.signature, body);
}

function firstSignature(bytes: Uint8Array): Signature {
  for (const p of readPackets(bytes)) if (p.tag === TAG.signature) return parseSignature(p.body);
  throw malformed('no signature packet found');
}

/** The binary signature from armored or binary input, checked to hold a readable signature. */
export function readSignature(armoredOrBinary: string | Uint8Array): Uint8Array {
  const bytes = binaryInput(armoredOrBinary, 'signature');
  firstSignature(bytes);
  return bytes;
}

/** The issuer key ID (16 lowercase hex digits) of a signature, if it names one and parses. */
export function signatureKeyId(signature: Uint8Array): string | undefined {
  try {
    return firstSignature(binaryInput(signature, 'signature')).issuerKeyId;
  } catch (e) {
    if (e instanceof PhotonError) return undefined;
    throw e;
  }
}

/**
 * Checks a detached binary-document signature against `keys`: their primary keys, and their
 * subkeys that are bound by a valid binding signature and allowed to sign.
 */
export function verifyDetached(keys: readonly PublicKey[], data: Uint8Array | Uint8Array[], signature: Uint8Array): VerifyResult {
  let sig: Signature;
  try {
    sig = firstSignature(binaryInput(signature, 'signature'));
  } catch (e) {
    if (e instanceof PhotonError) return { ok: false, reason: 'malformed' };
    throw e;
  }
  const keyId = sig.issuerKeyId;
  const matches = (k: PublicKeyPacket): boolean =>
    sig.issuerFingerprint !== undefined ? k.fingerprint === sig.issuerFingerprint : keyId === undefined || k.keyId === keyId;
  const candidates: [PublicKeyPacket, PublicKey][] = [];
  for (const key of keys) {
    if (matches(key)) candidates.push([key, key]);
    for (const sub of key.subkeys) if (sub.bound && sub.canSign && matches(sub)) candidates.push([sub, key]);
  }
  const withId = keyId === undefined ? {} : { keyId };
  if (candidates.length === 0) return { ok: false, reason: 'unknown-key', ...withId };
  // Only binary documents: rpm and repomd signatures are never canonical-text (0x01) ones.
  if (sig.type !== 0x00) return { ok: false, reason: 'bad-signature', ...withId };
  const chunks = chunksOf(data);
  const digest = hashOf(sig, chunks);
  for (const [k, primary] of candidates) {
    let params: KeyParams;
    try {
      params = parseKeyParams(k.body);
    } catch {
      continue;
    }
    if (verifyWith(params, k.body, sig, chunks, digest)) {
      return { ok: true, keyId: k.keyId, fingerprint: k.fingerprint, primaryFingerprint: primary.fingerprint };
    }
  }
  return { ok: false, reason: 'bad-signature', ...withId };
}
