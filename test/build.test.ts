// photon build on a small, closed package set made from real Debian packages (libc6, libc-bin,
// dash, gzip) plus a package of our own: the RPMs pass Debian's rpm -K, libsolv's installcheck
// finds the repository closed, Debian's dnf and our tdnf install from it and the programs run
// in the new root; rebuilding reuses, a second cache gives identical bytes, and bad recipes
// fail naming the recipe while the published stage stays as it was.
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BuildOptions, build, defaultCacheDir } from '../src/build/build.ts';
import { serveRepo } from '../src/build/serve.ts';
import { PhotonError } from '../src/util/errors.ts';
import { run } from '../src/util/run.ts';
import { makeGpgKey } from './kit/gpg.ts';
import { cleanup, tempDir } from './kit/tmp.ts';

let dir = '';
let keyFile = '';
const specs = () => join(dir, 'SPECS');

const RECIPES: Record<string, string> = {
  glibc: `name: glibc
release: 1
license: LGPLv2+
summary: Main C library
debian: [libc6, libc-bin]
provides: ["rtld(GNU_HASH)"]
trim:
  # bash scripts; this small set has no bash
  drop: [/usr/bin/ldd, /usr/bin/tzselect]
`,
  dash: `name: dash
release: 1
license: BSD
summary: POSIX shell
debian: [dash]
`,
  gzip: `name: gzip
release: 2
license: GPLv3+
summary: GNU compression
debian: [gzip]
`,
  hello: `name: hello
version: "1.0"
license: Apache-2.0
summary: A service of our own
project:
  - { from: README.md, to: /usr/share/hello/README.md }
symlinks:
  /usr/bin/hello-sh: dash
dirs: [/var/lib/hello]
attrs:
  /var/lib/hello: { mode: "0750", user: hello, group: hello }
config: [/etc/hello.conf]
sysusers: |
  u hello - "Hello daemon" /var/lib/hello
tmpfiles: |
  d /run/hello 0755 hello hello -
systemd:
  enable: [hello.service]
requires: [dash]
subpackages:
  - name: hello-docs
    summary: Hello's documentation
    files: [/usr/share/hello]
`,
};

async function writeSpecs(extra: Record<string, string> = {}): Promise<void> {
  await rm(specs(), { recursive: true, force: true });
  await mkdir(specs(), { recursive: true });
  await writeFile(join(specs(), 'distribution.yaml'), 'dist: .ph5\nvendor: Test\nsourceDateEpoch: 1767225600\n');
  for (const [name, text] of Object.entries({ ...RECIPES, ...extra })) {
    await mkdir(join(specs(), name), { recursive: true });
    await writeFile(join(specs(), name, 'recipe.yaml'), text);
  }
  await mkdir(join(specs(), 'hello', 'root', 'etc'), { recursive: true });
  await writeFile(join(specs(), 'hello', 'root', 'etc', 'hello.conf'), 'greeting=hello\n');
  await mkdir(join(specs(), 'hello', 'root', 'usr', 'lib', 'systemd', 'system'), { recursive: true });
  await writeFile(join(specs(), 'hello', 'root', 'usr', 'lib', 'systemd', 'system', 'hello.service'), '[Service]\nExecStart=/usr/bin/hello-sh -c "sleep infinity"\n[Install]\nWantedBy=multi-user.target\n');
}

/** A cache of build outputs per name; the downloaded .debs are shared with every other build. */
async function cacheDir(name: string): Promise<string> {
  const c = join(dir, name);
  await mkdir(c, { recursive: true });
  await mkdir(join(defaultCacheDir(), 'debs'), { recursive: true });
  await symlink(join(defaultCacheDir(), 'debs'), join(c, 'debs')).catch(() => undefined);
  return c;
}

async function opts(stage: string, cache: string, more: Partial<BuildOptions> = {}): Promise<BuildOptions> {
  return { specsDir: specs(), stageDir: join(dir, stage), cacheDir: await cacheDir(cache), projectRoot: process.cwd(), keyFile, jobs: 2, ...more };
}

async function rpmsOf(stage: string): Promise<string[]> {
  const out: string[] = [];
  for (const arch of await readdir(join(dir, stage, 'RPMS'))) for (const f of await readdir(join(dir, stage, 'RPMS', arch))) out.push(join(dir, stage, 'RPMS', arch, f));
  return out.sort();
}

/** This small set has no filesystem package: the merged-/usr links it would own, made by hand. */
async function mergedUsr(root: string): Promise<void> {
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) {
    await mkdir(join(root, 'usr', d), { recursive: true });
    await symlink(`usr/${d}`, join(root, d));
  }
}

const rpmQ = async (...args: string[]) => (await run('rpm', args)).stdout.toString();

describe('photon build', () => {
  before(async () => {
    dir = await tempDir('build');
    keyFile = (await makeGpgKey(dir, 'build')).secretFile;
    await writeSpecs();
  });
  after(() => cleanup(dir));

  it('builds signed RPMs that rpm -K accepts, with rpmbuild-style automatic dependencies', async () => {
    const s = await build(await opts('stage', 'cache'));
    assert.equal(s.published, true, JSON.stringify(s.unmet));
    assert.deepEqual(s.outcomes.map((o) => [o.recipe, o.status]), [['dash', 'built'], ['glibc', 'built'], ['gzip', 'built'], ['hello', 'built']]);
    const rpms = await rpmsOf('stage');
    assert.deepEqual(rpms.map((p) => p.split('/').pop()), [
      'hello-1.0-1.ph5.noarch.rpm', 'hello-docs-1.0-1.ph5.noarch.rpm',
      'dash-0.5.12-1.ph5.x86_64.rpm', 'glibc-2.36-1.ph5.x86_64.rpm', 'gzip-1.12-2.ph5.x86_64.rpm',
    ].sort((a, b) => (rpms.find((p) => p.endsWith(a))! < rpms.find((p) => p.endsWith(b))! ? -1 : 1)));
    const keydb = join(dir, 'keydb');
    await run('rpm', ['--dbpath', keydb, '--import', join(dir, 'stage', 'RPM-GPG-KEY-photon')]);
    for (const line of (await rpmQ('--dbpath', keydb, '-K', ...rpms)).trim().split('\n')) assert.match(line, /: digests signatures OK$/);

    const gzip = rpms.find((p) => p.includes('/gzip-'))!;
    const requires = (await rpmQ('-qp', '--requires', gzip)).split('\n');
    assert.ok(requires.includes('libc.so.6()(64bit)'));
    assert.ok(requires.includes('libc.so.6(GLIBC_2.14)(64bit)'));
    assert.ok(requires.includes('rtld(GNU_HASH)'));
    assert.ok(requires.includes('/bin/sh'), 'zgrep & co. are #!/bin/sh scripts');
    const glibc = rpms.find((p) => p.includes('/glibc-'))!;
    const provides = (await rpmQ('-qp', '--provides', glibc)).split('\n');
    for (const p of ['libc.so.6()(64bit)', 'libc.so.6(GLIBC_2.34)(64bit)', 'rtld(GNU_HASH)', '/sbin/ldconfig']) assert.ok(provides.includes(p), p);
    assert.match(await rpmQ('-qp', '--scripts', glibc), /postinstall program: \/usr\/sbin\/ldconfig/);
    // Merged /usr, trimmed docs, licenses kept.
    const files = (await rpmQ('-qpl', glibc)).split('\n');
    assert.ok(files.includes('/usr/sbin/ldconfig') && !files.some((f) => f.startsWith('/sbin/')));
    assert.ok(!files.some((f) => f.startsWith('/usr/share/doc/')));
    assert.ok(files.includes('/usr/share/licenses/libc6/copyright'));
    assert.ok(!files.includes('/usr/bin/ldd'));
    const dash = rpms.find((p) => p.includes('/dash-'))!;
    assert.ok((await rpmQ('-qp', '--provides', dash)).split('\n').includes('/bin/sh'));
  });

  it('turns the declarative keys into files and scriptlets, and splits sub-packages', async () => {
    const rpms = await rpmsOf('stage');
    const hello = rpms.find((p) => p.endsWith('/hello-1.0-1.ph5.noarch.rpm'))!;
    const listing = await rpmQ('-qp', '--qf', '[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]', hello);
    assert.match(listing, /^drwxr-x--- hello hello\s+\/var\/lib\/hello$/m);
    assert.match(listing, /^-rw-r--r-- root root cn \/etc\/hello\.conf$/m);
    assert.match(listing, /\/usr\/lib\/sysusers\.d\/hello\.conf$/m);
    assert.match(listing, /\/usr\/lib\/tmpfiles\.d\/hello\.conf$/m);
    assert.match(listing, /\/usr\/lib\/systemd\/system-preset\/50-hello\.preset$/m);
    assert.match(listing, /^lrwxrwxrwx root root\s+\/usr\/bin\/hello-sh$/m);
    assert.doesNotMatch(listing, /README/);
    assert.match(await rpmQ('-qpl', rpms.find((p) => p.includes('hello-docs'))!), /\/usr\/share\/hello\/README\.md/);
    const scripts = await rpmQ('-qp', '--scripts', hello);
    assert.match(scripts, /preinstall scriptlet[\s\S]*systemd-sysusers[\s\S]*useradd -r -U -d '\/var\/lib\/hello'/);
    assert.match(scripts, /postinstall scriptlet[\s\S]*systemd-tmpfiles --create \/usr\/lib\/tmpfiles\.d\/hello\.conf[\s\S]*systemctl --no-reload preset hello\.service/);
    assert.match(scripts, /preuninstall scriptlet[\s\S]*disable --now hello\.service/);
    for (const m of scripts.matchAll(/scriptlet \(using \/bin\/sh\):\n([\s\S]*?)(?=\n\S+ scriptlet|$)/g)) {
      await run('sh', ['-n'], { input: m[1]! });
    }
  });

  it('publishes a closed repository: libsolv installcheck, dnf and our tdnf install, programs run', async () => {
    const stage = join(dir, 'stage');
    const primary = (await readdir(join(stage, 'repodata'))).find((f) => f.endsWith('-primary.xml.gz'))!;
    const solv = (await run('sh', ['-c', `gzip -dc '${join(stage, 'repodata', primary)}' | rpmmd2solv`])).stdout;
    await writeFile(join(dir, 'repo.solv'), solv);
    const ic = await run('installcheck', ['x86_64', join(dir, 'repo.solv')], { allowFailure: true });
    assert.equal(ic.status, 0, ic.stdout.toString());

    // Debian's dnf; its rpm keeps the database where HOME/.rpmmacros says, as Photon's does.
    const home = join(dir, 'home');
    await mkdir(home, { recursive: true });
    await writeFile(join(home, '.rpmmacros'), '%_dbpath /var/lib/rpm\n');
    const droot = join(dir, 'dnf-root');
    await mergedUsr(droot);
    const dnf = await run('dnf', [
      '-y', '-q', '--installroot', droot, '--releasever', '5.0', '--setopt=reposdir=/nonexistent', `--setopt=cachedir=${dir}/dnf-cache`,
      `--repofrompath=p,file://${stage}`, '--repo', 'p', '--setopt=p.gpgcheck=1', '--setopt=p.repo_gpgcheck=1', `--setopt=p.gpgkey=file://${stage}/RPM-GPG-KEY-photon`,
      'install', 'gzip', 'hello',
    ], { allowFailure: true, env: { ...process.env, HOME: home } });
    assert.equal(dnf.status, 0, dnf.stderr.toString());
    const gz = await run('chroot', [droot, '/usr/bin/gzip', '--version']);
    assert.match(gz.stdout.toString(), /^gzip 1\.12/);
    const va = await run('rpm', ['--root', droot, '--dbpath', '/var/lib/rpm', '-Va', '--nomtime'], { allowFailure: true });
    assert.doesNotMatch(va.stdout.toString(), /missing/);

    // Our tdnf, from the stage served over HTTP on loopback.
    const { server, url } = await serveRepo({ root: stage, port: 0 });
    try {
      const troot = join(dir, 'tdnf-root');
      await mergedUsr(troot);
      await mkdir(join(troot, 'etc', 'yum.repos.d'), { recursive: true });
      await mkdir(join(troot, 'etc', 'tdnf'), { recursive: true });
      await writeFile(join(troot, 'etc', 'tdnf', 'tdnf.conf'), '[main]\ngpgcheck=1\n');
      await writeFile(join(troot, 'etc', 'yum.repos.d', 'p.repo'), `[p]\nname=p\nbaseurl=${url}\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=${url}RPM-GPG-KEY-photon\n`);
      const t = await run('node', ['bin/tdnf.js', '--installroot', troot, '-y', '-q', 'install', 'gzip'], { allowFailure: true });
      assert.equal(t.status, 0, t.stderr.toString() + t.stdout.toString());
      assert.match((await run('chroot', [troot, '/usr/bin/gzip', '--version'])).stdout.toString(), /^gzip 1\.12/);
      assert.deepEqual((await rpmQ('--root', troot, '--dbpath', '/var/lib/rpm', '-qa', '--qf', '%{NAME}\n')).trim().split('\n').sort(), ['dash', 'glibc', 'gpg-pubkey', 'gzip']);
      const miss = await fetch(`${url}nope`);
      assert.equal(miss.status, 404);
      const up = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--path-as-is', `${url}../../etc/passwd`], { allowFailure: true });
      assert.match(up.stdout.toString(), /^(403|404)$/);
    } finally {
      server.close();
    }
  });

  it('reuses what did not change, rebuilds what did, and a second cache gives identical bytes', async () => {
    const again = await build(await opts('stage', 'cache'));
    assert.deepEqual(again.outcomes.map((o) => o.status), ['reused', 'reused', 'reused', 'reused']);
    await writeFile(join(specs(), 'hello', 'root', 'etc', 'hello.conf'), 'greeting=hi\n');
    const one = await build(await opts('stage', 'cache'));
    assert.deepEqual(one.outcomes.map((o) => [o.recipe, o.status]), [['dash', 'reused'], ['glibc', 'reused'], ['gzip', 'reused'], ['hello', 'built']]);

    const fresh = await build(await opts('stage2', 'cache2'));
    assert.equal(fresh.published, true);
    const a = await rpmsOf('stage');
    const b = await rpmsOf('stage2');
    assert.deepEqual(a.map((p) => p.split('/').pop()), b.map((p) => p.split('/').pop()));
    for (let i = 0; i < a.length; i++) assert.ok((await readFile(a[i]!)).equals(await readFile(b[i]!)), `${a[i]} differs between builds`);
  });

  it('bad recipes fail naming the recipe, and the published stage stays as it was', async () => {
    const stage = join(dir, 'stage');
    const repomd = await readFile(join(stage, 'repodata', 'repomd.xml'));
    const expectFailure = async (extra: Record<string, string>, re: RegExp, file?: string) => {
      await writeSpecs(extra);
      const err = await build(await opts('stage', 'cache')).then(
        (s) => (s.published ? undefined : new PhotonError('E_BUILD', [...s.outcomes.filter((o) => o.error).map((o) => o.error), ...s.unmet.map((u) => `${u.pkg} requires ${u.requirement}`)].join('; '))),
        (e: unknown) => e as PhotonError,
      );
      assert.ok(err, 'the build was published');
      assert.match(err.message, re);
      if (file) assert.equal(err.file, join(specs(), file, 'recipe.yaml'));
      assert.ok((await readFile(join(stage, 'repodata', 'repomd.xml'))).equals(repomd), 'stage changed');
    };
    await expectFailure({ bad: 'name: bad\nsummary: x\nlicense: MIT\ndebian: [dash]\nRequires: [x]\n' }, /unknown key 'Requires'/, 'bad');
    await expectFailure({ bad: 'name: bad\nsummary: x\nlicense: MIT\ndebian: [no-such-debian-package-x]\n' }, /no Debian package 'no-such-debian-package-x'/, 'bad');
    await expectFailure({ bad: 'name: bad\nversion: "1"\nsummary: x\nlicense: MIT\nrequires: [libnothing.so.9()(64bit)]\n' }, /bad requires libnothing\.so\.9\(\)\(64bit\)/);
    await expectFailure(
      {
        a: 'name: a\nversion: "1"\nsummary: x\nlicense: MIT\nbuildRequires: [b]\n',
        b: 'name: b\nversion: "1"\nsummary: x\nlicense: MIT\nbuildRequires: [a]\n',
      },
      /buildRequires cycle: a → b → a/,
    );
    await writeSpecs();
  });
});
