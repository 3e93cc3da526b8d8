import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { open, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { inflateSync } from 'node:zlib';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { isPhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import { planLayout, writeTables } from './gpt.ts';
import { dataRanges } from '../util/sparse.ts';
import { writeStreamOptimizedVmdk } from './vmdk.ts';

const MiB = 1024 * 1024;
let dir = '';
before(async () => {
  dir = await tempDir('vmdk');
});
after(() => cleanup(dir));

/** A disk as the image builder makes one: a GPT and an ext4 (of /etc) placed at its partition. */
async function diskWithExt4(path: string, size: number): Promise<void> {
  await writeFile(path, '');
  const layout = planLayout(size, [{ sizeBytes: 0, type: 'linux' }], 'gpt');
  await writeTables(path, layout);
  const part = layout.partitions[0]!;
  // A new file each time: mkfs.ext4 does not shrink an existing, larger one.
  const fs = `${path}.ext4`;
  await run('mkfs.ext4', ['-q', '-F', '-d', '/etc', '-E', 'root_owner=0:0', fs, `${part.sizeBytes / 1024}k`]);
  const src = await readFile(fs);
  const fh = await open(path, 'r+');
  await fh.write(src, 0, src.length, part.offset);
  await fh.close();
}

async function qemu(...args: string[]): Promise<string> {
  return (await run('qemu-img', args)).stdout.toString();
}

test('qemu-img reads our stream-optimized VMDK as the same disk', async () => {
  const raw = join(dir, 'disk.raw');
  const vmdk = join(dir, 'disk.vmdk');
  await diskWithExt4(raw, 64 * MiB);
  const r = await writeStreamOptimizedVmdk(raw, vmdk, { cid: '0badcafe' });
  const bytes = await readFile(vmdk);
  assert.equal(r.size, bytes.length);
  assert.equal(r.sha256, createHash('sha256').update(bytes).digest('hex'));
  assert.equal(r.capacity, 64 * MiB);
  assert.ok(r.populated > 0 && r.populated < 64 * MiB && r.populated % 65536 === 0);
  assert.ok(r.size < r.populated, 'grains are compressed');
  assert.match(await qemu('check', '-f', 'vmdk', vmdk), /No errors were found/);
  assert.match(await qemu('compare', '-f', 'raw', '-F', 'vmdk', raw, vmdk), /Images are identical/);
  const info = JSON.parse(await qemu('info', '--output', 'json', vmdk));
  assert.equal(info.format, 'vmdk');
  assert.equal(info['virtual-size'], 64 * MiB);
  assert.equal(info['format-specific'].data['create-type'], 'streamOptimized');
  assert.equal(info['format-specific'].data.cid, 0x0badcafe);
  assert.equal(info['format-specific'].data.extents[0].compressed, true);
  // No temporary file is left beside it.
  assert.deepEqual((await readdir(dir)).filter((n) => n.includes('.tmp')), []);
});

test('stream layout: header says "GD at end", footer and end-of-stream marker close the file', async () => {
  const raw = join(dir, 'layout.raw');
  const vmdk = join(dir, 'layout.vmdk');
  await diskWithExt4(raw, 16 * MiB);
  await writeStreamOptimizedVmdk(raw, vmdk);
  const b = await readFile(vmdk);
  assert.equal(b.length % 512, 0);
  assert.equal(b.toString('latin1', 0, 4), 'KDMV');
  assert.equal(b.readUInt32LE(4), 3);
  assert.equal(b.readUInt32LE(8), 0x30001);
  assert.equal(b.readBigUInt64LE(56), 0xffffffffffffffffn);
  assert.equal(b.readUInt16LE(77), 1);
  assert.match(b.toString('utf8', 512, 1536), /createType="streamOptimized"[\s\S]*RW 32768 SPARSE "layout.vmdk"[\s\S]*ddb.adapterType = "lsilogic"/);
  const end = b.length;
  assert.ok(b.subarray(end - 512).every((c) => c === 0), 'end-of-stream marker');
  const footer = b.subarray(end - 1024, end - 512);
  const marker = b.subarray(end - 1536, end - 1024);
  assert.deepEqual([marker.readBigUInt64LE(0), marker.readUInt32LE(8), marker.readUInt32LE(12)], [1n, 0, 3]);
  assert.equal(footer.toString('latin1', 0, 4), 'KDMV');
  const gd = Number(footer.readBigUInt64LE(56));
  const gdMarker = b.subarray((gd - 1) * 512, gd * 512);
  assert.equal(gdMarker.readUInt32LE(12), 2);
  // Follow GD → GT → grain marker for grain 0 (the protective MBR and GPT): it inflates to the raw bytes.
  const gt = b.readUInt32LE(gd * 512);
  assert.equal(b.readUInt32LE((gt - 1) * 512 + 12), 1);
  const grain0 = b.readUInt32LE(gt * 512) * 512;
  assert.equal(b.readBigUInt64LE(grain0), 0n);
  const z = b.subarray(grain0 + 12, grain0 + 12 + b.readUInt32LE(grain0 + 8));
  assert.deepEqual(inflateSync(z), (await readFile(raw)).subarray(0, 65536));
});

test('a disk that is not a whole number of grains, an empty disk, and bad input', async () => {
  const raw = join(dir, 'odd.raw');
  await writeFile(raw, '');
  const fh = await open(raw, 'r+');
  await fh.truncate(3 * MiB + 1024);
  await fh.write(Buffer.alloc(1024, 0xa5), 0, 1024, 3 * MiB); // the last, partial grain
  await fh.close();
  const vmdk = join(dir, 'odd.vmdk');
  const r = await writeStreamOptimizedVmdk(raw, vmdk, { level: 9, parallel: 1 });
  assert.equal(r.populated, 65536);
  assert.equal(JSON.parse(await qemu('info', '--output', 'json', vmdk))['virtual-size'], 3 * MiB + 1024);
  assert.match(await qemu('compare', '-f', 'raw', '-F', 'vmdk', raw, vmdk), /Images are identical/);

  const empty = join(dir, 'empty.raw');
  await writeFile(empty, '');
  await run('truncate', ['-s', '8M', empty]);
  const e = await writeStreamOptimizedVmdk(empty, join(dir, 'empty.vmdk'));
  assert.equal(e.populated, 0);
  assert.ok((await stat(join(dir, 'empty.vmdk'))).size < 128 * 1024);
  assert.match(await qemu('check', join(dir, 'empty.vmdk')), /No errors were found/);
  assert.match(await qemu('compare', '-f', 'raw', '-F', 'vmdk', empty, join(dir, 'empty.vmdk')), /Images are identical/);

  const bad = (p: Promise<unknown>, re: RegExp) => assert.rejects(p, (err: unknown) => isPhotonError(err) && re.test(err.message));
  await bad(writeStreamOptimizedVmdk(raw, vmdk, { level: 0 }), /level 0 is not 1–9/);
  await bad(writeStreamOptimizedVmdk(join(dir, 'nope.raw'), vmdk), /no such file/);
  await writeFile(join(dir, 'short.raw'), new Uint8Array(100));
  await bad(writeStreamOptimizedVmdk(join(dir, 'short.raw'), vmdk), /not a positive multiple of 512/);
});

test('a sparse raw disk: only its data is read, and qemu-img sees the same disk', async () => {
  const raw = join(dir, 'sparse.raw');
  const vmdk = join(dir, 'sparse.vmdk');
  // Data at grain-unaligned places, holes between (the file is 40 MiB, 3 small pieces of data).
  const fh = await open(raw, 'w');
  await fh.truncate(40 * MiB);
  const piece = (n: number) => Buffer.alloc(n, 0x5a);
  await fh.write(piece(1000), 0, 1000, 3 * MiB + 12345);
  await fh.write(piece(70000), 0, 70000, 17 * MiB - 512);
  await fh.write(piece(512), 0, 512, 40 * MiB - 512);
  await fh.close();
  const ranges = await dataRanges(raw);
  assert.ok(ranges, 'python3 answers');
  const data = ranges.reduce((n, [s, e]) => n + e - s, 0);
  assert.ok(data < 4 * MiB && ranges.length >= 3, `the holes are holes: ${JSON.stringify(ranges)}`);
  const r = await writeStreamOptimizedVmdk(raw, vmdk);
  // 1000 bytes in one grain, 70000 bytes over three, 512 in the last one.
  assert.equal(r.populated, 5 * 65536);
  assert.match(await qemu('compare', '-f', 'raw', '-F', 'vmdk', raw, vmdk), /Images are identical/);
});
