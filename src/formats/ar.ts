/**
 * Unix `ar` archives, the container of Debian .deb files (debian-binary, control.tar.*,
 * data.tar.*) and of static libraries.
 *
 * The file starts with "!<arch>\n"; each member is a 60-byte header then its data, padded with
 * "\n" to an even offset. Header fields are space-padded ASCII:
 *
 * | offset | size | meaning                     |
 * |--------|------|-----------------------------|
 * | 0      | 16   | name                        |
 * | 16     | 12   | mtime, decimal              |
 * | 28     | 6    | uid, decimal                |
 * | 34     | 6    | gid, decimal                |
 * | 40     | 8    | mode, octal                 |
 * | 48     | 10   | size, decimal               |
 * | 58     | 2    | "`\n"                       |
 *
 * Names: dpkg writes them bare ("data.tar.xz"); GNU ar ends them with "/" so that names may
 * contain spaces, keeps longer ones in a "//" member and refers to them as "/OFFSET"; BSD ar
 * writes "#1/LEN" and puts the name in front of the data (LEN counted in the size). The symbol
 * indexes ("/", "/SYM64/", "__.SYMDEF…") are not members anyone extracts, so they are skipped,
 * as `ar t` does.
 */
import { concatBytes } from './_bytes.ts';
import { PhotonError } from '../util/errors.ts';

export interface ArMember {
  name: string;
  mtime: number;
  uid: number;
  gid: number;
  mode: number;
  size: number;
  /** A view into the archive's bytes, not a copy. */
  data: Uint8Array;
}

/** What writeAr needs: the rest defaults to what `ar D` (deterministic mode) writes. */
export interface ArWriteMember {
  name: string;
  data: Uint8Array;
  mtime?: number;
  uid?: number;
  gid?: number;
  mode?: number;
}

export const AR_MAGIC = '!<arch>\n';
const HEADER = 60;
const text = new TextDecoder('utf-8');
const ascii = new TextEncoder();

export function readAr(bytes: Uint8Array, file?: string): ArMember[] {
  const fail = (msg: string): never => {
    throw new PhotonError('E_AR', `ar archive: ${msg}`, file ? { file } : {});
  };
  if (bytes.length < 8 || text.decode(bytes.subarray(0, 8)) !== AR_MAGIC) fail('not an ar archive (no !<arch> magic)');
  const members: ArMember[] = [];
  let longNames: Uint8Array | undefined;
  let pos = 8;
  while (pos < bytes.length) {
    // Some writers pad the end of the archive with a lone newline.
    if (pos + 1 === bytes.length && bytes[pos] === 0x0a) break;
    if (pos + HEADER > bytes.length) fail(`truncated member header at offset ${pos}`);
    const h = bytes.subarray(pos, pos + HEADER);
    if (h[58] !== 0x60 || h[59] !== 0x0a) fail(`bad member header at offset ${pos}`);
    const field = (at: number, len: number) => text.decode(h.subarray(at, at + len)).trimEnd();
    const num = (at: number, len: number, radix: 10 | 8, what: string): number => {
      const s = field(at, len);
      if (s === '') return 0;
      if (!(radix === 10 ? /^\d+$/ : /^[0-7]+$/).test(s)) fail(`bad ${what} ${JSON.stringify(s)} at offset ${pos}`);
      return parseInt(s, radix);
    };
    const rawName = field(0, 16);
    const size = num(48, 10, 10, 'size');
    const start = pos + HEADER;
    if (start + size > bytes.length) fail(`member ${JSON.stringify(rawName)} at offset ${pos}: truncated data`);
    let data = bytes.subarray(start, start + size);
    pos = start + size + (size % 2);
    let name = rawName;
    if (rawName === '/' || rawName === '/SYM64/' || rawName === '__.SYMDEF' || rawName === '__.SYMDEF SORTED') continue;
    if (rawName === '//') {
      longNames = data;
      continue;
    }
    const gnuLong = /^\/(\d+)$/.exec(rawName);
    const bsdLong = /^#1\/(\d+)$/.exec(rawName);
    if (gnuLong) {
      if (!longNames) fail(`member name ${rawName} but no // name table before it`);
      const off = Number(gnuLong[1]);
      if (off >= longNames!.length) fail(`member name ${rawName} points past the name table`);
      let end = longNames!.indexOf(0x0a, off);
      if (end < 0) end = longNames!.length;
      name = text.decode(longNames!.subarray(off, end));
      if (name.endsWith('/')) name = name.slice(0, -1);
    } else if (bsdLong) {
      const len = Number(bsdLong[1]);
      if (len > data.length) fail(`member name ${rawName} is longer than its data`);
      name = text.decode(data.subarray(0, len)).replace(/\0+$/, '');
      data = data.subarray(len);
      if (name === '__.SYMDEF' || name === '__.SYMDEF SORTED') continue;
    } else if (name.endsWith('/')) {
      name = name.slice(0, -1);
    }
    if (name === '') fail(`member with an empty name at offset ${start - HEADER}`);
    members.push({
      name,
      mtime: num(16, 12, 10, 'mtime'),
      uid: num(28, 6, 10, 'uid'),
      gid: num(34, 6, 10, 'gid'),
      mode: num(40, 8, 8, 'mode'),
      size: data.length,
      data,
    });
  }
  return members;
}

/**
 * Writes a GNU-style archive: names end with "/", names longer than 15 bytes go in a "//"
 * table. No symbol index: this is for packages, not static libraries.
 */
export function writeAr(members: Iterable<ArWriteMember>): Uint8Array {
  const list = [...members];
  const nameBytes = list.map((m) => ascii.encode(m.name));
  let table = '';
  const headerNames = list.map((m, i) => {
    if (m.name === '' || /[/\n\0]/.test(m.name)) throw new PhotonError('E_AR', `cannot store member name ${JSON.stringify(m.name)} in an ar archive`);
    if (nameBytes[i]!.length <= 15) return m.name + '/';
    const ref = `/${ascii.encode(table).length}`;
    table += m.name + '/\n';
    return ref;
  });
  const field = (v: string, len: number, what: string): string => {
    if (ascii.encode(v).length > len) throw new PhotonError('E_AR', `${what} ${v} does not fit an ar header`);
    return v.padEnd(len, ' ');
  };
  const header = (name: string, m: { mtime?: number; uid?: number; gid?: number; mode?: number }, size: number): Uint8Array => {
    const num = (n: number | undefined, def: number, len: number, radix: number, what: string) => {
      const v = n ?? def;
      if (!Number.isSafeInteger(v) || v < 0) throw new PhotonError('E_AR', `${name}: ${what} ${v} is not a non-negative integer`);
      return field(v.toString(radix), len, `${name}: ${what}`);
    };
    return ascii.encode(
      field(name, 16, 'member name') +
        num(m.mtime, 0, 12, 10, 'mtime') +
        num(m.uid, 0, 6, 10, 'uid') +
        num(m.gid, 0, 6, 10, 'gid') +
        num(m.mode, 0o100644, 8, 8, 'mode') +
        num(size, 0, 10, 10, 'size') +
        '`\n',
    );
  };
  const parts: Uint8Array[] = [ascii.encode(AR_MAGIC)];
  const add = (h: Uint8Array, data: Uint8Array) => {
    parts.push(h, data);
    if (data.length % 2) parts.push(ascii.encode('\n'));
  };
  if (table) {
    const t = ascii.encode(table);
    // GNU ar writes the name table's header with the other fields blank.
    add(ascii.encode('//'.padEnd(48, ' ') + String(t.length).padEnd(10, ' ') + '`\n'), t);
  }
  list.forEach((m, i) => add(header(headerNames[i]!, m, m.data.length), m.data));
  return concatBytes(parts);
}
