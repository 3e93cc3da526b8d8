import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RPMSENSE } from '../rpm/deps.ts';
import {
  escapeAttr, escapeText, filelistsPackage, filelistsStart, FILELISTS_END, flagName, otherPackage, otherStart, OTHER_END,
  primaryPackage, primaryStart, PRIMARY_END, repomdXml, splitEvr,
} from './dump.ts';
import { readFilelists, readOther } from './filelists.ts';
import { readPrimary, type RepoPackage } from './primary.ts';
import { readRepomd } from './repomd.ts';

function pkg(over: Partial<RepoPackage> = {}): RepoPackage {
  return {
    name: 'a&b', arch: 'x86_64', epoch: '0', version: '1.0', release: '1', pkgid: 'ab'.repeat(32), checksumType: 'sha256',
    summary: 'sum <x> & "y"', description: 'line1\n\tline2\r\nend\u0001', packager: '', url: 'https://e.org/?a=1&b=2',
    timeFile: 10, timeBuild: 20, sizePackage: 30, sizeInstalled: 40, sizeArchive: 50, location: 'sub/a b.rpm',
    license: 'MIT', vendor: '', group: 'G', buildhost: 'h', sourcerpm: 'a-1.0-1.src.rpm', headerStart: 4504, headerEnd: 5000,
    provides: [{ name: 'a&b', flags: RPMSENSE.EQUAL, evr: '1.0-1' }],
    requires: [
      { name: 'x', flags: 0, evr: '' },
      { name: 'x', flags: RPMSENSE.SCRIPT_PRE | RPMSENSE.INTERP, evr: '' },
      { name: 'y', flags: RPMSENSE.GREATER | RPMSENSE.EQUAL, evr: '3:2.0-1-2' },
      { name: '(a or b)', flags: 0, evr: '' },
    ],
    conflicts: [{ name: 'c', flags: RPMSENSE.LESS, evr: '1' }],
    obsoletes: [], recommends: [{ name: 'r', flags: 0, evr: '' }], suggests: [], supplements: [], enhances: [{ name: 'e', flags: 0, evr: '' }],
    files: [{ path: '/etc/a', type: 'dir' }, { path: '/usr/bin/a<', type: 'file' }, { path: '/usr/bin/g', type: 'ghost' }],
    ...over,
  };
}

describe('repo dump: escaping as libxml2 writes it', () => {
  it('escapes text: & < > and CR, keeps quotes, TAB and LF; drops C0 controls XML cannot carry', () => {
    assert.equal(escapeText('a & <b> "c" \'d\'\t\n\re\u0001\u001f'), 'a &amp; &lt;b&gt; "c" \'d\'\t\n&#13;e');
  });
  it('escapes attributes: also quotes, TAB, LF', () => {
    assert.equal(escapeAttr('a&"<>\t\n\r\u0000b'), 'a&amp;&quot;&lt;&gt;&#9;&#10;&#13;b');
  });
  it('flag names as cr_flag_to_str: only the five single comparisons', () => {
    assert.equal(flagName(0), '');
    assert.equal(flagName(RPMSENSE.LESS), 'LT');
    assert.equal(flagName(RPMSENSE.GREATER | RPMSENSE.EQUAL | RPMSENSE.SCRIPT_PRE), 'GE');
    assert.equal(flagName(RPMSENSE.LESS | RPMSENSE.GREATER), '');
  });
  it('splits EVRs as cr_str_to_evr: epoch 0 by default, release after the first dash', () => {
    assert.deepEqual(splitEvr('1.0'), { epoch: '0', version: '1.0', release: '' });
    assert.deepEqual(splitEvr('2:1.0-3-4'), { epoch: '2', version: '1.0', release: '3-4' });
    assert.deepEqual(splitEvr('x:1.0'), { epoch: '0', version: '1.0', release: '' });
    assert.deepEqual(splitEvr(''), { epoch: '', version: '', release: '' });
  });
});

describe('repo dump: primary, filelists, other', () => {
  it('writes a package as createrepo_c lays it out', () => {
    const xml = primaryPackage(pkg());
    assert.match(xml, /^<package type="rpm">\n  <name>a&amp;b<\/name>\n  <arch>x86_64<\/arch>\n  <version epoch="0" ver="1.0" rel="1"\/>\n/);
    assert.match(xml, /\n  <packager><\/packager>\n/);
    assert.match(xml, /<rpm:entry name="y" flags="GE" epoch="3" ver="2.0" rel="1-2"\/>/);
    assert.match(xml, /<rpm:entry name="x"\/>\n      <rpm:entry name="x" pre="1"\/>/);
    // createrepo_c's weak dependency order: suggests, enhances, recommends, supplements.
    assert.ok(xml.indexOf('<rpm:enhances>') < xml.indexOf('<rpm:recommends>'));
    assert.ok(!xml.includes('rpm:obsoletes'));
    assert.match(xml, /    <file type="dir">\/etc\/a<\/file>\n    <file>\/usr\/bin\/a&lt;<\/file>\n    <file type="ghost">\/usr\/bin\/g<\/file>\n  <\/format>\n<\/package>\n$/);
    assert.match(primaryPackage(pkg({ locationBase: 'http://x/' })), /<location xml:base="http:\/\/x\/" href="sub\/a b.rpm"\/>/);
  });

  it('our readers read our output back to the same records', async () => {
    const p = pkg();
    const primary = primaryStart(1) + primaryPackage(p) + PRIMARY_END;
    const got: RepoPackage[] = [];
    await readPrimary(Buffer.from(primary), (x) => got.push(x));
    assert.equal(got.length, 1);
    const back = got[0]!;
    assert.equal(back.description, 'line1\n\tline2\r\nend');
    assert.equal(back.summary, p.summary);
    // Re-dumping what the reader returns gives the same bytes: what --update relies on.
    assert.equal(primaryPackage(back), primaryPackage(p));

    const files = [{ path: '/a', type: 'file' as const }, { path: '/d', type: 'dir' as const }];
    const fl = filelistsStart(1) + filelistsPackage(p, files) + FILELISTS_END;
    await readFilelists(Buffer.from(fl), (e) => {
      assert.equal(e.pkgid, p.pkgid);
      assert.deepEqual(e.files, files);
      assert.equal(filelistsPackage(e, e.files), filelistsPackage(p, files));
    });
    const logs = [{ author: 'A <a@x> - 1.0', date: 5, text: '- fix & "stuff"\n- more' }];
    const ot = otherStart(1) + otherPackage(p, logs) + OTHER_END;
    await readOther(Buffer.from(ot), (e) => assert.deepEqual(e.changelogs, logs));
  });

  it('writes repomd.xml that our reader parses', async () => {
    const xml = repomdXml('42', [{ type: 'primary', checksum: 'aa', openChecksum: 'bb', location: 'repodata/aa-primary.xml.gz', timestamp: 7, size: 1, openSize: 2 }]);
    const md = await readRepomd(Buffer.from(xml));
    assert.equal(md.revision, '42');
    assert.deepEqual(md.data[0], {
      type: 'primary', checksum: { type: 'sha256', value: 'aa' }, openChecksum: { type: 'sha256', value: 'bb' },
      location: 'repodata/aa-primary.xml.gz', timestamp: 7, size: 1, openSize: 2,
    });
  });
});
