// The rpmdb against Debian's rpm 4.18: what rpm writes we read (and index exactly as rpm does),
// what we write rpm queries, verifies and erases; a writer killed at any point leaves the old
// or the new database; damaged databases fail with an error naming the file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import initSqlJs from 'sql.js';
import { readPackageFile } from '../src/rpm/package.ts';
import { buildInstalledHeader, headerFilePaths, openRpmdb } from '../src/rpm/rpmdb.ts';
import { INDEXES, indexRows } from '../src/rpm/_rpmdb_index.ts';
import { isPhotonError } from '../src/util/errors.ts';
import { run } from '../src/util/run.ts';
import { makeGpgKey } from './kit/gpg.ts';
import { buildRpm, hostRpm } from './kit/rpmbuild.ts';
import { cleanup, tempDir } from './kit/tmp.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const hasSqlite3 = spawnSync('sqlite3', ['-version']).status === 0;

let work: string;
let rpms: string[];

before(async () => {
  work = await tempDir('rpmdb');
  rpms = [
    await buildRpm(work, {
      name: 'foo',
      preamble: ['Requires: bar >= 1', 'Requires(post): /bin/sh', 'Provides: fooprov = 2.0', 'Recommends: (baz or qux)',
        'Requires: (libx if liby else libz)', 'Conflicts: oldfoo < 2'],
      install: [
        'mkdir -p $RPM_BUILD_ROOT/etc $RPM_BUILD_ROOT/usr/bin $RPM_BUILD_ROOT/usr/share/foo',
        'echo conf > $RPM_BUILD_ROOT/etc/foo.conf',
        "printf '#!/bin/sh\\necho hi\\n' > $RPM_BUILD_ROOT/usr/bin/foo && chmod 755 $RPM_BUILD_ROOT/usr/bin/foo",
        'ln -s ../../bin/foo $RPM_BUILD_ROOT/usr/share/foo/link',
        'echo data > $RPM_BUILD_ROOT/usr/share/foo/data',
      ],
      files: ['%config(noreplace) /etc/foo.conf', '/usr/bin/foo', '%dir /usr/share/foo', '/usr/share/foo/link', '/usr/share/foo/data'],
      scripts: {
        post: ['echo "post $1" > /tmp/foo-post'], 'triggerin -- bar': ['true'],
        // File triggers fill the Filetriggername/Transfiletriggername indexes (once mis-numbered).
        'filetriggerin -- /usr/share': ['true'], 'transfiletriggerin -- /usr/lib': ['true'],
      },
    }),
    await buildRpm(work, {
      name: 'bar', version: '2.1', release: '3', epoch: 1, arch: 'x86_64',
      preamble: ['Provides: bar', 'Obsoletes: oldbar'],
      install: ['mkdir -p $RPM_BUILD_ROOT/usr/lib/bar', 'echo x > $RPM_BUILD_ROOT/usr/lib/bar/x'],
      files: ['/usr/lib/bar/x'],
    }),
    await buildRpm(work, { name: 'empty', preamble: ['Group: Applications/Test'] }),
  ];
});

after(async () => {
  await cleanup(work);
});

async function rpmInstalledRoot(name: string): Promise<string> {
  const root = join(work, name);
  await hostRpm(root, ['--initdb']);
  await hostRpm(root, ['-i', '--nodeps', '--noscripts', '--notriggers', ...rpms]);
  return root;
}

async function tableRows(file: string): Promise<Map<string, string[]>> {
  const SQL = await initSqlJs();
  const db = new SQL.Database(await readFile(file));
  const out = new Map<string, string[]>();
  for (const spec of INDEXES) {
    const rows = db.exec(`SELECT hex(key), hnum, idx FROM '${spec.table}' ORDER BY hnum, idx, key`)[0]?.values ?? [];
    out.set(spec.table, rows.map((r) => r.join(' ')).sort());
  }
  db.close();
  return out;
}

const hex = (k: string | Uint8Array) => Buffer.from(typeof k === 'string' ? Buffer.from(k, 'utf8') : k).toString('hex').toUpperCase();

describe('rpm writes, we read', () => {
  test('packages, EVRs and file lists equal rpm -qa / -ql', async () => {
    const root = await rpmInstalledRoot('r-read');
    const db = await openRpmdb(root);
    const ours = [...db.packages()].map((p) => `${p.name} ${p.epoch ?? '(none)'} ${p.version} ${p.release} ${p.arch}`).sort();
    const theirs = (await hostRpm(root, ['-qa', '--qf', '%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH}\\n'])).stdout.toString().trim().split('\n').sort();
    assert.deepEqual(ours, theirs);
    for (const p of db.packages()) {
      const ql = (await hostRpm(root, ['-ql', p.name])).stdout.toString().trim();
      assert.deepEqual(headerFilePaths(p.header), ql === '(contains no files)' ? [] : ql.split('\n'), p.name);
    }
    assert.deepEqual(db.whatProvides('fooprov').map((p) => p.name), ['foo']);
    assert.deepEqual(db.whatProvides('/usr/lib/bar/x').map((p) => p.name), ['bar']);
    assert.deepEqual(db.ownersOf('/usr/share/foo/link').map((p) => p.name), ['foo']);
    assert.deepEqual(db.ownersOf('/usr/share/foo').map((p) => p.name), ['foo']);
    assert.deepEqual(db.ownersOf('/usr/share/nope'), []);
    assert.deepEqual(db.whatRequires('bar').map((p) => p.name), ['foo']);
    assert.deepEqual(db.findByName('bar').map((p) => p.epoch), [1]);
    db.close();
  });

  test('query -a prints what rpm -qa prints, gpg-pubkey entries (no arch) included', async () => {
    const root = await rpmInstalledRoot('r-pubkey');
    const key = await makeGpgKey(work, 'query', { algo: 'ed25519' });
    await hostRpm(root, ['--import', key.publicFile]);
    const theirs = (await hostRpm(root, ['-qa'])).stdout.toString().trim().split('\n').sort();
    assert.ok(theirs.some((l) => l.startsWith('gpg-pubkey-')), theirs.join(' '));
    const ours = await run(process.execPath, ['--import', 'tsx', join(repo, 'src/cli/photon.ts'), 'rpm', 'query', '--root', root, '-a'], { cwd: repo });
    assert.deepEqual(ours.stdout.toString().trim().split('\n').sort(), theirs);
  });

  test('our index rows for every table equal the rows rpm wrote', async () => {
    const root = join(work, 'r-read');
    const db = await openRpmdb(root);
    const want = await tableRows(db.file);
    for (const spec of INDEXES) {
      const ours = [...db.packages()].flatMap((p) => indexRows(spec, p.header).map((r) => `${hex(r.key)} ${p.hnum} ${r.idx}`)).sort();
      assert.deepEqual(ours, want.get(spec.table), spec.table);
    }
    db.close();
  });

  test('buildInstalledHeader reproduces the blob rpm stored, byte for byte', async () => {
    const root = join(work, 'r-read');
    const db = await openRpmdb(root);
    for (const file of rpms) {
      const { pkg } = await readPackageFile(file);
      const name = pkg.header.entries.get(1000)!.value as string;
      const installed = db.findByName(name)[0]!;
      const time = (installed.header.entries.get(1008)!.value as number[])[0]!;
      const tid = (installed.header.entries.get(1128)!.value as number[])[0]!;
      const blob = buildInstalledHeader(pkg, { installTime: time, tid });
      assert.equal(Buffer.compare(Buffer.from(blob), Buffer.from(installed.header.raw)), 0, name);
    }
    db.close();
  });
});

describe('we write, rpm reads', () => {
  test('rpm -qa, -qi, -ql, --whatprovides, -qf, -V and -e work on our database', async () => {
    const root = join(work, 'r-write');
    const now = Math.floor(Date.now() / 1000);
    const db = await openRpmdb(root, { create: true });
    await db.transaction(async (tx) => {
      for (const f of rpms) tx.add(buildInstalledHeader((await readPackageFile(f)).pkg, { installTime: now, tid: now }));
    });
    db.close();
    const qa = (await hostRpm(root, ['-qa', '--qf', '%{NEVRA}\\n'])).stdout.toString().trim().split('\n').sort();
    assert.deepEqual(qa, ['bar-1:2.1-3.x86_64', 'empty-1.0-1.noarch', 'foo-1.0-1.noarch']);
    assert.match((await hostRpm(root, ['-qi', 'foo'])).stdout.toString(), /Name\s+: foo[\s\S]*Install Date/);
    assert.equal((await hostRpm(root, ['-ql', 'bar'])).stdout.toString(), '/usr/lib/bar/x\n');
    assert.equal((await hostRpm(root, ['-q', '--whatprovides', 'fooprov'])).stdout.toString(), 'foo-1.0-1.noarch\n');
    assert.equal((await hostRpm(root, ['-qf', '/usr/share/foo/link'])).stdout.toString(), 'foo-1.0-1.noarch\n');
    assert.equal((await hostRpm(root, ['-q', '--whatrequires', 'bar'])).stdout.toString(), 'foo-1.0-1.noarch\n');
    // Files in place as the payload has them: rpm -V finds nothing to report.
    for (const f of rpms) {
      await run('sh', ['-c', `rpm2cpio '${f}' | (cd '${root}' && cpio -idm --quiet)`]);
    }
    const v = await hostRpm(root, ['-V', '--nodeps', '-a'], true);
    assert.equal(v.stdout.toString(), '');
    assert.equal(v.status, 0, v.stderr.toString());
    await hostRpm(root, ['-e', '--justdb', '--nodeps', 'foo']);
    const again = await openRpmdb(root);
    assert.deepEqual([...again.packages()].map((p) => p.name).sort(), ['bar', 'empty']);
    assert.deepEqual(again.ownersOf('/usr/bin/foo'), []);
    // And rpm's own additions after ours read back too.
    again.close();
    await hostRpm(root, ['-i', '--justdb', '--nodeps', '--noscripts', '--notriggers', rpms[0]!]);
    const third = await openRpmdb(root);
    assert.deepEqual([...third.packages()].map((p) => p.name).sort(), ['bar', 'empty', 'foo']);
    third.close();
    if (hasSqlite3) {
      const ic = await run('sqlite3', [join(root, 'var/lib/rpm/rpmdb.sqlite'), 'PRAGMA integrity_check']);
      assert.equal(ic.stdout.toString().trim(), 'ok');
    }
  });

  test('the file is marked WAL as rpm leaves it, and rpm reads it beside a stale -shm', async () => {
    const root = await rpmInstalledRoot('r-shm');
    const db = await openRpmdb(root);
    const bar = db.findByName('bar')[0]!;
    await db.transaction((tx) => tx.remove(bar.hnum));
    db.close();
    const file = join(root, 'var/lib/rpm/rpmdb.sqlite');
    const head = readFileSync(file).subarray(18, 20);
    assert.deepEqual([...head], [2, 2]);
    assert.ok(existsSync(`${file}-shm`));
    const qa = (await hostRpm(root, ['-qa', '--qf', '%{NAME}\\n'])).stdout.toString().trim().split('\n').sort();
    assert.deepEqual(qa, ['empty', 'foo']);
    await hostRpm(root, ['-i', '--justdb', '--nodeps', rpms[1]!]);
    assert.equal((await hostRpm(root, ['-q', 'bar'])).stdout.toString(), 'bar-2.1-3.x86_64\n');
  });

  test('hnums are never reused, as with AUTOINCREMENT in rpm', async () => {
    const root = join(work, 'r-hnum');
    const db = await openRpmdb(root, { create: true });
    const { pkg } = await readPackageFile(rpms[2]!);
    const blob = buildInstalledHeader(pkg, { installTime: 1, tid: 1 });
    let a = 0;
    let b = 0;
    await db.transaction((tx) => {
      a = tx.add(blob);
    });
    await db.transaction((tx) => {
      tx.remove(a);
      b = tx.add(blob);
    });
    assert.ok(b > a);
    db.close();
  });
});

describe('atomicity and concurrency', () => {
  test('a failing transaction leaves the file untouched', async () => {
    const root = await rpmInstalledRoot('r-fail');
    const file = join(root, 'var/lib/rpm/rpmdb.sqlite');
    const before = await readFile(file);
    const db = await openRpmdb(root);
    await assert.rejects(
      db.transaction((tx) => {
        for (const p of [...tx.packages()]) tx.remove(p.hnum);
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    assert.equal([...db.packages()].length, 3);
    db.close();
    assert.equal(Buffer.compare(before, await readFile(file)), 0);
  });

  test('two handles writing at once both land', async () => {
    const root = join(work, 'r-race');
    const first = await openRpmdb(root, { create: true });
    const second = await openRpmdb(root);
    const blobs = await Promise.all(rpms.map(async (f) => buildInstalledHeader((await readPackageFile(f)).pkg, { installTime: 1, tid: 1 })));
    await Promise.all([
      first.transaction((tx) => { tx.add(blobs[0]!); }),
      second.transaction((tx) => { tx.add(blobs[1]!); }),
    ]);
    first.close();
    second.close();
    const db = await openRpmdb(root);
    assert.deepEqual([...db.packages()].map((p) => p.name).sort(), ['bar', 'foo']);
    db.close();
  });

  test('a writer killed at random points leaves the old or the new state', { timeout: 120_000 }, async () => {
    const root = join(work, 'r-kill');
    const db = await openRpmdb(root, { create: true });
    db.close();
    const blobFile = join(work, 'blob.bin');
    await writeFile(blobFile, buildInstalledHeader((await readPackageFile(rpms[0]!)).pkg, { installTime: 1, tid: 1 }));
    const child = join(work, 'writer.mts');
    // Endless transactions of 25 packages each: every state on disk must be a multiple of 25.
    await writeFile(child, [
      `import { readFileSync } from 'node:fs';`,
      `import { openRpmdb } from ${JSON.stringify(join(repo, 'src/rpm/rpmdb.ts'))};`,
      `const blob = readFileSync(${JSON.stringify(blobFile)});`,
      `const db = await openRpmdb(${JSON.stringify(root)});`,
      `process.stdout.write('ready\\n');`,
      `for (;;) await db.transaction((tx) => { for (let i = 0; i < 25; i++) tx.add(blob); });`,
    ].join('\n'));
    let lastCount = 0;
    for (let round = 0; round < 6; round++) {
      const p = spawn(process.execPath, ['--import', 'tsx', child], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
      const ready = await new Promise<boolean>((resolve) => {
        p.stdout.once('data', () => resolve(true));
        p.once('close', () => resolve(false));
      });
      assert.ok(ready, 'the writer did not start');
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 700));
      p.kill('SIGKILL');
      await new Promise((r) => p.once('close', r));
      const check = await openRpmdb(root);
      const count = [...check.packages()].length;
      check.close();
      assert.equal(count % 25, 0, `round ${round}: ${count} packages`);
      assert.ok(count >= lastCount);
      lastCount = count;
      const qa = await hostRpm(root, ['-qa']);
      assert.equal(qa.stdout.toString().trim().split('\n').filter(Boolean).length, count);
    }
    assert.ok(lastCount > 0, 'the writer never committed');
  });
});

describe('damaged databases', () => {
  test('garbage in rpmdb.sqlite is E_RPMDB_CORRUPT naming the file', async () => {
    const root = join(work, 'r-garbage');
    const file = join(root, 'var/lib/rpm/rpmdb.sqlite');
    await openRpmdb(root, { create: true }).then((d) => d.close());
    await writeFile(file, Buffer.alloc(8192, 0x5a));
    await assert.rejects(openRpmdb(root), (e) => isPhotonError(e) && e.code === 'E_RPMDB_CORRUPT' && e.file === file);
  });

  test('a truncated database is refused, naming the file', async () => {
    const root = await rpmInstalledRoot('r-trunc');
    const file = join(root, 'var/lib/rpm/rpmdb.sqlite');
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, 4096 * 3));
    await assert.rejects(async () => {
      const db = await openRpmdb(root);
      [...db.packages()];
    }, (e) => isPhotonError(e) && e.code === 'E_RPMDB_CORRUPT' && e.file === file);
  });

  test('a damaged header blob is E_RPMDB_CORRUPT naming the file and the header', async () => {
    const root = await rpmInstalledRoot('r-blob');
    const file = join(root, 'var/lib/rpm/rpmdb.sqlite');
    const SQL = await initSqlJs();
    const raw = new SQL.Database(await readFile(file));
    raw.run(`UPDATE Packages SET blob = x'000000ff00000010' WHERE hnum = 2`);
    await writeFile(file, raw.export());
    raw.close();
    const db = await openRpmdb(root);
    assert.throws(() => [...db.packages()], (e) => isPhotonError(e) && e.code === 'E_RPMDB_CORRUPT' && e.file === file && /#2/.test(e.message));
    db.close();
  });

  test('missing database without create is E_RPMDB_MISSING', async () => {
    await assert.rejects(openRpmdb(join(work, 'nowhere')), (e) => isPhotonError(e) && e.code === 'E_RPMDB_MISSING');
  });
});

describe('write-ahead log', { skip: !hasSqlite3 && 'sqlite3 not installed' }, () => {
  test('committed transactions left in -wal by a killed writer are read and kept', async () => {
    const root = await rpmInstalledRoot('r-wal');
    const file = join(root, 'var/lib/rpm/rpmdb.sqlite');
    // A writer that commits in WAL mode with checkpoints off, as rpm runs, then dies before close.
    const p = spawn('sqlite3', [file], { stdio: ['pipe', 'pipe', 'inherit'] });
    p.stdin.write(`PRAGMA wal_autocheckpoint = 0;\nDELETE FROM Packages WHERE hnum = 1;\nDELETE FROM Name WHERE hnum = 1;\nSELECT 'done';\n`);
    await new Promise<void>((resolve) => p.stdout.on('data', (b: Buffer) => b.toString().includes('done') && resolve()));
    p.kill('SIGKILL');
    await new Promise((r) => p.once('close', r));
    assert.ok((await stat(`${file}-wal`)).size > 0, 'the writer left a non-empty log');
    const db = await openRpmdb(root);
    const names = [...db.packages()].map((x) => x.name).sort();
    assert.equal(names.length, 2);
    assert.ok(!db.get(1));
    // Our first write folds the log into the database and empties it.
    await db.transaction(() => undefined);
    db.close();
    assert.equal((await stat(`${file}-wal`)).size, 0);
    const qa = (await hostRpm(root, ['-qa', '--qf', '%{NAME}\\n'])).stdout.toString().trim().split('\n').sort();
    assert.deepEqual(qa, names);
    const ic = await run('sqlite3', [file, 'PRAGMA integrity_check']);
    assert.equal(ic.stdout.toString().trim(), 'ok');
  });
});
