// Hand-made universes for each kind of rule, and a differential test against libsolv's
// testsolv (Debian package libsolv-tools) on seeded random universes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadPrimaryPool, StringPool } from '../src/repo/pool.ts';
import { solve } from '../src/solver/solver.ts';
import type { Job, SolveOptions, SolveResult } from '../src/solver/types.ts';
import { Universe } from '../src/solver/universe.ts';
import { prng } from './kit/random.ts';

/** `name-ver-rel.arch` plus dependency lists written `name [op evr]`. */
interface P {
  n: string;
  v?: string;
  r?: string;
  a?: string;
  e?: string;
  req?: string[];
  prov?: string[];
  con?: string[];
  obs?: string[];
  rec?: string[];
  files?: string[];
}

const FL: Record<string, string> = { '=': 'EQ', '<': 'LT', '>': 'GT', '<=': 'LE', '>=': 'GE' };
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
function entry(d: string): string {
  if (d.startsWith('(')) return `<rpm:entry name="${esc(d)}"/>`;
  const m = /^(\S+)(?:\s+(\S+)\s+(\S+))?$/.exec(d)!;
  if (!m[2]) return `<rpm:entry name="${esc(m[1]!)}"/>`;
  const evr = m[3]!;
  const [ver, rel] = evr.includes('-') ? [evr.slice(0, evr.lastIndexOf('-')), evr.slice(evr.lastIndexOf('-') + 1)] : [evr, undefined];
  return `<rpm:entry name="${esc(m[1]!)}" flags="${FL[m[2]]}" epoch="0" ver="${esc(ver)}"${rel ? ` rel="${esc(rel)}"` : ''}/>`;
}
const list = (tag: string, ds?: string[]): string => (ds?.length ? `<rpm:${tag}>${ds.map(entry).join('')}</rpm:${tag}>` : '');
export function primaryXml(ps: P[]): Uint8Array {
  const body = ps.map((p, k) => {
    const v = p.v ?? '1';
    const r = p.r ?? '1';
    const a = p.a ?? 'x86_64';
    return `<package type="rpm"><name>${p.n}</name><arch>${a}</arch><version epoch="${p.e ?? 0}" ver="${v}" rel="${r}"/>` +
      `<checksum type="sha256" pkgid="YES">${k.toString(16).padStart(64, '0')}</checksum><summary/><description/><packager/><url/>` +
      `<time file="0" build="0"/><size package="1" installed="1" archive="1"/><location href="${p.n}.rpm"/><format>` +
      list('provides', [`${p.n} = ${v}-${r}`, ...(p.prov ?? [])]) + list('requires', p.req) + list('conflicts', p.con) +
      list('obsoletes', p.obs) + list('recommends', p.rec) +
      (p.files ?? []).map((f) => `<file>${f}</file>`).join('') + '</format></package>';
  });
  return new TextEncoder().encode(`<?xml version="1.0"?><metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${ps.length}">${body.join('')}</metadata>`);
}

async function universe(repo: P[], installed: P[] = []): Promise<Universe> {
  const strings = new StringPool();
  const inst = await loadPrimaryPool(primaryXml(installed), { strings });
  const pool = await loadPrimaryPool(primaryXml(repo), { strings });
  return new Universe({ strings, installed: inst, repos: [{ id: 'repo', pool }] });
}
const names = (u: Universe, ps: number[]): string[] => ps.map((p) => u.nevra(p)).sort();
function summary(u: Universe, r: SolveResult): Record<string, string[]> {
  const o: Record<string, string[]> = {};
  if (r.install.length) o.install = names(u, r.install);
  if (r.upgrade.length) o.upgrade = names(u, r.upgrade.map((x) => x.pkg));
  if (r.downgrade.length) o.downgrade = names(u, r.downgrade.map((x) => x.pkg));
  if (r.reinstall.length) o.reinstall = names(u, r.reinstall.map((x) => x.pkg));
  if (r.erase.length) o.erase = names(u, r.erase);
  if (r.obsoleted.length) o.obsoleted = names(u, r.obsoleted.map((x) => x.pkg));
  if (r.problems.length) o.problems = r.problems;
  return o;
}
const inst = (u: Universe, n: string): Job => ({ kind: 'install', packages: u.byName(u.strings.lookup(n)).filter((p) => !u.isInstalled(p)) });
async function run(repo: P[], installed: P[], jobs: (u: Universe) => Job[], o: SolveOptions = {}): Promise<Record<string, string[]>> {
  const u = await universe(repo, installed);
  return summary(u, solve(u, jobs(u), o));
}

test('requires pull in the highest provider; versioned requires choose in range', async () => {
  const r = await run([{ n: 'a', req: ['b >= 2'] }, { n: 'b', v: '1' }, { n: 'b', v: '2' }, { n: 'b', v: '3' }], [], (u) => [inst(u, 'a')]);
  assert.deepEqual(r, { install: ['a-1-1.x86_64', 'b-3-1.x86_64'] });
  const r2 = await run([{ n: 'a', req: ['b < 3'] }, { n: 'b', v: '1' }, { n: 'b', v: '2' }, { n: 'b', v: '3' }], [], (u) => [inst(u, 'a')]);
  assert.deepEqual(r2, { install: ['a-1-1.x86_64', 'b-2-1.x86_64'] });
});

test('nothing provides', async () => {
  const r = await run([{ n: 'a', req: ['missing >= 1'] }], [], (u) => [inst(u, 'a')]);
  assert.deepEqual(r, { problems: ['nothing provides missing >= 1 needed by a-1-1.x86_64'] });
});

test('requires with no installable provider, conflicts, obsoletes, same name', async () => {
  const r = await run([{ n: 'a', req: ['b'] }, { n: 'b', req: ['c'] }, { n: 'c', con: ['a'] }], [], (u) => [inst(u, 'a')]);
  assert.equal(r.problems?.length, 1);
  assert.match(r.problems![0]!, /^package a-1-1.x86_64 requires b, but none of the providers can be installed$/);
  const c = await run([{ n: 'x', con: ['y'] }, { n: 'y' }], [], (u) => [inst(u, 'x'), inst(u, 'y')]);
  assert.deepEqual(c.problems, ['package x-1-1.x86_64 conflicts with y provided by y-1-1.x86_64']);
  const o = await run([{ n: 'new', obs: ['old < 2'] }], [{ n: 'old' }], (u) => [inst(u, 'new')]);
  assert.deepEqual(o, { install: ['new-1-1.x86_64'], obsoleted: ['old-1-1.x86_64'] });
  const s = await run([{ n: 'a', req: ['b = 1-1'] }, { n: 'c', req: ['b = 2-1'] }, { n: 'b', v: '1' }, { n: 'b', v: '2' }], [], (u) => [inst(u, 'a'), inst(u, 'c')]);
  assert.equal(s.problems?.length, 1);
});

test('rich dependencies: or, and, if, with, without', async () => {
  const repo: P[] = [
    { n: 'a', req: ['(x or y)'] }, { n: 'x' }, { n: 'y' },
    { n: 'b', req: ['(x and y)'] },
    { n: 'c', req: ['(z if y)'] }, { n: 'z' },
    { n: 'd', req: ['(p with p >= 2)'] }, { n: 'p', v: '1' }, { n: 'p2', prov: ['p = 3'] },
  ];
  assert.deepEqual(await run(repo, [], (u) => [inst(u, 'a')]), { install: ['a-1-1.x86_64', 'x-1-1.x86_64'] });
  assert.deepEqual(await run(repo, [], (u) => [inst(u, 'b')]), { install: ['b-1-1.x86_64', 'x-1-1.x86_64', 'y-1-1.x86_64'] });
  assert.deepEqual(await run(repo, [], (u) => [inst(u, 'c')]), { install: ['c-1-1.x86_64'] });
  assert.deepEqual(await run(repo, [], (u) => [inst(u, 'c'), inst(u, 'y')]), { install: ['c-1-1.x86_64', 'y-1-1.x86_64', 'z-1-1.x86_64'] });
  assert.deepEqual(await run(repo, [], (u) => [inst(u, 'd')]), { install: ['d-1-1.x86_64', 'p2-1-1.x86_64'] });
});

test('file dependencies from file lists', async () => {
  const r = await run([{ n: 'a', req: ['/usr/bin/sh'] }, { n: 'bash', files: ['/usr/bin/sh'] }], [], (u) => [inst(u, 'a')]);
  assert.deepEqual(r, { install: ['a-1-1.x86_64', 'bash-1-1.x86_64'] });
});

test('arch policy: x86_64 and noarch only; excludes', async () => {
  const r = await run([{ n: 'a', req: ['b'] }, { n: 'b', a: 'i686' }, { n: 'b', a: 'src' }], [], (u) => [inst(u, 'a')]);
  assert.equal(r.problems?.length, 1);
  const u = await universe([{ n: 'a', v: '1' }, { n: 'a', v: '2' }]);
  const r2 = solve(u, [inst(u, 'a')], { excludes: [u.find('a', '2-1')] });
  assert.deepEqual(names(u, r2.install), ['a-1-1.x86_64']);
});

test('update, best, installed kept, allowerasing', async () => {
  const repo: P[] = [{ n: 'a', v: '2', req: ['b >= 2'] }, { n: 'b', v: '2', req: ['nope'] }];
  const installed: P[] = [{ n: 'a', v: '1' }, { n: 'b', v: '1' }];
  const upd = (u: Universe): Job[] => [{ kind: 'update', packages: [u.find('a', '1-1')] }];
  assert.deepEqual(await run(repo, installed, upd), {});
  const best = await run(repo, installed, upd, { best: true });
  assert.equal(best.problems?.length, 1);
  const ok = await run([{ n: 'a', v: '2' }], installed, (u) => [{ kind: 'update-all' }]);
  assert.deepEqual(ok, { upgrade: ['a-2-1.x86_64'] });
  // x conflicts with installed b: refused without allowerasing, b erased with it.
  const c = [{ n: 'x', con: ['b'] }];
  assert.equal((await run(c, installed, (u) => [inst(u, 'x')])).problems?.length, 1);
  assert.deepEqual(await run(c, installed, (u) => [inst(u, 'x')], { allowErasing: true }), { install: ['x-1-1.x86_64'], erase: ['b-1-1.x86_64'] });
});

test('installonly kernels: alongside, limit, running kernel kept', async () => {
  const installed: P[] = [{ n: 'linux', v: '1' }, { n: 'linux', v: '2' }];
  const repo: P[] = [{ n: 'linux', v: '3' }];
  const o: SolveOptions = { installonlyNames: ['linux'], installonlyLimit: 2 };
  assert.deepEqual(await run(repo, installed, (u) => [inst(u, 'linux')], o), { install: ['linux-3-1.x86_64'], erase: ['linux-1-1.x86_64'] });
  const u = await universe(repo, installed);
  const r = solve(u, [inst(u, 'linux')], { ...o, runningKernel: u.find('linux', '1-1') });
  assert.deepEqual(summary(u, r), { install: ['linux-3-1.x86_64'], erase: ['linux-2-1.x86_64'] });
});

test('locks, minversions, protected', async () => {
  const installed: P[] = [{ n: 'a', v: '1' }];
  const repo: P[] = [{ n: 'a', v: '2' }, { n: 'b', req: ['a >= 2'] }];
  assert.deepEqual(await run(repo, installed, () => [{ kind: 'update-all' }], { locks: ['a'] }), {});
  assert.equal((await run(repo, installed, (u) => [inst(u, 'b')], { locks: ['a'] })).problems?.length, 1);
  const mv = await run([{ n: 'c', v: '1' }, { n: 'c', v: '0.5' }], [], (u) => [inst(u, 'c')], { minversions: new Map([['c', '0.9']]) });
  assert.deepEqual(mv, { install: ['c-1-1.x86_64'] });
  const u = await universe([], installed);
  const r = solve(u, [{ kind: 'erase', packages: [0] }], { protected: ['a'], allowErasing: true });
  assert.equal(r.code, 1030);
  assert.deepEqual(r.problems, ['The operation would result in removing the protected package: a']);
});

test('autoremove and clean requirements on remove', async () => {
  const installed: P[] = [{ n: 'app', req: ['lib'] }, { n: 'lib' }, { n: 'orphan' }, { n: 'tool' }];
  const u = await universe([], installed);
  const o: SolveOptions = { userInstalled: ['app', 'tool'], allowErasing: true };
  assert.deepEqual(summary(u, solve(u, [{ kind: 'autoremove' }], o)), { erase: ['orphan-1-1.x86_64'] });
  const r = solve(u, [{ kind: 'erase', packages: [u.find('app')] }], { ...o, cleanRequirementsOnRemove: true });
  assert.deepEqual(summary(u, r), { erase: ['app-1-1.x86_64', 'lib-1-1.x86_64'] });
});

test('skip-broken drops the broken job and keeps the rest', async () => {
  const r = await run([{ n: 'good' }, { n: 'bad', req: ['missing'] }], [], (u) => [inst(u, 'good'), inst(u, 'bad')], { skipBroken: true });
  assert.deepEqual(r, { install: ['good-1-1.x86_64'], problems: ['nothing provides missing needed by bad-1-1.x86_64'] });
});

test('recommends are installed when they can be', async () => {
  const r = await run([{ n: 'a', rec: ['r', 'bad'] }, { n: 'r' }, { n: 'bad', req: ['missing'] }], [], (u) => [inst(u, 'a')]);
  assert.deepEqual(r, { install: ['a-1-1.x86_64', 'r-1-1.x86_64'] });
});

// --- differential against libsolv's testsolv --------------------------------------------------

/** A random repository of `n` names × 1–3 versions with requires, alternatives and conflicts. */
function randomRepo(seed: number): P[] {
  const r = prng(seed);
  const nNames = 6 + Math.floor(r() * 10);
  const ps: P[] = [];
  const nm = (k: number): string => `p${k}`;
  for (let k = 0; k < nNames; k++) {
    const nv = 1 + Math.floor(r() * 3);
    for (let v = 1; v <= nv; v++) {
      const p: P = { n: nm(k), v: String(v), a: r() < 0.3 ? 'noarch' : 'x86_64', req: [], con: [], prov: [] };
      const nreq = Math.floor(r() * 3);
      for (let i = 0; i < nreq; i++) {
        const t = Math.floor(r() * (nNames + 2)); // a name past the end provides nothing
        const x = r();
        // Debian's testsolv is built without complex (rich) dependencies: alternatives come
        // from shared virtual provides (cap*) instead.
        if (x < 0.5) p.req!.push(`${nm(t)} >= ${1 + Math.floor(r() * 3)}`);
        else p.req!.push(r() < 0.2 ? `cap${t}` : nm(t));
      }
      if (r() < 0.15) p.con!.push(`${nm(Math.floor(r() * nNames))}${r() < 0.5 ? ` < ${1 + Math.floor(r() * 3)}` : ''}`);
      if (r() < 0.2) p.prov!.push(`cap${Math.floor(r() * nNames)}`);
      ps.push(p);
    }
  }
  return ps;
}

function testcase(repo: P[], jobNames: string[]): string {
  const tag = (t: string, ds?: string[]): string[] => (ds ?? []).map((d) => `#>=${t}: ${d}`);
  const lines = ['repo available 0 testtags <inline>'];
  for (const p of repo) {
    lines.push(`#>=Pkg: ${p.n} ${p.v ?? '1'} ${p.r ?? '1'} ${p.a ?? 'x86_64'}`);
    lines.push(...tag('Req', p.req), ...tag('Prv', p.prov), ...tag('Con', p.con), ...tag('Obs', p.obs), ...tag('Rec', p.rec));
  }
  lines.push('system x86_64 rpm', ...jobNames.map((n) => `job install name ${n}`), 'result transaction,problems <inline>', '');
  return lines.join('\n');
}

const haveTestsolv = existsSync('/usr/bin/testsolv');
test('differential: agrees with libsolv testsolv on 300 random universes', { skip: !haveTestsolv && 'no testsolv' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'solver-diff-'));
  let sameVerdict = 0;
  let sameTransaction = 0;
  let solvableBoth = 0;
  const N = 300;
  const disagreements: string[] = [];
  for (let seed = 1; seed <= N; seed++) {
    const repo = randomRepo(seed);
    const r = prng(seed * 7919);
    const jobs = [`p${Math.floor(r() * 5)}`, ...(r() < 0.4 ? [`p${5 + Math.floor(r() * 3)}`] : [])];
    const file = join(dir, `t${seed}.t`);
    writeFileSync(file, testcase(repo, jobs));
    const out = spawnSync('testsolv', [file], { encoding: 'utf8' }).stdout;
    const theirs = out.split('\n').filter((l) => l.startsWith('+install ')).map((l) => l.slice(9).replace(/@available$/, '')).sort();
    const theirProblems = out.split('\n').some((l) => l.startsWith('+problem '));
    const u = await universe(repo);
    const res = solve(u, jobs.map((n) => inst(u, n)));
    const ours = res.problems.length > 0;
    if (ours === theirProblems) sameVerdict++;
    else disagreements.push(`seed ${seed}: ours ${ours ? 'unsolvable' : 'solvable'}, libsolv ${theirProblems ? 'unsolvable' : 'solvable'}`);
    if (!ours && !theirProblems) {
      solvableBoth++;
      if (JSON.stringify(names(u, res.install)) === JSON.stringify(theirs)) sameTransaction++;
      else disagreements.push(`seed ${seed}: ours ${names(u, res.install).join(' ')} | libsolv ${theirs.join(' ')}`);
    }
  }
  process.stderr.write(`testsolv differential: verdict ${sameVerdict}/${N}, transaction ${sameTransaction}/${solvableBoth}\n${disagreements.slice(0, 8).join('\n')}\n`);
  assert.equal(sameVerdict, N, disagreements.join('\n'));
  assert.ok(sameTransaction >= solvableBoth * 0.9, `transactions differ: ${disagreements.join('\n')}`);
});
