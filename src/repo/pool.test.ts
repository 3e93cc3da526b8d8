import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { PhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import { dataPath, expectationOf, findData, readRepomd } from './metadata.ts';
import { DEP, loadPrimaryPool, type PackagePool, StringPool } from './pool.ts';
import { primaryPackages, readPrimary, type RepoPackage } from './primary.ts';

const XML = `<?xml version="1.0" encoding="UTF-8"?>
<!-- made by hand -->
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="3">
<package type="rpm">
  <name>alpha</name>
  <arch>noarch</arch>
  <version epoch="2" ver="1.2.3" rel="4.ph5"/>
  <checksum type="sha256" pkgid="YES">aa11</checksum>
  <summary>Alpha &amp; &lt;omega&gt; &#233;t&#xE9; <![CDATA[<raw> & ]]>end</summary>
  <description>Long
description: héllo 日本<!-- a comment --> after</description>
  <packager>Jane &lt;jane@example.com&gt;</packager>
  <url>https://example.com/?x=1&amp;y=2</url>
  <time file="1700000000" build="1690000000"/>
  <size package="5000000000" installed="123" archive="456"/>
  <location xml:base="https://mirror/x" href="alpha-1.2.3-4.noarch.rpm"/>
  <format>
    <rpm:license>MIT and "GPL"</rpm:license>
    <rpm:vendor>Photon</rpm:vendor>
    <rpm:group>Test</rpm:group>
    <rpm:buildhost>b1</rpm:buildhost>
    <rpm:sourcerpm>alpha-1.2.3-4.src.rpm</rpm:sourcerpm>
    <rpm:header-range start="4504" end="9000"/>
    <rpm:provides>
      <rpm:entry name="alpha" flags="EQ" epoch="2" ver="1.2.3" rel="4.ph5"/>
      <rpm:entry name="libalpha.so.1()(64bit)"/>
    </rpm:provides>
    <rpm:requires>
      <rpm:entry name="/bin/sh" pre="1"/>
      <rpm:entry name="(gamma &gt;= 1 or delta)"/>
      <rpm:entry name='beta' flags='GE' epoch='0' ver='1.0' />
      <rpm:entry name="beta" flags="LT" epoch="0" ver="2"></rpm:entry>
    </rpm:requires>
    <rpm:conflicts><rpm:entry name="oldalpha" flags="LE" epoch="1" ver="0.9" rel="1"/></rpm:conflicts>
    <rpm:obsoletes><rpm:entry name="alpha-legacy" flags="GT" ver="0.1"/></rpm:obsoletes>
    <rpm:recommends><rpm:entry name="zeta"/></rpm:recommends>
    <rpm:suggests><rpm:entry name="eta"/></rpm:suggests>
    <rpm:supplements><rpm:entry name="(theta and iota)"/></rpm:supplements>
    <rpm:enhances><rpm:entry name="kappa"/></rpm:enhances>
    <file>/usr/bin/alpha</file>
    <file type="dir">/etc/alpha</file>
    <file type="ghost">/etc/alpha/ghost.conf</file>
  </format>
</package>
<package type="rpm"><name>beta</name><arch>x86_64</arch><version epoch="0" ver="1.0" rel="1"/><checksum type="sha256" pkgid="YES">bb22</checksum><summary/><description></description><packager></packager><url></url><time file="0" build="0"/><size package="1" installed="2" archive="3"/><location href="Packages/beta.rpm"/><format><rpm:license>ASL 2.0</rpm:license><rpm:provides><rpm:entry name="beta" flags="EQ" epoch="0" ver="1.0" rel="1"/></rpm:provides><rpm:requires><rpm:entry name="/bin/sh" pre="1"/><rpm:entry name="beta" flags="GE" epoch="0" ver="1.0"/><rpm:entry name="(x >= 1 or y)"/></rpm:requires></format></package>
<package type="rpm"><name>gamma</name><arch>x86_64</arch><version epoch="0" ver="3" rel="1"/><format><rpm:requires><rpm:entry name="beta" flags="GE" epoch="0" ver="1.0"/><rpm:entry name="(x >= 1 or y)"/><rpm:entry name="(x >= 1 or z)"/></rpm:requires><rpm:provides><rpm:entry name="gamma"/></rpm:provides></format></package>
</metadata>
`;

async function objects(source: Uint8Array | Iterable<Uint8Array>): Promise<RepoPackage[]> {
  const out: RepoPackage[] = [];
  for await (const p of primaryPackages(source as Uint8Array)) out.push(p);
  return out;
}

function all(pool: PackagePool): RepoPackage[] {
  return Array.from({ length: pool.count }, (_, i) => pool.package(i));
}

test('the pool holds what the RepoPackage reader reads (entities, CDATA, comments, UTF-8, every field)', async () => {
  const bytes = Buffer.from(XML);
  const want = await objects(bytes);
  const pool = await loadPrimaryPool(bytes);
  assert.equal(pool.count, 3);
  assert.deepEqual(all(pool), want);
  const a = want[0]!;
  assert.equal(a.summary, 'Alpha & <omega> été <raw> & end');
  assert.equal(a.locationBase, 'https://mirror/x');
  assert.equal(a.sizePackage, 5000000000);
  // Ids: equal strings have one id; EVRs leave out epoch 0; kinds sort where they belong.
  const beta = pool.lookup('beta');
  assert.equal(pool.name(1), beta);
  assert.equal(pool.str(pool.evr(0)), '2:1.2.3-4.ph5');
  assert.equal(pool.str(pool.evr(1)), '1.0-1');
  assert.equal(pool.nevra(1), 'beta-1.0-1.x86_64');
  const req = Array.from(pool.deps(1, DEP.REQUIRES));
  assert.deepEqual(req.map((d) => [pool.str(pool.depName(d)), pool.depFlags(d), pool.str(pool.depEvr(d))]),
    [['/bin/sh', 64, ''], ['beta', 12, '1.0'], ['(x >= 1 or y)', 0, '']]);
  // A raw '>' inside a value (legal XML) does not end the tag, nor confuse the entry cache.
  assert.deepEqual(Array.from(pool.deps(2, DEP.REQUIRES), (d) => pool.str(pool.depName(d))),
    ['beta', '(x >= 1 or y)', '(x >= 1 or z)']);
  // The same <rpm:entry> text is one dependency id, shared by packages.
  assert.equal(pool.deps(1, DEP.REQUIRES)[1], pool.deps(2, DEP.REQUIRES)[0]);
  assert.deepEqual(Array.from(pool.deps(2, DEP.PROVIDES), (d) => pool.str(pool.depName(d))), ['gamma']);
  assert.deepEqual(Array.from(pool.filePaths(0), (id) => pool.str(id)), ['/usr/bin/alpha', '/etc/alpha', '/etc/alpha/ghost.conf']);
  assert.equal(pool.lookup('no-such-name'), -1);
});

test('chunk boundaries anywhere: split at every byte, and one byte at a time', async () => {
  const bytes = Buffer.from(XML);
  const want = await objects(bytes);
  for (let i = 1; i < bytes.length; i++) {
    const pool = await loadPrimaryPool([bytes.subarray(0, i), bytes.subarray(i)]);
    assert.deepEqual(all(pool), want, `split at ${i}`);
  }
  const ones = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
  assert.deepEqual(all(await loadPrimaryPool(ones)), want);
});

test('a shared StringPool gives equal names equal ids across pools', async () => {
  const strings = new StringPool();
  const a = await loadPrimaryPool(Buffer.from(XML), { strings });
  const b = await loadPrimaryPool(Buffer.from(XML.replace('<name>alpha</name>', '<name>other</name>')), { strings });
  assert.equal(a.name(1), b.name(1));
  assert.notEqual(a.name(0), b.name(0));
});

const BAD: [string, string, RegExp][] = [
  ['truncated', XML.slice(0, XML.length - 30), /unexpected end of input inside markup at line 46/],
  ['mismatched tag', XML.replace('</arch>', '</name>'), /<\/name> does not close <arch> at line 6/],
  ['unknown entity', XML.replace('&amp; &lt;', '&amp; &nope;'), /unknown or unterminated entity '&nope;.* at line 9/],
  ['entity in a dependency', XML.replace('(gamma &gt;= 1', '(gamma &g= 1'), /unknown or unterminated entity '&g=' at line 30/],
  ['unquoted attribute', XML.replace('ver="1.2.3" rel', 'ver=1.2.3 rel'), /not quoted at line 7/],
  ['bad entry attribute', XML.replace('<rpm:entry name="zeta"/>', '<rpm:entry name="zeta"x="1"/>'), /missing white space between attributes in <rpm:entry> at line 36/],
  ['invalid UTF-8', XML, /invalid UTF-8 in input at line \d+/],
  ['text outside the root', `${XML}oops`, /text outside the root element at line 48/],
  ['second root', `${XML}<metadata/>`, /second root element <metadata> at line 48/],
  ['no root', '<?xml version="1.0"?>\n', /no root element at line 2/],
  ['unclosed', XML.replace('</metadata>', ''), /<metadata> is not closed/],
];

for (const [what, xml, message] of BAD) {
  test(`malformed primary fails with E_XML and a line: ${what}`, async () => {
    let bytes = Buffer.from(xml);
    if (what === 'invalid UTF-8') bytes = Buffer.from(XML.replace('héllo', 'hXXllo')).fill(0xff, XML.indexOf('héllo') + 1, XML.indexOf('héllo') + 2);
    for (const chunks of [[bytes], [bytes.subarray(0, 700), bytes.subarray(700)]]) {
      await assert.rejects(loadPrimaryPool(chunks, { file: 'primary.xml' }), (e: unknown) => {
        assert.ok(e instanceof PhotonError && e.code === 'E_XML' && e.file === 'primary.xml', String(e));
        assert.match(e.message, message);
        return true;
      });
    }
  });
}

test('truncated at every byte: always E_XML, never a partial pool', async () => {
  const bytes = Buffer.from(XML.trimEnd());
  for (let i = 0; i < bytes.length; i++) {
    await assert.rejects(loadPrimaryPool(bytes.subarray(0, i)), (e: unknown) =>
      e instanceof PhotonError && e.code === 'E_XML' && /line \d+/.test(e.message), `cut at ${i}`);
  }
});

test('checksums and sizes are verified; corrupt gzip is E_DECOMPRESS', async () => {
  const gz = gzipSync(Buffer.from(XML));
  const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
  const expect = {
    checksum: { type: 'sha256', value: sha(gz) }, openChecksum: { type: 'sha256', value: sha(Buffer.from(XML)) },
    size: gz.length, openSize: Buffer.byteLength(XML),
  };
  assert.equal((await loadPrimaryPool(gz, { expect })).count, 3);
  for (const bad of [
    { ...expect, checksum: { type: 'sha256', value: '0'.repeat(64) } },
    { ...expect, openChecksum: { type: 'sha256', value: '0'.repeat(64) } },
    { ...expect, openSize: 5 },
  ]) {
    await assert.rejects(loadPrimaryPool(gz, { expect: bad, file: 'p.xml.gz' }), (e: unknown) =>
      e instanceof PhotonError && e.code === 'E_REPO_CHECKSUM' && e.file === 'p.xml.gz');
  }
  await assert.rejects(loadPrimaryPool(gz.subarray(0, gz.length - 12)), (e: unknown) =>
    e instanceof PhotonError && e.code === 'E_DECOMPRESS');
});

// --- against createrepo_c ---------------------------------------------------------------------

let dir = '';
const SPEC = `Name: alpha
Version: 1.2.3
Release: 4
Epoch: 2
Summary: Alpha & <omega> test
License: MIT and "GPL"
URL: https://example.com/alpha?x=1&y=2
BuildArch: noarch
Provides: alpha-api = 3.0-1
Requires(pre): /bin/sh
Requires: beta >= 1.0
Requires: (gamma or (delta >= 2 with epsilon))
Conflicts: oldalpha < 1.0
Obsoletes: alpha-legacy <= 1:0.9-1
Recommends: zeta
Supplements: (theta and iota)
%description
Unicode: héllo 日本 & <xml>.
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/etc/alpha
echo hi > %{buildroot}/usr/bin/alpha
echo cfg > %{buildroot}/etc/alpha/alpha.conf
%files
/usr/bin/alpha
%dir /etc/alpha
/etc/alpha/alpha.conf
%ghost /etc/alpha/ghost.conf
`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photon-pool-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

for (const compress of ['gz', 'xz']) {
  test(`a createrepo_c repository (${compress}) loads into the same packages as readPrimary`, async () => {
    const root = join(dir, compress);
    await mkdir(root, { recursive: true });
    await writeFile(join(dir, 'alpha.spec'), SPEC);
    await run('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${dir}/top`, '--define', `_rpmdir ${root}`,
      join(dir, 'alpha.spec')]);
    await run('createrepo_c', ['-q', '--compress-type', compress, root]);
    const repomdPath = join(root, 'repodata', 'repomd.xml');
    const primary = findData(await readRepomd(repomdPath), 'primary')!;
    const path = dataPath(repomdPath, primary);
    const want: RepoPackage[] = [];
    await readPrimary(path, (p) => want.push(p), { expect: expectationOf(primary) });
    const pool = await loadPrimaryPool(path, { expect: expectationOf(primary) });
    assert.equal(pool.count, 1);
    assert.deepEqual(all(pool), want);
    assert.equal(pool.package(0).files.length, 4);
  });
}

const BIG = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'photon-bench', 'bigrepo', 'repodata', 'repomd.xml');

test('the benchmark repository (Debian bookworm): first 3000 packages as readPrimary reads them', { skip: !existsSync(BIG) && 'no ~/.cache/photon-bench/bigrepo (npm run bench makes it)' }, async () => {
  const primary = findData(await readRepomd(BIG), 'primary')!;
  const path = dataPath(BIG, primary);
  // The first 3000 packages of the decompressed file, cut after a </package>, re-rooted.
  const xml = (await run('gzip', ['-dc', path])).stdout as Buffer;
  let cut = 0;
  for (let i = 0; i < 3000; i++) cut = xml.indexOf('</package>', cut) + 10;
  const part = Buffer.concat([xml.subarray(0, cut), Buffer.from('\n</metadata>\n')]);
  const want = await objects(part);
  const pool = await loadPrimaryPool(part);
  assert.equal(pool.count, 3000);
  for (let i = 0; i < pool.count; i++) assert.deepEqual(pool.package(i), want[i], `package ${i}`);
});
