import assert from 'node:assert/strict';
import { open, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { mutate, onlyPhotonErrors, prng } from '../../test/kit/random.ts';
import { isPhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import { ALIGN, type PartitionSpec, SECTOR, guidFromBytes, guidToBytes, planLayout, readPartitionTable, writePartitionTable, writeTables } from './gpt.ts';

const MiB = 1024 * 1024;
let dir = '';
before(async () => {
  dir = await tempDir('gpt');
});
after(() => cleanup(dir));

const seeded = (seed: number) => {
  const r = prng(seed);
  return (n: number) => Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
};

const DUALBOOT: PartitionSpec[] = [
  { sizeBytes: 4 * MiB, type: 'bios-boot', name: 'BIOS boot' },
  { sizeBytes: 10 * MiB, type: 'esp', name: 'EFI system', bootable: true },
  { sizeBytes: 8 * MiB - 1, type: 'swap' },
  { sizeBytes: 0, type: 'linux', name: 'Photon root ✓' },
];

async function sfdiskJson(path: string): Promise<any> {
  return JSON.parse((await run('sfdisk', ['--json', path])).stdout.toString()).partitiontable;
}

test('GPT: sfdisk, sgdisk and fdisk read what we write', async () => {
  const disk = join(dir, 'gpt.raw');
  await writeFile(disk, '');
  const layout = planLayout(64 * MiB, DUALBOOT, 'gpt', { random: seeded(1) });
  await writeTables(disk, layout);
  const t = await sfdiskJson(disk);
  assert.equal(t.label, 'gpt');
  assert.equal(t.id, layout.diskId.toUpperCase());
  assert.equal(t.firstlba, 34);
  assert.equal(t.lastlba, 64 * 2048 - 34);
  assert.deepEqual(
    t.partitions.map((p: any) => [p.start, p.size, p.type, p.uuid, p.name ?? '', p.attrs ?? '']),
    layout.partitions.map((p) => [p.firstLba, p.lastLba - p.firstLba + 1, p.typeId.toUpperCase(), p.partuuid.toUpperCase(), p.name, p.bootable ? 'LegacyBIOSBootable' : '']),
  );
  // Every partition starts and ends on a MiB boundary; the rest-of-disk one stops before the backup GPT.
  for (const p of layout.partitions) {
    assert.equal(p.offset % ALIGN, 0);
    assert.equal(p.sizeBytes % ALIGN, 0);
  }
  assert.deepEqual(layout.partitions.map((p) => p.sizeBytes / MiB), [4, 10, 8, 64 - 1 - 4 - 10 - 8 - 1]);
  const v = (await run('sgdisk', ['-v', disk])).stdout.toString();
  assert.match(v, /No problems found/);
  assert.doesNotMatch(v, /Caution|Warning/i);
  const l = (await run('fdisk', ['-l', disk])).stdout.toString();
  assert.match(l, /Disklabel type: gpt/);
  assert.match(l, /gpt\.raw1\s+2048\s+10239\s+8192\s+4M BIOS boot/);
  assert.match(l, /gpt\.raw4\s+47104\s+129023\s+81920\s+40M Linux filesystem/);
});

test('GPT: byte for byte what sfdisk writes for the same table', async () => {
  const layout = planLayout(64 * MiB, DUALBOOT, 'gpt', { random: seeded(2) });
  const ours = writePartitionTable(layout);
  const theirs = join(dir, 'sfdisk.raw');
  await writeFile(theirs, '');
  await truncate(theirs, 64 * MiB);
  // sfdisk puts the first usable LBA at 2048 unless told; gdisk and we say 34, the minimum.
  const lines = [`label: gpt`, `first-lba: 34`, `label-id: ${layout.diskId}`, 'unit: sectors', ''];
  for (const p of layout.partitions) {
    const attrs = p.bootable ? ', attrs="LegacyBIOSBootable"' : '';
    lines.push(`start=${p.firstLba}, size=${p.lastLba - p.firstLba + 1}, type=${p.typeId}, uuid=${p.partuuid}, name="${p.name}"${attrs}`);
  }
  await run('sfdisk', ['-q', '--no-reread', '--no-tell-kernel', theirs], { input: lines.join('\n') + '\n' });
  const bytes = await readFile(theirs);
  assert.deepEqual(new Uint8Array(bytes.subarray(0, ours.head.length)), ours.head);
  assert.deepEqual(new Uint8Array(bytes.subarray(ours.tailOffset)), ours.tail);
});

test('GPT: round trip through our reader, boot code kept', async () => {
  const disk = join(dir, 'rt.raw');
  const boot = new Uint8Array(440).fill(0xeb);
  await writeFile(disk, boot);
  const layout = planLayout(32 * MiB, [{ sizeBytes: 0, type: 'linux', guid: '11111111-2222-4333-8444-555555555555' }], 'gpt', { diskId: 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE' });
  await writeTables(disk, layout);
  const bytes = new Uint8Array(await readFile(disk));
  assert.equal(bytes.length, 32 * MiB);
  assert.deepEqual(bytes.subarray(0, 440), boot);
  const t = readPartitionTable(bytes);
  assert.equal(t.diskId, 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee');
  assert.deepEqual(t.partitions.map((p) => [p.number, p.typeId, p.partuuid, p.firstLba, p.lastLba]), [[1, '0fc63daf-8483-4772-8e79-3d69d8477de4', '11111111-2222-4333-8444-555555555555', 2048, 32 * 2048 - 2048 - 1]]);
  assert.equal(guidFromBytes(guidToBytes('c12a7328-f81f-11d2-ba4b-00a0c93ec93b')), 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b');
  // The mixed-endian layout: "28 73 2a c1 1f f8 d2 11 ba 4b …" is how the ESP type GUID sits on disk.
  assert.equal(Buffer.from(guidToBytes('c12a7328-f81f-11d2-ba4b-00a0c93ec93b')).toString('hex'), '28732ac11ff8d211ba4b00a0c93ec93b');
  // A boot code given with the table replaces what the file had.
  await writeTables(disk, layout, new Uint8Array([0xfa]));
  const again = await readFile(disk);
  assert.equal(again[0], 0xfa);
  assert.equal(again[1], 0);
});

test('GPT: corrupt tables are E_PARTITION_TABLE, never a crash', async () => {
  const layout = planLayout(4 * MiB, [{ sizeBytes: 1 * MiB, type: 'esp' }, { sizeBytes: 0, type: 'linux' }], 'gpt', { random: seeded(3) });
  const { head, tail, tailOffset } = writePartitionTable(layout);
  const disk = new Uint8Array(4 * MiB);
  disk.set(head);
  disk.set(tail, tailOffset);
  assert.equal(readPartitionTable(disk).partitions.length, 2);
  const flipped = disk.slice();
  flipped[2 * SECTOR + 40]! ^= 1; // an entry's last LBA: the array CRC no longer matches
  assert.throws(() => readPartitionTable(flipped), (e: unknown) => isPhotonError(e) && e.code === 'E_PARTITION_TABLE' && /entry array CRC/.test(e.message));
  const rand = prng(7);
  // Mutate only the table regions: the rest is zeros either way.
  for (let i = 0; i < 300; i++) {
    const m = disk.slice();
    const region = rand() < 0.5 ? [0, head.length] : [tailOffset, disk.length];
    const piece = mutate(rand, m.subarray(region[0], region[1]));
    m.set(piece.subarray(0, region[1]! - region[0]!), region[0]);
    onlyPhotonErrors(`mutation ${i}`, () => readPartitionTable(m));
  }
});

test('msdos: sfdisk reads it, bootable flag, PARTUUIDs, and the same bytes sfdisk writes', async () => {
  const disk = join(dir, 'mbr.raw');
  await writeFile(disk, '');
  const layout = planLayout(
    64 * MiB,
    [{ sizeBytes: 10 * MiB, type: 'linux', bootable: true }, { sizeBytes: 0, type: 'swap' }],
    'msdos',
    { diskId: '71EB2F45' },
  );
  await writeTables(disk, layout);
  const t = await sfdiskJson(disk);
  assert.equal(t.label, 'dos');
  assert.equal(t.id, '0x71eb2f45');
  assert.deepEqual(t.partitions.map((p: any) => [p.start, p.size, p.type, p.bootable ?? false]), [[2048, 20480, '83', true], [22528, 108544, '82', false]]);
  assert.deepEqual(layout.partitions.map((p) => p.partuuid), ['71eb2f45-01', '71eb2f45-02']);
  assert.deepEqual(readPartitionTable(new Uint8Array(await readFile(disk))).partitions.map((p) => [p.partuuid, p.typeId, p.bootable]), [['71eb2f45-01', '83', true], ['71eb2f45-02', '82', false]]);

  // sfdisk computes the CHS fields the same way (255 heads, 63 sectors).
  const theirs = join(dir, 'mbr-sfdisk.raw');
  await writeFile(theirs, '');
  await truncate(theirs, 64 * MiB);
  await run('sfdisk', ['-q', '--no-reread', '--no-tell-kernel', theirs], { input: 'label: dos\nlabel-id: 0x71eb2f45\nstart=2048, size=20480, type=83, bootable\nstart=22528, size=108544, type=82\n' });
  const fh = await open(theirs);
  const sector0 = new Uint8Array(SECTOR);
  await fh.read(sector0, 0, SECTOR, 0);
  await fh.close();
  assert.deepEqual(sector0, writePartitionTable(layout).head);
});

test('impossible layouts are E_LAYOUT naming the problem', () => {
  const bad = (f: () => unknown, re: RegExp) => assert.throws(f, (e: unknown) => isPhotonError(e) && e.code === 'E_LAYOUT' && re.test(e.message));
  bad(() => planLayout(64 * MiB, [{ sizeBytes: 64 * MiB, type: 'linux' }], 'gpt'), /need 66 MiB but the disk has 64 MiB/);
  bad(() => planLayout(64 * MiB, [{ sizeBytes: 62 * MiB, type: 'linux' }, { sizeBytes: 0, type: 'swap' }], 'gpt'), /disk has 64 MiB/);
  bad(() => planLayout(64 * MiB, [{ sizeBytes: 0, type: 'linux' }, { sizeBytes: 0, type: 'swap' }], 'gpt'), /partitions 1 and 2 both take the rest/);
  bad(() => planLayout(64 * MiB, Array.from({ length: 5 }, () => ({ sizeBytes: MiB, type: 'linux' as const })), 'msdos'), /at most 4 primary/);
  bad(() => planLayout(64 * MiB, [{ sizeBytes: MiB, type: 'bios-boot' }], 'msdos'), /BIOS boot partition belongs in a GPT/);
  bad(() => planLayout(64 * MiB, [{ sizeBytes: MiB, type: 'linux', guid: 'nope' }], 'gpt'), /partition 1: "nope" is not a GUID/);
  bad(() => planLayout(64 * MiB, [{ sizeBytes: MiB, type: 'linux', guid: '11111111-2222-4333-8444-555555555555' }, { sizeBytes: MiB, type: 'linux', guid: '11111111-2222-4333-8444-555555555555' }], 'gpt'), /used twice/);
  bad(() => planLayout(1000, [{ sizeBytes: 0, type: 'linux' }], 'gpt'), /multiple of 512/);
  bad(() => planLayout(64 * MiB, [], 'gpt'), /no partitions/);
  // Exactly full: 1 MiB in front, 1 MiB kept for the backup GPT's alignment.
  assert.equal(planLayout(64 * MiB, [{ sizeBytes: 62 * MiB, type: 'linux' }], 'gpt').partitions[0]!.sizeBytes, 62 * MiB);
  assert.equal(planLayout(64 * MiB, [{ sizeBytes: 63 * MiB, type: 'linux' }], 'msdos').partitions[0]!.sizeBytes, 63 * MiB);
});
