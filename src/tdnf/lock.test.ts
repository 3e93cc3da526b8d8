import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { acquireInstanceLock } from './lock.ts';
import { TdnfError } from './errors.ts';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';

let dir: string;
before(async () => {
  dir = await tempDir('tdnf-lock');
});
after(async () => {
  await cleanup(dir);
});

test('a second instance waits with tdnf\'s warning and gets the lock once the first releases it', async () => {
  const file = join(dir, 'a/.tdnf-instance-lockfile');
  const first = await acquireInstanceLock({ file });
  const warnings: string[] = [];
  await assert.rejects(acquireInstanceLock({ file, timeoutMs: 150, onWait: (m) => warnings.push(m) }), TdnfError);
  assert.deepEqual(warnings, [`WARNING: failed to acquire lock on: ${file}, retrying ...`]);
  const waiting = acquireInstanceLock({ file, timeoutMs: 5000 });
  setTimeout(() => void first.release(), 100);
  const second = await waiting;
  await second.release();
  assert.equal(existsSync(`${file}.photon`), false);
});

test('a lock left by a killed instance is taken over', async () => {
  const file = join(dir, 'b/.tdnf-instance-lockfile');
  const child = spawn('sleep', ['0']);
  const pid = child.pid!;
  await new Promise((r) => child.on('exit', r));
  await (await acquireInstanceLock({ file })).release();
  await writeFile(`${file}.photon`, `${pid} 1\n`);
  const lock = await acquireInstanceLock({ file, timeoutMs: 2000 });
  await lock.release();
});

test('C tdnf holding its flock is waited for', { skip: !existsSync('/usr/bin/python3') && 'needs python3' }, async () => {
  const file = join(dir, 'c/.tdnf-instance-lockfile');
  await (await acquireInstanceLock({ file })).release();
  const py = spawn('python3', ['-c', `import fcntl,time,sys\nf=open(${JSON.stringify(file)},'a+')\nfcntl.flock(f,fcntl.LOCK_EX)\nprint('locked',flush=True)\ntime.sleep(0.6)`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => py.stdout.once('data', r));
  const warnings: string[] = [];
  const t0 = Date.now();
  const lock = await acquireInstanceLock({ file, timeoutMs: 5000, onWait: (m) => warnings.push(m) });
  assert.ok(Date.now() - t0 > 200);
  assert.equal(warnings.length, 1);
  await lock.release();
});
