import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { dataPath, expectationOf, findData, readRepomd } from './metadata.ts';
import { encodePoolCache, loadPoolCache, savePoolCache } from './pool-cache.ts';
import { loadPrimaryPool, type PackagePool, poolData, StringPool } from './pool.ts';
import { buildProvidesIndex, type ProvidesIndex, providesIndexOf } from './_provides_index.ts';

const XML = (pkgs: string[]): string => `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${pkgs.length}">
${pkgs.join('\n')}
</metadata>`;

const pkg = (name: string, ver: string, extra = ''): string => `<package type="rpm">
  <name>${name}</name><arch>x86_64</arch><version epoch="0" ver="${ver}" rel="1.ph5"/>
  <checksum type="sha256" pkgid="YES">${name}${ver}sum</checksum>
  <summary>The ${name} package é</summary><description>About ${name}.</description>
  <packager>P</packager><url>https://example.org/${name}</url>
  <time file="1700000000" build="1690000000"/><size package="5000000000" installed="123" archive="456"/>
  <location href="RPMS/${name}-${ver}.rpm"/>
  <format>
    <rpm:license>MIT</rpm:license><rpm:sourcerpm>${name}.src.rpm</rpm:sourcerpm>
    <rpm:header-range start="4504" end="9000"/>
    <rpm:provides><rpm:entry name="${name}" flags="EQ" epoch="0" ver="${ver}" rel="1.ph5"/></rpm:provides>
    <rpm:requires><rpm:entry name="glibc" flags="GE" epoch="0" ver="2.36"/><rpm:entry name="/bin/sh" pre="1"/></rpm:requires>
    ${extra}
    <file>/usr/bin/${name}</file><file type="dir">/usr/share/${name}</file><file type="ghost">/var/log/${name}.log</file>
  </format>
</package>`;

let dir: string;
before(async () => {
  dir = await tempDir('pool-cache');
});
after(() => cleanup(dir));

function samePackages(a: PackagePool, b: PackagePool): void {
  assert.equal(b.count, a.count);
  for (let p = 0; p < a.count; p++) assert.deepEqual(b.package(p), a.package(p), `package ${p}`);
}

const bytesOf = (a: Int32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** The provides index a loaded pool came with is the one its columns give. */
function sameProvides(back: PackagePool): void {
  const stored: ProvidesIndex = providesIndexOf(back);
  const built = buildProvidesIndex({ ...poolData(back), count: back.count }, stored.start.length - 1);
  for (const k of ['start', 'pkg', 'evr', 'flags'] as const) assert.ok(bytesOf(stored[k]).equals(bytesOf(built[k])), k);
}

test('the provides index travels with the cache (adopted strings), and is rebuilt when interned', async () => {
  const xml = XML([pkg('a', '1.0', '<rpm:provides><rpm:entry name="virt" flags="EQ" epoch="0" ver="2"/></rpm:provides>'), pkg('b', '2.0'), pkg('c', '3.0')]);
  const path = join(dir, 'prov.pool');
  const src = join(dir, 'prov.xml');
  await writeFile(src, xml);
  await savePoolCache(await loadPrimaryPool(src), path);
  const adopted = (await loadPoolCache(path, new StringPool()))!;
  sameProvides(adopted);
  const shared = new StringPool();
  await loadPoolCache(path, shared);
  const interned = (await loadPoolCache(path, shared))!;
  sameProvides(interned);
});

test('round trip into a shared StringPool keeps ids comparable across repos', async () => {
  const shared = new StringPool();
  const a = await loadPrimaryPool(Buffer.from(XML([pkg('alpha', '1.0', '<rpm:obsoletes><rpm:entry name="old"/></rpm:obsoletes>'), pkg('beta', '2.0')])), { strings: shared });
  const b = await loadPrimaryPool(Buffer.from(XML([pkg('gamma', '3.0')])), { strings: shared });
  const pa = join(dir, 'a.pool');
  const pb = join(dir, 'b.pool');
  await savePoolCache(a, pa, { source: 'sha256:aaa' });
  await savePoolCache(b, pb, { source: 'sha256:bbb' });

  // Load in the other order into a fresh pool that already holds unrelated strings.
  const fresh = new StringPool();
  fresh.internString('unrelated');
  const b2 = await loadPoolCache(pb, fresh, { source: 'sha256:bbb' });
  const a2 = await loadPoolCache(pa, fresh, { source: 'sha256:aaa' });
  assert.ok(a2 && b2);
  samePackages(a, a2);
  samePackages(b, b2);
  // glibc is one id in both pools
  const glibcA = a2.depName(a2.deps(0, 1)[0]!);
  const glibcB = b2.depName(b2.deps(0, 1)[0]!);
  assert.equal(glibcA, glibcB);
  assert.equal(a2.str(glibcA), 'glibc');
  assert.equal(a2.lookup('glibc'), glibcA);
  assert.equal(a2.depFlags(a2.deps(0, 1)[1]!), a.depFlags(a.deps(0, 1)[1]!), 'pre="1" flags kept');
});

test('stale source, other version, corruption: undefined, never trusted', async () => {
  const pool = await loadPrimaryPool(Buffer.from(XML([pkg('alpha', '1.0'), pkg('beta', '2.0')])));
  const path = join(dir, 'c.pool');
  await savePoolCache(pool, path, { source: 'sha256:one' });
  assert.equal(await loadPoolCache(path, new StringPool(), { source: 'sha256:two' }), undefined);
  assert.equal(await loadPoolCache(join(dir, 'missing.pool'), new StringPool()), undefined);
  const good = await readFile(path);
  const headEnd = good.readUInt32LE(56);
  assert.ok(headEnd > 112 && headEnd < good.length, 'the per-package text is a tail of its own');
  // Every single-byte corruption past the magic is refused (a sample of positions, and every
  // header byte): in the head at load; in the tail when a string there is first read, which
  // throws and removes the file so that the next run rebuilds it.
  const positions = new Set<number>();
  for (let at = 8; at < 112; at++) positions.add(at);
  for (let at = 8; at < good.length; at += Math.max(1, Math.floor(good.length / 97))) positions.add(at);
  for (let at = headEnd; at < good.length; at += 29) positions.add(at);
  for (const at of positions) {
    const bad = Buffer.from(good);
    bad[at] = bad[at]! ^ 0x5a;
    await writeFile(path, bad);
    const back = await loadPoolCache(path, new StringPool(), { source: 'sha256:one' });
    // The tail's own digest (header bytes 84 … 103) is checked with the tail.
    if (at < headEnd && !(at >= 84 && at < 104)) {
      assert.equal(back, undefined, `byte ${at}`);
      continue;
    }
    assert.ok(back, `byte ${at} (tail): loads`);
    assert.throws(() => back.package(1), /package cache changed or is damaged/, `byte ${at} (tail)`);
    assert.equal(existsSync(path), false, `byte ${at}: removed`);
    // Into a pool that already holds strings, the tail is read at once.
    await writeFile(path, bad);
    const shared = new StringPool();
    shared.internString('x');
    await assert.rejects(loadPoolCache(path, shared, { source: 'sha256:one' }), /damaged/, `byte ${at} (tail, interned)`);
  }
  // Strings added after the load (the installed set's) are not in the tail: asking for one
  // does not read it, and so does not trip over a damaged one.
  {
    const bad = Buffer.from(good);
    bad[good.length - 9] = bad[good.length - 9]! ^ 0x5a;
    await writeFile(path, bad);
    const strings = new StringPool();
    const back = (await loadPoolCache(path, strings, { source: 'sha256:one' }))!;
    const fresh = strings.internString('installed-only');
    assert.equal(strings.str(fresh), 'installed-only');
    assert.equal(back.str(back.name(0)), 'alpha', 'names are in the head');
    assert.throws(() => back.package(1), /damaged/);
  }
  // A good tail read later: the summaries are there.
  await writeFile(path, good);
  const lazy = (await loadPoolCache(path, new StringPool(), { source: 'sha256:one' }))!;
  assert.equal(lazy.package(1).summary, 'The beta package é');
  await writeFile(path, good.subarray(0, good.length - 3));
  assert.equal(await loadPoolCache(path, new StringPool()), undefined, 'truncated');
  await writeFile(path, Buffer.alloc(10));
  assert.equal(await loadPoolCache(path, new StringPool()), undefined, 'short');
  await writeFile(path, good);
  assert.ok(await loadPoolCache(path, new StringPool(), { source: 'sha256:one' }));
});

test('an empty pool round-trips', async () => {
  const pool = await loadPrimaryPool(Buffer.from(XML([])));
  const path = join(dir, 'e.pool');
  await savePoolCache(pool, path);
  const back = await loadPoolCache(path, new StringPool());
  assert.equal(back?.count, 0);
});

const BIG = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'photon-bench', 'bigrepo', 'repodata', 'repomd.xml');
test('the benchmark repository (Debian bookworm, 63,440 packages) round-trips', { skip: !existsSync(BIG) && 'no ~/.cache/photon-bench/bigrepo' }, async () => {
  const repomd = await readRepomd(BIG);
  const primary = findData(repomd, 'primary')!;
  let t = performance.now();
  const pool = await loadPrimaryPool(dataPath(BIG, primary), { expect: expectationOf(primary) });
  const xmlMs = performance.now() - t;
  const path = join(dir, 'big.pool');
  t = performance.now();
  const bytes = encodePoolCache(pool, { source: primary.checksum.value });
  await writeFile(path, bytes);
  const saveMs = performance.now() - t;
  const times: number[] = [];
  let back: PackagePool | undefined;
  for (let i = 0; i < 3; i++) {
    t = performance.now();
    back = await loadPoolCache(path, new StringPool(), { source: primary.checksum.value });
    times.push(performance.now() - t);
  }
  assert.ok(back);
  samePackages(pool, back);
  sameProvides(back);
  // Figures for the report, not assertions: machines differ.
  console.log(`# bench pool: ${pool.count} packages, cache ${(bytes.length / 1e6).toFixed(1)} MB; XML load ${xmlMs.toFixed(0)} ms, save ${saveMs.toFixed(0)} ms, cache load ${times.map((x) => x.toFixed(0)).join('/')} ms`);
});
