import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StringPool } from '../src/repo/pool.ts';
import { clean } from '../src/tdnf/commands/clean.ts';
import { makecache } from '../src/tdnf/commands/makecache.ts';
import { repolist } from '../src/tdnf/commands/repolist.ts';
import { loadConfig, type LoadConfigOptions } from '../src/tdnf/config.ts';
import { TDNF } from '../src/tdnf/errors.ts';
import { loadRepos, POOL_CACHE_FILE, repoPackagesDir } from '../src/tdnf/repos.ts';
import { run } from '../src/util/run.ts';
import { gpg, makeGpgKey } from './kit/gpg.ts';
import { buildRpm } from './kit/rpmbuild.ts';
import { type LoopbackServer, closedPort as closedPortFn, serveLoopback } from './kit/http.ts';
import { rejectsTdnfCode } from './kit/tdnf.ts';
import { cleanup, tempDir } from './kit/tmp.ts';

let dir: string;
let repoDir: string;
let web: LoopbackServer | undefined;
let base: string;
let closedPort: number;
const hits: string[] = [];
let alterPrimary = false;
let goodKey: string;
let badKey: string;

before(async () => {
  dir = await tempDir('tdnf-repos');
  repoDir = join(dir, 'repo');
  await mkdir(repoDir);
  for (const [name, version] of [['alpha', '1.0'], ['beta', '2.0']] as const) {
    await copyFile(await buildRpm(dir, { name, version, files: [] }), join(repoDir, `${name}-${version}-1.noarch.rpm`));
  }
  await run('createrepo_c', ['--quiet', repoDir]);
  const k = await makeGpgKey(dir, 'repo');
  const other = await makeGpgKey(dir, 'other');
  await gpg(k.home, ['--armor', '--detach-sign', '--output', join(repoDir, 'repodata/repomd.xml.asc'), join(repoDir, 'repodata/repomd.xml')]);
  goodKey = k.publicFile;
  badKey = other.publicFile;
  const repomd = await readFile(join(repoDir, 'repodata/repomd.xml'));
  await writeFile(join(dir, 'metalink.xml'), `<?xml version="1.0"?><metalink version="3.0"><files><file name="repomd.xml">
<verification><hash type="sha256">${createHash('sha256').update(repomd).digest('hex')}</hash></verification>
<resources><url preference="100">http://127.0.0.1:PORT/repo/repodata/repomd.xml</url></resources></file></files></metalink>`);

  web = await serveLoopback(async (req, res) => {
    const url = decodeURIComponent(req.url ?? '');
    hits.push(url);
    if (url.startsWith('/auth/') && req.headers.authorization !== 'Basic ' + Buffer.from('u:p').toString('base64')) {
      res.writeHead(401);
      res.end();
      return;
    }
    if (url === '/metalink') {
      res.end((await readFile(join(dir, 'metalink.xml'), 'utf8')).replace('PORT', new URL(web!.base).port));
      return;
    }
    const rel = url.replace(/^\/(auth\/)?repo\//, '');
    try {
      let body = await readFile(join(repoDir, rel));
      if (alterPrimary && rel.includes('primary')) body = Buffer.concat([body.subarray(0, body.length - 1), Buffer.from([body[body.length - 1]! ^ 1])]);
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  base = web.base;
  closedPort = await closedPortFn();
});
after(async () => {
  await web?.close();
  await cleanup(dir);
});

let n = 0;
/** A fresh config root with one .repo file. */
async function config(repo: string, opts: LoadConfigOptions = {}, main = ''): Promise<Awaited<ReturnType<typeof loadConfig>>> {
  const root = join(dir, `cfg${n++}`);
  await mkdir(join(root, 'repos.d'), { recursive: true });
  await writeFile(join(root, 'tdnf.conf'), `[main]\nreposdir=${root}/repos.d\ncachedir=${root}/cache\n${main}`);
  await writeFile(join(root, 'repos.d', 'test.repo'), repo.replace(/@BASE@/g, base).replace(/@CLOSED@/g, `http://127.0.0.1:${closedPort}`));
  return loadConfig({ configFile: join(root, 'tdnf.conf'), ...opts });
}


const names = (r: { pool: { count: number; nevra(p: number): string } }): string[] => Array.from({ length: r.pool.count }, (_, p) => r.pool.nevra(p)).sort();

describe('loadRepos', () => {
  test('refresh, tdnf cache layout, reuse without downloads, metadata_expire, --refresh', async () => {
    const cfg = await config('[t]\nname=Test $basearch\nbaseurl=@BASE@/repo\nenabled=1\ngpgcheck=0\nmetadata_expire=1h\n');
    hits.length = 0;
    const [r] = await loadRepos(cfg, new StringPool());
    assert.deepEqual(names(r!), ['alpha-1.0-1.noarch', 'beta-2.0-1.noarch']);
    const url = `${base}/repo`;
    assert.equal(r!.cacheDir, join(cfg.cachedir, `t-${createHash('sha256').update(url).digest('hex').slice(0, 8)}`));
    assert.ok((await stat(join(r!.cacheDir, 'lastrefresh'))).isFile());
    assert.ok((await stat(join(r!.cacheDir, POOL_CACHE_FILE))).isFile());
    assert.ok(r!.filelistsPath && r!.otherPath);
    assert.ok(hits.includes('/repo/repodata/repomd.xml'));
    const first = hits.length;
    // second run: nothing downloaded, the pool from the binary cache
    const events: string[] = [];
    const [r2] = await loadRepos(cfg, new StringPool(), { onProgress: (e) => events.push(e.type === 'cache' ? `cache:${e.fromCache}` : e.type) });
    assert.equal(hits.length, first, 'no request on reuse');
    assert.deepEqual(events, ['cache:true']);
    assert.deepEqual(names(r2!), names(r!));
    // expired marker → repomd.xml again, but unchanged, so nothing else
    const old = new Date(Date.now() - 2 * 3600 * 1000);
    await utimes(join(r!.cacheDir, 'lastrefresh'), old, old);
    hits.length = 0;
    await loadRepos(cfg, new StringPool());
    assert.deepEqual(hits, ['/repo/repodata/repomd.xml']);
    hits.length = 0;
    await loadRepos(cfg, new StringPool(), { refresh: true });
    assert.deepEqual(hits, ['/repo/repodata/repomd.xml']);
    // -C: no requests even with --refresh
    hits.length = 0;
    await loadRepos(cfg, new StringPool(), { cacheonly: true, refresh: true });
    assert.deepEqual(hits, []);
  });

  test('-C without a cache → 1034', async () => {
    const cfg = await config('[t]\nbaseurl=@BASE@/repo\nenabled=1\n');
    await rejectsTdnfCode(loadRepos(cfg, new StringPool(), { cacheonly: true }), TDNF.CACHE_DISABLED);
  });

  test('mirror fallback: closed port, then a 404, then the repo', async () => {
    const cfg = await config('[t]\nbaseurl=@CLOSED@/repo @BASE@/nothing\n  @BASE@/repo\nenabled=1\n');
    const [r] = await loadRepos(cfg, new StringPool());
    assert.equal(r!.pool.count, 2);
  });

  test('an altered primary → 2501, skip_if_unavailable skips', async () => {
    alterPrimary = true;
    try {
      const cfg = await config('[t]\nbaseurl=@BASE@/repo\nenabled=1\n');
      await rejectsTdnfCode(loadRepos(cfg, new StringPool()), TDNF.CHECKSUM_VALIDATION_FAILED);
      const skip = await config('[t]\nbaseurl=@BASE@/repo\nenabled=1\nskip_if_unavailable=1\n');
      const skipped: string[] = [];
      assert.deepEqual(await loadRepos(skip, new StringPool(), { onProgress: (e) => e.type === 'skipped' && skipped.push(e.repo) }), []);
      assert.deepEqual(skipped, ['t']);
    } finally {
      alterPrimary = false;
    }
  });

  test('unreachable repo → 404 error as tdnf words it', async () => {
    const cfg = await config('[t]\nbaseurl=@BASE@/nothing\nenabled=1\n');
    await rejectsTdnfCode(loadRepos(cfg, new StringPool()), TDNF.INVALID_PARAMETER, /404 when downloading/);
  });

  test('repo_gpgcheck: good key passes, another key fails', async () => {
    const good = await config(`[t]\nbaseurl=@BASE@/repo\nenabled=1\nrepo_gpgcheck=1\ngpgkey=file://${goodKey}\n`);
    assert.equal((await loadRepos(good, new StringPool()))[0]!.pool.count, 2);
    const bad = await config(`[t]\nbaseurl=@BASE@/repo\nenabled=1\nrepo_gpgcheck=1\ngpgkey=file://${badKey}\n`);
    await rejectsTdnfCode(loadRepos(bad, new StringPool()), TDNF.RPM_GPG_NO_MATCH);
    const none = await config(`[t]\nbaseurl=@BASE@/repo\nenabled=1\nrepo_gpgcheck=1\n`);
    await rejectsTdnfCode(loadRepos(none, new StringPool()), TDNF.NO_GPGKEY_CONF_ENTRY);
  });

  test('Basic auth from username/password', async () => {
    const noauth = await config('[t]\nbaseurl=@BASE@/auth/repo\nenabled=1\n');
    await rejectsTdnfCode(loadRepos(noauth, new StringPool()), TDNF.INVALID_PARAMETER, /401/);
    const cfg = await config('[t]\nbaseurl=@BASE@/auth/repo\nenabled=1\nusername=u\npassword=p\n');
    assert.equal((await loadRepos(cfg, new StringPool()))[0]!.pool.count, 2);
  });

  test('metalink: base URLs from it, repomd.xml checked against its hash', async () => {
    const cfg = await config('[t]\nmetalink=@BASE@/metalink\nenabled=1\n');
    const [r] = await loadRepos(cfg, new StringPool());
    assert.deepEqual(r!.baseUrls, [`${base}/repo`]);
    assert.ok(r!.cacheDir.endsWith(`t-${createHash('sha256').update(`${base}/metalink`).digest('hex').slice(0, 8)}`));
    assert.ok((await stat(join(r!.cacheDir, 'metalink'))).isFile());
  });

  test('vars in baseurl', async () => {
    const cfg = await config('[t]\nbaseurl=@BASE@/$myrepo\nenabled=1\n', {}, `varsdir=${dir}/vars\n`);
    await mkdir(join(dir, 'vars'), { recursive: true });
    await writeFile(join(dir, 'vars', 'myrepo'), 'repo\n');
    const cfg2 = await loadConfig({ configFile: cfg.configFile });
    assert.equal(cfg2.repos[0]!.baseurl[0], `${base}/repo`);
    assert.equal((await loadRepos(cfg2, new StringPool()))[0]!.pool.count, 2);
  });
});

describe('commands', () => {
  test('repolist, makecache, clean', async () => {
    const cfg = await config('[t]\nname=Test\nbaseurl=@BASE@/repo\nenabled=1\n[off]\nbaseurl=@BASE@/x\n');
    assert.deepEqual(repolist(cfg, 'all'), [{ id: 't', name: 'Test', enabled: true }, { id: 'off', name: 'off', enabled: false }]);
    assert.deepEqual(repolist(cfg), [{ id: 't', name: 'Test', enabled: true }]);
    assert.deepEqual(repolist(cfg, 'disabled').map((r) => r.id), ['off']);
    const [r] = await makecache(cfg);
    hits.length = 0;
    await makecache(cfg);
    assert.deepEqual(hits, ['/repo/repodata/repomd.xml'], 'makecache always refreshes repomd.xml');
    await mkdir(repoPackagesDir(cfg, 't'), { recursive: true });
    await clean(cfg, 'expire-cache');
    await assert.rejects(stat(join(r!.cacheDir, 'lastrefresh')));
    await clean(cfg, 'dbcache');
    await assert.rejects(stat(join(r!.cacheDir, POOL_CACHE_FILE)));
    await clean(cfg, 'packages');
    await assert.rejects(stat(repoPackagesDir(cfg, 't')));
    const res = await clean(cfg, 'all');
    assert.deepEqual(res.reposUsed, ['t']);
    assert.deepEqual(await readdir(cfg.cachedir), []);
    await rejectsTdnfCode(clean(cfg, 'bogus' as 'all'), TDNF.CLEAN_UNSUPPORTED);
    const none = await config('[off]\nbaseurl=@BASE@/x\n');
    await rejectsTdnfCode(makecache(none), TDNF.NO_ENABLED_REPOS);
  });
});
