/**
 * cpio archives as RPM payloads use them: SVR4 "newc" without checksums, and rpm's own
 * stripped variant for packages with files of 4 GiB or more.
 *
 * newc entry (all numbers 8 ASCII hex digits):
 *
 * | offset | size | meaning                                   |
 * |--------|------|-------------------------------------------|
 * | 0      | 6    | magic "070701"                            |
 * | 6      | 8    | ino                                       |
 * | 14     | 8    | mode                                      |
 * | 22     | 8    | uid                                       |
 * | 30     | 8    | gid                                       |
 * | 38     | 8    | nlink                                     |
 * | 46     | 8    | mtime                                     |
 * | 54     | 8    | file size                                 |
 * | 62     | 8    | dev major                                 |
 * | 70     | 8    | dev minor                                 |
 * | 78     | 8    | rdev major                                |
 * | 86     | 8    | rdev minor                                |
 * | 94     | 8    | name size including the NUL               |
 * | 102    | 8    | check (0)                                 |
 * | 110    | n    | name, NUL, padding to a multiple of 4     |
 * | …      | size | data, padding to a multiple of 4          |
 *
 * Stripped entry ("07070X", rpm >= 4.12): magic, 8 hex digits of the file's index in the
 * header's file list, padding to 4, data, padding to 4. Everything else, including the size,
 * comes from the header. The archive still ends with a newc "TRAILER!!!" entry.
 * Padding is counted from the start of the archive.
 */
import { PhotonError } from '../util/errors.ts';

export interface CpioEntry {
  name: string;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  size: number;
  devMajor: number;
  devMinor: number;
  rdevMajor: number;
  rdevMinor: number;
  data: Uint8Array;
  /** Set for stripped ("07070X") entries: the index into the header's file list; `name` is ''. */
  fileIndex?: number;
}

export const CPIO_NEWC_MAGIC = '070701';
export const CPIO_STRIPPED_MAGIC = '07070X';
export const CPIO_TRAILER = 'TRAILER!!!';
const NEWC_HEADER_SIZE = 110;
const STRIPPED_HEADER_SIZE = 14;
/** PATH_MAX: a longer name is a corrupt archive, not a file. */
const MAX_NAME = 4096;

export interface CpioReadOptions {
  /** Size of the file at `index` in the header's list; required to read stripped entries. */
  sizeOf?: (index: number) => number;
  /** Entries larger than this are refused rather than buffered (default 2 GiB). */
  maxFileSize?: number;
  /** Named in error messages. */
  file?: string;
}

const ascii = new TextEncoder();
const latin = new TextDecoder('utf-8');

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new PhotonError('E_CPIO', `value ${n} does not fit a cpio header field`);
  return n.toString(16).padStart(8, '0');
}

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

/** Writes a newc archive with the trailer; entries are written in the order given. */
export function writeCpio(entries: Iterable<CpioEntry>): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const push = (b: Uint8Array) => {
    parts.push(b);
    offset += b.length;
  };
  const entry = (e: CpioEntry) => {
    const name = ascii.encode(e.name);
    if (name.includes(0)) throw new PhotonError('E_CPIO', `file name contains NUL: ${JSON.stringify(e.name)}`);
    if (e.data.length !== e.size) throw new PhotonError('E_CPIO', `${e.name}: size ${e.size} but ${e.data.length} bytes of data`);
    const head =
      CPIO_NEWC_MAGIC +
      [e.ino, e.mode, e.uid, e.gid, e.nlink, e.mtime, e.size, e.devMajor, e.devMinor, e.rdevMajor, e.rdevMinor, name.length + 1, 0]
        .map(hex8)
        .join('');
    push(ascii.encode(head));
    push(name);
    push(new Uint8Array(1 + pad4(offset + 1)));
    if (e.data.length) push(e.data);
    const p = pad4(offset);
    if (p) push(new Uint8Array(p));
  };
  for (const e of entries) entry(e);
  entry({ name: CPIO_TRAILER, ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, size: 0, devMajor: 0, devMinor: 0, rdevMajor: 0, rdevMinor: 0, data: new Uint8Array(0) });
  const out = new Uint8Array(offset);
  let p = 0;
  for (const b of parts) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}

/** Pulls exact byte counts out of a stream of chunks of any size, tracking the offset for padding. */
class ChunkReader {
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  offset = 0;
  private done = false;
  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.buf.length - this.pos < n && !this.done) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        break;
      }
      if (!r.value.length) continue;
      const rest = this.buf.subarray(this.pos);
      if (!rest.length) {
        this.buf = r.value;
      } else {
        const merged = new Uint8Array(rest.length + r.value.length);
        merged.set(rest);
        merged.set(r.value, rest.length);
        this.buf = merged;
      }
      this.pos = 0;
    }
    return this.buf.length - this.pos >= n;
  }

  /** Exactly `n` bytes, or undefined when the stream ends first. */
  async read(n: number): Promise<Uint8Array | undefined> {
    if (n === 0) return new Uint8Array(0);
    // Large reads gather chunks in a list so a big file is copied once, not once per chunk.
    if (n > 1 << 20) return this.readLarge(n);
    if (!(await this.fill(n))) return undefined;
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.offset += n;
    return out;
  }

  private async readLarge(n: number): Promise<Uint8Array | undefined> {
    const out = new Uint8Array(n);
    let have = 0;
    while (have < n) {
      if (this.pos >= this.buf.length && !(await this.fill(1))) return undefined;
      const take = Math.min(n - have, this.buf.length - this.pos);
      out.set(this.buf.subarray(this.pos, this.pos + take), have);
      this.pos += take;
      have += take;
    }
    this.offset += n;
    return out;
  }

  async atEnd(): Promise<boolean> {
    return !(await this.fill(1));
  }
}

/**
 * Reads entries one by one as the chunks arrive, so a decompressing stream is never held whole.
 * Stops at the trailer; anything malformed, truncated or oversized is E_CPIO.
 */
export async function* readCpio(
  chunks: AsyncIterable<Uint8Array>,
  options: CpioReadOptions | ((index: number) => number) = {},
): AsyncIterable<CpioEntry> {
  const opts: CpioReadOptions = typeof options === 'function' ? { sizeOf: options } : options;
  const maxFileSize = opts.maxFileSize ?? 2 ** 31;
  const fail = (msg: string): never => {
    throw new PhotonError('E_CPIO', `cpio payload: ${msg}`, opts.file ? { file: opts.file } : {});
  };
  const r = new ChunkReader(chunks[Symbol.asyncIterator]());
  const skipPad = async () => {
    const p = pad4(r.offset);
    if (p && !(await r.read(p))) fail(`truncated at offset ${r.offset}`);
  };
  const readData = async (size: number, what: string): Promise<Uint8Array> => {
    if (size > maxFileSize) fail(`${what}: absurd size ${size}`);
    const data = await r.read(size);
    if (!data) return fail(`truncated in the data of ${what}`);
    // Copy out of the shared chunk so callers may keep entries while the stream moves on
    // (Uint8Array's slice: a Buffer's slice would still share memory).
    return data.byteOffset === 0 && data.length === data.buffer.byteLength ? data : Uint8Array.prototype.slice.call(data);
  };

  for (;;) {
    const start = r.offset;
    const magicBytes = await r.read(6);
    if (!magicBytes) fail(start === 0 ? 'empty archive' : `truncated at offset ${start} (no trailer)`);
    const magic = latin.decode(magicBytes!);
    if (magic === CPIO_STRIPPED_MAGIC) {
      const fx = await r.read(8);
      if (!fx) fail(`truncated header at offset ${start}`);
      const index = parseHex(fx!, 0, fail);
      if (!opts.sizeOf) fail('stripped (07070X) entry but no header file list to take sizes from');
      let size: number;
      try {
        size = opts.sizeOf!(index);
      } catch (e) {
        if (e instanceof PhotonError) throw e;
        return fail(`stripped entry refers to file #${index}, which the header does not list`);
      }
      if (!Number.isSafeInteger(size) || size < 0) fail(`stripped entry refers to file #${index}, which the header does not list`);
      await skipPad();
      const data = await readData(size, `file #${index}`);
      await skipPad();
      yield {
        name: '', ino: 0, mode: 0, uid: 0, gid: 0, nlink: 0, mtime: 0, size, devMajor: 0, devMinor: 0, rdevMajor: 0, rdevMinor: 0,
        data, fileIndex: index,
      };
      continue;
    }
    if (magic !== CPIO_NEWC_MAGIC) {
      fail(`bad magic ${JSON.stringify(magic.replace(/[^\x20-\x7e]/g, '?'))} at offset ${start} (expected 070701)`);
    }
    const head = await r.read(NEWC_HEADER_SIZE - 6);
    if (!head) fail(`truncated header at offset ${start}`);
    const f = (i: number) => parseHex(head!, i * 8, fail);
    const namesize = f(11);
    if (namesize < 2 || namesize > MAX_NAME) fail(`absurd name size ${namesize} at offset ${start}`);
    const nameBytes = await r.read(namesize);
    if (!nameBytes) fail(`truncated name at offset ${start}`);
    if (nameBytes![namesize - 1] !== 0 || nameBytes!.indexOf(0) !== namesize - 1) fail(`malformed name at offset ${start}`);
    const name = latin.decode(nameBytes!.subarray(0, namesize - 1));
    await skipPad();
    const size = f(6);
    if (name === CPIO_TRAILER) return;
    const data = await readData(size, JSON.stringify(name));
    await skipPad();
    yield {
      name, ino: f(0), mode: f(1), uid: f(2), gid: f(3), nlink: f(4), mtime: f(5), size,
      devMajor: f(7), devMinor: f(8), rdevMajor: f(9), rdevMinor: f(10), data,
    };
  }
}

function parseHex(b: Uint8Array, at: number, fail: (m: string) => never): number {
  let n = 0;
  for (let i = at; i < at + 8; i++) {
    const c = b[i]!;
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0) fail(`non-hex digit in header field`);
    n = n * 16 + d;
  }
  return n;
}

/** The stripped (07070X) encoding of one file: rpm writes it for files of 4 GiB or more. */
export function writeStrippedEntry(index: number, data: Uint8Array, offset: number): Uint8Array {
  const head = ascii.encode(CPIO_STRIPPED_MAGIC + hex8(index));
  const p1 = pad4(offset + head.length);
  const p2 = pad4(offset + head.length + p1 + data.length);
  const out = new Uint8Array(head.length + p1 + data.length + p2);
  out.set(head);
  out.set(data, head.length + p1);
  return out;
}
