/**
 * One tdnf at a time. C tdnf holds flock(LOCK_EX) on /var/run/.tdnf-instance-lockfile and,
 * when another instance has it, prints "WARNING: failed to acquire lock on: <file>, retrying ..."
 * and waits. Node has no flock, so:
 *  - our instances exclude each other with `<file>.photon`, created O_EXCL and holding
 *    "pid starttime"; a lock whose process is gone (killed tdnf) is taken over;
 *  - a C tdnf holding its flock is seen in /proc/locks (FLOCK on the lock file's inode), and we
 *    wait for it too. A C tdnf starting while we hold our lock does not see us (documented limit).
 */
import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { lockHeldByOther, processAlive, processStartTime } from '../util/proc.ts';
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




const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function acquireInstanceLock(opts: LockOptions = {}): Promise<InstanceLock> {
  const file = opts.file ?? INSTANCE_LOCK_FILE;
  const ours = `${file}.photon`;
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  await mkdir(dirname(file), { recursive: true });
  // C tdnf's file, so that both agree on one inode for its flock.
  await (await open(file, 'a', 0o644)).close();
  const me = `${process.pid} ${processStartTime(process.pid)}\n`;
  let warned = false;
  let delay = 20;
  for (;;) {
    try {
      const fh = await open(ours, 'wx', 0o644);
      try {
        await fh.writeFile(me);
      } finally {
        await fh.close();
      }
      if (!(await lockHeldByOther(file, ['FLOCK']))) {
        let released = false;
        return {
          release: async () => {
            if (released) return;
            released = true;
            await unlink(ours).catch(() => undefined);
          },
        };
      }
      await unlink(ours);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new TdnfError(TDNF.ACCESS_DENIED, `failed to create lock file ${ours}: ${(e as Error).message}`, { cause: e });
      }
      const st = await stat(ours).catch(() => undefined);
      const [pid, start] = (await readFile(ours, 'utf8').catch(() => '')).trim().split(' ');
      const n = Number(pid);
      const stale = st && ((Number.isInteger(n) && n > 0 && !processAlive(n, start ?? '')) || (!pid && Date.now() - st.mtimeMs > 5000));
      if (stale) {
        // Remove only the stale file we looked at, not one a faster waiter just made.
        const again = await stat(ours).catch(() => undefined);
        if (again && again.ino === st.ino) await unlink(ours).catch(() => undefined);
        continue;
      }
    }
    if (!warned) {
      warned = true;
      opts.onWait?.(`WARNING: failed to acquire lock on: ${file}, retrying ...`);
    }
    if (Date.now() >= deadline) throw new TdnfError(TDNF.OPERATION_ABORTED, `failed to acquire lock on: ${file}`);
    await sleep(delay);
    delay = Math.min(delay * 2, 500);
  }
}
