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
import { type Header, type HeaderValue, REGION_IMMUTABLE, TagType, assembleHeader, layoutEntries, parseHeader } from '../formats/rpm-header.ts';
import { TAG } from './tags.ts';

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
  for (const t of extra.keys()) {
    if (header.entries.has(t) || t === header.region) throw new PhotonError('E_RPM_HEADER', `tag ${t} is already in the header`);
  }
  const { index, data, end } = layoutEntries(extra, rdl);
  return assembleHeader(ril + extra.size, end, [raw.subarray(8, 8 + ril * 16), index, raw.subarray(8 + ril * 16, 8 + ril * 16 + rdl), ...data]);
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
