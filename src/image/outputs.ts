/**
 * The last stage of an image build: the raw disk becomes what the target platform takes.
 *
 * | format | what                                                                         |
 * |--------|------------------------------------------------------------------------------|
 * | raw    | the disk as it is (copied sparsely)                                          |
 * | qcow2  | qemu-img convert                                                             |
 * | ova    | NAME.ovf, NAME.mf (SHA-256), NAME-disk1.vmdk (stream-optimized) in a tar     |
 * | ami    | tar.gz holding photon-ami.raw, as Photon ships its AMI                       |
 * | gce    | GNU tar.gz holding disk.raw, padded to a whole GiB as Compute Engine needs   |
 * | azure  | fixed VHD, virtual size rounded up to a whole MiB                            |
 *
 * Every output is written beside its final name and renamed into place, so a failed or killed
 * build never leaves a half-written image under the real name. Nothing holds the disk in memory.
 */
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { gzip } from 'node:zlib';
import { TAR_END, tarEntryHeader, tarPadding } from '../formats/tar.ts';
import { type OvfController, ovfDescriptor, ovfManifest, sha256Hex, writeOva } from '../formats/ovf.ts';
import { copySparse, writeFixedVhd } from '../formats/vhd.ts';
import { writeStreamOptimizedVmdk } from '../formats/vmdk.ts';
import { PhotonError, withFile } from '../util/errors.ts';
import { tempPathFor } from '../util/fs.ts';
import { run } from '../util/run.ts';

export const OUTPUT_FORMATS = ['raw', 'qcow2', 'ova', 'ami', 'gce', 'azure'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The member names the platforms' import tools look for. */
export const AMI_MEMBER = 'photon-ami.raw';
export const GCE_MEMBER = 'disk.raw';
const GiB = 1024 * 1024 * 1024;

export interface OutputInfo {
  /** The VM's name (OVA: also the .ovf/.mf/.vmdk file names). */
  name: string;
  firmware: 'efi' | 'bios';
  cpus?: number;
  memoryMiB?: number;
  /** OVA disk controller (default pvscsi). */
  controller?: OvfController;
  /** Timestamps inside archives (Unix seconds); SOURCE_DATE_EPOCH or the clock when absent. */
  mtime?: number;
  /** gzip level for ami/gce (default 6, gzip's own). */
  gzipLevel?: number;
  /** OVF product section. */
  product?: { name: string; version?: string; vendor?: string };
}

/** The usual file name for an image of `name` in `format`. */
export function defaultOutputName(name: string, format: OutputFormat): string {
  const ext: Record<OutputFormat, string> = { raw: '.raw', qcow2: '.qcow2', ova: '.ova', ami: '.tar.gz', gce: '.tar.gz', azure: '.vhd' };
  return `${name}${ext[format]}`;
}

function defaultMtime(): number {
  const sde = Number(process.env['SOURCE_DATE_EPOCH']);
  return Number.isSafeInteger(sde) && sde >= 0 && process.env['SOURCE_DATE_EPOCH'] !== '' ? sde : Math.floor(Date.now() / 1000);
}

/** Writes `outPath` through a temporary file beside it, renamed into place when `write` succeeds. */
async function atomically<T>(outPath: string, write: (tmp: string) => Promise<T>): Promise<T> {
  await mkdir(dirname(outPath), { recursive: true });
  const tmp = tempPathFor(outPath);
  try {
    const r = await write(tmp);
    await rename(tmp, outPath);
    return r;
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Writes the raw disk at `rawPath` as `format` to `outPath`. Bad arguments are E_OUTPUT naming
 * what is wrong; a missing host tool (qemu-img for qcow2) names its Debian package.
 */
export async function writeOutput(rawPath: string, format: OutputFormat, outPath: string, info: OutputInfo): Promise<void> {
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw new PhotonError('E_OUTPUT', `unknown image format ${JSON.stringify(format)} (one of ${OUTPUT_FORMATS.join(', ')})`);
  }
  if (!info.name || /[/\\\0]/.test(info.name)) throw new PhotonError('E_OUTPUT', `image name ${JSON.stringify(info.name)} must be a plain file name`);
  const st = await stat(rawPath).catch((e: unknown) => {
    throw withFile(e, rawPath);
  });
  if (!st.isFile() || st.size === 0 || st.size % 512) throw new PhotonError('E_OUTPUT', `not a raw disk: ${st.isFile() ? `${st.size} bytes, not a positive multiple of 512` : 'not a regular file'}`, { file: rawPath });
  const mtime = info.mtime ?? defaultMtime();
  const level = info.gzipLevel ?? 6;
  if (!Number.isInteger(level) || level < 1 || level > 9) throw new PhotonError('E_OUTPUT', `gzip level ${level} is not 1–9`);

  switch (format) {
    case 'raw':
      if (resolve(rawPath) === resolve(outPath)) return;
      await atomically(outPath, async (tmp) => {
        const fh = await open(tmp, 'w', 0o644);
        try {
          const size = await copySparse(rawPath, fh);
          await fh.truncate(size);
          await fh.sync();
        } finally {
          await fh.close();
        }
      });
      return;
    case 'qcow2':
      await atomically(outPath, async (tmp) => {
        await run('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', rawPath, tmp]);
      });
      return;
    case 'azure':
      await writeFixedVhd(rawPath, outPath, { timestamp: mtime });
      return;
    case 'ami':
      await writeDiskTarGz(rawPath, AMI_MEMBER, outPath, { mtime, level, format: 'gnu' });
      return;
    case 'gce':
      // Compute Engine refuses disks that are not a whole number of GiB. Zeros past the end
      // look like a larger disk, which the guest handles as it does any resized disk.
      await writeDiskTarGz(rawPath, GCE_MEMBER, outPath, { mtime, level, format: 'gnu', padTo: GiB });
      return;
    case 'ova':
      await writeOvaOutput(rawPath, outPath, info, mtime);
      return;
  }
}

async function writeOvaOutput(rawPath: string, outPath: string, info: OutputInfo, mtime: number): Promise<void> {
  const ovfName = `${info.name}.ovf`;
  const vmdkName = `${info.name}-disk1.vmdk`;
  // The VMDK's size and digest go into the .ovf and .mf, which precede it in the OVA: it is
  // written first, beside the output, then copied in.
  const vmdkTmp = `${tempPathFor(outPath)}.vmdk`;
  try {
    const vmdk = await writeStreamOptimizedVmdk(rawPath, vmdkTmp);
    const ovf = ovfDescriptor({
      name: info.name, diskFile: vmdkName, diskFileSize: vmdk.size, capacity: vmdk.capacity, populatedSize: vmdk.populated,
      firmware: info.firmware,
      ...(info.cpus !== undefined ? { cpus: info.cpus } : {}),
      ...(info.memoryMiB !== undefined ? { memoryMiB: info.memoryMiB } : {}),
      ...(info.controller !== undefined ? { controller: info.controller } : {}),
      ...(info.product !== undefined ? { product: info.product } : {}),
    });
    const mf = ovfManifest([{ name: ovfName, sha256: sha256Hex(ovf) }, { name: vmdkName, sha256: vmdk.sha256 }]);
    await writeOva(outPath, [
      { name: ovfName, data: Buffer.from(ovf) },
      { name: `${info.name}.mf`, data: Buffer.from(mf) },
      { name: vmdkName, path: vmdkTmp },
    ], { mtime });
  } finally {
    await rm(vmdkTmp, { force: true });
  }
}

const CHUNK = 1024 * 1024;
const ZERO_CHUNK = Buffer.alloc(CHUNK);

function gzipMember(data: Buffer, level: number): Promise<Buffer> {
  return new Promise((res, rej) => gzip(data, { level }, (err, out) => (err ? rej(err) : res(out))));
}

/**
 * A tar.gz of one file, the disk, streamed: the tar header, the disk (then zeros up to `padTo`),
 * the padding and the end blocks. The gzip stream is a series of members of 1 MiB of input each
 * (RFC 1952 allows any number; gzip, tar and Go's and Python's readers take them as one), so the
 * pieces compress in parallel on the thread pool, and a piece of zeros is compressed once.
 */
async function writeDiskTarGz(rawPath: string, member: string, outPath: string, o: { mtime: number; level: number; format: 'gnu'; padTo?: number }): Promise<void> {
  const raw = await open(rawPath, 'r').catch((e: unknown) => {
    throw withFile(e, rawPath);
  });
  try {
    const { size: rawSize } = await raw.stat();
    const size = o.padTo ? Math.ceil(rawSize / o.padTo) * o.padTo : rawSize;
    await atomically(outPath, async (tmp) => {
      const out = await open(tmp, 'w', 0o644);
      try {
        let outPos = 0;
        const queue: Promise<Buffer>[] = [];
        let zeroMember: Promise<Buffer> | undefined;
        const next = async () => {
          const z = await queue.shift()!;
          await out.write(z, 0, z.length, outPos);
          outPos += z.length;
        };
        const add = async (data: Buffer) => {
          let p: Promise<Buffer>;
          if (data.length === CHUNK && data.equals(ZERO_CHUNK)) p = zeroMember ??= gzipMember(ZERO_CHUNK, o.level);
          else p = gzipMember(data, o.level);
          p.catch(() => undefined); // awaited in next(); until then not "unhandled"
          queue.push(p);
          if (queue.length >= 8) await next();
        };
        await add(Buffer.from(tarEntryHeader({ path: member, type: 'file', mode: 0o644, uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: o.mtime, size }, o.format)));
        for (let pos = 0; pos < size; pos += CHUNK) {
          const want = Math.min(CHUNK, size - pos);
          if (pos >= rawSize) {
            await add(want === CHUNK ? ZERO_CHUNK : Buffer.alloc(want));
            continue;
          }
          const buf = Buffer.alloc(want); // zero-filled: the tail past rawSize, if any, is padding
          const n = Math.min(want, rawSize - pos);
          const { bytesRead } = await raw.read(buf, 0, n, pos);
          if (bytesRead !== n) throw new PhotonError('E_IO', `short read at offset ${pos}`, { file: rawPath });
          await add(buf);
        }
        await add(Buffer.concat([tarPadding(size), TAR_END]));
        while (queue.length) await next();
        await out.sync();
      } finally {
        await out.close();
      }
    });
  } finally {
    await raw.close();
  }
}

