import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { isPhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import { STREAM_OPTIMIZED_FORMAT, ovfDescriptor, ovfManifest, sha256Hex, writeOva } from './ovf.ts';
import { readTar } from './tar.ts';

let dir = '';
before(async () => {
  dir = await tempDir('ovf');
});
after(() => cleanup(dir));

const BASE = { name: 'photon <5.0> & co', diskFile: 'photon-disk1.vmdk', diskFileSize: 123456, capacity: 1 << 30, populatedSize: 5 << 20 } as const;

/**
 * Evaluates an XPath string expression over the descriptor with xmllint. Its --xpath has no way
 * to bind namespaces, so the OVF prefixes in `expr` become local-name() tests.
 */
async function xpath(file: string, expr: string): Promise<string> {
  const plain = expr.replace(/(@?)\b(?:e|rasd|vmw|vssd):(\w+)/g, (_m, at: string, local: string) => `${at}*[local-name()='${local}']`);
  return (await run('xmllint', ['--xpath', plain, file])).stdout.toString().trim();
}

test('descriptor: well-formed XML (xmllint), vSphere essentials in place', async () => {
  const f = join(dir, 'efi.ovf');
  await writeFile(f, ovfDescriptor({ ...BASE, firmware: 'efi', cpus: 4, memoryMiB: 4096, product: { name: 'Photon OS', version: '5.0', vendor: 'VMware' } }));
  await run('xmllint', ['--noout', f]);
  const x = (e: string) => xpath(f, e);
  assert.equal(await x('string(//vssd:VirtualSystemType)'), 'vmx-13');
  assert.equal(await x('string(//e:Disk/@e:format)'), STREAM_OPTIMIZED_FORMAT);
  // …and in the namespaces vSphere looks them up in.
  assert.equal(await x('namespace-uri(//e:Disk/@e:format)'), 'http://schemas.dmtf.org/ovf/envelope/1');
  assert.equal(await x("namespace-uri(//vmw:Config/@vmw:key)"), 'http://www.vmware.com/schema/ovf');
  assert.equal(await x('namespace-uri(//e:Item[1]/rasd:InstanceID)'), 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData');
  assert.equal(await x('string(//e:Disk/@e:capacity)'), '1073741824');
  assert.equal(await x('string(//e:File/@e:href)'), 'photon-disk1.vmdk');
  assert.equal(await x('string(//e:File/@e:size)'), '123456');
  assert.equal(await x("string(//e:Item[rasd:ResourceType='3']/rasd:VirtualQuantity)"), '4');
  assert.equal(await x("string(//e:Item[rasd:ResourceType='4']/rasd:VirtualQuantity)"), '4096');
  assert.equal(await x("string(//e:Item[rasd:ResourceType='6']/rasd:ResourceSubType)"), 'VirtualSCSI');
  assert.equal(await x("string(//e:Item[rasd:ResourceType='17']/rasd:HostResource)"), 'ovf:/disk/vmdisk1');
  assert.equal(await x("string(//e:Item[rasd:ResourceType='10']/rasd:ResourceSubType)"), 'VmxNet3');
  assert.equal(await x("string(//vmw:Config[@vmw:key='firmware']/@vmw:value)"), 'efi');
  // The name is escaped, not injected.
  assert.equal(await x('string(//e:VirtualSystem/e:Name)'), 'photon <5.0> & co');
  // rasd fields come in the schema's (alphabetical) order inside each Item.
  const text = await readFile(f, 'utf8');
  for (const [, body] of text.matchAll(/<Item>([\s\S]*?)<\/Item>/g)) {
    const names = [...body!.matchAll(/<rasd:(\w+)>/g)].map((m) => m[1]!);
    assert.deepEqual(names, [...names].sort(), names.join(','));
  }
});

test('descriptor: BIOS firmware, SATA controller, and bad options', async () => {
  const f = join(dir, 'bios.ovf');
  await writeFile(f, ovfDescriptor({ ...BASE, firmware: 'bios', controller: 'sata' }));
  await run('xmllint', ['--noout', f]);
  assert.equal(await xpath(f, "string(//vmw:Config[@vmw:key='firmware']/@vmw:value)"), 'bios');
  assert.equal(await xpath(f, "string(//e:Item[rasd:ResourceType='20']/rasd:ResourceSubType)"), 'vmware.sata.ahci');
  assert.equal(await xpath(f, "string(//e:Item[rasd:ResourceType='3']/rasd:VirtualQuantity)"), '2');
  assert.equal(await xpath(f, "string(//e:Item[rasd:ResourceType='4']/rasd:VirtualQuantity)"), '2048');
  const bad = (o: object, re: RegExp) => assert.throws(() => ovfDescriptor({ ...BASE, firmware: 'efi', ...o }), (e: unknown) => isPhotonError(e) && e.code === 'E_OVF' && re.test(e.message));
  bad({ cpus: 0 }, /cpus 0/);
  bad({ memoryMiB: 1.5 }, /memoryMiB 1.5/);
  bad({ name: ' ' }, /needs a name/);
  bad({ diskFile: '../x.vmdk' }, /plain file name/);
  bad({ firmware: 'uefi' }, /firmware "uefi"/);
});

test('OVA: .ovf, .mf, .vmdk in that order; manifest checksums match sha256sum', async () => {
  const disk = join(dir, 'disk.bin');
  const diskBytes = Buffer.alloc(3 * 1024 * 1024 + 77, 0x5a);
  await writeFile(disk, diskBytes);
  const ovf = ovfDescriptor({ ...BASE, name: 'photon', diskFileSize: diskBytes.length, firmware: 'efi' });
  const mf = ovfManifest([
    { name: 'photon.ovf', sha256: sha256Hex(ovf) },
    { name: 'photon-disk1.vmdk', sha256: sha256Hex(diskBytes) },
  ]);
  const ova = join(dir, 'out', 'photon.ova');
  await writeOva(ova, [
    { name: 'photon.ovf', data: Buffer.from(ovf) },
    { name: 'photon.mf', data: Buffer.from(mf) },
    { name: 'photon-disk1.vmdk', path: disk },
  ], { mtime: 1700000000 });
  const listing = (await run('tar', ['-tvf', ova])).stdout.toString().trim().split('\n');
  assert.deepEqual(listing.map((l) => l.split(/\s+/).pop()), ['photon.ovf', 'photon.mf', 'photon-disk1.vmdk']);
  assert.match(listing[2]!, /-rw-r--r-- 0\/0\s+3145805 2023-11-1\d/);
  // Plain ustar headers ("ustar\0" "00"), as ovftool writes.
  const bytes = await readFile(ova);
  assert.equal(bytes.toString('latin1', 257, 265), 'ustar\x0000');
  assert.equal(readTar(bytes).length, 3);
  const x = join(dir, 'x');
  await mkdir(x);
  await run('tar', ['-xf', ova, '-C', x]);
  const sums = (await run('sha256sum', ['photon.ovf', 'photon-disk1.vmdk'], { cwd: x })).stdout.toString();
  const expected = mf.replace(/^SHA256\((.+)\)= (\w+)$/gm, '$2  $1');
  assert.equal(sums, expected);
  assert.equal(await readFile(join(x, 'photon.mf'), 'utf8'), mf);
  assert.match(mf, /^SHA256\(photon\.ovf\)= [0-9a-f]{64}\nSHA256\(photon-disk1\.vmdk\)= [0-9a-f]{64}\n$/);
  assert.deepEqual((await readdir(join(dir, 'out'))), ['photon.ova']);

  await assert.rejects(writeOva(join(dir, 'bad.ova'), [{ name: 'photon.mf', data: Buffer.from(mf) }]), /starts with its \.ovf/);
  await assert.rejects(writeOva(join(dir, 'bad.ova'), [{ name: 'a.ovf', data: Buffer.from(ovf) }, { name: 'd.vmdk', path: join(dir, 'missing') }]), (e: unknown) => isPhotonError(e) && e.code === 'E_ENOENT');
  assert.deepEqual((await readdir(dir)).filter((n) => n.includes('bad.ova')), []);
});
