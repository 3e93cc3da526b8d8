/**
 * Cross-tool tests: packages we write must satisfy Debian's rpm 4.18 (rpm -K, rpm -qp, rpm2cpio),
 * and packages rpmbuild writes, in every payload compression, must read back through ours with
 * the same query output and the same file contents as rpm2cpio extracts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdir, mkdtemp, readFile, symlink, writeFile, link, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../src/util/run.ts';
import { isPhotonError } from '../src/util/errors.ts';
import { type Header, TagType } from '../src/formats/rpm-header.ts';
import { packRpm, type PackSpec } from '../src/rpm/pack.ts';
import { type PackageFile, packageFiles, readPackage, readPackageFile, verifyDigests } from '../src/rpm/package.ts';
import { formatQuery, queryJson } from '../src/rpm/query-format.ts';
import { tagName } from '../src/rpm/tags.ts';
import { buildRpm, FEATURE_SPEC } from './kit/rpmbuild.ts';
import { cleanup, tempDir } from './kit/tmp.ts';

const PHOTON = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'bin', 'photon.js');
const QUERIES: [string, Parameters<typeof formatQuery>[1]][] = [
  ['', {}], ['-i', { info: true }], ['-l', { list: true }], ['-R', { requires: true }],
  ['--provides', { provides: true }], ['--scripts', { scripts: true }], ['--changelog', { changelog: true }],
];

async function rpmq(file: string, ...args: string[]): Promise<string> {
  return (await run('rpm', ['-qp', ...args, file], { env: { ...process.env, LC_ALL: 'C' } })).stdout.toString();
}

async function collectFiles(file: string): Promise<PackageFile[]> {
  const { pkg, bytes } = await readPackageFile(file);
  const out: PackageFile[] = [];
  for await (const f of packageFiles(pkg, bytes)) out.push(f);
  return out;
}

/** rpm2cpio | cpio -idm into a fresh directory. */
async function extractWithRpm(file: string, dir: string): Promise<void> {
  const cpio = (await run('rpm2cpio', [file])).stdout;
  await run('cpio', ['-idm', '--quiet', '--no-absolute-filenames'], { cwd: dir, input: cpio });
}

let work: string;
before(async () => {
  work = await tempDir('rpmpkg');
});
after(async () => {
  await cleanup(work);
});

async function makeTree(root: string): Promise<void> {
  await mkdir(join(root, 'etc/hello'), { recursive: true });
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  await mkdir(join(root, 'usr/share/doc/hello'), { recursive: true });
  await mkdir(join(root, 'var/lib/hello'), { recursive: true });
  await writeFile(join(root, 'etc/hello/hello.conf'), 'greeting=hi\n');
  await writeFile(join(root, 'etc/hello/other.conf'), 'x=1\n');
  await writeFile(join(root, 'usr/bin/hello'), '#!/bin/sh\necho hello\n');
  await chmod(join(root, 'usr/bin/hello'), 0o755);
  await link(join(root, 'usr/bin/hello'), join(root, 'usr/bin/hello-hard'));
  await symlink('hello', join(root, 'usr/bin/hi'));
  await writeFile(join(root, 'usr/share/doc/hello/README'), 'read me\n');
  await writeFile(join(root, 'var/lib/hello/state'), '');
}

function ourSpec(root: string, compression: 'zstd' | 'gzip' | 'none'): PackSpec {
  return {
    name: 'hello', version: '1.2.3', release: '4.ph5', epoch: 2, arch: 'noarch', summary: 'Say hello',
    description: 'A friendly\npackage.', license: 'Apache-2.0', url: 'https://example.org/hello', group: 'Applications/Text',
    vendor: 'VMware', packager: 'Photon <photon@example.org>', buildHost: 'builder', buildTime: 1700000000, root,
    requires: ['bash >= 4.0', 'pre: shadow-utils', 'post,postun: /sbin/ldconfig', '(python3 or python2)', 'glibc'],
    provides: ['greeter = 1.0', 'hello-api'], conflicts: ['hello-old < 1.0'], obsoletes: ['hi <= 0.9'],
    recommends: ['cowsay'], suggests: ['(figlet if toilet)'], supplements: ['(hello-lang and hello)'], enhances: ['bash'],
    config: ['/etc/hello/other.conf'], configNoreplace: ['/etc/hello/hello.conf'], doc: ['/usr/share/doc/hello/README'],
    ghost: ['/var/lib/hello/state'], owners: { '/etc/hello/hello.conf': { user: 'nobody', group: 'nogroup' } },
    scripts: {
      pre: { body: 'getent group hello >/dev/null || groupadd -r hello\nexit 0' },
      post: { body: '', interpreter: '/sbin/ldconfig' },
      preun: { body: 'print("bye")', interpreter: '<lua>' },
      postun: { body: 'echo "$1"', interpreter: '/bin/bash' },
      pretrans: { body: 'print("pretrans")', interpreter: '<lua>' },
      posttrans: { body: 'echo done' },
    },
    changelog: [
      { time: 1704196800, name: 'B Person <b@example.org> - 2:1.2.3-4.ph5', text: '- second\n- more' },
      { time: 1704110400, name: 'A Person <a@example.org> - 1.0-1', text: '- first' },
    ],
    compression,
  };
}

describe('packages written by packRpm, checked with rpm 4.18', () => {
  for (const compression of ['zstd', 'gzip', 'none'] as const) {
    test(`${compression}: rpm -K, rpm -qp queries, --qf of every tag, rpm2cpio list and contents`, async () => {
      const root = join(work, `tree-${compression}`);
      await makeTree(root);
      const file = join(work, `hello-${compression}.rpm`);
      await writeFile(file, await packRpm(ourSpec(root, compression)));

      assert.match((await run('rpm', ['-K', '--nosignature', file])).stdout.toString(), /digests OK/);
      assert.match((await run('rpm', ['-K', file])).stdout.toString(), /digests OK/);
      assert.match((await run('rpm', ['-Kv', file])).stdout.toString(), /Payload SHA256 digest: OK/);

      const { pkg, bytes } = await readPackageFile(file);
      assert.deepEqual(verifyDigests(pkg, bytes), { header: 'ok', payload: 'ok' });
      for (const [opt, sel] of QUERIES) {
        const args = opt ? [opt] : [];
        assert.equal(formatQuery(pkg.header, sel, pkg.signature), await rpmq(file, ...args), `rpm -qp ${opt}`);
      }
      await compareEveryTag(file, pkg.header);

      const listed = (await run('cpio', ['-t', '--quiet'], { input: (await run('rpm2cpio', [file])).stdout })).stdout.toString();
      assert.equal(listed, [
        './etc/hello', './etc/hello/hello.conf', './etc/hello/other.conf', './usr/bin/hello', './usr/bin/hello-hard',
        './usr/bin/hi', './usr/share/doc/hello', './usr/share/doc/hello/README', './var/lib/hello',
      ].map((l) => l + '\n').join(''));

      const dest = join(work, `x-${compression}`);
      await mkdir(dest);
      await extractWithRpm(file, dest);
      for (const f of await collectFiles(file)) {
        if (f.data) assert.ok(Buffer.from(f.data).equals(await readFile(join(dest, f.path))), f.path);
      }
    });
  }

  test('rewriteSignature: new signature size, main header and payload unchanged, rpm -K still OK', async () => {
    const file = join(work, 'hello-zstd.rpm');
    const { pkg, bytes } = await readPackageFile(file);
    const { rewriteSignature } = await import('../src/rpm/package.ts');
    const entries = new Map(pkg.signature.entries);
    entries.delete(1008); // RESERVEDSPACE: a different signature size must still be padded right
    const out = rewriteSignature(pkg, bytes, entries);
    const copy = join(work, 'rewritten.rpm');
    await writeFile(copy, out);
    assert.match((await run('rpm', ['-K', copy])).stdout.toString(), /digests OK/);
    const again = readPackage(out, copy);
    assert.deepEqual(again.header.raw, pkg.header.raw);
    assert.equal(again.payloadOffset - again.headerOffset, pkg.payloadOffset - pkg.headerOffset);
  });

  test('photon rpm pack CLI: reproducible with SOURCE_DATE_EPOCH, readable by rpm', async () => {
    const root = join(work, 'cli-tree');
    await makeTree(root);
    const script = join(work, 'pre.sh');
    await writeFile(script, '#!/bin/bash\necho pre\n');
    const env = { ...process.env, SOURCE_DATE_EPOCH: '1700000000' };
    const out1 = join(work, 'cli1.rpm');
    const out2 = join(work, 'cli2.rpm');
    const args = (o: string) => [PHOTON, 'rpm', 'pack', '-C', root, '-o', o, '--name', 'cli', '--version', '1.0', '--release', '2',
      '--requires', 'bash', '--requires', 'pre: coreutils', '--provides', 'clitool = 3', '--config-noreplace', '/etc/hello/hello.conf',
      '--doc', '/usr/share/doc/hello/README', '--script', `pre=${script}`, '--owner', '/usr/bin/hello=root:bin', '--compression', 'gzip'];
    await run(process.execPath, args(out1), { env });
    await run(process.execPath, args(out2), { env });
    const [a, b] = [await readFile(out1), await readFile(out2)];
    assert.ok(a.equals(b), 'two packs of the same tree are byte-identical');
    assert.match((await run('rpm', ['-K', out1])).stdout.toString(), /digests OK/);
    assert.equal(await rpmq(out1), 'cli-1.0-2.noarch\n');
    assert.equal(await rpmq(out1, '--scripts'), 'preinstall scriptlet (using /bin/bash):\necho pre\n');
    assert.match(await rpmq(out1, '--qf', '[%{FILENAMES} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS}\n]'), /\/usr\/bin\/hello root:bin 0\n/);
    const cliOut = (await run(process.execPath, [PHOTON, 'rpm', 'query', '-p', '-R', out1])).stdout.toString();
    assert.equal(cliOut, await rpmq(out1, '-R'));
    const json = JSON.parse((await run(process.execPath, [PHOTON, 'rpm', 'query', '-p', '--json', out1])).stdout.toString());
    assert.equal(json[0].Name, 'cli');
    assert.deepEqual(json[0].Provides, (await rpmq(out1, '--provides')).trim().split('\n'));
  });
});

/** For every tag rpm knows, `rpm -qp --qf '[%{TAG}\n]'` must print what we decoded. */
async function compareEveryTag(file: string, h: Header): Promise<void> {
  const names: string[] = [];
  const expect: string[] = [];
  for (const [tag, v] of h.entries) {
    const name = tagName(tag);
    if (!name || name === 'HEADERI18NTABLE') continue;
    let lines: string[];
    switch (v.type) {
      case TagType.STRING: lines = [v.value]; break;
      case TagType.STRING_ARRAY: lines = v.value; break;
      case TagType.I18NSTRING: lines = [v.value[0]!]; break;
      case TagType.BIN: lines = [Buffer.from(v.value).toString('hex')]; break;
      case TagType.NULL: continue;
      default: lines = v.value.map(String);
    }
    names.push(name);
    expect.push(lines.join('\n'));
  }
  const qf = names.map((n) => `[%{${n}}\\n]@@@\\n`).join('');
  const got = (await rpmq(file, '--qf', qf)).split('@@@\n').slice(0, -1).map((s) => s.replace(/\n$/, ''));
  for (let i = 0; i < names.length; i++) assert.equal(got[i], expect[i], `tag ${names[i]}`);
}

describe('packages written by rpmbuild, read by us', () => {
  const payloads = ['w19.zstdio', 'w9.gzdio', 'w6.xzdio', 'w9.bzdio', 'w0.ufdio', 'w6.lzdio'];
  for (const payload of payloads) {
    test(`${payload}: query output equals rpm -qp, contents equal rpm2cpio's`, async (t) => {
      let file: string;
      try {
        file = await buildRpm(work, FEATURE_SPEC, { payload });
      } catch (e) {
        if (payload === 'w6.lzdio') return t.skip(`rpmbuild cannot write ${payload}`);
        throw e;
      }
      const { pkg, bytes } = await readPackageFile(file);
      assert.deepEqual(verifyDigests(pkg, bytes), { header: 'ok', payload: 'ok' });
      for (const [opt, sel] of QUERIES) {
        assert.equal(formatQuery(pkg.header, sel, pkg.signature), await rpmq(file, ...(opt ? [opt] : [])), `rpm -qp ${opt}`);
      }
      const json = queryJson(pkg.header);
      assert.equal(json['Epoch'], 4);
      assert.deepEqual(json['Requires'], (await rpmq(file, '-R')).trim().split('\n'));

      const dest = await mkdtemp(join(work, 'rb-'));
      await extractWithRpm(file, dest);
      const files = await collectFiles(file);
      assert.deepEqual(files.map((f) => f.path).sort(), (await rpmq(file, '-l')).trim().split('\n').sort());
      let withData = 0;
      for (const f of files) {
        if (f.data) {
          withData++;
          assert.ok(Buffer.from(f.data).equals(await readFile(join(dest, f.path))), f.path);
        }
      }
      // feat.conf, plain.conf, one of the feat/feat-hard pair, big.dat, empty.dat, README
      assert.equal(withData, 6);
      const byPath = new Map(files.map((f) => [f.path, f]));
      assert.equal(byPath.get('/etc/feat/feat.conf')!.flags, 1 | 16);
      assert.equal(byPath.get('/usr/bin/feat-link')!.linkTo, 'feat');
      assert.equal(byPath.get('/usr/bin/feat')!.nlink, 2);
      assert.equal(byPath.get('/usr/lib/feat/big.dat')!.mode & 0o7777, 0o640);
      assert.equal(byPath.get('/var/lib/feat/state')!.flags & 64, 64);
      assert.equal(byPath.get('/var/lib/feat/state')!.data, undefined);
    });
  }

  test('a flipped payload byte: verifyDigests says bad, rpm -K agrees', async () => {
    const file = await buildRpm(work, FEATURE_SPEC, { payload: 'w9.gzdio' });
    const bytes = new Uint8Array(await readFile(file));
    const pkg = readPackage(bytes, file);
    bytes[pkg.payloadOffset + 20]! ^= 0xff;
    assert.deepEqual(verifyDigests(pkg, bytes), { header: 'ok', payload: 'bad' });
    const bad = join(work, 'flipped.rpm');
    await writeFile(bad, bytes);
    const r = await run('rpm', ['-K', '--nosignature', bad], { allowFailure: true });
    assert.notEqual(r.status, 0);
    // Flip a header byte instead: the header digests fail.
    const b2 = new Uint8Array(await readFile(file));
    b2[Buffer.from(b2).indexOf('feature test package', pkg.headerOffset)]! ^= 0x01;
    assert.equal(verifyDigests(readPackage(b2, file), b2).header, 'bad');
  });
});

describe('bad input fails with one PhotonError naming the file', () => {
  test('truncated, not an RPM, empty', async () => {
    const file = join(work, 'hello-gzip.rpm');
    const bytes = new Uint8Array(await readFile(file));
    for (const cut of [10, 100, 200, 3000, bytes.length - 10]) {
      const p = join(work, `cut-${cut}.rpm`);
      await writeFile(p, bytes.subarray(0, cut));
      await assert.rejects(async () => {
        const { pkg, bytes: b } = await readPackageFile(p);
        for await (const _ of packageFiles(pkg, b)) void _;
      }, (e: unknown) => isPhotonError(e) && e.file === p && !e.describe().includes('\n'));
    }
    const notRpm = join(work, 'not.rpm');
    await writeFile(notRpm, 'hello world, this is not a package'.repeat(10));
    await assert.rejects(readPackageFile(notRpm), (e: unknown) => isPhotonError(e) && e.code === 'E_RPM_NOT_RPM' && e.file === notRpm);
    const r = await run(process.execPath, [PHOTON, 'rpm', 'query', '-p', notRpm], { allowFailure: true });
    assert.equal(r.status, 1);
    assert.equal(r.stderr.toString(), `photon rpm: ${notRpm}: not an RPM package (bad lead magic)\n`);
  });
});
