import assert from 'node:assert/strict';
import { test } from 'node:test';
import { run } from '../util/run.ts';
import { compareEvr, comparePackageEvr, formatEvr, parseEvr, rpmvercmp } from './version.ts';

// rpm's tests/rpmvercmp.at, including the caret cases added in rpm 4.15.
const VECTORS: [string, string, number][] = [
  ['1.0', '1.0', 0], ['1.0', '2.0', -1], ['2.0', '1.0', 1],
  ['2.0.1', '2.0.1', 0], ['2.0', '2.0.1', -1], ['2.0.1', '2.0', 1],
  ['2.0.1a', '2.0.1a', 0], ['2.0.1a', '2.0.1', 1], ['2.0.1', '2.0.1a', -1],
  ['5.5p1', '5.5p1', 0], ['5.5p1', '5.5p2', -1], ['5.5p2', '5.5p1', 1],
  ['5.5p10', '5.5p10', 0], ['5.5p1', '5.5p10', -1], ['5.5p10', '5.5p1', 1],
  ['10xyz', '10.1xyz', -1], ['10.1xyz', '10xyz', 1],
  ['xyz10', 'xyz10', 0], ['xyz10', 'xyz10.1', -1], ['xyz10.1', 'xyz10', 1],
  ['xyz.4', 'xyz.4', 0], ['xyz.4', '8', -1], ['8', 'xyz.4', 1], ['xyz.4', '2', -1], ['2', 'xyz.4', 1],
  ['5.5p2', '5.6p1', -1], ['5.6p1', '5.5p2', 1],
  ['5.6p1', '6.5p1', -1], ['6.5p1', '5.6p1', 1],
  ['6.0.rc1', '6.0', 1], ['6.0', '6.0.rc1', -1],
  ['10b2', '10a1', 1], ['10a2', '10b2', -1],
  ['1.0aa', '1.0aa', 0], ['1.0a', '1.0aa', -1], ['1.0aa', '1.0a', 1],
  ['10.0001', '10.0001', 0], ['10.0001', '10.1', 0], ['10.1', '10.0001', 0],
  ['10.0001', '10.0039', -1], ['10.0039', '10.0001', 1],
  ['4.999.9', '5.0', -1], ['5.0', '4.999.9', 1],
  ['20101121', '20101121', 0], ['20101121', '20101122', -1], ['20101122', '20101121', 1],
  ['2_0', '2_0', 0], ['2.0', '2_0', 0], ['2_0', '2.0', 0],
  ['a', 'a', 0], ['a+', 'a+', 0], ['a+', 'a_', 0], ['a_', 'a+', 0], ['+a', '+a', 0], ['+a', '_a', 0],
  ['_a', '+a', 0], ['+_', '+_', 0], ['_+', '+_', 0], ['_+', '_+', 0], ['+', '_', 0], ['_', '+', 0],
  ['1.0~rc1', '1.0~rc1', 0], ['1.0~rc1', '1.0', -1], ['1.0', '1.0~rc1', 1],
  ['1.0~rc1', '1.0~rc2', -1], ['1.0~rc2', '1.0~rc1', 1],
  ['1.0~rc1~git123', '1.0~rc1~git123', 0], ['1.0~rc1~git123', '1.0~rc1', -1], ['1.0~rc1', '1.0~rc1~git123', 1],
  ['1.0^', '1.0^', 0], ['1.0^', '1.0', 1], ['1.0', '1.0^', -1],
  ['1.0^git1', '1.0^git1', 0], ['1.0^git1', '1.0', 1], ['1.0', '1.0^git1', -1],
  ['1.0^git1', '1.0^git2', -1], ['1.0^git2', '1.0^git1', 1],
  ['1.0^git1', '1.01', -1], ['1.01', '1.0^git1', 1],
  ['1.0^20160101', '1.0^20160101', 0], ['1.0^20160101', '1.0.1', -1], ['1.0.1', '1.0^20160101', 1],
  ['1.0^20160101^git1', '1.0^20160101^git1', 0], ['1.0^20160102', '1.0^20160101^git1', 1],
  ['1.0^20160101^git1', '1.0^20160102', -1],
  ['1.0~rc1^git1', '1.0~rc1^git1', 0], ['1.0~rc1^git1', '1.0~rc1', 1], ['1.0~rc1', '1.0~rc1^git1', -1],
  ['1.0^git1~pre', '1.0^git1~pre', 0], ['1.0^git1', '1.0^git1~pre', 1], ['1.0^git1~pre', '1.0^git1', -1],
  // Oddities rpm documents but does not assert: non-ASCII bytes are separators.
  ['1b.fc17', '1.fc17', -1], ['1g.fc17', '1.fc17', 1], ['1.1.α', '1.1.β', 0], ['1.1.ββ', '1.1.αα', 0],
];

test('rpmvercmp matches rpm’s published vectors', () => {
  for (const [a, b, want] of VECTORS) assert.equal(rpmvercmp(a, b), want, `rpmvercmp(${a}, ${b})`);
});

function randomVersion(rand: () => number): string {
  const alphabet = '0123456789000aAzZ..._+~^';
  const n = 1 + Math.floor(rand() * 8);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

test('rpmvercmp agrees with rpm 4.x on random pairs', async (t) => {
  let seed = 12345;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
  const pairs: [string, string][] = [];
  for (let i = 0; i < 600; i++) {
    const a = randomVersion(rand);
    // Half the pairs share a prefix, so the interesting late segments get compared.
    const b = i % 2 ? randomVersion(rand) : a.slice(0, Math.floor(rand() * a.length)) + randomVersion(rand);
    pairs.push([a, b]);
  }
  const lua = pairs.map(([a, b]) => `io.write(rpm.vercmp([==[${a}]==],[==[${b}]==]),' ')`).join(' ');
  let out;
  try {
    out = await run('rpm', ['--eval', `%{lua: ${lua}}`]);
  } catch {
    t.skip('rpm not available');
    return;
  }
  const got = out.stdout.toString().trim().split(/\s+/).map(Number);
  assert.equal(got.length, pairs.length);
  pairs.forEach(([a, b], k) => assert.equal(rpmvercmp(a, b), got[k], `rpmvercmp(${a}, ${b})`));
});

test('parseEvr splits epoch, version and release like rpm', () => {
  assert.deepEqual(parseEvr('1:2.3-4'), { epoch: '1', version: '2.3', release: '4' });
  assert.deepEqual(parseEvr('2.3'), { epoch: '', version: '2.3', release: '' });
  assert.deepEqual(parseEvr('2.3-4'), { epoch: '', version: '2.3', release: '4' });
  assert.deepEqual(parseEvr('2.3-4-5'), { epoch: '', version: '2.3-4', release: '5' });
  assert.deepEqual(parseEvr(':1.0'), { epoch: '0', version: '1.0', release: '' });
  assert.deepEqual(parseEvr('a:1.0'), { epoch: '', version: 'a:1.0', release: '' });
  assert.equal(formatEvr(parseEvr('1:2.3-4')), '1:2.3-4');
  assert.equal(formatEvr(parseEvr('2.3')), '2.3');
});

test('compareEvr: missing epoch is 0, release only when both have one', () => {
  const c = (a: string, b: string): number => compareEvr(parseEvr(a), parseEvr(b));
  assert.equal(c('1.0', '0:1.0'), 0);
  assert.equal(c('1:1.0', '2.0'), 1);
  assert.equal(c('2.0', '1:1.0'), -1);
  assert.equal(c('1.0', '1.0-5'), 0);
  assert.equal(c('1.0-4', '1.0-5'), -1);
  assert.equal(c('10:1', '9:2'), 1);
  assert.equal(comparePackageEvr(parseEvr('1.0'), parseEvr('1.0-5')), -1);
  assert.equal(comparePackageEvr(parseEvr('1.0-5'), parseEvr('0:1.0-5')), 0);
});
