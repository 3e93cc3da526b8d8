// tdnf history and mark end to end: list/info (text and JSON), undo, redo, rollback run as
// alter transactions; mark remove makes a package autoremovable. A file:// repository made by
// createrepo_c, roots with a static busybox as /bin/sh.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildRpm, hostRpm } from './kit/rpmbuild.ts';
import { cleanup, tempDir } from './kit/tmp.ts';
import { run } from '../src/util/run.ts';

const BUSYBOX = '/bin/busybox';
const canRun = process.getuid?.() === 0 && existsSync(BUSYBOX);
const CLI = join(import.meta.dirname, '../src/cli/tdnf.ts');
let work: string;
let n = 0;

before(async () => {
  if (!canRun) return;
  work = await tempDir('tdnf-history');
  const dir = join(work, 'repo');
  await mkdir(dir, { recursive: true });
  for (const [name, req] of [['a', 'b'], ['b', ''], ['e', '']] as const) {
    const f = await buildRpm(work, { name, preamble: req ? [`Requires: ${req}`] : [], install: [`mkdir -p $RPM_BUILD_ROOT/usr/share/${name}`], files: [`/usr/share/${name}`] });
    await copyFile(f, join(dir, `${name}.rpm`));
  }
  await run('createrepo_c', ['-q', dir]);
});
after(async () => {
  if (work) await cleanup(work);
});

async function env(): Promise<{ root: string; conf: string }> {
  const d = join(work, `env${n++}`);
  const root = join(d, 'root');
  await mkdir(join(root, 'bin'), { recursive: true });
  await copyFile(BUSYBOX, join(root, 'bin/sh'));
  await mkdir(join(d, 'repos'));
  await writeFile(join(d, 'repos/r.repo'), `[r]\nname=r\nenabled=1\nbaseurl=file://${join(work, 'repo')}\ngpgcheck=0\n`);
  const conf = join(d, 'tdnf.conf');
  await writeFile(conf, `[main]\ngpgcheck=0\nreposdir=${join(d, 'repos')}\n`);
  return { root, conf };
}

function tdnf(e: { root: string; conf: string }, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', 'tsx', CLI, '-c', e.conf, '--installroot', e.root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
const qa = async (e: { root: string }) => (await hostRpm(e.root, ['-qa', '--qf', '%{NAME}\\n'])).stdout.toString().trim().split('\n').filter(Boolean).sort();

describe('tdnf history and mark', { skip: !canRun && 'needs root and busybox-static' }, () => {
  test('list, info, undo, redo, rollback', async () => {
    const e = await env();
    assert.equal((await tdnf(e, ['-y', 'install', 'a'])).code, 0);
    assert.equal((await tdnf(e, ['-y', 'install', 'e'])).code, 0);
    const list = await tdnf(e, ['history']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^ID +cmd line +date\/time +\+add +\/ -rem\n/);
    assert.match(list.stdout, /\n +2 install a +\w{3} \w{3} \d\d \d{4} \d\d:\d\d +\+2 +\/ -0 +\n/);
    const info = JSON.parse((await tdnf(e, ['-j', 'history', 'info'])).stdout);
    assert.deepEqual(info.map((t: { Id: number }) => t.Id), [1, 2, 3]);
    assert.deepEqual(info[1].Added.sort(), ['a-1.0-1.noarch', 'b-1.0-1.noarch']);
    assert.deepEqual(Object.keys(info[2]), ['Id', 'CmdLine', 'TimeStamp', 'AddedCount', 'RemovedCount', 'Added', 'Removed']);

    const undo = await tdnf(e, ['-y', 'history', 'undo', '2']);
    assert.equal(undo.code, 0, undo.stderr);
    assert.deepEqual(await qa(e), ['e']);
    const redo = await tdnf(e, ['-y', 'history', 'redo', '2']);
    assert.equal(redo.code, 0, redo.stderr);
    assert.deepEqual(await qa(e), ['a', 'b', 'e']);
    const rb = await tdnf(e, ['-y', 'history', 'rollback', '--to', '1']);
    assert.equal(rb.code, 0, rb.stderr);
    assert.deepEqual(await qa(e), []);
    const last = JSON.parse((await tdnf(e, ['-j', 'history', 'list'])).stdout).at(-1);
    assert.equal(last.CmdLine, 'history rollback --to 1');
    assert.equal(last.RemovedCount, 3);
  });

  test('--assumeno leaves history.db alone; the next real transaction records the base set first', async () => {
    const e = await env();
    const db = join(e.root, 'var/lib/tdnf/history.db');
    const no = await tdnf(e, ['--assumeno', 'install', 'a']);
    assert.equal(no.code, 8, no.stderr); // Operation aborted (1032 % 256)
    assert.equal(existsSync(db), false);
    assert.equal((await tdnf(e, ['-y', 'install', 'a'])).code, 0);
    // What rpm holds without a history (a root tdnf did not make) becomes the base "(set)".
    await rm(db);
    const no2 = await tdnf(e, ['--assumeno', 'install', 'e']);
    assert.equal(no2.code, 8, no2.stderr);
    assert.equal(existsSync(db), false);
    assert.equal((await tdnf(e, ['-y', 'install', 'e'])).code, 0);
    const info = JSON.parse((await tdnf(e, ['-j', 'history', 'info'])).stdout);
    assert.deepEqual(info.map((t: { Id: number; CmdLine: string; Added: string[]; Removed: string[] }) => [t.Id, t.CmdLine, t.Added.sort(), t.Removed]), [
      [1, '(set)', ['a-1.0-1.noarch', 'b-1.0-1.noarch'], []],
      [2, 'install e', ['e-1.0-1.noarch'], []],
    ]);
  });

  test('mark remove makes a user-installed package autoremovable; mark install keeps it', async () => {
    const e = await env();
    assert.equal((await tdnf(e, ['-y', 'install', 'a'])).code, 0);
    assert.equal((await tdnf(e, ['-y', 'mark', 'install', 'b'])).code, 0);
    assert.equal((await tdnf(e, ['-y', 'erase', 'a'])).code, 0);
    const keep = await tdnf(e, ['-y', 'autoremove']);
    assert.equal(keep.code, 0);
    assert.deepEqual(await qa(e), ['b']);
    assert.equal((await tdnf(e, ['-y', 'mark', 'remove', 'b'])).code, 0);
    const ar = await tdnf(e, ['-y', 'autoremove']);
    assert.equal(ar.code, 0, ar.stderr);
    assert.deepEqual(await qa(e), []);
    const bad = await tdnf(e, ['mark', 'frob', 'b']);
    assert.equal(bad.code, 902 % 256);
    assert.match(bad.stderr, /unknown action 'frob'/);
  });
});
