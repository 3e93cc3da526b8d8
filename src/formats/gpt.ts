/**
 * Partition tables for the image builder: GPT (UEFI 2.x, with its protective MBR) and the
 * classic msdos MBR. We write them into a disk file ourselves because the image builder uses no
 * loop devices: filesystems are made as files and copied to the offsets planned here.
 *
 * GPT on a disk of N 512-byte sectors (LBAs):
 *
 * | LBA        | what                                                        |
 * |------------|-------------------------------------------------------------|
 * | 0          | protective MBR: one partition of type 0xEE over the disk     |
 * | 1          | primary header                                              |
 * | 2–33       | 128 partition entries of 128 bytes                          |
 * | 2048…      | partitions, each starting on a 1 MiB boundary                |
 * | N-33…N-2   | backup partition entries                                    |
 * | N-1        | backup header                                               |
 *
 * Header (little-endian): 0 "EFI PART", 8 revision 0x00010000, 12 header size 92, 16 header
 * CRC32 (computed with this field zero), 20 reserved, 24 this LBA, 32 the other header's LBA,
 * 40 first usable LBA, 48 last usable LBA, 56 disk GUID, 72 entries LBA, 80 entry count,
 * 84 entry size, 88 CRC32 of the entry array.
 *
 * Entry: 0 type GUID, 16 unique GUID, 32 first LBA, 40 last LBA (inclusive), 48 attributes,
 * 56 name (36 UTF-16LE code units). GUIDs are stored "mixed-endian": the first three fields
 * little-endian, the last two as written.
 *
 * MBR: 0–439 boot code, 440 disk signature (4, LE), 446 four 16-byte entries (status 0x80 =
 * bootable, CHS of the first sector, type, CHS of the last, first LBA, sector count), 510 0x55AA.
 */
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { PhotonError } from '../util/errors.ts';
import { crc32 } from './_crc.ts';

export const SECTOR = 512;
/** Partitions start (and, with this writer, end) on 1 MiB boundaries, as parted and systemd-repart align them. */
export const ALIGN = 1024 * 1024;
const ALIGN_SECTORS = ALIGN / SECTOR;
const GPT_ENTRIES = 128;
const GPT_ENTRY_SIZE = 128;
/** Sectors of the entry array: 128 × 128 bytes. */
const GPT_ENTRY_SECTORS = (GPT_ENTRIES * GPT_ENTRY_SIZE) / SECTOR;
const MBR_BOOT_CODE = 440;

export type PartitionKind = 'esp' | 'linux' | 'bios-boot' | 'swap';
export type TableKind = 'gpt' | 'msdos';

export const PARTITION_TYPE_GUID: Record<PartitionKind, string> = {
  esp: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b',
  linux: '0fc63daf-8483-4772-8e79-3d69d8477de4',
  'bios-boot': '21686148-6449-6e6f-744e-656564454649',
  swap: '0657fd6d-a4ab-43c4-84e5-0933c84b4f4f',
};

/** msdos type bytes; a BIOS boot partition has none: with an MBR, GRUB embeds itself after sector 0. */
const MBR_TYPE: Record<Exclude<PartitionKind, 'bios-boot'>, number> = { esp: 0xef, linux: 0x83, swap: 0x82 };

export interface PartitionSpec {
  /** Bytes, rounded up to 1 MiB; 0 = the rest of the disk (at most one partition). */
  sizeBytes: number;
  type: PartitionKind;
  /** GPT partition name (at most 36 UTF-16 code units); ignored for msdos. */
  name?: string;
  /** GPT unique partition GUID; random when absent. */
  guid?: string;
  /** msdos: the active flag; GPT: attribute bit 2, "legacy BIOS bootable". */
  bootable?: boolean;
}

export interface PlannedPartition {
  /** 1-based, as the kernel numbers partitions (sda1, nvme0n1p1). */
  number: number;
  type: PartitionKind;
  /** GPT type GUID, or for msdos the type byte as two hex digits. */
  typeId: string;
  name: string;
  /** GPT: the unique GUID; msdos: what the kernel shows, "SSSSSSSS-NN" from the disk signature. */
  partuuid: string;
  bootable: boolean;
  firstLba: number;
  /** Inclusive. */
  lastLba: number;
  offset: number;
  sizeBytes: number;
}

export interface Layout {
  table: TableKind;
  diskBytes: number;
  /** GPT disk GUID; for msdos, the disk signature as 8 hex digits. */
  diskId: string;
  partitions: PlannedPartition[];
}

export interface LayoutOptions {
  /** GPT disk GUID, or msdos disk signature (8 hex digits); random when absent. */
  diskId?: string;
  /** Where random bytes come from, e.g. a seeded generator for reproducible images. */
  random?: (n: number) => Uint8Array;
}

function fail(msg: string): never {
  throw new PhotonError('E_LAYOUT', msg);
}

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A random (version 4) GUID, lower case. */
export function randomGuid(random: (n: number) => Uint8Array = randomBytes): string {
  const b = Uint8Array.from(random(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The 16 on-disk bytes of a GUID: the first three fields little-endian. */
export function guidToBytes(guid: string): Uint8Array {
  if (!GUID_RE.test(guid)) fail(`${JSON.stringify(guid)} is not a GUID`);
  const h = guid.replace(/-/g, '');
  const b = Buffer.from(h, 'hex');
  const out = new Uint8Array(16);
  out.set([b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!], 0);
  out.set(b.subarray(8), 8);
  return out;
}

export function guidFromBytes(b: Uint8Array): string {
  const h = (i: number) => b[i]!.toString(16).padStart(2, '0');
  const seq = (idx: number[]) => idx.map(h).join('');
  return `${seq([3, 2, 1, 0])}-${seq([5, 4])}-${seq([7, 6])}-${seq([8, 9])}-${seq([10, 11, 12, 13, 14, 15])}`;
}

/**
 * Places the partitions on the disk, in order, each on a 1 MiB boundary with its size rounded up
 * to 1 MiB; the one of size 0 takes what is left, its end aligned down so that every partition
 * is a whole number of MiB. Errors (E_LAYOUT) when they do not fit or the table cannot hold them.
 */
export function planLayout(diskBytes: number, parts: readonly PartitionSpec[], table: TableKind, options: LayoutOptions = {}): Layout {
  const random = options.random ?? randomBytes;
  if (!Number.isSafeInteger(diskBytes) || diskBytes <= 0 || diskBytes % SECTOR) fail(`disk size ${diskBytes} is not a positive multiple of ${SECTOR} bytes`);
  const sectors = diskBytes / SECTOR;
  if (table === 'gpt') {
    if (parts.length > GPT_ENTRIES) fail(`${parts.length} partitions: GPT holds at most ${GPT_ENTRIES}`);
  } else if (table === 'msdos') {
    if (parts.length > 4) fail(`${parts.length} partitions: an msdos table holds at most 4 primary partitions`);
    if (sectors > 0xffffffff) fail(`disk of ${diskBytes} bytes: an msdos table addresses at most 2 TiB`);
  } else fail(`unknown partition table ${JSON.stringify(table)}`);
  if (parts.length === 0) fail('no partitions');

  // GPT keeps 33 sectors at the end for its backup; the last usable sector is before them.
  const lastUsable = table === 'gpt' ? sectors - 1 - 1 - GPT_ENTRY_SECTORS : sectors - 1;
  const alignedEnd = Math.floor((lastUsable + 1) / ALIGN_SECTORS) * ALIGN_SECTORS; // exclusive
  const sizes: number[] = [];
  let rest = -1;
  let fixed = 0;
  parts.forEach((p, i) => {
    const what = `partition ${i + 1}`;
    if (!Number.isSafeInteger(p.sizeBytes) || p.sizeBytes < 0) fail(`${what}: size ${p.sizeBytes} is not a whole number of bytes`);
    if (!(p.type in PARTITION_TYPE_GUID)) fail(`${what}: unknown type ${JSON.stringify(p.type)}`);
    if (table === 'msdos' && p.type === 'bios-boot') fail(`${what}: a BIOS boot partition belongs in a GPT (with msdos, GRUB embeds itself after the MBR)`);
    if (p.guid !== undefined && !GUID_RE.test(p.guid)) fail(`${what}: ${JSON.stringify(p.guid)} is not a GUID`);
    if (p.name !== undefined && p.name.length > 36) fail(`${what}: name ${JSON.stringify(p.name)} is longer than 36 characters`);
    if (p.sizeBytes === 0) {
      if (rest >= 0) fail(`partitions ${rest + 1} and ${i + 1} both take the rest of the disk (size 0)`);
      rest = i;
      sizes.push(0);
    } else {
      const s = Math.ceil(p.sizeBytes / ALIGN) * ALIGN_SECTORS;
      sizes.push(s);
      fixed += s;
    }
  });
  const available = alignedEnd - ALIGN_SECTORS;
  if (fixed > available || (rest >= 0 && fixed + ALIGN_SECTORS > available)) {
    const need = (fixed + ALIGN_SECTORS + (rest >= 0 ? ALIGN_SECTORS : 0)) * SECTOR + (table === 'gpt' ? (1 + GPT_ENTRY_SECTORS) * SECTOR : 0);
    fail(`partitions need ${Math.ceil(need / ALIGN)} MiB but the disk has ${Math.floor(diskBytes / ALIGN)} MiB`);
  }
  if (rest >= 0) sizes[rest] = available - fixed;

  let diskId = options.diskId;
  if (table === 'gpt') {
    if (diskId === undefined) diskId = randomGuid(random);
    else if (!GUID_RE.test(diskId)) fail(`disk GUID ${JSON.stringify(diskId)} is not a GUID`);
  } else if (diskId === undefined) {
    // A zero signature reads as "none" to Windows and to some tools: never pick it.
    let sig = 0;
    while (sig === 0) sig = Buffer.from(random(4)).readUInt32LE(0);
    diskId = sig.toString(16).padStart(8, '0');
  } else if (!/^[0-9a-f]{8}$/i.test(diskId) || /^0+$/.test(diskId)) fail(`disk signature ${JSON.stringify(diskId)} is not 8 hex digits (non-zero)`);
  diskId = diskId.toLowerCase();

  const partitions: PlannedPartition[] = [];
  const seen = new Set<string>();
  let lba = ALIGN_SECTORS;
  parts.forEach((p, i) => {
    const n = sizes[i]!;
    let partuuid: string;
    if (table === 'gpt') {
      partuuid = (p.guid ?? randomGuid(random)).toLowerCase();
      if (seen.has(partuuid)) fail(`partition ${i + 1}: GUID ${partuuid} is used twice`);
      seen.add(partuuid);
    } else partuuid = `${diskId}-${String(i + 1).padStart(2, '0')}`;
    partitions.push({
      number: i + 1,
      type: p.type,
      typeId: table === 'gpt' ? PARTITION_TYPE_GUID[p.type] : MBR_TYPE[p.type as Exclude<PartitionKind, 'bios-boot'>].toString(16).padStart(2, '0'),
      name: table === 'gpt' ? (p.name ?? '') : '',
      partuuid,
      bootable: p.bootable ?? false,
      firstLba: lba,
      lastLba: lba + n - 1,
      offset: lba * SECTOR,
      sizeBytes: n * SECTOR,
    });
    lba += n;
  });
  return { table, diskBytes, diskId, partitions };
}

// ---------------------------------------------------------------- writing

function putU64(b: Uint8Array, at: number, v: number): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  dv.setUint32(at, v % 0x100000000, true);
  dv.setUint32(at + 4, Math.floor(v / 0x100000000), true);
}

function putU32(b: Uint8Array, at: number, v: number): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at, v >>> 0, true);
}

/** CHS of an LBA as BIOSes address it (255 heads, 63 sectors); beyond 8 GiB, the 1023/254/63 marker. */
function chs(lba: number): [number, number, number] {
  const c = Math.floor(lba / (255 * 63));
  if (c > 1023) return [0xfe, 0xff, 0xff];
  const h = Math.floor(lba / 63) % 255;
  const s = (lba % 63) + 1;
  return [h, ((c >> 2) & 0xc0) | s, c & 0xff];
}

function mbrEntry(mbr: Uint8Array, slot: number, status: number, type: number, first: number, count: number): void {
  const at = 446 + 16 * slot;
  mbr[at] = status;
  mbr.set(chs(first), at + 1);
  mbr[at + 4] = type;
  mbr.set(chs(first + count - 1), at + 5);
  putU32(mbr, at + 8, first);
  putU32(mbr, at + 12, count);
}

function gptHeader(layout: Layout, current: number, backup: number, entriesLba: number, entriesCrc: number): Uint8Array {
  const sectors = layout.diskBytes / SECTOR;
  const h = new Uint8Array(SECTOR);
  h.set(new TextEncoder().encode('EFI PART'), 0);
  putU32(h, 8, 0x00010000);
  putU32(h, 12, 92);
  putU64(h, 24, current);
  putU64(h, 32, backup);
  putU64(h, 40, 2 + GPT_ENTRY_SECTORS);
  putU64(h, 48, sectors - 2 - GPT_ENTRY_SECTORS);
  h.set(guidToBytes(layout.diskId), 56);
  putU64(h, 72, entriesLba);
  putU32(h, 80, GPT_ENTRIES);
  putU32(h, 84, GPT_ENTRY_SIZE);
  putU32(h, 88, entriesCrc);
  putU32(h, 16, crc32(h.subarray(0, 92)));
  return h;
}

export interface TableBytes {
  /** Goes at offset 0: sector 0, and for GPT the primary header and entries (34 sectors). */
  head: Uint8Array;
  /** Goes at tailOffset (GPT: the backup entries and header in the last 33 sectors; msdos: empty). */
  tail: Uint8Array;
  tailOffset: number;
}

/**
 * The bytes of the partition table. `bootCode` (at most 440 bytes, e.g. GRUB's boot.img) fills
 * the start of sector 0; without it that area is zero.
 */
export function writePartitionTable(layout: Layout, bootCode?: Uint8Array): TableBytes {
  if (bootCode && bootCode.length > MBR_BOOT_CODE) fail(`boot code of ${bootCode.length} bytes: sector 0 has room for ${MBR_BOOT_CODE}`);
  const sectors = layout.diskBytes / SECTOR;
  if (layout.table === 'msdos') {
    const mbr = new Uint8Array(SECTOR);
    if (bootCode) mbr.set(bootCode);
    putU32(mbr, 440, parseInt(layout.diskId, 16));
    layout.partitions.forEach((p, i) => {
      mbrEntry(mbr, i, p.bootable ? 0x80 : 0, parseInt(p.typeId, 16), p.firstLba, p.lastLba - p.firstLba + 1);
    });
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    return { head: mbr, tail: new Uint8Array(0), tailOffset: layout.diskBytes };
  }

  const entries = new Uint8Array(GPT_ENTRIES * GPT_ENTRY_SIZE);
  layout.partitions.forEach((p, i) => {
    const e = entries.subarray(i * GPT_ENTRY_SIZE, (i + 1) * GPT_ENTRY_SIZE);
    e.set(guidToBytes(p.typeId), 0);
    e.set(guidToBytes(p.partuuid), 16);
    putU64(e, 32, p.firstLba);
    putU64(e, 40, p.lastLba);
    if (p.bootable) e[48] = 1 << 2;
    const name = Buffer.from(p.name, 'utf16le');
    e.set(name.subarray(0, 72), 56);
  });
  const entriesCrc = crc32(entries);

  const head = new Uint8Array((2 + GPT_ENTRY_SECTORS) * SECTOR);
  if (bootCode) head.set(bootCode);
  // The protective MBR covers the whole disk, or as much as 32 bits of sectors can say; its
  // end CHS is the "too large" marker, as libfdisk and gdisk write it.
  mbrEntry(head, 0, 0, 0xee, 1, Math.min(sectors - 1, 0xffffffff));
  head.set([0xff, 0xff, 0xff], 446 + 5);
  head[510] = 0x55;
  head[511] = 0xaa;
  head.set(gptHeader(layout, 1, sectors - 1, 2, entriesCrc), SECTOR);
  head.set(entries, 2 * SECTOR);

  const tail = new Uint8Array((1 + GPT_ENTRY_SECTORS) * SECTOR);
  tail.set(entries, 0);
  tail.set(gptHeader(layout, sectors - 1, 1, sectors - 1 - GPT_ENTRY_SECTORS, entriesCrc), GPT_ENTRY_SECTORS * SECTOR);
  return { head, tail, tailOffset: (sectors - 1 - GPT_ENTRY_SECTORS) * SECTOR };
}

/**
 * Writes the table into the disk file at `path`, extending it (sparsely) to the layout's size.
 * Without `bootCode`, the first 440 bytes already in the file stay as they are, so a bootloader
 * written before or after the table survives either order.
 */
export async function writeTables(path: string, layout: Layout, bootCode?: Uint8Array): Promise<void> {
  const { head, tail, tailOffset } = writePartitionTable(layout, bootCode);
  const fh = await open(path, 'r+').catch((e: NodeJS.ErrnoException) => {
    throw new PhotonError(`E_${e.code ?? 'IO'}`, e.message.replace(/^[A-Z]+: /, ''), { file: path });
  });
  try {
    const { size } = await fh.stat();
    if (size > layout.diskBytes) throw new PhotonError('E_LAYOUT', `disk file is ${size} bytes, larger than the layout's ${layout.diskBytes}`, { file: path });
    if (size < layout.diskBytes) await fh.truncate(layout.diskBytes);
    const from = bootCode ? 0 : MBR_BOOT_CODE;
    await fh.write(head, from, head.length - from, from);
    if (tail.length) await fh.write(tail, 0, tail.length, tailOffset);
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------- reading

export interface ReadPartition {
  number: number;
  typeId: string;
  partuuid: string;
  name: string;
  bootable: boolean;
  firstLba: number;
  lastLba: number;
  /** GPT: the raw 64-bit attribute field. */
  attributes: bigint;
}

export interface ReadTable {
  table: TableKind;
  diskId: string;
  partitions: ReadPartition[];
}

/**
 * Reads the table back from a whole disk image (tests, and checking a built image). For GPT both
 * headers and entry arrays are checked against their CRCs and each other; anything wrong is
 * E_PARTITION_TABLE.
 */
export function readPartitionTable(disk: Uint8Array): ReadTable {
  const bad = (msg: string): never => {
    throw new PhotonError('E_PARTITION_TABLE', msg);
  };
  if (disk.length < SECTOR || disk.length % SECTOR) bad(`disk of ${disk.length} bytes is not a whole number of sectors`);
  const dv = new DataView(disk.buffer, disk.byteOffset, disk.byteLength);
  const u64 = (at: number) => dv.getUint32(at, true) + dv.getUint32(at + 4, true) * 0x100000000;
  if (disk[510] !== 0x55 || disk[511] !== 0xaa) bad('no MBR signature (0x55AA) in sector 0');
  const sectors = disk.length / SECTOR;
  const mbrTypes = [0, 1, 2, 3].map((i) => disk[446 + 16 * i + 4]!);
  if (!mbrTypes.includes(0xee)) {
    const partitions: ReadPartition[] = [];
    const sig = dv.getUint32(440, true).toString(16).padStart(8, '0');
    for (let i = 0; i < 4; i++) {
      const at = 446 + 16 * i;
      const type = disk[at + 4]!;
      if (type === 0) continue;
      const first = dv.getUint32(at + 8, true);
      const count = dv.getUint32(at + 12, true);
      if (count === 0 || first + count > sectors) bad(`MBR partition ${i + 1} (sectors ${first}+${count}) is outside the disk`);
      partitions.push({
        number: i + 1, typeId: type.toString(16).padStart(2, '0'), partuuid: `${sig}-${String(i + 1).padStart(2, '0')}`, name: '',
        bootable: disk[at] === 0x80, firstLba: first, lastLba: first + count - 1, attributes: 0n,
      });
    }
    return { table: 'msdos', diskId: sig, partitions };
  }

  const header = (lba: number, which: string) => {
    const at = lba * SECTOR;
    if (at + SECTOR > disk.length) bad(`${which} GPT header at LBA ${lba} is outside the disk`);
    const h = disk.slice(at, at + SECTOR);
    if (Buffer.from(h.subarray(0, 8)).toString('latin1') !== 'EFI PART') bad(`no ${which} GPT header at LBA ${lba}`);
    const size = dv.getUint32(at + 12, true);
    if (size < 92 || size > SECTOR) bad(`${which} GPT header size ${size}`);
    const crc = dv.getUint32(at + 16, true);
    h.fill(0, 16, 20);
    if (crc32(h.subarray(0, size)) !== crc) bad(`${which} GPT header CRC mismatch`);
    const entriesLba = u64(at + 72);
    const count = dv.getUint32(at + 80, true);
    const esize = dv.getUint32(at + 84, true);
    if (esize < 128 || count * esize > 1 << 20) bad(`${which} GPT entry array of ${count}×${esize} bytes`);
    const eat = entriesLba * SECTOR;
    if (eat + count * esize > disk.length) bad(`${which} GPT entries at LBA ${entriesLba} are outside the disk`);
    const entries = disk.subarray(eat, eat + count * esize);
    if (crc32(entries) !== dv.getUint32(at + 88, true)) bad(`${which} GPT entry array CRC mismatch`);
    return { current: u64(at + 24), backup: u64(at + 32), diskId: guidFromBytes(disk.subarray(at + 56, at + 72)), count, esize, entries };
  };
  const primary = header(1, 'primary');
  if (primary.current !== 1) bad(`primary GPT header says it is at LBA ${primary.current}`);
  if (primary.backup !== sectors - 1) bad(`primary GPT header puts the backup at LBA ${primary.backup}, the disk ends at ${sectors - 1}`);
  const backup = header(sectors - 1, 'backup');
  if (backup.current !== sectors - 1 || backup.backup !== 1) bad('backup GPT header does not point back at the primary');
  if (backup.diskId !== primary.diskId || Buffer.compare(backup.entries, primary.entries) !== 0) bad('backup GPT differs from the primary');

  const partitions: ReadPartition[] = [];
  const edv = new DataView(primary.entries.buffer, primary.entries.byteOffset, primary.entries.byteLength);
  for (let i = 0; i < primary.count; i++) {
    const e = primary.entries.subarray(i * primary.esize, (i + 1) * primary.esize);
    if (e.subarray(0, 16).every((c) => c === 0)) continue;
    const o = i * primary.esize;
    const first = edv.getUint32(o + 32, true) + edv.getUint32(o + 36, true) * 0x100000000;
    const last = edv.getUint32(o + 40, true) + edv.getUint32(o + 44, true) * 0x100000000;
    if (first > last || last >= sectors) bad(`GPT partition ${i + 1} (LBA ${first}–${last}) is outside the disk`);
    const attributes = edv.getBigUint64(o + 48, true);
    let name = Buffer.from(e.subarray(56, 128)).toString('utf16le');
    const z = name.indexOf('\0');
    if (z >= 0) name = name.slice(0, z);
    partitions.push({
      number: i + 1, typeId: guidFromBytes(e.subarray(0, 16)), partuuid: guidFromBytes(e.subarray(16, 32)), name,
      bootable: (attributes & 4n) !== 0n, firstLba: first, lastLba: last, attributes,
    });
  }
  return { table: 'gpt', diskId: primary.diskId, partitions };
}
