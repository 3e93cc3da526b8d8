/**
 * OpenPGP wire format (RFC 4880 / RFC 9580) below the level of keys and signatures: ASCII armor,
 * packet framing, MPIs, signature subpackets and the v4 public-key parameter layouts. Everything
 * here reads untrusted bytes, so every length is checked against what is left before it is used
 * and every failure is a PhotonError 'E_PGP_MALFORMED'; no loop can fail to advance.
 */
import { PhotonError } from '../util/errors.ts';
import { concatBytes } from './_bytes.ts';

export function malformed(message: string): PhotonError {
  return new PhotonError('E_PGP_MALFORMED', `malformed OpenPGP data: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Bytes

export { concatBytes };

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

export function u32be(n: number): Uint8Array {
  return new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

/** A cursor over untrusted bytes: each read checks the bounds first. */
export class Reader {
  pos = 0;
  constructor(readonly bytes: Uint8Array, readonly what: string) {}

  get left(): number {
    return this.bytes.length - this.pos;
  }

  need(n: number): void {
    if (n > this.left) throw malformed(`${this.what} truncated (need ${n} bytes at offset ${this.pos}, have ${this.left})`);
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++] as number;
  }

  u16(): number {
    this.need(2);
    const b = this.bytes;
    const v = ((b[this.pos] as number) << 8) | (b[this.pos + 1] as number);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const b = this.bytes;
    const v = (((b[this.pos] as number) << 24) | ((b[this.pos + 1] as number) << 16) | ((b[this.pos + 2] as number) << 8) | (b[this.pos + 3] as number)) >>> 0;
    this.pos += 4;
    return v;
  }

  take(n: number): Uint8Array {
    this.need(n);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  rest(): Uint8Array {
    return this.take(this.left);
  }

  /** An MPI's magnitude, big-endian, as stored (leading zero octets are not expected but kept). */
  mpi(): Uint8Array {
    const bits = this.u16();
    return this.take((bits + 7) >>> 3);
  }
}

/** MPI encoding: the bit count of the magnitude with leading zero octets stripped, then the octets. */
export function encodeMpi(value: Uint8Array): Uint8Array {
  let i = 0;
  while (i < value.length && value[i] === 0) i++;
  const mag = value.subarray(i);
  const top = mag[0];
  const bits = top === undefined ? 0 : (mag.length - 1) * 8 + (32 - Math.clz32(top));
  const out = new Uint8Array(2 + mag.length);
  out[0] = bits >>> 8;
  out[1] = bits & 0xff;
  out.set(mag, 2);
  return out;
}

/** Left-pads (or rejects) a big-endian magnitude to exactly `size` octets. */
export function fixedSize(value: Uint8Array, size: number, what: string): Uint8Array {
  let i = 0;
  while (value.length - i > size && value[i] === 0) i++;
  const mag = value.subarray(i);
  if (mag.length > size) throw malformed(`${what} is longer than ${size} bytes`);
  const out = new Uint8Array(size);
  out.set(mag, size - mag.length);
  return out;
}

export function bytesToBigInt(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${toHex(b)}`);
}

export function bigIntToBytes(n: bigint): Uint8Array {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

// ---------------------------------------------------------------------------------------------
// ASCII armor

function crc24(data: Uint8Array): number {
  let crc = 0xb704ce;
  for (let i = 0; i < data.length; i++) {
    crc ^= (data[i] as number) << 16;
    for (let j = 0; j < 8; j++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(text: string, what: string): Uint8Array {
  if (text.length % 4 !== 0 || !BASE64.test(text)) throw malformed(`${what} is not valid base64`);
  return new Uint8Array(Buffer.from(text, 'base64'));
}

export interface Armored {
  type: string;
  data: Uint8Array;
}

/**
 * Every armored block in `text`, in order. Header lines are skipped; the CRC line is optional
 * (RFC 9580 makes it so) but checked when present, because rpm and gpg check it too.
 */
export function dearmorAll(text: string): Armored[] {
  const lines = text.split(/\r?\n/);
  const blocks: Armored[] = [];
  let i = 0;
  while (i < lines.length) {
    const begin = /^-----BEGIN PGP ([A-Z0-9 ,/]+)-----\s*$/.exec(lines[i] as string);
    i++;
    if (!begin) continue;
    const type = begin[1] as string;
    // Armor headers run up to a blank line; tolerate their absence when the data starts at once.
    while (i < lines.length && /^[^\s:]+: /.test(lines[i] as string)) i++;
    if (i < lines.length && (lines[i] as string).trim() === '') i++;
    let b64 = '';
    let crc: string | undefined;
    let ended = false;
    for (; i < lines.length; i++) {
      const line = (lines[i] as string).trim();
      if (line.startsWith('-----END PGP ')) {
        if (line !== `-----END PGP ${type}-----`) throw malformed(`armor END line does not match BEGIN PGP ${type}`);
        ended = true;
        i++;
        break;
      }
      if (crc !== undefined && line !== '') throw malformed('armor has data after its checksum line');
      if (/^=[A-Za-z0-9+/]{4}$/.test(line)) crc = line.slice(1);
      else b64 += line;
    }
    if (!ended) throw malformed(`armor BEGIN PGP ${type} has no END line`);
    const data = decodeBase64(b64, 'armor body');
    if (crc !== undefined) {
      const want = decodeBase64(crc, 'armor checksum');
      const got = crc24(data);
      if ((((want[0] as number) << 16) | ((want[1] as number) << 8) | (want[2] as number)) !== got) {
        throw malformed('armor checksum (CRC24) mismatch');
      }
    }
    blocks.push({ type, data });
  }
  return blocks;
}

export function armorBlock(type: string, data: Uint8Array): string {
  const b64 = Buffer.from(data.buffer, data.byteOffset, data.length).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  const c = crc24(data);
  const crc = Buffer.from([(c >>> 16) & 0xff, (c >>> 8) & 0xff, c & 0xff]).toString('base64');
  return `-----BEGIN PGP ${type}-----\n\n${lines.join('\n')}${lines.length ? '\n' : ''}=${crc}\n-----END PGP ${type}-----\n`;
}

/** True when `bytes` is text that starts (after white space) with an armor line. */
export function looksArmored(bytes: Uint8Array): boolean {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  return bytes[i] === 0x2d; // '-': a binary packet always has its top bit set
}

/** Binary packets from armored text, armored bytes or binary bytes. */
export function binaryInput(input: string | Uint8Array, what: string): Uint8Array {
  if (typeof input !== 'string' && !looksArmored(input)) return input;
  const text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.length).toString('latin1');
  const blocks = dearmorAll(text);
  if (blocks.length === 0) throw malformed(`no armored ${what} found`);
  return blocks.length === 1 ? (blocks[0] as Armored).data : concatBytes(blocks.map((b) => b.data));
}

// ---------------------------------------------------------------------------------------------
// Packets

export const TAG = {
  signature: 2,
  secretKey: 5,
  publicKey: 6,
  secretSubkey: 7,
  userId: 13,
  publicSubkey: 14,
  userAttribute: 17,
} as const;

export interface Packet {
  tag: number;
  body: Uint8Array;
}

/** Only the data-carrying packets may use partial body lengths (RFC 4880 4.2.2.4). */
const PARTIAL_OK = new Set([8, 9, 11, 18, 20]);

/** Splits a packet sequence, accepting old and new length formats. */
export function readPackets(bytes: Uint8Array): Packet[] {
  const r = new Reader(bytes, 'packet sequence');
  const packets: Packet[] = [];
  while (r.left > 0) {
    const ctb = r.u8();
    if (!(ctb & 0x80)) throw malformed(`invalid packet header byte 0x${ctb.toString(16)} at offset ${r.pos - 1}`);
    if (ctb & 0x40) {
      const tag = ctb & 0x3f;
      const chunks: Uint8Array[] = [];
      for (;;) {
        const o1 = r.u8();
        if (o1 < 192) {
          chunks.push(r.take(o1));
          break;
        }
        if (o1 < 224) {
          chunks.push(r.take(((o1 - 192) << 8) + r.u8() + 192));
          break;
        }
        if (o1 === 255) {
          chunks.push(r.take(r.u32()));
          break;
        }
        if (!PARTIAL_OK.has(tag)) throw malformed(`packet tag ${tag} may not use a partial body length`);
        chunks.push(r.take(1 << (o1 & 0x1f)));
      }
      packets.push({ tag, body: chunks.length === 1 ? (chunks[0] as Uint8Array) : concatBytes(chunks) });
    } else {
      const tag = (ctb >> 2) & 0x0f;
      const lt = ctb & 3;
      const len = lt === 0 ? r.u8() : lt === 1 ? r.u16() : lt === 2 ? r.u32() : r.left;
      packets.push({ tag, body: r.take(len) });
    }
  }
  return packets;
}

/** Old-format framing (as gpg writes) where the tag fits, new format otherwise. */
export function writePacket(tag: number, body: Uint8Array): Uint8Array {
  const n = body.length;
  let head: number[];
  if (tag < 16) {
    if (n < 0x100) head = [0x80 | (tag << 2), n];
    else if (n < 0x10000) head = [0x81 | (tag << 2), n >>> 8, n & 0xff];
    else head = [0x82 | (tag << 2), ...u32be(n)];
  } else if (n < 192) head = [0xc0 | tag, n];
  else if (n < 8384) head = [0xc0 | tag, ((n - 192) >>> 8) + 192, (n - 192) & 0xff];
  else head = [0xc0 | tag, 0xff, ...u32be(n)];
  return concatBytes([new Uint8Array(head), body]);
}

// ---------------------------------------------------------------------------------------------
// Signatures

export const SUB = {
  creationTime: 2,
  issuer: 16,
  keyFlags: 27,
  issuerFingerprint: 33,
} as const;

export interface Subpacket {
  type: number;
  critical: boolean;
  hashed: boolean;
  data: Uint8Array;
}

function readSubpackets(area: Uint8Array, hashed: boolean, out: Subpacket[]): void {
  const r = new Reader(area, 'signature subpackets');
  while (r.left > 0) {
    const o1 = r.u8();
    const len = o1 < 192 ? o1 : o1 < 255 ? ((o1 - 192) << 8) + r.u8() + 192 : r.u32();
    if (len === 0) throw malformed('empty signature subpacket');
    const body = r.take(len);
    const t = body[0] as number;
    out.push({ type: t & 0x7f, critical: (t & 0x80) !== 0, hashed, data: body.subarray(1) });
  }
}

export function encodeSubpacket(type: number, data: Uint8Array): Uint8Array {
  // Our subpackets are all short; the one-octet length covers them.
  return concatBytes([new Uint8Array([data.length + 1, type]), data]);
}

export interface Signature {
  version: 3 | 4;
  type: number;
  pubAlgo: number;
  hashAlgo: number;
  /** The signature's own contribution to the hash, trailer included. */
  hashTrailer: Uint8Array;
  left16: Uint8Array;
  mpis: Uint8Array[];
  subpackets: Subpacket[];
  /** Issuer key ID from subpacket 16 (or from the v3 header), lowercase hex. */
  issuerKeyId: string | undefined;
  issuerFingerprint: string | undefined;
  created: number | undefined;
}

/** Signature MPI count by public-key algorithm. */
function sigMpiCount(algo: number): number {
  switch (algo) {
    case 1: case 3: return 1;
    case 17: case 19: case 22: return 2;
    default: return -1;
  }
}

export function parseSignature(body: Uint8Array): Signature {
  const r = new Reader(body, 'signature packet');
  const version = r.u8();
  let sig: Signature;
  if (version === 3 || version === 2) {
    if (r.u8() !== 5) throw malformed('v3 signature hashed length is not 5');
    const hashed = r.take(5);
    const keyId = toHex(r.take(8));
    const pubAlgo = r.u8();
    const hashAlgo = r.u8();
    sig = {
      version: 3, type: hashed[0] as number, pubAlgo, hashAlgo, hashTrailer: hashed, left16: r.take(2), mpis: [],
      subpackets: [], issuerKeyId: keyId, issuerFingerprint: undefined,
      created: new Reader(hashed.subarray(1), 'v3 signature time').u32(),
    };
  } else if (version === 4) {
    const type = r.u8();
    const pubAlgo = r.u8();
    const hashAlgo = r.u8();
    const hashedArea = r.take(r.u16());
    const hashedEnd = r.pos;
    const unhashedArea = r.take(r.u16());
    const subpackets: Subpacket[] = [];
    readSubpackets(hashedArea, true, subpackets);
    readSubpackets(unhashedArea, false, subpackets);
    const head = body.subarray(0, hashedEnd);
    const hashTrailer = concatBytes([head, new Uint8Array([4, 0xff]), u32be(head.length)]);
    let issuerKeyId: string | undefined;
    let issuerFingerprint: string | undefined;
    let created: number | undefined;
    for (const sp of subpackets) {
      if (sp.type === SUB.issuer && sp.data.length === 8) issuerKeyId ??= toHex(sp.data);
      else if (sp.type === SUB.issuerFingerprint && sp.data.length === 21 && sp.data[0] === 4) issuerFingerprint ??= toHex(sp.data.subarray(1));
      // Only a hashed creation time is the signer's word; an unhashed one anybody could change.
      else if (sp.type === SUB.creationTime && sp.hashed && sp.data.length === 4) created ??= new Reader(sp.data, 'time').u32();
    }
    if (issuerKeyId === undefined && issuerFingerprint !== undefined) issuerKeyId = issuerFingerprint.slice(-16);
    sig = { version: 4, type, pubAlgo, hashAlgo, hashTrailer, left16: r.take(2), mpis: [], subpackets, issuerKeyId, issuerFingerprint, created };
  } else {
    throw new PhotonError('E_PGP_UNSUPPORTED', `OpenPGP signature version ${version} is not supported`);
  }
  const count = sigMpiCount(sig.pubAlgo);
  if (count < 0) throw new PhotonError('E_PGP_UNSUPPORTED', `OpenPGP public-key algorithm ${sig.pubAlgo} is not supported for signatures`);
  for (let i = 0; i < count; i++) sig.mpis.push(r.mpi());
  return sig;
}

/** Key flags (subpacket 27) of a signature, or undefined when it states none. */
export function keyFlags(sig: Signature): number | undefined {
  for (const sp of sig.subpackets) if (sp.type === SUB.keyFlags && sp.hashed && sp.data.length > 0) return sp.data[0];
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// v4 public key parameters

export const ALGO = { rsa: 1, rsaEncrypt: 2, rsaSign: 3, elgamal: 16, dsa: 17, ecdh: 18, ecdsa: 19, elgamalSign: 20, eddsa: 22 } as const;

/** Curve OIDs in their OpenPGP (DER without tag and length) form. */
export const CURVES: Record<string, { name: string; jwk?: string; size: number }> = {
  '2b06010401da470f01': { name: 'Ed25519', size: 32 },
  '2a8648ce3d030107': { name: 'NIST P-256', jwk: 'P-256', size: 32 },
  '2b81040022': { name: 'NIST P-384', jwk: 'P-384', size: 48 },
  '2b81040023': { name: 'NIST P-521', jwk: 'P-521', size: 66 },
};

export interface KeyParams {
  version: 4;
  created: number;
  algo: number;
  /** Public MPIs (RSA n, e; EC point); for EC keys `oid` holds the curve. */
  mpis: Uint8Array[];
  oid: string | undefined;
  /** Length of the public part of the key packet body: a secret key's secret part follows. */
  publicLength: number;
}

/**
 * Parses the public part of a key packet. Algorithms we cannot use are still laid out (so that
 * their packets and fingerprints come through); only an unknown layout is unsupported.
 */
export function parseKeyParams(body: Uint8Array): KeyParams {
  const r = new Reader(body, 'key packet');
  const version = r.u8();
  if (version !== 4) throw new PhotonError('E_PGP_UNSUPPORTED', `OpenPGP key version ${version} is not supported (only v4)`);
  const created = r.u32();
  const algo = r.u8();
  const mpis: Uint8Array[] = [];
  let oid: string | undefined;
  const readOid = (): void => {
    const len = r.u8();
    if (len === 0 || len === 0xff) throw malformed('reserved curve OID length');
    oid = toHex(r.take(len));
  };
  switch (algo) {
    case ALGO.rsa: case ALGO.rsaEncrypt: case ALGO.rsaSign:
      mpis.push(r.mpi(), r.mpi());
      break;
    case ALGO.dsa:
      mpis.push(r.mpi(), r.mpi(), r.mpi(), r.mpi());
      break;
    case ALGO.elgamal: case ALGO.elgamalSign:
      mpis.push(r.mpi(), r.mpi(), r.mpi());
      break;
    case ALGO.ecdsa: case ALGO.eddsa:
      readOid();
      mpis.push(r.mpi());
      break;
    case ALGO.ecdh: {
      readOid();
      mpis.push(r.mpi());
      const kdf = r.u8();
      if (kdf === 0 || kdf === 0xff) throw malformed('reserved ECDH KDF parameter length');
      r.take(kdf);
      break;
    }
    default:
      throw new PhotonError('E_PGP_UNSUPPORTED', `OpenPGP public-key algorithm ${algo} is not supported`);
  }
  return { version: 4, created, algo, mpis, oid, publicLength: r.pos };
}

/** The v4 key hash prefix: 0x99, a two-octet length, the public key body. */
export function keyHashPrefix(publicBody: Uint8Array): Uint8Array {
  if (publicBody.length > 0xffff) throw malformed('key packet longer than 65535 bytes');
  return concatBytes([new Uint8Array([0x99, publicBody.length >>> 8, publicBody.length & 0xff]), publicBody]);
}

// ---------------------------------------------------------------------------------------------
// Hashes

export interface HashInfo {
  name: string;
  /** DER DigestInfo prefix for RSA PKCS#1 v1.5 (RFC 8017 9.2 note 1). */
  digestInfo: Uint8Array;
}

export const HASHES: Record<number, HashInfo> = {
  2: { name: 'sha1', digestInfo: Buffer.from('3021300906052b0e03021a05000414', 'hex') },
  8: { name: 'sha256', digestInfo: Buffer.from('3031300d060960864801650304020105000420', 'hex') },
  9: { name: 'sha384', digestInfo: Buffer.from('3041300d060960864801650304020205000430', 'hex') },
  10: { name: 'sha512', digestInfo: Buffer.from('3051300d060960864801650304020305000440', 'hex') },
  11: { name: 'sha224', digestInfo: Buffer.from('302d300d06096086480165030402040500041c', 'hex') },
};
