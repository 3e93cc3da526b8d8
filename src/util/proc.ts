/**
 * What Linux's /proc tells about other processes, for our lock files: Node has neither flock
 * nor fcntl locks, so we use O_EXCL pid files and look at /proc/locks for the real tools' locks.
 */
import { readFileSync } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';

/** Field 22 of /proc/PID/stat (start time in clock ticks): with the pid, it names a process uniquely. */
export function processStartTime(pid: number): string {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields are counted after the parenthesised command name, which may hold spaces.
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

/** Whether the process that wrote "pid start" is still running (a recycled pid started at another time). */
export function processAlive(pid: number, start: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const now = processStartTime(pid);
  return !start || !now || now === start;
}

export type ProcLockKind = 'POSIX' | 'OFDLCK' | 'FLOCK';

/** Whether another process holds a lock of one of `kinds` on `file` (by device and inode). */
export async function lockHeldByOther(file: string, kinds: readonly ProcLockKind[]): Promise<boolean> {
  const st = await stat(file).catch(() => undefined);
  if (!st) return false;
  const text = await readFile('/proc/locks', 'utf8').catch(() => '');
  // The kernel prints MAJOR:MINOR:INODE with the device split as new_decode_dev does.
  const dev = BigInt(st.dev);
  const major = Number((dev >> 8n) & 0xfffn) | Number((dev >> 32n) & ~0xfffn);
  const minor = Number(dev & 0xffn) | Number((dev >> 12n) & ~0xffn);
  const want = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${st.ino}`;
  const me = String(process.pid);
  return text.split('\n').some((line) => {
    const f = line.trim().split(/\s+/);
    // "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; "->" marks waiters, not holders.
    return f[1] !== '->' && kinds.includes(f[1] as ProcLockKind) && f[5] === want && f[4] !== me;
  });
}

export interface PidLockOptions {
  /** Our lock file: created O_EXCL, holding "pid starttime", removed on release. */
  ours: string;
  /** The real tool's lock file (created when missing, so that it and we agree on one inode). */
  foreign: string;
  /** The /proc/locks kinds by which the real tool holds `foreign`. */
  foreignKinds: readonly ProcLockKind[];
  /** When to give up (Date.now() milliseconds; Infinity: never). */
  deadline: number;
  /** Polling: the first wait, doubled up to maxDelayMs. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** Called at each busy round with who holds the lock. */
  onBusy?: (why: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Takes a pid-file lock that also waits for a real tool's flock/fcntl lock on `foreign`. A lock
 * file whose process is gone (a killed writer), or that stayed empty for seconds (its writer
 * died between creating and filling it), is taken over. Resolves to the release function, or
 * to who still held the lock at the deadline. Errors other than the lock being taken are thrown.
 */
export async function takePidLock(o: PidLockOptions): Promise<{ release: () => Promise<void> } | { busy: string }> {
  await (await open(o.foreign, 'a', 0o644)).close();
  const me = `${process.pid} ${processStartTime(process.pid)}\n`;
  let delay = o.firstDelayMs;
  for (;;) {
    let why: string;
    try {
      const fh = await open(o.ours, 'wx', 0o644);
      try {
        await fh.writeFile(me);
      } finally {
        await fh.close();
      }
      if (!(await lockHeldByOther(o.foreign, o.foreignKinds))) {
        let released = false;
        return {
          release: async () => {
            if (released) return;
            released = true;
            await unlink(o.ours).catch(() => undefined);
          },
        };
      }
      await unlink(o.ours);
      why = `another process holds ${o.foreign}`;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const st = await stat(o.ours).catch(() => undefined);
      const [pid, start] = (await readFile(o.ours, 'utf8').catch(() => '')).trim().split(' ');
      const n = Number(pid);
      if (st && ((Number.isInteger(n) && n > 0 && !processAlive(n, start ?? '')) || (!pid && Date.now() - st.mtimeMs > 5000))) {
        // Remove only the stale file we looked at, not one a faster waiter just made.
        const again = await stat(o.ours).catch(() => undefined);
        if (again && again.ino === st.ino) await unlink(o.ours).catch(() => undefined);
        continue;
      }
      why = `process ${pid || '?'} holds ${o.ours}`;
    }
    o.onBusy?.(why);
    if (Date.now() >= o.deadline) return { busy: why };
    await sleep(delay);
    delay = Math.min(delay * 2, o.maxDelayMs);
  }
}
