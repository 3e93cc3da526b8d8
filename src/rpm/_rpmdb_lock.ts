/**
 * The rpmdb writers' lock. rpm 4.18 serialises its writers with an fcntl (POSIX) write lock on
 * `<dbpath>/.rpm.lock`, a file it creates and never removes. Node cannot take fcntl locks
 * without a native addon, and Linux keeps flock() and fcntl() locks apart, so we:
 *  - wait while /proc/locks shows someone (rpm) holding a lock on `.rpm.lock`;
 *  - serialise our own writers with `.rpm.lock.photon`, created with O_EXCL and holding
 *    "pid starttime", taken over when that process is gone (killed writers leave it behind).
 * A rpm that starts while we hold our lock does not see it; that remains a documented limit.
 */
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PhotonError } from '../util/errors.ts';
import { lockHeldByOther, processAlive, processStartTime } from '../util/proc.ts';

export const RPM_LOCK = '.rpm.lock';
export const OUR_LOCK = '.rpm.lock.photon';




const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Takes the lock on the database directory `dir`; resolves to its release function. */
export async function lockRpmdb(dir: string, timeoutMs = 60_000): Promise<() => Promise<void>> {
  const rpmLock = join(dir, RPM_LOCK);
  const ours = join(dir, OUR_LOCK);
  const deadline = Date.now() + timeoutMs;
  // rpm creates its lock file on first write; so do we, so that rpm and we agree on one inode.
  await (await open(rpmLock, 'a', 0o644)).close();
  const me = `${process.pid} ${processStartTime(process.pid)}\n`;
  let delay = 10;
  for (;;) {
    let why = '';
    try {
      const fh = await open(ours, 'wx', 0o644);
      try {
        await fh.writeFile(me);
      } finally {
        await fh.close();
      }
      if (!(await lockHeldByOther(rpmLock, ['POSIX', 'OFDLCK']))) {
        return async () => {
          await unlink(ours).catch(() => undefined);
        };
      }
      await unlink(ours);
      why = `rpm holds ${rpmLock}`;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const st = await stat(ours).catch(() => undefined);
      const [pid, start] = (await readFile(ours, 'utf8').catch(() => '')).trim().split(' ');
      const n = Number(pid);
      if (st && Number.isInteger(n) && n > 0 && !processAlive(n, start ?? '')) {
        // Unlink only the stale file we looked at, not one a faster waiter just created.
        const again = await stat(ours).catch(() => undefined);
        if (again && again.ino === st.ino) await unlink(ours).catch(() => undefined);
        continue;
      }
      if (st && !pid && Date.now() - st.mtimeMs > 5000) {
        // Empty for seconds: its writer died between creating and filling it.
        await unlink(ours).catch(() => undefined);
        continue;
      }
      why = `process ${pid || '?'} holds ${ours}`;
    }
    if (Date.now() >= deadline) throw new PhotonError('E_RPMDB_LOCKED', `database is locked (${why})`, { file: join(dir, 'rpmdb.sqlite') });
    await sleep(delay);
    delay = Math.min(delay * 2, 250);
  }
}
