/**
 * LZMA decoding in pure TypeScript, after Igor Pavlov's LZMA specification (LzmaSpec.cpp,
 * lzma-specification.txt) and xz's LZMA2 framing:
 *
 * - `LzmaDecoder`: the LZMA1 core — range decoder, literal/match/rep states, dictionary.
 * - `decompressLzmaAlone`: the .lzma ("LZMA alone") container, as rpm's w*.lzdio writes it.
 * - `decodeLzma2`: LZMA2 chunks, the payload of an .xz block (see xz.ts).
 *
 * .lzma header (13 bytes, little-endian):
 *
 * | offset | size | meaning                                                           |
 * |--------|------|-------------------------------------------------------------------|
 * | 0      | 1    | properties: (pb * 5 + lp) * 9 + lc, below 225                      |
 * | 1      | 4    | dictionary size                                                   |
 * | 5      | 8    | uncompressed size, or all ones: unknown, an end marker ends the data |
 * | 13     | …    | range-coded data: 5 init bytes (the first 0), then the symbols     |
 *
 * LZMA2 chunk headers (big-endian sizes; every LZMA chunk restarts the range coder):
 *
 * | control     | then                                   | meaning                                |
 * |-------------|----------------------------------------|----------------------------------------|
 * | 0x00        | —                                      | end of the LZMA2 data                  |
 * | 0x01 / 0x02 | 2: size−1, data                        | stored chunk, with / without dict reset |
 * | 0x80–0xFF   | 2: usize−1 low bits, 2: csize−1, [props] | LZMA chunk; bits 0–4: usize−1 bits 16–20; bits 5–6: 0 none, 1 state reset, 2 + new props, 3 + dict reset |
 * | 0x03–0x7F   |                                        | invalid                                |
 *
 * Memory: the dictionary is a ring buffer of the declared size (capped at 1.5 GiB, xz's own
 * maximum), allocated lazily: it starts small and doubles as output arrives, so a 3 KB file
 * with an 8 MiB dictionary costs kilobytes. Output is handed out in pieces of at most
 * `OUT_PIECE` bytes, copied from the ring buffer.
 *
 * Input: the decoder reads from one contiguous buffer. An LZMA2 chunk's compressed size is
 * known (≤ 64 KiB), so it is gathered whole and decoded without further checks. A .lzma stream
 * has no such boundaries: the decoder stops between symbols once fewer than `K.IN_MARGIN` bytes
 * remain, more input is appended, and it resumes — only at the true end of input can a read
 * run off the end, which then is an error ('truncated'), never an out-of-bounds read.
 */
import { PhotonError } from '../util/errors.ts';

/** Largest dictionary accepted: xz's own limit (--lzma2=dict= allows up to 1.5 GiB). */
export const MAX_DICT = 1536 * 1024 * 1024;
/** Output is handed out in pieces of at most this size. */
export const OUT_PIECE = 128 * 1024;
const INITIAL_DICT = 64 * 1024;

// Constants of the decoder, as a const enum so that esbuild/tsc inline them as literals:
// module-level consts are read from the module context with a TDZ check on every use, which
// showed in the decoder's profile.
const enum K {
  /** One symbol never consumes more input than this (xz-embedded's LZMA_IN_REQUIRED is 21). */
  IN_MARGIN = 32,
  // Offsets into the one Uint16Array that holds every probability except the literal coders'
  // (LzmaSpec names in brackets); 12 states × 16 pos states where indexed by both.
  IS_MATCH = 0, // [IsMatch] 192
  IS_REP = 192, // [IsRep] 12
  IS_REP_G0 = 204, // 12
  IS_REP_G1 = 216, // 12
  IS_REP_G2 = 228, // 12
  IS_REP0_LONG = 240, // 192
  POS_SLOT = 432, // [PosSlotDecoder] 4 × 64
  SPEC_POS = 688, // [PosDecoders] 1 + 128 − 14 = 115
  ALIGN = 803, // [AlignDecoder] 16
  LEN = 819, // [LenDecoder] choice, choice2, low 16×8, mid 16×8, high 256 = 514
  REP_LEN = 1333, // [RepLenDecoder] 514
  NUM_PROBS = 1847,
  // Within a length coder:
  L_CHOICE2 = 1,
  L_LOW = 2,
  L_MID = 130,
  L_HIGH = 258,
  /** The distance (minus 1) that marks the end of a .lzma stream. */
  END_MARKER = 0xffffffff,
}

export interface LzmaProps {
  lc: number;
  lp: number;
  pb: number;
}

/** Splits the properties byte; undefined when it is out of range (≥ 225). */
export function decodeProps(b: number): LzmaProps | undefined {
  if (b >= 225) return undefined;
  return { lc: b % 9, lp: Math.floor(b / 9) % 5, pb: Math.floor(b / 45) };
}

/**
 * The LZMA1 decoder: range decoder state, model, and dictionary. Used by the .lzma and LZMA2
 * drivers below, which set `in`/`inPos`/`inEnd`/`inFinal` and call `decode` in a loop.
 */
export class LzmaDecoder {
  // --- range decoder and its input window ---
  in: Uint8Array = new Uint8Array(0);
  inPos = 0;
  inEnd = 0;
  /** True when `inEnd` is the true end of this coded data (no margin is kept then). */
  inFinal = false;
  /** What reading past `inEnd` means, for the error message. */
  overrun = 'truncated input';
  // range and code are uint32: kept in a Uint32Array rather than fields, which V8 would box as
  // doubles (and deoptimise on when a field's representation changes from small integer).
  private readonly rc = new Uint32Array(2);
  private get range(): number {
    return this.rc[0]!;
  }
  private set range(v: number) {
    this.rc[0] = v;
  }
  private get code(): number {
    return this.rc[1]!;
  }
  private set code(v: number) {
    this.rc[1] = v;
  }

  // --- model ---
  private probs = new Uint16Array(K.NUM_PROBS);
  private lit = new Uint16Array(0x300);
  private lc = 0;
  private lpMask = 0;
  private pbMask = 0;
  private state = 0;
  private rep0 = 0;
  private rep1 = 0;
  private rep2 = 0;
  private rep3 = 0;
  /** Bytes of a match still to copy when the output limit cut it short. */
  pendingLen = 0;
  /** Set once the end marker has been decoded. */
  sawEndMarker = false;

  // --- dictionary: a ring buffer; `buf` grows up to `dictSize` before it starts to wrap ---
  private buf: Uint8Array;
  private readonly dictSize: number;
  /** Write position in `buf`. */
  pos = 0;
  /** Start of the output not yet handed out by `take`. */
  private start = 0;
  /** How many bytes back matches may reach (output since the last dictionary reset, ≤ dictSize). */
  private full = 0;
  /** Bytes since the last dictionary reset: its low bits select the literal and pos states. */
  private processed = 0;

  constructor(
    readonly format: string,
    dictSize: number,
    sizeHint = Infinity,
  ) {
    if (dictSize > MAX_DICT) this.fail(`dictionary size ${dictSize} exceeds the 1.5 GiB limit`);
    this.dictSize = Math.max(dictSize, 4096);
    this.buf = new Uint8Array(Math.min(this.dictSize, INITIAL_DICT, Math.max(sizeHint, 4096)));
  }

  fail(reason: string): never {
    throw new PhotonError('E_DECOMPRESS', reason === 'truncated input' ? `${this.format} data is truncated` : `${this.format} data is corrupt: ${reason}`);
  }

  setProps(p: LzmaProps): void {
    this.lc = p.lc;
    this.lpMask = (1 << p.lp) - 1;
    this.pbMask = (1 << p.pb) - 1;
    const n = 0x300 << (p.lc + p.lp);
    if (this.lit.length !== n) this.lit = new Uint16Array(n);
  }

  resetState(): void {
    this.probs.fill(1024);
    this.lit.fill(1024);
    this.state = 0;
    this.rep0 = this.rep1 = this.rep2 = this.rep3 = 0;
    this.pendingLen = 0;
  }

  resetDict(): void {
    this.full = 0;
    this.processed = 0;
  }

  /** Reads the 5 range coder init bytes (the first must be 0). */
  rcInit(): void {
    if (this.inEnd - this.inPos < 5) this.fail(this.overrun);
    const b = this.in;
    const p = this.inPos;
    if (b[p] !== 0) this.fail('bad range coder init byte');
    this.code = ((b[p + 1]! << 24) | (b[p + 2]! << 16) | (b[p + 3]! << 8) | b[p + 4]!) >>> 0;
    this.range = 0xffffffff;
    this.inPos = p + 5;
    if (this.code === this.range) this.fail('bad range coder init');
  }

  /** The range coder ends with code 0 when the data was coded completely (LzmaSpec IsFinishedOK). */
  rcFinished(): boolean {
    return this.code === 0;
  }

  // --- range decoder primitives: range and code are uint32 values kept as numbers ---

  private bit(p: Uint16Array, i: number): number {
    const prob = p[i]!;
    const bound = (this.range >>> 11) * prob;
    let b: number;
    if (this.code < bound) {
      this.range = bound;
      p[i] = prob + ((2048 - prob) >>> 5);
      b = 0;
    } else {
      this.range -= bound;
      this.code -= bound;
      p[i] = prob - (prob >>> 5);
      b = 1;
    }
    if (this.range < 0x1000000) {
      if (this.inPos >= this.inEnd) this.fail(this.overrun);
      this.range = (this.range << 8) >>> 0;
      this.code = ((this.code << 8) | this.in[this.inPos++]!) >>> 0;
    }
    return b;
  }

  private tree(p: Uint16Array, base: number, bits: number): number {
    let m = 1;
    for (let i = 0; i < bits; i++) m = (m << 1) | this.bit(p, base + m);
    return m - (1 << bits);
  }

  private reverseTree(p: Uint16Array, base: number, bits: number): number {
    let m = 1;
    let sym = 0;
    for (let i = 0; i < bits; i++) {
      const b = this.bit(p, base + m);
      m = (m << 1) | b;
      sym |= b << i;
    }
    return sym;
  }

  private direct(bits: number): number {
    let res = 0;
    for (let i = 0; i < bits; i++) {
      this.range = this.range >>> 1;
      let b = 0;
      if (this.code >= this.range) {
        this.code -= this.range;
        b = 1;
      }
      res = ((res << 1) | b) >>> 0;
      if (this.range < 0x1000000) {
        if (this.inPos >= this.inEnd) this.fail(this.overrun);
        this.range = (this.range << 8) >>> 0;
        this.code = ((this.code << 8) | this.in[this.inPos++]!) >>> 0;
      }
    }
    return res;
  }

  /** Match length minus 2, from the length coder at `base`. */
  private len(base: number, posState: number): number {
    const p = this.probs;
    if (this.bit(p, base) === 0) return this.tree(p, base + K.L_LOW + (posState << 3), 3);
    if (this.bit(p, base + K.L_CHOICE2) === 0) return 8 + this.tree(p, base + K.L_MID + (posState << 3), 3);
    return 16 + this.tree(p, base + K.L_HIGH, 8);
  }

  /** Match distance minus 1 (0xFFFFFFFF: the end marker). */
  private distance(len: number): number {
    const p = this.probs;
    const slot = this.tree(p, K.POS_SLOT + ((len < 3 ? len : 3) << 6), 6);
    if (slot < 4) return slot;
    const nd = (slot >>> 1) - 1;
    const dist = ((2 | (slot & 1)) << nd) >>> 0;
    if (slot < 14) return dist + this.reverseTree(p, K.SPEC_POS + dist - slot, nd);
    return dist + this.direct(nd - 4) * 16 + this.reverseTree(p, K.ALIGN, 4);
  }

  // --- dictionary and output ---

  /**
   * Makes room for output and returns the limit `decode` may write up to: at most `want`
   * bytes, never past the end of the ring buffer. Call `take` before the next `room`.
   */
  room(want: number): number {
    if (this.pos === this.buf.length) {
      if (this.buf.length < this.dictSize) {
        // Not yet wrapped: the contents are linear, so growing is one copy.
        const bigger = new Uint8Array(Math.min(this.dictSize, this.buf.length * 2));
        bigger.set(this.buf);
        this.buf = bigger;
      } else {
        this.pos = this.start = 0;
      }
    }
    return this.pos + Math.min(want, this.buf.length - this.pos, OUT_PIECE);
  }

  /** The output since the last `take`, as a fresh copy. */
  take(): Uint8Array {
    const out = this.buf.slice(this.start, this.pos);
    this.start = this.pos;
    return out;
  }

  /** Appends stored bytes (an LZMA2 uncompressed chunk) up to `limit`; returns how many. */
  copyIn(src: Uint8Array, from: number, n: number, limit: number): number {
    const k = Math.min(n, limit - this.pos);
    this.buf.set(src.subarray(from, from + k), this.pos);
    this.pos += k;
    this.processed += k;
    this.full = Math.min(this.full + k, this.dictSize);
    return k;
  }

  /** Copies `len` bytes from `rep0 + 1` back, stopping at `limit` (the rest stays pending). */
  private copyMatch(len: number, limit: number): void {
    const dist = this.rep0 + 1;
    if (dist > this.full) this.fail('match distance beyond the dictionary');
    const buf = this.buf;
    let pos = this.pos;
    const n = Math.min(len, limit - pos);
    this.pendingLen = len - n;
    let src = pos - dist;
    if (src < 0) src += buf.length;
    if (n > 32 && dist >= n && src + n <= buf.length) {
      buf.copyWithin(pos, src, src + n);
      pos += n;
    } else {
      const cap = buf.length;
      for (let i = 0; i < n; i++) {
        buf[pos++] = buf[src++]!;
        if (src === cap) src = 0;
      }
    }
    this.pos = pos;
    this.processed += n;
    const f = this.full + n;
    this.full = f > this.dictSize ? this.dictSize : f;
  }

  /**
   * Decodes symbols until the output reaches `limit`, the end marker appears, or — when the
   * input is not final — fewer than K.IN_MARGIN input bytes remain.
   */
  decode(limit: number): void {
    if (this.pendingLen > 0) this.copyMatch(this.pendingLen, limit);
    // The hot loop. The range decoder's state lives in locals and each bit decode is written out
    // in place (the BIT blocks): V8 keeps locals in registers, whereas the same code through
    // `this.bit()` and fields ran at a third of the speed (fields holding uint32 values are boxed
    // doubles). The helper methods above remain for the cold paths (the end marker).
    const p = this.probs;
    const lit = this.lit;
    const buf = this.buf;
    const cap = buf.length;
    const lc = this.lc;
    const lpMask = this.lpMask;
    const pbMask = this.pbMask;
    const dictSize = this.dictSize;
    const inBuf = this.in;
    const inEnd = this.inEnd;
    // Decode only while one whole symbol's input is surely present, unless this is the end.
    const stopAt = this.inFinal ? inEnd : inEnd - K.IN_MARGIN;
    let range = this.range;
    let code = this.code;
    let inPos = this.inPos;
    let state = this.state;
    let rep0 = this.rep0;
    let rep1 = this.rep1;
    let rep2 = this.rep2;
    let rep3 = this.rep3;
    let pos = this.pos;
    let processed = this.processed;
    let full = this.full;
    let prob = 0;
    let bound = 0;
    let b = 0;
    let i = 0;
    while (pos < limit && inPos <= stopAt) {
      const posState = processed & pbMask;
      {
        const pa = p;
        const ix = K.IS_MATCH + (state << 4) + posState;
        prob = pa[ix]!;
        bound = Math.imul(range >>> 11, prob) >>> 0;
        if (code < bound) {
          range = bound;
          pa[ix] = prob + ((2048 - prob) >>> 5);
          b = 0;
        } else {
          range = (range - bound) >>> 0;
          code = (code - bound) >>> 0;
          pa[ix] = prob - (prob >>> 5);
          b = 1;
        }
        if (range < 0x1000000) {
          if (inPos >= inEnd) this.fail(this.overrun);
          range = (range << 8) >>> 0;
          code = ((code << 8) | inBuf[inPos++]!) >>> 0;
        }
      }
      if (!b) {
        // Literal: coded with the previous byte's high bits and, after a match, the byte at rep0.
        const prev = full > 0 ? buf[pos > 0 ? pos - 1 : cap - 1]! : 0;
        const base = 0x300 * (((processed & lpMask) << lc) + (prev >>> (8 - lc)));
        let sym = 1;
        if (state >= 7) {
          let src = pos - rep0 - 1;
          if (src < 0) src += cap;
          let matchByte = buf[src] ?? 0;
          do {
            const matchBit = (matchByte >>> 7) & 1;
            matchByte <<= 1;
            {
              const pa = lit;
              const ix = base + ((1 + matchBit) << 8) + sym;
              prob = pa[ix]!;
              bound = Math.imul(range >>> 11, prob) >>> 0;
              if (code < bound) {
                range = bound;
                pa[ix] = prob + ((2048 - prob) >>> 5);
                b = 0;
              } else {
            range = (range - bound) >>> 0;
            code = (code - bound) >>> 0;
                pa[ix] = prob - (prob >>> 5);
                b = 1;
              }
              if (range < 0x1000000) {
                if (inPos >= inEnd) this.fail(this.overrun);
                range = (range << 8) >>> 0;
                code = ((code << 8) | inBuf[inPos++]!) >>> 0;
              }
            }
            sym = (sym << 1) | b;
            if (matchBit !== b) break;
          } while (sym < 0x100);
        }
        while (sym < 0x100) {
          {
            const pa = lit;
            const ix = base + sym;
            prob = pa[ix]!;
            bound = Math.imul(range >>> 11, prob) >>> 0;
            if (code < bound) {
              range = bound;
              pa[ix] = prob + ((2048 - prob) >>> 5);
              b = 0;
            } else {
              range = (range - bound) >>> 0;
              code = (code - bound) >>> 0;
              pa[ix] = prob - (prob >>> 5);
              b = 1;
            }
            if (range < 0x1000000) {
              if (inPos >= inEnd) this.fail(this.overrun);
              range = (range << 8) >>> 0;
              code = ((code << 8) | inBuf[inPos++]!) >>> 0;
            }
          }
          sym = (sym << 1) | b;
        }
        buf[pos++] = sym & 0xff;
        processed++;
        if (full < dictSize) full++;
        state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
        continue;
      }
      let lenBase: number;
      {
        const pa = p;
        const ix = K.IS_REP + state;
        prob = pa[ix]!;
        bound = Math.imul(range >>> 11, prob) >>> 0;
        if (code < bound) {
          range = bound;
          pa[ix] = prob + ((2048 - prob) >>> 5);
          b = 0;
        } else {
          range = (range - bound) >>> 0;
          code = (code - bound) >>> 0;
          pa[ix] = prob - (prob >>> 5);
          b = 1;
        }
        if (range < 0x1000000) {
          if (inPos >= inEnd) this.fail(this.overrun);
          range = (range << 8) >>> 0;
          code = ((code << 8) | inBuf[inPos++]!) >>> 0;
        }
      }
      if (!b) {
        // Simple match; its distance follows the length.
        lenBase = K.LEN;
        state = state < 7 ? 7 : 10;
      } else {
        if (full === 0) this.fail('repeated match before any data');
        {
          const pa = p;
          const ix = K.IS_REP_G0 + state;
          prob = pa[ix]!;
          bound = Math.imul(range >>> 11, prob) >>> 0;
          if (code < bound) {
            range = bound;
            pa[ix] = prob + ((2048 - prob) >>> 5);
            b = 0;
          } else {
            range = (range - bound) >>> 0;
            code = (code - bound) >>> 0;
            pa[ix] = prob - (prob >>> 5);
            b = 1;
          }
          if (range < 0x1000000) {
            if (inPos >= inEnd) this.fail(this.overrun);
            range = (range << 8) >>> 0;
            code = ((code << 8) | inBuf[inPos++]!) >>> 0;
          }
        }
        if (!b) {
          {
            const pa = p;
            const ix = K.IS_REP0_LONG + (state << 4) + posState;
            prob = pa[ix]!;
            bound = Math.imul(range >>> 11, prob) >>> 0;
            if (code < bound) {
              range = bound;
              pa[ix] = prob + ((2048 - prob) >>> 5);
              b = 0;
            } else {
              range = (range - bound) >>> 0;
              code = (code - bound) >>> 0;
              pa[ix] = prob - (prob >>> 5);
              b = 1;
            }
            if (range < 0x1000000) {
              if (inPos >= inEnd) this.fail(this.overrun);
              range = (range << 8) >>> 0;
              code = ((code << 8) | inBuf[inPos++]!) >>> 0;
            }
          }
          if (!b) {
            // Short rep: one byte from rep0.
            state = state < 7 ? 9 : 11;
            if (rep0 >= full) this.fail('match distance beyond the dictionary');
            let src = pos - rep0 - 1;
            if (src < 0) src += cap;
            buf[pos++] = buf[src]!;
            processed++;
            if (full < dictSize) full++;
            continue;
          }
        } else {
          let dist: number;
          {
            const pa = p;
            const ix = K.IS_REP_G1 + state;
            prob = pa[ix]!;
            bound = Math.imul(range >>> 11, prob) >>> 0;
            if (code < bound) {
              range = bound;
              pa[ix] = prob + ((2048 - prob) >>> 5);
              b = 0;
            } else {
              range = (range - bound) >>> 0;
              code = (code - bound) >>> 0;
              pa[ix] = prob - (prob >>> 5);
              b = 1;
            }
            if (range < 0x1000000) {
              if (inPos >= inEnd) this.fail(this.overrun);
              range = (range << 8) >>> 0;
              code = ((code << 8) | inBuf[inPos++]!) >>> 0;
            }
          }
          if (!b) dist = rep1;
          else {
            {
              const pa = p;
              const ix = K.IS_REP_G2 + state;
              prob = pa[ix]!;
              bound = Math.imul(range >>> 11, prob) >>> 0;
              if (code < bound) {
                range = bound;
                pa[ix] = prob + ((2048 - prob) >>> 5);
                b = 0;
              } else {
            range = (range - bound) >>> 0;
            code = (code - bound) >>> 0;
                pa[ix] = prob - (prob >>> 5);
                b = 1;
              }
              if (range < 0x1000000) {
                if (inPos >= inEnd) this.fail(this.overrun);
                range = (range << 8) >>> 0;
                code = ((code << 8) | inBuf[inPos++]!) >>> 0;
              }
            }
            if (!b) dist = rep2;
            else {
              dist = rep3;
              rep3 = rep2;
            }
            rep2 = rep1;
          }
          rep1 = rep0;
          rep0 = dist;
        }
        lenBase = K.REP_LEN;
        state = state < 7 ? 8 : 11;
      }
      // Length (minus 2): choice bits, then a 3-bit low/mid tree or an 8-bit high tree.
      let len: number;
      let tb: number;
      let bits: number;
      {
        const pa = p;
        const ix = lenBase;
        prob = pa[ix]!;
        bound = Math.imul(range >>> 11, prob) >>> 0;
        if (code < bound) {
          range = bound;
          pa[ix] = prob + ((2048 - prob) >>> 5);
          b = 0;
        } else {
          range = (range - bound) >>> 0;
          code = (code - bound) >>> 0;
          pa[ix] = prob - (prob >>> 5);
          b = 1;
        }
        if (range < 0x1000000) {
          if (inPos >= inEnd) this.fail(this.overrun);
          range = (range << 8) >>> 0;
          code = ((code << 8) | inBuf[inPos++]!) >>> 0;
        }
      }
      if (!b) {
        tb = lenBase + K.L_LOW + (posState << 3);
        bits = 3;
        len = 0;
      } else {
        {
          const pa = p;
          const ix = lenBase + K.L_CHOICE2;
          prob = pa[ix]!;
          bound = Math.imul(range >>> 11, prob) >>> 0;
          if (code < bound) {
            range = bound;
            pa[ix] = prob + ((2048 - prob) >>> 5);
            b = 0;
          } else {
            range = (range - bound) >>> 0;
            code = (code - bound) >>> 0;
            pa[ix] = prob - (prob >>> 5);
            b = 1;
          }
          if (range < 0x1000000) {
            if (inPos >= inEnd) this.fail(this.overrun);
            range = (range << 8) >>> 0;
            code = ((code << 8) | inBuf[inPos++]!) >>> 0;
          }
        }
        if (!b) {
          tb = lenBase + K.L_MID + (posState << 3);
          bits = 3;
          len = 8;
        } else {
          tb = lenBase + K.L_HIGH;
          bits = 8;
          len = 16;
        }
      }
      let m = 1;
      for (i = 0; i < bits; i++) {
        {
          const pa = p;
          const ix = tb + m;
          prob = pa[ix]!;
          bound = Math.imul(range >>> 11, prob) >>> 0;
          if (code < bound) {
            range = bound;
            pa[ix] = prob + ((2048 - prob) >>> 5);
            b = 0;
          } else {
            range = (range - bound) >>> 0;
            code = (code - bound) >>> 0;
            pa[ix] = prob - (prob >>> 5);
            b = 1;
          }
          if (range < 0x1000000) {
            if (inPos >= inEnd) this.fail(this.overrun);
            range = (range << 8) >>> 0;
            code = ((code << 8) | inBuf[inPos++]!) >>> 0;
          }
        }
        m = (m << 1) | b;
      }
      len += m - (1 << bits);
      if (lenBase === K.LEN) {
        // Distance: a 6-bit slot (by length), then reverse-coded or direct bits.
        const sb = K.POS_SLOT + ((len < 3 ? len : 3) << 6);
        m = 1;
        for (i = 0; i < 6; i++) {
          {
            const pa = p;
            const ix = sb + m;
            prob = pa[ix]!;
            bound = Math.imul(range >>> 11, prob) >>> 0;
            if (code < bound) {
              range = bound;
              pa[ix] = prob + ((2048 - prob) >>> 5);
              b = 0;
            } else {
              range = (range - bound) >>> 0;
              code = (code - bound) >>> 0;
              pa[ix] = prob - (prob >>> 5);
              b = 1;
            }
            if (range < 0x1000000) {
              if (inPos >= inEnd) this.fail(this.overrun);
              range = (range << 8) >>> 0;
              code = ((code << 8) | inBuf[inPos++]!) >>> 0;
            }
          }
          m = (m << 1) | b;
        }
        const slot = m - 64;
        let dist: number;
        if (slot < 4) dist = slot;
        else {
          const nd = (slot >>> 1) - 1;
          dist = ((2 | (slot & 1)) << nd) >>> 0;
          let rb: number;
          let rbits: number;
          if (slot < 14) {
            rb = K.SPEC_POS + dist - slot;
            rbits = nd;
          } else {
            let direct = 0;
            for (i = nd - 4; i > 0; i--) {
              range = range >>> 1;
              if (code >= range) {
                code = (code - range) >>> 0;
                direct = (direct << 1) | 1;
              } else direct <<= 1;
              if (range < 0x1000000) {
                if (inPos >= inEnd) this.fail(this.overrun);
                range = (range << 8) >>> 0;
                code = ((code << 8) | inBuf[inPos++]!) >>> 0;
              }
            }
            dist += direct * 16;
            rb = K.ALIGN;
            rbits = 4;
          }
          m = 1;
          let rev = 0;
          for (i = 0; i < rbits; i++) {
            {
              const pa = p;
              const ix = rb + m;
              prob = pa[ix]!;
              bound = Math.imul(range >>> 11, prob) >>> 0;
              if (code < bound) {
                range = bound;
                pa[ix] = prob + ((2048 - prob) >>> 5);
                b = 0;
              } else {
            range = (range - bound) >>> 0;
            code = (code - bound) >>> 0;
                pa[ix] = prob - (prob >>> 5);
                b = 1;
              }
              if (range < 0x1000000) {
                if (inPos >= inEnd) this.fail(this.overrun);
                range = (range << 8) >>> 0;
                code = ((code << 8) | inBuf[inPos++]!) >>> 0;
              }
            }
            m = (m << 1) | b;
            rev |= b << i;
          }
          dist += rev;
        }
        if (dist === K.END_MARKER) {
          this.sawEndMarker = true;
          break;
        }
        rep3 = rep2;
        rep2 = rep1;
        rep1 = rep0;
        rep0 = dist;
      }
      // Copy len + 2 bytes from rep0 + 1 back; what does not fit before `limit` stays pending.
      len += 2;
      if (rep0 >= full) this.fail('match distance beyond the dictionary');
      let n = limit - pos;
      if (n > len) n = len;
      this.pendingLen = len - n;
      let src = pos - rep0 - 1;
      if (src < 0) src += cap;
      processed += n;
      full = full + n > dictSize ? dictSize : full + n;
      if (src + n <= cap) {
        if (n > 64 && rep0 >= n) {
          buf.copyWithin(pos, src, src + n);
          pos += n;
        } else {
          for (i = 0; i < n; i++) buf[pos++] = buf[src++]!;
        }
      } else {
        for (i = 0; i < n; i++) {
          buf[pos++] = buf[src++]!;
          if (src === cap) src = 0;
        }
      }
    }
    this.range = range;
    this.code = code;
    this.inPos = inPos;
    this.state = state;
    this.rep0 = rep0;
    this.rep1 = rep1;
    this.rep2 = rep2;
    this.rep3 = rep3;
    this.pos = pos;
    this.processed = processed;
    this.full = full;
  }

  /**
   * After the declared size has been decoded: the data ends there, either with the range coder
   * finished or with an end marker (LzmaSpec allows both when the size is known).
   */
  decodeEndMarker(): void {
    if (this.code === 0) return;
    const p = this.probs;
    const posState = this.processed & this.pbMask;
    if (this.bit(p, K.IS_MATCH + (this.state << 4) + posState) === 0 || this.bit(p, K.IS_REP + this.state) !== 0) {
      this.fail('data beyond the declared uncompressed size');
    }
    if (this.distance(this.len(K.LEN, posState)) !== K.END_MARKER) this.fail('data beyond the declared uncompressed size');
    this.sawEndMarker = true;
  }
}

// ---------------------------------------------------------------------------------------------
// Input: chunks from an async source gathered into one window the decoders read from.

const EMPTY = new Uint8Array(0);

/**
 * The input side: unread bytes are `buf[pos, end)`. `fill(n)` appends source chunks until n
 * bytes are unread or the source ends. A chunk arriving when nothing is unread is used as it is
 * (no copy: decompressing a whole buffer reads it in place); otherwise bytes are appended to a
 * buffer we own, which grows by doubling, so input arriving in tiny chunks is not quadratic.
 */
export class InputBuffer {
  buf: Uint8Array = EMPTY;
  pos = 0;
  end = 0;
  /** Bytes consumed before `buf[0]`, for offsets in messages and for block size checks. */
  private base = 0;
  private owned = false;
  private done = false;
  private readonly it: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;

  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  }

  /** Total bytes consumed so far. */
  get offset(): number {
    return this.base + this.pos;
  }

  get avail(): number {
    return this.end - this.pos;
  }

  /** True when at least `n` unread bytes are available after it resolves; false at end of input. */
  async fill(n: number): Promise<boolean> {
    while (this.end - this.pos < n) {
      if (this.done) return false;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      this.append(r.value);
    }
    return true;
  }

  private append(c: Uint8Array): void {
    if (c.length === 0) return;
    // A plain Uint8Array view: Buffers have another map, and a decoder loop that sees both
    // kinds of array runs polymorphic (slower) code.
    if (c.constructor !== Uint8Array) c = new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
    const have = this.end - this.pos;
    if (have === 0) {
      this.base += this.pos;
      this.buf = c;
      this.pos = 0;
      this.end = c.length;
      this.owned = false;
      return;
    }
    if (!this.owned || this.end + c.length > this.buf.length) {
      // Move the unread bytes to the front of a buffer we own, large enough for the new chunk.
      const need = have + c.length;
      const next = this.owned && need <= this.buf.length ? this.buf : new Uint8Array(Math.max(2 * need, 64 * 1024));
      if (next === this.buf) next.copyWithin(0, this.pos, this.end);
      else next.set(this.buf.subarray(this.pos, this.end));
      this.base += this.pos;
      this.buf = next;
      this.pos = 0;
      this.end = have;
      this.owned = true;
    }
    this.buf.set(c, this.end);
    this.end += c.length;
  }

  /** True when no byte is left, now or later. */
  async atEnd(): Promise<boolean> {
    return !(await this.fill(1));
  }

  /** Stops the source early (the consumer gave up). */
  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.it.return?.();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// .lzma (LZMA alone)

/** Decompresses a .lzma stream; the output pieces are fresh copies. */
export async function* decompressLzmaAlone(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const input = new InputBuffer(source);
  const truncated = (): never => {
    throw new PhotonError('E_DECOMPRESS', 'lzma data is truncated');
  };
  try {
    if (!(await input.fill(13))) truncated();
    const h = input.buf.subarray(input.pos, input.pos + 13);
    const props = decodeProps(h[0]!);
    if (!props) throw new PhotonError('E_DECOMPRESS', `lzma data is corrupt: bad properties byte ${h[0]}`);
    const dictSize = (h[1]! | (h[2]! << 8) | (h[3]! << 16) | (h[4]! << 24)) >>> 0;
    const sizeLo = (h[5]! | (h[6]! << 8) | (h[7]! << 16) | (h[8]! << 24)) >>> 0;
    const sizeHi = (h[9]! | (h[10]! << 8) | (h[11]! << 16) | (h[12]! << 24)) >>> 0;
    const known = !(sizeLo === 0xffffffff && sizeHi === 0xffffffff);
    if (known && sizeHi >= 0x200000) throw new PhotonError('E_DECOMPRESS', 'lzma data is corrupt: uncompressed size too large');
    let remaining = known ? sizeHi * 0x100000000 + sizeLo : Infinity;
    input.pos += 13;

    const dec = new LzmaDecoder('lzma', dictSize, remaining);
    dec.setProps(props);
    dec.resetState();
    dec.resetDict();
    const sync = (): void => {
      dec.in = input.buf;
      dec.inPos = input.pos;
      dec.inEnd = input.end;
    };
    // Enough input for the init bytes and the first symbols.
    dec.inFinal = !(await input.fill(K.IN_MARGIN + 5));
    sync();
    dec.rcInit();
    input.pos = dec.inPos;
    while (remaining > 0 && !dec.sawEndMarker) {
      if (!dec.inFinal && input.avail < K.IN_MARGIN) {
        dec.inFinal = !(await input.fill(K.IN_MARGIN));
        sync();
      }
      const limit = dec.room(Math.min(remaining, OUT_PIECE)); // (may wrap dec.pos to 0)
      const before = dec.pos;
      dec.decode(limit);
      input.pos = dec.inPos;
      const n = dec.pos - before;
      if (n > 0) {
        remaining -= n;
        yield dec.take();
      }
    }
    if (dec.sawEndMarker) {
      if (known && remaining > 0) dec.fail('end marker before the declared uncompressed size');
    } else {
      if (dec.pendingLen > 0) dec.fail('data beyond the declared uncompressed size');
      if (!dec.inFinal && input.avail < K.IN_MARGIN) {
        dec.inFinal = !(await input.fill(K.IN_MARGIN));
        sync();
      }
      dec.inFinal = true;
      dec.decodeEndMarker();
      input.pos = dec.inPos;
    }
    if (!dec.rcFinished()) dec.fail('range coder did not finish cleanly');
    if (!(await input.atEnd())) dec.fail('trailing data after the end of the stream');
  } finally {
    await input.close();
  }
}

// ---------------------------------------------------------------------------------------------
// LZMA2

/**
 * Decodes the LZMA2 chunks at `input`'s position up to and including the end byte (0x00),
 * yielding output pieces. The caller owns `input` (an .xz block reader).
 */
export async function* decodeLzma2(input: InputBuffer, dictSize: number, sizeHint = Infinity): AsyncGenerator<Uint8Array> {
  const dec = new LzmaDecoder('xz', dictSize, sizeHint);
  dec.overrun = 'LZMA2 chunk longer than its compressed size';
  let needDictReset = true;
  let needProps = true;
  const truncated = (): never => {
    throw new PhotonError('E_DECOMPRESS', 'xz data is truncated');
  };
  for (;;) {
    if (!(await input.fill(1))) truncated();
    const control = input.buf[input.pos]!;
    if (control === 0) {
      input.pos++;
      return;
    }
    if (control >= 0xe0 || control === 1) {
      needProps = true;
      needDictReset = false;
      dec.resetDict();
    } else if (needDictReset) {
      dec.fail('LZMA2 data does not start with a dictionary reset');
    }
    if (control < 0x80) {
      if (control > 2) dec.fail(`bad LZMA2 control byte 0x${control.toString(16)}`);
      if (!(await input.fill(3))) truncated();
      let size = ((input.buf[input.pos + 1]! << 8) | input.buf[input.pos + 2]!) + 1;
      input.pos += 3;
      // Stored bytes are copied as they arrive; no need to gather the chunk first.
      while (size > 0) {
        if (!(await input.fill(1))) truncated();
        const n = dec.copyIn(input.buf, input.pos, Math.min(size, input.avail), dec.room(size));
        input.pos += n;
        size -= n;
        yield dec.take();
      }
      continue;
    }
    const headerSize = control >= 0xc0 ? 6 : 5;
    if (!(await input.fill(headerSize))) truncated();
    const b = input.buf;
    const q = input.pos;
    let usize = (control & 0x1f) * 0x10000 + ((b[q + 1]! << 8) | b[q + 2]!) + 1;
    const csize = ((b[q + 3]! << 8) | b[q + 4]!) + 1;
    if (control >= 0xc0) {
      const props = decodeProps(b[q + 5]!);
      if (!props || props.lc + props.lp > 4) dec.fail(`bad LZMA2 properties byte ${b[q + 5]}`);
      dec.setProps(props!);
      needProps = false;
      dec.resetState();
    } else if (needProps) {
      dec.fail('LZMA2 chunk without properties');
    } else if (control >= 0xa0) {
      dec.resetState();
    }
    input.pos += headerSize;
    // Gather the whole compressed chunk (≤ 64 KiB) so the range decoder reads it in one piece.
    if (!(await input.fill(csize))) truncated();
    const end = input.pos + csize;
    dec.in = input.buf;
    dec.inPos = input.pos;
    dec.inEnd = end;
    dec.inFinal = true;
    dec.rcInit();
    while (usize > 0) {
      const limit = dec.room(usize); // (may wrap dec.pos to 0)
      const before = dec.pos;
      dec.decode(limit);
      if (dec.sawEndMarker) dec.fail('end marker inside an LZMA2 chunk');
      usize -= dec.pos - before;
      yield dec.take();
    }
    if (dec.pendingLen > 0 || dec.inPos !== end || !dec.rcFinished()) {
      dec.fail('LZMA2 chunk sizes do not match its data');
    }
    input.pos = end;
  }
}
