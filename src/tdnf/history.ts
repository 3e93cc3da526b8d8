/**
 * tdnf's transaction history, `<root><persistdir>/history.db`, in C tdnf 3.x's schema
 * (history/history.c) so that either tdnf can read what the other wrote:
 *
 *   rpms(Id INTEGER PRIMARY KEY AUTOINCREMENT, nevra TEXT)            every NEVRA ever seen
 *   transactions(Id …, cookie TEXT, cmdline TEXT, timestamp INTEGER, type INTEGER)
 *       type 0 "base": the full installed set (cmdline "(set)"), type 1 "delta"
 *   trans_items(Id …, trans_id INTEGER, type INTEGER, rpm_id INTEGER)
 *       type 0 set member (base), 1 added, 2 removed
 *   names(Id …, name TEXT)                                              package names
 *   flag_set(Id …, trans_id INTEGER, name_id INTEGER, value INTEGER)   auto-installed flag
 *       changes; a name's flag at transaction T is its last row with trans_id <= T (0 if none)
 *
 * A transaction's cookie is the rpmdb's (rpm 4.18 rpmdbCookie: SHA-256 over the Name index,
 * each key followed by its package numbers as 32-bit little-endian integers, keys in order).
 * When the rpmdb's cookie differs from the last transaction's, someone else (plain rpm)
 * changed it, and the difference is recorded as a delta with cmdline "(unknown)", as tdnf does.
 *
 * sql.js holds the database in memory; every change is written back whole, atomically.
 *
 * A session that has already read the rpmdb opens its history with openSessionHistory: when the
 * user-installed set is known without the database (nothing installed, or no history.db yet, so
 * no flags), neither sql.js nor the file is touched until something is recorded — and then the
 * sync runs first with the state and time captured at open, so the file ends up as an eager
 * open would have left it. Runs that end before a transaction (--assumeno, nothing to do, a
 * solver problem) leave history.db alone, as C tdnf's do not create it either.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Database, SqlValue } from 'sql.js';
import { writeFileAtomic } from '../util/fs.ts';
import { type InstalledPackage, openRpmdb } from '../rpm/rpmdb.ts';
import { TDNF, TdnfError } from './errors.ts';
import { sqlite } from '../util/sqlite.ts';

export const HISTORY_DB_FILE = 'history.db';
export const TRANS_BASE = 0;
export const TRANS_DELTA = 1;
const ITEM_SET = 0;
const ITEM_ADD = 1;
const ITEM_REMOVE = 2;

export interface HistoryTransaction {
  id: number;
  /** 0 base (the whole installed set), 1 delta. */
  type: number;
  cmdline: string;
  /** Seconds since the epoch. */
  timestamp: number;
  cookie: string;
  /** NEVRAs added (for a base: the whole set). */
  added: string[];
  removed: string[];
}

export interface PackageDelta {
  install: string[];
  erase: string[];
}

export interface RpmdbState {
  /** NEVRAs as rpm's %{NEVRA} prints them (epoch only when set). */
  nevras: string[];
  cookie: string;
}


/** rpm's %{NEVRA}: name-[epoch:]version-release[.arch]. */
export function rpmNevra(p: Pick<InstalledPackage, 'name' | 'epoch' | 'version' | 'release' | 'arch'>): string {
  return `${p.name}-${p.epoch !== undefined ? `${p.epoch}:` : ''}${p.version}-${p.release}${p.arch ? `.${p.arch}` : ''}`;
}

/** The package name of a NEVRA (everything before the version-release). */
export function nameOfNevra(nevra: string): string {
  const noArch = nevra.replace(/\.[^.-]*$/, '');
  return noArch.split('-').slice(0, -2).join('-');
}

/** rpm 4.18's rpmdbCookie over a package list (the Name index: name, then package number). */
export function rpmdbCookie(packages: Iterable<Pick<InstalledPackage, 'name' | 'hnum'>>): string {
  const rows = [...packages].map((p) => ({ key: Buffer.from(p.name, 'utf8'), hnum: p.hnum }));
  rows.sort((a, b) => Buffer.compare(a.key, b.key) || a.hnum - b.hnum);
  const h = createHash('sha256');
  let last: Buffer | undefined;
  for (const r of rows) {
    if (!last || !last.equals(r.key)) h.update(r.key);
    last = r.key;
    const n = Buffer.alloc(4);
    n.writeUInt32LE(r.hnum >>> 0);
    h.update(n);
  }
  return h.digest('hex');
}

/** What the root's rpmdb holds now: its NEVRAs and cookie. */
export async function readRpmdbState(root: string, dbpath?: string): Promise<RpmdbState> {
  const db = await openRpmdb(root, { readonly: true, ...(dbpath ? { dbpath } : {}) }).catch(() => undefined);
  if (!db) return { nevras: [], cookie: rpmdbCookie([]) };
  try {
    const pkgs = [...db.packages()];
    return { nevras: pkgs.map(rpmNevra), cookie: rpmdbCookie(pkgs) };
  } finally {
    db.close();
  }
}

const err = (e: unknown) => new TdnfError(TDNF.HISTORY_ERROR, `history database: ${(e as Error).message ?? String(e)}`, { cause: e });

/** A sync put off until the database is needed: the rpmdb state and time of the session's start. */
interface PendingSync {
  state: RpmdbState;
  timestamp: number;
  /** userInstalled() as the sync would leave it. */
  user: Set<string>;
}

async function loadDatabase(file: string): Promise<Database> {
  const SQL = await sqlite();
  try {
    const db = existsSync(file) ? new SQL.Database(new Uint8Array(await readFile(file))) : new SQL.Database();
    db.exec('SELECT count(*) FROM sqlite_master');
    return db;
  } catch (e) {
    throw err(e);
  }
}

export class History {
  /** NEVRA ids installed as of `transId`. */
  private installed = new Set<number>();
  private cookie = '';
  private transId = 0;
  /** Whether the file existed when opened (else the first sync must write it). */
  private onDisk = false;
  private loaded: Database | undefined;
  /** Set while the database is not loaded yet (openSessionHistory). */
  private pending: PendingSync | undefined;

  private constructor(
    readonly file: string,
    private readonly root: string,
    private readonly dbpath: string | undefined,
  ) {}

  private get db(): Database {
    if (!this.loaded) throw new TdnfError(TDNF.HISTORY_ERROR, 'history database not loaded');
    return this.loaded;
  }

  static async open(root: string, persistdir = '/var/lib/tdnf', opts: { dbpath?: string; mustExist?: boolean } = {}): Promise<History> {
    const file = posix.join(root, persistdir, HISTORY_DB_FILE);
    if (opts.mustExist && !existsSync(file)) throw new TdnfError(TDNF.HISTORY_NODB, `history database ${file} not found`);
    const h = new History(file, root, opts.dbpath);
    await h.load();
    return h;
  }

  /**
   * The history of a session that read the rpmdb (`state`) at `timestamp`, synced with it: now
   * when the user-installed set needs the database (packages installed and a history.db to
   * mark some auto-installed) or `eager`, else when something is first recorded.
   */
  static async openForSession(
    root: string, persistdir: string,
    opts: { dbpath?: string; state: RpmdbState; timestamp?: number; eager?: boolean },
  ): Promise<History> {
    const file = posix.join(root, persistdir, HISTORY_DB_FILE);
    const h = new History(file, root, opts.dbpath);
    const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
    if (!opts.eager && (opts.state.nevras.length === 0 || !existsSync(file))) {
      h.pending = { state: opts.state, timestamp, user: new Set(opts.state.nevras.map(nameOfNevra)) };
      return h;
    }
    await h.load();
    await h.syncWithRpmdb(opts.state, timestamp);
    return h;
  }

  private async load(): Promise<void> {
    this.loaded = await loadDatabase(this.file);
    this.onDisk = existsSync(this.file);
    const last = this.lastTransaction();
    if (last) {
      this.cookie = last.cookie;
      this.transId = last.id;
    }
  }

  /** Loads the database and runs the put-off sync, when there is one. */
  private async ready(): Promise<void> {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    await this.load();
    await this.syncWithRpmdb(p.state, p.timestamp);
  }

  /** Whether the database is still not loaded (openForSession put the sync off). */
  get deferred(): boolean {
    return this.pending !== undefined;
  }

  /**
   * Runs a put-off sync now (the rpmdb changed, yet nothing was recorded: an rpm transaction
   * that failed part way), so that the state before it stays the recorded base, as when the
   * history was synced at open.
   */
  async syncDeferred(): Promise<void> {
    await this.ready();
  }

  close(): void {
    this.loaded?.close();
    this.loaded = undefined;
  }

  private rows(sql: string, params: SqlValue[] = []): SqlValue[][] {
    const out: SqlValue[][] = [];
    const st = this.db.prepare(sql);
    try {
      st.bind(params);
      while (st.step()) out.push(st.get());
    } finally {
      st.free();
    }
    return out;
  }

  private hasTable(name: string): boolean {
    return this.rows(`SELECT name FROM sqlite_master WHERE type='table' AND name=?`, [name]).length > 0;
  }

  private lastTransaction(): { id: number; cookie: string } | undefined {
    if (!this.hasTable('transactions')) return undefined;
    const r = this.rows('SELECT Id, cookie FROM transactions ORDER BY Id DESC LIMIT 1')[0];
    return r ? { id: Number(r[0]), cookie: String(r[1] ?? '') } : undefined;
  }

  private createTables(): void {
    this.db.run('CREATE TABLE IF NOT EXISTS rpms(Id INTEGER PRIMARY KEY AUTOINCREMENT, nevra TEXT);');
    this.db.run('CREATE TABLE IF NOT EXISTS transactions(Id INTEGER PRIMARY KEY AUTOINCREMENT,cookie TEXT, cmdline TEXT,timestamp INTEGER, type INTEGER);');
    this.db.run('CREATE TABLE IF NOT EXISTS trans_items(Id INTEGER PRIMARY KEY AUTOINCREMENT,trans_id INTEGER,type INTEGER,rpm_id INTEGER);');
  }

  private dictId(table: 'rpms' | 'names', field: 'nevra' | 'name', value: string, create: boolean): number {
    const r = this.rows(`SELECT Id FROM ${table} WHERE ${field} = ?`, [value])[0];
    if (r) return Number(r[0]);
    if (!create) return 0;
    this.db.run(`INSERT INTO ${table}(${field}) VALUES (?)`, [value]);
    return Number(this.db.exec('SELECT last_insert_rowid()')[0]!.values[0]![0]);
  }

  private nevraMap(): Map<number, string> {
    if (!this.hasTable('rpms')) return new Map();
    return new Map(this.rows('SELECT Id, nevra FROM rpms').map((r) => [Number(r[0]), String(r[1])]));
  }

  /** The installed set after transaction `id`: the last base at or before it, then the deltas. */
  private stateAt(id: number): Set<number> {
    const base = this.rows('SELECT Id FROM transactions WHERE type = ? AND Id <= ? ORDER BY Id DESC LIMIT 1', [TRANS_BASE, id])[0];
    if (!base) throw new TdnfError(TDNF.HISTORY_ERROR, `no base state before transaction ${id}`);
    const baseId = Number(base[0]);
    const set = new Set<number>();
    for (const [tid, type, rpm] of this.rows('SELECT trans_id, type, rpm_id FROM trans_items WHERE trans_id BETWEEN ? AND ? ORDER BY trans_id, rpm_id', [baseId, id])) {
      const t = Number(type);
      if (Number(tid) === baseId) {
        if (t === ITEM_SET) set.add(Number(rpm));
      } else if (t === ITEM_ADD) set.add(Number(rpm));
      else if (t === ITEM_REMOVE) set.delete(Number(rpm));
    }
    return set;
  }

  private async save(): Promise<void> {
    try {
      await writeFileAtomic(this.file, this.db.export(), 0o644);
    } catch (e) {
      throw err(e);
    }
  }

  private inTx<T>(fn: () => T): T {
    this.db.run('BEGIN');
    try {
      const r = fn();
      this.db.run('COMMIT');
      return r;
    } catch (e) {
      this.db.run('ROLLBACK');
      throw e instanceof TdnfError ? e : err(e);
    }
  }

  private addDelta(cmdline: string, cookie: string, now: Set<number>, timestamp: number): number {
    const added = [...now].filter((i) => !this.installed.has(i)).sort((a, b) => a - b);
    const removed = [...this.installed].filter((i) => !now.has(i)).sort((a, b) => a - b);
    this.db.run('INSERT INTO transactions(cmdline, cookie, timestamp, type) VALUES (?, ?, ?, ?)', [cmdline, cookie, timestamp, TRANS_DELTA]);
    const id = Number(this.db.exec('SELECT last_insert_rowid()')[0]!.values[0]![0]);
    for (const r of added) this.db.run('INSERT INTO trans_items(trans_id, type, rpm_id) VALUES (?, ?, ?)', [id, ITEM_ADD, r]);
    for (const r of removed) this.db.run('INSERT INTO trans_items(trans_id, type, rpm_id) VALUES (?, ?, ?)', [id, ITEM_REMOVE, r]);
    return id;
  }

  /**
   * Brings the history up to the rpmdb (tdnf's history_sync): a fresh history records the
   * installed set as a base "(set)"; changes made behind tdnf's back become an "(unknown)" delta.
   */
  async syncWithRpmdb(state?: RpmdbState, timestamp = Math.floor(Date.now() / 1000)): Promise<void> {
    await this.ready();
    const cur = state ?? (await readRpmdbState(this.root, this.dbpath));
    const last = this.lastTransaction();
    // Rows changed and tables made since the database was opened: when the sync adds neither,
    // the file on disk already says it all and is not rewritten (export + write, every run).
    const mark = (): string => this.rows('SELECT total_changes(), (SELECT count(*) FROM sqlite_master)')[0]!.join();
    const before = mark();
    this.inTx(() => {
      this.createTables();
      const ids = new Set(cur.nevras.map((n) => this.dictId('rpms', 'nevra', n, true)));
      if (!last) {
        this.db.run('INSERT INTO transactions(cmdline, cookie, timestamp, type) VALUES (?, ?, ?, ?)', ['(set)', cur.cookie, timestamp, TRANS_BASE]);
        this.transId = Number(this.db.exec('SELECT last_insert_rowid()')[0]!.values[0]![0]);
        for (const i of [...ids].sort((a, b) => a - b)) this.db.run('INSERT INTO trans_items(trans_id, type, rpm_id) VALUES (?, ?, ?)', [this.transId, ITEM_SET, i]);
      } else if (last.cookie !== cur.cookie) {
        this.installed = this.stateAt(last.id);
        this.transId = this.addDelta('(unknown)', cur.cookie, ids, timestamp);
      } else this.transId = last.id;
      this.installed = ids;
      this.cookie = cur.cookie;
    });
    if (!last || mark() !== before || !this.onDisk) await this.save();
  }

  /**
   * Records a transaction tdnf ran (history_update_state): the difference between the last
   * recorded state and the rpmdb now, under `cmdline`, then the auto-installed flags it sets
   * (true: pulled in as a dependency; false: asked for by the user). Returns its id, or the last
   * id when nothing changed.
   */
  async recordTransaction(t: {
    cmdline: string;
    /** When given, the rpmdb is not read: the new state is the old one plus added minus removed. */
    added?: readonly string[];
    removed?: readonly string[];
    cookie?: string;
    autoFlags?: ReadonlyMap<string, boolean> | Readonly<Record<string, boolean>>;
    timestamp?: number;
  }): Promise<number> {
    await this.ready();
    if (!this.cookie && this.transId === 0) await this.syncWithRpmdb();
    const ts = t.timestamp ?? Math.floor(Date.now() / 1000);
    let cur: RpmdbState;
    if (t.added || t.removed) {
      const names = this.nevraMap();
      const set = new Set([...this.installed].map((i) => names.get(i)!));
      for (const r of t.removed ?? []) set.delete(r);
      for (const a of t.added ?? []) set.add(a);
      cur = { nevras: [...set], cookie: t.cookie ?? (await readRpmdbState(this.root, this.dbpath)).cookie };
    } else cur = await readRpmdbState(this.root, this.dbpath);
    this.inTx(() => {
      this.createTables();
      if (cur.cookie !== this.cookie || t.added?.length || t.removed?.length) {
        const ids = new Set(cur.nevras.map((n) => this.dictId('rpms', 'nevra', n, true)));
        this.transId = this.addDelta(t.cmdline, cur.cookie, ids, ts);
        this.installed = ids;
        this.cookie = cur.cookie;
      }
      const flags = t.autoFlags instanceof Map ? [...t.autoFlags] : Object.entries(t.autoFlags ?? {});
      for (const [name, auto] of flags) this.setFlag(name, auto ? 1 : 0);
    });
    await this.save();
    return this.transId;
  }

  private flagAt(nameId: number, transId: number): number {
    if (!this.hasTable('flag_set')) return 0;
    const r = this.rows('SELECT value FROM flag_set WHERE name_id = ? AND trans_id <= ? ORDER BY Id DESC LIMIT 1', [nameId, transId])[0];
    return r ? Number(r[0]) : 0;
  }

  private setFlag(name: string, value: number): void {
    if (this.transId <= 0) throw new TdnfError(TDNF.HISTORY_ERROR, 'no transaction recorded yet');
    const known = this.hasTable('names') ? this.dictId('names', 'name', name, false) : 0;
    // Only changes are stored, as tdnf does.
    if ((known ? this.flagAt(known, this.transId) : 0) === value) return;
    this.db.run('CREATE TABLE IF NOT EXISTS names(Id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);');
    this.db.run('CREATE TABLE IF NOT EXISTS flag_set(Id INTEGER PRIMARY KEY AUTOINCREMENT,trans_id INTEGER,name_id INTEGER,value INTEGER);');
    const id = this.dictId('names', 'name', name, true);
    this.db.run('INSERT INTO flag_set(trans_id, name_id, value) VALUES (?, ?, ?)', [this.transId, id, value]);
  }

  /** `tdnf mark install|remove`: false marks user-installed, true auto-installed. */
  async setAutoInstalled(names: readonly string[], auto: boolean): Promise<void> {
    await this.ready();
    if (this.transId === 0) await this.syncWithRpmdb();
    this.inTx(() => {
      for (const n of names) this.setFlag(n, auto ? 1 : 0);
    });
    await this.save();
  }

  /** Whether `name` is marked auto-installed as of the last transaction. */
  isAutoInstalled(name: string): boolean {
    if (!this.hasTable('names')) return false;
    const id = this.dictId('names', 'name', name, false);
    return id ? this.flagAt(id, this.transId) === 1 : false;
  }

  /** Names of installed packages not marked auto-installed (the solver's userInstalled). */
  userInstalled(): Set<string> {
    if (this.pending) return new Set(this.pending.user);
    const names = this.nevraMap();
    const out = new Set<string>();
    for (const i of this.installed) {
      const n = names.get(i);
      if (n !== undefined && !this.isAutoInstalled(nameOfNevra(n))) out.add(nameOfNevra(n));
    }
    return out;
  }

  /** Transactions, oldest first, optionally `from`..`to` inclusive (tdnf history list). */
  listTransactions(range?: { from: number; to: number }, reverse = false): HistoryTransaction[] {
    if (!this.hasTable('transactions')) return [];
    const names = this.nevraMap();
    const where = range ? 'WHERE Id BETWEEN ? AND ?' : '';
    const rows = this.rows(`SELECT Id, cookie, cmdline, timestamp, type FROM transactions ${where} ORDER BY Id${reverse ? ' DESC' : ''}`, range ? [range.from, range.to] : []);
    return rows.map((r) => {
      const id = Number(r[0]);
      const added: string[] = [];
      const removed: string[] = [];
      for (const [type, rpm] of this.rows('SELECT type, rpm_id FROM trans_items WHERE trans_id = ? ORDER BY rpm_id', [id])) {
        const n = names.get(Number(rpm)) ?? `#${rpm}`;
        if (Number(type) === ITEM_REMOVE) removed.push(n);
        else added.push(n);
      }
      return { id, cookie: String(r[1] ?? ''), cmdline: String(r[2] ?? ''), timestamp: Number(r[3]), type: Number(r[4]), added, removed };
    });
  }

  transactionInfo(id: number): HistoryTransaction {
    const t = this.listTransactions({ from: id, to: id })[0];
    if (!t) throw new TdnfError(TDNF.INVALID_PARAMETER, `transaction ${id} not found`);
    return t;
  }

  private delta(from: Set<number>, to: Set<number>): PackageDelta {
    const names = this.nevraMap();
    const n = (ids: number[]) => ids.sort((a, b) => a - b).map((i) => names.get(i)!);
    return { install: n([...to].filter((i) => !from.has(i))), erase: n([...from].filter((i) => !to.has(i))) };
  }

  private lastId(): number {
    return this.lastTransaction()?.id ?? 0;
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 1 || id > this.lastId()) throw new TdnfError(TDNF.INVALID_PARAMETER, `transaction ${id} not found`);
  }

  /** rollback: what takes the current state to the state right after transaction `id`. */
  deltaTo(id: number): PackageDelta {
    this.checkId(id);
    return this.delta(this.installed, this.stateAt(id));
  }

  /** undo: reverse transaction `id` (install what it removed, erase what it added). */
  inverse(id: number): PackageDelta {
    this.checkId(id);
    const t = this.transactionInfo(id);
    if (t.type === TRANS_BASE) throw new TdnfError(TDNF.INVALID_PARAMETER, `transaction ${id} is a base state and cannot be undone`);
    return { install: t.removed, erase: t.added };
  }

  /** redo: transaction `id` again. */
  redo(id: number): PackageDelta {
    this.checkId(id);
    const t = this.transactionInfo(id);
    if (t.type === TRANS_BASE) throw new TdnfError(TDNF.INVALID_PARAMETER, `transaction ${id} is a base state and cannot be redone`);
    return { install: t.added, erase: t.removed };
  }

  get lastTransactionId(): number {
    return this.transId;
  }
}

/** Opens (or starts) `<root><persistdir>/history.db`. */
export function openHistory(root: string, persistdir = '/var/lib/tdnf', opts: { dbpath?: string; mustExist?: boolean } = {}): Promise<History> {
  return History.open(root, persistdir, opts);
}
