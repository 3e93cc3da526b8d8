import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { RPMSENSE } from '../rpm/deps.ts';
import { packRpm } from '../rpm/pack.ts';
import { readPackage } from '../rpm/package.ts';
import { changelogEntries, compareLibcDep, isPrimaryFile, recordFromHeader } from './from-header.ts';

const DAY = 86400;
const T0 = 1704110400;

async function build() {
  const bytes = await packRpm({
    name: 'tool', version: '1.0', release: '1', arch: 'x86_64', buildTime: 1700000000, summary: 's', description: 'd',
    provides: ['tool-api = 1.2', 'tool-cap'],
    requires: [
      'tool-api', 'tool-cap', '/usr/bin/tool', '/usr/share/tool/data', 'libc.so.6(GLIBC_2.4)(64bit)',
      'libc.so.6(GLIBC_2.34)(64bit)', 'libc.so.6()(64bit)', 'pre: dup', 'dup', 'pretrans: pt', 'post: ps', 'foo = 2:1.0-3',
    ],
    recommends: ['rec >= 1'],
    files: [
      { path: '/usr/bin/tool', type: 'file', data: Buffer.from('x') },
      { path: '/usr/share/tool/data', type: 'file', data: Buffer.from('y') },
      { path: '/etc/tool', type: 'dir' },
      { path: '/usr/bin/ghosty', type: 'file', data: Buffer.alloc(0) },
    ],
    ghost: ['/usr/bin/ghosty'],
    // Newest first, as rpmbuild stores them; three share a day, two more share another.
    changelog: [
      { time: T0 + 9 * DAY, name: 'A <a@x> - 1.0-1   ', text: '- e12' },
      { time: T0 + 9 * DAY, name: 'A <a@x> - 1.0-1', text: '- e11' },
      { time: T0 + 9 * DAY, name: 'A <a@x> - 1.0-1', text: '- e10' },
      ...Array.from({ length: 9 }, (_, i) => ({ time: T0 + (8 - i) * DAY - (i === 3 ? DAY : 0), name: 'B <b@x>', text: `- e${9 - i}` })),
    ],
  });
  return { bytes, rpm: readPackage(bytes, 'tool.rpm') };
}

describe('repo from-header: createrepo_c rules', () => {
  it('identity, sizes, header range and location', async () => {
    const { bytes, rpm } = await build();
    const sum = createHash('sha256').update(bytes).digest('hex');
    const r = recordFromHeader(rpm, { href: 'x/tool.rpm', base: 'http://b/', size: bytes.length, mtime: 123, checksum: sum });
    const p = r.pkg;
    assert.equal(p.pkgid, sum);
    assert.equal(p.epoch, '0');
    assert.equal(p.arch, 'x86_64');
    assert.equal(p.timeFile, 123);
    assert.equal(p.timeBuild, 1700000000);
    assert.equal(p.headerStart, rpm.headerOffset);
    assert.equal(p.headerEnd, rpm.payloadOffset);
    assert.ok(p.sizeArchive > 0, 'archive size from the signature header');
    assert.equal(p.location, 'x/tool.rpm');
    assert.equal(p.locationBase, 'http://b/');
  });

  it('requires: skips rpmlib(), own primary files, exact provides and repeats; keeps the highest libc last', async () => {
    const { bytes, rpm } = await build();
    const r = recordFromHeader(rpm, { href: 't.rpm', size: bytes.length, mtime: 0, checksum: 'x' });
    const names = r.pkg.requires.map((d) => d.name);
    assert.ok(!names.some((n) => n.startsWith('rpmlib(')));
    assert.ok(!names.includes('/usr/bin/tool'), 'own file under bin/ is dropped');
    assert.ok(names.includes('/usr/share/tool/data'), 'own non-primary file stays');
    assert.ok(!names.includes('tool-cap'), 'requires equal to a provide (name, flags, version) is dropped');
    assert.ok(names.includes('tool-api'), 'unversioned requires of a versioned provide stays');
    assert.equal(names.filter((n) => n === 'dup').length, 2, 'dup and dup(pre) differ in pre');
    assert.deepEqual(names.filter((n) => n.startsWith('libc.so.6')), ['libc.so.6(GLIBC_2.34)(64bit)']);
    assert.equal(names[names.length - 1], 'libc.so.6(GLIBC_2.34)(64bit)');
    const flags = (n: string) => r.pkg.requires.find((d) => d.name === n)!.flags;
    assert.ok(flags('ps') & RPMSENSE.SCRIPT_POST);
    assert.equal(r.pkg.recommends.length, 1);
  });

  it('files: all in the filelist with dir/ghost types, primary keeps /etc/, bin/ and sendmail', async () => {
    const { bytes, rpm } = await build();
    const r = recordFromHeader(rpm, { href: 't.rpm', size: bytes.length, mtime: 0, checksum: 'x' });
    assert.deepEqual(r.filelist.find((f) => f.path === '/etc/tool'), { path: '/etc/tool', type: 'dir' });
    assert.deepEqual(r.filelist.find((f) => f.path === '/usr/bin/ghosty'), { path: '/usr/bin/ghosty', type: 'ghost' });
    assert.deepEqual(r.pkg.files.map((f) => f.path).sort(), ['/etc/tool', '/usr/bin/ghosty', '/usr/bin/tool']);
    assert.ok(isPrimaryFile('/usr/lib/sendmail') && isPrimaryFile('/opt/sbin/x') && !isPrimaryFile('/opt/sbin') && !isPrimaryFile('/etc'));
  });

  it('changelog: newest N, oldest first, authors trimmed, equal times bumped on the newer entries', async () => {
    const { rpm } = await build();
    const log = changelogEntries(rpm.header, 10);
    assert.equal(log.length, 10);
    assert.deepEqual(log.slice(-3).map((c) => [c.text, c.date - (T0 + 9 * DAY)]), [['- e10', 0], ['- e11', 1], ['- e12', 2]]);
    assert.equal(log[log.length - 1]!.author, 'A <a@x> - 1.0-1');
    assert.equal(changelogEntries(rpm.header, 0).length, 0);
    assert.equal(changelogEntries(rpm.header, -1).length, 12);
  });

  it('libc.so.6 comparison as cr_compare_dependency', () => {
    assert.equal(compareLibcDep('libc.so.6(GLIBC_2.4)', 'libc.so.6(GLIBC_2.34)'), 2);
    assert.equal(compareLibcDep('libc.so.6(GLIBC_2.34)(64bit)', 'libc.so.6()(64bit)'), 1);
    assert.equal(compareLibcDep('libc.so.6', 'libc.so.6(GLIBC_2.1)'), 2);
    assert.equal(compareLibcDep('libc.so.6(GLIBC_2.1)', 'libc.so.6(GLIBC_2.1)'), 0);
  });
});
