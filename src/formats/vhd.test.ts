import assert from 'node:assert/strict';
import { open, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { isPhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import { VHD_FOOTER_SIZE, readVhdFooter, vhdFooter, vhdGeometry, writeFixedVhd } from './vhd.ts';

const MiB = 1024 * 1024;
let dir = '';
before(async () => {
  dir = await tempDir('vhd');
});
after(() => cleanup(dir));

/** A sparse raw disk of `size` bytes with a few patterned blocks in it. */
async function rawDisk(path: string, size: number): Promise<void> {
  await writeFile(path, '');
  const fh = await open(path, 'r+');
  await fh.truncate(size);
  for (const at of [0, Math.floor(size / 3 / 4096) * 4096, size - 4096]) {
    const b = Buffer.alloc(4096, (at % 251) + 1);
    b.write(`block at ${at}`);
    await fh.write(b, 0, b.length, at);
  }
  await fh.close();
}

async function qemuInfo(path: string, fmt: string): Promise<any> {
  return JSON.parse((await run('qemu-img', ['info', '-f', fmt, '--output', 'json', path])).stdout.toString());
}

test('fixed VHD: qemu-img sees the rounded size and the same bytes as the raw', async () => {
  const raw = join(dir, 'odd.raw');
  const vhd = join(dir, 'odd.vhd');
  const size = 64 * MiB + 12345 * 512; // not a whole MiB: Azure's rule pads it
  await rawDisk(raw, size);
  const virtual = await writeFixedVhd(raw, vhd, { uniqueId: '0123456789abcdef0123456789abcdef', timestamp: 1700000000 });
  assert.equal(virtual, 71 * MiB);
  assert.equal((await stat(vhd)).size, 71 * MiB + VHD_FOOTER_SIZE);
  // Holes stay holes: only the written blocks and the footer take space.
  assert.ok((await stat(vhd)).blocks * 512 < 1 * MiB);
  const info = await qemuInfo(vhd, 'vpc');
  assert.equal(info['virtual-size'], 71 * MiB);
  assert.equal(info['format-specific']?.type ?? 'vpc', 'vpc');
  // compare treats the larger image's extra area as equal when it reads as zeros: the padding.
  const cmp = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'vpc', raw, vhd]);
  assert.match(cmp.stdout.toString(), /Images are identical/);

  const bytes = await readFile(vhd);
  const footer = readVhdFooter(new Uint8Array(bytes.subarray(bytes.length - VHD_FOOTER_SIZE)));
  assert.deepEqual(footer, {
    creator: 'win ', originalSize: 71 * MiB, currentSize: 71 * MiB, diskType: 2,
    geometry: vhdGeometry(71 * MiB), uniqueId: '0123456789abcdef0123456789abcdef', timestamp: 1700000000,
  });
});

test('fixed VHD without rounding keeps the exact size', async () => {
  const raw = join(dir, 'exact.raw');
  const vhd = join(dir, 'exact.vhd');
  await rawDisk(raw, 3 * MiB + 512);
  assert.equal(await writeFixedVhd(raw, vhd, { roundToMiB: false }), 3 * MiB + 512);
  assert.equal((await qemuInfo(vhd, 'vpc'))['virtual-size'], 3 * MiB + 512);
  assert.match((await run('qemu-img', ['compare', '-f', 'raw', '-F', 'vpc', raw, vhd])).stdout.toString(), /Images are identical/);
});

test('CHS geometry follows the specification and qemu agrees on it', async () => {
  // qemu-img create computes the geometry with the same algorithm; with a size that is exactly
  // C×H×S sectors its footer holds the same numbers as ours. (It writes every byte of a fixed
  // image, so the sizes stay small; 63 sectors per track starts at 248 MiB and is checked below.)
  for (const sectors of [17 * 4 * 1000, 31 * 16 * 700]) {
    const path = join(dir, `geo-${sectors}.vhd`);
    await run('qemu-img', ['create', '-q', '-f', 'vpc', '-o', 'subformat=fixed', path, String(sectors * 512)]);
    const b = await readFile(path);
    const theirs = readVhdFooter(new Uint8Array(b.subarray(b.length - 512))).geometry;
    assert.deepEqual(vhdGeometry(sectors * 512), theirs, `${sectors} sectors`);
  }
  assert.deepEqual(vhdGeometry(63 * 16 * 1040 * 512), { cylinders: 1040, heads: 16, sectorsPerTrack: 63 });
  // Beyond ~127 GiB the geometry is pinned at its maximum.
  assert.deepEqual(vhdGeometry(2 * 1024 ** 4), { cylinders: 65535, heads: 16, sectorsPerTrack: 255 });
  for (const size of [MiB, 100 * MiB, 30 * 1024 * MiB]) {
    const g = vhdGeometry(size);
    assert.ok(g.cylinders * g.heads * g.sectorsPerTrack <= size / 512);
  }
});

test('bad input is E_VHD', async () => {
  const bad = (f: () => unknown, re: RegExp) => assert.throws(f, (e: unknown) => isPhotonError(e) && e.code === 'E_VHD' && re.test(e.message));
  bad(() => vhdFooter({ sizeBytes: 1000 }), /multiple of 512/);
  bad(() => vhdFooter({ sizeBytes: 512, uniqueId: 'xyz' }), /not a UUID/);
  const f = vhdFooter({ sizeBytes: MiB });
  f[100] = 1;
  bad(() => readVhdFooter(f), /checksum/);
  bad(() => readVhdFooter(new Uint8Array(512)), /conectix/);
  const raw = join(dir, 'odd-size.raw');
  await writeFile(raw, new Uint8Array(1000));
  await assert.rejects(writeFixedVhd(raw, join(dir, 'x.vhd')), (e: unknown) => isPhotonError(e) && e.file === raw && /multiple of 512/.test(e.message));
  await assert.rejects(writeFixedVhd(join(dir, 'missing.raw'), join(dir, 'x.vhd')), (e: unknown) => isPhotonError(e) && e.code === 'E_ENOENT');
  // Nothing is left behind when it fails.
  assert.deepEqual((await readdir(dir)).filter((n) => n.includes('x.vhd')), []);
});
