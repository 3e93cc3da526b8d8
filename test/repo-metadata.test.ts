// Reads metadata that Debian's createrepo_c made from RPMs built here with rpmbuild, and checks
// every field against what `rpm -qp --qf` says about the same files.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { formatDep } from '../src/rpm/deps.ts';
import { PhotonError } from '../src/util/errors.ts';
import { run } from '../src/util/run.ts';
import {
  type RepoPackage, dataPath, expectationOf, findData, readFilelists, readOther, readPrimary, readRepomd, readUpdateinfo,
} from '../src/repo/metadata.ts';

let dir = '';
let rpms: string[] = [];

const SPECS = {
  alpha: `Name: alpha
Version: 1.2.3
Release: 4%{?dist}
Epoch: 2
Summary: Alpha & <omega> test package
License: MIT and "GPL"
URL: https://example.com/alpha?x=1&y=2
Group: Applications/Test
Vendor: Photon Test
Packager: Jane Doe <jane@example.com>
BuildArch: noarch
Provides: alpha-api = 3.0-1
Provides: libalpha.so.1()(64bit)
Requires(pre): /bin/sh
Requires(post): coreutils
Requires: beta >= 1.0
Requires: (gamma or (delta >= 2 with epsilon))
Conflicts: oldalpha < 1.0
Obsoletes: alpha-legacy <= 1:0.9-1
Recommends: zeta
Suggests: eta > 3
Supplements: (theta and iota)
Enhances: kappa

%description
Long description with <xml> & "quotes" and unicode: héllo 日本.
Second line.

%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/etc/alpha %{buildroot}/usr/share/alpha
echo hi > %{buildroot}/usr/bin/alpha
echo cfg > %{buildroot}/etc/alpha/alpha.conf
echo data > %{buildroot}/usr/share/alpha/data

%pre
true

%files
%attr(755,root,root) /usr/bin/alpha
%dir /etc/alpha
%config(noreplace) /etc/alpha/alpha.conf
%ghost /etc/alpha/ghost.conf
/usr/share/alpha

%changelog
* Mon Jan 02 2023 Jane Doe <jane@example.com> - 2:1.2.3-4
- Second entry with <b>markup</b> & ampersand
* Sun Jan 01 2023 John Roe <john@example.com> - 2:1.2.3-3
- First entry
`,
  beta: `Name: beta
Version: 1.0~rc1^git2
Release: 1
Summary: Beta
License: ASL 2.0
BuildArch: noarch
%description
Beta.
%files
`,
};

const QF = [
  'NAME', 'ARCH', 'EPOCHNUM', 'VERSION', 'RELEASE', 'SUMMARY', 'DESCRIPTION', 'PACKAGER', 'URL', 'LICENSE', 'VENDOR',
  'GROUP', 'BUILDHOST', 'SOURCERPM', 'BUILDTIME', 'SIZE', 'LONGARCHIVESIZE',
].map((t) => `%{${t}}`).join('\x1f');

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photon-repo-'));
  for (const [name, spec] of Object.entries(SPECS)) {
    await writeFile(join(dir, `${name}.spec`), spec);
    await run('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${dir}/top`, '--define', '_rpmdir %{_topdir}/RPMS',
      join(dir, `${name}.spec`)]);
  }
  await mkdir(join(dir, 'repo'), { recursive: true });
  const out = join(dir, 'top', 'RPMS', 'noarch');
  for (const f of await readdir(out)) {
    await writeFile(join(dir, 'repo', f), await readFile(join(out, f)));
    rpms.push(join(dir, 'repo', f));
  }
  rpms = rpms.sort();
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function makeRepo(name: string, extra: string[]): Promise<string> {
  const root = join(dir, name);
  await mkdir(root, { recursive: true });
  for (const f of rpms) await writeFile(join(root, f.split('/').pop()!), await readFile(f));
  await run('createrepo_c', ['-q', ...extra, root]);
  return root;
}

async function readAll(root: string): Promise<Map<string, RepoPackage>> {
  const repomdPath = join(root, 'repodata', 'repomd.xml');
  const repomd = await readRepomd(repomdPath);
  const primary = findData(repomd, 'primary')!;
  const pkgs = new Map<string, RepoPackage>();
  await readPrimary(dataPath(repomdPath, primary), (p) => pkgs.set(p.name, p), { expect: expectationOf(primary) });
  return pkgs;
}

async function readRecompressed(root: string): Promise<Map<string, RepoPackage>> {
  const repomdPath = join(root, 'repodata', 'repomd.xml');
  const primary = findData(await readRepomd(repomdPath), 'primary')!;
  const xml = (await run('gzip', ['-dc', dataPath(repomdPath, primary)])).stdout;
  const zst = (await run('zstd', ['-q', '-c', '-19'], { input: xml })).stdout;
  const pkgs = new Map<string, RepoPackage>();
  const expect = { openChecksum: primary.openChecksum, openSize: primary.openSize };
  await readPrimary(zst, (p) => pkgs.set(p.name, p), { expect, file: 'primary.xml.zst' });
  return pkgs;
}

async function qf(rpm: string, fmt: string): Promise<string> {
  return (await run('rpm', ['-qp', '--nosignature', '--qf', fmt, rpm])).stdout.toString();
}

for (const compress of ['gz', 'xz', 'bz2', 'zstd']) {
  test(`primary (${compress}) matches rpm -qp for every field`, async () => {
    // Debian's createrepo_c 0.17 is built without zstd: recompress its primary with the CLI.
    const root = await makeRepo(`repo-${compress}`, compress === 'zstd' ? [] : ['--compress-type', compress]);
    const pkgs = compress === 'zstd' ? await readRecompressed(root) : await readAll(root);
    assert.equal(pkgs.size, 2);
    for (const rpm of rpms) {
      const f = (await qf(rpm, QF)).split('\x1f');
      const p = pkgs.get(f[0]!)!;
      assert.ok(p, f[0]);
      const none = (s: string): string => (s === '(none)' ? '' : s);
      assert.deepEqual(
        [p.name, p.arch, p.epoch, p.version, p.release, p.summary, p.description, p.packager, p.url, p.license, p.vendor,
          p.group, p.buildhost, p.sourcerpm, String(p.timeBuild), String(p.sizeInstalled), String(p.sizeArchive)],
        f.map(none).map((v, i) => (i === 2 && v === '' ? '0' : v)),
      );
      assert.equal(p.location, rpm.split('/').pop());
      assert.equal(p.checksumType, 'sha256');
      const sha = (await run('sha256sum', [rpm])).stdout.toString().split(' ')[0];
      assert.equal(p.pkgid, sha);
      for (const [field, tag] of [['requires', 'REQUIRE'], ['provides', 'PROVIDE'], ['conflicts', 'CONFLICT'],
        ['obsoletes', 'OBSOLETE'], ['recommends', 'RECOMMEND'], ['suggests', 'SUGGEST'], ['supplements', 'SUPPLEMENT'],
        ['enhances', 'ENHANCE']] as const) {
        // createrepo drops rpmlib() requires and duplicate provides of files; compare the rest.
        const want = (await qf(rpm, `[%{${tag}NAME} %{${tag}FLAGS:depflags} %{${tag}VERSION}\\n]`)).split('\n')
          .map((l) => l.trim().replace(/\s+/g, ' ')).filter((l) => l && !l.startsWith('rpmlib('));
        // … and requires the package provides itself (config(alpha) = 2:1.2.3-4).
        const own = new Set(p.provides.map(formatDep));
        const expected = [...new Set(want)].filter((d) => field !== 'requires' || !own.has(d));
        assert.deepEqual(p[field].map(formatDep).sort(), expected.sort(), `${p.name} ${field}`);
      }
    }
    const alpha = pkgs.get('alpha')!;
    const pre = alpha.requires.filter((d) => d.flags & 64).map((d) => d.name).sort();
    assert.deepEqual(pre, ['/bin/sh', 'coreutils']);
    assert.deepEqual(alpha.files, [
      { path: '/etc/alpha', type: 'dir' },
      { path: '/etc/alpha/alpha.conf', type: 'file' },
      { path: '/etc/alpha/ghost.conf', type: 'ghost' },
      { path: '/usr/bin/alpha', type: 'file' },
    ]);
    assert.ok(alpha.headerEnd > alpha.headerStart && alpha.headerStart > 0);
    assert.equal(alpha.sizePackage, (await readFile(rpms.find((r) => r.includes('alpha'))!)).length);
  });
}

test('filelists and other carry every file and changelog', async () => {
  const root = await makeRepo('repo-fo', []);
  const repomdPath = join(root, 'repodata', 'repomd.xml');
  const repomd = await readRepomd(repomdPath);
  const fl = findData(repomd, 'filelists')!;
  const files = new Map<string, string[]>();
  await readFilelists(dataPath(repomdPath, fl), (e) => files.set(e.name, e.files.map((f) => `${f.type}:${f.path}`)),
    { expect: expectationOf(fl) });
  const alphaRpm = rpms.find((r) => r.includes('alpha'))!;
  const want = (await qf(alphaRpm, '[%{FILEFLAGS:fflags}|%{FILEMODES:perms}|%{FILENAMES}\\n]')).trim().split('\n').map((l) => {
    const [flags, mode, path] = l.split('|');
    return `${flags!.includes('g') ? 'ghost' : mode!.startsWith('d') ? 'dir' : 'file'}:${path}`;
  });
  assert.deepEqual(files.get('alpha')!.sort(), want.sort());
  assert.deepEqual(files.get('beta'), []);
  const other = findData(repomd, 'other')!;
  const logs = new Map<string, { author: string; date: number; text: string }[]>();
  await readOther(dataPath(repomdPath, other), (e) => logs.set(e.name, e.changelogs), { expect: expectationOf(other) });
  const cl = (await qf(alphaRpm, '[%{CHANGELOGNAME}\x1f%{CHANGELOGTIME}\x1f%{CHANGELOGTEXT}\x1e]')).split('\x1e').filter(Boolean)
    .map((s) => s.split('\x1f')).map(([author, date, text]) => ({ author: author!, date: Number(date), text: text! }));
  assert.deepEqual([...logs.get('alpha')!].sort((a, b) => a.date - b.date), cl.sort((a, b) => a.date - b.date));
});

test('a bad checksum and truncated XML are clear errors', async () => {
  const root = await makeRepo('repo-bad', []);
  const repomdPath = join(root, 'repodata', 'repomd.xml');
  const repomd = await readRepomd(repomdPath);
  const primary = findData(repomd, 'primary')!;
  const path = dataPath(repomdPath, primary);
  const wrong = { ...expectationOf(primary), checksum: { type: 'sha256', value: '0'.repeat(64) } };
  await assert.rejects(readPrimary(path, () => {}, { expect: wrong }), (e: unknown) =>
    e instanceof PhotonError && e.code === 'E_REPO_CHECKSUM' && e.file === path && /expected sha256:0{64}, got sha256:[0-9a-f]{64}/.test(e.message));
  const wrongOpen = { ...expectationOf(primary), openChecksum: { type: 'sha', value: 'ab'.repeat(20) } };
  await assert.rejects(readPrimary(path, () => {}, { expect: wrongOpen }), (e: unknown) =>
    e instanceof PhotonError && e.code === 'E_REPO_CHECKSUM' && /open-checksum mismatch/.test(e.message));
  const xml = (await run('gzip', ['-dc', path])).stdout;
  const cut = xml.subarray(0, xml.length - 40);
  await assert.rejects(readPrimary(cut, () => {}, { file: 'primary.xml' }), (e: unknown) =>
    e instanceof PhotonError && e.code === 'E_XML' && e.file === 'primary.xml' && /line \d+/.test(e.message));
  const gzCut = (await readFile(path)).subarray(0, 200);
  await assert.rejects(readPrimary(gzCut, () => {}), (e: unknown) => e instanceof PhotonError && e.code === 'E_DECOMPRESS');
});

test('updateinfo: advisories with references, packages and reboot flags', async () => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="security@photon" status="stable" type="security" version="2.0">
    <id>PHSA-2023-0001</id>
    <title>Important: openssl &amp; friends</title>
    <issued date="2023-01-02 03:04:05"/>
    <updated date="1672628645"/>
    <severity>Important</severity>
    <summary>s</summary>
    <description>line1
line2</description>
    <references>
      <reference href="https://cve.example/CVE-2023-1" id="CVE-2023-1" type="cve" title="CVE-2023-1"/>
    </references>
    <pkglist>
      <collection short="photon5">
        <name>Photon 5</name>
        <package name="openssl" version="3.0.8" release="1.ph5" epoch="0" arch="x86_64" src="openssl-3.0.8-1.ph5.src.rpm">
          <filename>openssl-3.0.8-1.ph5.x86_64.rpm</filename>
          <sum type="sha256">abc</sum>
          <reboot_suggested>True</reboot_suggested>
        </package>
      </collection>
    </pkglist>
  </update>
  <update type="bugfix" status="stable"><id>PHBA-1</id><title>t</title><reboot_suggested/></update>
</updates>`;
  const got: unknown[] = [];
  await readUpdateinfo(Buffer.from(xml), (u) => got.push(u));
  assert.equal(got.length, 2);
  const [a, b] = got as import('../src/repo/metadata.ts').Update[];
  assert.equal(a!.id, 'PHSA-2023-0001');
  assert.equal(a!.title, 'Important: openssl & friends');
  assert.equal(a!.type, 'security');
  assert.equal(a!.severity, 'Important');
  assert.equal(a!.issued, '2023-01-02 03:04:05');
  assert.equal(a!.updated, '1672628645');
  assert.equal(a!.description, 'line1\nline2');
  assert.deepEqual(a!.references, [{ href: 'https://cve.example/CVE-2023-1', id: 'CVE-2023-1', type: 'cve', title: 'CVE-2023-1' }]);
  assert.equal(a!.collections[0]!.name, 'Photon 5');
  assert.deepEqual(a!.collections[0]!.packages[0], {
    name: 'openssl', epoch: '0', version: '3.0.8', release: '1.ph5', arch: 'x86_64', src: 'openssl-3.0.8-1.ph5.src.rpm',
    filename: 'openssl-3.0.8-1.ph5.x86_64.rpm', sum: { type: 'sha256', value: 'abc' },
    rebootSuggested: true, restartSuggested: false, reloginSuggested: false,
  });
  assert.equal(a!.rebootSuggested, true);
  assert.equal(b!.rebootSuggested, true);
});
