/**
 * `tdnf check` on roots whose packages Debian's rpm installed with --nodeps: a requirement
 * nothing provides, a conflict and an obsolete among installed packages are reported in tdnf's
 * words, numbered on stderr, with 1301; a healthy root passes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tdnf } from '../src/cli/tdnf.ts';
import { run } from '../src/util/run.ts';
import { buildRpm, hostRpm } from './kit/rpmbuild.ts';
import { cleanup, tempDir } from './kit/tmp.ts';

let work: string;
const rpms: Record<string, string> = {};

async function makeRoot(name: string, install: string[], repo?: string): Promise<string> {
  const root = join(work, name);
  await mkdir(join(root, 'etc/tdnf'), { recursive: true });
  await mkdir(join(root, 'etc/yum.repos.d'), { recursive: true });
  await writeFile(join(root, 'etc/tdnf/tdnf.conf'), '[main]\ngpgcheck=0\n');
  if (repo) await writeFile(join(root, 'etc/yum.repos.d/r.repo'), `[r]\nname=r\nbaseurl=file://${repo}\nenabled=1\ngpgcheck=0\n`);
  // One at a time, in order: rpm would erase a package that one in the same transaction obsoletes.
  for (const n of install) await hostRpm(root, ['-i', '--nodeps', '--noscripts', '--notriggers', rpms[n]!]);
  return root;
}

async function check(root: string, ...extra: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await tdnf(['--installroot', root, ...extra, 'check'], {}, { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } });
  return { code, out, err };
}

before(async () => {
  work = await tempDir('tdnf-check');
  const b = join(work, 'build');
  await mkdir(b, { recursive: true });
  rpms['needy'] = await buildRpm(b, { name: 'needy', preamble: ['Requires: libmissing >= 2', 'Requires: base'] });
  rpms['base'] = await buildRpm(b, { name: 'base', preamble: ['Provides: libbase = 1.0'] });
  rpms['fighter'] = await buildRpm(b, { name: 'fighter', preamble: ['Conflicts: libbase'] });
  rpms['eater'] = await buildRpm(b, { name: 'eater', preamble: ['Obsoletes: base < 5'] });
  rpms['helper'] = await buildRpm(b, { name: 'helper', preamble: ['Provides: libmissing = 3'] });
});

after(() => cleanup(work));

test('a requirement nothing provides: tdnf\'s problem list and 1301', async () => {
  const root = await makeRoot('broken', ['needy', 'base']);
  const r = await check(root);
  assert.equal(r.code, 1301 % 256);
  assert.equal(r.err, [
    '1. nothing provides libmissing >= 2 needed by needy-1.0-1.noarch',
    'Found 1 problem(s) while resolving',
    'Error(1301) : Solv general runtime error',
    '',
  ].join('\n'));
  const j = await check(root, '-j');
  assert.deepEqual(JSON.parse(j.out), { Error: 1301, ErrorMessage: 'Solv general runtime error' });
});

test('conflicts and obsoletes among installed packages, and the --skip options', async () => {
  const root = await makeRoot('fights', ['eater', 'fighter', 'base']);
  const r = await check(root);
  assert.equal(r.code, 1301 % 256);
  const lines = r.err.split('\n');
  assert.equal(lines[0], '1. package eater-1.0-1.noarch obsoletes base < 5 provided by base-1.0-1.noarch');
  assert.equal(lines[1], '2. package fighter-1.0-1.noarch conflicts with libbase provided by base-1.0-1.noarch');
  assert.equal(lines[2], 'Found 2 problem(s) while resolving');
  const sc = await check(root, '--skipconflicts');
  assert.match(sc.err, /^1\. package eater.* obsoletes /);
  assert.doesNotMatch(sc.err, / conflicts /);
  const both = await check(root, '--skipconflicts', '--skipobsoletes');
  assert.equal(both.code, 0, both.err);
  assert.equal(both.out, 'Check completed without issues\n');
});

test('a requirement an available package provides is not a problem; a healthy root passes', async () => {
  const repo = join(work, 'repo');
  await mkdir(repo, { recursive: true });
  await run('cp', [rpms['helper']!, repo]);
  await run('createrepo_c', ['--quiet', repo]);
  const root = await makeRoot('fixable', ['needy', 'base'], repo);
  const r = await check(root);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /Check completed without issues\n$/);
});
