/**
 * Payload compression for writing packages (gzip, zstd, none), and the bridge from an RPM's
 * PAYLOADCOMPRESSOR tag to a decompressed stream for reading them.
 */
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
      const { gzipSync } = await import('node:zlib');
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
    // rpm writes xz payloads with a SHA-256 check; our xz decoder verifies it like the others.
    yield* decompressStream(format, [payload]);
  } catch (e) {
    if (e instanceof PhotonError && e.code !== 'E_DECOMPRESS') throw e;
    throw new PhotonError('E_RPM_PAYLOAD', `corrupt ${format} payload: ${(e as Error).message}`, { cause: e });
  }
}
