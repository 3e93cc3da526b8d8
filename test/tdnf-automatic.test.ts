/**
 * tdnf-automatic: notify (the default with show_updates=yes) lists the updates a test repo
 * offers, to stdout and emit_to_file; install mode upgrades through tdnf's alter command; the
 * script's validation and exit codes; the shipped unit files pass `systemd-analyze verify`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tdnfAutomatic } from '../src/cli/tdnf-automatic.ts';
import { run } from '../src/util/run.ts';
import { buildRpm, hostRpm } from './kit/rpmbuild.ts';
import { cleanup, tempDir } from './kit/tmp.ts';

const DATA = fileURLToPath(new URL('../data/tdnf-automatic/', import.meta.url));
let work: string;
let tdnfConf: string;
let root: string;

before(async () => {
  work = await tempDir('tdnf-automatic');
  const b = join(work, 'build');
  const repo = join(work, 'repo');
  await mkdir(b, { recursive: true });
  await mkdir(repo, { recursive: true });
  const old = await buildRpm(b, { name: 'alpha', version: '1.0' });
  await copyFile(await buildRpm(b, { name: 'alpha', version: '2.0' }), join(repo, 'alpha-2.0-1.noarch.rpm'));
  await copyFile(await buildRpm(b, { name: 'gamma', version: '1.0' }), join(repo, 'gamma-1.0-1.noarch.rpm'));
  await run('createrepo_c', ['--quiet', repo]);
  root = join(work, 'root');
  await mkdir(join(work, 'repos.d'), { recursive: true });
  await writeFile(join(work, 'repos.d', 'test.repo'), `[test]\nname=Test\nbaseurl=file://${repo}\nenabled=1\ngpgcheck=0\n`);
  tdnfConf = join(work, 'tdnf.conf');
  await writeFile(tdnfConf, `[main]\ngpgcheck=0\nrepodir=${join(work, 'repos.d')}\n`);
  await hostRpm(root, ['-i', '--nodeps', '--noscripts', old]);
});

after(() => cleanup(work));

async function automatic(conf: Record<string, Record<string, string>> | string, ...args: string[]) {
  const file = join(work, `auto-${Math.random().toString(16).slice(2)}.conf`);
  const text = typeof conf === 'string' ? conf
    : Object.entries(conf).map(([s, kv]) => `[${s}]\n${Object.entries(kv).map(([k, v]) => `${k} = ${v}\n`).join('')}`).join('\n');
  await writeFile(file, text);
  let out = '';
  let err = '';
  const code = await tdnfAutomatic(['-c', file, '--installroot', root, ...args], {
    io: { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } }, sleep: async () => undefined, uid: 0,
  });
  return { code, out, err };
}

const base = () => ({
  commands: { upgrade_type: 'all', random_sleep: '0', network_online_timeout: '0', show_updates: 'yes', apply_updates: 'no' },
  emitter: { emit_to_stdio: 'yes', system_name: 'testhost' },
  base: { tdnf_conf: tdnfConf },
});

test('notify: the available updates, on stdout and in emit_to_file (an older file kept as .bak)', async () => {
  const emitFile = join(work, 'emit.txt');
  await writeFile(emitFile, 'previous run\n');
  const c = base();
  (c.emitter as Record<string, string>)['emit_to_file'] = emitFile;
  const r = await automatic(c);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^\ntdnf-automatic - started at .*\.\.\.\n\n/);
  assert.match(r.out, /RefreshCache success\.\.\.\n/);
  assert.match(r.out, /\nThe following updates are available on - testhost:\nalpha-2\.0-1\n\n/);
  assert.match(r.out, /tdnf-automatic - completed with exit status 0 at /);
  assert.match(await readFile(emitFile, 'utf8'), /The following updates are available on - testhost:\nalpha-2\.0-1\n/);
  assert.equal((await readdir(work)).filter((f) => f.startsWith('emit.txt.tdnf-automatic-') && f.endsWith('.bak')).length, 1);
});

test('validation: bad entries and values are 22, missing files 2, -v and -h, non-root 13', async () => {
  const bad = base();
  (bad.commands as Record<string, string>)['upgrade_type'] = 'badval';
  const r = await automatic(bad);
  assert.equal(r.code, 22);
  assert.match(r.err, /Invalid entry 'commands'\|'upgrade_type'='badval'/);
  const bool = base();
  (bool.commands as Record<string, string>)['show_updates'] = 'badbool';
  assert.match((await automatic(bool)).err, /Invalid input\(badbool\)/);
  const noTdnf = base();
  noTdnf.base.tdnf_conf = '/badpath/badfile.conf';
  const n = await automatic(noTdnf);
  assert.equal(n.code, 2);
  assert.match(n.err, /does not exist/);
  let err = '';
  const io = { stdout: () => undefined, stderr: (s: string) => { err += s; } };
  assert.equal(await tdnfAutomatic(['-c', '/badpath/badfile.conf'], { io, uid: 0 }), 2);
  assert.match(err, /Configuration file: '\/badpath\/badfile\.conf' does not exist/);
  let out = '';
  const io2 = { stdout: (s: string) => { out += s; }, stderr: () => undefined };
  assert.equal(await tdnfAutomatic(['-v'], { io: io2, uid: 0 }), 0);
  assert.match(out, /tdnf-automatic - version: /);
  assert.equal(await tdnfAutomatic(['-h'], { io: io2, uid: 0 }), 0);
  assert.match(out, /tdnf-automatic help:/);
  assert.equal(await tdnfAutomatic(['--invalid'], { io: io2, uid: 0 }), 22);
  assert.equal(await tdnfAutomatic([], { io: io2, uid: 1000 }), 13);
});

test('--timer sleeps up to random_sleep first', async () => {
  const c = base();
  c.commands.random_sleep = '3';
  const r = await automatic(c, '--timer');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /Sleep for [0-2] second\(s\)\.\.\./);
});

test('install mode upgrades through tdnf upgrade -y; then the system is up to date', async () => {
  const r = await automatic(base(), '--install');
  assert.equal(r.code, 0, r.err + r.out);
  assert.match(r.out, /The following updates are applied on - testhost:\nalpha-2\.0-1\n/);
  const q = await hostRpm(root, ['-q', 'alpha']);
  assert.equal(q.stdout.toString().trim(), 'alpha-2.0-1.noarch');
  const again = await automatic(base());
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /No updates available on testhost\. System upto date\.\.\./);
});

test('the unit files and automatic.conf ship; systemd-analyze verify accepts the units', async (t) => {
  const names = (await readdir(DATA)).sort();
  assert.deepEqual(names, ['automatic.conf', 'tdnf-automatic-install.service', 'tdnf-automatic-install.timer',
    'tdnf-automatic-notifyonly.service', 'tdnf-automatic-notifyonly.timer', 'tdnf-automatic.service', 'tdnf-automatic.timer']);
  // The default conf is valid for the tool itself.
  const text = await readFile(join(DATA, 'automatic.conf'), 'utf8');
  const r = await automatic(text.replace('network_online_timeout = 300', 'network_online_timeout = 0').replace('#tdnf_conf=', `tdnf_conf=${tdnfConf}`));
  assert.equal(r.code, 0, r.err);
  const which = await run('sh', ['-c', 'command -v systemd-analyze'], { allowFailure: true });
  if (which.status !== 0) {
    t.skip('systemd-analyze is not installed');
    return;
  }
  // ExecStart must name an existing executable: verify a copy pointing at this node.
  const units = join(work, 'units');
  await mkdir(units, { recursive: true });
  for (const n of names.filter((x) => x !== 'automatic.conf')) {
    const u = await readFile(join(DATA, n), 'utf8');
    await writeFile(join(units, n), u.replace('/usr/bin/tdnf-automatic', process.execPath));
  }
  const v = await run('systemd-analyze', ['verify', '--man=no', ...names.filter((x) => x !== 'automatic.conf').map((n) => join(units, n))], { allowFailure: true });
  assert.equal(v.status, 0, v.stderr.toString());
  assert.doesNotMatch(v.stderr.toString(), /Unknown (key|section)|Invalid|bad-setting|Missing/i);
  assert.ok(existsSync(join(units, 'tdnf-automatic.timer')));
});
