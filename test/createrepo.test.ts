// photon createrepo against Debian's createrepo_c 0.17: the same RPMs (rpmbuild and packRpm)
// must give byte-identical primary/filelists/other XML; --update must reuse records without
// opening unchanged RPMs; createrepo_c --update must accept our repository; bad input and
// damaged metadata must be refused without touching the repository.
import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import { mkdir, readFile, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { armor, readSecretKey } from '../src/formats/openpgp.ts';
import { decompressAuto } from '../src/formats/decompress.ts';
import { main as cli } from '../src/cli/createrepo.ts';
import { createrepo } from '../src/repo/createrepo.ts';
import { dataPath, expectationOf, findData, readPrimary, readRepomd, type RepoPackage } from '../src/repo/metadata.ts';
import { packRpm } from '../src/rpm/pack.ts';
import { readPackageFile } from '../src/rpm/package.ts';
import { PhotonError } from '../src/util/errors.ts';
import { run } from '../src/util/run.ts';
import { gpg, makeGpgKey } from './kit/gpg.ts';
import { buildRpm, FEATURE_SPEC } from './kit/rpmbuild.ts';
import { cleanup, tempDir } from './kit/tmp.ts';

const TOOL_SPEC = `
Name: tool
Version: 1.0
Release: 1
Summary: tool & <things> "quoted"
License: GPL
BuildArch: noarch
Provides: tool-api = 1.2
Provides: tool-cap
Requires: tool-api
Requires: tool-cap
Requires: /usr/bin/tool
Requires: /usr/share/tool/data
Requires: libc.so.6(GLIBC_2.4)(64bit)
Requires: libc.so.6(GLIBC_2.34)(64bit)
Requires: libc.so.6()(64bit)
Requires: foo = 2:1.0-3
Requires: bar < 1.0
Requires: qux >= 1:2
Requires(pretrans): pt
Requires(posttrans): ptt
Requires(preun): pu
Requires(pre): dup
Requires: dup
Recommends: rec >= 1.0
Suggests: sug
Supplements: sup
Enhances: enh

%description
Line one\ttab
line <two> & "three"

%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/share/tool %{buildroot}/opt/sbin %{buildroot}/usr/lib
echo x > %{buildroot}/usr/bin/tool
echo x > %{buildroot}/usr/share/tool/data
echo x > %{buildroot}/usr/lib/sendmail
echo x > %{buildroot}/opt/sbin/x

%files
/usr/bin/tool
/usr/share/tool/data
/usr/lib/sendmail
%dir /opt/sbin
/opt/sbin/x
%ghost /usr/bin/ghosty

%changelog
* Mon Jan 08 2024 A <a@x> - 1.0-1
- e12
* Mon Jan 08 2024 A <a@x> - 1.0-1
- e11
* Mon Jan 08 2024 A <a@x> - 1.0-1
- e10
* Sun Jan 07 2024 B <b@x>
- e9
* Sat Jan 06 2024 B <b@x>
- e8
* Fri Jan 05 2024 B <b@x>
- e7
* Fri Jan 05 2024 B <b@x>
- e6
* Thu Jan 04 2024 B <b@x>
- e5
* Wed Jan 03 2024 B <b@x>
- e4
* Tue Jan 02 2024 B <b@x>
- e3
* Mon Jan 01 2024 B <b@x>
- e2
* Sun Dec 31 2023 B <b@x>
- e1
`;

let root = '';
/** name → bytes of the test packages. */
const packages = new Map<string, Uint8Array>();
const MTIME = new Date('2024-03-01T00:00:00Z');

/** A fresh repository directory with the test packages, every file's mtime fixed. */
async function makeRepo(name: string, layout: Record<string, string> = { 'feat.rpm': 'feat', 'sub/tool.rpm': 'tool', 'packed.rpm': 'packed', 'sub/deeper/B.rpm': 'feat' }): Promise<string> {
  const dir = join(root, name);
  for (const [href, pkg] of Object.entries(layout)) {
    const p = join(dir, href);
    await mkdir(join(p, '..'), { recursive: true });
    await writeFile(p, packages.get(pkg)!);
    await utimes(p, MTIME, MTIME);
  }
  return dir;
}

async function xmlOf(dir: string): Promise<Record<string, string>> {
  const repomdPath = join(dir, 'repodata', 'repomd.xml');
  const md = await readRepomd(repomdPath);
  const out: Record<string, string> = {};
  for (const type of ['primary', 'filelists', 'other']) {
    const d = findData(md, type)!;
    const chunks: Uint8Array[] = [];
    for await (const c of decompressAuto([await readFile(dataPath(repomdPath, d))])) chunks.push(c);
    out[type] = Buffer.concat(chunks).toString('utf8');
  }
  return out;
}

async function listing(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'repodata'))).sort();
}

before(async () => {
  root = await tempDir('createrepo');
  for (const [name, spec] of [['feat', FEATURE_SPEC], ['tool', TOOL_SPEC]] as const) {
    packages.set(name, await readFile(await buildRpm(root, spec)));
  }
  // A source package: arch "src", no sourcerpm.
  packages.set('srpm', await readFile(await buildRpm(root, TOOL_SPEC, { source: true })));
  packages.set('packed', await packRpm({
    name: 'packed', version: '2', release: '3', epoch: 1, arch: 'noarch', buildTime: 1700000000,
    summary: 'packed by photon', description: 'd\r\n& done', url: 'https://e.org/?a=1&b=2',
    requires: ['pre: /bin/sh', 'tool >= 1.0', '(tool or feat)', 'post: /usr/bin/packed'],
    provides: ['packed-cap = 1:2-3'],
    files: [
      { path: '/usr/bin/packed', type: 'file', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
      { path: '/etc/packed.conf', type: 'file', data: Buffer.from('a=1\n') },
      { path: '/usr/share/packed/a "q" & <b>', type: 'file', data: Buffer.from('x') },
    ],
    config: ['/etc/packed.conf'],
    changelog: [
      { time: 1704196800, name: 'Trailing Spaces <t@x>   ', text: '- two' },
      { time: 1704196800, name: 'Same Day <s@x>', text: '- one' },
    ],
  }));
});

after(async () => {
  await cleanup(root);
});

describe('createrepo vs createrepo_c', () => {
  it('writes primary, filelists and other byte for byte as createrepo_c 0.17 does', async () => {
    const layout = { 'feat.rpm': 'feat', 'sub/tool.rpm': 'tool', 'packed.rpm': 'packed', 'sub/deeper/B.rpm': 'feat', 'SRPMS/tool.src.rpm': 'srpm' };
    const ours = await makeRepo('ours', layout);
    const theirs = await makeRepo('theirs', layout);
    const result = await createrepo(ours);
    assert.equal(result.packages, 5);
    assert.match((await xmlOf(ours))['primary']!, /<arch>src<\/arch>/);
    await run('createrepo_c', ['--no-database', '--quiet', theirs]);
    const a = await xmlOf(ours);
    const b = await xmlOf(theirs);
    for (const type of ['primary', 'filelists', 'other']) assert.equal(a[type], b[type], `${type} differs`);
    // Same bytes, so the open checksums and sizes in repomd.xml agree too.
    const ma = await readRepomd(join(ours, 'repodata', 'repomd.xml'));
    const mb = await readRepomd(join(theirs, 'repodata', 'repomd.xml'));
    assert.deepEqual(ma.data.map((d) => [d.type, d.openChecksum, d.openSize]), mb.data.map((d) => [d.type, d.openChecksum, d.openSize]));
    assert.deepEqual(await listing(ours), [...ma.data.map((d) => d.location.slice('repodata/'.length)), 'repomd.xml'].sort());
  });

  it('--baseurl becomes xml:base, as createrepo_c writes it', async () => {
    const ours = await makeRepo('base-ours', { 'feat.rpm': 'feat' });
    const theirs = await makeRepo('base-theirs', { 'feat.rpm': 'feat' });
    await createrepo(ours, { baseurl: 'http://example.org/repo/' });
    await run('createrepo_c', ['--no-database', '--quiet', '--baseurl', 'http://example.org/repo/', theirs]);
    assert.equal((await xmlOf(ours))['primary'], (await xmlOf(theirs))['primary']);
  });

  it('createrepo_c --update takes over our metadata unchanged', async () => {
    const dir = await makeRepo('cr-update');
    await createrepo(dir);
    const before = await xmlOf(dir);
    await run('createrepo_c', ['--no-database', '--quiet', '--update', dir]);
    assert.deepEqual(await xmlOf(dir), before);
  });

  it('our reader reads our output with every checksum verified', async () => {
    const dir = await makeRepo('read-back');
    await createrepo(dir, { revision: 'r42' });
    const repomdPath = join(dir, 'repodata', 'repomd.xml');
    const md = await readRepomd(repomdPath);
    assert.equal(md.revision, 'r42');
    const pri = findData(md, 'primary')!;
    const got: RepoPackage[] = [];
    await readPrimary(dataPath(repomdPath, pri), (p) => got.push(p), { expect: expectationOf(pri) });
    assert.deepEqual(got.map((p) => p.location), ['sub/deeper/B.rpm', 'feat.rpm', 'packed.rpm', 'sub/tool.rpm']);
    const feat = got.find((p) => p.location === 'feat.rpm')!;
    const sum = (await run('sha256sum', [join(dir, 'feat.rpm')])).stdout.toString().split(' ')[0];
    assert.equal(feat.pkgid, sum);
    assert.equal(feat.timeFile, MTIME.getTime() / 1000);
  });
});

describe('createrepo --update', () => {
  it('reuses unchanged packages without opening them; the result equals a full run', async () => {
    const dir = await makeRepo('update');
    const first = await createrepo(dir);
    assert.deepEqual([first.read, first.reused], [4, 0]);
    // One new package, one rewritten (new mtime), two untouched.
    await writeFile(join(dir, 'new.rpm'), packages.get('packed')!);
    await utimes(join(dir, 'feat.rpm'), new Date('2024-04-01T00:00:00Z'), new Date('2024-04-01T00:00:00Z'));
    const opened: string[] = [];
    const counting = (p: string) => {
      opened.push(p);
      return readPackageFile(p);
    };
    const t = Date.now();
    const second = await createrepo(dir, { update: true, readRpm: counting });
    assert.deepEqual([second.read, second.reused, second.packages], [2, 3, 5]);
    assert.deepEqual(opened.map((p) => p.slice(dir.length + 1)).sort(), ['feat.rpm', 'new.rpm']);
    const updated = await xmlOf(dir);
    // The metadata files of the first run are gone; only the new ones and repomd.xml remain.
    assert.equal((await listing(dir)).length, 4);
    assert.deepEqual(second.removed.length, 3);
    const full = await createrepo(dir, { readRpm: counting });
    assert.equal(full.read, 5);
    assert.deepEqual(await xmlOf(dir), updated);
    assert.ok(Date.now() - t < 20000);
  });

  it('keeps metadata other tools added (modifyrepo_c updateinfo) and removes orphans of a dead run', async () => {
    const dir = await makeRepo('extra', { 'feat.rpm': 'feat' });
    await createrepo(dir);
    const info = join(root, 'updateinfo.xml');
    await writeFile(info, '<?xml version="1.0" encoding="UTF-8"?>\n<updates></updates>\n');
    await run('modifyrepo_c', [info, join(dir, 'repodata')]);
    const orphan = join(dir, 'repodata', `${'0'.repeat(64)}-primary.xml.gz`);
    await writeFile(orphan, gzipSync('<metadata/>'));
    await createrepo(dir, { update: true });
    const md = await readRepomd(join(dir, 'repodata', 'repomd.xml'));
    const ui = findData(md, 'updateinfo');
    assert.ok(ui, 'updateinfo is still referenced');
    await stat(dataPath(join(dir, 'repodata', 'repomd.xml'), ui));
    await assert.rejects(stat(orphan), /ENOENT/);
    // createrepo_c reads the result, updateinfo included.
    await run('createrepo_c', ['--no-database', '--quiet', '--update', '--keep-all-metadata', dir]);
    assert.ok(findData(await readRepomd(join(dir, 'repodata', 'repomd.xml')), 'updateinfo'));
    // A full run starts afresh.
    await createrepo(dir);
    assert.equal(findData(await readRepomd(join(dir, 'repodata', 'repomd.xml')), 'updateinfo'), undefined);
    assert.equal((await listing(dir)).length, 4);
  });

  it('damaged old metadata: the reader says E_REPO_CHECKSUM, --update reads everything again', async () => {
    const dir = await makeRepo('damaged', { 'feat.rpm': 'feat', 'packed.rpm': 'packed' });
    await createrepo(dir);
    const repomdPath = join(dir, 'repodata', 'repomd.xml');
    const pri = findData(await readRepomd(repomdPath), 'primary')!;
    const path = dataPath(repomdPath, pri);
    const xml = gunzipSync(await readFile(path)).toString().replace('packed by photon', 'packed by someone');
    await writeFile(path, gzipSync(xml));
    await assert.rejects(readPrimary(path, () => {}, { expect: expectationOf(pri) }), (e: unknown) => e instanceof PhotonError && e.code === 'E_REPO_CHECKSUM');
    const r = await createrepo(dir, { update: true });
    assert.deepEqual([r.read, r.reused], [2, 0]);
    assert.match(r.warning ?? '', /checksum|size/);
    assert.doesNotMatch((await xmlOf(dir))['primary']!, /someone/);
  });
});

describe('createrepo: bad input and atomicity', () => {
  it('a corrupt or non-RPM file is refused, naming it, and the repository is left as it was', async () => {
    const dir = await makeRepo('bad', { 'feat.rpm': 'feat' });
    await createrepo(dir);
    const before = await listing(dir);
    const repomd = await readFile(join(dir, 'repodata', 'repomd.xml'));
    await writeFile(join(dir, 'junk.rpm'), 'not an rpm at all');
    await assert.rejects(createrepo(dir), (e: unknown) => e instanceof PhotonError && e.code === 'E_RPM_NOT_RPM' && e.file === join(dir, 'junk.rpm'));
    const feat = packages.get('feat')!;
    await writeFile(join(dir, 'junk.rpm'), feat.subarray(0, feat.length - 100));
    await assert.rejects(createrepo(dir, { update: true }), (e: unknown) => e instanceof PhotonError && e.file === join(dir, 'junk.rpm'));
    assert.deepEqual(await listing(dir), before);
    assert.deepEqual(await readFile(join(dir, 'repodata', 'repomd.xml')), repomd);
  });

  it('a failure while reading packages leaves the old repomd.xml and its files in place', async () => {
    const dir = await makeRepo('kill', { 'feat.rpm': 'feat', 'packed.rpm': 'packed' });
    await createrepo(dir);
    const before = await listing(dir);
    await utimes(join(dir, 'packed.rpm'), new Date(), new Date());
    const failing = async (p: string) => {
      if (p.endsWith('packed.rpm')) throw new PhotonError('E_TEST', 'killed');
      return readPackageFile(p);
    };
    await assert.rejects(createrepo(dir, { update: true, readRpm: failing }), /killed/);
    assert.deepEqual(await listing(dir), before);
  });
});

describe('createrepo: signing, compression, CLI', () => {
  it('--sign-key writes repomd.xml.asc that gpg verifies; an unsigned rerun removes it', async () => {
    const { home, secretFile } = await makeGpgKey(root, 'repo');
    const dir = await makeRepo('signed', { 'feat.rpm': 'feat' });
    assert.equal(await cli(['-q', '--sign-key', secretFile, dir]), 0);
    const repomd = join(dir, 'repodata', 'repomd.xml');
    assert.match(await readFile(`${repomd}.asc`, 'utf8'), /^-----BEGIN PGP SIGNATURE-----/);
    const v = await gpg(home, ['--verify', `${repomd}.asc`, repomd]);
    assert.match(v.stderr.toString(), /Good signature/);
    // Our own armor of the key, as a dnf test would hand it over.
    assert.match(armor('PUBLIC KEY BLOCK', readSecretKey(await readFile(secretFile)).publicKey.packets), /PUBLIC KEY BLOCK/);
    await createrepo(dir);
    await assert.rejects(stat(`${repomd}.asc`), /ENOENT/);
  });

  it('--compress-type zstd writes .xml.zst files our reader reads', async () => {
    const dir = await makeRepo('zstd', { 'feat.rpm': 'feat' });
    const r = await createrepo(dir, { compressType: 'zstd' });
    assert.ok(r.written.every((w) => w.endsWith('.xml.zst')));
    const gz = await makeRepo('zstd-gz', { 'feat.rpm': 'feat' });
    await createrepo(gz);
    assert.deepEqual(await xmlOf(dir), await xmlOf(gz));
  });

  it('CLI: usage errors, changelog limit, summary line', async () => {
    await assert.rejects(cli([]), (e: unknown) => e instanceof PhotonError && e.code === 'E_USAGE');
    await assert.rejects(cli(['--compress-type', 'bz2', root]), (e: unknown) => e instanceof PhotonError && e.code === 'E_USAGE');
    const dir = await makeRepo('cli', { 'tool.rpm': 'tool' });
    assert.equal(await cli(['-q', '--changelog-limit', '2', dir]), 0);
    assert.equal(((await xmlOf(dir))['other']!.match(/<changelog /g) ?? []).length, 2);
    const out = await run(process.execPath, ['--import', 'tsx', 'src/cli/photon.ts', 'createrepo', '--update', dir]);
    assert.match(out.stdout.toString(), /^1 packages \(0 read, 1 reused\); metadata written to .*repomd\.xml\n$/);
  });
});
