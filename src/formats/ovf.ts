/**
 * OVF 1.0 (DMTF DSP0243) descriptors as vSphere imports them, their SHA-256 manifests, and the
 * OVA that carries both with the disk: a tar whose first entry is the .ovf and whose second is
 * the .mf, so that an importer reading the stream can check each file as it arrives.
 *
 * The descriptor follows what ovftool exports for a Photon VM: a VirtualSystem with one
 * VirtualHardwareSection (family vmx-13, CPUs, memory, a disk controller, the disk, a VMXNET3
 * NIC), the disk as a stream-optimized VMDK, and the firmware as a vmw:Config extension (vSphere
 * boots BIOS unless told "efi"). rasd elements are in alphabetical order, as the CIM schema's
 * xs:sequence requires; vSphere's strict parser refuses them otherwise.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PhotonError, withFile } from '../util/errors.ts';
import { tempPathFor } from '../util/fs.ts';
import { TAR_END, tarEntryHeader, tarPadding } from './tar.ts';

export type OvfController = 'pvscsi' | 'lsilogic' | 'sata';

export interface OvfOptions {
  /** The VM's name in vSphere. */
  name: string;
  /** The VMDK's name inside the OVA. */
  diskFile: string;
  /** Bytes of the VMDK file. */
  diskFileSize: number;
  /** The disk's virtual size in bytes. */
  capacity: number;
  /** Bytes of the disk that hold data (the VMDK's non-zero grains); optional in OVF. */
  populatedSize?: number;
  firmware: 'efi' | 'bios';
  /** Default 2. */
  cpus?: number;
  /** Default 2048. */
  memoryMiB?: number;
  /** Default pvscsi (VMware's paravirtual SCSI: vmw_pvscsi in the guest). */
  controller?: OvfController;
  /** Default vmx-13 (ESXi 6.5 and later). */
  hardwareVersion?: string;
  /** Default vmwarePhoton64Guest. */
  osType?: string;
  /** Product name and version shown by vSphere's deploy wizard. */
  product?: { name: string; version?: string; vendor?: string };
}

export const STREAM_OPTIMIZED_FORMAT = 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized';

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function positiveInt(what: string, v: number): number {
  if (!Number.isSafeInteger(v) || v <= 0) throw new PhotonError('E_OVF', `${what} ${v} is not a positive whole number`);
  return v;
}

/** One rasd Item: its fields sorted by name, as the schema's sequence has them. */
function item(fields: Record<string, string | number | boolean>, indent: string): string {
  const lines = Object.keys(fields)
    .sort()
    .map((k) => `${indent}  <rasd:${k}>${xml(String(fields[k]))}</rasd:${k}>`);
  return `${indent}<Item>\n${lines.join('\n')}\n${indent}</Item>`;
}

const CONTROLLERS: Record<OvfController, { type: number; subType: string; name: string }> = {
  pvscsi: { type: 6, subType: 'VirtualSCSI', name: 'SCSI Controller 0' },
  lsilogic: { type: 6, subType: 'lsilogic', name: 'SCSI Controller 0' },
  sata: { type: 20, subType: 'vmware.sata.ahci', name: 'SATA Controller 0' },
};

export function ovfDescriptor(o: OvfOptions): string {
  const name = o.name.trim();
  if (!name) throw new PhotonError('E_OVF', 'the VM needs a name');
  if (!o.diskFile || /[/\\]/.test(o.diskFile)) throw new PhotonError('E_OVF', `disk file name ${JSON.stringify(o.diskFile)} must be a plain file name`);
  if (o.firmware !== 'efi' && o.firmware !== 'bios') throw new PhotonError('E_OVF', `firmware ${JSON.stringify(o.firmware)} is not efi or bios`);
  const cpus = positiveInt('cpus', o.cpus ?? 2);
  const mem = positiveInt('memoryMiB', o.memoryMiB ?? 2048);
  positiveInt('disk file size', o.diskFileSize);
  positiveInt('disk capacity', o.capacity);
  const controller = CONTROLLERS[o.controller ?? 'pvscsi'];
  if (!controller) throw new PhotonError('E_OVF', `unknown disk controller ${JSON.stringify(o.controller)}`);
  const network = 'VM Network';
  const ind = '      ';
  const items = [
    item({ AllocationUnits: 'hertz * 10^6', Description: 'Number of Virtual CPUs', ElementName: `${cpus} virtual CPU(s)`, InstanceID: 1, ResourceType: 3, VirtualQuantity: cpus }, ind),
    item({ AllocationUnits: 'byte * 2^20', Description: 'Memory Size', ElementName: `${mem}MB of memory`, InstanceID: 2, ResourceType: 4, VirtualQuantity: mem }, ind),
    item({ Address: 0, Description: controller.type === 6 ? 'SCSI Controller' : 'SATA Controller', ElementName: controller.name, InstanceID: 3, ResourceSubType: controller.subType, ResourceType: controller.type }, ind),
    item({ AddressOnParent: 0, ElementName: 'Hard Disk 1', HostResource: 'ovf:/disk/vmdisk1', InstanceID: 4, Parent: 3, ResourceType: 17 }, ind),
    item({ AddressOnParent: 7, AutomaticAllocation: true, Connection: network, Description: `VmxNet3 ethernet adapter on "${network}"`, ElementName: 'Network adapter 1', InstanceID: 5, ResourceSubType: 'VmxNet3', ResourceType: 10 }, ind),
  ];
  const product = o.product
    ? [
        '    <ProductSection>',
        '      <Info>Information about the installed software</Info>',
        `      <Product>${xml(o.product.name)}</Product>`,
        ...(o.product.vendor ? [`      <Vendor>${xml(o.product.vendor)}</Vendor>`] : []),
        ...(o.product.version ? [`      <Version>${xml(o.product.version)}</Version>`, `      <FullVersion>${xml(o.product.version)}</FullVersion>`] : []),
        '    </ProductSection>',
      ]
    : [];
  const populated = o.populatedSize !== undefined ? ` ovf:populatedSize="${o.populatedSize}"` : '';
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
    '  <References>',
    `    <File ovf:href="${xml(o.diskFile)}" ovf:id="file1" ovf:size="${o.diskFileSize}"/>`,
    '  </References>',
    '  <DiskSection>',
    '    <Info>Virtual disk information</Info>',
    `    <Disk ovf:capacity="${o.capacity}" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="${STREAM_OPTIMIZED_FORMAT}"${populated}/>`,
    '  </DiskSection>',
    '  <NetworkSection>',
    '    <Info>The list of logical networks</Info>',
    `    <Network ovf:name="${network}">`,
    `      <Description>The ${network} network</Description>`,
    '    </Network>',
    '  </NetworkSection>',
    `  <VirtualSystem ovf:id="${xml(name)}">`,
    '    <Info>A virtual machine</Info>',
    `    <Name>${xml(name)}</Name>`,
    `    <OperatingSystemSection ovf:id="36" vmw:osType="${xml(o.osType ?? 'vmwarePhoton64Guest')}">`,
    '      <Info>The kind of installed guest operating system</Info>',
    '    </OperatingSystemSection>',
    ...product,
    '    <VirtualHardwareSection>',
    '      <Info>Virtual hardware requirements</Info>',
    '      <System>',
    '        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>',
    '        <vssd:InstanceID>0</vssd:InstanceID>',
    `        <vssd:VirtualSystemIdentifier>${xml(name)}</vssd:VirtualSystemIdentifier>`,
    `        <vssd:VirtualSystemType>${xml(o.hardwareVersion ?? 'vmx-13')}</vssd:VirtualSystemType>`,
    '      </System>',
    ...items,
    `      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="${o.firmware}"/>`,
    '    </VirtualHardwareSection>',
    '  </VirtualSystem>',
    '</Envelope>',
    '',
  ].join('\n');
}

/** The .mf: one `SHA256(NAME)= HEX` line per file, as ovftool writes it. */
export function ovfManifest(files: ReadonlyArray<{ name: string; sha256: string }>): string {
  return files
    .map((f) => {
      if (!/^[0-9a-f]{64}$/.test(f.sha256)) throw new PhotonError('E_OVF', `${f.name}: ${JSON.stringify(f.sha256)} is not a SHA-256 in hex`);
      return `SHA256(${f.name})= ${f.sha256}\n`;
    })
    .join('');
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** An OVA member: bytes in memory, or a file copied in as it is read. */
export type OvaMember = { name: string; data: Uint8Array } | { name: string; path: string };

/**
 * Writes the OVA at `outPath` atomically: a POSIX tar of the members in the order given (the
 * .ovf first, then the .mf), headers in ustar form (pax records only for what ustar cannot say,
 * such as a disk over 8 GiB). Files are copied through a 1 MiB buffer.
 */
export async function writeOva(outPath: string, members: readonly OvaMember[], opts: { mtime?: number } = {}): Promise<void> {
  if (!members.length || !members[0]!.name.endsWith('.ovf')) throw new PhotonError('E_OVF', 'an OVA starts with its .ovf descriptor', { file: outPath });
  const mtime = opts.mtime ?? 0;
  await mkdir(dirname(outPath), { recursive: true });
  const tmp = tempPathFor(outPath);
  const out = await open(tmp, 'w', 0o644);
  try {
    let pos = 0;
    const put = async (b: Uint8Array) => {
      if (!b.length) return;
      await out.write(b, 0, b.length, pos);
      pos += b.length;
    };
    for (const m of members) {
      if (!m.name || /[/\\]/.test(m.name)) throw new PhotonError('E_OVF', `OVA member ${JSON.stringify(m.name)} must be a plain file name`, { file: outPath });
      if ('data' in m) {
        await put(tarEntryHeader({ path: m.name, type: 'file', mode: 0o644, mtime, size: m.data.length }, 'pax'));
        await put(m.data);
        await put(tarPadding(m.data.length));
        continue;
      }
      const src = await open(m.path, 'r').catch((e: unknown) => {
        throw withFile(e, m.path);
      });
      try {
        const { size } = await src.stat();
        await put(tarEntryHeader({ path: m.name, type: 'file', mode: 0o644, mtime, size }, 'pax'));
        const buf = Buffer.allocUnsafe(1024 * 1024);
        for (let done = 0; done < size; ) {
          const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, size - done), done);
          if (bytesRead === 0) throw new PhotonError('E_IO', `file shrank while being copied (${done} of ${size} bytes)`, { file: m.path });
          await put(buf.subarray(0, bytesRead));
          done += bytesRead;
        }
        await put(tarPadding(size));
      } finally {
        await src.close();
      }
    }
    await put(TAR_END);
    await out.sync();
    await out.close();
    await rename(tmp, outPath);
  } catch (e) {
    await out.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}
