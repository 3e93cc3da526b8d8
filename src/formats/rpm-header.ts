/**
 * The RPM header structure (rpm 4.x), shared by the signature header, the main header and the
 * rpmdb's blobs. A header is an index of typed entries followed by a data store:
 *
 * | offset | size   | meaning                                                         |
 * |--------|--------|-----------------------------------------------------------------|
 * | 0      | 3      | magic 8e ad e8 (only in package files, not in rpmdb blobs)      |
 * | 3      | 1      | header version, 1                                               |
 * | 4      | 4      | reserved, 0                                                     |
 * | 8      | 4      | il: number of index entries (big-endian, as every number here)  |
 * | 12     | 4      | dl: size of the data store                                      |
 * | 16     | 16*il  | entries: tag, type, offset into the store, count                |
 * | …      | dl     | data store; numbers aligned to their size                       |
 *
 * The first entry of a signed header is a "region" (tag 62 in signature headers, 63 in main
 * headers) whose 16-byte trailer, the last bytes of the region's data, points back at the
 * start of the index with a negative offset. Signatures and digests cover the bytes as
 * stored, so readers keep the original bytes beside the parsed entries.
 */
import { PhotonError } from '../util/errors.ts';

export const HEADER_MAGIC = Uint8Array.of(0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0);

export enum TagType {
  NULL = 0,
  CHAR = 1,
  INT8 = 2,
  INT16 = 3,
  INT32 = 4,
  INT64 = 5,
  STRING = 6,
  BIN = 7,
  STRING_ARRAY = 8,
  I18NSTRING = 9,
}

/** rpm refuses headers beyond these (HEADER_TAGS_MAX, HEADER_DATA_MAX); so do we. */
export const MAX_ENTRIES = 0xffff;
export const MAX_DATA = 0x0fffffff;

export const REGION_SIGNATURES = 62;
export const REGION_IMMUTABLE = 63;

export type NumberType = TagType.CHAR | TagType.INT8 | TagType.INT16 | TagType.INT32 | TagType.INT64;

/**
 * One entry's value. INT64 values are JS numbers: rpm uses them for sizes, far below 2^53.
 * Strings are decoded as UTF-8; code that needs the exact stored bytes uses the header's `raw`.
 */
export type HeaderValue =
  | { type: NumberType; value: number[] }
  | { type: TagType.STRING; value: string }
  | { type: TagType.STRING_ARRAY | TagType.I18NSTRING; value: string[] }
  | { type: TagType.BIN; value: Uint8Array }
  | { type: TagType.NULL; value: null };

export interface Header {
  /** Entries by tag, in index order (region entries are not included). */
  entries: Map<number, HeaderValue>;
  /** The region tag this header was read with, if it had one. */
  region: number | undefined;
  /** The header's bytes exactly as stored, without the 8-byte magic prefix (il, dl, index, data). */
  raw: Uint8Array;
}

/** Each type's data alignment within the store. */
export const ALIGN: Record<TagType, number> = {
  [TagType.NULL]: 1, [TagType.CHAR]: 1, [TagType.INT8]: 1, [TagType.INT16]: 2, [TagType.INT32]: 4,
  [TagType.INT64]: 8, [TagType.STRING]: 1, [TagType.BIN]: 1, [TagType.STRING_ARRAY]: 1, [TagType.I18NSTRING]: 1,
};

const utf8 = new TextDecoder('utf-8');
const utf8enc = new TextEncoder();

export interface ParseOptions {
  /** The header is preceded by the 8-byte magic (package files), not (rpmdb blobs). */
  magic: boolean;
  /** Named in error messages. */
  file?: string;
  /** What the header is, for error messages: "signature header", "header". */
  what?: string;
}

/**
 * Parses the header starting at `offset`. Every count, offset and string is bounds-checked,
 * so a hostile file fails with E_RPM_HEADER rather than reading outside its data.
 */
export function parseHeader(buf: Uint8Array, offset: number, opts: ParseOptions): { header: Header; end: number } {
  const what = opts.what ?? 'header';
  const fail = (msg: string): never => {
    throw new PhotonError('E_RPM_HEADER', `${what}: ${msg}`, opts.file ? { file: opts.file } : {});
  };
  let pos = offset;
  if (opts.magic) {
    if (buf.length < pos + 16) fail('truncated');
    for (let i = 0; i < 3; i++) if (buf[pos + i] !== HEADER_MAGIC[i]) fail('bad magic');
    if (buf[pos + 3] !== 1) fail(`unsupported header version ${buf[pos + 3]}`);
    pos += 8;
  }
  if (buf.length < pos + 8) fail('truncated');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const il = dv.getUint32(pos);
  const dl = dv.getUint32(pos + 4);
  if (il < 1 || il > MAX_ENTRIES) fail(`absurd index entry count ${il}`);
  if (dl > MAX_DATA) fail(`absurd data size ${dl}`);
  const indexStart = pos + 8;
  const dataStart = indexStart + il * 16;
  const end = dataStart + dl;
  if (end > buf.length) fail(`truncated (needs ${end - offset} bytes, has ${buf.length - offset})`);

  const entries = new Map<number, HeaderValue>();
  let region: number | undefined;
  for (let i = 0; i < il; i++) {
    const e = indexStart + i * 16;
    const tag = dv.getUint32(e);
    const type = dv.getUint32(e + 4);
    const off = dv.getInt32(e + 8);
    const count = dv.getUint32(e + 12);
    if (type > TagType.I18NSTRING) fail(`tag ${tag}: unknown type ${type}`);
    if (off < 0 || off > dl) fail(`tag ${tag}: offset ${off} outside the data (${dl} bytes)`);
    if (count > dl && type !== TagType.NULL) fail(`tag ${tag}: absurd count ${count}`);
    if (i === 0 && (tag === REGION_SIGNATURES || tag === REGION_IMMUTABLE || tag === 61)) {
      if (type !== TagType.BIN || count !== 16 || off + 16 > dl) fail(`region tag ${tag}: malformed`);
      const t = dataStart + off;
      const trailerOff = dv.getInt32(t + 8);
      if (dv.getUint32(t) !== tag || dv.getUint32(t + 4) !== TagType.BIN || dv.getUint32(t + 12) !== 16) {
        fail(`region tag ${tag}: bad trailer`);
      }
      if (trailerOff > 0 || -trailerOff % 16 !== 0 || -trailerOff / 16 > il) fail(`region tag ${tag}: bad trailer offset`);
      region = tag;
      continue;
    }
    entries.set(tag, readValue(buf, dv, dataStart, dl, off, type as TagType, count, (m) => fail(`tag ${tag}: ${m}`)));
  }
  const start = opts.magic ? offset + 8 : offset;
  return { header: { entries, region, raw: buf.subarray(start, end) }, end };
}

function readValue(
  buf: Uint8Array, dv: DataView, dataStart: number, dl: number, off: number, type: TagType, count: number,
  fail: (m: string) => never,
): HeaderValue {
  const need = (n: number) => {
    if (off + n > dl) fail(`data runs past the end of the store`);
  };
  const at = dataStart + off;
  const readStrings = (n: number): string[] => {
    const out: string[] = [];
    let p = at;
    const limit = dataStart + dl;
    for (let k = 0; k < n; k++) {
      const z = buf.indexOf(0, p);
      if (z < 0 || z >= limit) fail('unterminated string');
      out.push(utf8.decode(buf.subarray(p, z)));
      p = z + 1;
    }
    return out;
  };
  switch (type) {
    case TagType.NULL:
      return { type, value: null };
    case TagType.CHAR:
    case TagType.INT8:
      need(count);
      return { type, value: Array.from(buf.subarray(at, at + count)) };
    case TagType.INT16: {
      need(count * 2);
      const v = new Array<number>(count);
      for (let k = 0; k < count; k++) v[k] = dv.getUint16(at + k * 2);
      return { type, value: v };
    }
    case TagType.INT32: {
      need(count * 4);
      const v = new Array<number>(count);
      for (let k = 0; k < count; k++) v[k] = dv.getUint32(at + k * 4);
      return { type, value: v };
    }
    case TagType.INT64: {
      need(count * 8);
      const v = new Array<number>(count);
      for (let k = 0; k < count; k++) v[k] = Number(dv.getBigUint64(at + k * 8));
      return { type, value: v };
    }
    case TagType.STRING:
      if (count !== 1) fail(`string with count ${count}`);
      return { type, value: readStrings(1)[0]! };
    case TagType.STRING_ARRAY:
    case TagType.I18NSTRING:
      return { type, value: readStrings(count) };
    case TagType.BIN:
      need(count);
      return { type, value: buf.slice(at, at + count) };
  }
}

/** A value's bytes in the data store and its index count. */
export function encodeValue(v: HeaderValue): { bytes: Uint8Array; count: number } {
  switch (v.type) {
    case TagType.NULL:
      return { bytes: new Uint8Array(0), count: 0 };
    case TagType.CHAR:
    case TagType.INT8:
      return { bytes: Uint8Array.from(v.value), count: v.value.length };
    case TagType.INT16:
    case TagType.INT32:
    case TagType.INT64: {
      const size = v.type === TagType.INT16 ? 2 : v.type === TagType.INT32 ? 4 : 8;
      const bytes = new Uint8Array(v.value.length * size);
      const dv = new DataView(bytes.buffer);
      v.value.forEach((n, k) => {
        if (v.type === TagType.INT16) dv.setUint16(k * 2, n);
        else if (v.type === TagType.INT32) dv.setUint32(k * 4, n >>> 0);
        else dv.setBigUint64(k * 8, BigInt(n));
      });
      return { bytes, count: v.value.length };
    }
    case TagType.STRING:
      return { bytes: utf8enc.encode(v.value + '\0'), count: 1 };
    case TagType.STRING_ARRAY:
    case TagType.I18NSTRING:
      return { bytes: utf8enc.encode(v.value.map((s) => s + '\0').join('')), count: v.value.length };
    case TagType.BIN:
      return { bytes: v.value, count: v.value.length };
  }
}

/**
 * Lays out entries in ascending tag order, as rpm does, with their data starting at store offset
 * `dataStart`, each value aligned to its type's size. Returns the index records and the data
 * (padding included) that follows `dataStart`.
 */
export function layoutEntries(entries: ReadonlyMap<number, HeaderValue>, dataStart: number): { index: Uint8Array; data: Uint8Array[]; end: number } {
  const tags = [...entries.keys()].sort((a, b) => a - b);
  const index = new Uint8Array(tags.length * 16);
  const idv = new DataView(index.buffer);
  const data: Uint8Array[] = [];
  let dl = dataStart;
  tags.forEach((tag, slot) => {
    const v = entries.get(tag)!;
    const { bytes, count } = encodeValue(v);
    const pad = (ALIGN[v.type] - (dl % ALIGN[v.type])) % ALIGN[v.type];
    if (pad) {
      data.push(new Uint8Array(pad));
      dl += pad;
    }
    idv.setUint32(slot * 16, tag);
    idv.setUint32(slot * 16 + 4, v.type);
    idv.setUint32(slot * 16 + 8, dl);
    idv.setUint32(slot * 16 + 12, count);
    data.push(bytes);
    dl += bytes.length;
  });
  return { index, data, end: dl };
}

/** Concatenates il, dl, the index parts and the data parts into one header (no magic). */
export function assembleHeader(il: number, dl: number, parts: readonly Uint8Array[], magic = false): Uint8Array {
  if (il > MAX_ENTRIES || dl > MAX_DATA) throw new PhotonError('E_RPM_HEADER', `header too large (${il} entries, ${dl} bytes)`);
  const prefix = magic ? 8 : 0;
  const out = new Uint8Array(prefix + 8 + il * 16 + dl);
  if (magic) out.set(HEADER_MAGIC, 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(prefix, il);
  dv.setUint32(prefix + 4, dl);
  let p = prefix + 8;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

export interface WriteOptions {
  /** Prefix the 8-byte magic (package files) or not (rpmdb blobs). */
  magic: boolean;
  /** Wrap the entries in a region with this tag (62 signature header, 63 main header). */
  region?: number;
}

/** Serialises a header; a region's trailer goes last, so that it closes the immutable data. */
export function writeHeader(entries: ReadonlyMap<number, HeaderValue>, opts: WriteOptions): Uint8Array {
  const { index, data, end } = layoutEntries(entries, 0);
  if (opts.region === undefined) return assembleHeader(entries.size, end, [index, ...data], opts.magic);
  const il = entries.size + 1;
  const region = new Uint8Array(16);
  const rdv = new DataView(region.buffer);
  rdv.setUint32(0, opts.region);
  rdv.setUint32(4, TagType.BIN);
  rdv.setUint32(8, end);
  rdv.setUint32(12, 16);
  const trailer = new Uint8Array(16);
  const tdv = new DataView(trailer.buffer);
  tdv.setUint32(0, opts.region);
  tdv.setUint32(4, TagType.BIN);
  tdv.setInt32(8, -il * 16);
  tdv.setUint32(12, 16);
  return assembleHeader(il, end + 16, [region, index, ...data, trailer], opts.magic);
}

/** Typed accessors: undefined when the tag is absent, E_RPM_HEADER when it has another type. */
function wrongType(tag: number, v: HeaderValue, want: string): never {
  throw new PhotonError('E_RPM_HEADER', `tag ${tag} has type ${TagType[v.type]}, expected ${want}`);
}

export function getString(h: Header, tag: number): string | undefined {
  const v = h.entries.get(tag);
  if (!v) return undefined;
  if (v.type === TagType.STRING) return v.value;
  if (v.type === TagType.I18NSTRING || v.type === TagType.STRING_ARRAY) return v.value[0];
  return wrongType(tag, v, 'string');
}

export function getStrings(h: Header, tag: number): string[] {
  const v = h.entries.get(tag);
  if (!v) return [];
  if (v.type === TagType.STRING_ARRAY || v.type === TagType.I18NSTRING) return v.value;
  if (v.type === TagType.STRING) return [v.value];
  return wrongType(tag, v, 'string array');
}

export function getNumbers(h: Header, tag: number): number[] {
  const v = h.entries.get(tag);
  if (!v) return [];
  if (v.type >= TagType.CHAR && v.type <= TagType.INT64) return v.value as number[];
  return wrongType(tag, v, 'number');
}

export function getNumber(h: Header, tag: number): number | undefined {
  return getNumbers(h, tag)[0];
}

export function getBytes(h: Header, tag: number): Uint8Array | undefined {
  const v = h.entries.get(tag);
  if (!v) return undefined;
  if (v.type === TagType.BIN) return v.value;
  return wrongType(tag, v, 'binary');
}
