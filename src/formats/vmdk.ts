/**
 * Stream-optimized VMDK (VMware Virtual Disk Format 5.0, "streamOptimized" monolithic sparse
 * extent), the disk inside an OVA. It is written front to back in one pass, which is what makes
 * it streamable: grains first, their tables at the end, the real header as a footer.
 *
 *   sector 0           header (gdOffset = GD_AT_END: "see the footer")
 *   sector 1…          embedded descriptor (text), zero-padded to `overHead` sectors
 *   …                  for each grain (64 KiB of the disk) that is not all zeros, in disk order:
 *                        grain marker: u64 LBA of the grain, u32 compressed size, then the
 *                        zlib (RFC 1950) stream, padded to a sector
 *   …                  for each grain table that has a grain: a metadata marker sector
 *                      (u64 sectors that follow = 4, u32 0, u32 type 1) then the table:
 *                      512 u32 sector offsets of grain markers, 0 = not present (reads as zeros)
 *   …                  grain directory marker (type 2), the directory: u32 sector offset of each
 *                      grain table, 0 for a table with no grains
 *   …                  footer marker (type 3, 1 sector follows), footer = the header with gdOffset
 *   last sector        end-of-stream marker: a zero sector
 *
 * Header (little-endian): 0 "KDMV", 4 version 3, 8 flags (bit 0 valid newline test, bit 16
 * compressed grains, bit 17 markers), 12 capacity (sectors), 20 grain size (sectors), 28
 * descriptor offset, 36 descriptor size, 44 entries per grain table, 48 redundant GD offset, 56
 * GD offset, 64 overhead (sectors before the first grain), 72 unclean shutdown, 73–76 the newline
 * test bytes "\n", " ", "\r", "\n", 77 compression algorithm (1 = deflate).
 *
 * Grains compress independently, so worker threads deflate them, a 1 MiB piece of the disk at a
 * time, while the main thread reads the next pieces and writes the finished ones in order: the
 * 1 GiB disk of a typical image takes a few seconds where `qemu-img convert -O vmdk -o
 * subformat=streamOptimized` (one thread, level 6) takes ~20.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PhotonError, withFile } from '../util/errors.ts';
import { tempPathFor } from '../util/fs.ts';
import { dataRanges } from '../util/sparse.ts';

const SECTOR = 512;
const GRAIN_SECTORS = 128;
const GRAIN = GRAIN_SECTORS * SECTOR;
const GTES_PER_GT = 512;
const GT_SECTORS = (GTES_PER_GT * 4) / SECTOR;
/** Sectors before the first grain: the header, the descriptor, zeros. VMware's own writers use 128. */
const OVERHEAD = 128;
const GD_AT_END = 0xffffffffffffffffn;
const FLAGS = 1 | (1 << 16) | (1 << 17);
const MARKER_GT = 1;
const MARKER_GD = 2;
const MARKER_FOOTER = 3;
/** The disk is read, and handed to a worker, this much at a time (16 grains). */
const READ_CHUNK = 16 * GRAIN;
const ZERO_SECTOR = Buffer.alloc(SECTOR);

export type VmdkAdapter = 'ide' | 'buslogic' | 'lsilogic' | 'legacyESX';

export interface VmdkOptions {
  /** zlib level, 1–9 (default 1: on disk images it is within ~10% of level 6 in size, 3–4× faster). */
  level?: number;
  /** ddb.adapterType; the OVF's controller is what vSphere uses, this is a hint (default lsilogic). */
  adapterType?: VmdkAdapter;
  /** Threads deflating grains (default: one per CPU, at most 4). */
  parallel?: number;
  /** The descriptor's content id (8 hex digits); random when absent. */
  cid?: string;
}

export interface VmdkResult {
  /** Bytes of the .vmdk file. */
  size: number;
  /** SHA-256 of the .vmdk file, hex: the OVA manifest needs it and this saves reading it again. */
  sha256: string;
  /** The disk's size in bytes. */
  capacity: number;
  /** Bytes of the disk in grains that are not all zeros: OVF's populatedSize. */
  populated: number;
}

function header(capacitySectors: number, descriptorSectors: number, gdOffset: bigint): Buffer {
  const h = Buffer.alloc(SECTOR);
  h.write('KDMV', 0, 'latin1');
  h.writeUInt32LE(3, 4);
  h.writeUInt32LE(FLAGS, 8);
  h.writeBigUInt64LE(BigInt(capacitySectors), 12);
  h.writeBigUInt64LE(BigInt(GRAIN_SECTORS), 20);
  h.writeBigUInt64LE(1n, 28);
  h.writeBigUInt64LE(BigInt(descriptorSectors), 36);
  h.writeUInt32LE(GTES_PER_GT, 44);
  h.writeBigUInt64LE(0n, 48);
  h.writeBigUInt64LE(gdOffset, 56);
  h.writeBigUInt64LE(BigInt(OVERHEAD), 64);
  h[72] = 0;
  h.write('\n \r\n', 73, 'latin1');
  h.writeUInt16LE(1, 77);
  return h;
}

function metadataMarker(sectors: number, type: number): Buffer {
  const m = Buffer.alloc(SECTOR);
  m.writeBigUInt64LE(BigInt(sectors), 0);
  m.writeUInt32LE(0, 8);
  m.writeUInt32LE(type, 12);
  return m;
}

/** The embedded descriptor: what VMware's tools write for a monolithic stream-optimized disk. */
export function vmdkDescriptor(capacitySectors: number, fileName: string, opts: { cid: string; adapterType: VmdkAdapter }): string {
  // BIOS geometry as VMware reports it: 16 heads for IDE, 255 for SCSI; cylinders capped at 65535.
  const heads = opts.adapterType === 'ide' ? 16 : 255;
  const cylinders = Math.min(65535, Math.floor(capacitySectors / (heads * 63)));
  return [
    '# Disk DescriptorFile',
    'version=1',
    'encoding="UTF-8"',
    `CID=${opts.cid}`,
    'parentCID=ffffffff',
    'createType="streamOptimized"',
    '',
    '# Extent description',
    `RW ${capacitySectors} SPARSE "${fileName.replace(/"/g, '')}"`,
    '',
    '# The Disk Data Base',
    '#DDB',
    '',
    `ddb.adapterType = "${opts.adapterType}"`,
    `ddb.geometry.cylinders = "${cylinders}"`,
    `ddb.geometry.heads = "${heads}"`,
    'ddb.geometry.sectors = "63"',
    `ddb.longContentID = "${randomBytes(16).toString('hex')}"`,
    // open-vm-tools, managed by the guest: vSphere does not offer to install VMware Tools.
    'ddb.toolsInstallType = "4"',
    'ddb.toolsVersion = "2147483647"',
    'ddb.virtualHWVersion = "4"',
    '',
  ].join('\n');
}

/**
 * A worker's job: deflate each grain of a piece of the disk that is not all zeros, as one zlib
 * stream of its own. The piece's buffer travels to the worker and back (transferred, not copied)
 * and is read into again; the grains come back in one buffer with their sizes (-1: all zeros).
 * deflateSync gives every grain a fresh zlib state (~400 KB), but the worker's own malloc arena
 * hands the freed one straight back: it is not faulted in again, as it was on the shared thread
 * pool. CommonJS source, run with `eval`: the same in the bundles and from the sources.
 */
const DEFLATE_WORKER = `
const { parentPort } = require('node:worker_threads');
const { deflateSync } = require('node:zlib');
const GRAIN = ${GRAIN};
const ZERO = Buffer.alloc(GRAIN);
parentPort.on('message', ({ buf, length, level }) => {
  const data = Buffer.from(buf, 0, length);
  const sizes = new Int32Array(length / GRAIN);
  const parts = [];
  let total = 0;
  for (let g = 0; g < sizes.length; g++) {
    const grain = data.subarray(g * GRAIN, (g + 1) * GRAIN);
    if (grain.equals(ZERO)) { sizes[g] = -1; continue; }
    const z = deflateSync(grain, { level, memLevel: 9 });
    sizes[g] = z.length;
    parts.push(z);
    total += z.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const z of parts) { out.set(z, at); at += z.length; }
  parentPort.postMessage({ buf, sizes, out: out.buffer }, [buf, out.buffer]);
});
`;

interface Deflated {
  /** The piece's buffer, back from the worker, to read into again. */
  buf: ArrayBuffer;
  /** Compressed size of each grain of the piece, -1 for a grain of zeros. */
  sizes: Int32Array;
  /** The compressed grains, back to back. */
  out: ArrayBuffer;
}

/** Worker threads deflating pieces of the disk, each one piece at a time, answers in order. */
class DeflatePool {
  private readonly workers: Worker[];
  /** Per worker, the callbacks of the pieces it was given, oldest first (it answers in order). */
  private readonly waiting: Array<Array<{ resolve: (d: Deflated) => void; reject: (e: Error) => void }>>;
  private failure: Error | undefined;
  private turn = 0;

  constructor(threads: number) {
    this.workers = Array.from({ length: threads }, () => new Worker(DEFLATE_WORKER, { eval: true }));
    this.waiting = this.workers.map(() => []);
    this.workers.forEach((w, i) => {
      w.on('message', (d: Deflated) => this.waiting[i]!.shift()!.resolve(d));
      const fail = (e: Error) => {
        this.failure ??= e;
        for (const p of this.waiting[i]!.splice(0)) p.reject(e);
      };
      w.on('error', fail);
      w.on('exit', (code) => fail(new PhotonError('E_VMDK', `a deflate worker exited (${code})`)));
    });
  }

  /** Deflates the first `length` bytes of `buf` (whole grains), which is handed over until it settles. */
  deflate(buf: ArrayBuffer, length: number, level: number): Promise<Deflated> {
    if (this.failure) return Promise.reject(this.failure);
    const i = this.turn++ % this.workers.length;
    return new Promise((resolve, reject) => {
      this.waiting[i]!.push({ resolve, reject });
      this.workers[i]!.postMessage({ buf, length, level }, [buf]);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new PhotonError('E_VMDK', 'closed');
    for (const w of this.workers) w.removeAllListeners('exit');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Byte ranges widened to whole grains and merged where they then meet. */
function grainRanges(ranges: ReadonlyArray<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [s, e] of ranges) {
    const a = Math.floor(s / GRAIN) * GRAIN;
    const b = Math.ceil(e / GRAIN) * GRAIN;
    const last = out.at(-1);
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Sequential output with a running SHA-256; small pieces are gathered into one write. */
class Out {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly hash = createHash('sha256');
  /** Bytes handed to write(), written or not. */
  offset = 0;

  constructor(private readonly fh: FileHandle) {}

  async write(b: Buffer): Promise<void> {
    this.pending.push(b);
    this.pendingBytes += b.length;
    this.offset += b.length;
    if (this.pendingBytes >= 4 * 1024 * 1024) await this.flush();
  }

  async flush(): Promise<void> {
    if (!this.pendingBytes) return;
    const bufs = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (const b of bufs) this.hash.update(b);
    await this.fh.writev(bufs);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/**
 * Writes the raw disk at `rawPath` as a stream-optimized VMDK at `outPath`, atomically, reading
 * the raw disk in 1 MiB pieces (never all of it in memory). Grains of zeros are left out; the
 * raw disk's holes (a fresh image is mostly holes) are not even read.
 */
export async function writeStreamOptimizedVmdk(rawPath: string, outPath: string, opts: VmdkOptions = {}): Promise<VmdkResult> {
  const level = opts.level ?? 1;
  if (!Number.isInteger(level) || level < 1 || level > 9) throw new PhotonError('E_VMDK', `compression level ${level} is not 1–9`);
  const threads = Math.max(1, Math.min(opts.parallel ?? availableParallelism(), 4));
  const cid = opts.cid ?? randomBytes(4).toString('hex');
  if (!/^[0-9a-f]{8}$/.test(cid)) throw new PhotonError('E_VMDK', `content id ${JSON.stringify(cid)} is not 8 lower-case hex digits`);

  const raw = await open(rawPath, 'r').catch((e: unknown) => {
    throw withFile(e, rawPath);
  });
  await mkdir(dirname(outPath), { recursive: true });
  const tmp = tempPathFor(outPath);
  try {
    const { size: rawSize } = await raw.stat();
    if (rawSize === 0 || rawSize % SECTOR) throw new PhotonError('E_VMDK', `raw disk of ${rawSize} bytes is not a positive multiple of ${SECTOR} bytes`, { file: rawPath });
    const capacity = rawSize / SECTOR;
    const grains = Math.ceil(capacity / GRAIN_SECTORS);
    const tables = Math.ceil(grains / GTES_PER_GT);
    const gdSectors = Math.ceil((tables * 4) / SECTOR);
    const descriptor = Buffer.from(vmdkDescriptor(capacity, basename(outPath), { cid, adapterType: opts.adapterType ?? 'lsilogic' }), 'utf8');
    const descriptorSectors = Math.ceil(descriptor.length / SECTOR);
    if (1 + descriptorSectors > OVERHEAD) throw new PhotonError('E_VMDK', 'descriptor too long');

    const fh = await open(tmp, 'w', 0o644);
    const pool = new DeflatePool(threads);
    try {
      const out = new Out(fh);
      const head = Buffer.alloc(OVERHEAD * SECTOR);
      header(capacity, descriptorSectors, GD_AT_END).copy(head, 0);
      descriptor.copy(head, SECTOR);
      await out.write(head);

      // gt[i]: the sector of grain i's marker, 0 when the grain is not stored.
      const gt = new Uint32Array(tables * GTES_PER_GT);
      let populated = 0;
      // Two pieces per thread in flight keep each one busy while this thread reads and writes.
      // Their buffers come back with the grains and are read into again: fresh 1 MiB buffers for
      // every read would cost a page fault per 4 KiB, a GiB of them per GiB.
      const inflight: Array<{ first: number; job: Promise<Deflated> }> = [];
      const spare: ArrayBuffer[] = [];
      const emit = async (): Promise<void> => {
        const { first, job } = inflight.shift()!;
        const { buf, sizes, out: z } = await job;
        spare.push(buf);
        let at = 0;
        for (let g = 0; g < sizes.length; g++) {
          const n = sizes[g]!;
          if (n < 0) continue;
          populated += GRAIN;
          const sector = out.offset / SECTOR;
          if (sector > 0xffffffff) throw new PhotonError('E_VMDK', 'VMDK larger than 2 TiB');
          gt[first + g] = sector;
          const marker = Buffer.alloc(12);
          marker.writeBigUInt64LE(BigInt((first + g) * GRAIN_SECTORS), 0);
          marker.writeUInt32LE(n, 8);
          await out.write(marker);
          await out.write(Buffer.from(z, at, n));
          at += n;
          const pad = (SECTOR - ((12 + n) % SECTOR)) % SECTOR;
          if (pad) await out.write(ZERO_SECTOR.subarray(0, pad));
        }
      };

      const ranges = grainRanges((await dataRanges(rawPath)) ?? [[0, rawSize]]);
      for (const [start, end] of ranges) for (let pos = start; pos < end; pos += READ_CHUNK) {
        const want = Math.min(READ_CHUNK, end - pos, rawSize - pos);
        const ab = spare.pop() ?? new ArrayBuffer(READ_CHUNK);
        const buf = Buffer.from(ab);
        const length = Math.ceil(want / GRAIN) * GRAIN;
        const { bytesRead } = await raw.read(buf, 0, want, pos);
        if (bytesRead !== want) throw new PhotonError('E_IO', `short read at offset ${pos}`, { file: rawPath });
        // The last grain of a disk that is not a whole number of grains is padded with zeros.
        buf.fill(0, want, length);
        const job = pool.deflate(ab, length, level);
        // Rejections are awaited in emit(); until then, keep Node from calling them unhandled.
        job.catch(() => undefined);
        inflight.push({ first: pos / GRAIN, job });
        if (inflight.length >= 2 * threads) await emit();
      }
      while (inflight.length) await emit();

      const gd = Buffer.alloc(gdSectors * SECTOR);
      for (let t = 0; t < tables; t++) {
        const entries = gt.subarray(t * GTES_PER_GT, (t + 1) * GTES_PER_GT);
        if (!entries.some((e) => e !== 0)) continue;
        await out.write(metadataMarker(GT_SECTORS, MARKER_GT));
        gd.writeUInt32LE(out.offset / SECTOR, t * 4);
        // Tables are little-endian on disk, Uint32Array is host-endian: every host we run on is little-endian.
        await out.write(Buffer.from(entries.buffer, entries.byteOffset, entries.byteLength));
      }
      await out.write(metadataMarker(gdSectors, MARKER_GD));
      const gdOffset = out.offset / SECTOR;
      await out.write(gd);
      await out.write(metadataMarker(1, MARKER_FOOTER));
      await out.write(header(capacity, descriptorSectors, BigInt(gdOffset)));
      await out.write(Buffer.alloc(SECTOR)); // end of stream
      await out.flush();
      await fh.sync();
      const result: VmdkResult = { size: out.offset, sha256: out.digest(), capacity: rawSize, populated };
      await fh.close();
      await rename(tmp, outPath);
      return result;
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    } finally {
      await pool.close();
    }
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    await raw.close();
  }
}
