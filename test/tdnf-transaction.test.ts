// tdnf transactions against Debian's rpm 4.18 on twin roots: the same packages installed,
// upgraded, downgraded, reinstalled and erased by rpm and by runTransaction must run the same
// scriptlets in the same order with the same $1. Roots get a static busybox as /bin/sh so that
// scriptlets run chrooted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type TxPlan, runTransaction } from '../src/tdnf/transaction.ts';
import { TdnfError } from '../src/tdnf/errors.ts';
import { type SpecOptions, buildRpm, hostRpm } from './kit/rpmbuild.ts';
import { cleanup, tempDir } from './kit/tmp.ts';

const isRoot = process.getuid?.() === 0;
const BUSYBOX = '/bin/busybox';
const canRun = isRoot && existsSync(BUSYBOX);
let work: string;
const P: Record<string, string> = {};
let n = 0;

const SCRIPTS = ['pretrans', 'pre', 'post', 'preun', 'postun', 'posttrans'];
function pkg(name: string, version: string, preamble: string[] = [], extra: Partial<SpecOptions> = {}): SpecOptions {
  return {
    name, version, preamble: ['Requires(interp): /bin/sh', ...preamble],
    install: [`mkdir -p $RPM_BUILD_ROOT/usr/share/${name}`, `echo ${version} > $RPM_BUILD_ROOT/usr/share/${name}/f${version}`,
      `echo ${version} > $RPM_BUILD_ROOT/usr/share/${name}/common`, ...(extra.install ?? [])],
    files: [`/usr/share/${name}`, ...(extra.files ?? [])],
    scripts: { ...Object.fromEntries(SCRIPTS.map((s) => [s, [`echo ${s} ${name}-${version} $1 >> /log`]])), ...(extra.scripts ?? {}) },
  };
}

async function newRoot(): Promise<string> {
  const root = join(work, `root${n++}`);
  await mkdir(join(root, 'bin'), { recursive: true });
  await copyFile(BUSYBOX, join(root, 'bin/sh'));
  await writeFile(join(root, 'log'), '');
  return root;
}

const log = async (root: string) => {
  const text = await readFile(join(root, 'log'), 'utf8');
  await writeFile(join(root, 'log'), '');
  return text.trim().split('\n').filter(Boolean);
};
const rpm = async (root: string, args: string[]) => {
  await hostRpm(root, ['--nodeps', ...args]);
  return log(root);
};
const qa = async (root: string) => (await hostRpm(root, ['-qa', '--qf', '%{NAME}-%{VERSION}\\n'])).stdout.toString().trim().split('\n').filter(Boolean).sort();
const empty = (): TxPlan => ({ install: [], upgrade: [], downgrade: [], reinstall: [], erase: [] });
const ours = async (root: string, plan: Partial<TxPlan>, opts = {}) => {
  await runTransaction(root, { ...empty(), ...plan }, { dbpath: '/var/lib/rpm', ...opts });
  return log(root);
};

before(async () => {
  if (!canRun) return;
  work = await tempDir('tdnf-tx');
  const specs: Record<string, SpecOptions> = {
    a1: pkg('a', '1', ['Requires: b']), b1: pkg('b', '1', ['Requires: c']), c1: pkg('c', '1'),
    a2: pkg('a', '2', ['Requires: b']), b2: pkg('b', '2', ['Requires: c']), c2: pkg('c', '2'),
    x1: pkg('x', '1'), y1: pkg('y', '1'), z1: pkg('z', '1'),
    // A loop broken by rpm's rule: p pre-requires q, q requires p.
    p1: pkg('p', '1', ['Requires(pre): q']), q1: pkg('q', '1', ['Requires: p']),
    clash: pkg('clash', '1', [], { install: ['mkdir -p $RPM_BUILD_ROOT/usr/share/x', 'echo other > $RPM_BUILD_ROOT/usr/share/x/common'], files: ['/usr/share/x/common'] }),
    prefail: pkg('prefail', '1', [], { scripts: { pre: ['echo pre prefail-1 $1 >> /log', 'exit 3'] } }),
    postfail: pkg('postfail', '1', [], { scripts: { post: ['echo post postfail-1 $1 >> /log', 'exit 4'] } }),
    docs: pkg('docs', '1', [], { install: ['mkdir -p $RPM_BUILD_ROOT/usr/share/doc/docs', 'echo r > $RPM_BUILD_ROOT/usr/share/doc/docs/README'], files: ['%doc /usr/share/doc/docs/README'] }),
    killer: pkg('killer', '1', [], { scripts: { post: ['kill -9 $PPID', 'sleep 5'] } }),
  };
  for (const [k, s] of Object.entries(specs)) P[k] = await buildRpm(work, s);
});

after(async () => {
  if (work) await cleanup(work);
});

describe('runTransaction against rpm -U/-e', { skip: !canRun && 'needs root and busybox-static (chroot scriptlets)' }, () => {
  test('install, upgrade, downgrade + install, reinstall, erase: same scriptlets, order and $1 as rpm', async () => {
    const r1 = await newRoot();
    const r2 = await newRoot();
    // Fresh install of a chain given in the "wrong" order, plus independent packages.
    assert.deepEqual(await ours(r1, { install: ['a1', 'b1', 'c1', 'x1', 'y1', 'z1'].map((k) => ({ file: P[k]!, reason: 'user' as const })) }),
      await rpm(r2, ['-U', P.a1!, P.b1!, P.c1!, P.x1!, P.y1!, P.z1!]));
    // Upgrade all three: installs in dependency order, then the old ones erased, then %posttrans.
    const up = await ours(r1, { upgrade: [['a2', 'a-1-1.noarch'], ['c2', 'c-1-1.noarch'], ['b2', 'b-1-1.noarch']].map(([k, o]) => ({ file: P[k!]!, replaces: [o!] })) });
    assert.deepEqual(up, await rpm(r2, ['-U', P.a2!, P.c2!, P.b2!]));
    assert.ok(up.includes('preun a-1 1') && up.includes('posttrans b-2 2'), up.join('\n'));
    // Downgrade b with an erase of x… rpm cannot mix -U and -e, so compare downgrade alone.
    assert.deepEqual(await ours(r1, { downgrade: [{ file: P.b1!, replaces: ['b-2-1.noarch'] }] }), await rpm(r2, ['-U', '--oldpackage', P.b1!]));
    assert.deepEqual(await ours(r1, { reinstall: [{ file: P.b1! }] }), await rpm(r2, ['-U', '--replacepkgs', P.b1!]));
    assert.deepEqual(await ours(r1, { erase: ['c-2-1.noarch', 'b-1-1.noarch', 'a-2-1.noarch', 'y-1-1.noarch', 'z-1-1.noarch'] }),
      await rpm(r2, ['-e', 'c', 'b', 'a', 'y', 'z']));
    assert.deepEqual(await qa(r1), await qa(r2));
    assert.deepEqual(await qa(r1), ['x-1']);
    assert.equal((await hostRpm(r1, ['-V', '--nodeps', '-a'], true)).stdout.toString(), '');
  });

  test('a dependency loop with a pre-requisite is broken as rpm breaks it', async () => {
    const r1 = await newRoot();
    const r2 = await newRoot();
    const mine = await ours(r1, { install: [{ file: P.q1!, reason: 'user' }, { file: P.p1!, reason: 'user' }] });
    assert.deepEqual(mine, await rpm(r2, ['-U', P.q1!, P.p1!]));
    assert.ok(mine.indexOf('pre q-1 1') < mine.indexOf('pre p-1 1'), mine.join('\n'));
  });

  test('file conflicts: 1525 with rpm\'s words, nothing changed', async () => {
    const r1 = await newRoot();
    await ours(r1, { install: [{ file: P.x1!, reason: 'user' }] });
    await assert.rejects(ours(r1, { install: [{ file: P.clash!, reason: 'user' }, { file: P.y1!, reason: 'user' }] }), (e: unknown) => {
      assert.ok(e instanceof TdnfError && e.code === 1525, String(e));
      assert.match(e.message, /file \/usr\/share\/x\/common from install of clash-1-1\.noarch conflicts with file from package x-1-1\.noarch/);
      return true;
    });
    assert.deepEqual(await qa(r1), ['x-1']);
    assert.deepEqual(await log(r1), []);
    // Between two new packages as well.
    const r3 = await newRoot();
    await assert.rejects(ours(r3, { install: [{ file: P.x1!, reason: 'user' }, { file: P.clash!, reason: 'user' }] }),
      /file \/usr\/share\/x\/common conflicts between attempted installs of x-1-1\.noarch and clash-1-1\.noarch/);
    assert.equal(existsSync(join(r3, 'usr/share/x')), false);
  });

  test('%pre failure skips that package (1525), %post failure warns; testonly changes nothing; nodocs', async () => {
    const r1 = await newRoot();
    await assert.rejects(ours(r1, { install: [{ file: P.prefail!, reason: 'user' }, { file: P.postfail!, reason: 'user' }, { file: P.x1!, reason: 'user' }] }),
      (e: unknown) => e instanceof TdnfError && e.code === 1525 && /prefail-1-1\.noarch: install failed/.test(e.message));
    assert.deepEqual(await qa(r1), ['postfail-1', 'x-1']);
    assert.equal(existsSync(join(r1, 'usr/share/prefail')), false);

    await runTransaction(r1, { ...empty(), install: [{ file: P.y1!, reason: 'user' }], erase: ['x-1-1.noarch'] }, { dbpath: '/var/lib/rpm', testonly: true });
    assert.deepEqual(await qa(r1), ['postfail-1', 'x-1']);
    assert.equal(existsSync(join(r1, 'usr/share/y')), false);

    await log(r1);
    await runTransaction(r1, { ...empty(), install: [{ file: P.docs!, reason: 'user' }] }, { dbpath: '/var/lib/rpm', tsflags: ['nodocs'] });
    assert.equal(existsSync(join(r1, 'usr/share/doc/docs/README')), false);
    assert.equal(existsSync(join(r1, 'usr/share/docs/common')), true);
    // rpm -V knows the doc file was not installed.
    assert.equal((await hostRpm(r1, ['-V', '--nodeps', 'docs'], true)).stdout.toString(), '');
  });

  test('SIGKILL in the middle of a transaction leaves the old rpmdb, which rpm still reads', async () => {
    const r1 = await newRoot();
    await ours(r1, { install: [{ file: P.x1!, reason: 'user' }] });
    const script = `import { runTransaction } from ${JSON.stringify(new URL('../src/tdnf/transaction.ts', import.meta.url).pathname)};
await runTransaction(${JSON.stringify(r1)}, { install: [{ file: ${JSON.stringify(P.y1)}, reason: 'user' }, { file: ${JSON.stringify(P.killer)}, reason: 'user' }],
  upgrade: [], downgrade: [], reinstall: [], erase: ['x-1-1.noarch'] }, { dbpath: '/var/lib/rpm' });`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'ignore' });
    const signal = await new Promise((r) => child.on('exit', (_c, s) => r(s)));
    assert.equal(signal, 'SIGKILL');
    assert.deepEqual(await qa(r1), ['x-1']);
    assert.ok((await stat(join(r1, 'var/lib/rpm/rpmdb.sqlite'))).size > 0);
    // The next transaction goes through (the lock of the killed writer is not in the way).
    await ours(r1, { install: [{ file: P.z1!, reason: 'user' }] });
    assert.deepEqual(await qa(r1), ['x-1', 'z-1']);
  });
});
