/**
 * Payload compression for writing packages (gzip, zstd, none), and the bridge from an RPM's
 * PAYLOADCOMPRESSOR tag to a decompressed stream for reading them.
 */
import { gzipSync } from 'node:zlib';
import { decompressStream, type CompressionFormat } from './decompress.ts';
import { PhotonError } from '../util/errors.ts';

export type WriteCompression = 'gzip' | 'zstd' | 'none';

let zstdReady: Promise<typeof import('@bokuweb/zstd-wasm')> | undefined;
/** The WASM module is initialised once, on first use, so commands that never write zstd skip it. */
function zstdWasm(): Promise<typeof import('@bokuweb/zstd-wasm')> {
  zstdReady ??= import('@bokuweb/zstd-wasm').then(async (m) => {
    await m.init();
    return m;
  });
  return zstdReady;
}

/** Default levels as rpm 4.18 distributions build: w9.gzdio, w19.zstdio. */
export const DEFAULT_LEVEL: Record<WriteCompression, number> = { gzip: 9, zstd: 19, none: 0 };

/** What rpm stores for a payload written this way: PAYLOADCOMPRESSOR and PAYLOADFLAGS. */
export function payloadTags(format: WriteCompression, level = DEFAULT_LEVEL[format]): { compressor: string | undefined; flags: string } {
  switch (format) {
    case 'gzip':
      return { compressor: 'gzip', flags: String(level) };
    case 'zstd':
      return { compressor: 'zstd', flags: String(level) };
    case 'none':
      // As rpmbuild with w0.ufdio: no compressor tag. rpm then opens the payload with gzdio,
      // which passes data that is not gzip through unchanged.
      return { compressor: undefined, flags: '0' };
  }
}

export async function compress(format: WriteCompression, data: Uint8Array, level = DEFAULT_LEVEL[format]): Promise<Uint8Array> {
  switch (format) {
    case 'none':
      return data;
    case 'gzip': {
      // mtime 0 and no file name in the gzip header: node:zlib writes neither, so output is reproducible.
      const out = gzipSync(data, { level });
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    }
    case 'zstd': {
      const z = await zstdWasm();
      return z.compress(data, level);
    }
    default:
      throw new PhotonError('E_COMPRESSION', `unsupported compression '${String(format)}' (use zstd, gzip or none)`);
  }
}

export function compressionFromName(name: string): WriteCompression {
  if (name === 'zstd' || name === 'gzip' || name === 'none') return name;
  throw new PhotonError('E_USAGE', `unsupported compression '${name}' (use zstd, gzip or none)`);
}

/**
 * rpm's PAYLOADCOMPRESSOR values → the format names decompression understands. rpm trusts the
 * tag, so do we; an absent tag means gzip, whose reader in rpm passes uncompressed data through, so
 * we sniff for gzip's magic then.
 */
export function formatOfCompressor(compressor: string | undefined, payload?: Uint8Array): CompressionFormat {
  if (compressor === undefined) return payload && payload[0] === 0x1f && payload[1] === 0x8b ? 'gzip' : 'none';
  switch (compressor) {
    case 'gzip':
      return 'gzip';
    case 'bzip2':
      return 'bzip2';
    case 'xz':
      return 'xz';
    case 'lzma':
      return 'lzma';
    case 'zstd':
      return 'zstd';
    case 'identity':
    case 'none':
    case 'ufdio':
      return 'none';
    default:
      throw new PhotonError('E_RPM_PAYLOAD', `unknown payload compressor '${compressor}'`);
  }
}

/**
 * The payload's decompressed bytes as a stream of chunks. Decoder failures (corrupt data)
 * become E_RPM_PAYLOAD so callers see one code for a bad payload whatever its format.
 */
export async function* decompressPayload(compressor: string | undefined, payload: Uint8Array): AsyncIterable<Uint8Array> {
  const format = formatOfCompressor(compressor, payload);
  try {
    yield* decompressStream(format, [format === 'xz' ? xzWithoutStrongCheck(payload) : payload]);
  } catch (e) {
    if (e instanceof PhotonError && e.code !== 'E_DECOMPRESS') throw e;
    throw new PhotonError('E_RPM_PAYLOAD', `corrupt ${format} payload: ${(e as Error).message}`, { cause: e });
  }
}

// ---------------------------------------------------------------------------------------------
// rpm writes xz payloads with a SHA-256 integrity check; the WASM xz-embedded decoder we use
// knows only CRC32 and CRC64 and fails with XZ_OPTIONS_ERROR. The payload is already covered by
// PAYLOADDIGEST (and the header digests), so we re-frame such streams with check "None"
// before decoding: same blocks, the check bytes dropped, index and footer rebuilt.
//
// .xz layout: stream header (6 magic, 2 flags, crc32) · blocks (header, compressed data,
// padding to 4, check) · index (0x00, count, records of unpadded/uncompressed sizes, padding,
// crc32) · stream footer (crc32, backward size, 2 flags, "YZ") · optional zero stream padding.

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

let crcTable: Uint32Array | undefined;
function crc32(b: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = crcTable[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function checkSize(id: number): number {
  return id === 0 ? 0 : 4 << Math.floor((id - 1) / 3);
}

/** Returns `xz` unchanged when its check is one the decoder knows, else re-framed with no check. */
export function xzWithoutStrongCheck(xz: Uint8Array): Uint8Array {
  if (xz.length < 12 || !XZ_MAGIC.every((b, i) => xz[i] === b)) return xz;
  const check = xz[7]! & 0x0f;
  if (check === 0 || check === 1 || check === 4) return xz;
  const bad = (m: string): never => {
    throw new PhotonError('E_RPM_PAYLOAD', `corrupt xz payload: ${m}`);
  };
  const le32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
  const varint = (n: number) => {
    const r: number[] = [];
    while (n >= 0x80) {
      r.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    r.push(n);
    return r;
  };
  let p = 0;
  const readVarint = (): number => {
    let n = 0;
    for (let shift = 1, i = 0; i < 9; i++, shift *= 0x80) {
      const b = xz[p++];
      if (b === undefined) bad('truncated');
      n += (b! & 0x7f) * shift;
      if (!(b! & 0x80)) return n;
    }
    return bad('bad varint');
  };
  const parts: Uint8Array[] = [];
  while (p < xz.length) {
    if (xz[p] === 0) {
      p++; // stream padding
      continue;
    }
    if (!XZ_MAGIC.every((b, i) => xz[p + i] === b)) bad('bad stream magic');
    const cid = xz[p + 7]! & 0x0f;
    const csize = checkSize(cid);
    const flags = Uint8Array.of(0, 0);
    parts.push(Uint8Array.from([...XZ_MAGIC, 0, 0, ...le32(crc32(flags))]));
    p += 12;
    const blocks: number[] = [];
    while (xz[p] !== 0) {
      const start = p;
      const hsize = ((xz[p] ?? bad('truncated')) + 1) * 4;
      const bflags = xz[p + 1] ?? bad('truncated');
      p += 2;
      let compressed = -1;
      if (bflags & 0x40) compressed = readVarint();
      p = start + hsize;
      if (compressed >= 0) p += compressed;
      else {
        // Walk the LZMA2 chunks: their headers give each chunk's size.
        for (;;) {
          const c = xz[p] ?? bad('truncated');
          if (c === 0) {
            p++;
            break;
          }
          if (c === 1 || c === 2) p += 3 + ((xz[p + 1]! << 8) | xz[p + 2]!) + 1;
          else if (c >= 0x80) p += (c >= 0xc0 ? 6 : 5) + ((xz[p + 3]! << 8) | xz[p + 4]!) + 1;
          else bad('bad LZMA2 chunk');
          if (p > xz.length) bad('truncated');
        }
      }
      const unpadded = p - start;
      while ((p - start) % 4) p++;
      parts.push(xz.subarray(start, p));
      p += csize;
      blocks.push(unpadded);
      if (p > xz.length) bad('truncated');
    }
    // Index: keep the uncompressed sizes, drop the check from each unpadded size.
    const indexStart = p;
    p++;
    const count = readVarint();
    if (count !== blocks.length) bad('index does not match the blocks');
    const idx: number[] = [0, ...varint(count)];
    for (let i = 0; i < count; i++) {
      const oldUnpadded = readVarint();
      const uncompressed = readVarint();
      if (oldUnpadded - csize !== blocks[i]) bad('index does not match the blocks');
      idx.push(...varint(blocks[i]!), ...varint(uncompressed));
    }
    while ((p - indexStart) % 4) p++;
    p += 4; // index crc32
    while (idx.length % 4) idx.push(0);
    idx.push(...le32(crc32(Uint8Array.from(idx))));
    parts.push(Uint8Array.from(idx));
    const footerBody = [...le32(idx.length / 4 - 1), 0, 0];
    parts.push(Uint8Array.from([...le32(crc32(Uint8Array.from(footerBody))), ...footerBody, 0x59, 0x5a]));
    p += 12; // old footer
    if (p > xz.length) bad('truncated');
  }
  const total = parts.reduce((n, b) => n + b.length, 0);
  const res = new Uint8Array(total);
  let q = 0;
  for (const b of parts) {
    res.set(b, q);
    q += b.length;
  }
  return res;
}
