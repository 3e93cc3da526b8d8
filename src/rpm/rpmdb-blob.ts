/**
 * The header blob as rpm 4.18 stores it in the rpmdb's Packages table: the package's main header
 * with its immutable region (tag 63) byte for byte, followed by "dribble" entries that live
 * outside the region: the signature header's digests merged in (headerMergeLegacySigs) and the
 * install-time tags (psm.c dbAdd). No magic prefix.
 *
 * | part                | content                                                          |
 * |---------------------|------------------------------------------------------------------|
 * | il, dl              | region entries + dribble entries; region data + padding + dribble |
 * | index[0..ril)       | the package header's index, unchanged (offsets into region data) |
 * | index[ril..il)      | dribble entries in ascending tag order                           |
 * | data[0..rdl)        | the package header's data store, unchanged, ending in the trailer |
 * | data[rdl..dl)       | dribble values in index order, each aligned to its type's size   |
 *
 * The region's trailer keeps pointing at -ril*16, so rpm's region check and its SHA1HEADER /
 * SHA256HEADER check (over the region's bytes only) pass on the stored blob.
 */
import { PhotonError } from '../util/errors.ts';
import { type Header, type HeaderValue, MAX_DATA, MAX_ENTRIES, REGION_IMMUTABLE, TagType, parseHeader } from '../formats/rpm-header.ts';

/** Header tags this module reads or writes (rpmtag.h, rpm 4.18). */
export const TAG = {
  SIGSIZE: 257,
  SIGPGP: 259,
  SIGMD5: 261,
  SIGGPG: 262,
  SIGPGP5: 263,
  DSAHEADER: 267,
  RSAHEADER: 268,
  SHA1HEADER: 269,
  LONGSIGSIZE: 270,
  LONGARCHIVESIZE: 271,
  SHA256HEADER: 273,
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  INSTALLTIME: 1008,
  GROUP: 1016,
  ARCH: 1022,
  FILESIZES: 1028,
  FILESTATES: 1029,
  FILEMODES: 1030,
  FILERDEVS: 1033,
  FILEMTIMES: 1034,
  FILEDIGESTS: 1035,
  FILELINKTOS: 1036,
  FILEFLAGS: 1037,
  FILEUSERNAME: 1039,
  FILEGROUPNAME: 1040,
  ARCHIVESIZE: 1046,
  PROVIDENAME: 1047,
  REQUIREFLAGS: 1048,
  REQUIRENAME: 1049,
  CONFLICTNAME: 1054,
  TRIGGERNAME: 1066,
  OBSOLETENAME: 1090,
  INSTPREFIXES: 1099,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  INSTALLCOLOR: 1127,
  INSTALLTID: 1128,
  FILESIGNATURES: 5090,
  FILESIGNATURELENGTH: 5091,
  RECOMMENDNAME: 5046,
  SUGGESTNAME: 5049,
  SUPPLEMENTNAME: 5052,
  ENHANCENAME: 5055,
  FILETRIGGERNAME: 5069,
  FILETRIGGERINDEX: 5070,
  TRANSFILETRIGGERNAME: 5076,
  TRANSFILETRIGGERINDEX: 5077,
} as const;

/** rpmfileState: what rpm records per file in FILESTATES. */
export const FILE_STATE = { NORMAL: 0, REPLACED: 1, NOTINSTALLED: 2, NETSHARED: 3, WRONGCOLOR: 4, MISSING: -1 } as const;

/** Signature-header tags whose number changes when merged into the main header (rpm 4.18 package.c). */
const SIG_RENAME: ReadonlyMap<number, number> = new Map([
  [1000, TAG.SIGSIZE], [1002, TAG.SIGPGP], [1004, TAG.SIGMD5], [1005, TAG.SIGGPG], [1006, TAG.SIGPGP5],
  [1007, TAG.ARCHIVESIZE], [274, TAG.FILESIGNATURES], [275, TAG.FILESIGNATURELENGTH],
]);

/**
 * The signature entries rpm copies into the main header (headerMergeLegacySigs): renamed legacy
 * tags plus everything in 256..999, skipping tags the header already has, non-scalar numbers,
 * arrays or blobs of 16 KiB or more, and i18n strings.
 */
export function mergedSignatureEntries(signature: Header, main: Header): Map<number, HeaderValue> {
  const out = new Map<number, HeaderValue>();
  for (const [sigTag, v] of signature.entries) {
    const tag = SIG_RENAME.get(sigTag) ?? sigTag;
    if (!SIG_RENAME.has(sigTag) && !(sigTag >= 256 && sigTag < 1000)) continue;
    if (main.entries.has(tag) || out.has(tag)) continue;
    switch (v.type) {
      case TagType.NULL:
      case TagType.I18NSTRING:
        continue;
      case TagType.STRING_ARRAY:
      case TagType.BIN:
        if (v.value.length >= 16 * 1024) continue;
        break;
      case TagType.STRING:
        break;
      default:
        if (v.value.length !== 1) continue;
    }
    out.set(tag, v);
  }
  return out;
}

const ALIGN: Record<TagType, number> = {
  [TagType.NULL]: 1, [TagType.CHAR]: 1, [TagType.INT8]: 1, [TagType.INT16]: 2, [TagType.INT32]: 4,
  [TagType.INT64]: 8, [TagType.STRING]: 1, [TagType.BIN]: 1, [TagType.STRING_ARRAY]: 1, [TagType.I18NSTRING]: 1,
};

const utf8enc = new TextEncoder();

function encode(v: HeaderValue): { bytes: Uint8Array; count: number } {
  switch (v.type) {
    case TagType.NULL:
      return { bytes: new Uint8Array(0), count: 0 };
    case TagType.CHAR:
    case TagType.INT8:
      return { bytes: Uint8Array.from(v.value, (n) => n & 0xff), count: v.value.length };
    case TagType.INT16:
    case TagType.INT32:
    case TagType.INT64: {
      const size = ALIGN[v.type];
      const bytes = new Uint8Array(v.value.length * size);
      const dv = new DataView(bytes.buffer);
      v.value.forEach((n, k) => {
        if (size === 2) dv.setUint16(k * 2, n & 0xffff);
        else if (size === 4) dv.setUint32(k * 4, n >>> 0);
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
 * Appends `extra` entries after a header's bytes (`raw`: il, dl, index, data, no magic), as
 * rpm's headerExport lays out entries added after import. Tags already in `raw` are refused:
 * rpm would then hold two entries for one tag.
 */
export function appendEntries(raw: Uint8Array, extra: ReadonlyMap<number, HeaderValue>): Uint8Array {
  const { header } = parseHeader(raw, 0, { magic: false, what: 'header blob' });
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const ril = dv.getUint32(0);
  const rdl = dv.getUint32(4);
  const tags = [...extra.keys()].sort((a, b) => a - b);
  for (const t of tags) {
    if (header.entries.has(t) || t === header.region) throw new PhotonError('E_RPM_HEADER', `tag ${t} is already in the header`);
  }
  const index = new Uint8Array(tags.length * 16);
  const idv = new DataView(index.buffer);
  const chunks: Uint8Array[] = [];
  let dl = rdl;
  tags.forEach((tag, slot) => {
    const v = extra.get(tag)!;
    const { bytes, count } = encode(v);
    const pad = (ALIGN[v.type] - (dl % ALIGN[v.type])) % ALIGN[v.type];
    if (pad) chunks.push(new Uint8Array(pad));
    dl += pad;
    idv.setUint32(slot * 16, tag);
    idv.setUint32(slot * 16 + 4, v.type);
    idv.setUint32(slot * 16 + 8, dl);
    idv.setUint32(slot * 16 + 12, count);
    chunks.push(bytes);
    dl += bytes.length;
  });
  const il = ril + tags.length;
  if (il > MAX_ENTRIES || dl > MAX_DATA) throw new PhotonError('E_RPM_HEADER', `header too large (${il} entries, ${dl} bytes)`);
  const out = new Uint8Array(8 + il * 16 + dl);
  const odv = new DataView(out.buffer);
  odv.setUint32(0, il);
  odv.setUint32(4, dl);
  out.set(raw.subarray(8, 8 + ril * 16), 8);
  out.set(index, 8 + ril * 16);
  let p = 8 + il * 16;
  out.set(raw.subarray(8 + ril * 16, 8 + ril * 16 + rdl), p);
  p += rdl;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

/** The two headers of a package file; src/rpm/package.ts's reader provides at least these. */
export interface PackageHeaders {
  signature: Header;
  header: Header;
}

export interface InstallStamp {
  /** Seconds since the epoch (INSTALLTIME). */
  installTime: number;
  /** Transaction id, by rpm's convention the transaction's start time (INSTALLTID). */
  tid: number;
  /** INSTALLCOLOR: the transaction's color; rpm on x86_64/aarch64 writes 3 (ELF32|ELF64). */
  color?: number;
  /** FILESTATES, one per file; all NORMAL when absent. */
  fileStates?: readonly number[];
}

/**
 * The blob rpm would store for `pkg` installed with `stamp`: the main header's immutable region
 * verbatim, then the merged signature entries and INSTALLTIME, FILESTATES, INSTALLCOLOR,
 * INSTALLTID, in tag order.
 */
export function buildInstalledHeader(pkg: PackageHeaders, stamp: InstallStamp): Uint8Array {
  const main = pkg.header;
  if (main.region !== REGION_IMMUTABLE) {
    throw new PhotonError('E_RPM_HEADER', 'package header has no immutable region; rpm cannot verify it once installed');
  }
  const extra = mergedSignatureEntries(pkg.signature, main);
  const nfiles = main.entries.get(TAG.BASENAMES)?.value;
  const fileCount = Array.isArray(nfiles) ? nfiles.length : 0;
  const states = stamp.fileStates ?? new Array<number>(fileCount).fill(FILE_STATE.NORMAL);
  if (states.length !== fileCount) {
    throw new PhotonError('E_RPM_HEADER', `${states.length} file states for ${fileCount} files`);
  }
  const put = (tag: number, v: HeaderValue) => {
    if (!main.entries.has(tag)) extra.set(tag, v);
  };
  if (fileCount > 0) put(TAG.FILESTATES, { type: TagType.CHAR, value: [...states] });
  put(TAG.INSTALLTID, { type: TagType.INT32, value: [stamp.tid] });
  put(TAG.INSTALLTIME, { type: TagType.INT32, value: [stamp.installTime] });
  put(TAG.INSTALLCOLOR, { type: TagType.INT32, value: [stamp.color ?? 3] });
  return appendEntries(main.raw, extra);
}
