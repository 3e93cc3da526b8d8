import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import { isPhotonError } from '../util/errors.ts';
import { type CpioEntry, writeCpio } from '../formats/cpio.ts';
import { type HeaderValue, REGION_IMMUTABLE, TagType, writeHeader } from '../formats/rpm-header.ts';
import { packRpm } from './pack.ts';
import { type PackageFile, packageFiles, packageInfo, readPackage, rewriteSignature, verifyDigests, writeLead } from './package.ts';
import { SIGTAG, TAG } from './tags.ts';

const enc = new TextEncoder();
const str = (value: string): HeaderValue => ({ type: TagType.STRING, value });
const strs = (value: string[]): HeaderValue => ({ type: TagType.STRING_ARRAY, value });
const i32 = (value: number[]): HeaderValue => ({ type: TagType.INT32, value });
const i16 = (value: number[]): HeaderValue => ({ type: TagType.INT16, value });

interface F { path: string; mode: number; data?: string; linkTo?: string }

/** A package assembled by hand, so the payload can disagree with the header. */
function craft(files: F[], payload: CpioEntry[]): Uint8Array {
  const dirs = [...new Set(files.map((f) => f.path.slice(0, f.path.lastIndexOf('/') + 1)))];
  const h = new Map<number, HeaderValue>([
    [TAG.NAME, str('evil')], [TAG.VERSION, str('1')], [TAG.RELEASE, str('1')], [TAG.ARCH, str('noarch')], [TAG.OS, str('linux')],
    [TAG.FILESIZES, i32(files.map((f) => (f.data ?? f.linkTo ?? '').length))], [TAG.FILEMODES, i16(files.map((f) => f.mode))],
    [TAG.FILELINKTOS, strs(files.map((f) => f.linkTo ?? ''))],
    [TAG.BASENAMES, strs(files.map((f) => f.path.slice(f.path.lastIndexOf('/') + 1)))],
    [TAG.DIRNAMES, strs(dirs)], [TAG.DIRINDEXES, i32(files.map((f) => dirs.indexOf(f.path.slice(0, f.path.lastIndexOf('/') + 1))))],
    [TAG.PAYLOADFORMAT, str('cpio')],
  ]);
  const header = writeHeader(h, { magic: true, region: REGION_IMMUTABLE });
  const body = writeCpio(payload);
  const sig = writeHeader(new Map([[SIGTAG.SIZE, i32([header.length + body.length])]]), { magic: true, region: 62 });
  const pad = new Uint8Array((8 - (sig.length % 8)) % 8);
  // A plain Uint8Array: Buffer's slice() shares memory, and tests mutate copies.
  return new Uint8Array(Buffer.concat([writeLead({ name: 'evil-1-1', arch: 1, os: 1, type: 0 }), sig, pad, header, body]));
}

function ent(name: string, data: string, mode = 0o100644): CpioEntry {
  const d = enc.encode(data);
  return { name, ino: 1, mode, uid: 0, gid: 0, nlink: 1, mtime: 0, size: d.length, devMajor: 0, devMinor: 0, rdevMajor: 0, rdevMinor: 0, data: d };
}

async function files(bytes: Uint8Array): Promise<PackageFile[]> {
  const pkg = readPackage(bytes, 'evil.rpm');
  const out: PackageFile[] = [];
  for await (const f of packageFiles(pkg, bytes)) out.push(f);
  return out;
}

const payloadError = (re: RegExp) => (e: unknown) => isPhotonError(e) && e.code === 'E_RPM_PAYLOAD' && e.file === 'evil.rpm' && re.test(e.message);

test('a crafted package reads when payload and header agree', async () => {
  const got = await files(craft([{ path: '/etc/a', mode: 0o100644, data: 'abc' }], [ent('./etc/a', 'abc')]));
  assert.equal(got.length, 1);
  assert.equal(new TextDecoder().decode(got[0]!.data), 'abc');
});

test('payload path with .. is refused', async () => {
  const b = craft([{ path: '/etc/a', mode: 0o100644, data: 'abc' }], [ent('./etc/../../etc/passwd', 'abc')]);
  await assert.rejects(files(b), payloadError(/'\.\.'/));
});

test('absolute payload path not in the header is refused', async () => {
  const b = craft([{ path: '/etc/a', mode: 0o100644, data: 'abc' }], [ent('/etc/shadow', 'abc')]);
  await assert.rejects(files(b), payloadError(/absolute path \/etc\/shadow/));
});

test('payload path not in the header is refused', async () => {
  const b = craft([{ path: '/etc/a', mode: 0o100644, data: 'abc' }], [ent('./etc/b', 'abc')]);
  await assert.rejects(files(b), payloadError(/does not list/));
});

test('a file under a symlink of the same package (escape) is refused', async () => {
  const b = craft(
    [{ path: '/usr/lib/x', mode: 0o120777, linkTo: '../../../tmp' }, { path: '/usr/lib/x/evil', mode: 0o100644, data: 'abc' }],
    [ent('./usr/lib/x', '../../../tmp', 0o120777), ent('./usr/lib/x/evil', 'abc')],
  );
  await assert.rejects(files(b), payloadError(/symlink/));
});

test('size disagreement and duplicates are refused', async () => {
  await assert.rejects(files(craft([{ path: '/a', mode: 0o100644, data: 'abc' }], [ent('./a', 'abcd')])), payloadError(/bytes/));
  await assert.rejects(files(craft([{ path: '/a', mode: 0o100644, data: 'abc' }], [ent('./a', 'abc'), ent('./a', 'abc')])), payloadError(/twice/));
});

test('header index pointing out of bounds, absurd counts: E_RPM_HEADER naming the file', async () => {
  const good = craft([{ path: '/a', mode: 0o100644, data: 'abc' }], [ent('./a', 'abc')]);
  const pkg = readPackage(good);
  const dv = new DataView(good.buffer, good.byteOffset);
  const entry1 = pkg.headerOffset + 16 + 16; // first entry after the region
  const oob = good.slice();
  new DataView(oob.buffer).setUint32(entry1 + 8, 0x7fff0000);
  assert.throws(() => readPackage(oob, 'evil.rpm'), (e: unknown) => isPhotonError(e) && e.code === 'E_RPM_HEADER' && e.file === 'evil.rpm');
  const count = good.slice();
  new DataView(count.buffer).setUint32(pkg.headerOffset + 8, 0x10000000);
  assert.throws(() => readPackage(count, 'evil.rpm'), (e: unknown) => isPhotonError(e) && e.code === 'E_RPM_HEADER' && /absurd/.test(e.message));
  void dv;
});

test('pack twice with SOURCE_DATE_EPOCH: identical bytes; contents, digests and info read back', async () => {
  const spec = {
    name: 'repro', version: '1', release: '1', buildTime: 1700000000,
    files: [
      { path: '/usr/share/repro/a.txt', type: 'file' as const, data: enc.encode('hello') },
      { path: '/usr/share/repro/b.txt', type: 'file' as const, hardlinkOf: '/usr/share/repro/a.txt' },
      { path: '/usr/share/repro', type: 'dir' as const },
      { path: '/usr/share/repro/l', type: 'symlink' as const, linkTo: 'a.txt' },
    ],
    requires: ['(a or b)', 'pre: c >= 2'],
  };
  const a = await packRpm(spec);
  const b = await packRpm(spec);
  assert.deepEqual(a, b);
  const pkg = readPackage(a);
  assert.deepEqual(verifyDigests(pkg, a), { header: 'ok', payload: 'ok' });
  const info = packageInfo(pkg.header);
  assert.equal(info.name, 'repro');
  assert.deepEqual(info.provides, [{ name: 'repro', flags: 8, evr: '1-1' }]);
  assert.ok(info.requires.some((d) => d.name === '(a or b)'));
  assert.ok(info.requires.some((d) => d.name === 'rpmlib(RichDependencies)'));
  assert.ok(info.requires.some((d) => d.name === 'c' && d.flags === (0x200 | 0x08 | 0x04) && d.evr === '2'));
  const got = new Map<string, PackageFile>();
  for await (const f of packageFiles(pkg, a)) got.set(f.path, f);
  assert.deepEqual([...got.keys()].sort(), ['/usr/share/repro', '/usr/share/repro/a.txt', '/usr/share/repro/b.txt', '/usr/share/repro/l']);
  assert.equal(got.get('/usr/share/repro/a.txt')!.nlink, 2);
  assert.equal(got.get('/usr/share/repro/a.txt')!.data, undefined);
  assert.equal(new TextDecoder().decode(got.get('/usr/share/repro/b.txt')!.data), 'hello');
  assert.equal(got.get('/usr/share/repro/a.txt')!.digest, createHash('sha256').update('hello').digest('hex'));
  assert.equal(got.get('/usr/share/repro/l')!.linkTo, 'a.txt');
});

test('rewriteSignature keeps lead, header and payload; pads to 8', async () => {
  const bytes = await packRpm({ name: 's', version: '1', buildTime: 1 });
  const pkg = readPackage(bytes);
  for (const extra of [0, 1, 3, 7, 100]) {
    const entries = new Map(pkg.signature.entries);
    entries.set(SIGTAG.RSA, { type: TagType.BIN, value: new Uint8Array(extra + 1).fill(7) });
    const out = rewriteSignature(pkg, bytes, entries);
    const again = readPackage(out);
    assert.equal(again.headerOffset % 8, 0);
    assert.deepEqual(out.subarray(0, 96), bytes.subarray(0, 96));
    assert.deepEqual(out.subarray(again.headerOffset), bytes.subarray(pkg.headerOffset));
    assert.deepEqual(verifyDigests(again, out), { header: 'ok', payload: 'ok' });
    assert.equal(again.signature.entries.get(SIGTAG.RSA)!.value instanceof Uint8Array, true);
  }
});

test('verifyDigests: absent when the package carries none', () => {
  const b = craft([{ path: '/a', mode: 0o100644, data: 'abc' }], [ent('./a', 'abc')]);
  assert.deepEqual(verifyDigests(readPackage(b), b), { header: 'absent', payload: 'absent' });
});
