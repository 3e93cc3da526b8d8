/**
 * tar archives: the payload of .deb files (data.tar.*), and what the image builder writes
 * (GCE wants disk.raw inside a tar.gz).
 *
 * Every entry is a 512-byte header then its data, padded to 512; two zero blocks end the archive.
 *
 * | offset | size | ustar/pax ("ustar\0" "00")     | GNU ("ustar  \0")               |
 * |--------|------|--------------------------------|---------------------------------|
 * | 0      | 100  | name                           | name                            |
 * | 100    | 8    | mode, octal                    |                                 |
 * | 108    | 8    | uid                            |                                 |
 * | 116    | 8    | gid                            |                                 |
 * | 124    | 12   | size                           |                                 |
 * | 136    | 12   | mtime                          |                                 |
 * | 148    | 8    | checksum (field taken as spaces) |                               |
 * | 156    | 1    | type                           |                                 |
 * | 157    | 100  | link name                      |                                 |
 * | 257    | 8    | magic + version                |                                 |
 * | 265    | 32   | uname                          |                                 |
 * | 297    | 32   | gname                          |                                 |
 * | 329    | 8    | dev major                      |                                 |
 * | 337    | 8    | dev minor                      |                                 |
 * | 345    | 155  | prefix: path = prefix/name     | atime, ctime, sparse map        |
 *
 * Numbers are octal ASCII; GNU tar stores those that do not fit as base-256 (first byte 0x80,
 * or 0xff for negative). Longer names: GNU writes a "././@LongLink" entry of type 'L' (path) or
 * 'K' (link target) whose data is the name; pax writes an 'x' entry of "LEN key=value\n"
 * records that override the next header's fields ('g' records apply to all, and are ignored
 * here: nothing we read sets them to anything that matters).
 */
import { concatBytes } from './_bytes.ts';
import { PhotonError } from '../util/errors.ts';

export type TarType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
export type TarFormat = 'gnu' | 'pax' | 'ustar';

export interface TarEntry {
  /** No leading "./" or "/", no trailing "/"; the archive's root directory ("./") is ".". */
  path: string;
  type: TarType;
  /** Permission bits with suid, sgid and sticky (12 bits). */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Seconds since the epoch; pax fractions are dropped. */
  mtime: number;
  /** Bytes of data: 0 for everything but files. */
  size: number;
  /** Symlinks: the target as stored. Hard links: the path of the entry linked to, normalized like `path`. */
  linkTarget?: string;
  devMajor?: number;
  devMinor?: number;
  /** Files only: a view into the archive's bytes. */
  data?: Uint8Array;
}

/** What the writer needs; omitted fields are 0 or empty, never taken from the clock or the host. */
export interface TarWriteEntry {
  path: string;
  type: TarType;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  mtime?: number;
  /** Files: the data's length; required by tarEntryHeader when the data is streamed separately. */
  size?: number;
  linkTarget?: string;
  devMajor?: number;
  devMinor?: number;
  data?: Uint8Array;
}

export const BLOCK = 512;
/** The end of an archive: two zero blocks. */
export const TAR_END: Uint8Array = new Uint8Array(2 * BLOCK);

const utf8 = new TextEncoder();
const dec = new TextDecoder('utf-8');

const TYPE_OF: Record<string, TarType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo',
};
const FLAG_OF: Record<TarType, string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

/** Strips what extraction would strip: "./" and "/" in front, "/" at the end. */
export function normalizeTarPath(p: string): string {
  let s = p;
  for (;;) {
    if (s.startsWith('./')) s = s.slice(2);
    else if (s.startsWith('/')) s = s.slice(1);
    else break;
  }
  s = s.replace(/\/+$/, '');
  return s === '' || s === '.' ? '.' : s;
}

// ---------------------------------------------------------------- reading

/** A NUL-terminated string field. */
function str(b: Uint8Array, at: number, len: number): string {
  const f = b.subarray(at, at + len);
  const z = f.indexOf(0);
  return dec.decode(z < 0 ? f : f.subarray(0, z));
}

/** An octal or base-256 number field; undefined when it is not a number. */
function num(b: Uint8Array, at: number, len: number): number | undefined {
  const first = b[at]!;
  if (first & 0x80) {
    // Base-256, two's complement: 0x80 marks a positive number, 0xff a negative one.
    let n = first === 0xff ? -1n : 0n;
    n = (n << 8n) | BigInt(first & (first === 0xff ? 0xff : 0x7f));
    for (let i = at + 1; i < at + len; i++) n = (n << 8n) | BigInt(b[i]!);
    if (first === 0xff) n = BigInt.asIntN(len * 8, n);
    const v = Number(n);
    return Number.isSafeInteger(v) ? v : undefined;
  }
  let i = at;
  const end = at + len;
  while (i < end && b[i] === 0x20) i++;
  let n = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return undefined;
    n = n * 8 + (c - 0x30);
    digits++;
  }
  for (; i < end; i++) if (b[i] !== 0 && b[i] !== 0x20) return undefined;
  return digits ? n : 0;
}

function checksumOk(h: Uint8Array, stored: number): boolean {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  // Old Unix tars summed signed chars; GNU tar accepts either.
  return stored === unsigned || stored === signed;
}

interface Overrides {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  mtime?: number;
}

function parsePax(data: Uint8Array, fail: (m: string) => never): Overrides {
  const o: Overrides = {};
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad the record block with NULs
    const sp = data.indexOf(0x20, pos);
    if (sp < 0 || sp - pos > 20) fail('malformed pax record (no length)');
    const lenText = dec.decode(data.subarray(pos, sp));
    if (!/^\d+$/.test(lenText)) fail(`malformed pax record length ${JSON.stringify(lenText)}`);
    const len = Number(lenText);
    const end = pos + len;
    if (len <= sp - pos + 1 || end > data.length || data[end - 1] !== 0x0a) fail('malformed pax record (bad length)');
    const rec = data.subarray(sp + 1, end - 1);
    const eq = rec.indexOf(0x3d);
    if (eq < 0) fail('malformed pax record (no "=")');
    const key = dec.decode(rec.subarray(0, eq));
    const value = dec.decode(rec.subarray(eq + 1));
    const int = (what: string): number => {
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) fail(`bad pax ${what} ${JSON.stringify(value)}`);
      return Number(value);
    };
    switch (key) {
      case 'path': o.path = value; break;
      case 'linkpath': o.linkpath = value; break;
      case 'size': o.size = int('size'); break;
      case 'uid': o.uid = int('uid'); break;
      case 'gid': o.gid = int('gid'); break;
      case 'uname': o.uname = value; break;
      case 'gname': o.gname = value; break;
      case 'mtime': {
        if (!/^-?\d+(\.\d*)?$/.test(value)) fail(`bad pax mtime ${JSON.stringify(value)}`);
        const t = Math.floor(Number(value));
        if (!Number.isSafeInteger(t)) fail(`bad pax mtime ${JSON.stringify(value)}`);
        o.mtime = t;
        break;
      }
      default: break; // atime, ctime, xattrs, GNU sparse keys we refuse elsewhere…
    }
    pos = end;
  }
  return o;
}

export interface TarReadOptions {
  /** Named in error messages. */
  file?: string;
}

/**
 * Reads every entry of an uncompressed archive. File data are views into `bytes`.
 * Anything malformed or truncated is E_TAR; GNU sparse files and multi-volume pieces, which
 * no package we read contains, are refused rather than extracted wrongly.
 */
export function readTar(bytes: Uint8Array, options: TarReadOptions | string = {}): TarEntry[] {
  const opts = typeof options === 'string' ? { file: options } : options;
  const fail = (msg: string): never => {
    throw new PhotonError('E_TAR', `tar archive: ${msg}`, opts.file ? { file: opts.file } : {});
  };
  const out: TarEntry[] = [];
  let pos = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Overrides = {};
  let pending = false; // a long-name or pax entry waits for its header
  for (;;) {
    if (pos + BLOCK > bytes.length) {
      // GNU tar accepts an archive that simply stops at a block boundary, with a warning.
      if (pos === bytes.length && !pending) return out;
      fail(`truncated at offset ${pos}`);
    }
    const h = bytes.subarray(pos, pos + BLOCK);
    if (h.every((c) => c === 0)) {
      if (pending) fail(`extended header at offset ${pos} is not followed by an entry`);
      return out;
    }
    const stored = num(h, 148, 8);
    if (stored === undefined || !checksumOk(h, stored)) fail(`bad header checksum at offset ${pos}`);
    const field = (at: number, len: number, what: string): number => {
      const v = num(h, at, len);
      if (v === undefined) fail(`bad ${what} field at offset ${pos}`);
      return v!;
    };
    const flag = String.fromCharCode(h[156]!);
    let size = field(124, 12, 'size');
    if (size < 0) fail(`negative size at offset ${pos}`);
    const dataStart = pos + BLOCK;
    if (flag === 'L' || flag === 'K' || flag === 'x' || flag === 'g') {
      if (dataStart + size > bytes.length) fail(`truncated extended header at offset ${pos}`);
      const data = bytes.subarray(dataStart, dataStart + size);
      if (flag === 'L' || flag === 'K') {
        const z = data.indexOf(0);
        const name = dec.decode(z < 0 ? data : data.subarray(0, z));
        if (flag === 'L') longName = name;
        else longLink = name;
      } else if (flag === 'x') {
        pax = { ...pax, ...parsePax(data, fail) };
      }
      pending = flag !== 'g' || pending;
      pos = dataStart + Math.ceil(size / BLOCK) * BLOCK;
      continue;
    }
    if (pax.size !== undefined) size = pax.size;
    const magic = str(h, 257, 6);
    const isUstar = magic === 'ustar' && h[262] === 0; // POSIX; GNU's "ustar " has no prefix field
    let rawPath = str(h, 0, 100);
    if (isUstar) {
      const prefix = str(h, 345, 155);
      if (prefix) rawPath = `${prefix}/${rawPath}`;
    }
    rawPath = pax.path ?? longName ?? rawPath;
    let type = TYPE_OF[flag];
    if (!type) {
      if (flag === 'S' || flag === 'M') fail(`${JSON.stringify(rawPath)}: GNU sparse or multi-volume entries are not supported`);
      if (flag === 'V') {
        // A volume label names the archive, not a file.
        pos = dataStart + Math.ceil(size / BLOCK) * BLOCK;
        continue;
      }
      // POSIX: unknown types are read as regular files.
      type = 'file';
    }
    // Pre-POSIX tars mark directories only by the trailing slash.
    if (type === 'file' && (flag === '0' || flag === '\0') && rawPath.endsWith('/')) type = 'dir';
    const dataSize = type === 'file' ? size : 0;
    if (dataStart + size > bytes.length) fail(`${JSON.stringify(rawPath)}: truncated data`);
    const rawLink = pax.linkpath ?? longLink ?? str(h, 157, 100);
    const entry: TarEntry = {
      path: normalizeTarPath(rawPath),
      type,
      mode: field(100, 8, 'mode') & 0o7777,
      uid: pax.uid ?? field(108, 8, 'uid'),
      gid: pax.gid ?? field(116, 8, 'gid'),
      uname: pax.uname ?? (magic.startsWith('ustar') ? str(h, 265, 32) : ''),
      gname: pax.gname ?? (magic.startsWith('ustar') ? str(h, 297, 32) : ''),
      mtime: pax.mtime ?? field(136, 12, 'mtime'),
      size: dataSize,
    };
    if (type === 'symlink') entry.linkTarget = rawLink;
    if (type === 'hardlink') entry.linkTarget = normalizeTarPath(rawLink);
    if (type === 'char' || type === 'block') {
      entry.devMajor = field(329, 8, 'devmajor');
      entry.devMinor = field(337, 8, 'devminor');
    }
    if (type === 'file') entry.data = bytes.subarray(dataStart, dataStart + size);
    out.push(entry);
    pos = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    longName = undefined;
    longLink = undefined;
    pax = {};
    pending = false;
  }
}

// ---------------------------------------------------------------- writing

const OCTAL_MAX = (len: number) => 8 ** (len - 1) - 1;

/** Puts `n` in a numeric field: octal when it fits, else base-256 (gnu) or undefined (caller decides). */
function putNum(h: Uint8Array, at: number, len: number, n: number, base256: boolean): boolean {
  if (n >= 0 && n <= OCTAL_MAX(len)) {
    h.set(utf8.encode(n.toString(8).padStart(len - 1, '0')), at);
    h[at + len - 1] = 0;
    return true;
  }
  if (!base256) return false;
  let v = BigInt.asUintN(len * 8, BigInt(n));
  for (let i = at + len - 1; i > at; i--) {
    h[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  h[at] = n < 0 ? 0xff : 0x80;
  return true;
}

function putStr(h: Uint8Array, at: number, len: number, s: Uint8Array): void {
  h.set(s.subarray(0, len), at);
}

function finishHeader(h: Uint8Array): Uint8Array {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of h) sum += c;
  h.set(utf8.encode(sum.toString(8).padStart(6, '0')), 148);
  h[154] = 0;
  h[155] = 0x20;
  return h;
}

function baseHeader(format: TarFormat): Uint8Array {
  const h = new Uint8Array(BLOCK);
  h.set(utf8.encode(format === 'gnu' ? 'ustar  ' : 'ustar'), 257);
  if (format !== 'gnu') h.set(utf8.encode('00'), 263);
  return h;
}

/** A header with its data, for the long-name and pax entries that precede a real one. */
function extension(format: TarFormat, name: string, flag: string, data: Uint8Array, mtime: number): Uint8Array {
  const h = baseHeader(format);
  putStr(h, 0, 100, utf8.encode(name));
  putNum(h, 100, 8, 0o644, false);
  putNum(h, 108, 8, 0, false);
  putNum(h, 116, 8, 0, false);
  putNum(h, 124, 12, data.length, true);
  if (!putNum(h, 136, 12, mtime, format === 'gnu')) putNum(h, 136, 12, 0, false);
  h[156] = flag.charCodeAt(0);
  finishHeader(h);
  const out = new Uint8Array(BLOCK + data.length + tarPadding(data.length).length);
  out.set(h);
  out.set(data, BLOCK);
  return out;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLen = utf8.encode(body).length;
  // The length counts its own digits.
  let len = bodyLen + String(bodyLen).length;
  if (String(len).length !== String(bodyLen).length) len = bodyLen + String(len).length;
  return `${len}${body}`;
}

/** Splits a path for the ustar name/prefix fields, or undefined when it cannot be. */
function splitUstar(p: Uint8Array): { name: Uint8Array; prefix: Uint8Array } | undefined {
  if (p.length <= 100) return { name: p, prefix: new Uint8Array(0) };
  for (let i = Math.min(p.length - 1, 155); i > 0; i--) {
    if (p[i] === 0x2f && p.length - i - 1 <= 100 && p.length - i - 1 > 0) return { name: p.subarray(i + 1), prefix: p.subarray(0, i) };
  }
  return undefined;
}

/**
 * The header blocks of one entry: any GNU long-name or pax entries, then the header itself.
 * A file's data follows, then tarPadding(size); TAR_END closes the archive. Nothing depends on
 * the clock or the host, so the same entries give the same bytes.
 */
export function tarEntryHeader(entry: TarWriteEntry, format: TarFormat): Uint8Array {
  const fail = (msg: string): never => {
    throw new PhotonError('E_TAR', `${JSON.stringify(entry.path)}: ${msg}`);
  };
  if (!FLAG_OF[entry.type]) fail(`unknown entry type ${JSON.stringify(entry.type)}`);
  const size = entry.type === 'file' ? (entry.data?.length ?? entry.size) : 0;
  if (size === undefined) return fail('a file needs its data or its size');
  if (entry.type === 'file' && entry.data && entry.size !== undefined && entry.size !== entry.data.length) fail(`size ${entry.size} but ${entry.data.length} bytes of data`);
  if ((entry.type === 'symlink' || entry.type === 'hardlink') && !entry.linkTarget) fail(`a ${entry.type} needs a link target`);
  const ints: Array<[string, number | undefined]> = [['size', size], ['uid', entry.uid], ['gid', entry.gid], ['mtime', entry.mtime], ['mode', entry.mode], ['devMajor', entry.devMajor], ['devMinor', entry.devMinor]];
  for (const [k, v] of ints) if (v !== undefined && !Number.isSafeInteger(v)) fail(`${k} ${v} is not an integer`);
  for (const [k, v] of ints) if (k !== 'mtime' && v !== undefined && v < 0) fail(`${k} ${v} is negative`);
  if (entry.mode !== undefined && entry.mode > 0o7777) fail(`mode ${entry.mode.toString(8)} has more than permission bits`);
  const norm = entry.path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (norm === '' || norm.includes('\0')) fail('bad path');
  // Directories end with "/", as GNU tar writes them.
  const path = utf8.encode(entry.type === 'dir' ? `${norm}/` : norm);
  const link = utf8.encode(entry.linkTarget ?? '');
  if (link.includes(0)) fail('bad link target');
  const uname = utf8.encode(entry.uname ?? '');
  const gname = utf8.encode(entry.gname ?? '');
  const mtime = entry.mtime ?? 0;

  const h = baseHeader(format);
  const pre: Uint8Array[] = [];
  const paxRecords: string[] = [];
  const ascii = (b: Uint8Array) => b.every((c) => c < 0x80);

  if (format === 'gnu') {
    if (path.length > 100) pre.push(extension('gnu', '././@LongLink', 'L', concatBytes([path, new Uint8Array(1)]), 0));
    if (link.length > 100) pre.push(extension('gnu', '././@LongLink', 'K', concatBytes([link, new Uint8Array(1)]), 0));
    putStr(h, 0, 100, path);
  } else {
    const split = splitUstar(path);
    if (format === 'ustar') {
      if (!split) fail('path too long for ustar (name 100, prefix 155 bytes)');
      if (link.length > 100) fail('link target longer than 100 bytes for ustar');
    }
    if (split && (format === 'ustar' || ascii(path))) {
      putStr(h, 0, 100, split.name);
      putStr(h, 345, 155, split.prefix);
    } else {
      paxRecords.push(paxRecord('path', dec.decode(path)));
      putStr(h, 0, 100, path);
    }
    if (format === 'pax' && (link.length > 100 || !ascii(link))) paxRecords.push(paxRecord('linkpath', dec.decode(link)));
  }
  putStr(h, 157, 100, link);
  const number = (at: number, len: number, key: string, v: number) => {
    if (putNum(h, at, len, v, format === 'gnu')) return;
    if (format === 'ustar') fail(`${key} ${v} does not fit a ustar header`);
    paxRecords.push(paxRecord(key, String(v)));
    putNum(h, at, len, 0, false);
  };
  putNum(h, 100, 8, entry.mode ?? (entry.type === 'dir' ? 0o755 : entry.type === 'symlink' ? 0o777 : 0o644), false);
  number(108, 8, 'uid', entry.uid ?? 0);
  number(116, 8, 'gid', entry.gid ?? 0);
  number(124, 12, 'size', size);
  number(136, 12, 'mtime', mtime);
  for (const [at, name, key] of [[265, uname, 'uname'], [297, gname, 'gname']] as const) {
    if (name.length > 32 || (format === 'pax' && !ascii(name))) {
      if (format !== 'pax') fail(`${key} longer than 32 bytes`);
      paxRecords.push(paxRecord(key, dec.decode(name)));
    } else putStr(h, at, 32, name);
  }
  if (entry.type === 'char' || entry.type === 'block') {
    for (const [at, v, key] of [[329, entry.devMajor ?? 0, 'devmajor'], [337, entry.devMinor ?? 0, 'devminor']] as const) {
      if (!putNum(h, at, 8, v, format === 'gnu')) fail(`${key} ${v} does not fit a tar header`);
    }
  } else if (format !== 'gnu') {
    putNum(h, 329, 8, 0, false);
    putNum(h, 337, 8, 0, false);
  }
  h[156] = FLAG_OF[entry.type].charCodeAt(0);
  finishHeader(h);
  if (paxRecords.length) {
    // GNU tar's default name for the pax entry, without its process id: deterministic.
    const slash = norm.lastIndexOf('/');
    const paxName = `${slash < 0 ? '.' : norm.slice(0, slash)}/PaxHeaders/${norm.slice(slash + 1)}`;
    const nameBytes = utf8.encode(paxName);
    pre.push(extension('pax', dec.decode(nameBytes.length > 100 ? nameBytes.subarray(nameBytes.length - 100) : nameBytes).replace(/^\uFFFD+/, ''), 'x', utf8.encode(paxRecords.join('')), Math.max(0, Math.min(mtime, OCTAL_MAX(12)))));
  }
  return concatBytes([...pre, h]);
}

/** Zeros from the end of `size` bytes of data to the next block boundary. */
export function tarPadding(size: number): Uint8Array {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

/** A whole archive in memory: every entry's headers, data and padding, then TAR_END. */
export function writeTar(entries: Iterable<TarWriteEntry>, options: { format?: TarFormat } = {}): Uint8Array {
  const format = options.format ?? 'gnu';
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    if (e.type === 'file' && !e.data && e.size) throw new PhotonError('E_TAR', `${JSON.stringify(e.path)}: writeTar needs the data of every file`);
    parts.push(tarEntryHeader(e, format));
    if (e.type === 'file' && e.data?.length) parts.push(e.data, tarPadding(e.data.length));
  }
  parts.push(TAR_END);
  return concatBytes(parts);
}

