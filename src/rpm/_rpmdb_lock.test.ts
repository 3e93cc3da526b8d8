import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OUR_LOCK, RPM_LOCK, lockRpmdb } from './_rpmdb_lock.ts';
import { type PhotonError } from '../util/errors.ts';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';

let dir: string;
before(async () => {
  dir = await tempDir('rpmdb-lock');
});
after(async () => {
  await cleanup(dir);
});

const fresh = async (name: string): Promise<string> => {
  const d = join(dir, name);
  await mkdir(d, { recursive: true });
  return d;
};

test('a second writer times out naming the holder, and gets the lock once the first releases it', async () => {
  const db = await fresh('a');
  const release = await lockRpmdb(db);
  assert.ok(existsSync(join(db, RPM_LOCK)), 'rpm\'s lock file is created, so that rpm and we share its inode');
  await assert.rejects(lockRpmdb(db, 100), (e: PhotonError) =>
    e.code === 'E_RPMDB_LOCKED' && e.message.includes(`process ${process.pid} holds ${join(db, OUR_LOCK)}`));
  const waiting = lockRpmdb(db, 5000);
  setTimeout(() => void release(), 100);
  await (await waiting)();
  assert.equal(existsSync(join(db, OUR_LOCK)), false);
});

test('a lock left by a killed writer is taken over', async () => {
  const db = await fresh('b');
  const child = spawn('sleep', ['0']);
  const pid = child.pid!;
  await new Promise((r) => child.on('exit', r));
  await writeFile(join(db, OUR_LOCK), `${pid} 1\n`);
  await (await lockRpmdb(db, 2000))();
});

test('rpm holding its fcntl lock on .rpm.lock is waited for', { skip: !existsSync('/usr/bin/python3') && 'needs python3' }, async () => {
  const db = await fresh('c');
  const file = join(db, RPM_LOCK);
  // What rpm's rpmlock does: an fcntl write lock (F_SETLKW) on the file.
  const py = spawn('python3', ['-c', `import fcntl,time\nf=open(${JSON.stringify(file)},'a+')\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint('locked',flush=True)\ntime.sleep(0.6)`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => py.stdout.once('data', r));
  await assert.rejects(lockRpmdb(db, 100), (e: PhotonError) => e.code === 'E_RPMDB_LOCKED' && e.message.includes(`another process holds ${file}`));
  const t0 = Date.now();
  const release = await lockRpmdb(db, 5000);
  assert.ok(Date.now() - t0 > 200, 'waited for the fcntl lock to go');
  await release();
});
