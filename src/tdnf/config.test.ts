import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { loadConfig, parseMetadataExpire, repoCacheName, expandVars } from './config.ts';
import { TDNF, TdnfError } from './errors.ts';

let dir: string;
before(async () => {
  dir = await tempDir('tdnf-config');
});
after(() => cleanup(dir));

async function setup(name: string, conf: string, repos: Record<string, string> = {}, extra: Record<string, string> = {}): Promise<string> {
  const root = join(dir, name);
  await mkdir(join(root, 'repos.d'), { recursive: true });
  await writeFile(join(root, 'tdnf.conf'), conf.replace(/@ROOT@/g, root));
  for (const [f, t] of Object.entries(repos)) await writeFile(join(root, 'repos.d', f), t);
  for (const [f, t] of Object.entries(extra)) {
    await mkdir(join(root, f, '..'), { recursive: true });
    await writeFile(join(root, f), t);
  }
  return root;
}

async function rejectsCode(p: Promise<unknown>, code: number, match?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof TdnfError, String(e));
    assert.equal(e.code, code, e.message);
    if (match) assert.match(e.message, match);
    return true;
  });
}

describe('metadata_expire', () => {
  test('units, never, negative', () => {
    assert.equal(parseMetadataExpire('never'), -1);
    assert.equal(parseMetadataExpire('-1'), -1);
    assert.equal(parseMetadataExpire('0'), 0);
    assert.equal(parseMetadataExpire('90'), 90);
    assert.equal(parseMetadataExpire('30s'), 30);
    assert.equal(parseMetadataExpire('2m'), 120);
    assert.equal(parseMetadataExpire('3h'), 10800);
    assert.equal(parseMetadataExpire('2d'), 172800);
    for (const bad of ['soon', '5x', '', '1.5h']) assert.throws(() => parseMetadataExpire(bad), (e: TdnfError) => e.code === TDNF.METADATA_EXPIRE_PARSE);
  });
});

test('cache name is id + 8 hex of sha256(url)', () => {
  const url = 'https://packages.vmware.com/photon/5.0/photon_release_5.0_x86_64';
  assert.equal(repoCacheName('photon', url), `photon-${createHash('sha256').update(url).digest('hex').slice(0, 8)}`);
});

test('vars: $x and ${x}, unknown left as written', () => {
  assert.equal(expandVars('a/$releasever/${basearch}/$nope', { releasever: '5.0', basearch: 'x86_64' }), 'a/5.0/x86_64/$nope');
});

describe('loadConfig', () => {
  test('defaults, repo keys, vars, drop-ins', async () => {
    const root = await setup('basic', `[main]
gpgcheck=1
installonly_limit=2
reposdir=@ROOT@/repos.d
cachedir=@ROOT@/cache
varsdir=@ROOT@/vars
excludepkgs=foo bar
`, {
      'a.repo': `[photon]
name=Photon $releasever ($basearch)
baseurl=https://example.org/$releasever/$basearch
  https://mirror.example.org/$myvar/x
enabled=1
gpgkey=file:///etc/pki/rpm-gpg/KEY, https://example.org/key2
metadata_expire=1h
unknown_key=whatever

[photon-debug]
baseurl=https://example.org/debug
`,
    }, {
      'vars/myvar': 'hello\n',
      'minversions.d/a.conf': '# comment\nfoo=1.0\n\nbar=2\n',
      'locks.d/l.conf': 'kernel\n',
      'protected.d/p.conf': 'tdnf\n',
    });
    const cfg = await loadConfig({ configFile: join(root, 'tdnf.conf'), releasever: '5.0', basearch: 'x86_64', exclude: ['baz'] });
    assert.equal(cfg.main.gpgcheck, true);
    assert.equal(cfg.main.installonlyLimit, 2);
    assert.equal(cfg.main.keepcache, false);
    assert.equal(cfg.cachedir, join(root, 'cache'));
    assert.equal(cfg.persistdir, '/var/lib/tdnf');
    assert.deepEqual(cfg.excludes, ['foo', 'bar', 'baz']);
    assert.deepEqual(cfg.minversions, ['foo=1.0', 'bar=2']);
    assert.deepEqual(cfg.locks, ['kernel']);
    assert.deepEqual(cfg.protected, ['tdnf']);
    assert.equal(cfg.repos.length, 2);
    const [p, d] = cfg.repos;
    assert.equal(p!.name, 'Photon 5.0 (x86_64)');
    assert.deepEqual(p!.baseurl, ['https://example.org/5.0/x86_64', 'https://mirror.example.org/hello/x']);
    assert.deepEqual(p!.gpgkey, ['file:///etc/pki/rpm-gpg/KEY', 'https://example.org/key2']);
    assert.equal(p!.metadataExpire, 3600);
    assert.equal(p!.enabled, true);
    assert.equal(p!.gpgcheck, true);
    assert.equal(p!.priority, 50);
    assert.equal(p!.retries, 10);
    assert.equal(p!.cacheName, repoCacheName('photon', 'https://example.org/5.0/x86_64'));
    assert.equal(d!.name, 'photon-debug');
    assert.equal(d!.enabled, false, 'tdnf repos are disabled unless enabled=1');
    assert.equal(d!.metadataExpire, 172800);
    const dis = await loadConfig({ configFile: join(root, 'tdnf.conf'), disableexcludes: true, exclude: ['baz'] });
    assert.deepEqual(dis.excludes, []);
    assert.equal(dis.repos[0]!.baseurl[0], `https://example.org/$releasever/${dis.vars['basearch']}`, 'an unknown releasever stays unexpanded');
  });

  test('enablerepo / disablerepo globs, --repo, setopt', async () => {
    const root = await setup('enable', `[main]\nreposdir=@ROOT@/repos.d\n`, {
      'r.repo': '[a]\nbaseurl=http://x/a\nenabled=1\n[b]\nbaseurl=http://x/b\n[c-debug]\nbaseurl=http://x/c\nenabled=1\n',
    });
    const conf = join(root, 'tdnf.conf');
    const en = (c: { repos: readonly { id: string; enabled: boolean }[] }): string[] => c.repos.filter((r) => r.enabled).map((r) => r.id);
    assert.deepEqual(en(await loadConfig({ configFile: conf })), ['a', 'c-debug']);
    assert.deepEqual(en(await loadConfig({ configFile: conf, enablerepo: ['b'], disablerepo: ['*-debug'] })), ['a', 'b']);
    assert.deepEqual(en(await loadConfig({ configFile: conf, repoid: ['b'] })), ['b']);
    assert.deepEqual(en(await loadConfig({ configFile: conf, enablerepo: ['nosuchrepo'] })), ['a', 'c-debug'], 'an unknown id is ignored, as tdnf does');
    const c = await loadConfig({ configFile: conf, setopt: ['keepcache=1', 'a.priority=10', 'b.enabled=1', '*.skip_if_unavailable=1'] });
    assert.equal(c.main.keepcache, true);
    assert.equal(c.repos[0]!.priority, 10);
    assert.deepEqual(en(c), ['a', 'b', 'c-debug']);
    assert.ok(c.repos.every((r) => r.skipIfUnavailable));
    await rejectsCode(loadConfig({ configFile: conf, setopt: ['keepcache'] }), TDNF.CLI_SETOPT_NO_EQUALS);
  });

  test('repofrompath and repofromdir', async () => {
    const root = await setup('fromPath', `[main]\nreposdir=@ROOT@/repos.d\n`);
    await mkdir(join(root, 'rpms'));
    const cfg = await loadConfig({ configFile: join(root, 'tdnf.conf'), repofrompath: [`local,${root}/rpms`, 'web,http://127.0.0.1/x'], repofromdir: [`dir,${root}/rpms`] });
    assert.deepEqual(cfg.repos.map((r) => [r.id, r.enabled, r.baseurl[0], r.hasMetadata]), [
      ['local', true, `file://${root}/rpms`, true], ['web', true, 'http://127.0.0.1/x', true], ['dir', true, `${root}/rpms`, false],
    ]);
    await rejectsCode(loadConfig({ configFile: join(root, 'tdnf.conf'), repofrompath: ['nocomma'] }), TDNF.INVALID_PARAMETER);
  });

  test('installroot: the root config, paths under the root', async () => {
    const root = join(dir, 'iroot');
    await mkdir(join(root, 'etc/tdnf/vars'), { recursive: true });
    await mkdir(join(root, 'etc/yum.repos.d'), { recursive: true });
    await writeFile(join(root, 'etc/tdnf/tdnf.conf'), '[main]\ngpgcheck=1\n');
    await writeFile(join(root, 'etc/tdnf/vars/releasever'), '5.0\n');
    await writeFile(join(root, 'etc/yum.repos.d/p.repo'), '[p]\nbaseurl=http://h/$releasever\nenabled=1\n');
    const cfg = await loadConfig({ installroot: root, basearch: 'x86_64' });
    assert.equal(cfg.configFile, join(root, 'etc/tdnf/tdnf.conf'));
    assert.equal(cfg.reposdir, join(root, 'etc/yum.repos.d'));
    assert.equal(cfg.cachedir, join(root, 'var/cache/tdnf'));
    assert.equal(cfg.persistdir, join(root, 'var/lib/tdnf'));
    assert.equal(cfg.repos[0]!.baseurl[0], 'http://h/5.0');
  });

  test('releasever from the provider of distroverpkg', async () => {
    const root = await setup('distro', `[main]\nreposdir=@ROOT@/repos.d\nvarsdir=@ROOT@/none\ndistroverpkg=photon-release\n`, {
      'p.repo': '[p]\nbaseurl=http://h/$releasever\n',
    });
    const cfg = await loadConfig({ configFile: join(root, 'tdnf.conf'), providerVersion: async (_r, pkg) => (pkg === 'photon-release' ? '5.0' : undefined) });
    assert.equal(cfg.repos[0]!.baseurl[0], 'http://h/5.0');
  });

  describe('errors with tdnf codes', () => {
    test('missing tdnf.conf', async () => {
      await rejectsCode(loadConfig({ configFile: join(dir, 'nope.conf') }), TDNF.FILE_NOT_FOUND, /nope\.conf/);
    });
    test('missing reposdir', async () => {
      const root = await setup('noreposdir', `[main]\nreposdir=@ROOT@/missing\n`);
      await rejectsCode(loadConfig({ configFile: join(root, 'tdnf.conf') }), TDNF.REPO_DIR_OPEN);
    });
    test('bad repo file: syntax, bad boolean', async () => {
      const a = await setup('badrepo1', `[main]\nreposdir=@ROOT@/repos.d\n`, { 'x.repo': 'baseurl=http://x\n' });
      await rejectsCode(loadConfig({ configFile: join(a, 'tdnf.conf') }), TDNF.INVALID_REPO_FILE, /x\.repo/);
      const b = await setup('badrepo2', `[main]\nreposdir=@ROOT@/repos.d\n`, { 'x.repo': '[x]\nenabled=maybe\n' });
      await rejectsCode(loadConfig({ configFile: join(b, 'tdnf.conf') }), TDNF.INVALID_REPO_FILE, /x\.repo.*key enabled/);
    });
    test('bad metadata_expire', async () => {
      const a = await setup('badexpire', `[main]\nreposdir=@ROOT@/repos.d\n`, { 'x.repo': '[x]\nmetadata_expire=later\n' });
      await rejectsCode(loadConfig({ configFile: join(a, 'tdnf.conf') }), TDNF.METADATA_EXPIRE_PARSE, /x\.repo.*metadata_expire/);
    });
    test('duplicate repo id', async () => {
      const a = await setup('dup', `[main]\nreposdir=@ROOT@/repos.d\n`, { 'a.repo': '[x]\n', 'b.repo': '[x]\n' });
      await rejectsCode(loadConfig({ configFile: join(a, 'tdnf.conf') }), TDNF.DUPLICATE_REPO_ID, /duplicate repo id: x/);
    });
    test('bad value in tdnf.conf', async () => {
      const a = await setup('badmain', `[main]\nreposdir=@ROOT@/repos.d\ninstallonly_limit=many\n`);
      await rejectsCode(loadConfig({ configFile: join(a, 'tdnf.conf') }), TDNF.INVALID_CONF, /installonly_limit/);
    });
    test('no [main]', async () => {
      const a = await setup('nomain', `[other]\nx=1\n`);
      await rejectsCode(loadConfig({ configFile: join(a, 'tdnf.conf') }), TDNF.CONF_FILE_LOAD);
    });
  });
});
