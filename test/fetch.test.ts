import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fetchAll, fetchFile, parseMetalink, parseMirrorlist } from '../src/repo/fetch.ts';
import { TDNF, TdnfError } from '../src/tdnf/errors.ts';
import { type LoopbackServer, closedPort as closedPortFn, serveLoopback } from './kit/http.ts';
import { rejectsTdnfCode } from './kit/tdnf.ts';
import { cleanup, tempDir } from './kit/tmp.ts';

const BODY = Buffer.from('hello repository\n'.repeat(1000));
const SHA = createHash('sha256').update(BODY).digest('hex');

let dir: string;
let web: LoopbackServer;
let base: string;
let closedPort: number;
const hits: string[] = [];
let flaky = 0;

before(async () => {
  dir = await tempDir('fetch');
  web = await serveLoopback((req, res) => {
    const url = req.url ?? '';
    hits.push(url);
    if (url.startsWith('http://')) {
      // a proxy request (absolute URI): serve it as the origin would
      res.setHeader('x-via-proxy', '1');
      res.end(BODY);
      return;
    }
    if (url === '/file') res.end(BODY);
    else if (url === '/altered') res.end(Buffer.concat([BODY.subarray(1), Buffer.from('X')]));
    else if (url === '/redirect') {
      res.writeHead(302, { location: '/file' });
      res.end();
    } else if (url === '/auth') {
      if (req.headers.authorization !== 'Basic ' + Buffer.from('user:secret').toString('base64')) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' });
        res.end();
      } else res.end(BODY);
    } else if (url === '/flaky') {
      if (flaky++ < 2) {
        res.writeHead(503);
        res.end();
      } else res.end(BODY);
    } else if (url === '/slow') {
      res.writeHead(200, { 'content-length': String(BODY.length) });
      res.write(BODY.subarray(0, 10));
      // never finishes
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  base = web.base;
  // a port with nothing listening
  closedPort = await closedPortFn();
});
after(async () => {
  await web.close();
  await cleanup(dir);
});


const expect = { type: 'sha256', value: SHA };

describe('fetchFile', () => {
  test('http with checksum, atomic (no temp files left)', async () => {
    const dest = join(dir, 'a', 'out');
    const r = await fetchFile([`${base}/file`], dest, { expect, size: BODY.length });
    assert.equal(r.size, BODY.length);
    assert.deepEqual(await readFile(dest), BODY);
    assert.deepEqual(await readdir(join(dir, 'a')), ['out']);
  });

  test('file:// and plain paths', async () => {
    const src = join(dir, 'src.bin');
    await writeFile(src, BODY);
    await fetchFile([`file://${src}`], join(dir, 'f1'), { expect });
    await fetchFile([src], join(dir, 'f2'), { expect });
    assert.deepEqual(await readFile(join(dir, 'f2')), BODY);
    await rejectsTdnfCode(fetchFile([join(dir, 'missing')], join(dir, 'f3')), 1238);
  });

  test('checksum mismatch → 2501, and the old file is kept', async () => {
    const dest = join(dir, 'keep');
    await writeFile(dest, 'old');
    await rejectsTdnfCode(fetchFile([`${base}/altered`], dest, { expect }), TDNF.CHECKSUM_VALIDATION_FAILED, /checksum mismatch/);
    assert.equal(await readFile(dest, 'utf8'), 'old');
  });

  test('mirror fallback: closed port, 404, altered, then a good one', async () => {
    hits.length = 0;
    const dest = join(dir, 'mirror');
    const r = await fetchFile([`http://127.0.0.1:${closedPort}/file`, `${base}/nothing`, `${base}/altered`, `${base}/file`], dest, { expect });
    assert.equal(r.url, `${base}/file`);
    assert.deepEqual(hits, ['/nothing', '/altered', '/file']);
  });

  test('errors as tdnf codes them', async () => {
    await rejectsTdnfCode(fetchFile([`${base}/nothing`], join(dir, 'x')), TDNF.INVALID_PARAMETER, /Error: 404 when downloading .*\/nothing\. Please check repo url/);
    await rejectsTdnfCode(fetchFile([`http://127.0.0.1:${closedPort}/x`], join(dir, 'x')), 1208);
    await rejectsTdnfCode(fetchFile(['ftp://example.org/x'], join(dir, 'x')), 1202);
    await rejectsTdnfCode(fetchFile([`${base}/slow`], join(dir, 'x'), { timeoutMs: 200 }), 1229);
  });

  test('retries with backoff on 5xx', async () => {
    flaky = 0;
    await rejectsTdnfCode(fetchFile([`${base}/flaky`], join(dir, 'fl'), { retries: 1, backoffMs: 10 }), TDNF.INVALID_PARAMETER, /503/);
    flaky = 0;
    await fetchFile([`${base}/flaky`], join(dir, 'fl'), { retries: 2, backoffMs: 10, expect });
  });

  test('Basic auth, from options or the URL', async () => {
    await rejectsTdnfCode(fetchFile([`${base}/auth`], join(dir, 'au')), TDNF.INVALID_PARAMETER, /401/);
    await fetchFile([`${base}/auth`], join(dir, 'au'), { username: 'user', password: 'secret', expect });
    const u = new URL(`${base}/auth`);
    u.username = 'user';
    u.password = 'secret';
    await fetchFile([u.href], join(dir, 'au2'), { expect });
  });

  test('redirects are followed', async () => {
    await fetchFile([`${base}/redirect`], join(dir, 'rd'), { expect });
  });

  test('http proxy gets the absolute URI', async () => {
    hits.length = 0;
    await fetchFile(['http://repo.invalid/some/file'], join(dir, 'px'), { proxy: base, expect });
    assert.deepEqual(hits, ['http://repo.invalid/some/file']);
  });

  test('progress reports bytes', async () => {
    let last = 0;
    await fetchFile([`${base}/file`], join(dir, 'pg'), { onProgress: (n) => (last = n) });
    assert.equal(last, BODY.length);
  });
});

test('fetchAll keeps order and stops on failure', async () => {
  const items = Array.from({ length: 6 }, (_, i) => ({ urls: [`${base}/file`], dest: join(dir, 'all', `f${i}`), opts: { expect } }));
  const r = await fetchAll(items, { parallel: 3 });
  assert.equal(r.length, 6);
  assert.ok(r.every((x) => x.size === BODY.length));
  await rejectsTdnfCode(fetchAll([...items, { urls: [`${base}/nothing`], dest: join(dir, 'all', 'bad') }], { parallel: 2 }), TDNF.INVALID_PARAMETER);
});

test('metalink and mirrorlist parsing', () => {
  const ml = parseMetalink(`<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/">
 <files>
  <file name="repomd.xml">
   <size>3094</size>
   <verification>
    <hash type="md5">20b6d77930574ae541108e8e7a0d2a2e</hash>
    <hash type="sha256">${SHA}</hash>
   </verification>
   <resources maxconnections="1">
    <url protocol="https" type="https" location="US" preference="90">https://b.example.org/repo/repodata/repomd.xml</url>
    <url protocol="https" type="https" location="US" preference="100">https://a.example.org/repo/repodata/repomd.xml?x=1&amp;y=2</url>
    <url protocol="rsync" type="rsync" preference="100">rsync://c.example.org/repo/repodata/repomd.xml</url>
   </resources>
  </file>
 </files>
</metalink>`);
  assert.deepEqual(ml.urls, ['https://a.example.org/repo/repodata/repomd.xml?x=1&y=2', 'https://b.example.org/repo/repodata/repomd.xml']);
  assert.equal(ml.size, 3094);
  assert.deepEqual(ml.hashes.map((h) => h.type), ['md5', 'sha256']);
  assert.throws(() => parseMetalink('<metalink/>'), (e: TdnfError) => e.code === TDNF.METALINK_RESOURCE_VALIDATION_FAILED);
  assert.deepEqual(parseMirrorlist('# mirrors\nhttp://a/x\n\n  http://b/y  \n'), ['http://a/x', 'http://b/y']);
});
