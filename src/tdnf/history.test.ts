// history.db round trips in C tdnf's schema; changes made by plain rpm are picked up as an
// "(unknown)" transaction; the rpmdb cookie agrees with rpm's own (python3-rpm's dbCookie).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openHistory, readRpmdbState } from './history.ts';
import { run } from '../util/run.ts';
import { buildRpm, hostRpm } from '../../test/kit/rpmbuild.ts';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';

let work: string;
const P: Record<string, string> = {};
before(async () => {
  work = await tempDir('tdnf-history');
  for (const [k, name, version] of [['a1', 'a', '1'], ['a2', 'a', '2'], ['b1', 'b', '1'], ['c1', 'c', '1']] as const) {
    P[k] = await buildRpm(work, { name, version, ...(k === 'c1' ? { epoch: 3 } : {}) });
  }
});
after(async () => {
  await cleanup(work);
});

const rpm = (root: string, args: string[]) => hostRpm(root, ['--nodeps', '--noscripts', '--justdb', ...args]);

test('base, tdnf deltas, rpm-made changes, auto flags, rollback/undo/redo sets; sqlite3 reads the file', async () => {
  const root = join(work, 'r1');
  await mkdir(root, { recursive: true });
  await rpm(root, ['-i', P.a1!]);
  const h = await openHistory(root, '/var/lib/tdnf', { dbpath: '/var/lib/rpm' });
  await h.syncWithRpmdb();
  assert.deepEqual(h.listTransactions().map((t) => [t.id, t.type, t.cmdline, t.added]), [[1, 0, '(set)', ['a-1-1.noarch']]]);
  // A tdnf transaction: install b (user) and c (dependency).
  await rpm(root, ['-i', P.b1!, P.c1!]);
  const id = await h.recordTransaction({ cmdline: 'install b', autoFlags: new Map([['b', false], ['c', true]]) });
  assert.equal(id, 2);
  assert.deepEqual(h.transactionInfo(2).added.sort(), ['b-1-1.noarch', 'c-3:1-1.noarch']);
  assert.deepEqual([...h.userInstalled()].sort(), ['a', 'b']);
  // rpm upgrades a behind tdnf's back.
  await rpm(root, ['-U', P.a2!]);
  h.close();
  const h2 = await openHistory(root, '/var/lib/tdnf', { dbpath: '/var/lib/rpm' });
  await h2.syncWithRpmdb();
  const t3 = h2.transactionInfo(3);
  assert.deepEqual([t3.cmdline, t3.added, t3.removed], ['(unknown)', ['a-2-1.noarch'], ['a-1-1.noarch']]);
  // Nothing changed: no new transaction.
  await h2.syncWithRpmdb();
  assert.equal(h2.listTransactions().length, 3);
  const back = h2.deltaTo(1);
  assert.deepEqual([back.install, back.erase.sort()], [['a-1-1.noarch'], ['a-2-1.noarch', 'b-1-1.noarch', 'c-3:1-1.noarch']]);
  const undo = h2.inverse(2);
  assert.deepEqual([undo.install, undo.erase.sort()], [[], ['b-1-1.noarch', 'c-3:1-1.noarch']]);
  assert.deepEqual(h2.redo(3), { install: ['a-2-1.noarch'], erase: ['a-1-1.noarch'] });
  await h2.setAutoInstalled(['a'], true);
  assert.deepEqual([...h2.userInstalled()], ['b']);
  await h2.setAutoInstalled(['c'], false);
  assert.deepEqual([...h2.userInstalled()].sort(), ['b', 'c']);
  h2.close();

  const file = join(root, 'var/lib/tdnf/history.db');
  const q = async (sql: string) => (await run('sqlite3', [file, sql])).stdout.toString().trim();
  assert.match(await q('.schema transactions'), /transactions\(Id INTEGER PRIMARY KEY AUTOINCREMENT,cookie TEXT, cmdline TEXT,timestamp INTEGER, type INTEGER\)/);
  assert.equal(await q('SELECT count(*) FROM trans_items WHERE trans_id = 3'), '2');
  assert.equal(await q("SELECT value FROM flag_set JOIN names ON names.Id = name_id WHERE name = 'c' ORDER BY flag_set.Id"), '1\n0');
});

test('the rpmdb cookie is rpm\'s', { skip: !existsSync('/usr/lib/python3/dist-packages/rpm') && 'needs python3-rpm' }, async () => {
  const root = join(work, 'r2');
  await mkdir(root, { recursive: true });
  await rpm(root, ['-i', P.b1!, P.a1!, P.c1!]);
  await rpm(root, ['-e', 'b']);
  const py = `import rpm\nrpm.addMacro('_dbpath','/var/lib/rpm')\nts=rpm.TransactionSet(${JSON.stringify(root)})\nts.openDB()\nprint(ts.dbCookie())`;
  const theirs = (await run('/usr/bin/python3', ['-c', py])).stdout.toString().trim();
  assert.equal((await readRpmdbState(root, '/var/lib/rpm')).cookie, theirs);
});
