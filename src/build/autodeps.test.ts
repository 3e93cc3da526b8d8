import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildRpm } from '../../test/kit/rpmbuild.ts';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { isPhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import { autoDeps } from './autodeps.ts';

let dir: string;
before(async () => {
  dir = await tempDir('autodeps');
});
after(() => cleanup(dir));

const LIB = '/lib/x86_64-linux-gnu';

/** A copy of an ELF file whose DT_SONAME entry is turned into DT_SYMBOLIC, which carries no name. */
function withoutSoname(bytes: Uint8Array): Uint8Array {
  const b = bytes.slice();
  const v = new DataView(b.buffer);
  const shoff = Number(v.getBigUint64(40, true));
  for (let i = 0; i < v.getUint16(60, true); i++) {
    const at = shoff + i * 64;
    if (v.getUint32(at + 4, true) !== 6) continue;
    const off = Number(v.getBigUint64(at + 24, true));
    const size = Number(v.getBigUint64(at + 32, true));
    for (let e = off; e < off + size; e += 16) if (v.getBigInt64(e, true) === 14n) v.setBigInt64(e, 16n, true);
  }
  return b;
}

/** path in the package → [source bytes, mode]. */
async function payload(): Promise<Map<string, [Uint8Array, number]>> {
  const enc = new TextEncoder();
  const files = new Map<string, [Uint8Array, number]>();
  const copy = async (to: string, from: string, mode: number) => files.set(to, [new Uint8Array(await readFile(from)), mode]);
  await copy('/usr/bin/bash', '/usr/bin/bash', 0o755);
  await copy('/usr/lib64/libc.so.6', `${LIB}/libc.so.6`, 0o755);
  await copy('/usr/lib64/libz.so.1', `${LIB}/libz.so.1`, 0o644); // not executable: provides only
  await copy('/usr/bin/busybox', '/bin/busybox', 0o755); // static: nothing
  await copy('/usr/share/data/bash-not-exec', '/usr/bin/bash', 0o644); // an executable without x bits: nothing
  files.set('/usr/lib64/libnosoname-1.so', [withoutSoname(new Uint8Array(await readFile(`${LIB}/libz.so.1`))), 0o755]);
  const script = (s: string, mode = 0o755) => [enc.encode(s), mode] as [Uint8Array, number];
  files.set('/usr/bin/py', script('#!/usr/bin/python3\nprint(1)\n'));
  files.set('/usr/bin/envperl', script('#!/usr/bin/env perl\nprint 1;\n'));
  files.set('/usr/bin/envabs', script('#!/usr/bin/env /usr/bin/perl\nprint 1;\n'));
  files.set('/usr/bin/envmore', script('#!/usr/bin/env /usr/bin/foo bar >= 2\n'));
  files.set('/usr/bin/spaced', script('#!  /bin/sh -e\necho hi\n'));
  files.set('/usr/share/data/not-exec.sh', script('#!/bin/zsh\necho hi\n', 0o644));
  files.set('/usr/share/data/plain.txt', script('just text\n'));
  // A 32-bit library (no "(64bit)" marker), when Debian's lib32 libc can be had.
  const debs = join(dir, 'debs');
  await mkdir(debs, { recursive: true });
  await run('apt-get', ['download', '-q', 'libc6-i386'], { cwd: debs });
  const deb = (await readdir(debs)).find((f) => f.endsWith('.deb'))!;
  await run('dpkg-deb', ['-x', join(debs, deb), join(debs, 'root')]);
  const lib32 = ['usr/lib32/libc.so.6', 'lib32/libc.so.6'].map((p) => join(debs, 'root', p)).find((p) => existsSync(p))!;
  await copy('/usr/lib/libc32.so.6', lib32, 0o755);
  return files;
}

test('autoDeps over a package tree gives what rpmbuild generates for it', async () => {
  const files = await payload();
  const src = join(dir, 'src');
  const install: string[] = [];
  for (const [path, [bytes, mode]] of files) {
    const name = path.replace(/\//g, '_');
    await writeFile(join(src, name), bytes).catch(async () => {
      await mkdir(src, { recursive: true });
      await writeFile(join(src, name), bytes);
    });
    install.push(`install -D -m ${mode.toString(8)} ${join(src, name)} $RPM_BUILD_ROOT${path}`);
  }
  const rpm = await buildRpm(dir, {
    name: 'autodeps',
    arch: 'x86_64',
    install,
    files: [...files.keys()].map((p) => `%attr(${files.get(p)![1].toString(8)},root,root) ${p}`),
  });
  const query = async (what: string) =>
    (await run('rpm', ['-qp', what, rpm])).stdout.toString().trim().split('\n')
      .filter((d) => !d.startsWith('rpmlib(') && !/^autodeps\b/.test(d));
  const theirs = { requires: (await query('--requires')).sort(), provides: (await query('--provides')).sort() };

  const requires = new Set<string>();
  const provides = new Set<string>();
  const perFile = new Map<string, ReturnType<typeof autoDeps>>();
  for (const [path, [bytes, mode]] of files) {
    const d = autoDeps(path, bytes, 0o100000 | mode);
    perFile.set(path, d);
    d.requires.forEach((x) => requires.add(x));
    d.provides.forEach((x) => provides.add(x));
  }
  assert.deepEqual({ requires: [...requires].sort(), provides: [...provides].sort() }, theirs);

  // The cases the comparison must have covered, so that it cannot pass on an empty package.
  const bash = perFile.get('/usr/bin/bash')!;
  assert.ok(bash.requires.includes('libc.so.6()(64bit)') && bash.requires.includes('libc.so.6(GLIBC_2.2.5)(64bit)') && bash.requires.includes('rtld(GNU_HASH)'));
  assert.deepEqual(bash.provides, []);
  const libc = perFile.get('/usr/lib64/libc.so.6')!;
  assert.ok(libc.provides.includes('libc.so.6()(64bit)') && libc.provides.includes('libc.so.6(GLIBC_2.34)(64bit)'));
  assert.ok(!libc.requires.includes('rtld(GNU_HASH)'), 'libc has DT_HASH too');
  assert.deepEqual(perFile.get('/usr/lib64/libz.so.1')!.requires, []);
  assert.ok(perFile.get('/usr/lib64/libz.so.1')!.provides.includes('libz.so.1(ZLIB_1.2.9)(64bit)'));
  assert.ok(perFile.get('/usr/lib64/libnosoname-1.so')!.provides.includes('libnosoname-1.so()(64bit)'));
  assert.deepEqual(perFile.get('/usr/bin/busybox'), { requires: [], provides: [] });
  assert.deepEqual(perFile.get('/usr/share/data/bash-not-exec'), { requires: [], provides: [] });
  assert.ok(perFile.get('/usr/lib/libc32.so.6')!.provides.includes('libc.so.6(GLIBC_2.0)'));
  assert.ok(perFile.get('/usr/lib/libc32.so.6')!.requires.includes('ld-linux.so.2'));
  assert.deepEqual(perFile.get('/usr/bin/envabs')!.requires, ['/usr/bin/env', '/usr/bin/perl']);
  assert.deepEqual(perFile.get('/usr/bin/envperl')!.requires, ['/usr/bin/env']);
  assert.deepEqual(perFile.get('/usr/bin/envmore')!.requires, ['/usr/bin/env', '/usr/bin/foo', 'bar >= 2']);
  assert.deepEqual(perFile.get('/usr/bin/spaced')!.requires, ['/bin/sh']);
  assert.deepEqual(perFile.get('/usr/share/data/not-exec.sh')!.requires, []);
});

test('an env line rpm cannot read fails here as it fails rpmbuild', async () => {
  const line = '#!/usr/bin/env /usr/bin/perl -w\nprint 1;\n';
  assert.throws(() => autoDeps('/usr/bin/x', new TextEncoder().encode(line), 0o100755), (e: unknown) => isPhotonError(e) && e.code === 'E_AUTODEPS' && e.file === '/usr/bin/x' && /"-w"/.test(e.message));
  const src = join(dir, 'bad-script');
  await writeFile(src, line);
  await assert.rejects(
    buildRpm(dir, { name: 'badscript', install: [`install -D -m 755 ${src} $RPM_BUILD_ROOT/usr/bin/x`], files: ['/usr/bin/x'] }),
    /Dependency tokens must begin with alpha-numeric/,
  );
});

test('non-regular files and corrupt ELF give nothing; the result is sorted', () => {
  const script = new TextEncoder().encode('#!/bin/sh\n');
  assert.deepEqual(autoDeps('/l', script, 0o120777), { requires: [], provides: [] });
  assert.deepEqual(autoDeps('/s', script, 0o755), { requires: ['/bin/sh'], provides: [] });
  const elf = new Uint8Array(64);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  new DataView(elf.buffer).setBigUint64(40, 1n << 40n, true); // section headers far past the end
  assert.deepEqual(autoDeps('/usr/lib64/libbroken.so', elf, 0o100755), { requires: [], provides: [] });
});
