/**
 * What Linux's /proc tells about other processes, for our lock files: Node has neither flock
 * nor fcntl locks, so we use O_EXCL pid files and look at /proc/locks for the real tools' locks.
 */
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';

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
