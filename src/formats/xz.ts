/**
 * The .xz container (xz-file-format.txt 1.1), streaming, in pure TypeScript. Blocks must use the
 * LZMA2 filter alone (what xz, rpm and createrepo_c write); any other filter chain (BCJ, delta)
 * is refused. Every check type xz writes is verified: none, CRC32, CRC64, SHA-256.
 *
 * Stream layout (integers little-endian; "varint" is xz's 7-bits-per-byte multibyte integer):
 *
 * | part           | size        | contents                                                        |
 * |----------------|-------------|-----------------------------------------------------------------|
 * | stream header  | 12          | magic FD 37 7A 58 5A 00 · flags 00 0c (c = check type) · CRC32 of flags |
 * | block × n      |             | see below                                                       |
 * | index          | 4k          | 00 · varint count · count × (varint unpadded size, varint uncompressed size) · zero padding · CRC32 |
 * | stream footer  | 12          | CRC32 of the next 6 · backward size (index size / 4 − 1) · flags · "YZ" |
 * | stream padding | 4k          | zero bytes, then another stream or the end                     |
 *
 * Block layout:
 *
 * | part              | size           | contents                                                 |
 * |-------------------|----------------|----------------------------------------------------------|
 * | header size       | 1              | (real size / 4) − 1; 0 here would be the index indicator |
 * | block flags       | 1              | bits 0–1 filters − 1 · bit 6 compressed size · bit 7 uncompressed size present |
 * | sizes             | varints        | compressed size, uncompressed size, if flagged           |
 * | filter flags      | varints, props | id (0x21 = LZMA2) · props size (1) · dictionary size byte |
 * | header padding    | to the size    | zero bytes                                               |
 * | header CRC32      | 4              | over the header before it                                |
 * | compressed data   |                | LZMA2 chunks (lzma.ts)                                   |
 * | block padding     | 0–3            | zero bytes to a multiple of 4                            |
 * | check             | 0, 4, 8 or 32  | of the uncompressed data                                 |
 *
 * "Unpadded size" (index) = header size + compressed size + check size.
 */
import { createHash } from 'node:crypto';
import { PhotonError } from '../util/errors.ts';
import { Crc64, crc32 } from './_crc.ts';
import { InputBuffer, MAX_DICT, decodeLzma2 } from './lzma.ts';

const MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const LZMA2_ID = 0x21;
/** Filter ids xz knows, for a message that says what was found. */
const FILTER_NAMES: Record<number, string> = {
  3: 'delta', 4: 'x86 BCJ', 5: 'PowerPC BCJ', 6: 'IA-64 BCJ', 7: 'ARM BCJ', 8: 'ARM-Thumb BCJ', 9: 'SPARC BCJ', 0x0a: 'ARM64 BCJ',
};

const CHECKS: Record<number, { name: string; size: number }> = {
  0: { name: 'none', size: 0 },
  1: { name: 'CRC32', size: 4 },
  4: { name: 'CRC64', size: 8 },
  10: { name: 'SHA-256', size: 32 },
};

function corrupt(reason: string): never {
  throw new PhotonError('E_DECOMPRESS', `xz data is corrupt: ${reason}`);
}

function truncated(): never {
  throw new PhotonError('E_DECOMPRESS', 'xz data is truncated');
}

const le32 = (b: Uint8Array, i: number): number => (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;

interface Check {
  update(b: Uint8Array): void;
  digest(): Uint8Array;
}

function newCheck(id: number): Check {
  switch (id) {
    case 1: {
      let c = 0;
      return {
        update: (b) => void (c = crc32(b, c)),
        digest: () => Uint8Array.of(c, c >>> 8, c >>> 16, c >>> 24),
      };
    }
    case 4:
      return new Crc64();
    case 10: {
      const h = createHash('sha256');
      return { update: (b) => void h.update(b), digest: () => h.digest() };
    }
    default:
      return { update: () => undefined, digest: () => new Uint8Array(0) };
  }
}

/** Reads an xz varint from `b` at `at.i`, not past `end`. */
function varint(b: Uint8Array, at: { i: number }, end: number, what: string): number {
  let n = 0;
  for (let k = 0, mul = 1; k < 9; k++, mul *= 128) {
    if (at.i >= end) corrupt(`${what} runs past its end`);
    const x = b[at.i++]!;
    // A zero continuation byte would be a second encoding of a shorter number: xz refuses it.
    if (k > 0 && x === 0) corrupt(`non-minimal integer in the ${what}`);
    n += (x & 0x7f) * mul;
    if (!(x & 0x80)) {
      if (n > Number.MAX_SAFE_INTEGER) corrupt(`integer too large in the ${what}`);
      return n;
    }
  }
  return corrupt(`integer too long in the ${what}`);
}

/**
 * Decompresses .xz data: one or more streams, with stream padding between and after them.
 * Output pieces are fresh copies of at most 128 KiB; memory is one dictionary (at most the
 * block's declared size, allocated as output arrives) plus one LZMA2 chunk of input.
 */
export async function* decompressXz(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const input = new InputBuffer(source);
  try {
    if (!(await input.fill(1))) truncated();
    for (;;) {
      yield* decodeStream(input);
      // Stream padding: zero bytes in groups of four, then the end or the next stream.
      for (;;) {
        if (!(await input.fill(1))) return;
        if (input.buf[input.pos] !== 0) break;
        if (!(await input.fill(4))) corrupt('stream padding is not a multiple of 4 bytes');
        for (let k = 0; k < 4; k++) if (input.buf[input.pos + k] !== 0) corrupt('stream padding is not a multiple of 4 bytes');
        input.pos += 4;
      }
    }
  } finally {
    await input.close();
  }
}

async function* decodeStream(input: InputBuffer): AsyncGenerator<Uint8Array> {
  if (!(await input.fill(12))) truncated();
  const b = input.buf;
  const p = input.pos;
  for (let k = 0; k < 6; k++) if (b[p + k] !== MAGIC[k]) corrupt('bad stream header magic');
  const flags0 = b[p + 6]!;
  const flags1 = b[p + 7]!;
  if (crc32(b.subarray(p + 6, p + 8)) !== le32(b, p + 8)) corrupt('stream header CRC32 mismatch');
  if (flags0 !== 0 || flags1 & 0xf0) corrupt('unsupported stream flags');
  const checkId = flags1 & 0x0f;
  const check = CHECKS[checkId];
  if (!check) throw new PhotonError('E_DECOMPRESS', `xz data uses an unsupported check type ${checkId}`);
  input.pos += 12;

  // (unpadded size, uncompressed size) of each block, to compare with the index.
  const records: number[] = [];
  for (;;) {
    if (!(await input.fill(1))) truncated();
    if (input.buf[input.pos] === 0) break;
    yield* decodeBlock(input, checkId, check.size, records);
  }
  const indexSize = await readIndex(input, records);

  if (!(await input.fill(12))) truncated();
  const f = input.buf;
  const q = input.pos;
  if (f[q + 10] !== 0x59 || f[q + 11] !== 0x5a) corrupt('bad stream footer magic');
  if (crc32(f.subarray(q + 4, q + 10)) !== le32(f, q)) corrupt('stream footer CRC32 mismatch');
  if ((le32(f, q + 4) + 1) * 4 !== indexSize) corrupt('stream footer backward size does not match the index');
  if (f[q + 8] !== flags0 || f[q + 9] !== flags1) corrupt('stream footer flags differ from the header');
  input.pos += 12;
}

async function* decodeBlock(input: InputBuffer, checkId: number, checkSize: number, records: number[]): AsyncGenerator<Uint8Array> {
  const block = records.length / 2 + 1;
  const headerSize = (input.buf[input.pos]! + 1) * 4;
  if (!(await input.fill(headerSize))) truncated();
  const h = input.buf.subarray(input.pos, input.pos + headerSize);
  const end = headerSize - 4;
  if (crc32(h.subarray(0, end)) !== le32(h, end)) corrupt(`block ${block} header CRC32 mismatch`);
  const flags = h[1]!;
  if (flags & 0x3c) corrupt(`block ${block} header has reserved flags set`);
  const at = { i: 2 };
  const what = `block ${block} header`;
  const declaredCompressed = flags & 0x40 ? varint(h, at, end, what) : undefined;
  const declaredUncompressed = flags & 0x80 ? varint(h, at, end, what) : undefined;
  if (declaredCompressed === 0) corrupt(`block ${block} declares a compressed size of 0`);
  const filters = (flags & 3) + 1;
  let dictSize = 0;
  for (let k = 0; k < filters; k++) {
    const id = varint(h, at, end, what);
    const propsSize = varint(h, at, end, what);
    if (id !== LZMA2_ID || filters !== 1) {
      const name = FILTER_NAMES[id] ?? (id === LZMA2_ID ? 'LZMA2 in a filter chain' : 'unknown');
      throw new PhotonError('E_DECOMPRESS', `xz data uses an unsupported filter 0x${id.toString(16)} (${name}); only LZMA2 alone is supported`);
    }
    if (propsSize !== 1 || at.i >= end) corrupt(`${what}: bad LZMA2 properties`);
    const d = h[at.i++]!;
    if (d & 0xc0 || d > 40) corrupt(`${what}: bad LZMA2 dictionary size`);
    dictSize = d === 40 ? 0xffffffff : (2 | (d & 1)) * 2 ** ((d >>> 1) + 11);
  }
  for (let k = at.i; k < end; k++) if (h[k] !== 0) corrupt(`${what}: non-zero padding`);
  if (dictSize > MAX_DICT) throw new PhotonError('E_DECOMPRESS', `xz data needs a ${dictSize}-byte dictionary, above the 1.5 GiB limit`);
  input.pos += headerSize;

  const start = input.offset;
  const sum = newCheck(checkId);
  let uncompressed = 0;
  for await (const piece of decodeLzma2(input, dictSize, declaredUncompressed)) {
    if (piece.length === 0) continue;
    uncompressed += piece.length;
    if (declaredUncompressed !== undefined && uncompressed > declaredUncompressed) {
      corrupt(`block ${block} is larger than its declared uncompressed size`);
    }
    sum.update(piece);
    yield piece;
  }
  const compressed = input.offset - start;
  if (declaredCompressed !== undefined && compressed !== declaredCompressed) corrupt(`block ${block} compressed size does not match its header`);
  if (declaredUncompressed !== undefined && uncompressed !== declaredUncompressed) {
    corrupt(`block ${block} uncompressed size does not match its header`);
  }
  const pad = (4 - (compressed % 4)) % 4;
  if (!(await input.fill(pad + checkSize))) truncated();
  for (let k = 0; k < pad; k++) if (input.buf[input.pos + k] !== 0) corrupt(`block ${block} padding is not zero`);
  input.pos += pad;
  const want = sum.digest();
  for (let k = 0; k < checkSize; k++) {
    if (input.buf[input.pos + k] !== want[k]) corrupt(`${CHECKS[checkId]!.name} mismatch in block ${block}`);
  }
  input.pos += checkSize;
  records.push(headerSize + compressed + checkSize, uncompressed);
}

/** Reads and verifies the index against the blocks seen; returns its size in bytes. */
async function readIndex(input: InputBuffer, records: number[]): Promise<number> {
  // The index is read byte by byte (its size is known only at the end); the bytes are kept
  // for its CRC32. It holds as many records as blocks were decoded, so it is bounded.
  const bytes: number[] = [];
  const byte = async (): Promise<number> => {
    if (!(await input.fill(1))) truncated();
    const x = input.buf[input.pos++]!;
    bytes.push(x);
    return x;
  };
  const vint = async (): Promise<number> => {
    let n = 0;
    for (let k = 0, mul = 1; k < 9; k++, mul *= 128) {
      const x = await byte();
      if (k > 0 && x === 0) corrupt('non-minimal integer in the index');
      n += (x & 0x7f) * mul;
      if (!(x & 0x80)) return n;
    }
    return corrupt('integer too long in the index');
  };
  await byte(); // the index indicator, 0x00
  const count = await vint();
  if (count !== records.length / 2) corrupt(`index lists ${count} blocks, the stream has ${records.length / 2}`);
  for (let k = 0; k < records.length; k += 2) {
    if ((await vint()) !== records[k] || (await vint()) !== records[k + 1]) corrupt(`index record ${k / 2 + 1} does not match its block`);
  }
  while (bytes.length % 4) if ((await byte()) !== 0) corrupt('index padding is not zero');
  const crc = crc32(Uint8Array.from(bytes));
  if (!(await input.fill(4))) truncated();
  if (le32(input.buf, input.pos) !== crc) corrupt('index CRC32 mismatch');
  input.pos += 4;
  return bytes.length + 4;
}
