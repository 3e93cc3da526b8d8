/**
 * A streaming XML tokenizer tuned for RPM-md metadata (tens of MB, millions of small elements).
 *
 * Each chunk is validated as UTF-8 and decoded with Buffer#toString (flat strings, simdutf);
 * the bytes after the last complete token (or UTF-8 sequence) are kept and prefixed to the next
 * chunk, so chunk boundaries may fall anywhere, including inside a tag or a character. The
 * tokenizer works on that text with indexOf, never concatenating per character.
 *
 * It is a SAX-style push parser: the handler sees `open`/`close`, and `text` only while it sets
 * `wantText`, because RPM-md is mostly indentation between elements and turning each run into a
 * string would dominate the cost. Attributes are not materialised either: `XmlAttrs.get(name)`
 * slices a value only when asked.
 *
 * Strings handed out may be V8 "sliced strings" that keep the current chunk alive; callers that
 * keep many of them should copy or intern them (see `internString` in metadata code).
 *
 * Supported: elements, attributes ('…' or "…"), the five predefined entities and numeric
 * character references, CDATA, comments, processing instructions, a DOCTYPE without internal
 * subset markup containing '>'. Namespaces are not resolved: names are reported as written
 * (`rpm:entry`). Well-formedness checked: tag nesting, attribute syntax, entity names,
 * truncation. Errors are PhotonError 'E_XML' with a line number.
 */
import * as BufferModule from 'node:buffer';
import { PhotonError } from '../util/errors.ts';

export interface XmlAttrs {
  /** The decoded value of attribute `name`, or undefined. */
  get(name: string): string | undefined;
  readonly count: number;
  /** The tag's attribute text as written (between the element name and `>` or `/>`). */
  raw(): string;
  name(i: number): string;
  value(i: number): string;
}

export interface XmlHandler {
  open(name: string, attrs: XmlAttrs, selfClosing: boolean): void;
  /** Called for every element, also self-closing ones (right after `open`). */
  close(name: string): void;
  /** Receives text (entity-decoded, CDATA included) only while `wantText` is true. */
  text?(text: string): void;
  wantText?: boolean;
}

const LT = 60; // <
const GT = 62; // >
const SLASH = 47;
const EQ = 61;
const QUOT = 34;
const APOS = 39;
const AMP = 38;

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

const ENTITY = /&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Replaces entity and character references; anything else after '&' is an error. */
export function decodeEntities(s: string, where: (index: number) => string = () => ''): string {
  ENTITY.lastIndex = 0;
  for (let k = s.indexOf('&'); k >= 0; k = s.indexOf('&', k + 1)) {
    ENTITY.lastIndex = k;
    const m = ENTITY.exec(s);
    if (!m || m.index !== k) {
      throw new PhotonError('E_XML', `unknown or unterminated entity '${s.slice(k, k + 12).split(/[\s<]/)[0]}'${where(k)}`);
    }
  }
  ENTITY.lastIndex = 0;
  return s.replace(ENTITY, (_m, e: string, k: number) => {
    if (e.charCodeAt(0) !== 35) return NAMED[e]!;
    const code = e.charCodeAt(1) === 120 ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
    if (!(code > 0 && code <= 0x10ffff) || (code >= 0xd800 && code <= 0xdfff)) {
      throw new PhotonError('E_XML', `invalid character reference &${e};${where(k)}`);
    }
    return String.fromCodePoint(code);
  });
}

export interface XmlParserOptions {
  /** Named in error messages. */
  file?: string;
}

export class XmlParser implements XmlAttrs {
  private buf = '';
  private pos = 0;
  /** Lines in text already discarded from `buf`, for error positions. */
  private linesBefore = 1;
  /** Bytes not yet turned into tokens: the tail of an unfinished token or UTF-8 sequence. */
  private pending: Uint8Array = new Uint8Array(0);
  private readonly stack: string[] = [];
  private sawRoot = false;
  private readonly file: string | undefined;
  // The current tag's attributes as offsets into buf: [nameStart, nameEnd, valueStart, valueEnd].
  private attrOffsets: number[] = [];
  private attrN = 0;
  private rawStart = 0;
  private rawEnd = 0;

  constructor(private readonly handler: XmlHandler, options: XmlParserOptions = {}) {
    this.file = options.file;
  }

  // --- XmlAttrs, valid during handler.open() only -------------------------------------------

  get count(): number {
    return this.attrN;
  }
  raw(): string {
    return this.buf.slice(this.rawStart, this.rawEnd);
  }
  name(i: number): string {
    return this.buf.slice(this.attrOffsets[4 * i]!, this.attrOffsets[4 * i + 1]!);
  }
  value(i: number): string {
    const v = this.buf.slice(this.attrOffsets[4 * i + 2]!, this.attrOffsets[4 * i + 3]!);
    return v.indexOf('&') < 0 ? v : decodeEntities(v, (k) => this.where(this.attrOffsets[4 * i + 2]! + k));
  }
  get(name: string): string | undefined {
    const o = this.attrOffsets;
    const len = name.length;
    for (let i = 0, k = 0; i < this.attrN; i++, k += 4) {
      if (o[k + 1]! - o[k]! === len && this.buf.startsWith(name, o[k]!)) return this.value(i);
    }
    return undefined;
  }

  // --- feeding --------------------------------------------------------------------------------

  write(chunk: Uint8Array | string): void {
    let bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.pending.length) bytes = Buffer.concat([this.pending, bytes]);
    // Decode up to the last complete UTF-8 sequence; the rest waits for the next chunk.
    let end = bytes.length;
    let back = 0;
    while (end > 0 && back < 4 && (bytes[end - 1]! & 0xc0) === 0x80) {
      end--;
      back++;
    }
    if (end > 0 && bytes[end - 1]! >= 0xc0) {
      const lead = bytes[end - 1]!;
      const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
      if (back + 1 >= need) end += back;
      else end--;
    } else end += back;
    const whole = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (!validUtf8(whole.subarray(0, end))) throw this.error('invalid UTF-8 in input', this.buf.length - this.pos);
    if (this.pos > 0) this.countLines(0, this.pos);
    // A string decoded from bytes is flat; concatenating the previous tail to the new text would
    // make a rope, and charCodeAt on ropes is several times slower.
    this.buf = whole.toString('utf8', 0, end);
    this.pos = 0;
    this.parse();
    const restBytes = this.pos >= this.buf.length ? 0 : Buffer.byteLength(this.buf.slice(this.pos));
    this.pending = Uint8Array.prototype.slice.call(bytes, end - restBytes);
  }

  /** Signals the end of input; throws if the document is incomplete. */
  end(): void {
    if (this.pos < this.buf.length) this.countLines(0, this.pos);
    const rest = this.buf.slice(this.pos);
    this.buf = rest;
    this.pos = 0;
    if (rest.trimStart().startsWith('<')) throw this.error('unexpected end of input inside markup', this.buf.length);
    const tail = this.pending.length - Buffer.byteLength(rest);
    if (tail > 0) throw this.error('input ends inside a UTF-8 sequence', this.buf.length);
    if (this.stack.length) {
      throw this.error(`unexpected end of input: <${this.stack[this.stack.length - 1]}> is not closed`, this.buf.length);
    }
    if (!this.sawRoot) throw this.error('no root element', this.buf.length);
  }

  // --- errors ---------------------------------------------------------------------------------

  private countLines(from: number, to: number): void {
    const b = this.buf;
    let n = 0;
    for (let k = b.indexOf('\n', from); k >= 0 && k < to; k = b.indexOf('\n', k + 1)) n++;
    this.linesBefore += n;
  }

  private lineAt(offset: number): number {
    const b = this.buf;
    let n = this.linesBefore;
    for (let k = b.indexOf('\n'); k >= 0 && k < offset; k = b.indexOf('\n', k + 1)) n++;
    return n;
  }

  private where(offset: number): string {
    return ` at line ${this.lineAt(offset)}`;
  }

  private error(message: string, offset: number): PhotonError {
    const opts = this.file === undefined ? {} : { file: this.file };
    return new PhotonError('E_XML', `${message} at line ${this.lineAt(offset)}`, opts);
  }

  // --- tokenizer ------------------------------------------------------------------------------

  private parse(): void {
    const b = this.buf;
    const n = b.length;
    const h = this.handler;
    let pos = this.pos;
    while (pos < n) {
      const lt = b.indexOf('<', pos);
      if (lt < 0) {
        // Text with no markup after it yet: keep it until we know where it ends.
        if (this.stack.length === 0 && b.slice(pos).trim() !== '') throw this.error('text outside the root element', pos);
        break;
      }
      if (lt > pos) {
        if (this.stack.length > 0) {
          if (h.wantText) this.emitText(pos, lt);
        } else if (!isBlank(b, pos, lt)) throw this.error('text outside the root element', pos);
      }
      pos = lt;
      if (lt + 1 >= n) break;
      const c = b.charCodeAt(lt + 1);
      let next: number;
      if (c === SLASH) next = this.closeTag(lt);
      else if (c === 33 /* ! */) next = this.bang(lt);
      else if (c === 63 /* ? */) {
        const e = b.indexOf('?>', lt + 2);
        next = e < 0 ? -1 : e + 2;
      } else next = this.openTag(lt);
      if (next < 0) break;
      pos = next;
    }
    this.pos = pos;
  }

  private emitText(from: number, to: number): void {
    const t = this.buf.slice(from, to);
    this.handler.text!(t.indexOf('&') < 0 ? t : decodeEntities(t, (k) => this.where(from + k)));
  }

  /** Returns the offset after the tag, or -1 if the buffer ends inside it. */
  private openTag(lt: number): number {
    const b = this.buf;
    const n = b.length;
    let p = lt + 1;
    // Fast path over the usual name characters (letters, digits, '_', '-', '.', ':' and all of
    // non-ASCII); anything else ends the name and is checked once.
    for (let c = b.charCodeAt(p); c > GT || (c >= 45 && c <= 58 && c !== SLASH); c = b.charCodeAt(++p));
    if (p >= n) return -1;
    {
      const c = b.charCodeAt(p);
      if (!(isSpace(c) || c === GT || c === SLASH)) throw this.error(`invalid character '${b[p]}' in element name`, p);
    }
    if (p === lt + 1) throw this.error("'<' not followed by an element name", lt);
    const name = b.slice(lt + 1, p);
    this.rawStart = p;
    const o = this.attrOffsets;
    let count = 0;
    let selfClosing = false;
    for (;;) {
      while (p < n && isSpace(b.charCodeAt(p))) p++;
      if (p >= n) return -1;
      let c = b.charCodeAt(p);
      if (c === GT) {
        this.rawEnd = p++;
        break;
      }
      if (c === SLASH) {
        if (p + 1 >= n) return -1;
        if (b.charCodeAt(p + 1) !== GT) throw this.error(`expected '>' after '/' in <${name}>`, p);
        selfClosing = true;
        this.rawEnd = p;
        p += 2;
        break;
      }
      if (count > 0 && !isSpace(b.charCodeAt(p - 1))) throw this.error(`missing white space between attributes in <${name}>`, p);
      const ns = p;
      for (c = b.charCodeAt(p); c > GT || (c >= 45 && c <= 58 && c !== SLASH); c = b.charCodeAt(++p));
      if (p >= n) return -1;
      const ne = p;
      if (ne === ns) throw this.error(`unexpected '${b[p]}' in <${name}>`, p);
      while (p < n && isSpace(b.charCodeAt(p))) p++;
      if (p >= n) return -1;
      if (b.charCodeAt(p) !== EQ) throw this.error(`attribute '${b.slice(ns, ne)}' of <${name}> has no value`, p);
      p++;
      while (p < n && isSpace(b.charCodeAt(p))) p++;
      if (p >= n) return -1;
      const q = b.charCodeAt(p);
      if (q !== QUOT && q !== APOS) throw this.error(`attribute '${b.slice(ns, ne)}' of <${name}> is not quoted`, p);
      const ve = b.indexOf(q === QUOT ? '"' : "'", p + 1);
      if (ve < 0) return -1;
      const k = 4 * count++;
      o[k] = ns;
      o[k + 1] = ne;
      o[k + 2] = p + 1;
      o[k + 3] = ve;
      p = ve + 1;
    }
    if (this.stack.length === 0 && this.sawRoot) throw this.error(`second root element <${name}>`, lt);
    this.sawRoot = true;
    this.attrN = count;
    // Values are checked for '<' only when read (get/value slice them); a stray '<' inside a
    // value is tolerated, as libxml2's recovery mode would.
    this.handler.open(name, this, selfClosing);
    this.attrN = 0;
    if (selfClosing) this.handler.close(name);
    else this.stack.push(name);
    return p;
  }

  private closeTag(lt: number): number {
    const b = this.buf;
    const gt = b.indexOf('>', lt + 2);
    if (gt < 0) return -1;
    let e = gt;
    while (e > lt + 2 && isSpace(b.charCodeAt(e - 1))) e--;
    const top = this.stack.pop();
    // Compare in place: the common case allocates nothing.
    if (top === undefined || e - (lt + 2) !== top.length || !b.startsWith(top, lt + 2)) {
      const name = b.slice(lt + 2, e);
      throw this.error(top === undefined ? `unexpected </${name}>` : `</${name}> does not close <${top}>`, lt);
    }
    this.handler.close(top);
    return gt + 1;
  }

  private bang(lt: number): number {
    const b = this.buf;
    if (b.startsWith('<!--', lt)) {
      const e = b.indexOf('-->', lt + 4);
      return e < 0 ? -1 : e + 3;
    }
    if (b.startsWith('<![CDATA[', lt)) {
      const e = b.indexOf(']]>', lt + 9);
      if (e < 0) return -1;
      if (this.stack.length === 0) throw this.error('CDATA outside the root element', lt);
      if (this.handler.wantText) this.handler.text!(b.slice(lt + 9, e));
      return e + 3;
    }
    if (b.length - lt < 9) return -1;
    if (b.startsWith('<!DOCTYPE', lt)) {
      const e = b.indexOf('>', lt);
      return e < 0 ? -1 : e + 1;
    }
    throw this.error("unknown markup after '<!'", lt);
  }
}

const fatalDecoder = new TextDecoder('utf-8', { fatal: true });
// node:buffer's isUtf8 (SIMD) exists from Node 18.14; older releases validate by decoding.
const nativeIsUtf8 = (BufferModule as { isUtf8?: (b: Uint8Array) => boolean }).isUtf8;
function validUtf8(b: Uint8Array): boolean {
  if (nativeIsUtf8) return nativeIsUtf8(b);
  try {
    fatalDecoder.decode(b);
    return true;
  } catch {
    return false;
  }
}

function isBlank(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isSpace(s.charCodeAt(i))) return false;
  return true;
}

/** Feeds a byte stream through a parser for `handler`. */
export async function parseXml(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array | string>,
  handler: XmlHandler,
  options: XmlParserOptions = {},
): Promise<void> {
  const p = new XmlParser(handler, options);
  for await (const chunk of source) p.write(chunk);
  p.end();
}
