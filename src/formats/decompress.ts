/**
 * Decompression by format, streaming where the format and the available pure-JS decoders allow:
 *
 * | format | decoder                      | memory                                    |
 * |--------|------------------------------|-------------------------------------------|
 * | gzip   | node:zlib                    | one input chunk's output at a time        |
 * | zstd   | fzstd `Decompress`           | one window (≤ 8 MB for zstd -19 and less) |
 * | xz     | xz.ts (ours, pure TypeScript)| one dictionary (≤ the block's, grown as output arrives) + one 64 KiB chunk |
 * | bzip2  | seek-bzip, whole buffer      | compressed + decompressed size            |
 * | lzma   | lzma.ts (ours)               | one dictionary (as xz), input streamed    |
 *
 * bzip2 is rare in repositories today (createrepo_c writes gz, xz or zst), so its whole-buffer
 * decoder is accepted rather than porting a streaming one.
 */
import { createRequire } from 'node:module';
import { Decompress as ZstdDecompress } from 'fzstd';
import { PhotonError, withFile } from '../util/errors.ts';
import { decompressLzmaAlone } from './lzma.ts';
import { decompressXz } from './xz.ts';

export type CompressionFormat = 'gzip' | 'xz' | 'zstd' | 'bzip2' | 'lzma' | 'none';

export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | NodeJS.ReadableStream;

function iterate(source: ByteSource): AsyncIterator<unknown> | Iterator<unknown> {
  const s = source as Partial<AsyncIterable<unknown> & Iterable<unknown>>;
  const f = s[Symbol.asyncIterator] ?? s[Symbol.iterator];
  if (!f) throw new PhotonError('E_DECOMPRESS', 'input is not an iterable byte stream');
  return (f as (this: unknown) => AsyncIterator<unknown> | Iterator<unknown>).call(source);
}

const require = createRequire(import.meta.url);

/** Identifies the format from the first bytes (13 are enough for every format here). */
export function detectCompression(bytes: Uint8Array): CompressionFormat {
  const b = bytes;
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b.length >= 6 && b[0] === 0xfd && b[1] === 0x37 && b[2] === 0x7a && b[3] === 0x58 && b[4] === 0x5a && b[5] === 0) {
    return 'xz';
  }
  if (b.length >= 4 && b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) return 'zstd';
  if (b.length >= 4 && b[0] === 0x42 && b[1] === 0x5a && b[2] === 0x68 && b[3]! >= 0x31 && b[3]! <= 0x39) return 'bzip2';
  if (b.length >= 13 && isLzmaAloneHeader(b)) return 'lzma';
  return 'none';
}

/**
 * The .lzma ("LZMA alone") header has no magic; accept it the way xz's lzma_alone decoder
 * does: properties byte below 225, a dictionary size of 2^n or 2^n + 2^(n-1), and an
 * uncompressed size that is unknown (all ones) or below 256 GiB.
 */
function isLzmaAloneHeader(b: Uint8Array): boolean {
  if (b[0]! >= 225) return false;
  const dict = (b[1]! | (b[2]! << 8) | (b[3]! << 16) | (b[4]! << 24)) >>> 0;
  if (dict !== 0xffffffff) {
    if (dict < 4096) return false;
    let d = dict - 1;
    d |= d >>> 2; d |= d >>> 3; d |= d >>> 4; d |= d >>> 8; d |= d >>> 16;
    if ((d + 1) >>> 0 !== dict) return false;
  }
  let allOnes = true;
  for (let i = 5; i < 13; i++) if (b[i] !== 0xff) allOnes = false;
  return allOnes || (b[10] === 0 && b[11] === 0 && b[12] === 0 && b[9]! < 0x40);
}

/** The format a file name's extension implies (`.gz`, `.xz`, `.zst`, `.bz2`, `.lzma`). */
export function compressionFromName(name: string): CompressionFormat {
  const m = /\.(gz|xz|zst|zstd|bz2|lzma)$/.exec(name);
  switch (m?.[1]) {
    case 'gz': return 'gzip';
    case 'xz': return 'xz';
    case 'zst': case 'zstd': return 'zstd';
    case 'bz2': return 'bzip2';
    case 'lzma': return 'lzma';
    default: return 'none';
  }
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  throw new PhotonError('E_DECOMPRESS', `unexpected chunk type ${typeof chunk} in byte stream`);
}

/** Where the data came from, for error messages. */
export interface DecompressOptions {
  file?: string;
}

function decompressError(format: CompressionFormat, e: unknown, opts: DecompressOptions = {}): PhotonError {
  let err: PhotonError;
  if (e instanceof PhotonError) err = e;
  else {
    const why = e instanceof Error ? e.message : String(e);
    err = new PhotonError('E_DECOMPRESS', `${format} data is corrupt or truncated: ${why}`, { cause: e });
  }
  return opts.file ? withFile(err, opts.file) : err;
}

/**
 * Errors raised while reading `source` (an I/O error, a checksum mismatch upstream) are thrown
 * unchanged; only the decoder's own failures become E_DECOMPRESS.
 */
class SourceError {
  constructor(readonly error: unknown) {}
}

async function* guarded(source: ByteSource): AsyncGenerator<Uint8Array> {
  const it = iterate(source);
  for (;;) {
    let r: IteratorResult<unknown>;
    try {
      r = await it.next();
    } catch (e) {
      throw new SourceError(e);
    }
    if (r.done) return;
    yield toBytes(r.value);
  }
}

/** Decompresses `input` chunk by chunk. The output chunks are fresh and may be kept. */
export async function* decompressStream(format: CompressionFormat, input: ByteSource, opts: DecompressOptions = {}): AsyncGenerator<Uint8Array> {
  try {
    switch (format) {
      case 'none': yield* guarded(input); return;
      case 'gzip': yield* gunzipStream(guarded(input)); return;
      case 'zstd': yield* zstdStream(guarded(input)); return;
      case 'xz': yield* decompressXz(guarded(input)); return;
      case 'lzma': yield* decompressLzmaAlone(guarded(input)); return;
      case 'bzip2': {
        const parts: Uint8Array[] = [];
        for await (const c of guarded(input)) parts.push(c);
        const out = bunzip2(Buffer.concat(parts));
        // Hand the result out in slices so that consumers see ordinary-sized chunks.
        for (let i = 0; i < out.length; i += 1 << 20) yield out.subarray(i, Math.min(out.length, i + (1 << 20)));
        return;
      }
      default:
        throw new PhotonError('E_DECOMPRESS', `unknown compression format '${String(format)}'`);
    }
  } catch (e) {
    if (e instanceof SourceError) throw e.error;
    throw decompressError(format, e, opts);
  }
}

/** Detects the format from the first bytes of `input`, then decompresses it. */
export async function* decompressAuto(input: ByteSource, opts: DecompressOptions = {}): AsyncGenerator<Uint8Array> {
  const it = iterate(input);
  const head: Uint8Array[] = [];
  let have = 0;
  let done = false;
  while (have < 13) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const c = toBytes(r.value);
    head.push(c);
    have += c.length;
  }
  const first = head.length === 1 ? head[0]! : Buffer.concat(head);
  async function* replay(): AsyncGenerator<Uint8Array> {
    if (first.length) yield first;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield toBytes(r.value);
    }
  }
  yield* decompressStream(detectCompression(first), replay(), opts);
}

/** Decompresses a whole buffer. */
export async function decompressBuffer(format: CompressionFormat, bytes: Uint8Array, opts: DecompressOptions = {}): Promise<Uint8Array> {
  if (format === 'none') return bytes;
  if (format === 'bzip2') {
    try {
      return bunzip2(bytes);
    } catch (e) {
      throw decompressError(format, e, opts);
    }
  }
  const parts: Uint8Array[] = [];
  for await (const c of decompressStream(format, [bytes], opts)) parts.push(c);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

function bunzip2(bytes: Uint8Array): Uint8Array {
  const Bunzip = require('seek-bzip') as { decode(input: Buffer, output?: Buffer, multistream?: boolean): Buffer };
  return Bunzip.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), undefined, true);
}

async function* gunzipStream(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  // 256 KB output chunks keep per-chunk overhead (events, parser calls) low on 70 MB files.
  const { createGunzip } = await import('node:zlib');
  const z = createGunzip({ chunkSize: 256 * 1024 });
  let out: Uint8Array[] = [];
  let failure: unknown;
  let ended = false;
  let wake: (() => void) | undefined;
  z.on('data', (c: Buffer) => out.push(c));
  z.on('error', (e) => {
    failure = e;
    wake?.();
  });
  z.on('end', () => {
    ended = true;
    wake?.();
  });
  try {
    for await (const chunk of input) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        z.write(chunk, (err) => {
          if (err) failure ??= err;
          resolve();
        });
      });
      if (failure) throw failure;
      if (out.length) {
        const ready = out;
        out = [];
        yield* ready;
      }
    }
    await new Promise<void>((resolve) => {
      wake = resolve;
      z.end();
      if (ended) resolve();
    });
    if (failure) throw failure;
    yield* out;
  } finally {
    z.destroy();
  }
}

async function* zstdStream(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let out: Uint8Array[] = [];
  let finished = false;
  const d = new ZstdDecompress((data, final) => {
    // fzstd reuses no buffers it hands out, so the chunks can be passed on as they are.
    out.push(data);
    if (final) finished = true;
  });
  let sawInput = false;
  for await (const chunk of input) {
    if (chunk.length === 0) continue;
    sawInput = true;
    d.push(chunk);
    if (out.length) {
      const ready = out;
      out = [];
      yield* ready;
    }
  }
  if (!sawInput) throw new Error('empty input');
  d.push(new Uint8Array(0), true);
  yield* out;
  if (!finished) throw new Error('unexpected end of data');
}
