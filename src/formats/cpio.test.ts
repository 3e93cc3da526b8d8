import assert from 'node:assert/strict';
import { test } from 'node:test';
import { onlyPhotonErrors, prng } from '../../test/kit/random.ts';
import { run } from '../util/run.ts';
import { isPhotonError } from '../util/errors.ts';
import { type CpioEntry, readCpio, writeCpio, writeStrippedEntry } from './cpio.ts';

const enc = new TextEncoder();

function entry(name: string, data: string | Uint8Array, mode = 0o100644, extra: Partial<CpioEntry> = {}): CpioEntry {
  const d = typeof data === 'string' ? enc.encode(data) : data;
  return { name, ino: 1, mode, uid: 0, gid: 0, nlink: 1, mtime: 1700000000, size: d.length, devMajor: 0, devMinor: 1, rdevMajor: 0, rdevMinor: 0, data: d, ...extra };
}

async function* chunked(b: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function readAll(b: Uint8Array, size = 1 << 16, opts: Parameters<typeof readCpio>[1] = {}): Promise<CpioEntry[]> {
  const out: CpioEntry[] = [];
  for await (const e of readCpio(chunked(b, size), opts)) out.push(e);
  return out;
}

const ENTRIES = [
  entry('./etc', new Uint8Array(0), 0o40755, { nlink: 2 }),
  entry('./etc/a.conf', 'a=1\n'),
  entry('./usr/bin/tool', 'x'.repeat(1001), 0o100755, { ino: 7 }),
  entry('./usr/bin/link', 'tool', 0o120777),
  entry('./empty', ''),
];

test('newc round trip, any chunking', async () => {
  const bytes = writeCpio(ENTRIES);
  assert.equal(bytes.length % 4, 0);
  for (const size of [1, 3, 7, 110, 4096]) {
    const got = await readAll(bytes, size);
    assert.deepEqual(got.map((e) => ({ ...e, data: [...e.data] })), ENTRIES.map((e) => ({ ...e, data: [...e.data] })));
  }
});

test('GNU cpio reads what we write, and we read what it writes', async () => {
  const bytes = writeCpio(ENTRIES);
  const listed = (await run('cpio', ['-t', '--quiet'], { input: bytes })).stdout.toString();
  assert.equal(listed, ENTRIES.map((e) => e.name + '\n').join(''));
  const theirs = (await run('cpio', ['-o', '-H', 'newc', '--quiet'], { cwd: '/etc', input: 'hostname\npasswd\n' })).stdout;
  const got = await readAll(new Uint8Array(theirs));
  assert.deepEqual(got.map((e) => e.name), ['hostname', 'passwd']);
});

test('stripped 07070X entries take their sizes from the header', async () => {
  const sizes = [5, 0, 13];
  const datas = sizes.map((n, i) => new Uint8Array(n).fill(65 + i));
  const parts: Uint8Array[] = [];
  let off = 0;
  for (const [i, d] of datas.entries()) {
    const p = writeStrippedEntry(i, d, off);
    parts.push(p);
    off += p.length;
  }
  const trailer = writeCpio([]); // the newc trailer, at an offset that is a multiple of 4
  assert.equal(off % 4, 0);
  const all = new Uint8Array(off + trailer.length);
  let p = 0;
  for (const b of [...parts, trailer]) {
    all.set(b, p);
    p += b.length;
  }
  const got = await readAll(all, 5, { sizeOf: (i) => sizes[i]! });
  assert.deepEqual(got.map((e) => [e.fileIndex, [...e.data]]), datas.map((d, i) => [i, [...d]]));
  // Without the header's sizes, or with an index the header lacks: E_CPIO.
  await assert.rejects(readAll(all), (e: unknown) => isPhotonError(e) && e.code === 'E_CPIO' && /stripped/.test(e.message));
  await assert.rejects(readAll(all, 64, { sizeOf: (i) => (i < 1 ? 5 : -1) }), (e: unknown) => isPhotonError(e) && /does not list/.test(e.message));
  // A function argument is accepted as the sizeOf callback.
  assert.equal((await readAll(all, 64, (i: number) => sizes[i]!)).length, 3);
});

test('bad magic, truncation, absurd sizes and names are E_CPIO', async () => {
  const good = writeCpio(ENTRIES);
  const bad = async (b: Uint8Array, re: RegExp, opts: Parameters<typeof readCpio>[1] = {}) =>
    assert.rejects(readAll(b, 64, opts), (e: unknown) => isPhotonError(e) && e.code === 'E_CPIO' && re.test(e.message));
  const m = good.slice();
  m[0] = 0x58;
  await bad(m, /bad magic/);
  await bad(good.subarray(0, 0), /empty/);
  for (const cut of [50, 115, 200, good.length - 20]) await bad(good.subarray(0, cut), /truncated/);
  const name = good.slice();
  name.set(enc.encode('FFFFFFFF'), 94);
  await bad(name, /absurd name size/);
  const size = good.slice();
  size.set(enc.encode('7FFFFFFF'), 54);
  await bad(size, /absurd size|truncated/);
  await bad(good, /absurd size/, { maxFileSize: 10 });
  const hex = good.slice();
  hex[20] = 0x7a;
  await bad(hex, /non-hex/);
});

test('fuzz: mutated archives read or fail with PhotonError only', async () => {
  const rnd = prng(0xc910);
  const base = writeCpio(ENTRIES);
  for (let i = 0; i < 2000; i++) {
    const b = base.slice(0, rnd() < 0.1 ? Math.floor(rnd() * base.length) : base.length);
    for (let k = 0; k < 1 + Math.floor(rnd() * 6) && b.length; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    await onlyPhotonErrors(`iteration ${i}`, () => readAll(b, 1 + Math.floor(rnd() * 300), { sizeOf: () => Math.floor(rnd() * 100) }));
  }
});
