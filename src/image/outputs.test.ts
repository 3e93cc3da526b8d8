import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { planLayout, readPartitionTable, writeTables } from '../formats/gpt.ts';
import { isPhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import { AMI_MEMBER, GCE_MEMBER, writeOutput } from './outputs.ts';

const MiB = 1024 * 1024;
let dir = '';
let raw = '';
const INFO = { name: 'photon', firmware: 'efi', mtime: 1700000000 } as const;

/** 64 MiB: GPT with an ESP (vfat) and a root ext4 made from /etc, as the image builder lays disks out. */
before(async () => {
  dir = await tempDir('outputs');
  raw = join(dir, 'disk.raw');
  await writeFile(raw, '');
  const layout = planLayout(64 * MiB, [{ sizeBytes: 8 * MiB, type: 'esp' }, { sizeBytes: 0, type: 'linux' }], 'gpt');
  await writeTables(raw, layout);
  const [esp, root] = layout.partitions as [typeof layout.partitions[0], typeof layout.partitions[0]];
  const espImg = join(dir, 'esp.img');
  const rootImg = join(dir, 'root.ext4');
  await run('mkfs.vfat', ['-C', espImg, String(esp.sizeBytes / 1024)]);
  await run('mkfs.ext4', ['-q', '-d', '/etc', rootImg, `${root.sizeBytes / 1024}k`]);
  const fh = await open(raw, 'r+');
  for (const [img, p] of [[espImg, esp], [rootImg, root]] as const) {
    const b = await readFile(img);
    await fh.write(b, 0, b.length, p.offset);
  }
  await fh.close();
});
after(() => cleanup(dir));

async function qemu(...args: string[]): Promise<string> {
  return (await run('qemu-img', args)).stdout.toString();
}

/**
 * Extracts `member` to stdout with `tar -xzvvOf` and hashes it as it streams (a GiB never lands on
 * disk or in memory); with -O, tar's verbose listing goes to stderr: one decompression for both.
 */
function tarExtract(archive: string, member: string): Promise<{ sha: string; bytes: number; listing: string[] }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    const err: Buffer[] = [];
    const p = spawn('tar', ['--format=gnu', '-xzvvOf', archive, member], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.on('data', (b: Buffer) => {
      h.update(b);
      bytes += b.length;
    });
    p.stderr.on('data', (b: Buffer) => err.push(b));
    p.on('error', reject);
    p.on('close', (code) => {
      const listing = Buffer.concat(err).toString().trim().split('\n');
      if (code === 0) resolve({ sha: h.digest('hex'), bytes, listing });
      else reject(new Error(`tar exit ${code}: ${listing.join('\n')}`));
    });
  });
}

async function noTemporaries(): Promise<void> {
  assert.deepEqual((await readdir(join(dir, 'out'))).filter((n) => n.startsWith('.')), []);
}

test('raw: a sparse copy with the same bytes', async () => {
  const out = join(dir, 'out', 'photon.raw');
  await writeOutput(raw, 'raw', out, INFO);
  assert.deepEqual(await readFile(out), await readFile(raw));
  assert.ok((await stat(out)).blocks * 512 < 32 * MiB, 'holes stay holes');
  assert.equal(readPartitionTable(new Uint8Array(await readFile(out))).partitions.length, 2);
  await writeOutput(raw, 'raw', raw, INFO); // onto itself: nothing to do
  await noTemporaries();
});

test('qcow2: qemu-img check and compare', async () => {
  const out = join(dir, 'out', 'photon.qcow2');
  await writeOutput(raw, 'qcow2', out, INFO);
  assert.match(await qemu('check', '-f', 'qcow2', out), /No errors were found/);
  assert.match(await qemu('compare', '-f', 'raw', '-F', 'qcow2', raw, out), /Images are identical/);
  await noTemporaries();
});

test('azure: fixed VHD of the same disk, whole MiB', async () => {
  const out = join(dir, 'out', 'photon.vhd');
  await writeOutput(raw, 'azure', out, INFO);
  assert.equal((await stat(out)).size, 64 * MiB + 512);
  assert.equal(JSON.parse(await qemu('info', '-f', 'vpc', '--output', 'json', out))['virtual-size'], 64 * MiB);
  assert.match(await qemu('compare', '-f', 'raw', '-F', 'vpc', raw, out), /Images are identical/);
});

test('ova: .ovf, .mf, .vmdk; the VMDK is the disk, the manifest matches, the OVF is valid XML with EFI firmware', async () => {
  const out = join(dir, 'out', 'photon.ova');
  await writeOutput(raw, 'ova', out, { ...INFO, cpus: 2, memoryMiB: 1024 });
  const listing = (await run('tar', ['-tvf', out])).stdout.toString().trim().split('\n');
  assert.deepEqual(listing.map((l) => l.split(/\s+/).pop()), ['photon.ovf', 'photon.mf', 'photon-disk1.vmdk']);
  const x = join(dir, 'ova-x');
  await mkdir(x);
  await run('tar', ['-xf', out, '-C', x]);
  const mf = await readFile(join(x, 'photon.mf'), 'utf8');
  const sums = (await run('sha256sum', ['photon.ovf', 'photon-disk1.vmdk'], { cwd: x })).stdout.toString();
  assert.equal(sums, mf.replace(/^SHA256\((.+)\)= (\w+)$/gm, '$2  $1'));
  await run('xmllint', ['--noout', join(x, 'photon.ovf')]);
  const ovf = await readFile(join(x, 'photon.ovf'), 'utf8');
  assert.match(ovf, /vmw:key="firmware" vmw:value="efi"/);
  assert.match(ovf, /<rasd:VirtualQuantity>1024<\/rasd:VirtualQuantity>/);
  const vmdk = join(x, 'photon-disk1.vmdk');
  assert.match(ovf, new RegExp(`ovf:size="${(await stat(vmdk)).size}"`));
  assert.match(ovf, /ovf:capacity="67108864"/);
  assert.match(await qemu('check', '-f', 'vmdk', vmdk), /No errors were found/);
  assert.match(await qemu('compare', '-f', 'raw', '-F', 'vmdk', raw, vmdk), /Images are identical/);
  assert.match(await qemu('info', vmdk), /create type: streamOptimized/);
  await noTemporaries();
});

test('ami: tar.gz holding photon-ami.raw, the disk byte for byte', async () => {
  const out = join(dir, 'out', 'photon-ami.tar.gz');
  await writeOutput(raw, 'ami', out, INFO);
  const got = await tarExtract(out, AMI_MEMBER);
  assert.equal(got.listing.length, 1);
  assert.match(got.listing[0]!, new RegExp(`^-rw-r--r-- root/root\\s+${64 * MiB} 2023-11-1\\d \\d\\d:\\d\\d ${AMI_MEMBER}$`));
  assert.equal(got.bytes, 64 * MiB);
  assert.equal(got.sha, createHash('sha256').update(await readFile(raw)).digest('hex'));
  // gzip's own check of every member's CRC and length.
  await run('gzip', ['-t', out]);
});

test('gce: GNU-format tar.gz holding disk.raw, padded to a whole GiB', async () => {
  const out = join(dir, 'out', 'photon-gce.tar.gz');
  await writeOutput(raw, 'gce', out, { ...INFO, firmware: 'bios', gzipLevel: 1 });
  // The header: GNU magic "ustar  \0", not POSIX "ustar\0" "00".
  const fh = await open(out);
  const head = Buffer.alloc(64 * 1024);
  await fh.read(head, 0, head.length, 0);
  await fh.close();
  const first = gunzipSync(head, { finishFlush: 2 /* Z_SYNC_FLUSH: the file goes on */ }).subarray(0, 512);
  assert.equal(first.toString('latin1', 257, 265), 'ustar  \0');
  assert.equal(first.toString('latin1', 0, 8), 'disk.raw');
  const padded = createHash('sha256').update(await readFile(raw));
  const zeros = Buffer.alloc(MiB);
  for (let i = 64; i < 1024; i++) padded.update(zeros);
  const got = await tarExtract(out, GCE_MEMBER);
  assert.equal(got.listing.length, 1);
  assert.match(got.listing[0]!, new RegExp(`root/root\\s+${1024 * MiB} .* ${GCE_MEMBER}$`));
  assert.equal(got.bytes, 1024 * MiB);
  assert.equal(got.sha, padded.digest('hex'));
  assert.ok((await stat(out)).size < 16 * MiB, 'the zeros compress');
});

test('bad arguments are PhotonErrors naming the problem, and nothing is left behind', async () => {
  const out = join(dir, 'out', 'bad.img');
  const bad = (p: Promise<unknown>, re: RegExp) => assert.rejects(p, (e: unknown) => isPhotonError(e) && re.test(e.describe()));
  await bad(writeOutput(raw, 'vdi' as never, out, INFO), /unknown image format "vdi" \(one of raw, qcow2, ova, ami, gce, azure\)/);
  await bad(writeOutput(join(dir, 'missing.raw'), 'raw', out, INFO), /missing\.raw: .*no such file/);
  await bad(writeOutput(raw, 'ova', out, { ...INFO, name: '../x' }), /plain file name/);
  await bad(writeOutput(raw, 'ami', out, { ...INFO, gzipLevel: 11 }), /gzip level 11/);
  const odd = join(dir, 'odd.raw');
  await writeFile(odd, new Uint8Array(1000));
  await bad(writeOutput(odd, 'raw', out, INFO), /odd\.raw: not a raw disk: 1000 bytes/);
  await bad(writeOutput(raw, 'ova', out, { ...INFO, cpus: 0 }), /cpus 0/);
  await rm(odd);
  await noTemporaries();
});
