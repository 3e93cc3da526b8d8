/**
 * One tdnf at a time. C tdnf holds flock(LOCK_EX) on /var/run/.tdnf-instance-lockfile and,
 * when another instance has it, prints "WARNING: failed to acquire lock on: <file>, retrying ..."
 * and waits. Node has no flock, so:
 *  - our instances exclude each other with `<file>.photon`, created O_EXCL and holding
 *    "pid starttime"; a lock whose process is gone (killed tdnf) is taken over;
 *  - a C tdnf holding its flock is seen in /proc/locks (FLOCK on the lock file's inode), and we
 *    wait for it too. A C tdnf starting while we hold our lock does not see us (documented limit).
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { takePidLock } from '../util/proc.ts';
import { TDNF, TdnfError } from './errors.ts';

export const INSTANCE_LOCK_FILE = '/var/run/.tdnf-instance-lockfile';

export interface LockOptions {
  file?: string;
  /** Called once when the lock is busy, with tdnf's warning line. */
  onWait?: (message: string) => void;
  /** Give up after this long (default: wait for ever, as tdnf does). */
  timeoutMs?: number;
}

export interface InstanceLock {
  release(): Promise<void>;
}

export async function acquireInstanceLock(opts: LockOptions = {}): Promise<InstanceLock> {
  const file = opts.file ?? INSTANCE_LOCK_FILE;
  const ours = `${file}.photon`;
  let warned = false;
  let lock: Awaited<ReturnType<typeof takePidLock>>;
  try {
    await mkdir(dirname(file), { recursive: true });
    lock = await takePidLock({
      ours,
      // C tdnf's file, so that both agree on one inode for its flock.
      foreign: file,
      foreignKinds: ['FLOCK'],
      deadline: opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs,
      firstDelayMs: 20,
      maxDelayMs: 500,
      onBusy: () => {
        if (!warned) opts.onWait?.(`WARNING: failed to acquire lock on: ${file}, retrying ...`);
        warned = true;
      },
    });
  } catch (e) {
    throw new TdnfError(TDNF.ACCESS_DENIED, `failed to create lock file ${ours}: ${(e as Error).message}`, { cause: e });
  }
  if ('busy' in lock) throw new TdnfError(TDNF.OPERATION_ABORTED, `failed to acquire lock on: ${file}`);
  return lock;
}
