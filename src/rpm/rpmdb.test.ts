import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { type HeaderValue, TagType, parseHeader, writeHeader } from '../formats/rpm-header.ts';
import { isPhotonError } from '../util/errors.ts';
import { INDEXES, indexRows } from './_rpmdb_index.ts';
import { appendEntries, buildInstalledHeader, mergedSignatureEntries } from './rpmdb-blob.ts';
import { TAG } from './tags.ts';
import { openRpmdb } from './rpmdb.ts';

const str = (value: string): HeaderValue => ({ type: TagType.STRING, value });
const arr = (value: string[]): HeaderValue => ({ type: TagType.STRING_ARRAY, value });
const i32 = (value: number[]): HeaderValue => ({ type: TagType.INT32, value });

function mainHeader(extra: Array<[number, HeaderValue]> = []) {
  const raw = writeHeader(new Map<number, HeaderValue>([
    [TAG.NAME, str('x')], [TAG.VERSION, str('1')], [TAG.RELEASE, str('1')], [TAG.ARCH, str('noarch')],
    [TAG.BASENAMES, arr(['a', 'b'])], [TAG.DIRNAMES, arr(['/d/'])], [TAG.DIRINDEXES, i32([0, 0])], ...extra,
  ]), { magic: false, region: 63 });
  return parseHeader(raw, 0, { magic: false }).header;
}

test('appendEntries keeps the region bytes and aligns dribble data as headerExport does', () => {
  const h = mainHeader();
  const out = appendEntries(h.raw, new Map<number, HeaderValue>([[TAG.INSTALLTIME, i32([7])], [TAG.FILESTATES, { type: TagType.CHAR, value: [0, 0] }], [TAG.SHA1HEADER, str('abc')]]));
  const dv = new DataView(h.raw.buffer, h.raw.byteOffset);
  const ril = dv.getUint32(0);
  const rdl = dv.getUint32(4);
  assert.deepEqual(out.subarray(8, 8 + ril * 16), h.raw.subarray(8, 8 + ril * 16));
  const parsed = parseHeader(out, 0, { magic: false }).header;
  assert.equal(parsed.region, 63);
  assert.deepEqual(parsed.entries.get(TAG.INSTALLTIME)?.value, [7]);
  assert.deepEqual(parsed.entries.get(TAG.FILESTATES)?.value, [0, 0]);
  const odv = new DataView(out.buffer);
  // Dribble index in tag order, the INT32 aligned to 4 past the region's data.
  const tags = [0, 1, 2].map((k) => odv.getUint32(8 + (ril + k) * 16));
  assert.deepEqual(tags, [TAG.SHA1HEADER, TAG.INSTALLTIME, TAG.FILESTATES]);
  const off = odv.getUint32(8 + (ril + 1) * 16 + 8);
  assert.equal(off % 4, 0);
  assert.ok(off >= rdl + 4);
  assert.throws(() => appendEntries(h.raw, new Map([[TAG.NAME, str('y')]])), /already in the header/);
});

test('signature merge renames legacy tags and drops what rpm drops', () => {
  const sig = parseHeader(writeHeader(new Map<number, HeaderValue>([
    [1000, i32([100])], [1004, { type: TagType.BIN, value: new Uint8Array(16) }], [1007, i32([50])], [1008, { type: TagType.BIN, value: new Uint8Array(8) }],
    [269, str('sha1')], [273, str('sha256')], [270, { type: TagType.INT64, value: [1, 2] }],
  ]), { magic: false, region: 62 }), 0, { magic: false }).header;
  const merged = mergedSignatureEntries(sig, mainHeader());
  assert.deepEqual([...merged.keys()].sort((a, b) => a - b), [TAG.SIGSIZE, TAG.SIGMD5, TAG.SHA1HEADER, TAG.SHA256HEADER, TAG.ARCHIVESIZE]);
  const blob = buildInstalledHeader({ signature: sig, header: mainHeader() }, { installTime: 5, tid: 6 });
  const h = parseHeader(blob, 0, { magic: false }).header;
  assert.deepEqual(h.entries.get(TAG.INSTALLTID)?.value, [6]);
  assert.deepEqual(h.entries.get(TAG.INSTALLCOLOR)?.value, [3]);
  assert.deepEqual(h.entries.get(TAG.FILESTATES)?.value, [0, 0]);
});

test('index rows follow rpm: requires filter, rich names, Group default, trigger dedup, raw Installtid', () => {
  const h = mainHeader([
    [TAG.REQUIRENAME, arr(['rpmlib(X)', '/bin/sh', 'libfoo', '(a if b else c)'])],
    [TAG.REQUIREFLAGS, i32([1 << 24 | 8, 1 << 10, 0, 0])],
    [TAG.TRIGGERNAME, arr(['t', 't', 'u'])],
    [TAG.INSTALLTID, i32([0x01020304])],
  ]);
  const rows = (table: string) => indexRows(INDEXES.find((s) => s.table === table)!, h);
  assert.deepEqual(rows('Requirename'), [
    { key: 'libfoo', idx: 2 }, { key: '(a if b else c)', idx: 3 }, { key: 'a', idx: 3 }, { key: 'b', idx: 3 }, { key: 'c', idx: 3 }, { key: '!b', idx: 3 },
  ]);
  assert.deepEqual(rows('Group'), [{ key: 'Unknown', idx: 0 }]);
  assert.deepEqual(rows('Triggername').map((r) => r.key), ['t', 'u']);
  assert.deepEqual(rows('Basenames'), [{ key: 'a', idx: 0 }, { key: 'b', idx: 1 }]);
  assert.deepEqual([...(rows('Installtid')[0]!.key as Uint8Array)], [4, 3, 2, 1]);
});

test('create, add, query, remove; a non-database file is E_RPMDB_CORRUPT naming it', async () => {
  const root = await tempDir('rpmdb-unit');
  try {
    const db = await openRpmdb(root, { create: true });
    let hnum = 0;
    await db.transaction((tx) => {
      hnum = tx.add(mainHeader([[TAG.PROVIDENAME, arr(['cap'])]]));
    });
    assert.deepEqual(db.whatProvides('cap').map((p) => p.hnum), [hnum]);
    assert.deepEqual(db.ownersOf('/d/b').map((p) => p.name), ['x']);
    assert.deepEqual(db.ownersOf('/d//b/').map((p) => p.name), ['x']);
    await db.transaction((tx) => tx.remove(hnum));
    assert.deepEqual([...db.packages()], []);
    await assert.rejects(db.transaction((tx) => tx.remove(hnum)), (e) => isPhotonError(e) && e.code === 'E_RPMDB_NO_PACKAGE');
    db.close();
    const ro = await openRpmdb(root, { readonly: true });
    await assert.rejects(ro.transaction(() => undefined), (e) => isPhotonError(e) && e.code === 'E_RPMDB_READONLY');
    ro.close();
    const file = join(root, 'var/lib/rpm/rpmdb.sqlite');
    const image = await readFile(file);
    image.write('SQLite format 4', 0);
    await writeFile(file, image);
    await assert.rejects(openRpmdb(root), (e) => isPhotonError(e) && e.code === 'E_RPMDB_CORRUPT' && e.file === file);
  } finally {
    await cleanup(root);
  }
});
