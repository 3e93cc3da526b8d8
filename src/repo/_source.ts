/**
 * Shared plumbing of the RPM-md readers: open a file or buffer, verify the compressed and the
 * decompressed checksum and size against repomd.xml while the bytes stream past, decompress
 * by magic, and keep the strings we store compact.
 */
import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { decompressAuto, type ByteSource } from '../formats/decompress.ts';
import { PhotonError } from '../util/errors.ts';
import { XmlParser, type XmlHandler } from './xml.ts';

export interface RepoChecksum {
  /** As written in repomd.xml: sha256, sha, sha1, sha512, md5, … */
  type: string;
  value: string;
}

/** What repomd.xml promises about one metadata file; every field is checked when present. */
export interface MetadataExpectation {
  checksum?: RepoChecksum | undefined;
  openChecksum?: RepoChecksum | undefined;
  size?: number | undefined;
  openSize?: number | undefined;
}

export type MetadataSource = string | Uint8Array | ByteSource;

export interface ReadOptions {
  /** Checksums and sizes from repomd.xml to verify while reading. */
  expect?: MetadataExpectation;
  /** Names the file in errors (defaults to the path when `source` is one). */
  file?: string;
  /**
   * Strings seen again and again (dependency names, EVRs, arches) are stored once. Pass the same
   * Map to several reads to share it across repositories.
   */
  intern?: Map<string, string>;
}

const NODE_HASH: Record<string, string> = {
  sha: 'sha1', sha1: 'sha1', sha224: 'sha224', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512', md5: 'md5',
};

/** The node:crypto algorithm for a repomd checksum type name. */
export function hashAlgorithm(type: string, file?: string): string {
  const alg = NODE_HASH[type.toLowerCase()];
  if (!alg) throw new PhotonError('E_REPO_CHECKSUM', `unsupported checksum type '${type}'`, file === undefined ? {} : { file });
  return alg;
}

function rawSource(source: MetadataSource): ByteSource {
  if (typeof source === 'string') return createReadStream(source, { highWaterMark: 256 * 1024 });
  if (source instanceof Uint8Array) return [source];
  return source;
}

/** Counts and hashes bytes on their way past; `check` compares against the expectation. */
async function* tap(
  source: ByteSource,
  what: 'checksum' | 'open-checksum',
  sum: RepoChecksum | undefined,
  size: number | undefined,
  file: string | undefined,
): AsyncGenerator<Uint8Array> {
  const hash: Hash | undefined = sum ? createHash(hashAlgorithm(sum.type, file)) : undefined;
  let n = 0;
  for await (const chunk of source as AsyncIterable<Uint8Array>) {
    hash?.update(chunk);
    n += chunk.length;
    yield chunk;
  }
  const opts = file === undefined ? {} : { file };
  const label = what === 'checksum' ? '' : 'uncompressed ';
  if (size !== undefined && n !== size) {
    throw new PhotonError('E_REPO_CHECKSUM', `${label}size mismatch: repomd.xml expects ${size} bytes, got ${n}`, opts);
  }
  if (hash && sum) {
    const actual = hash.digest('hex');
    if (actual !== sum.value.toLowerCase()) {
      throw new PhotonError('E_REPO_CHECKSUM', `${what} mismatch: expected ${sum.type}:${sum.value}, got ${sum.type}:${actual}`, opts);
    }
  }
}

/**
 * gzip (nearly every repository) through a pipelined gunzip, anything else via decompressAuto.
 */
async function* decompress(input: ByteSource): AsyncGenerator<Uint8Array> {
  const it = (input as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]?.() ??
    (input as Iterable<Uint8Array>)[Symbol.iterator]();
  const first = await it.next();
  const head = first.done ? undefined : first.value;
  if (head && head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    yield* gunzipPipelined(head, it);
    return;
  }
  async function* replay(): AsyncGenerator<Uint8Array> {
    if (head === undefined) return;
    yield head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  yield* decompressAuto(replay());
}

/**
 * Gunzip that keeps zlib (on libuv's thread pool) busy while the consumer parses: input is fed
 * as fast as zlib takes it and up to 8 output chunks of 256 KB wait, so inflating chunk n + 1
 * overlaps with parsing chunk n on a second core. (decompressStream waits for each input
 * chunk's output before handing it on, which serialises the two.)
 */
async function* gunzipPipelined(
  head: Uint8Array,
  it: AsyncIterator<Uint8Array> | Iterator<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  const { createGunzip } = await import('node:zlib');
  const z = createGunzip({ chunkSize: 256 * 1024 });
  const out: Buffer[] = [];
  let zlibFailure: unknown;
  let sourceFailure: unknown;
  let sourceFailed = false;
  let ended = false;
  let wake: (() => void) | undefined;
  const signal = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  z.on('data', (c: Buffer) => {
    out.push(c);
    if (out.length >= 8) z.pause();
    signal();
  });
  z.on('error', (e) => {
    zlibFailure ??= e;
    signal();
  });
  z.on('end', () => {
    ended = true;
    signal();
  });
  let done = false;
  void (async () => {
    let chunk = head;
    for (;;) {
      if (!z.write(chunk)) await once(z, 'drain'); // rejects on a zlib error: then stop feeding
      let r: IteratorResult<Uint8Array>;
      try {
        r = await it.next();
      } catch (e) {
        sourceFailure = e;
        sourceFailed = true;
        signal();
        return;
      }
      if (r.done) break;
      chunk = r.value;
    }
    done = true;
    z.end();
  })().catch(() => signal());
  try {
    for (;;) {
      const c = out.shift();
      if (c !== undefined) {
        if (out.length < 4 && z.isPaused()) z.resume();
        yield c;
        continue;
      }
      if (sourceFailed) throw sourceFailure;
      if (zlibFailure !== undefined) {
        const why = zlibFailure instanceof Error ? zlibFailure.message : String(zlibFailure);
        throw new PhotonError('E_DECOMPRESS', `gzip data is corrupt or truncated: ${why}`, { cause: zlibFailure });
      }
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    z.destroy();
    if (!done) void Promise.resolve(it.return?.()).catch(() => {});
  }
}

/** Decompressed, verified bytes of one metadata file. */
export function openMetadataBytes(source: MetadataSource, options: ReadOptions = {}): AsyncIterable<Uint8Array> {
  const file = options.file ?? (typeof source === 'string' ? source : undefined);
  const e = options.expect ?? {};
  let bytes: ByteSource = rawSource(source);
  if (e.checksum || e.size !== undefined) bytes = tap(bytes, 'checksum', e.checksum, e.size, file);
  let out: AsyncIterable<Uint8Array> = decompress(bytes);
  if (e.openChecksum || e.openSize !== undefined) out = tap(out, 'open-checksum', e.openChecksum, e.openSize, file);
  return out;
}

/**
 * Runs `handler` over a metadata file and yields what it collected after each chunk, so readers
 * are async iterators with bounded memory: at most one chunk's worth of items is pending.
 */
export async function* parseItems<T>(
  source: MetadataSource,
  options: ReadOptions,
  makeHandler: (emit: (item: T) => void) => XmlHandler,
): AsyncGenerator<T> {
  const file = options.file ?? (typeof source === 'string' ? source : undefined);
  let pending: T[] = [];
  const parser = new XmlParser(makeHandler((item) => pending.push(item)), file === undefined ? {} : { file });
  try {
    for await (const chunk of openMetadataBytes(source, options)) {
      parser.write(chunk);
      if (pending.length) {
        const ready = pending;
        pending = [];
        yield* ready;
      }
    }
    parser.end();
  } catch (e) {
    if (e instanceof PhotonError && !e.file && file) throw new PhotonError(e.code, e.message, { file, cause: e.cause });
    throw e;
  }
  yield* pending;
}

/**
 * A copy of `s` that does not keep the parser's whole chunk alive. V8 represents a slice of 13
 * or more characters as a view into its parent string; prefixing a character and slicing again
 * forces a flat copy of just this text.
 */
export function ownString(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/** Interns `s` in `pool`, storing an owned copy the first time. */
export function internString(pool: Map<string, string>, s: string): string {
  let v = pool.get(s);
  if (v === undefined) {
    v = ownString(s);
    pool.set(v, v);
  }
  return v;
}

/** An integer attribute or text; absent or malformed reads as 0. */
export function toInt(s: string | undefined): number {
  if (s === undefined) return 0;
  const n = +s;
  return Number.isFinite(n) ? n : 0;
}
