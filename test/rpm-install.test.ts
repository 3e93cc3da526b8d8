// The installer against Debian's rpm 4.18: what we install rpm verifies and erases; upgrades
// and erases keep changed %config files as rpm does; scriptlets run chrooted with rpm's $1;
// packages that would write outside the root are refused with nothing written.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { copyFile, lstat, mkdir, readFile, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { erasePackages, installPackages } from '../src/rpm/install.ts';
import { openRpmdb } from '../src/rpm/rpmdb.ts';
import { packRpm } from '../src/rpm/pack.ts';
import { readPackage, rewriteSignature } from '../src/rpm/package.ts';
import { buildRpm, hostRpm } from './kit/rpmbuild.ts';
import { cleanup, tempDir } from './kit/tmp.ts';
import { isPhotonError } from '../src/util/errors.ts';

const isRoot = process.getuid?.() === 0;
let work: string;
const pkgs: Record<string, string> = {};

const foo = (version: string, conf: string, extra: string[] = []) => ({
  name: 'foo', version,
  preamble: ['Provides: fooprov'],
  install: [
    'mkdir -p $RPM_BUILD_ROOT/etc $RPM_BUILD_ROOT/usr/bin $RPM_BUILD_ROOT/usr/share/foo',
    `echo ${conf} > $RPM_BUILD_ROOT/etc/foo.conf`,
    `echo plain-${version} > $RPM_BUILD_ROOT/etc/foo.plain`,
    "printf '#!/bin/sh\\necho hi\\n' > $RPM_BUILD_ROOT/usr/bin/foo && chmod 4755 $RPM_BUILD_ROOT/usr/bin/foo",
    'ln -s ../../bin/foo $RPM_BUILD_ROOT/usr/share/foo/link',
    'echo a > $RPM_BUILD_ROOT/usr/share/foo/hard1 && ln $RPM_BUILD_ROOT/usr/share/foo/hard1 $RPM_BUILD_ROOT/usr/share/foo/hard2',
    ...extra.map((f) => `echo ${version} > $RPM_BUILD_ROOT${f}`),
  ],
  files: ['%config(noreplace) /etc/foo.conf', '%config /etc/foo.plain', '%attr(4755,root,daemon) /usr/bin/foo', '%dir /usr/share/foo',
    '/usr/share/foo/link', '/usr/share/foo/hard1', '/usr/share/foo/hard2', ...extra],
  scripts: Object.fromEntries(['pre', 'post', 'preun', 'postun'].map((s) => [s, [`echo "${s}-${version} $1" >> /scripts.log`]])),
});

/** A root where /bin/sh runs: the host's dash and the libraries ldd names. */
async function rootWithShell(name: string): Promise<string> {
  const root = join(work, name);
  const dash = '/bin/dash';
  const libs = spawnSync('ldd', [dash]).stdout.toString().match(/\/\S+/g) ?? [];
  for (const f of [dash, ...libs]) {
    await mkdir(join(root, dirname(f)), { recursive: true });
    await copyFile(f, join(root, f));
  }
  await symlink('dash', join(root, 'bin/sh'));
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1::/:/bin/false\n');
  await writeFile(join(root, 'etc/group'), 'root:x:0:\ndaemon:x:7:\n');
  return root;
}

before(async () => {
  work = await tempDir('install');
  pkgs.foo1 = await buildRpm(work, foo('1.0', 'conf-1', ['/usr/share/foo/only-in-1']));
  pkgs.foo2 = await buildRpm(work, foo('2.0', 'conf-2', ['/usr/share/foo/only-in-2']));
  pkgs.bar = await buildRpm(work, {
    name: 'bar', install: ['mkdir -p $RPM_BUILD_ROOT/usr/lib/bar', 'echo x > $RPM_BUILD_ROOT/usr/lib/bar/x'], files: ['/usr/lib/bar/x'],
  });
  pkgs.clash = await buildRpm(work, { name: 'clash', install: ['mkdir -p $RPM_BUILD_ROOT/usr/lib/bar', 'echo other > $RPM_BUILD_ROOT/usr/lib/bar/x'], files: ['/usr/lib/bar/x'] });
  pkgs.evillink = await buildRpm(work, { name: 'evillink', install: ['ln -s ../../../../../../outside $RPM_BUILD_ROOT/evil'], files: ['/evil'] });
  pkgs.underevil = await buildRpm(work, { name: 'underevil', install: ['mkdir -p $RPM_BUILD_ROOT/evil', 'echo pwned > $RPM_BUILD_ROOT/evil/x'], files: ['/evil/x'] });
});

after(async () => {
  await cleanup(work);
});

const read = (root: string, p: string) => readFile(join(root, p), 'utf8');
const qa = async (root: string) => (await hostRpm(root, ['-qa', '--qf', '%{NAME}-%{VERSION}\\n'])).stdout.toString().trim().split('\n').filter(Boolean).sort();

describe('install and erase', { skip: !isRoot && 'needs root (chown, chroot)' }, () => {
  test('fresh install: files, modes, owners, links as rpm -V expects; %pre/%post get $1=1', async () => {
    const root = await rootWithShell('r1');
    const report = await installPackages(root, [pkgs.foo1!, pkgs.bar!]);
    assert.deepEqual(report.installed.sort(), ['bar-1.0-1.noarch', 'foo-1.0-1.noarch']);
    assert.deepEqual(report.warnings, []);
    assert.deepEqual(await qa(root), ['bar-1.0', 'foo-1.0']);
    const v = await hostRpm(root, ['-V', '--nodeps', '--noscripts', '-a'], true);
    assert.equal(v.stdout.toString(), '', v.stdout.toString());
    const st = await lstat(join(root, 'usr/bin/foo'));
    assert.equal(st.mode & 0o7777, 0o4755);
    assert.equal(st.gid, 7);
    assert.equal(await readlink(join(root, 'usr/share/foo/link')), '../../bin/foo');
    assert.equal((await lstat(join(root, 'usr/share/foo/hard1'))).ino, (await lstat(join(root, 'usr/share/foo/hard2'))).ino);
    assert.equal(await read(root, 'scripts.log'), 'pre-1.0 1\npost-1.0 1\n');
    // No temporary names left behind.
    assert.deepEqual((await readdir(join(root, 'usr/share/foo'))).filter((n) => n.includes(';')), []);
  });

  test('upgrade keeps a changed %config(noreplace), writes .rpmnew, saves a changed %config; scripts in rpm order', async () => {
    const root = join(work, 'r1');
    await writeFile(join(root, 'etc/foo.conf'), 'mine\n');
    await writeFile(join(root, 'etc/foo.plain'), 'mine too\n');
    const report = await installPackages(root, [pkgs.foo2!]);
    assert.deepEqual(report.erased, ['foo-1.0-1.noarch']);
    assert.equal(await read(root, 'etc/foo.conf'), 'mine\n');
    assert.equal(await read(root, 'etc/foo.conf.rpmnew'), 'conf-2\n');
    assert.equal(await read(root, 'etc/foo.plain'), 'plain-2.0\n');
    assert.equal(await read(root, 'etc/foo.plain.rpmsave'), 'mine too\n');
    assert.ok(!existsSync(join(root, 'usr/share/foo/only-in-1')));
    assert.equal(await read(root, 'usr/share/foo/only-in-2'), '2.0\n');
    assert.deepEqual(await qa(root), ['bar-1.0', 'foo-2.0']);
    assert.equal(await read(root, 'scripts.log'), 'pre-1.0 1\npost-1.0 1\npre-2.0 2\npost-2.0 2\npreun-1.0 1\npostun-1.0 1\n');
    await assert.rejects(installPackages(root, [pkgs.foo2!]), (e) => isPhotonError(e) && e.code === 'E_INSTALL_ALREADY');
    await assert.rejects(installPackages(root, [pkgs.foo1!]), (e) => isPhotonError(e) && e.code === 'E_INSTALL_OLDER');
  });

  test('a file another package owns differently is a conflict; nothing is written', async () => {
    const root = join(work, 'r1');
    await assert.rejects(installPackages(root, [pkgs.clash!]), (e) => isPhotonError(e) && e.code === 'E_INSTALL_CONFLICT');
    assert.equal(await read(root, 'usr/lib/bar/x'), 'x\n');
    assert.deepEqual(await qa(root), ['bar-1.0', 'foo-2.0']);
  });

  test('erase keeps a changed %config as .rpmsave, removes the rest and empty dirs; $1=0', async () => {
    const root = join(work, 'r1');
    await erasePackages(root, ['foo']);
    assert.deepEqual(await qa(root), ['bar-1.0']);
    assert.equal(await read(root, 'etc/foo.conf.rpmsave'), 'mine\n');
    assert.ok(!existsSync(join(root, 'etc/foo.conf')));
    assert.ok(!existsSync(join(root, 'usr/bin/foo')));
    assert.ok(!existsSync(join(root, 'usr/share/foo')));
    assert.ok((await read(root, 'scripts.log')).endsWith('preun-2.0 0\npostun-2.0 0\n'));
    await assert.rejects(erasePackages(root, ['foo']), (e) => isPhotonError(e) && e.code === 'E_ERASE_NOT_INSTALLED');
  });

  test("rpm -e removes what we installed; we erase what rpm installed", async () => {
    const root = await rootWithShell('r2');
    await installPackages(root, [pkgs.foo1!], { noscripts: true });
    await hostRpm(root, ['-e', '--noscripts', 'foo']);
    assert.ok(!existsSync(join(root, 'usr/bin/foo')));
    await hostRpm(root, ['-i', '--nodeps', '--noscripts', pkgs.foo1!]);
    await erasePackages(root, ['foo-1.0-1'], { noscripts: true });
    assert.ok(!existsSync(join(root, 'usr/bin/foo')));
    assert.deepEqual(await qa(root), []);
  });

  test('--justdb records without touching files', async () => {
    const root = join(work, 'r3');
    await installPackages(root, [pkgs.bar!], { justdb: true });
    assert.ok(!existsSync(join(root, 'usr/lib/bar/x')));
    assert.deepEqual(await qa(root), ['bar-1.0']);
  });
});

describe('escapes are refused with nothing written', { skip: !isRoot && 'needs root' }, () => {
  async function snapshot(dir: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (d: string) => {
      for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
        out.push(join(d, e.name));
        if (e.isDirectory()) await walk(join(d, e.name));
      }
    };
    await walk(dir);
    return out.sort();
  }

  test('a directory symlink in the root that climbs out', async () => {
    const root = join(work, 'esc1', 'root');
    await mkdir(join(work, 'esc1', 'outside'), { recursive: true });
    await mkdir(root, { recursive: true });
    await symlink('../../outside', join(root, 'usr'));
    const before = await snapshot(join(work, 'esc1'));
    await assert.rejects(installPackages(root, [pkgs.bar!]), (e) => isPhotonError(e) && e.code === 'E_INSTALL_UNSAFE_PATH');
    const afterList = (await snapshot(join(work, 'esc1'))).filter((p) => !p.includes('/var'));
    assert.deepEqual(afterList, before);
  });

  test('an absolute symlink is followed inside the root, as chroot would', async () => {
    const root = join(work, 'esc2');
    await mkdir(join(root, 'real'), { recursive: true });
    await symlink('/real', join(root, 'usr'));
    await installPackages(root, [pkgs.bar!]);
    assert.equal(await read(root, 'real/lib/bar/x'), 'x\n');
  });

  test("a symlink another package installed, pointing out, is not followed", async () => {
    const root = join(work, 'esc3');
    await installPackages(root, [pkgs.evillink!]);
    await assert.rejects(installPackages(root, [pkgs.underevil!]), (e) => isPhotonError(e) && e.code === 'E_INSTALL_UNSAFE_PATH');
    assert.ok(!existsSync(join(work, 'outside')));
    assert.deepEqual(await qa(root), ['evillink-1.0']);
  });

  test("a payload path with '..' (digests valid) is refused before extraction", async () => {
    // Pack /xx/evil uncompressed, then turn "xx" into ".." in header and payload and redo the digests.
    const bytes = await packRpm({ name: 'dotdot', version: '1', compression: 'none', files: [{ path: '/xx/evil', type: 'file', data: new TextEncoder().encode('pwned\n') }] });
    const buf = Buffer.from(bytes);
    const pkg0 = readPackage(bytes);
    const patch = (from: number, to: number, a: string, b: string) => {
      for (let i = buf.indexOf(a, from); i >= 0 && i < to; i = buf.indexOf(a, i + 1)) buf.write(b, i);
    };
    patch(pkg0.payloadOffset, buf.length, './xx/', './../');
    patch(pkg0.headerOffset, pkg0.payloadOffset, '/xx/', '/../');
    const oldPayloadDigest = createHash('sha256').update(bytes.subarray(pkg0.payloadOffset)).digest('hex');
    patch(pkg0.headerOffset, pkg0.payloadOffset, oldPayloadDigest, createHash('sha256').update(buf.subarray(pkg0.payloadOffset)).digest('hex'));
    const headerBytes = buf.subarray(pkg0.headerOffset, pkg0.payloadOffset);
    const entries = new Map(pkg0.signature.entries);
    entries.set(269, { type: 6, value: createHash('sha1').update(headerBytes).digest('hex') });
    entries.set(273, { type: 6, value: createHash('sha256').update(headerBytes).digest('hex') });
    entries.set(1004, { type: 7, value: createHash('md5').update(buf.subarray(pkg0.headerOffset)).digest() });
    const evil = rewriteSignature(readPackage(buf), buf, entries);
    const file = join(work, 'dotdot.rpm');
    await writeFile(file, evil);
    const root = join(work, 'esc4', 'root');
    await mkdir(root, { recursive: true });
    const before = await snapshot(join(work, 'esc4'));
    await assert.rejects(installPackages(root, [file]), (e) => isPhotonError(e) && /UNSAFE_PATH|E_RPM_PAYLOAD/.test(e.code));
    const afterList = (await snapshot(join(work, 'esc4'))).filter((p) => !p.includes('/var'));
    assert.deepEqual(afterList, before);
    assert.ok(!existsSync(join(work, 'esc4', 'evil')));
  });
});

describe('damaged input', () => {
  test('a corrupt rpmdb is refused naming the file, before any file is written', async () => {
    const root = join(work, 'bad-db');
    await mkdir(join(root, 'var/lib/rpm'), { recursive: true });
    await writeFile(join(root, 'var/lib/rpm/rpmdb.sqlite'), 'this is not sqlite, not at all, no, not a database. '.repeat(4));
    await assert.rejects(installPackages(root, [pkgs.bar!]), (e) => isPhotonError(e) && e.code === 'E_RPMDB_CORRUPT' && e.file === join(root, 'var/lib/rpm/rpmdb.sqlite'));
    assert.ok(!existsSync(join(root, 'usr')));
    const db = await openRpmdb(join(work, 'r3')).catch(() => undefined);
    db?.close();
  });
});
