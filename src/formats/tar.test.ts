import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile, readlink, symlink, link, writeFile, chmod, lchown, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { mutate, onlyPhotonErrors, prng } from '../../test/kit/random.ts';
import { isPhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import { readAr } from './ar.ts';
import { decompressBuffer } from './decompress.ts';
import { TAR_END, type TarEntry, type TarFormat, type TarWriteEntry, normalizeTarPath, readTar, tarEntryHeader, tarPadding, writeTar } from './tar.ts';

const enc = new TextEncoder();
const UTC = { ...process.env, TZ: 'UTC', LC_ALL: 'C' };
let dir: string;
before(async () => {
  dir = await tempDir('tar');
});
after(() => cleanup(dir));

const LONG = 'deep/' + 'd'.repeat(60) + '/' + 'e'.repeat(60) + '/' + 'f'.repeat(19) + '.txt'; // 150 bytes
assert.equal(LONG.length, 150);

const ENTRIES: TarWriteEntry[] = [
  { path: 'etc', type: 'dir', mode: 0o755, mtime: 1700000000 },
  { path: 'etc/a.conf', type: 'file', mode: 0o644, data: enc.encode('a=1\n'), mtime: 1700000001, uid: 1000, gid: 100, uname: 'someone', gname: 'users' },
  { path: 'usr/bin/tool', type: 'file', mode: 0o4755, data: new Uint8Array(1500).map((_, i) => i % 251), mtime: 1700000002 },
  { path: 'usr/bin/link', type: 'symlink', mode: 0o777, linkTarget: 'tool' },
  { path: 'usr/bin/hard', type: 'hardlink', mode: 0o4755, linkTarget: 'usr/bin/tool' },
  { path: LONG, type: 'file', mode: 0o600, data: enc.encode('long\n') },
  { path: 'tmp', type: 'dir', mode: 0o1777 },
  { path: 'empty', type: 'file', mode: 0o640, data: new Uint8Array(0) },
  { path: 'dev/null', type: 'char', mode: 0o666, devMajor: 1, devMinor: 3 },
  { path: 'dev/sda', type: 'block', mode: 0o660, devMajor: 8, devMinor: 0 },
  { path: 'run/fifo', type: 'fifo', mode: 0o644 },
];

const view = (e: TarEntry) => ({ ...e, data: e.data && [...e.data] });
const expected = (e: TarWriteEntry): TarEntry => {
  const out: TarEntry = {
    path: e.path, type: e.type, mode: e.mode ?? 0, uid: e.uid ?? 0, gid: e.gid ?? 0, uname: e.uname ?? '', gname: e.gname ?? '',
    mtime: e.mtime ?? 0, size: e.data?.length ?? 0,
  };
  if (e.linkTarget) out.linkTarget = e.linkTarget;
  if (e.type === 'char' || e.type === 'block') Object.assign(out, { devMajor: e.devMajor, devMinor: e.devMinor });
  if (e.data) out.data = e.data;
  return out;
};

test('round trip in each format; data are views into the archive', () => {
  for (const format of ['gnu', 'pax', 'ustar'] as const) {
    const bytes = writeTar(ENTRIES, { format });
    assert.equal(bytes.length % 512, 0);
    const got = readTar(bytes);
    assert.deepEqual(got.map(view), ENTRIES.map(expected).map(view), format);
    assert.equal(got[1]!.data!.buffer, bytes.buffer);
    // Deterministic: the same entries give the same bytes.
    assert.deepEqual(writeTar(ENTRIES, { format }), bytes);
  }
});

test('numbers beyond octal: base-256 in gnu, pax records in pax, refused in ustar', async () => {
  const big: TarWriteEntry = { path: 'big', type: 'file', data: enc.encode('x'), uid: 3_000_000, gid: 2_500_000, mtime: 2 ** 33 };
  const old: TarWriteEntry = { path: 'old', type: 'file', data: enc.encode('y'), mtime: -86400 };
  for (const format of ['gnu', 'pax'] as const) {
    const got = readTar(writeTar([big, old], { format }));
    assert.deepEqual(got.map((e) => [e.uid, e.gid, e.mtime]), [[3_000_000, 2_500_000, 2 ** 33], [0, 0, -86400]], format);
    const listed = (await run('tar', ['-tvf', '-'], { input: writeTar([big, old], { format }), env: UTC })).stdout.toString();
    assert.match(listed, /^-rw-r--r-- 3000000\/2500000 +1 2242-03-16 12:56 big\n-rw-r--r-- 0\/0 +1 1969-12-31 00:00 old\n$/, format);
  }
  assert.throws(() => writeTar([big], { format: 'ustar' }), (e: unknown) => isPhotonError(e) && e.code === 'E_TAR' && /does not fit/.test(e.message));
  assert.throws(() => writeTar([{ path: 'x'.repeat(101), type: 'file', data: new Uint8Array() }], { format: 'ustar' }), /too long for ustar/);
  // A pax path record for a name that has no "/" to split at, and for non-ASCII names.
  const odd = [{ path: 'n'.repeat(120), type: 'file' as const, data: new Uint8Array() }, { path: 'caf\u00e9/\u00fcber', type: 'dir' as const, mode: 0o755 }];
  assert.deepEqual(readTar(writeTar(odd, { format: 'pax' })).map((e) => e.path), odd.map((e) => e.path));
});

test('the streaming pieces make the same archive as writeTar', () => {
  const parts: Uint8Array[] = [];
  for (const e of ENTRIES) {
    const { data, ...meta } = e;
    parts.push(tarEntryHeader(data ? { ...meta, size: data.length } : meta, 'gnu'));
    if (data) parts.push(data, tarPadding(data.length));
  }
  parts.push(TAR_END);
  assert.deepEqual(Buffer.concat(parts), Buffer.from(writeTar(ENTRIES, { format: 'gnu' })));
  assert.equal(tarPadding(512).length, 0);
  assert.equal(tarPadding(513).length, 511);
  assert.equal(TAR_END.length, 1024);
  assert.throws(() => tarEntryHeader({ path: 'f', type: 'file' }, 'gnu'), /data or its size/);
  // A file of 9 GiB, as the image builder's disk.raw may be: its header alone.
  const h = tarEntryHeader({ path: 'disk.raw', type: 'file', size: 9 * 2 ** 30 }, 'gnu');
  const withData = new Uint8Array(h.length + 1024);
  withData.set(h);
  assert.throws(() => readTar(withData), /truncated data/);
});

/** GNU tar's `tar -tv` line for an entry, in tokens: type+mode, owner, size or dev, date, time, name[, -> target]. */
function tvTokens(e: TarEntry, numeric: boolean, prefix = ''): string[] {
  const t = { file: '-', dir: 'd', symlink: 'l', hardlink: 'h', char: 'c', block: 'b', fifo: 'p' }[e.type];
  const bit = (m: number, c: string) => (e.mode & m ? c : '-');
  const special = (x: number, exec: number, lower: string, upper: string, plain: string) =>
    e.mode & x ? (e.mode & exec ? lower : upper) : e.mode & exec ? plain : '-';
  const mode =
    t + bit(0o400, 'r') + bit(0o200, 'w') + special(0o4000, 0o100, 's', 'S', 'x') +
    bit(0o40, 'r') + bit(0o20, 'w') + special(0o2000, 0o10, 's', 'S', 'x') +
    bit(0o4, 'r') + bit(0o2, 'w') + special(0o1000, 0o1, 't', 'T', 'x');
  const owner = numeric || !e.uname ? `${e.uid}/${e.gid}` : `${e.uname}/${e.gname}`;
  const size = e.type === 'char' || e.type === 'block' ? `${e.devMajor},${e.devMinor}` : String(e.size);
  const d = new Date(e.mtime * 1000).toISOString();
  const name = e.path === '.' ? './' : prefix + e.path + (e.type === 'dir' ? '/' : '');
  const tail = e.type === 'symlink' ? ['->', e.linkTarget!] : e.type === 'hardlink' ? ['link', 'to', prefix + e.linkTarget!] : [];
  return [mode, owner, size, d.slice(0, 10), d.slice(11, 16), name, ...tail];
}

test('GNU tar lists and extracts what we write', async () => {
  for (const format of ['gnu', 'pax', 'ustar'] as const) {
    const file = join(dir, `ours-${format}.tar`);
    await writeFile(file, writeTar(ENTRIES, { format }));
    const listed = (await run('tar', ['-tvf', file, '--numeric-owner'], { env: UTC })).stdout.toString().trimEnd().split('\n');
    const mine = readTar(await readFile(file));
    assert.deepEqual(listed.map((l) => l.split(/\s+/).filter(Boolean).join(' ')), mine.map((e) => tvTokens(e, true).join(' ')), format);
    assert.ok(listed.some((l) => /^crw-rw-rw- 0\/0\s+1,3 .* dev\/null$/.test(l)), `${format}: char device listed`);

    // Extract all but the device nodes (mknod may be denied in a container) and compare.
    const out = join(dir, `x-${format}`);
    await mkdir(out);
    await run('tar', ['-xpf', file, '-C', out, '--exclude=dev/*', '--numeric-owner']);
    for (const e of ENTRIES.filter((x) => x.type !== 'char' && x.type !== 'block')) {
      const p = join(out, e.path);
      const st = await lstat(p);
      const what = `${format} ${e.path}`;
      if (e.type !== 'symlink') assert.equal(st.mode & 0o7777, e.mode, what);
      assert.equal(st.uid, e.uid ?? 0, what);
      if (e.type === 'file') assert.deepEqual(await readFile(p), Buffer.from(e.data!), what);
      if (e.type === 'file' || e.type === 'hardlink') assert.equal(st.mtimeMs / 1000, e.type === 'file' ? (e.mtime ?? 0) : 1700000002, what);
      if (e.type === 'symlink') assert.equal(await readlink(p), e.linkTarget, what);
      if (e.type === 'hardlink') assert.equal(st.ino, (await lstat(join(out, e.linkTarget!))).ino, what);
      if (e.type === 'fifo') assert.ok(st.isFIFO(), what);
      if (e.type === 'dir') assert.ok(st.isDirectory(), what);
    }
  }
});

test('we read what GNU tar writes: gnu, pax and ustar', async () => {
  const src = join(dir, 'src');
  await mkdir(join(src, 'sub'), { recursive: true });
  const longDir = join(src, LONG.slice(0, LONG.lastIndexOf('/')));
  await mkdir(longDir, { recursive: true });
  await writeFile(join(src, LONG), 'long\n');
  await writeFile(join(src, 'sub/file'), 'data\n');
  await chmod(join(src, 'sub/file'), 0o2750);
  await symlink('file', join(src, 'sub/sym'));
  await symlink('x'.repeat(120), join(src, 'sub/longsym'));
  await link(join(src, 'sub/file'), join(src, 'sub/hard'));
  await writeFile(join(src, 'big-ids'), 'ids\n');
  for (const format of ['gnu', 'pax', 'ustar'] as const) {
    // ustar can hold neither a uid past 2097151 nor a time past 2^33-1, nor a 120-byte link target.
    const [uid, mtime] = format === 'ustar' ? [100000, 2 ** 33 - 1] : [3_000_000, 2 ** 33];
    await lchown(join(src, 'big-ids'), uid, 100000);
    await utimes(join(src, 'big-ids'), mtime, mtime);
    const file = join(dir, `theirs-${format}.tar`);
    const excl = format === 'ustar' ? ['--exclude=./sub/longsym'] : [];
    await run('tar', [`--format=${format}`, '--sort=name', ...excl, '-cf', file, '-C', src, '.'], { env: UTC });
    const got = readTar(await readFile(file), file);
    const listed = (await run('tar', ['-tvf', file], { env: UTC })).stdout.toString().trimEnd().split('\n');
    assert.deepEqual(
      got.map((e) => tvTokens(e, false, './').join(' ')),
      listed.map((l) => l.split(/\s+/).filter(Boolean).join(' ')),
      format,
    );
    const by = new Map(got.map((e) => [e.path, e]));
    assert.equal(by.get('.')?.type, 'dir');
    assert.equal(new TextDecoder().decode(by.get(LONG)!.data), 'long\n');
    assert.deepEqual([by.get('sub/file')!.mode, by.get('sub/sym')!.linkTarget, by.get('sub/hard')!.linkTarget], [0o2750, 'file', 'sub/file']);
    assert.deepEqual([by.get('big-ids')!.uid, by.get('big-ids')!.gid, by.get('big-ids')!.mtime], [uid, 100000, mtime], format);
    if (format !== 'ustar') assert.equal(by.get('sub/longsym')!.linkTarget, 'x'.repeat(120));
  }
});

test('pax records: fractional times, overrides, and the global header', () => {
  const rec = (k: string, v: string) => {
    const body = ` ${k}=${v}\n`;
    const len = enc.encode(body).length;
    for (let n = len + 1; ; n++) if (String(n).length + len === n) return `${n}${body}`;
  };
  const paxData = enc.encode(rec('mtime', '1700000000.987654321') + rec('path', 'over/ridden') + rec('uname', 'zoë') + rec('size', '3') + rec('atime', '1.5'));
  const global = writeTar([{ path: 'g', type: 'file', data: enc.encode(rec('comment', 'ignored')) }], { format: 'ustar' }).subarray(0, 1024);
  global[156] = 'g'.charCodeAt(0);
  fixSum(global);
  const x = writeTar([{ path: 'x', type: 'file', data: paxData }], { format: 'ustar' }).subarray(0, 512 + Math.ceil(paxData.length / 512) * 512);
  x[156] = 'x'.charCodeAt(0);
  fixSum(x);
  const body = writeTar([{ path: 'short', type: 'file', size: 0, data: new Uint8Array(0) }], { format: 'ustar' }).subarray(0, 512);
  // The ustar header says size 0; the pax record says 3 and wins.
  const all = Buffer.concat([global, x, body, Buffer.from('abc'.padEnd(512, '\0')), TAR_END]);
  const [e, ...rest] = readTar(all);
  assert.equal(rest.length, 0);
  assert.deepEqual([e!.path, e!.mtime, e!.uname, e!.size, new TextDecoder().decode(e!.data)], ['over/ridden', 1700000000, 'zoë', 3, 'abc']);
});

function fixSum(h: Uint8Array): void {
  h.fill(0x20, 148, 156);
  let s = 0;
  for (let i = 0; i < 512; i++) s += h[i]!;
  h.set(enc.encode(s.toString(8).padStart(6, '0') + '\0 '), 148);
}

test('path normalization', () => {
  assert.deepEqual(['./a/b/', '/abs', '././x', './', '.', 'dir//'].map(normalizeTarPath), ['a/b', 'abs', 'x', '.', '.', 'dir']);
});

test("a real .deb's data.tar.xz lists as dpkg-deb -c lists it", async () => {
  const debDir = join(dir, 'deb');
  await mkdir(debDir);
  await run('apt-get', ['download', '-q', 'hello'], { cwd: debDir });
  const deb = join(debDir, (await readdir(debDir)).find((f) => f.endsWith('.deb'))!);
  const member = readAr(await readFile(deb), deb).find((m) => m.name.startsWith('data.tar'))!;
  assert.equal(member.name, 'data.tar.xz');
  const entries = readTar(await decompressBuffer('xz', member.data), `${deb}:${member.name}`);
  const theirs = (await run('dpkg-deb', ['-c', deb], { env: UTC })).stdout.toString().trimEnd().split('\n');
  assert.ok(entries.length > 10);
  assert.deepEqual(
    entries.map((e) => tvTokens(e, false, './').join(' ')),
    theirs.map((l) => l.split(/\s+/).filter(Boolean).join(' ')),
  );
  const bin = entries.find((e) => e.path === 'usr/bin/hello')!;
  assert.deepEqual([bin.type, bin.mode, bin.uname, [...bin.data!.subarray(0, 4)]], ['file', 0o755, 'root', [0x7f, 0x45, 0x4c, 0x46]]);
});

test('bad input is E_TAR naming the file', () => {
  const good = writeTar(ENTRIES, { format: 'gnu' });
  const bad = (b: Uint8Array, re: RegExp) =>
    assert.throws(() => readTar(b, 'x.tar'), (e: unknown) => isPhotonError(e) && e.code === 'E_TAR' && e.file === 'x.tar' && re.test(e.message));
  const sum = good.slice();
  sum[0] = sum[0]! ^ 1;
  bad(sum, /checksum/);
  bad(good.subarray(0, 700), /truncated/);
  bad(good.subarray(0, 300), /truncated/);
  const mode = good.slice();
  mode.set(enc.encode('09'), 100);
  fixSum(mode);
  bad(mode, /bad mode/);
  // A long-name entry with nothing after it.
  const longOnly = writeTar([{ path: LONG, type: 'file', data: new Uint8Array() }], { format: 'gnu' }).subarray(0, 1024);
  bad(Buffer.concat([longOnly, TAR_END]), /not followed by an entry/);
  const sparse = writeTar([{ path: 's', type: 'file', data: new Uint8Array() }], { format: 'gnu' });
  sparse[156] = 'S'.charCodeAt(0);
  fixSum(sparse);
  bad(sparse, /sparse/);
});

test('fuzz: mutated archives read or fail with PhotonError only', () => {
  const rnd = prng(0x7a7);
  const bases = (['gnu', 'pax'] as TarFormat[]).map((format) => writeTar([...ENTRIES, { path: 'big', type: 'file', data: enc.encode('z'), uid: 5_000_000, mtime: 2 ** 34 }], { format }));
  for (let i = 0; i < 1500; i++) onlyPhotonErrors(`iteration ${i}`, () => readTar(mutate(rnd, bases[i % 2]!)));
});
