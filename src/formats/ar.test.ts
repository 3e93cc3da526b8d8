import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { onlyPhotonErrors, mutate, prng } from '../../test/kit/random.ts';
import { isPhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import { type ArWriteMember, readAr, writeAr } from './ar.ts';

const enc = new TextEncoder();
let dir: string;
before(async () => {
  dir = await tempDir('ar');
});
after(() => cleanup(dir));

const MEMBERS: ArWriteMember[] = [
  { name: 'debian-binary', data: enc.encode('2.0\n'), mtime: 1700000000, mode: 0o100644 },
  { name: 'odd', data: enc.encode('abc'), uid: 1000, gid: 100, mode: 0o100755 },
  { name: 'a-name-longer-than-fifteen.bin', data: new Uint8Array(1001).fill(7) },
  { name: 'empty', data: new Uint8Array(0) },
  { name: 'another-quite-long-member-name', data: enc.encode('x') },
];

const plain = (m: { name: string; data: Uint8Array }) => ({ name: m.name, data: [...m.data] });

test('round trip, with long names, odd sizes and defaults', () => {
  const bytes = writeAr(MEMBERS);
  const got = readAr(bytes);
  assert.deepEqual(got.map(plain), MEMBERS.map(plain));
  assert.deepEqual(
    got.map((m) => [m.mtime, m.uid, m.gid, m.mode, m.size]),
    [[1700000000, 0, 0, 0o100644, 4], [0, 1000, 100, 0o100755, 3], [0, 0, 0, 0o100644, 1001], [0, 0, 0, 0o100644, 0], [0, 0, 0, 0o100644, 1]],
  );
  // Members are views into the archive, not copies.
  assert.equal(got[0]!.data.buffer, bytes.buffer);
  assert.throws(() => writeAr([{ name: 'a/b', data: new Uint8Array() }]), (e: unknown) => isPhotonError(e) && e.code === 'E_AR');
});

test('GNU ar reads ours and we read GNU ar', async () => {
  const ours = join(dir, 'ours.a');
  await writeFile(ours, writeAr(MEMBERS));
  const listed = (await run('ar', ['t', ours])).stdout.toString();
  assert.equal(listed, MEMBERS.map((m) => m.name + '\n').join(''));
  for (const m of MEMBERS) {
    const out = (await run('ar', ['p', ours, m.name])).stdout;
    assert.deepEqual([...out], [...m.data], m.name);
  }
  const tv = (await run('ar', ['tv', ours])).stdout.toString();
  assert.match(tv, /^rwxr-xr-x 1000\/100\s+3 .* odd$/m);

  // Theirs: real files (one with a long name, one of odd size), in deterministic and real-time mode.
  const src = join(dir, 'src');
  await run('mkdir', ['-p', src]);
  const files: Record<string, Uint8Array> = {
    'short.txt': enc.encode('short\n'),
    'odd-size': enc.encode('12345'),
    'this-name-is-definitely-longer-than-sixteen.o': new Uint8Array(333).map((_, i) => i & 0xff),
  };
  for (const [n, d] of Object.entries(files)) await writeFile(join(src, n), d);
  for (const flags of ['rcD', 'rcU']) {
    const theirs = join(dir, `theirs-${flags}.a`);
    await run('ar', [flags, theirs, ...Object.keys(files)], { cwd: src });
    const got = readAr(await readFile(theirs), theirs);
    assert.deepEqual(got.map(plain), Object.entries(files).map(([name, data]) => plain({ name, data })));
    // Deterministic mode writes bare permission bits; otherwise ar copies st_mode.
    if (flags === 'rcD') assert.deepEqual(got.map((m) => [m.mtime, m.uid, m.gid, m.mode]), got.map(() => [0, 0, 0, 0o644]));
    else assert.ok(got.every((m) => m.mtime > 1600000000 && m.mode === 0o100644), JSON.stringify(got.map((m) => [m.mtime, m.mode])));
  }
  // An archive with a symbol index: the index is skipped, as `ar t` does.
  const obj = enc.encode('not really an object');
  await writeFile(join(src, 'plain.txt'), obj);
  await run('ar', ['rcs', join(dir, 'sym.a'), 'plain.txt'], { cwd: src });
  assert.deepEqual(readAr(await readFile(join(dir, 'sym.a'))).map((m) => m.name), ['plain.txt']);
});

test('BSD long names (#1/LEN) put the name in front of the data', () => {
  const name = 'a-bsd-style-long-name.txt';
  const body = enc.encode('hello');
  const head = '#1/' + name.length;
  const size = name.length + body.length;
  const bytes = Buffer.concat([
    Buffer.from('!<arch>\n'),
    Buffer.from(head.padEnd(16) + '0'.padEnd(12) + '0'.padEnd(6) + '0'.padEnd(6) + '100644'.padEnd(8) + String(size).padEnd(10) + '`\n'),
    Buffer.from(name),
    body,
  ]);
  const [m] = readAr(bytes);
  assert.equal(m!.name, name);
  assert.deepEqual([...m!.data], [...body]);
  assert.equal(m!.size, 5);
});

test('a real .deb: members, and what dpkg-deb says about it', async () => {
  const debDir = join(dir, 'deb');
  await run('mkdir', ['-p', debDir]);
  await run('apt-get', ['download', '-q', 'hello'], { cwd: debDir });
  const deb = join(debDir, (await readdir(debDir)).find((f) => f.endsWith('.deb'))!);
  const members = readAr(await readFile(deb), deb);
  assert.deepEqual(members.map((m) => m.name.replace(/\.tar\..*/, '.tar')), ['debian-binary', 'control.tar', 'data.tar']);
  assert.equal(new TextDecoder().decode(members[0]!.data), '2.0\n');
  // Every member's bytes are what ar p extracts.
  for (const m of members) assert.deepEqual(Buffer.from(m.data), (await run('ar', ['p', deb, m.name])).stdout, m.name);
  // And the archive we write from those members is one dpkg-deb accepts as the same package.
  const copy = join(debDir, 'copy.deb');
  await writeFile(copy, writeAr(members.map((m) => ({ name: m.name, data: m.data, mode: 0o100644 }))));
  const fields = async (f: string) => (await run('dpkg-deb', ['-f', f])).stdout.toString();
  assert.equal(await fields(copy), await fields(deb));
  assert.equal((await run('dpkg-deb', ['-c', copy])).stdout.toString(), (await run('dpkg-deb', ['-c', deb])).stdout.toString());
});

test('bad input is E_AR naming the file', () => {
  const good = writeAr(MEMBERS);
  const bad = (b: Uint8Array, re: RegExp) =>
    assert.throws(() => readAr(b, 'x.deb'), (e: unknown) => isPhotonError(e) && e.code === 'E_AR' && e.file === 'x.deb' && re.test(e.message));
  bad(enc.encode('!<arch>'), /magic/);
  bad(enc.encode('PK\x03\x04 not an ar'), /magic/);
  bad(good.subarray(0, 30), /truncated member header/);
  bad(writeAr([{ name: 'big', data: new Uint8Array(100) }]).subarray(0, 8 + 60 + 90), /truncated data/);
  const hdr = good.slice();
  hdr[8 + 58] = 0x41;
  bad(hdr, /bad member header/);
  const sz = good.slice();
  sz.set(enc.encode('12x'), 8 + 48);
  bad(sz, /bad size/);
  // A long-name reference without the table before it.
  const noTable = Buffer.concat([Buffer.from('!<arch>\n'), Buffer.from('/0'.padEnd(48) + '0'.padEnd(10) + '`\n')]);
  bad(noTable, /no \/\/ name table/);
});

test('fuzz: mutated archives read or fail with PhotonError only', () => {
  const rnd = prng(0xa7);
  const base = writeAr(MEMBERS);
  for (let i = 0; i < 3000; i++) onlyPhotonErrors(`iteration ${i}`, () => readAr(mutate(rnd, base)));
});
