/**
 * The rpmdb writers' lock. rpm 4.18 serialises its writers with an fcntl (POSIX) write lock on
 * `<dbpath>/.rpm.lock`, a file it creates and never removes. Node cannot take fcntl locks
 * without a native addon, and Linux keeps flock() and fcntl() locks apart, so we:
 *  - wait while /proc/locks shows someone (rpm) holding a lock on `.rpm.lock`;
 *  - serialise our own writers with `.rpm.lock.photon`, created with O_EXCL and holding
 *    "pid starttime", taken over when that process is gone (killed writers leave it behind).
 * A rpm that starts while we hold our lock does not see it; that remains a documented limit.
 */
import { readFileSync } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PhotonError } from '../util/errors.ts';

export const RPM_LOCK = '.rpm.lock';
export const OUR_LOCK = '.rpm.lock.photon';

function startTime(pid: number): string {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime), counted after the parenthesised command name, which may hold spaces.
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

function alive(pid: number, start: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  // A recycled pid belongs to a process that started at another time.
  return !start || !startTime(pid) || startTime(pid) === start;
}

/** Whether a process holds a POSIX or OFD lock on the file with this device and inode. */
async function heldInProcLocks(dev: number, ino: number): Promise<boolean> {
  let text: string;
  try {
    text = await readFile('/proc/locks', 'utf8');
  } catch {
    return false;
  }
  const major = Number((BigInt(dev) >> 8n) & 0xfffn) | Number((BigInt(dev) >> 32n) & ~0xfffn);
  const minor = Number(BigInt(dev) & 0xffn) | Number((BigInt(dev) >> 12n) & ~0xffn);
  const want = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${ino}`;
  const ours = String(process.pid);
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    // "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; "->" marks waiters.
    if (f[1] === '->') continue;
    if ((f[1] === 'POSIX' || f[1] === 'OFDLCK') && f[5] === want && f[4] !== ours) return true;
  }
  return false;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Takes the lock on the database directory `dir`; resolves to its release function. */
export async function lockRpmdb(dir: string, timeoutMs = 60_000): Promise<() => Promise<void>> {
  const rpmLock = join(dir, RPM_LOCK);
  const ours = join(dir, OUR_LOCK);
  const deadline = Date.now() + timeoutMs;
  // rpm creates its lock file on first write; so do we, so that rpm and we agree on one inode.
  await (await open(rpmLock, 'a', 0o644)).close();
  const me = `${process.pid} ${startTime(process.pid)}\n`;
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
      const st = await stat(rpmLock);
      if (!(await heldInProcLocks(st.dev, st.ino))) {
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
      if (st && Number.isInteger(n) && n > 0 && !alive(n, start ?? '')) {
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
