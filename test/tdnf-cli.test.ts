// tdnf's read-only commands end to end: packages built by rpmbuild, a repository by createrepo_c
// (updateinfo added with modifyrepo_c), a root whose rpmdb Debian's rpm wrote; we run
// src/cli/tdnf.ts as a process and compare stdout, stderr and the exit status exactly.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../src/util/run.ts';
import { buildRpm, hostRpm } from './kit/rpmbuild.ts';
import { cleanup, tempDir } from './kit/tmp.ts';

let dir = '';
let root = '';
const CLI = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'src', 'cli', 'tdnf.ts');

function tdnf(...argv: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, '--installroot', root, ...argv], { encoding: 'utf8' });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const UPDATEINFO = `<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="test" status="stable" type="security" version="1">
    <id>PHSA-2024-0001</id>
    <title>foo update</title>
    <issued date="2024-01-02 03:04:05"/>
    <severity>Important</severity>
    <description>Fixes foo.</description>
    <pkglist><collection short="t"><name>t</name>
      <package name="foo" version="1.1" release="1" epoch="0" arch="noarch" src="foo-1.1-1.src.rpm">
        <filename>foo-1.1-1.noarch.rpm</filename>
      </package>
    </collection></pkglist>
  </update>
</updates>
`;

before(async () => {
  dir = await tempDir('tdnf-cli');
  root = join(dir, 'root');
  const repo = join(dir, 'repo');
  await mkdir(repo, { recursive: true });
  const file = (p: string) => ['mkdir -p $RPM_BUILD_ROOT$(dirname ' + p + ')', `echo x > $RPM_BUILD_ROOT${p}`];
  const foo10 = await buildRpm(dir, { name: 'foo', version: '1.0', preamble: ['Provides: foocap = 2'], install: file('/usr/bin/foo'), files: ['/usr/bin/foo'] });
  const foo11 = await buildRpm(dir, { name: 'foo', version: '1.1', preamble: ['Provides: foocap = 2'], install: file('/usr/bin/foo'), files: ['/usr/bin/foo'] });
  const bar = await buildRpm(dir, { name: 'bar', version: '2.0', preamble: ['Requires: foo >= 1.0'] });
  const baz = await buildRpm(dir, { name: 'baz', install: file('/usr/lib/baz/data.txt'), files: ['/usr/lib/baz'] });
  for (const f of [foo10, foo11, bar]) await copyFile(f, join(repo, basename(f)));
  await run('createrepo_c', ['--quiet', repo]);
  await writeFile(join(dir, 'updateinfo.xml'), UPDATEINFO);
  await run('modifyrepo_c', [join(dir, 'updateinfo.xml'), join(repo, 'repodata')]);
  await hostRpm(root, ['--initdb']);
  await hostRpm(root, ['-i', '--justdb', '--nodeps', foo10, baz]);
  await mkdir(join(root, 'etc/tdnf'), { recursive: true });
  await mkdir(join(root, 'etc/yum.repos.d'), { recursive: true });
  await writeFile(join(root, 'etc/tdnf/tdnf.conf'), '[main]\ngpgcheck=0\nreposdir=/etc/yum.repos.d\ncachedir=/var/cache/tdnf\n');
  await writeFile(join(root, 'etc/yum.repos.d/test.repo'), `[test]\nname=Test Repo\nbaseurl=file://${repo}\nenabled=1\ngpgcheck=0\n`);
  // A warm cache, so that no command below prints tdnf's "Refreshing metadata" notice.
  assert.equal(tdnf('-q', 'makecache').status, 0);
});

after(() => cleanup(dir));

const row = (na: string, evr: string, repo: string) => `${na.padEnd(44)} ${evr.padEnd(20)} ${repo.padStart(12)}\n`;

describe('tdnf read-only commands', () => {
  it('list: all, installed, a spec, JSON', () => {
    assert.deepEqual(tdnf('list'), {
      stdout: row('bar.noarch', '2.0-1', 'test') + row('baz.noarch', '1.0-1', '@System') + row('foo.noarch', '1.0-1', '@System')
        + row('foo.noarch', '1.0-1', 'test') + row('foo.noarch', '1.1-1', 'test'),
      stderr: '', status: 0,
    });
    assert.equal(tdnf('list', 'installed').stdout, row('baz.noarch', '1.0-1', '@System') + row('foo.noarch', '1.0-1', '@System'));
    assert.equal(tdnf('list', '--upgrades').stdout, row('foo.noarch', '1.1-1', 'test'));
    assert.equal(tdnf('list', 'foo-1.1').stdout, row('foo.noarch', '1.1-1', 'test'));
    assert.deepEqual(JSON.parse(tdnf('-j', 'list', 'extras').stdout), [{ Name: 'baz', Arch: 'noarch', Evr: '1.0-1', Repo: '@System' }]);
  });

  it('list of nothing is 1011, an empty list with -j', () => {
    assert.deepEqual(tdnf('list', 'nosuch'), { stdout: '', stderr: 'Error(1011) : No matching packages\n', status: 1011 % 256 });
    assert.deepEqual(tdnf('-j', 'list', 'nosuch'), { stdout: '[]\n', stderr: '', status: 0 });
  });

  it('info', () => {
    const r = tdnf('info', 'baz');
    assert.equal(r.stdout, 'Name          : baz\nArch          : noarch\nEpoch         : 0\nVersion       : 1.0\nRelease       : 1\n'
      + 'Install Size  : 2.00b (2)\nRepo          : @System\nSummary       : test package baz\nURL           : \n'
      + 'License       : MIT\nDescription   : Test package baz.\n\n\nTotal Size: 2.00b (2)\n');
    assert.deepEqual(JSON.parse(tdnf('-j', 'info', 'bar').stdout), [{
      Name: 'bar', Arch: 'noarch', Evr: '2.0-1', Repo: 'test', Url: '', InstallSize: 0, Summary: 'test package bar',
      License: 'MIT', Description: 'Test package bar.',
    }]);
  });

  it('search, provides, count', () => {
    assert.deepEqual(tdnf('search', 'BAR'), { stdout: 'bar : test package bar\n', stderr: '', status: 0 });
    assert.deepEqual(tdnf('search', 'zzz'), { stdout: '', stderr: 'Error(1599) : No matches found\n', status: 1599 % 256 });
    assert.equal(tdnf('provides', '/usr/bin/foo').stdout,
      'foo-1.0-1.noarch : test package foo\nRepo\t : @System\nfoo-1.0-1.noarch : test package foo\nRepo\t : test\n'
      + 'foo-1.1-1.noarch : test package foo\nRepo\t : test\n');
    assert.deepEqual(JSON.parse(tdnf('-j', 'whatprovides', 'foocap >= 2').stdout).map((p: { Evr: string }) => p.Evr), ['1.0-1', '1.0-1', '1.1-1']);
    assert.equal(tdnf('provides', '/usr/lib/baz/data.txt').stdout, 'baz-1.0-1.noarch : test package baz\nRepo\t : @System\n');
    assert.deepEqual(tdnf('provides'), { stdout: '', stderr: 'Error(907) : Need an item to match.\n', status: 907 % 256 });
    assert.deepEqual(tdnf('count'), { stdout: 'Package count = 5\n', stderr: '', status: 0 });
    assert.equal(tdnf('-j', 'count').stdout, '5\n');
  });

  it('check-update', () => {
    assert.deepEqual(tdnf('check-update'), { stdout: `${'test'.padStart(80)}\r${'1.1'.padStart(50)}-1\rfoo.noarch\n`, stderr: '', status: 0 });
    assert.equal(tdnf('--setopt=dnf_check_update_compat=1', 'check-update').status, 100);
    assert.deepEqual(JSON.parse(tdnf('-j', 'check-update').stdout), [{ Name: 'foo', Arch: 'noarch', Evr: '1.1-1', Repo: 'test' }]);
  });

  it('repoquery selections and outputs', () => {
    assert.equal(tdnf('repoquery').stdout, 'bar-2.0-1.noarch\nbaz-1.0-1.noarch\nfoo-1.0-1.noarch\nfoo-1.0-1.noarch\nfoo-1.1-1.noarch\n');
    assert.equal(tdnf('repoquery', '--installed').stdout, 'baz-1.0-1.noarch\nfoo-1.0-1.noarch\n');
    assert.equal(tdnf('repoquery', '--available', 'foo').stdout, 'foo-1.0-1.noarch\nfoo-1.1-1.noarch\n');
    assert.equal(tdnf('repoquery', '--extras').stdout, 'baz-1.0-1.noarch\n');
    assert.equal(tdnf('repoquery', '--upgrades').stdout, 'foo-1.1-1.noarch\n');
    assert.equal(tdnf('repoquery', '--whatrequires', 'foo').stdout, 'bar-2.0-1.noarch\n');
    assert.equal(tdnf('repoquery', '--whatprovides', 'foocap').stdout, 'foo-1.0-1.noarch\nfoo-1.0-1.noarch\nfoo-1.1-1.noarch\n');
    assert.equal(tdnf('repoquery', '--file', '/usr/bin/foo', '--installed').stdout, 'foo-1.0-1.noarch\n');
    assert.equal(tdnf('repoquery', '--requires', 'bar').stdout, 'foo >= 1.0\n');
    assert.equal(tdnf('repoquery', '--provides', 'foo').stdout, 'foo = 1.0-1\nfoo = 1.1-1\nfoocap = 2\n');
    assert.equal(tdnf('repoquery', '--list', 'baz').stdout, '/usr/lib/baz\n/usr/lib/baz/data.txt\n');
    assert.equal(tdnf('repoquery', '--qf', '%{name}|%{evr}|%{repoid}', 'bar').stdout, 'bar|2.0-1|test\n');
    assert.deepEqual(JSON.parse(tdnf('-j', 'repoquery', '--requires', 'bar').stdout), [{
      Nevra: 'bar-2.0-1.noarch', Name: 'bar', Arch: 'noarch', Evr: '2.0-1', Repo: 'test', Requires: ['foo >= 1.0'],
    }]);
    assert.equal(tdnf('repoquery', '--requires', '--provides').status, 914 % 256);
  });

  it('updateinfo summary, list, JSON', () => {
    assert.deepEqual(tdnf('updateinfo'), { stdout: '1 Security notice(s)\n', stderr: '', status: 0 });
    assert.equal(tdnf('updateinfo', 'list').stdout, 'PHSA-2024-0001 Security foo-1.1-1.noarch.rpm\n');
    assert.deepEqual(JSON.parse(tdnf('-j', 'updateinfo').stdout), { Security: 1, Bugfix: 0, Enhancement: 0, Unknown: 0 });
    assert.equal(tdnf('updateinfo', 'baz').stdout, '');
  });

  it('errors: options, commands, installroot', () => {
    assert.deepEqual(tdnf('--foo', 'list'), {
      stdout: '', stderr: 'No such option: --foo. Please use /usr/bin/tdnf --help\nError(908) : Command line error: option is invalid.\n', status: 908 % 256,
    });
    assert.deepEqual(tdnf('-j', '--foo', 'list'), {
      stdout: '{"Error":908,"ErrorMessage":"Command line error: option is invalid."}\n',
      stderr: 'No such option: --foo. Please use /usr/bin/tdnf --help\n', status: 908 % 256,
    });
    assert.deepEqual(tdnf('frob'), {
      stdout: '', stderr: 'No such command: frob. Please use /usr/bin/tdnf --help\nError(912) : Please check your command\n', status: 912 % 256,
    });
    assert.deepEqual(tdnf('list', '--releasever'), {
      stdout: '', stderr: 'Option --releasever requires an argument\nError(909) : Command line error: expected one argument.\n', status: 909 % 256,
    });
    const rel = spawnSync(process.execPath, ['--import', 'tsx', CLI, '--installroot', 'relative', 'list'], { encoding: 'utf8' });
    assert.equal(rel.stderr, 'Install root must be an absolute path.\nError(1622) : Invalid argument\n');
    assert.equal(rel.status, 1622 % 256);
    // A unique prefix works; an ambiguous one does not.
    assert.equal(tdnf('list', '--installe').stdout, row('baz.noarch', '1.0-1', '@System') + row('foo.noarch', '1.0-1', '@System'));
    assert.equal(tdnf('list', '--inst').status, 908 % 256);
    assert.equal(tdnf('install', 'bar').status !== 0, true);
  });

  it('--version and help', () => {
    assert.deepEqual(tdnf('--version'), { stdout: 'tdnf: 3.5.6\n', stderr: '', status: 0 });
    assert.deepEqual(JSON.parse(tdnf('-j', '--version').stdout), { Name: 'tdnf', Version: '3.5.6' });
    const h = tdnf('help');
    assert.equal(h.status, 0);
    assert.match(h.stdout, /^Usage: tdnf \[options\] COMMAND\n/);
  });
});
