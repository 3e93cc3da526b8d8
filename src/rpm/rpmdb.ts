/**
 * The rpmdb in rpm 4.16+'s sqlite layout, `<root><dbpath>/rpmdb.sqlite`, read and written so
 * that rpm and we can take turns on one root.
 *
 * Layout (rpm 4.18 lib/backend/sqlite.c): `Packages(hnum INTEGER PRIMARY KEY AUTOINCREMENT,
 * blob)` holds each installed header (see rpmdb-blob.ts); one table per indexed tag holds
 * (key, hnum, idx) rows (see _rpmdb_index.ts). rpm runs in WAL mode with wal_autocheckpoint
 * off and SQLITE_FCNTL_PERSIST_WAL, so after a clean exit it leaves an empty `-wal` and a
 * `-shm` beside the database.
 *
 * sql.js keeps the whole database in memory. A transaction takes the lock, reloads the file,
 * applies the changes in one SQL transaction, exports the image and renames it into place:
 * readers see the old database or the new one, never a mix, and a killed writer leaves the old
 * one plus a temporary file.
 */
import { mkdir, open, readFile, readdir, rm, stat, truncate } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Database, SqlJsStatic, SqlValue } from 'sql.js';
import { PhotonError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { type Header, getNumber, getNumbers, getString, getStrings, parseHeader } from '../formats/rpm-header.ts';
import { INDEXES, indexRows, schemaStatements } from './_rpmdb_index.ts';
import { lockRpmdb } from './_rpmdb_lock.ts';
import { applyWal } from './_rpmdb_wal.ts';
import { TAG } from './tags.ts';
import { sqlite } from '../util/sqlite.ts';

export { buildInstalledHeader, type InstallStamp, type PackageHeaders } from './rpmdb-blob.ts';

export const DEFAULT_DBPATH = '/var/lib/rpm';
export const DB_FILE = 'rpmdb.sqlite';

export interface OpenOptions {
  /** Inside the root; rpm's default. Debian's own rpm defaults elsewhere, so tests pass it. */
  dbpath?: string;
  /** Create an empty database (and its directory) when there is none. */
  create?: boolean;
  /** Refuse transactions; never takes the lock or writes. */
  readonly?: boolean;
  /** How long a transaction waits for another writer, in milliseconds (default 60 s). */
  lockTimeoutMs?: number;
}

export interface InstalledPackage {
  hnum: number;
  header: Header;
  name: string;
  epoch: number | undefined;
  version: string;
  release: string;
  /** '' for headers without one (gpg-pubkey). */
  arch: string;
}

export interface RpmdbTransaction {
  /** Stores a header blob as rpm stores it (no magic) or a parsed header's raw bytes; returns its hnum. */
  add(blob: Uint8Array | Pick<Header, 'raw'>): number;
  /** Removes the package and every index row pointing at it. */
  remove(hnum: number): void;
  /** The packages as they are inside the transaction. */
  packages(): Iterable<InstalledPackage>;
}

export interface Rpmdb {
  /** The database file, `<root><dbpath>/rpmdb.sqlite`. */
  readonly file: string;
  packages(): Iterable<InstalledPackage>;
  get(hnum: number): InstalledPackage | undefined;
  findByName(name: string): InstalledPackage[];
  whatProvides(name: string): InstalledPackage[];
  whatRequires(name: string): InstalledPackage[];
  /** Packages listing `path` among their files. */
  ownersOf(path: string): InstalledPackage[];
  transaction(fn: (tx: RpmdbTransaction) => void | Promise<void>): Promise<void>;
  close(): void;
}


const SQLITE_MAGIC = 'SQLite format 3\0';

/** Marks an exported image as WAL mode (file format bytes 18 and 19), as rpm leaves its database. */
function markWal(image: Uint8Array): Uint8Array {
  image[18] = 2;
  image[19] = 2;
  return image;
}

function rootPath(root: string, dbpath: string): string {
  return posix.join(root, dbpath.startsWith('/') ? dbpath : `/${dbpath}`);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, (e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return false;
    throw e;
  });
}

/**
 * Reads the database image, with a non-empty write-ahead log applied. When the log held
 * committed transactions and `checkpoint` is set (we hold the lock), the merged image is
 * first written in place of the database and the log emptied, as SQLite's checkpoint does:
 * a crash in between replays the same pages onto the same image, so nothing is lost.
 */
async function loadImage(file: string, checkpoint: boolean): Promise<Uint8Array> {
  const db = new Uint8Array(await readFile(file));
  if (db.length < 100 || new TextDecoder().decode(db.subarray(0, 16)) !== SQLITE_MAGIC) {
    throw new PhotonError('E_RPMDB_CORRUPT', 'not an SQLite database', { file });
  }
  const walFile = `${file}-wal`;
  const wal = await readFile(walFile).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (!wal || wal.length === 0) return db;
  const { image, applied } = applyWal(db, new Uint8Array(wal), walFile);
  if (applied > 0 && checkpoint) {
    const mode = (await stat(file)).mode & 0o7777;
    await writeFileAtomic(file, image, mode);
    await syncDir(posix.dirname(file));
    await truncate(walFile, 0);
  }
  return image;
}

/** Temporary images of writers killed before their rename; only called under the lock. */
async function removeStaleTemps(file: string): Promise<void> {
  const dir = posix.dirname(file);
  const prefix = `.${posix.basename(file)}.`;
  for (const name of await readdir(dir)) {
    if (name.startsWith(prefix) && name.endsWith('.tmp')) await rm(posix.join(dir, name), { force: true });
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function openImage(SQL: SqlJsStatic, image: Uint8Array | undefined, file: string): Database {
  let db: Database | undefined;
  try {
    db = image ? new SQL.Database(image) : new SQL.Database();
    if (!image) for (const s of schemaStatements()) db.run(s);
    const tables = new Set(db.exec(`SELECT name FROM sqlite_master WHERE type = 'table'`)[0]?.values.map((r) => String(r[0])) ?? []);
    const missing = ['Packages', ...INDEXES.map((s) => s.table)].filter((t) => !tables.has(t));
    if (missing.includes('Packages')) throw new Error('no Packages table: not an rpm database');
    // rpm creates index tables it lacks when it opens a database for writing; so do we.
    if (missing.length) for (const s of schemaStatements()) db.run(s);
    db.exec('SELECT count(*) FROM Packages');
    return db;
  } catch (e) {
    db?.close();
    if (e instanceof PhotonError) throw e;
    throw new PhotonError('E_RPMDB_CORRUPT', `unreadable rpm database: ${(e as Error).message}`, { file, cause: e });
  }
}

class SqliteRpmdb implements Rpmdb {
  readonly file: string;
  private db: Database;
  private readonly cache = new Map<number, InstalledPackage>();
  private inTx = false;

  constructor(
    private readonly SQL: SqlJsStatic,
    file: string,
    db: Database,
    private readonly options: OpenOptions,
  ) {
    this.file = file;
    this.db = db;
  }

  private decode(hnum: number, blob: Uint8Array): InstalledPackage {
    const cached = this.cache.get(hnum);
    if (cached) return cached;
    let header: Header;
    try {
      header = parseHeader(blob, 0, { magic: false, file: this.file, what: `header #${hnum}` }).header;
    } catch (e) {
      throw new PhotonError('E_RPMDB_CORRUPT', `header #${hnum}: ${(e as Error).message}`, { file: this.file, cause: e });
    }
    const pkg: InstalledPackage = {
      hnum,
      header,
      name: getString(header, TAG.NAME) ?? '',
      epoch: getNumber(header, TAG.EPOCH),
      version: getString(header, TAG.VERSION) ?? '',
      release: getString(header, TAG.RELEASE) ?? '',
      arch: getString(header, TAG.ARCH) ?? '',
    };
    this.cache.set(hnum, pkg);
    return pkg;
  }

  private query<T>(sql: string, params: SqlValue[], row: (r: SqlValue[]) => T): T[] {
    const out: T[] = [];
    let stmt;
    try {
      stmt = this.db.prepare(sql);
      stmt.bind(params);
      while (stmt.step()) out.push(row(stmt.get()));
    } catch (e) {
      if (e instanceof PhotonError) throw e;
      throw new PhotonError('E_RPMDB_CORRUPT', `unreadable rpm database: ${(e as Error).message}`, { file: this.file, cause: e });
    } finally {
      stmt?.free();
    }
    return out;
  }

  *packages(): Iterable<InstalledPackage> {
    const hnums = this.query('SELECT hnum FROM Packages ORDER BY hnum', [], (r) => Number(r[0]));
    for (const h of hnums) {
      const p = this.get(h);
      if (p) yield p;
    }
  }

  get(hnum: number): InstalledPackage | undefined {
    const cached = this.cache.get(hnum);
    if (cached) return cached;
    const [blob] = this.query('SELECT blob FROM Packages WHERE hnum = ?', [hnum], (r) => r[0]);
    if (blob === undefined) return undefined;
    if (!(blob instanceof Uint8Array)) throw new PhotonError('E_RPMDB_CORRUPT', `header #${hnum} is not a blob`, { file: this.file });
    return this.decode(hnum, blob);
  }

  private byIndex(table: string, key: string): Array<{ pkg: InstalledPackage; idx: number }> {
    const rows = this.query(`SELECT hnum, idx FROM '${table}' WHERE key = ? ORDER BY hnum, idx`, [key], (r) => [Number(r[0]), Number(r[1])] as const);
    const out: Array<{ pkg: InstalledPackage; idx: number }> = [];
    for (const [h, idx] of rows) {
      const pkg = this.get(h);
      if (pkg) out.push({ pkg, idx });
    }
    return out;
  }

  private unique(list: Array<{ pkg: InstalledPackage }>): InstalledPackage[] {
    return [...new Map(list.map((x) => [x.pkg.hnum, x.pkg])).values()];
  }

  findByName(name: string): InstalledPackage[] {
    return this.unique(this.byIndex('Name', name));
  }

  whatProvides(name: string): InstalledPackage[] {
    const found = this.unique(this.byIndex('Providename', name));
    // rpm answers file "provides" from the file list when no package provides the path itself.
    return found.length || !name.startsWith('/') ? found : this.ownersOf(name);
  }

  whatRequires(name: string): InstalledPackage[] {
    return this.unique(this.byIndex('Requirename', name));
  }

  ownersOf(path: string): InstalledPackage[] {
    const norm = posix.normalize(`/${path}`).replace(/\/+$/, '') || '/';
    const dir = posix.dirname(norm);
    const base = posix.basename(norm);
    const want = dir === '/' ? '/' : `${dir}/`;
    return this.unique(
      this.byIndex('Basenames', base).filter(({ pkg, idx }) => {
        const di = getNumbers(pkg.header, TAG.DIRINDEXES)[idx];
        return di !== undefined && getStrings(pkg.header, TAG.DIRNAMES)[di] === want;
      }),
    );
  }

  async transaction(fn: (tx: RpmdbTransaction) => void | Promise<void>): Promise<void> {
    if (this.options.readonly) throw new PhotonError('E_RPMDB_READONLY', 'database opened read-only', { file: this.file });
    if (this.inTx) throw new PhotonError('E_RPMDB_BUSY', 'a transaction is already running on this handle', { file: this.file });
    this.inTx = true;
    const release = await lockRpmdb(posix.dirname(this.file), this.options.lockTimeoutMs);
    try {
      await removeStaleTemps(this.file);
      // Another writer may have committed since we loaded: start from what is on disk now.
      const fresh = openImage(this.SQL, await loadImage(this.file, true), this.file);
      this.db.close();
      this.db = fresh;
      this.cache.clear();
      this.db.run('BEGIN');
      try {
        await fn(this.txHandle());
        this.db.run('COMMIT');
      } catch (e) {
        this.db.run('ROLLBACK');
        this.cache.clear();
        throw e;
      }
      const mode = (await stat(this.file)).mode & 0o7777;
      await writeFileAtomic(this.file, markWal(this.db.export()), mode);
      await syncDir(posix.dirname(this.file));
    } finally {
      this.inTx = false;
      await release();
    }
  }

  private txHandle(): RpmdbTransaction {
    return {
      add: (blob) => this.add(blob instanceof Uint8Array ? blob : blob.raw),
      remove: (hnum) => this.remove(hnum),
      packages: () => this.packages(),
    };
  }

  private add(blob: Uint8Array): number {
    let header: Header;
    try {
      header = parseHeader(blob, 0, { magic: false, what: 'header blob' }).header;
    } catch (e) {
      throw new PhotonError('E_RPMDB_BAD_HEADER', `refusing to store an invalid header: ${(e as Error).message}`, { file: this.file });
    }
    if (!getString(header, TAG.NAME)) throw new PhotonError('E_RPMDB_BAD_HEADER', 'refusing to store a header without a name', { file: this.file });
    // sql.js copies bound arrays; a copy of the exact bytes, not a view of a larger buffer.
    this.db.run('INSERT INTO Packages (blob) VALUES (?)', [Uint8Array.from(blob)]);
    const hnum = Number(this.db.exec('SELECT last_insert_rowid()')[0]!.values[0]![0]);
    for (const spec of INDEXES) {
      const rows = indexRows(spec, header);
      if (!rows.length) continue;
      const stmt = this.db.prepare(`INSERT INTO '${spec.table}' VALUES (?, ?, ?)`);
      try {
        for (const r of rows) stmt.run([r.key, hnum, r.idx]);
      } finally {
        stmt.free();
      }
    }
    return hnum;
  }

  private remove(hnum: number): void {
    const n = this.query('SELECT count(*) FROM Packages WHERE hnum = ?', [hnum], (r) => Number(r[0]))[0];
    if (!n) throw new PhotonError('E_RPMDB_NO_PACKAGE', `no installed package #${hnum}`, { file: this.file });
    this.db.run('DELETE FROM Packages WHERE hnum = ?', [hnum]);
    for (const spec of INDEXES) this.db.run(`DELETE FROM '${spec.table}' WHERE hnum = ?`, [hnum]);
    this.cache.delete(hnum);
  }

  close(): void {
    this.db.close();
    this.cache.clear();
  }
}

/**
 * Opens `<root><dbpath>/rpmdb.sqlite`. A missing database is E_RPMDB_MISSING unless `create`,
 * which writes an empty one with rpm's schema; an unreadable one is E_RPMDB_CORRUPT naming it.
 */
export async function openRpmdb(root: string, options: OpenOptions = {}): Promise<Rpmdb> {
  const dir = rootPath(root, options.dbpath ?? DEFAULT_DBPATH);
  const file = posix.join(dir, DB_FILE);
  // A missing database is reported before sql.js is started (a fresh --installroot needs none).
  if (!(await exists(file)) && (!options.create || options.readonly)) {
    throw new PhotonError('E_RPMDB_MISSING', 'no rpm database (rpm --initdb creates one)', { file });
  }
  const SQL = await sqlite();
  if (!(await exists(file))) {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const release = await lockRpmdb(dir, options.lockTimeoutMs);
    try {
      if (!(await exists(file))) {
        const db = openImage(SQL, undefined, file);
        try {
          await writeFileAtomic(file, markWal(db.export()), 0o644);
        } finally {
          db.close();
        }
        await syncDir(dir);
      }
    } finally {
      await release();
    }
  }
  const image = await loadImage(file, false);
  return new SqliteRpmdb(SQL, file, openImage(SQL, image, file), options);
}

/** The full paths of a header's files, in header order (DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]). */
export function headerFilePaths(h: Header): string[] {
  const dirs = getStrings(h, TAG.DIRNAMES);
  const idx = getNumbers(h, TAG.DIRINDEXES);
  return getStrings(h, TAG.BASENAMES).map((b, i) => (dirs[idx[i] ?? -1] ?? '') + b);
}
