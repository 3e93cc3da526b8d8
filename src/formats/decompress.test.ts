import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { PhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import {
  type CompressionFormat, compressionFromName, decompressAuto, decompressBuffer, decompressStream, detectCompression,
} from './decompress.ts';

const TOOLS: [CompressionFormat, string, string[]][] = [
  ['gzip', 'gzip', ['-c']],
  ['xz', 'xz', ['-c']],
  ['zstd', 'zstd', ['-c', '-q']],
  ['bzip2', 'bzip2', ['-c']],
  ['lzma', 'xz', ['--format=lzma', '-c']],
];

// Text-like, compressible, but not trivially so; includes multi-byte UTF-8 and a NUL.
function sample(size: number): Buffer {
  const words = ['<package>', 'name', 'x86_64', 'glibc', 'évolution', '日本語', '\0', 'libfoo.so.1()(64bit)', '\n'];
  const parts: string[] = [];
  let n = 0;
  let seed = 7;
  while (n < size) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const w = words[seed % words.length]! + (seed % 1000);
    parts.push(w);
    n += w.length;
  }
  return Buffer.from(parts.join(' ')).subarray(0, size);
}

async function* chunked(bytes: Uint8Array, seed = 1): AsyncGenerator<Uint8Array> {
  let i = 0;
  while (i < bytes.length) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const n = 1 + (seed % 70000);
    yield bytes.subarray(i, i + n);
    i += n;
  }
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const data = sample(3_000_000);

for (const [format, tool, args] of TOOLS) {
  test(`${format}: round trip against the ${tool} CLI, streamed in odd chunks`, async () => {
    const packed = (await run(tool, args, { input: data })).stdout;
    assert.equal(detectCompression(packed), format);
    assert.equal(sha(await collect(decompressStream(format, chunked(packed)))), sha(data));
    assert.equal(sha(await collect(decompressAuto(chunked(packed, 99)))), sha(data));
    assert.equal(sha(await decompressBuffer(format, packed)), sha(data));
  });

  test(`${format}: truncated and corrupt input is E_DECOMPRESS naming the format`, async () => {
    const packed = (await run(tool, args, { input: data })).stdout;
    const isDecompressError = (e: unknown): boolean =>
      e instanceof PhotonError && e.code === 'E_DECOMPRESS' && e.message.includes(format);
    await assert.rejects(collect(decompressStream(format, chunked(packed.subarray(0, packed.length >> 1)))), isDecompressError);
    const bad = Buffer.from(packed);
    for (let i = 200; i < 400; i++) bad[i] = bad[i]! ^ 0x55;
    await assert.rejects(decompressBuffer(format, bad), isDecompressError);
  });
}

test('two-member gzip and multi-frame zstd decode to the concatenation', async () => {
  const a = sample(1000);
  const b = sample(2000);
  for (const [format, tool, args] of TOOLS.slice(0, 3)) {
    const packed = Buffer.concat([(await run(tool, args, { input: a })).stdout, (await run(tool, args, { input: b })).stdout]);
    assert.equal(sha(await decompressBuffer(format, packed)), sha(Buffer.concat([a, b])), format);
  }
});

test('an error from the source passes through unchanged', async () => {
  for (const [format, tool, args] of TOOLS.slice(0, 3)) {
    const packed = (await run(tool, args, { input: data })).stdout;
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield packed.subarray(0, 1000);
      throw new PhotonError('E_REPO_CHECKSUM', 'boom');
    }
    await assert.rejects(collect(decompressStream(format, failing())), (e: unknown) => e instanceof PhotonError && e.code === 'E_REPO_CHECKSUM', format);
  }
  // The xz lock is released after a failure and after an early stop: this would hang otherwise.
  const packed = (await run('xz', ['-c'], { input: data })).stdout;
  for await (const _ of decompressStream('xz', chunked(packed))) break;
  assert.equal(sha(await decompressBuffer('xz', packed)), sha(data));
});

test('detectCompression and compressionFromName', () => {
  assert.equal(detectCompression(Buffer.from('<?xml version="1.0"?>')), 'none');
  assert.equal(detectCompression(new Uint8Array(0)), 'none');
  assert.equal(compressionFromName('x-primary.xml.zst'), 'zstd');
  assert.equal(compressionFromName('x-primary.xml.gz'), 'gzip');
  assert.equal(compressionFromName('repomd.xml'), 'none');
});
