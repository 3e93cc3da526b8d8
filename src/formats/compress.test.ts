import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import { compress, compressionFromName, decompressPayload, formatOfCompressor, payloadTags } from './compress.ts';

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

const DATA = new TextEncoder().encode('payload '.repeat(5000));

test('gzip, zstd and none round-trip through decompressPayload', async () => {
  for (const f of ['gzip', 'zstd', 'none'] as const) {
    const c = await compress(f, DATA);
    if (f !== 'none') assert.ok(c.length < DATA.length / 10, f);
    const tags = payloadTags(f);
    assert.ok(Buffer.from(DATA).equals(await collect(decompressPayload(tags.compressor, c))), f);
  }
});

test('compression is deterministic', async () => {
  for (const f of ['gzip', 'zstd'] as const) assert.deepEqual(await compress(f, DATA), await compress(f, DATA));
});

test('PAYLOADCOMPRESSOR mapping as rpm writes it', () => {
  assert.deepEqual(payloadTags('zstd'), { compressor: 'zstd', flags: '19' });
  assert.deepEqual(payloadTags('gzip'), { compressor: 'gzip', flags: '9' });
  assert.deepEqual(payloadTags('none'), { compressor: undefined, flags: '0' });
  assert.equal(formatOfCompressor('xz'), 'xz');
  assert.equal(formatOfCompressor(undefined, Uint8Array.of(0x1f, 0x8b)), 'gzip');
  assert.equal(formatOfCompressor(undefined, Uint8Array.of(0x30, 0x37)), 'none');
  assert.throws(() => formatOfCompressor('brotli'), (e: unknown) => isPhotonError(e) && e.code === 'E_RPM_PAYLOAD');
  assert.throws(() => compressionFromName('xz'), (e: unknown) => isPhotonError(e) && e.code === 'E_USAGE');
});

test('a corrupt payload is E_RPM_PAYLOAD', async () => {
  for (const f of ['gzip', 'zstd'] as const) {
    const c = (await compress(f, DATA)).slice();
    c[Math.floor(c.length / 2)]! ^= 0xff;
    c[Math.floor(c.length / 2) + 1]! ^= 0xff;
    await assert.rejects(collect(decompressPayload(f, c.subarray(0, c.length - 4))), (e: unknown) => isPhotonError(e) && e.code === 'E_RPM_PAYLOAD', f);
  }
});

test('xz with a SHA-256 check (as rpm writes payloads): decoded and verified, multi-block and multi-stream too', async () => {
  for (const args of [['--check=sha256'], ['--check=sha256', '--block-size=3000'], ['--check=crc64'], ['--check=sha256', '-0']]) {
    const xz = new Uint8Array((await run('xz', ['-c', ...args], { input: DATA })).stdout);
    assert.ok(Buffer.from(DATA).equals(await collect(decompressPayload('xz', xz))), args.join(' '));
  }
  const one = new Uint8Array((await run('xz', ['-c', '--check=sha256'], { input: DATA })).stdout);
  const two = Buffer.concat([one, new Uint8Array(4), one]);
  assert.equal((await collect(decompressPayload('xz', two))).length, DATA.length * 2);
  const isPayloadError = (e: unknown): boolean => isPhotonError(e) && e.code === 'E_RPM_PAYLOAD';
  await assert.rejects(collect(decompressPayload('xz', one.subarray(0, one.length - 30))), isPayloadError);
  // The SHA-256 sits just before the index: flip one of its bits.
  const bad = one.slice();
  const footer = bad.length - 12;
  const index = footer - (bad[footer + 4]! + 1) * 4;
  bad[index - 1]! ^= 1;
  await assert.rejects(collect(decompressPayload('xz', bad)), (e: unknown) => isPayloadError(e) && /SHA-256 mismatch/.test((e as Error).message));
});
