// tdnf's alter commands end to end: the CLI (node --import tsx src/cli/tdnf.ts) against
// repositories made by rpmbuild + createrepo_c (and our createrepo for the signed one), served
// over HTTP on 127.0.0.1 port 0, into roots with a static busybox as /bin/sh; the resulting
// rpmdb is read back with Debian's rpm.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSecretKey } from '../src/formats/openpgp.ts';
import { signPackageFile } from '../src/rpm/sign.ts';
import { type GpgKey, makeGpgKey } from './kit/gpg.ts';
import { type SpecOptions, buildRpm, hostRpm } from './kit/rpmbuild.ts';
import { type LoopbackServer, serveLoopback } from './kit/http.ts';
import { cleanup, tempDir } from './kit/tmp.ts';
import { run } from '../src/util/run.ts';

const BUSYBOX = '/bin/busybox';
const canRun = process.getuid?.() === 0 && existsSync(BUSYBOX);
const CLI = join(import.meta.dirname, '../src/cli/tdnf.ts');
let work: string;
let web: LoopbackServer | undefined;
let base: string;
let key: GpgKey;
let n = 0;

const pkg = (name: string, version = '1.0', requires: string[] = [], extra: Partial<SpecOptions> = {}): SpecOptions => ({
  name, version, preamble: requires.map((r) => `Requires: ${r}`),
  install: [`mkdir -p $RPM_BUILD_ROOT/usr/share/${name}`, `echo ${version} > $RPM_BUILD_ROOT/usr/share/${name}/v`],
  files: [`/usr/share/${name}`], ...extra,
});

async function repo(dir: string, specs: SpecOptions[], sign?: GpgKey): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const s of specs) {
    const f = join(dir, `${s.name}-${s.version ?? '1.0'}.rpm`);
    await copyFile(await buildRpm(work, s), f);
    if (sign && s.name !== 'unsigned') await signPackageFile(f, readSecretKey(sign.secretArmored));
  }
}

before(async () => {
  if (!canRun) return;
  work = await tempDir('tdnf-alter');
  key = await makeGpgKey(work, 'repo', { algo: 'rsa2048' });
  await repo(join(work, 'srv/main'), [
    pkg('a', '1.0', ['b']), pkg('a', '2.0', ['b']), pkg('b', '1.0', ['c']), pkg('c'), pkg('e'),
    pkg('x', '1.0'), pkg('x', '2.0'), pkg('broken', '1.0', ['nothere']), pkg('tdnf', '3.5'),
  ]);
  await run('createrepo_c', ['-q', join(work, 'srv/main')]);
  await repo(join(work, 'srv/signed'), [pkg('s'), pkg('unsigned')], key);
  await run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../src/cli/photon.ts'), 'createrepo', '-q', join(work, 'srv/signed')]);
  await writeFile(join(work, 'srv/key.asc'), key.publicArmored);
  // Advisories, conflicts and obsoletes: a repository of its own, so update-all elsewhere stays put.
  await repo(join(work, 'srv/opts'), [
    pkg('sa'), pkg('sa', '2.0'), pkg('sb'), pkg('sb', '2.0'), pkg('sc'), pkg('sc', '2.0'), pkg('e'), pkg('c'),
    pkg('conf', '1.0', [], { preamble: ['Conflicts: e'] }), pkg('obs', '1.0', [], { preamble: ['Obsoletes: e'] }),
  ]);
  await run('createrepo_c', ['-q', join(work, 'srv/opts')]);
  const adv = (id: string, type: string, severity: string, name: string, reboot = false) =>
    `<update from="t" status="final" type="${type}" version="1"><id>${id}</id><title>${id}</title>` +
    `<issued date="2024-01-01 00:00:00"/><severity>${severity}</severity><description>${id}</description>` +
    `<pkglist><collection short="c"><name>c</name><package name="${name}" version="2.0" release="1" epoch="0" arch="noarch" src="${name}.src.rpm">` +
    `<filename>${name}-2.0-1.noarch.rpm</filename>${reboot ? '<reboot_suggested>True</reboot_suggested>' : ''}</package></collection></pkglist></update>`;
  await writeFile(join(work, 'updateinfo.xml'), `<?xml version="1.0"?>\n<updates>${adv('SA-1', 'security', 'Critical', 'sa', true)}` +
    `${adv('SB-1', 'security', 'Low', 'sb')}${adv('SC-1', 'bugfix', '', 'sc')}</updates>\n`);
  await run('modifyrepo_c', ['--mdtype=updateinfo', join(work, 'updateinfo.xml'), join(work, 'srv/opts/repodata')]);
  // A repository whose package is not what its metadata says.
  await repo(join(work, 'srv/bad'), [pkg('corrupt')]);
  await run('createrepo_c', ['-q', join(work, 'srv/bad')]);
  web = await serveLoopback(async (req, res) => {
    const path = join(work, 'srv', decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    try {
      let body = await readFile(path);
      if (path.includes('/bad/') && path.endsWith('.rpm')) {
        body = Buffer.from(body);
        body[body.length - 10] = body[body.length - 10]! ^ 0xff;
      }
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  base = web.base;
});

after(async () => {
  await web?.close();
  if (work) await cleanup(work);
});

interface Env {
  root: string;
  conf: string;
}

async function env(repos: Record<string, string> = { main: 'main' }, main = ''): Promise<Env> {
  const dir = join(work, `env${n++}`);
  const root = join(dir, 'root');
  await mkdir(join(root, 'bin'), { recursive: true });
  await copyFile(BUSYBOX, join(root, 'bin/sh'));
  await mkdir(join(dir, 'repos'));
  for (const [id, body] of Object.entries(repos)) {
    const text = body.includes('=') ? body : `baseurl=${base}/${body}\ngpgcheck=0\n`;
    await writeFile(join(dir, 'repos', `${id}.repo`), `[${id}]\nname=${id}\nenabled=1\n${text}`);
  }
  const conf = join(dir, 'tdnf.conf');
  await writeFile(conf, `[main]\ngpgcheck=0\nkeepcache=0\nreposdir=${join(dir, 'repos')}\ncachedir=/var/cache/tdnf\n${main}`);
  return { root, conf };
}

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

function tdnf(e: Env, args: string[], input = ''): Promise<Out> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', 'tsx', CLI, '-c', e.conf, '--installroot', e.root, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    c.stdin.end(input);
  });
}

const qa = async (e: Env) => (await hostRpm(e.root, ['-qa', '--qf', '%{NAME}-%{VERSION}\\n'])).stdout.toString().trim().split('\n').filter(Boolean).sort();

describe('tdnf alter commands', { skip: !canRun && 'needs root and busybox-static (chroot scriptlets)' }, () => {
  test('install pulls in dependencies, prints the plan, records history', async () => {
    const e = await env();
    const r = await tdnf(e, ['-y', 'install', 'a']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\nInstalling:\na +noarch +2\.0-1 +main /);
    assert.match(r.stdout, /Total installed size: /);
    assert.match(r.stdout, /\nComplete!\n$/);
    assert.deepEqual(await qa(e), ['a-2.0', 'b-1.0', 'c-1.0']);
    // keepcache=0: the downloaded packages are gone.
    assert.deepEqual(await readdir(join(e.root, 'var/cache/tdnf/main/rpms')).catch(() => []), []);
    const again = await tdnf(e, ['-y', 'install', 'a']);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /Package a-2\.0-1\.noarch is already installed, skipping\./);
    assert.match(again.stderr, /Nothing to do\./);
  });

  test('-j prints tdnf\'s JSON plan; not found is 1011', async () => {
    const e = await env();
    const r = await tdnf(e, ['-j', '-y', 'install', 'e']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { Install: [{ Name: 'e', Arch: 'noarch', Evr: '1.0-1', InstallSize: 4 }] });
    const nf = await tdnf(e, ['-y', 'install', 'nosuch']);
    assert.equal(nf.code, 1011 % 256);
    assert.match(nf.stdout, /No package .*nosuch .*available/);
    assert.match(nf.stderr, /Error\(1011\)/);
    const nfj = await tdnf(e, ['-j', '-y', 'install', 'nosuch']);
    assert.equal(JSON.parse(nfj.stdout).Error, 1011);
  });

  test('erase with clean_requirements_on_remove, then autoremove', async () => {
    const e = await env();
    assert.equal((await tdnf(e, ['-y', 'install', 'a', 'e'])).code, 0);
    const r = await tdnf(e, ['-y', '--setopt=clean_requirements_on_remove=1', 'erase', 'a']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await qa(e), ['e-1.0']);
    assert.equal((await tdnf(e, ['-y', 'install', 'a'])).code, 0);
    assert.equal((await tdnf(e, ['-y', 'erase', 'a'])).code, 0);
    assert.deepEqual(await qa(e), ['b-1.0', 'c-1.0', 'e-1.0']);
    const ar = await tdnf(e, ['-y', 'autoremove']);
    assert.equal(ar.code, 0, ar.stderr);
    assert.deepEqual(await qa(e), ['e-1.0']);
  });

  test('erasing a protected package is 1030', async () => {
    const e = await env();
    assert.equal((await tdnf(e, ['-y', 'install', 'tdnf'])).code, 0);
    const r = await tdnf(e, ['-y', 'erase', 'tdnf']);
    assert.equal(r.code, 1030 % 256, r.stdout + r.stderr);
    assert.match(r.stderr, /Error\(1030\)/);
    assert.deepEqual(await qa(e), ['tdnf-3.5']);
  });

  test('update all and named, downgrade, distro-sync, reinstall', async () => {
    const e = await env();
    assert.equal((await tdnf(e, ['-y', 'install', 'a-1.0', 'x-1.0'])).code, 0);
    assert.deepEqual(await qa(e), ['a-1.0', 'b-1.0', 'c-1.0', 'x-1.0']);
    const u = await tdnf(e, ['-y', 'update', 'x']);
    assert.equal(u.code, 0, u.stderr);
    assert.match(u.stdout, /\nUpgrading:\nx +noarch +2\.0-1/);
    assert.deepEqual(await qa(e), ['a-1.0', 'b-1.0', 'c-1.0', 'x-2.0']);
    const d = await tdnf(e, ['-y', 'downgrade', 'x']);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /\nDowngrading:\nx +noarch +1\.0-1/);
    assert.deepEqual(await qa(e), ['a-1.0', 'b-1.0', 'c-1.0', 'x-1.0']);
    const all = await tdnf(e, ['-y', 'update']);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(await qa(e), ['a-2.0', 'b-1.0', 'c-1.0', 'x-2.0']);
    assert.equal((await tdnf(e, ['-y', 'downgrade', 'x'])).code, 0);
    const ds = await tdnf(e, ['-y', 'distro-sync']);
    assert.equal(ds.code, 0, ds.stderr);
    assert.deepEqual(await qa(e), ['a-2.0', 'b-1.0', 'c-1.0', 'x-2.0']);
    await writeFile(join(e.root, 'usr/share/x/v'), 'changed');
    const ri = await tdnf(e, ['-y', 'reinstall', 'x']);
    assert.equal(ri.code, 0, ri.stderr);
    assert.match(ri.stdout, /\nReinstalling:\nx /);
    assert.equal(await readFile(join(e.root, 'usr/share/x/v'), 'utf8'), '2.0\n');
  });

  test('unsatisfiable is 1301 with the problem; --skip-broken goes on', async () => {
    const e = await env();
    const r = await tdnf(e, ['-y', 'install', 'broken']);
    assert.equal(r.code, 1301 % 256);
    assert.match(r.stderr, /Found 1 problem\(s\) while resolving\n1\. .*nothing provides nothere needed by broken-1\.0-1\.noarch/);
    assert.match(r.stderr, /Error\(1301\)/);
    const sb = await tdnf(e, ['-y', '--skip-broken', 'install', 'broken', 'e']);
    assert.equal(sb.code, 0, sb.stderr);
    assert.deepEqual(await qa(e), ['e-1.0']);
  });

  test('--assumeno stops (1032; 0 with -j), a "n" answer too; --downloadonly downloads', async () => {
    const e = await env();
    const no = await tdnf(e, ['--assumeno', 'install', 'e']);
    assert.equal(no.code, 1032 % 256);
    assert.match(no.stdout, /\nInstalling:\ne /);
    assert.match(no.stderr, /Error\(1032\) : Operation aborted\./);
    assert.equal((await tdnf(e, ['-j', '--assumeno', 'install', 'e'])).code, 0);
    const ask = await tdnf(e, ['install', 'e'], 'n\n');
    assert.match(ask.stdout, /Is this ok \[y\/N\]: /);
    assert.equal(ask.code, 1032 % 256);
    assert.deepEqual(await qa(e), []);
    const dl = join(work, `dl${n++}`);
    const d = await tdnf(e, ['-y', '--downloadonly', `--downloaddir=${dl}`, 'install', 'a']);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /Packages have been downloaded to /);
    assert.deepEqual((await readdir(dl)).sort(), ['a-2.0.rpm', 'b-1.0.rpm', 'c-1.0.rpm']);
    assert.deepEqual(await qa(e), []);
    const dc = await tdnf(e, ['-y', '--downloadonly', 'install', 'e']);
    assert.equal(dc.code, 0, dc.stderr);
    assert.deepEqual(await readdir(join(e.root, 'var/cache/tdnf/main/rpms')), ['e-1.0.rpm']);
  });

  test('a local .rpm argument installs through @cmdline', async () => {
    const e = await env();
    const r = await tdnf(e, ['-y', 'install', join(work, 'srv/main/e-1.0.rpm')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /e +noarch +1\.0-1 +@cmdline/);
    assert.deepEqual(await qa(e), ['e-1.0']);
  });

  test('gpgcheck: unsigned is 1510; a signed package imports the repo key with -y', async () => {
    const e = await env({ signed: `baseurl=${base}/signed\ngpgcheck=1\ngpgkey=${base}/key.asc\n` });
    const u = await tdnf(e, ['-y', 'install', 'unsigned']);
    assert.equal(u.code, 1510 % 256, u.stderr);
    assert.match(u.stderr, /Error\(1510\)/);
    const s = await tdnf(e, ['-y', 'install', 's']);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /importing key from /);
    assert.deepEqual((await qa(e)).filter((x) => !x.startsWith('gpg-pubkey')), ['s-1.0']);
    assert.equal((await tdnf(e, ['-y', '--nogpgcheck', 'install', 'unsigned'])).code, 0);
  });

  test('a served package that fails its checksum, an unreachable repository', async () => {
    const e = await env({ bad: 'bad' });
    const r = await tdnf(e, ['-y', 'install', 'corrupt']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error\(\d+\)/);
    assert.deepEqual(await qa(e), []);
    const down = await env({ gone: 'baseurl=http://127.0.0.1:1/repo\ngpgcheck=0\nretries=0\n' });
    const d = await tdnf(down, ['-y', 'install', 'e']);
    assert.notEqual(d.code, 0);
    assert.match(d.stderr, /Error\(\d+\)/);
  });
});

describe('tdnf alter options', { skip: !canRun && 'needs root and busybox-static (chroot scriptlets)' }, () => {
  test('--security, --sec-severity, --reboot-required restrict upgrade, check-update and list updates', async () => {
    const e = await env({ opts: 'opts' });
    assert.equal((await tdnf(e, ['-y', 'install', 'sa-1.0', 'sb-1.0', 'sc-1.0'])).code, 0);
    const names = (o: Out) => [...o.stdout.matchAll(/^(s[abc])\.noarch/gm)].map((m) => m[1]);
    assert.deepEqual(names(await tdnf(e, ['check-update'])), ['sa', 'sb', 'sc']);
    assert.deepEqual(names(await tdnf(e, ['--security', 'check-update'])), ['sa', 'sb']);
    assert.deepEqual(names(await tdnf(e, ['--sec-severity', 'Important', 'check-update'])), ['sa']);
    assert.deepEqual(names(await tdnf(e, ['--reboot-required', 'check-update'])), ['sa']);
    assert.deepEqual(names(await tdnf(e, ['--security', 'list', 'updates'])), ['sa', 'sb']);
    const crit = await tdnf(e, ['-y', '--security', '--sec-severity', 'Critical', 'upgrade']);
    assert.equal(crit.code, 0, crit.stderr);
    assert.deepEqual(await qa(e), ['sa-2.0', 'sb-1.0', 'sc-1.0']);
    // A named package no qualifying advisory updates stays.
    const named = await tdnf(e, ['-y', '--reboot-required', 'upgrade', 'sb']);
    assert.equal(named.code, 0, named.stderr);
    assert.match(named.stderr, /Nothing to do\./);
    assert.equal((await tdnf(e, ['-y', '--security', 'update'])).code, 0);
    assert.deepEqual(await qa(e), ['sa-2.0', 'sb-2.0', 'sc-1.0']);
    const none = await tdnf(e, ['-y', '--security', 'update']);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stderr, /Nothing to do\./);
    assert.deepEqual(await qa(e), ['sa-2.0', 'sb-2.0', 'sc-1.0']);
  });

  test('--skipconflicts and --skipobsoletes drop those problems and install the rest', async () => {
    const e = await env({ opts: 'opts' });
    assert.equal((await tdnf(e, ['-y', 'install', 'e'])).code, 0);
    const con = await tdnf(e, ['-y', 'install', 'conf', 'c']);
    assert.equal(con.code, 1301 % 256);
    assert.match(con.stderr, /conflicts with e provided by e-1\.0-1\.noarch/);
    const sc = await tdnf(e, ['-y', '--skipconflicts', 'install', 'conf', 'c']);
    assert.equal(sc.code, 0, sc.stderr);
    assert.doesNotMatch(sc.stderr, /problem/);
    assert.deepEqual(await qa(e), ['c-1.0', 'e-1.0']);
    const e2 = await env({ opts: 'opts' });
    const obs = await tdnf(e2, ['-y', 'install', 'obs', 'e', 'sc']);
    assert.equal(obs.code, 1301 % 256);
    assert.match(obs.stderr, /obsoletes e provided by e-1\.0-1\.noarch/);
    const so = await tdnf(e2, ['-y', '--setopt=skipobsoletes=1', 'install', 'obs', 'e', 'sc']);
    assert.equal(so.code, 0, so.stderr);
    assert.deepEqual(await qa(e2), ['sc-2.0']);
  });

  test('--nodeps --downloadonly downloads only the named packages; --source without source packages is 1011', async () => {
    const e = await env();
    const dl = join(work, `dl${n++}`);
    const r = await tdnf(e, ['-y', '--downloadonly', '--nodeps', `--downloaddir=${dl}`, 'install', 'a']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await readdir(dl), ['a-2.0.rpm']);
    assert.deepEqual(await qa(e), []);
    const src = await tdnf(e, ['-y', '--downloadonly', '--source', 'install', 'a']);
    assert.equal(src.code, 1011 % 256, src.stdout + src.stderr);
    assert.match(src.stdout, /No package .*a .*available/);
  });
});
