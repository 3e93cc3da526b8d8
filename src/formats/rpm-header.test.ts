import assert from 'node:assert/strict';
import { test } from 'node:test';
import { onlyPhotonErrors, prng } from '../../test/kit/random.ts';
import { buildRpm, FEATURE_SPEC } from '../../test/kit/rpmbuild.ts';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { readFile } from 'node:fs/promises';
import { isPhotonError } from '../util/errors.ts';
import { REGION_IMMUTABLE, REGION_SIGNATURES, TagType, getNumber, getString, getStrings, parseHeader, writeHeader, type HeaderValue } from './rpm-header.ts';

function sample(): Uint8Array {
  const e = new Map<number, HeaderValue>([
    [1000, { type: TagType.STRING, value: 'name' }],
    [1004, { type: TagType.I18NSTRING, value: ['summary'] }],
    [1009, { type: TagType.INT32, value: [1, 2, 3] }],
    [1030, { type: TagType.INT16, value: [0o100644, 0o40755] }],
    [1117, { type: TagType.STRING_ARRAY, value: ['a', 'b', 'ccc'] }],
    [5009, { type: TagType.INT64, value: [2 ** 40] }],
    [1004 + 10, { type: TagType.BIN, value: Uint8Array.of(1, 2, 3) }],
  ]);
  return writeHeader(e, { magic: true, region: REGION_IMMUTABLE });
}

test('rpmbuild headers round-trip byte for byte', async () => {
  const dir = await tempDir('rpmheader');
  try {
    const bytes = new Uint8Array(await readFile(await buildRpm(dir, FEATURE_SPEC, { payload: 'w9.gzdio' })));
    const sig = parseHeader(bytes, 96, { magic: true });
    assert.equal(sig.header.region, REGION_SIGNATURES);
    assert.deepEqual(writeHeader(sig.header.entries, { magic: false, region: REGION_SIGNATURES }), sig.header.raw);
    const start = sig.end + ((8 - ((sig.end - 96) % 8)) % 8);
    const main = parseHeader(bytes, start, { magic: true });
    assert.equal(main.header.region, REGION_IMMUTABLE);
    assert.deepEqual(writeHeader(main.header.entries, { magic: false, region: REGION_IMMUTABLE }), main.header.raw);
    assert.equal(getString(main.header, 1000), 'feat');
    assert.equal(getNumber(main.header, 1003), 4);
    assert.ok(getStrings(main.header, 1117).includes('feat.conf'));
  } finally {
    await cleanup(dir);
  }
});

test('values of every type round-trip', () => {
  const bytes = sample();
  const { header, end } = parseHeader(bytes, 0, { magic: true });
  assert.equal(end, bytes.length);
  assert.deepEqual(header.entries.get(5009), { type: TagType.INT64, value: [2 ** 40] });
  assert.deepEqual(header.entries.get(1030), { type: TagType.INT16, value: [0o100644, 0o40755] });
  assert.deepEqual(writeHeader(header.entries, { magic: true, region: REGION_IMMUTABLE }), bytes);
});

const rejects = (bytes: Uint8Array, re: RegExp) =>
  assert.throws(() => parseHeader(bytes, 0, { magic: true, file: 'x.rpm' }), (e: unknown) => isPhotonError(e) && e.code === 'E_RPM_HEADER' && e.file === 'x.rpm' && re.test(e.message));

test('corrupt, truncated and absurd headers are E_RPM_HEADER', () => {
  const good = sample();
  const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (const cut of [0, 3, 10, 15, 20, good.length - 1]) rejects(good.subarray(0, cut), /truncated/);
  const badMagic = good.slice();
  badMagic[1] = 0;
  rejects(badMagic, /bad magic/);
  const hugeIl = good.slice();
  dv(hugeIl).setUint32(8, 0x7fffffff);
  rejects(hugeIl, /absurd index entry count/);
  const hugeDl = good.slice();
  dv(hugeDl).setUint32(12, 0xfffffff0);
  rejects(hugeDl, /absurd data size/);
  const zeroIl = good.slice();
  dv(zeroIl).setUint32(8, 0);
  rejects(zeroIl, /absurd/);
  // Entry 1 (after the region): offset out of bounds, absurd count, unknown type.
  const oob = good.slice();
  dv(oob).setInt32(16 + 16 + 8, 1 << 20);
  rejects(oob, /outside the data/);
  const count = good.slice();
  dv(count).setUint32(16 + 16 + 12, 0x40000000);
  rejects(count, /absurd count|past the end|unterminated/);
  const type = good.slice();
  dv(type).setUint32(16 + 16 + 4, 77);
  rejects(type, /unknown type/);
  const trailer = good.slice();
  trailer[trailer.length - 16]! ^= 0xff;
  rejects(trailer, /region/);
});

test('fuzz: mutated headers parse or fail with PhotonError only', () => {
  const rnd = prng(0x5eed);
  const base = sample();
  for (let i = 0; i < 5000; i++) {
    const b = base.slice(0, rnd() < 0.1 ? Math.floor(rnd() * base.length) : base.length);
    const flips = 1 + Math.floor(rnd() * 8);
    for (let k = 0; k < flips && b.length; k++) {
      const at = Math.floor(rnd() * b.length);
      b[at] = rnd() < 0.5 ? Math.floor(rnd() * 256) : b[at]! ^ (1 << Math.floor(rnd() * 8));
    }
    onlyPhotonErrors(`iteration ${i}`, () => {
      const { header } = parseHeader(b, 0, { magic: true });
      writeHeader(header.entries, { magic: true });
    });
  }
});
