/**
 * Fixed VHD (Microsoft's Virtual Hard Disk Image Format Specification 1.0), the disk format
 * Azure takes: the raw disk, then a 512-byte footer. Azure also wants the virtual size to be a
 * whole number of MiB, so the raw part is padded with zeros up to the next MiB.
 *
 * Footer (big-endian):
 *
 * | offset | size | field                                                    |
 * |--------|------|----------------------------------------------------------|
 * | 0      | 8    | cookie "conectix"                                        |
 * | 8      | 4    | features: 2 (the "reserved" bit, always set)             |
 * | 12     | 4    | format version 0x00010000                                |
 * | 16     | 8    | data offset: all ones for a fixed disk                   |
 * | 24     | 4    | timestamp: seconds since 2000-01-01 00:00:00 UTC         |
 * | 28     | 4    | creator application                                      |
 * | 32     | 4    | creator version                                          |
 * | 36     | 4    | creator host OS ("Wi2k")                                 |
 * | 40     | 8    | original size                                            |
 * | 48     | 8    | current size                                             |
 * | 56     | 4    | geometry: cylinders (2), heads (1), sectors per track (1) |
 * | 60     | 4    | disk type: 2 = fixed                                     |
 * | 64     | 4    | checksum: ones' complement of the byte sum, this field 0 |
 * | 68     | 16   | unique id                                                |
 * | 84     | 1    | saved state                                              |
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PhotonError, withFile } from '../util/errors.ts';
import { tempPathFor } from '../util/fs.ts';

export const VHD_FOOTER_SIZE = 512;
const MiB = 1024 * 1024;
/** Seconds from the Unix epoch to the VHD epoch, 2000-01-01 UTC. */
const VHD_EPOCH = 946684800;

export interface VhdGeometry {
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

/** CHS geometry by the algorithm in appendix A of the VHD specification. */
export function vhdGeometry(sizeBytes: number): VhdGeometry {
  let total = Math.floor(sizeBytes / 512);
  if (total > 65535 * 16 * 255) total = 65535 * 16 * 255;
  let spt: number;
  let heads: number;
  let cth: number;
  if (total >= 65535 * 16 * 63) {
    spt = 255;
    heads = 16;
    cth = Math.floor(total / spt);
  } else {
    spt = 17;
    cth = Math.floor(total / spt);
    heads = Math.max(4, Math.floor((cth + 1023) / 1024));
    if (cth >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cth = Math.floor(total / spt);
    }
    if (cth >= heads * 1024) {
      spt = 63;
      heads = 16;
      cth = Math.floor(total / spt);
    }
  }
  return { cylinders: Math.floor(cth / heads), heads, sectorsPerTrack: spt };
}

export interface VhdFooterOptions {
  sizeBytes: number;
  /** 16 bytes, or a UUID string; random when absent. */
  uniqueId?: Uint8Array | string;
  /** Unix seconds; SOURCE_DATE_EPOCH or the clock when absent. */
  timestamp?: number;
}

function defaultTimestamp(): number {
  const sde = Number(process.env['SOURCE_DATE_EPOCH']);
  return Number.isSafeInteger(sde) && sde > 0 ? sde : Math.floor(Date.now() / 1000);
}

export function vhdFooter(opts: VhdFooterOptions): Uint8Array {
  const { sizeBytes } = opts;
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % 512) throw new PhotonError('E_VHD', `disk size ${sizeBytes} is not a positive multiple of 512 bytes`);
  const f = new Uint8Array(VHD_FOOTER_SIZE);
  const dv = new DataView(f.buffer);
  const ascii = (at: number, s: string) => f.set(Buffer.from(s, 'latin1'), at);
  ascii(0, 'conectix');
  dv.setUint32(8, 2);
  dv.setUint32(12, 0x00010000);
  dv.setBigUint64(16, 0xffffffffffffffffn);
  dv.setUint32(24, Math.max(0, (opts.timestamp ?? defaultTimestamp()) - VHD_EPOCH) >>> 0);
  // Readers take the size either from the CHS geometry (Virtual PC; rounds down) or from the
  // current-size field (Hyper-V, so Azure). qemu decides by the creator: "win " makes it take
  // the exact size, as Azure will.
  ascii(28, 'win ');
  dv.setUint32(32, 0x000a0000);
  ascii(36, 'Wi2k');
  dv.setBigUint64(40, BigInt(sizeBytes));
  dv.setBigUint64(48, BigInt(sizeBytes));
  const g = vhdGeometry(sizeBytes);
  dv.setUint16(56, g.cylinders);
  f[58] = g.heads;
  f[59] = g.sectorsPerTrack;
  dv.setUint32(60, 2);
  let id: Uint8Array;
  if (opts.uniqueId === undefined) id = randomBytes(16);
  else if (typeof opts.uniqueId === 'string') {
    const hex = opts.uniqueId.replace(/-/g, '');
    if (!/^[0-9a-f]{32}$/i.test(hex)) throw new PhotonError('E_VHD', `unique id ${JSON.stringify(opts.uniqueId)} is not a UUID`);
    id = Buffer.from(hex, 'hex');
  } else id = opts.uniqueId;
  if (id.length !== 16) throw new PhotonError('E_VHD', `unique id of ${id.length} bytes, not 16`);
  f.set(id, 68);
  dv.setUint32(64, checksum(f));
  return f;
}

function checksum(footer: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < VHD_FOOTER_SIZE; i++) if (i < 64 || i >= 68) sum += footer[i]!;
  return ~sum >>> 0;
}

export interface VhdFooter {
  creator: string;
  currentSize: number;
  originalSize: number;
  diskType: number;
  geometry: VhdGeometry;
  uniqueId: string;
  /** Unix seconds. */
  timestamp: number;
}

/** Reads a footer (the last 512 bytes of a fixed VHD); E_VHD when it is not one or its checksum is wrong. */
export function readVhdFooter(f: Uint8Array): VhdFooter {
  const bad = (m: string): never => {
    throw new PhotonError('E_VHD', m);
  };
  if (f.length !== VHD_FOOTER_SIZE) bad(`footer of ${f.length} bytes`);
  if (Buffer.from(f.subarray(0, 8)).toString('latin1') !== 'conectix') bad('no "conectix" cookie');
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (dv.getUint32(64) !== checksum(f)) bad('footer checksum mismatch');
  return {
    creator: Buffer.from(f.subarray(28, 32)).toString('latin1'),
    originalSize: Number(dv.getBigUint64(40)),
    currentSize: Number(dv.getBigUint64(48)),
    diskType: dv.getUint32(60),
    geometry: { cylinders: dv.getUint16(56), heads: f[58]!, sectorsPerTrack: f[59]! },
    uniqueId: Buffer.from(f.subarray(68, 84)).toString('hex'),
    timestamp: dv.getUint32(24) + VHD_EPOCH,
  };
}

const CHUNK = MiB;
/** Zero runs are found at this granularity: the 64 KiB a VMDK grain holds, 16 filesystem blocks. */
const PIECE = 64 * 1024;
const ZERO = Buffer.alloc(PIECE);

/**
 * Copies `src` into the open file `dst` at the same offsets, leaving holes where the source
 * reads as zeros: a built disk is mostly empty, and a sparse copy costs only its data.
 * Returns the bytes copied (the source size).
 */
export async function copySparse(src: string, dst: FileHandle): Promise<number> {
  const fh = await open(src, 'r').catch((e: unknown) => {
    throw withFile(e, src);
  });
  try {
    const { size } = await fh.stat();
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let pos = 0; pos < size; ) {
      const want = Math.min(CHUNK, size - pos);
      const { bytesRead } = await fh.read(buf, 0, want, pos);
      if (bytesRead !== want) throw new PhotonError('E_IO', `short read at offset ${pos}`, { file: src });
      // Runs of non-zero pieces go out as one write each.
      let run = -1;
      for (let at = 0; at < want; at += PIECE) {
        const n = Math.min(PIECE, want - at);
        const zero = buf.compare(ZERO, 0, n, at, at + n) === 0;
        if (!zero && run < 0) run = at;
        if (zero && run >= 0) {
          await dst.write(buf, run, at - run, pos + run);
          run = -1;
        }
      }
      if (run >= 0) await dst.write(buf, run, want - run, pos + run);
      pos += want;
    }
    return size;
  } finally {
    await fh.close();
  }
}

export interface FixedVhdOptions {
  /** Pad the disk to a whole number of MiB, as Azure requires (default true). */
  roundToMiB?: boolean;
  uniqueId?: Uint8Array | string;
  timestamp?: number;
}

/**
 * Writes `outPath` atomically as a fixed VHD of the raw disk at `rawPath`. Returns the virtual
 * size (the raw size, rounded up to 1 MiB unless told otherwise).
 */
export async function writeFixedVhd(rawPath: string, outPath: string, opts: FixedVhdOptions = {}): Promise<number> {
  await mkdir(dirname(outPath), { recursive: true });
  const tmp = tempPathFor(outPath);
  try {
    const out = await open(tmp, 'w', 0o644);
    let virtual: number;
    try {
      const size = await copySparse(rawPath, out);
      if (size === 0 || size % 512) throw new PhotonError('E_VHD', `raw disk of ${size} bytes is not a positive multiple of 512 bytes`, { file: rawPath });
      virtual = opts.roundToMiB === false ? size : Math.ceil(size / MiB) * MiB;
      const footerOpts: VhdFooterOptions = { sizeBytes: virtual };
      if (opts.uniqueId !== undefined) footerOpts.uniqueId = opts.uniqueId;
      if (opts.timestamp !== undefined) footerOpts.timestamp = opts.timestamp;
      await out.truncate(virtual);
      await out.write(vhdFooter(footerOpts), 0, VHD_FOOTER_SIZE, virtual);
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(tmp, outPath);
    return virtual;
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
