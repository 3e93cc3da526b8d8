/**
 * rpm 4.18's secondary indexes (lib/rpmdb.c dbiTags, tag2index, td2key; backend/sqlite.c):
 * one table per tag, rows (key, hnum, idx). String tags get TEXT keys and an index on key;
 * array tags get an index on hnum; numeric and binary tags get BLOB keys holding the raw bytes
 * (numbers in host order: little-endian on x86_64 and aarch64).
 */
import { endianness } from 'node:os';
import { type Header, type HeaderValue, TagType } from '../formats/rpm-header.ts';
import { RPMSENSE, parseRich, type RichDep } from './deps.ts';
import { TAG } from './tags.ts';

export interface IndexSpec {
  table: string;
  tag: number;
  /** TEXT key (and a key index) for strings, BLOB key otherwise. */
  text: boolean;
  /** Array tags: an index on hnum too. */
  array: boolean;
}

/** In rpm's dbiTags order, which is also the order rpm creates the tables in. */
export const INDEXES: readonly IndexSpec[] = [
  { table: 'Name', tag: TAG.NAME, text: true, array: false },
  { table: 'Basenames', tag: TAG.BASENAMES, text: true, array: true },
  { table: 'Group', tag: TAG.GROUP, text: true, array: false },
  { table: 'Requirename', tag: TAG.REQUIRENAME, text: true, array: true },
  { table: 'Providename', tag: TAG.PROVIDENAME, text: true, array: true },
  { table: 'Conflictname', tag: TAG.CONFLICTNAME, text: true, array: true },
  { table: 'Obsoletename', tag: TAG.OBSOLETENAME, text: true, array: true },
  { table: 'Triggername', tag: TAG.TRIGGERNAME, text: true, array: true },
  { table: 'Dirnames', tag: TAG.DIRNAMES, text: true, array: true },
  { table: 'Installtid', tag: TAG.INSTALLTID, text: false, array: false },
  { table: 'Sigmd5', tag: TAG.SIGMD5, text: false, array: false },
  { table: 'Sha1header', tag: TAG.SHA1HEADER, text: true, array: false },
  { table: 'Filetriggername', tag: TAG.FILETRIGGERNAME, text: true, array: true },
  { table: 'Transfiletriggername', tag: TAG.TRANSFILETRIGGERNAME, text: true, array: true },
  { table: 'Recommendname', tag: TAG.RECOMMENDNAME, text: true, array: true },
  { table: 'Suggestname', tag: TAG.SUGGESTNAME, text: true, array: true },
  { table: 'Supplementname', tag: TAG.SUPPLEMENTNAME, text: true, array: true },
  { table: 'Enhancename', tag: TAG.ENHANCENAME, text: true, array: true },
];

/** The statements rpm's sqlite backend runs to create a database, verbatim, so the schemas match. */
export function schemaStatements(): string[] {
  const out = [`CREATE TABLE IF NOT EXISTS 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL)`];
  for (const s of INDEXES) {
    out.push(
      `CREATE TABLE IF NOT EXISTS '${s.table}' (key '${s.text ? 'TEXT' : 'BLOB'}' NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, FOREIGN KEY (hnum) REFERENCES 'Packages'(hnum))`,
    );
    if (s.text) out.push(`CREATE INDEX IF NOT EXISTS '${s.table}_key_idx' ON '${s.table}'(key ASC)`);
    if (s.array) out.push(`CREATE INDEX IF NOT EXISTS '${s.table}_hnum_idx' ON '${s.table}'(hnum ASC)`);
  }
  return out;
}

export interface IndexRow {
  key: string | Uint8Array;
  idx: number;
}

/** Requires rpm leaves out of the index: needed only while installing (rpm 4.18 isInstallPreReq && !isErasePreReq). */
const INSTALL_ONLY = (RPMSENSE.SCRIPT_PRE | RPMSENSE.SCRIPT_POST | RPMSENSE.RPMLIB | RPMSENSE.KEYRING | RPMSENSE.PRETRANS | RPMSENSE.POSTTRANS) & ~RPMSENSE.PREREQ;
const ERASE_ONLY = (RPMSENSE.SCRIPT_PREUN | RPMSENSE.SCRIPT_POSTUN) & ~RPMSENSE.PREREQ;

const RICH_INDEXED = new Set<number>([TAG.REQUIRENAME, TAG.CONFLICTNAME, TAG.SUGGESTNAME, TAG.SUPPLEMENTNAME, TAG.RECOMMENDNAME, TAG.ENHANCENAME]);

function numberKey(type: TagType, n: number): Uint8Array {
  const size = type === TagType.INT16 ? 2 : type === TagType.INT32 ? 4 : type === TagType.INT64 ? 8 : 1;
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  const le = endianness() === 'LE';
  if (size === 1) b[0] = n & 0xff;
  else if (size === 2) dv.setUint16(0, n & 0xffff, le);
  else if (size === 4) dv.setUint32(0, n >>> 0, le);
  else dv.setBigUint64(0, BigInt(n), le);
  return b;
}

function values(v: HeaderValue): Array<string | Uint8Array> {
  switch (v.type) {
    case TagType.STRING:
      return [v.value];
    case TagType.STRING_ARRAY:
      return v.value;
    case TagType.I18NSTRING:
      // rpm reads i18n strings localised: one value, the first (C locale).
      return v.value.slice(0, 1);
    case TagType.BIN:
      return [v.value];
    case TagType.NULL:
      return [];
    default:
      return v.value.map((n) => numberKey(v.type, n));
  }
}

/**
 * The simple names inside a rich dependency, as rpm's updateRichDep indexes them: names under
 * an odd number of if/unless conditions get a '!' prefix; sorted, duplicates dropped,
 * rpmlib() names left out.
 */
function richNames(dep: string): string[] {
  let tree: RichDep;
  try {
    tree = parseRich(dep);
  } catch {
    return [];
  }
  const names: string[] = [];
  walkRich(tree, false, names);
  const sorted = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted.filter((n, i) => i === 0 || sorted[i - 1] !== n).map((n) => (n.startsWith(' ') ? n.slice(1) : n));
}

function walkRich(node: RichDep, neg: boolean, out: string[]): void {
  if (node.op === 'dep') {
    if (node.dep.name && !node.dep.name.startsWith('rpmlib(')) out.push((neg ? '!' : ' ') + node.dep.name);
    return;
  }
  const [first, second, third] = node.args;
  if (node.op === 'if' || node.op === 'unless') {
    // A if B [else C]: B is a condition (negated); C repeats B with the opposite sign.
    if (first) walkRich(first, neg, out);
    const start = out.length;
    if (second) walkRich(second, !neg, out);
    if (third) {
      const cond = out.slice(start);
      walkRich(third, neg, out);
      for (const n of cond) out.push((n.startsWith('!') ? ' ' : '!') + n.slice(1));
    }
    return;
  }
  for (const a of node.args) walkRich(a, neg, out);
}

/** The rows rpm puts in `spec`'s table for a header. */
export function indexRows(spec: IndexSpec, h: Header): IndexRow[] {
  const v = h.entries.get(spec.tag);
  let keys = v ? values(v) : [];
  if (keys.length === 0) {
    if (spec.tag !== TAG.GROUP) return [];
    keys = ['Unknown'];
  }
  const rows: IndexRow[] = [];
  let tagNums: number[] | undefined;
  let reqFlags: number[] | undefined;
  if (spec.tag === TAG.FILETRIGGERNAME || spec.tag === TAG.TRANSFILETRIGGERNAME) {
    const iv = h.entries.get(spec.tag === TAG.FILETRIGGERNAME ? TAG.FILETRIGGERINDEX : TAG.TRANSFILETRIGGERINDEX);
    tagNums = iv && iv.type === TagType.INT32 ? iv.value : [];
  }
  if (spec.tag === TAG.REQUIRENAME) {
    const fv = h.entries.get(TAG.REQUIREFLAGS);
    reqFlags = fv && fv.type === TagType.INT32 ? fv.value : [];
  }
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const idx = tagNums ? tagNums[i] ?? 0 : i;
    if (reqFlags) {
      const f = reqFlags[i];
      if (f !== undefined && (f & INSTALL_ONLY) !== 0 && (f & ERASE_ONLY) === 0) continue;
    }
    if (spec.tag === TAG.TRIGGERNAME && keys.indexOf(key) < i) continue;
    rows.push({ key, idx });
    if (typeof key === 'string' && key.startsWith('(') && RICH_INDEXED.has(spec.tag) && v?.type === TagType.STRING_ARRAY) {
      for (const n of richNames(key)) rows.push({ key: n, idx });
    }
  }
  return rows;
}
