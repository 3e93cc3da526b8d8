/**
 * The rpmdb writers' lock. rpm 4.18 serialises its writers with an fcntl (POSIX) write lock on
 * `<dbpath>/.rpm.lock`, a file it creates and never removes. Node cannot take fcntl locks
 * without a native addon, and Linux keeps flock() and fcntl() locks apart, so we:
 *  - wait while /proc/locks shows someone (rpm) holding a lock on `.rpm.lock`;
 *  - serialise our own writers with `.rpm.lock.photon`, created with O_EXCL and holding
 *    "pid starttime", taken over when that process is gone (killed writers leave it behind).
 * A rpm that starts while we hold our lock does not see it; that remains a documented limit.
 */
import { join } from 'node:path';
import { PhotonError } from '../util/errors.ts';
import { takePidLock } from '../util/proc.ts';

export const RPM_LOCK = '.rpm.lock';
export const OUR_LOCK = '.rpm.lock.photon';

/** Takes the lock on the database directory `dir`; resolves to its release function. */
export async function lockRpmdb(dir: string, timeoutMs = 60_000): Promise<() => Promise<void>> {
  // rpm creates its lock file on first write; so do we (takePidLock), so that rpm and we agree on one inode.
  const lock = await takePidLock({
    ours: join(dir, OUR_LOCK),
    foreign: join(dir, RPM_LOCK),
    foreignKinds: ['POSIX', 'OFDLCK'],
    deadline: Date.now() + timeoutMs,
    firstDelayMs: 10,
    maxDelayMs: 250,
  });
  if ('busy' in lock) throw new PhotonError('E_RPMDB_LOCKED', `database is locked (${lock.busy})`, { file: join(dir, 'rpmdb.sqlite') });
  return lock.release;
}
