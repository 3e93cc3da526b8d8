/**
 * A byte-level scanner for primary.xml that fills the column arrays of a PackagePool (pool.ts)
 * directly: no JS string is made for a name, EVR or dependency, only byte ranges hashed into a
 * StringPool.
 *
 * How it stays fast on 70 MB of XML:
 * - It works on the decompressed chunks as bytes. The unfinished tail of a chunk (an element cut
 *   in two) is copied in front of the next chunk, so a boundary may fall anywhere.
 * - Element and attribute names are interned in a small pool of their own whose first ids are
 *   the names RPM-md uses (NAMES below): recognising `<rpm:entry` is an integer compare.
 * - `<rpm:entry …/>` is 80 % of the elements and most of them recur (`libc6 >= 2.34`): the bytes
 *   of the whole attribute list are hashed in the same loop that finds the tag's end, looked up
 *   in a table of entries already seen, and only an unseen one is parsed (and validated). The
 *   entry's dependency id is then one integer per package.
 * - Entities are decoded only where an '&' was seen; UTF-8 is validated per chunk with
 *   node:buffer's isUtf8 (SIMD) and decoded only when a string is asked for.
 *
 * XML checks: tag nesting, attribute syntax, entity names, UTF-8, text outside the root element,
 * truncation; errors are PhotonError 'E_XML' with a line number, worded as XmlParser words them.
 */
import * as BufferModule from 'node:buffer';
import { RPMSENSE } from '../rpm/deps.ts';
import { PhotonError } from '../util/errors.ts';
import { StringPool, hashBytes } from './_strpool.ts';
import { toInt } from './_source.ts';
import { decodeEntities } from './xml.ts';

// Element and attribute names, interned first so that their ids are these constants (index + 1).
const NAMES = [
  'metadata', 'package', 'name', 'arch', 'version', 'checksum', 'summary', 'description', 'packager', 'url', 'time',
  'size', 'location', 'format', 'rpm:license', 'rpm:vendor', 'rpm:group', 'rpm:buildhost', 'rpm:sourcerpm',
  'rpm:header-range', 'rpm:provides', 'rpm:requires', 'rpm:conflicts', 'rpm:obsoletes', 'rpm:recommends',
  'rpm:suggests', 'rpm:supplements', 'rpm:enhances', 'rpm:entry', 'file',
  'epoch', 'ver', 'rel', 'flags', 'pre', 'type', 'href', 'xml:base', 'build', 'installed', 'archive', 'start', 'end',
  'packages',
] as const;
const E_METADATA = 1, E_PACKAGE = 2, E_NAME = 3, E_ARCH = 4, E_VERSION = 5, E_CHECKSUM = 6, E_SUMMARY = 7;
const E_DESCRIPTION = 8, E_PACKAGER = 9, E_URL = 10, E_TIME = 11, E_SIZE = 12, E_LOCATION = 13;
const E_LICENSE = 15, E_VENDOR = 16, E_GROUP = 17, E_BUILDHOST = 18, E_SOURCERPM = 19, E_HEADER_RANGE = 20;
const E_PROVIDES = 21, E_ENHANCES = 28, E_ENTRY = 29, E_FILE = 30;
const A_EPOCH = 31, A_VER = 32, A_REL = 33, A_FLAGS = 34, A_PRE = 35, A_TYPE = 36, A_HREF = 37, A_XMLBASE = 38;
const A_BUILD = 39, A_INSTALLED = 40, A_ARCHIVE = 41, A_START = 42, A_END = 43, A_PACKAGES = 44;
const A_NAME = E_NAME, A_FILE = E_FILE, A_PACKAGE = E_PACKAGE;

// NAMES by first byte (for 'rpm:…' by the byte after the prefix), so that a name is recognised
// by comparing it in place with a candidate or two: no separate scan for its end, no hashing.
const NAME_BYTES = NAMES.map((n) => Buffer.from(n, 'latin1'));
const BY_FIRST: number[][] = Array.from({ length: 256 }, () => []);
const BY_RPM: number[][] = Array.from({ length: 256 }, () => []);
NAMES.forEach((n, i) => (n.startsWith('rpm:') ? BY_RPM[n.charCodeAt(4)]! : BY_FIRST[n.charCodeAt(0)]!).push(i + 1));

function isNameChar(c: number): boolean {
  return c > GT || (c >= 45 && c <= 58 && c !== SLASH);
}

/**
 * The id of the name in NAMES that starts at b[at] and ends before a non-name byte, or 0.
 * `nameEnd` receives where it ends.
 */
let nameEnd = 0;
function knownName(b: Uint8Array, at: number, n: number): number {
  const c = b[at]!;
  const ids = c === 114 && at + 4 < n && b[at + 3] === 58 && b[at + 1] === 112 && b[at + 2] === 109 ? BY_RPM[b[at + 4]!]! : BY_FIRST[c]!;
  for (let j = 0; j < ids.length; j++) {
    const id = ids[j]!;
    const nb = NAME_BYTES[id - 1]!;
    const len = nb.length;
    if (at + len >= n) continue;
    let k = 1;
    while (k < len && nb[k] === b[at + k]) k++;
    if (k === len && !isNameChar(b[at + len]!)) {
      nameEnd = at + len;
      return id;
    }
  }
  return 0;
}

/** Integer columns of a package row (string ids), PackagePool reads them by these offsets. */
export const F = {
  NAME: 0, ARCH: 1, EPOCH: 2, VERSION: 3, RELEASE: 4, EVR: 5, CHECKSUM_TYPE: 6, PKGID: 7, SUMMARY: 8,
  DESCRIPTION: 9, PACKAGER: 10, URL: 11, LOCATION: 12, LOCATION_BASE: 13, LICENSE: 14, VENDOR: 15, GROUP: 16,
  BUILDHOST: 17, SOURCERPM: 18,
} as const;
export const NI = 19;
/** Number columns of a package row (Float64: sizes pass 4 GB). */
export const N = {
  TIME_FILE: 0, TIME_BUILD: 1, SIZE_PACKAGE: 2, SIZE_INSTALLED: 3, SIZE_ARCHIVE: 4, HEADER_START: 5, HEADER_END: 6,
} as const;
export const NN = 7;
export const DEP_KIND_COUNT = 8;

/** Text elements → [column, interned]. Repeating values are interned; per-package ones are not. */
const TEXT_COLUMN = new Int8Array(NAMES.length + 1).fill(-1);
const TEXT_INTERNED = new Uint8Array(NAMES.length + 1);
for (const [e, f, interned] of [
  [E_NAME, F.NAME, 1], [E_ARCH, F.ARCH, 1], [E_CHECKSUM, F.PKGID, 0], [E_SUMMARY, F.SUMMARY, 0],
  [E_DESCRIPTION, F.DESCRIPTION, 0], [E_PACKAGER, F.PACKAGER, 1], [E_URL, F.URL, 0], [E_LICENSE, F.LICENSE, 1],
  [E_VENDOR, F.VENDOR, 1], [E_GROUP, F.GROUP, 1], [E_BUILDHOST, F.BUILDHOST, 1], [E_SOURCERPM, F.SOURCERPM, 1],
  [E_FILE, -2, 1],
] as const) {
  TEXT_COLUMN[e] = f;
  TEXT_INTERNED[e] = interned;
}

/** What the scanner built; PackagePool wraps it. Arrays may be longer than their fill. */
export interface PoolData {
  strings: StringPool;
  count: number;
  /** NI string ids per package (columns F). */
  ints: Int32Array;
  /** NN numbers per package (columns N). */
  nums: Float64Array;
  /** depIndex[8 p + k] … depIndex[8 p + k + 1]: package p's dependencies of kind k in depList. */
  depIndex: Uint32Array;
  /** Dependency ids, grouped per package and kind. */
  depList: Int32Array;
  /** The distinct dependencies: name id, RPMSENSE flags, EVR id ('' when unversioned). */
  depName: Int32Array;
  depFlags: Int32Array;
  depEvr: Int32Array;
  depCount: number;
  /** fileIndex[p] … fileIndex[p + 1]: package p's files in filePath (string ids) / fileType. */
  fileIndex: Uint32Array;
  filePath: Int32Array;
  /** 0 file, 1 dir, 2 ghost. */
  fileType: Uint8Array;
}

const LT = 60, GT = 62, SLASH = 47, EQ = 61, QUOT = 34, APOS = 39, AMP = 38, BANG = 33, QUESTION = 63;
const NL = 10;

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

const nativeIsUtf8 = (BufferModule as { isUtf8?: (b: Uint8Array) => boolean }).isUtf8;
const fatalDecoder = new TextDecoder('utf-8', { fatal: true });
function validUtf8(b: Uint8Array): boolean {
  if (nativeIsUtf8) return nativeIsUtf8(b);
  try {
    fatalDecoder.decode(b);
    return true;
  } catch {
    return false;
  }
}

function grow<T extends Int32Array | Uint32Array | Float64Array | Uint8Array>(a: T, need: number, exact = false): T {
  if (need <= a.length) return a;
  let size = exact ? need : a.length * 2;
  while (size < need) size *= 2;
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}

const EMPTY = Buffer.alloc(0);

export class PrimaryScanner {
  readonly data: PoolData;
  /** The text being scanned: the carried tail of the last chunk and the new chunk. */
  private b: Buffer = EMPTY;
  private n = 0;
  private pos = 0;
  /** Lines before b[base]: error positions count newlines from there. */
  private base = 0;
  private linesBefore = 1;
  private stack = new Int32Array(64);
  private depth = 0;
  private sawRoot = false;
  private readonly file: string | undefined;

  // The current tag's attributes: name id, value start/end in b, and whether the value has '&'.
  private aId = new Int32Array(16);
  private aS = new Int32Array(16);
  private aE = new Int32Array(16);
  private aAmp = new Uint8Array(16);
  private aN = 0;
  private selfClosing = false;
  private readonly names = new StringPool(1024, 64);

  // Text of the element being collected (0: none); collected only for TEXT_COLUMN elements.
  private textEl = 0;
  private textDepth = 0;
  private textAmp = false;
  private scratch = Buffer.allocUnsafe(1024);
  private scratchLen = 0;
  private evrBuf = Buffer.allocUnsafe(256);

  // The package being read.
  private inPkg = false;
  private row = 0;
  private kind = -1;
  private kindEl = 0;
  private fileType = 0;
  /** (kind, dep id) pairs of the current package, sorted into kind order when it ends. */
  private pend = new Int32Array(256);
  private np = 0;
  private cap = 0;
  private depLen = 0;
  private fileLen = 0;

  // Entries seen so far: the raw bytes of their attribute list → dependency id.
  private readonly entryKeys = new StringPool(1 << 14, 1 << 9);
  private entryDep = new Int32Array(1 << 9);

  constructor(options: { file?: string | undefined; strings?: StringPool | undefined } = {}) {
    this.file = options.file;
    for (const n of NAMES) this.names.internString(n);
    this.data = {
      strings: options.strings ?? new StringPool(1 << 14, 1 << 9),
      count: 0,
      ints: new Int32Array(0),
      nums: new Float64Array(0),
      depIndex: new Uint32Array(1),
      depList: new Int32Array(1 << 10),
      depName: new Int32Array(1 << 9),
      depFlags: new Int32Array(1 << 9),
      depEvr: new Int32Array(1 << 9),
      depCount: 0,
      fileIndex: new Uint32Array(1),
      filePath: new Int32Array(1 << 12),
      fileType: new Uint8Array(1 << 12),
    };
    this.reserve(16);
  }

  // --- feeding --------------------------------------------------------------------------------

  write(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    // Always a Buffer, so that the hot loops see one kind of array and indexOf is node's memchr.
    const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const tail = this.n - this.pos;
    if (tail === 0) {
      this.run(c, 0);
      return;
    }
    // The last chunk ended inside a token. Rather than copying the whole new chunk behind it,
    // finish that token in a small bridge: the tail plus the new chunk up to its first '<…>',
    // which is where the token (or the text before it) ends unless a comment, CDATA or a raw '>'
    // in an attribute value gets in the way; then fall back to copying.
    const lt = c.indexOf(LT);
    let cut = lt < 0 ? -1 : c.indexOf(GT, lt);
    cut = cut < 0 ? c.length : cut + 1;
    const bridge = Buffer.allocUnsafe(tail + cut);
    this.b.copy(bridge, 0, this.pos, this.n);
    c.copy(bridge, tail, 0, cut);
    this.run(bridge, 0);
    const left = this.n - this.pos;
    if (left > 0) {
      const rest = Buffer.allocUnsafe(left + c.length - cut);
      bridge.copy(rest, 0, this.pos, this.n);
      c.copy(rest, left, cut);
      this.run(rest, 0);
    } else if (cut < c.length) this.run(c, cut);
  }

  /** Scans b from `from`; what is left unfinished stays as b[pos, n). */
  private run(b: Buffer, from: number): void {
    this.b = b;
    this.n = b.length;
    this.pos = from;
    this.base = from;
    this.parse();
    // Every token ends with '>', so the bytes consumed end on a character boundary; each byte is
    // validated once, here, before the load is allowed to succeed.
    if (this.pos > from && !validUtf8(b.subarray(from, this.pos))) {
      throw this.error('invalid UTF-8 in input', from + firstBadUtf8(b.subarray(from, this.pos), this.pos - from));
    }
    this.linesBefore += countLines(b, from, this.pos);
    this.base = this.pos;
  }

  /** Signals the end of input; throws if the document is incomplete. Returns the data. */
  end(): PoolData {
    const b = this.b;
    const n = this.n;
    let p = this.pos;
    if (!validUtf8(b.subarray(p, n))) throw this.error('invalid UTF-8 in input', p + firstBadUtf8(b.subarray(p, n), n - p));
    while (p < n && isSpace(b[p]!)) p++;
    if (p < n) {
      if (b[p] === LT) throw this.error('unexpected end of input inside markup', n);
      if (this.depth === 0) throw this.error('text outside the root element', p);
    }
    if (this.depth > 0) {
      throw this.error(`unexpected end of input: <${this.names.str(this.stack[this.depth - 1]!)}> is not closed`, n);
    }
    if (!this.sawRoot) throw this.error('no root element', n);
    const d = this.data;
    d.depIndex[8 * d.count] = this.depLen;
    d.fileIndex[d.count] = this.fileLen;
    d.strings.trim();
    return d;
  }

  // --- errors ---------------------------------------------------------------------------------

  private error(message: string, offset: number): PhotonError {
    const line = this.linesBefore + countLines(this.b, this.base, Math.min(offset, this.n));
    return new PhotonError('E_XML', `${message} at line ${line}`, this.file === undefined ? {} : { file: this.file });
  }

  private decode(s: number, e: number): string {
    const text = this.b.toString('utf8', s, e);
    const line = (k: number): number => this.linesBefore + countLines(this.b, this.base, s) + text.slice(0, k).split('\n').length - 1;
    return decodeEntities(text, (k) => ` at line ${line(k)}`);
  }

  // --- tokenizer ------------------------------------------------------------------------------

  private parse(): void {
    const b = this.b;
    const n = this.n;
    let p = this.pos;
    while (p < n) {
      // Text up to the next '<': kept only inside a text element, and checked for '&' there.
      let lt = p;
      if (this.textEl !== 0) {
        let amp = false;
        for (let c = b[lt]; lt < n && c !== LT; c = b[++lt]) if (c === AMP) amp = true;
        this.textAmp = amp;
      } else {
        while (lt < n && b[lt] !== LT) lt++;
        if (this.depth === 0 && lt > p) {
          for (let k = p; k < lt; k++) if (!isSpace(b[k]!)) throw this.error('text outside the root element', k);
        }
      }
      if (lt + 1 >= n) break;
      const c = b[lt + 1]!;
      let next: number;
      if (c === SLASH) next = this.closeTag(p, lt);
      else if (c === BANG) next = this.bang(p, lt);
      else if (c === QUESTION) {
        next = indexOf2(b, QUESTION, GT, lt + 2, n);
        if (next >= 0) {
          if (this.textEl !== 0) this.appendText(p, lt);
          next += 2;
        }
      } else next = this.openTag(p, lt);
      if (next < 0) break;
      p = next;
    }
    this.pos = p;
  }

  /** `p`: where the text before the tag starts; `lt`: the tag. Returns the offset after it or -1. */
  private closeTag(p: number, lt: number): number {
    const b = this.b;
    const n = this.n;
    const top = this.depth > 0 ? this.stack[this.depth - 1]! : -1;
    let gt = -1;
    if (top > 0 && top <= NAMES.length) {
      const nb = NAME_BYTES[top - 1]!;
      const len = nb.length;
      if (lt + 2 + len < n && b[lt + 2 + len] === GT) {
        let k = 0;
        while (k < len && nb[k] === b[lt + 2 + k]) k++;
        if (k === len) gt = lt + 2 + len;
      }
    }
    if (gt < 0) {
      gt = lt + 2;
      while (gt < n && b[gt] !== GT) gt++;
      if (gt >= n) return -1;
      let e = gt;
      while (e > lt + 2 && isSpace(b[e - 1]!)) e--;
      if (top < 0 || !this.names.equalBytes(top, b, lt + 2, e)) {
        const name = Buffer.from(b.subarray(lt + 2, e)).toString();
        throw this.error(top < 0 ? `unexpected </${name}>` : `</${name}> does not close <${this.names.str(top)}>`, lt);
      }
    }
    if (this.textEl !== 0) {
      if (this.depth === this.textDepth) {
        if (this.scratchLen === 0) this.storeText(p, lt, this.textAmp);
        else {
          this.appendText(p, lt);
          this.storeScratch();
        }
        this.textEl = 0;
      } else this.appendText(p, lt);
    }
    this.depth--;
    this.closeElement(top);
    return gt + 1;
  }

  private bang(p: number, lt: number): number {
    const b = this.b;
    const n = this.n;
    if (startsWith(b, lt, '<!--')) {
      const e = indexOf3(b, 45, 45, GT, lt + 4, n);
      if (e < 0) return -1;
      if (this.textEl !== 0) this.appendText(p, lt);
      return e + 3;
    }
    if (startsWith(b, lt, '<![CDATA[')) {
      const e = indexOf3(b, 93, 93, GT, lt + 9, n);
      if (e < 0) return -1;
      if (this.depth === 0) throw this.error('CDATA outside the root element', lt);
      if (this.textEl !== 0) {
        this.appendText(p, lt);
        this.appendRaw(b, lt + 9, e);
      }
      return e + 3;
    }
    if (n - lt < 9) return -1;
    if (startsWith(b, lt, '<!DOCTYPE')) {
      let e = lt;
      while (e < n && b[e] !== GT) e++;
      return e < n ? e + 1 : -1;
    }
    throw this.error("unknown markup after '<!'", lt);
  }

  private openTag(p: number, lt: number): number {
    const b = this.b;
    const n = this.n;
    let i: number;
    let el = knownName(b, lt + 1, n);
    if (el !== 0) i = nameEnd;
    else {
      i = lt + 1;
      for (let c = b[i]!; i < n && isNameChar(c); c = b[++i]!);
      if (i >= n) return -1;
      if (i === lt + 1) throw this.error("'<' not followed by an element name", lt);
      el = this.names.intern(b, lt + 1, i);
    }
    {
      const c = b[i]!;
      if (!(isSpace(c) || c === GT || c === SLASH)) {
        throw this.error(`invalid character '${String.fromCharCode(c)}' in element name`, i);
      }
    }
    let end: number;
    let dep = -1;
    if (el === E_ENTRY && this.kind >= 0) {
      // The tag ends at the first '>' unless a quoted value holds a raw '>' (legal, though
      // createrepo writes &gt;). Such a cut key has an unbalanced quote, so it never equals a
      // key stored before (all complete, validated attribute lists): it misses, and the full
      // parse below finds the real end.
      const j = b.indexOf(GT, i);
      if (j < 0) return -1;
      const h = hashBytes(b, i, j);
      const keys = this.entryKeys;
      const key = keys.internHashed(b, i, j, h);
      if (keys.added) {
        this.entryDep = grow(this.entryDep, key + 1);
        this.entryDep[key] = -1;
      }
      dep = this.entryDep[key]!;
      if (dep >= 0) {
        this.selfClosing = b[j - 1] === SLASH;
        end = j + 1;
      } else {
        end = this.attrs(i, el);
        if (end < 0) return -1;
        // A raw '>' in a value cut the key short (its entryDep stays -1): key the whole list.
        const full = end === j + 1 ? key : keys.intern(b, i, end - 1);
        this.entryDep = grow(this.entryDep, full + 1);
        if (full === key || keys.added || this.entryDep[full]! < 0) this.entryDep[full] = this.newDep();
        dep = this.entryDep[full]!;
      }
    } else {
      end = this.attrs(i, el);
      if (end < 0) return -1;
    }
    if (this.depth === 0 && this.sawRoot) throw this.error(`second root element <${this.names.str(el)}>`, lt);
    this.sawRoot = true;
    if (this.textEl !== 0) this.appendText(p, lt);
    const selfClosing = this.selfClosing;
    if (dep >= 0) {
      const k = 2 * this.np++;
      if (k + 2 > this.pend.length) this.pend = grow(this.pend, k + 2);
      this.pend[k] = this.kind;
      this.pend[k + 1] = dep;
    } else this.openElement(el, selfClosing);
    if (selfClosing) {
      if (dep < 0) this.closeElement(el);
    } else {
      if (this.depth === this.stack.length) this.stack = grow(this.stack, this.depth + 1);
      this.stack[this.depth++] = el;
    }
    return end;
  }

  /** Parses the attributes from `i` to the tag's end; returns the offset after it, or -1. */
  private attrs(i: number, el: number): number {
    const b = this.b;
    const n = this.n;
    let k = 0;
    for (;;) {
      while (i < n && isSpace(b[i]!)) i++;
      if (i >= n) return -1;
      let c = b[i]!;
      if (c === GT) {
        this.selfClosing = false;
        i++;
        break;
      }
      if (c === SLASH) {
        if (i + 1 >= n) return -1;
        if (b[i + 1] !== GT) throw this.error(`expected '>' after '/' in <${this.names.str(el)}>`, i);
        this.selfClosing = true;
        i += 2;
        break;
      }
      if (k > 0 && !isSpace(b[i - 1]!)) throw this.error(`missing white space between attributes in <${this.names.str(el)}>`, i);
      const ns = i;
      let id = knownName(b, i, n);
      if (id !== 0) i = nameEnd;
      else for (c = b[i]!; i < n && isNameChar(c); c = b[++i]!);
      if (i >= n) return -1;
      const ne = i;
      if (ne === ns) throw this.error(`unexpected '${String.fromCharCode(b[i]!)}' in <${this.names.str(el)}>`, i);
      while (i < n && isSpace(b[i]!)) i++;
      if (i >= n) return -1;
      // (No closure for the name in these messages: it would put ns and ne in a heap context.)
      if (b[i] !== EQ) throw this.error(`attribute '${nameText(b, ns, ne)}' of <${this.names.str(el)}> has no value`, i);
      i++;
      while (i < n && isSpace(b[i]!)) i++;
      if (i >= n) return -1;
      const q = b[i]!;
      if (q !== QUOT && q !== APOS) throw this.error(`attribute '${nameText(b, ns, ne)}' of <${this.names.str(el)}> is not quoted`, i);
      const vs = ++i;
      let amp = 0;
      for (c = b[i]!; i < n && c !== q; c = b[++i]!) if (c === AMP) amp = 1;
      if (i >= n) return -1;
      if (k === this.aId.length) {
        this.aId = grow(this.aId, k + 1);
        this.aS = grow(this.aS, k + 1);
        this.aE = grow(this.aE, k + 1);
        this.aAmp = grow(this.aAmp, k + 1);
      }
      this.aId[k] = id || this.names.intern(b, ns, ne);
      this.aS[k] = vs;
      this.aE[k] = i;
      this.aAmp[k] = amp;
      k++;
      i++;
    }
    this.aN = k;
    return i;
  }

  // --- attribute values -----------------------------------------------------------------------

  private attr(id: number): number {
    for (let k = 0; k < this.aN; k++) if (this.aId[k] === id) return k;
    return -1;
  }

  /** Attribute `id` interned in the string pool (0 when absent or empty). */
  private internAttr(id: number): number {
    const k = this.attr(id);
    if (k < 0) return 0;
    if (this.aAmp[k] === 0) return this.data.strings.intern(this.b, this.aS[k]!, this.aE[k]!);
    const v = Buffer.from(this.decode(this.aS[k]!, this.aE[k]!));
    return this.data.strings.intern(v, 0, v.length);
  }

  private numAttr(id: number): number {
    const k = this.attr(id);
    if (k < 0) return 0;
    const b = this.b;
    const s = this.aS[k]!;
    const e = this.aE[k]!;
    let v = 0;
    let i = s;
    for (; i < e; i++) {
      const c = b[i]! - 48;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
    }
    return i === e && e > s ? v : toInt(this.aAmp[k] ? this.decode(s, e) : Buffer.from(b.subarray(s, e)).toString());
  }

  /** Appends attribute `id`'s decoded value to evrBuf at `at`; returns the new length. */
  private evrPart(id: number, at: number): number {
    const k = this.attr(id);
    if (k < 0) return at;
    let src: Uint8Array = this.b;
    let s = this.aS[k]!;
    let e = this.aE[k]!;
    if (this.aAmp[k]) {
      src = Buffer.from(this.decode(s, e));
      s = 0;
      e = src.length;
    }
    if (at + e - s + 1 > this.evrBuf.length) {
      const nb = Buffer.allocUnsafe(2 * (at + e - s + 1));
      this.evrBuf.copy(nb, 0, 0, at);
      this.evrBuf = nb;
    }
    for (let i = s; i < e; i++) this.evrBuf[at++] = src[i]!;
    return at;
  }

  /**
   * `[epoch:]version[-release]` from the epoch/ver/rel attributes, interned. createrepo writes
   * epoch="0" for "no epoch"; rpm prints neither, so neither do we.
   */
  private evrAttrs(): number {
    let at = this.evrPart(A_EPOCH, 0);
    if (at === 1 && this.evrBuf[0] === 48) at = 0;
    if (at > 0) this.evrBuf[at++] = 58; // ':'
    at = this.evrPart(A_VER, at);
    const relAt = at + 1;
    const end = this.evrPart(A_REL, relAt);
    if (end > relAt) {
      this.evrBuf[at] = 45; // '-'
      at = end;
    }
    return this.data.strings.intern(this.evrBuf, 0, at);
  }

  private newDep(): number {
    const d = this.data;
    const id = d.depCount++;
    if (id >= d.depName.length) {
      d.depName = grow(d.depName, id + 1);
      d.depFlags = grow(d.depFlags, id + 1);
      d.depEvr = grow(d.depEvr, id + 1);
    }
    d.depName[id] = this.internAttr(A_NAME);
    let flags = 0;
    const k = this.attr(A_FLAGS);
    if (k >= 0) {
      const b = this.b;
      const s = this.aS[k]!;
      if (this.aE[k]! - s === 2 && !this.aAmp[k]) {
        const x = b[s]!;
        const y = b[s + 1]!;
        if (x === 69 && y === 81) flags = RPMSENSE.EQUAL; // EQ
        else if (x === 76) flags = y === 84 ? RPMSENSE.LESS : y === 69 ? RPMSENSE.LESS | RPMSENSE.EQUAL : 0; // LT LE
        else if (x === 71) flags = y === 84 ? RPMSENSE.GREATER : y === 69 ? RPMSENSE.GREATER | RPMSENSE.EQUAL : 0; // GT GE
      } else if (this.aAmp[k]) {
        const f = this.decode(s, this.aE[k]!);
        flags = f === 'EQ' ? 8 : f === 'LT' ? 2 : f === 'LE' ? 10 : f === 'GT' ? 4 : f === 'GE' ? 12 : 0;
      }
    }
    d.depEvr[id] = flags ? this.evrAttrs() : 0;
    const pre = this.attr(A_PRE);
    if (pre >= 0 && this.aE[pre]! - this.aS[pre]! === 1 && this.b[this.aS[pre]!] === 49) flags |= RPMSENSE.PREREQ;
    d.depFlags[id] = flags;
    return id;
  }

  // --- elements -------------------------------------------------------------------------------

  private reserve(cap: number): void {
    if (cap <= this.cap) return;
    const d = this.data;
    d.ints = grow(d.ints.length ? d.ints : new Int32Array(NI), cap * NI, true);
    d.nums = grow(d.nums.length ? d.nums : new Float64Array(NN), cap * NN, true);
    d.depIndex = grow(d.depIndex, cap * DEP_KIND_COUNT + 1, true);
    d.fileIndex = grow(d.fileIndex, cap + 1, true);
    this.cap = cap;
  }

  private openElement(el: number, selfClosing: boolean): void {
    const d = this.data;
    if (el === E_PACKAGE) {
      if (d.count === this.cap) this.reserve(this.cap * 2);
      this.row = d.count;
      // Rows past `count` are still zero (fresh arrays) unless an unfinished <package> used it.
      if (this.inPkg) {
        d.ints.fill(0, this.row * NI, this.row * NI + NI);
        d.nums.fill(0, this.row * NN, this.row * NN + NN);
        this.fileLen = d.fileIndex[this.row]!;
      }
      this.np = 0;
      this.inPkg = true;
      this.kind = -1;
      return;
    }
    if (el === E_METADATA) {
      // createrepo writes the package count: size everything once instead of doubling. Per
      // package, Debian bookworm needs about 6 strings (230 bytes) and 2.5 distinct entries.
      const hint = this.numAttr(A_PACKAGES);
      if (hint > 0 && hint < 1e7) {
        this.reserve(hint);
        d.strings.reserve(hint * 6, hint * 240);
        this.entryKeys.reserve(hint * 3, hint * 160);
        this.entryDep = grow(this.entryDep, hint * 3, true);
        d.depList = grow(d.depList, hint * 8, true);
      }
      return;
    }
    if (!this.inPkg) return;
    const ints = d.ints;
    const r = this.row * NI;
    const m = this.row * NN;
    switch (el) {
      case E_VERSION:
        ints[r + F.EPOCH] = this.internAttr(A_EPOCH);
        ints[r + F.VERSION] = this.internAttr(A_VER);
        ints[r + F.RELEASE] = this.internAttr(A_REL);
        ints[r + F.EVR] = this.evrAttrs();
        return;
      case E_CHECKSUM:
        ints[r + F.CHECKSUM_TYPE] = this.internAttr(A_TYPE);
        break;
      case E_TIME:
        d.nums[m + N.TIME_FILE] = this.numAttr(A_FILE);
        d.nums[m + N.TIME_BUILD] = this.numAttr(A_BUILD);
        return;
      case E_SIZE:
        d.nums[m + N.SIZE_PACKAGE] = this.numAttr(A_PACKAGE);
        d.nums[m + N.SIZE_INSTALLED] = this.numAttr(A_INSTALLED);
        d.nums[m + N.SIZE_ARCHIVE] = this.numAttr(A_ARCHIVE);
        return;
      case E_LOCATION: {
        const k = this.attr(A_HREF);
        if (k >= 0) ints[r + F.LOCATION] = this.addValue(k);
        ints[r + F.LOCATION_BASE] = this.internAttr(A_XMLBASE);
        return;
      }
      case E_HEADER_RANGE:
        d.nums[m + N.HEADER_START] = this.numAttr(A_START);
        d.nums[m + N.HEADER_END] = this.numAttr(A_END);
        return;
      case E_FILE: {
        const k = this.attr(A_TYPE);
        this.fileType = 0;
        if (k >= 0) {
          const v = this.aAmp[k] ? this.decode(this.aS[k]!, this.aE[k]!) : Buffer.from(this.b.subarray(this.aS[k]!, this.aE[k]!)).toString();
          this.fileType = v === 'dir' ? 1 : v === 'ghost' ? 2 : 0;
        }
        break;
      }
      default:
        if (el >= E_PROVIDES && el <= E_ENHANCES) {
          this.kind = el - E_PROVIDES;
          this.kindEl = el;
          return;
        }
    }
    if (el < TEXT_COLUMN.length && TEXT_COLUMN[el] !== -1) {
      if (selfClosing) {
        this.textEl = el;
        this.storeText(0, 0, false);
        this.textEl = 0;
        return;
      }
      this.textEl = el;
      this.textDepth = this.depth + 1;
      this.scratchLen = 0;
    }
  }

  private closeElement(el: number): void {
    if (el === E_PACKAGE) {
      if (this.inPkg) this.finishPackage();
    } else if (el === this.kindEl && this.kind >= 0) this.kind = -1;
  }

  private finishPackage(): void {
    const d = this.data;
    const p = this.row;
    const pend = this.pend;
    const np = this.np;
    d.depList = grow(d.depList, this.depLen + np);
    const list = d.depList;
    let len = this.depLen;
    // Entries come grouped by kind in document order; a stable pass per kind keeps them so even
    // if a producer interleaves the lists.
    let sorted = true;
    for (let i = 1; i < np; i++) if (pend[2 * i]! < pend[2 * i - 2]!) sorted = false;
    if (sorted) {
      let i = 0;
      for (let k = 0; k < DEP_KIND_COUNT; k++) {
        d.depIndex[p * DEP_KIND_COUNT + k] = len;
        for (; i < np && pend[2 * i] === k; i++) list[len++] = pend[2 * i + 1]!;
      }
    } else {
      for (let k = 0; k < DEP_KIND_COUNT; k++) {
        d.depIndex[p * DEP_KIND_COUNT + k] = len;
        for (let i = 0; i < np; i++) if (pend[2 * i] === k) list[len++] = pend[2 * i + 1]!;
      }
    }
    this.depLen = len;
    d.depIndex[(p + 1) * DEP_KIND_COUNT] = len;
    d.fileIndex[p + 1] = this.fileLen;
    d.count = p + 1;
    this.inPkg = false;
    this.kind = -1;
    this.np = 0;
  }

  // --- text -----------------------------------------------------------------------------------

  /** A value not interned (unique per package). */
  private addValue(k: number): number {
    if (this.aAmp[k] === 0) return this.data.strings.add(this.b, this.aS[k]!, this.aE[k]!);
    const v = Buffer.from(this.decode(this.aS[k]!, this.aE[k]!));
    return this.data.strings.add(v, 0, v.length);
  }

  /** Stores b[s, e) as the current text element's value. */
  private storeText(s: number, e: number, amp: boolean): void {
    if (amp) {
      const v = Buffer.from(this.decode(s, e));
      this.storeValue(v, 0, v.length);
    } else this.storeValue(this.b, s, e);
  }

  private storeScratch(): void {
    this.storeValue(this.scratch, 0, this.scratchLen);
    this.scratchLen = 0;
  }

  private storeValue(src: Uint8Array, s: number, e: number): void {
    const el = this.textEl;
    const d = this.data;
    const id = TEXT_INTERNED[el] ? d.strings.intern(src, s, e) : d.strings.add(src, s, e);
    const col = TEXT_COLUMN[el]!;
    if (col >= 0) {
      d.ints[this.row * NI + col] = id;
      return;
    }
    const f = this.fileLen++;
    if (f >= d.filePath.length) {
      d.filePath = grow(d.filePath, f + 1);
      d.fileType = grow(d.fileType, f + 1);
    }
    d.filePath[f] = id;
    d.fileType[f] = this.fileType;
  }

  /** Adds text b[s, e) (entity-decoded) to the scratch buffer of the current text element. */
  private appendText(s: number, e: number): void {
    if (e <= s) return;
    if (this.textAmp) {
      const v = Buffer.from(this.decode(s, e));
      this.appendRaw(v, 0, v.length);
    } else this.appendRaw(this.b, s, e);
  }

  private appendRaw(src: Uint8Array, s: number, e: number): void {
    const need = this.scratchLen + e - s;
    if (need > this.scratch.length) {
      const nb = Buffer.allocUnsafe(need * 2);
      this.scratch.copy(nb, 0, 0, this.scratchLen);
      this.scratch = nb;
    }
    this.scratch.set(src.subarray(s, e), this.scratchLen);
    this.scratchLen = need;
  }
}

function countLines(b: Buffer, s: number, e: number): number {
  let n = 0;
  for (let k = b.indexOf(NL, s); k >= 0 && k < e; k = b.indexOf(NL, k + 1)) n++;
  return n;
}

/** Offset of the first byte that makes b[0, e) invalid UTF-8 (for the error's line). */
function firstBadUtf8(b: Uint8Array, e: number): number {
  let lo = 0;
  let hi = e;
  // Binary search on prefixes ending at ASCII bytes: valid prefix → the fault lies after it.
  while (hi - lo > 64) {
    let mid = (lo + hi) >>> 1;
    while (mid < hi && b[mid]! >= 0x80) mid++;
    if (mid >= hi) break;
    if (validUtf8(b.subarray(0, mid))) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** A name's bytes as text, for messages. */
function nameText(b: Uint8Array, s: number, e: number): string {
  return Buffer.from(b.subarray(s, e)).toString();
}

function startsWith(b: Uint8Array, at: number, s: string): boolean {
  if (at + s.length > b.length) return false;
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

function indexOf2(b: Uint8Array, x: number, y: number, from: number, n: number): number {
  for (let i = from; i + 1 < n; i++) if (b[i] === x && b[i + 1] === y) return i;
  return -1;
}

function indexOf3(b: Uint8Array, x: number, y: number, z: number, from: number, n: number): number {
  for (let i = from; i + 2 < n; i++) if (b[i] === x && b[i + 1] === y && b[i + 2] === z) return i;
  return -1;
}
