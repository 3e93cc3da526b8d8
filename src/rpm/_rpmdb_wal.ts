/**
 * SQLite's write-ahead log, read so that a database rpm left with committed but uncheckpointed
 * transactions (rpm sets wal_autocheckpoint = 0 and checkpoints only on close, so a killed rpm
 * leaves them) is seen whole. sql.js opens only the main file; we apply the log ourselves.
 *
 * | offset | size | WAL header                                         |
 * |--------|------|----------------------------------------------------|
 * | 0      | 4    | magic 0x377f0682 (LE checksums) or 0x377f0683 (BE) |
 * | 4      | 4    | format version 3007000                             |
 * | 8      | 4    | page size                                          |
 * | 12     | 4    | checkpoint sequence                                |
 * | 16     | 8    | salt-1, salt-2                                     |
 * | 24     | 8    | checksum of bytes 0..24                            |
 *
 * Each frame: page number, database size in pages after commit (0 unless a commit frame),
 * the two salts, a cumulative checksum over the frame header's first 8 bytes and the page,
 * then the page. A frame belongs to the log only if its salts match and the checksum chain
 * holds; frames after the last commit frame are an unfinished transaction and are ignored,
 * exactly as SQLite's recovery does.
 */
import { PhotonError } from '../util/errors.ts';

const WAL_HEADER = 32;
const FRAME_HEADER = 24;

function checksum(buf: Uint8Array, start: number, end: number, bigEndian: boolean, s: [number, number]): [number, number] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let [s0, s1] = s;
  for (let i = start; i < end; i += 8) {
    s0 = (s0 + dv.getUint32(i, !bigEndian) + s1) >>> 0;
    s1 = (s1 + dv.getUint32(i + 4, !bigEndian) + s0) >>> 0;
  }
  return [s0, s1];
}

/**
 * The database image with the log's committed frames applied, or `db` itself when the log holds
 * no committed transaction. `applied` counts the frames used.
 */
export function applyWal(db: Uint8Array, wal: Uint8Array, file: string): { image: Uint8Array; applied: number } {
  if (wal.length < WAL_HEADER) return { image: db, applied: 0 };
  const dv = new DataView(wal.buffer, wal.byteOffset, wal.byteLength);
  const magic = dv.getUint32(0);
  if (magic !== 0x377f0682 && magic !== 0x377f0683) {
    throw new PhotonError('E_RPMDB_CORRUPT', `write-ahead log has a bad magic number`, { file });
  }
  const bigEndian = (magic & 1) === 1;
  const pageSize = dv.getUint32(8);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    throw new PhotonError('E_RPMDB_CORRUPT', `write-ahead log has a bad page size ${pageSize}`, { file });
  }
  let sum = checksum(wal, 0, 24, bigEndian, [0, 0]);
  if (sum[0] !== dv.getUint32(24) || sum[1] !== dv.getUint32(28)) return { image: db, applied: 0 };
  const salt1 = dv.getUint32(16);
  const salt2 = dv.getUint32(20);

  const pending = new Map<number, number>();
  let committed = new Map<number, number>();
  let dbPages = 0;
  let applied = 0;
  let n = 0;
  for (let off = WAL_HEADER; off + FRAME_HEADER + pageSize <= wal.length; off += FRAME_HEADER + pageSize) {
    if (dv.getUint32(off + 8) !== salt1 || dv.getUint32(off + 12) !== salt2) break;
    sum = checksum(wal, off, off + 8, bigEndian, sum);
    sum = checksum(wal, off + FRAME_HEADER, off + FRAME_HEADER + pageSize, bigEndian, sum);
    if (sum[0] !== dv.getUint32(off + 16) || sum[1] !== dv.getUint32(off + 20)) break;
    const pgno = dv.getUint32(off);
    if (pgno === 0) break;
    pending.set(pgno, off + FRAME_HEADER);
    n++;
    const commitSize = dv.getUint32(off + 4);
    if (commitSize !== 0) {
      committed = new Map([...committed, ...pending]);
      pending.clear();
      dbPages = commitSize;
      applied = n;
    }
  }
  if (applied === 0) return { image: db, applied: 0 };
  if (db.length % pageSize !== 0 && db.length !== 0) {
    throw new PhotonError('E_RPMDB_CORRUPT', `database size ${db.length} is not a multiple of the log's page size ${pageSize}`, { file });
  }
  const image = new Uint8Array(dbPages * pageSize);
  image.set(db.subarray(0, Math.min(db.length, image.length)));
  for (const [pgno, at] of committed) {
    if (pgno <= dbPages) image.set(wal.subarray(at, at + pageSize), (pgno - 1) * pageSize);
  }
  return { image, applied };
}
