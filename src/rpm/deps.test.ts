import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PhotonError } from '../util/errors.ts';
import { RPMSENSE, formatDep, formatRich, isRich, parseDep, parseRich, rangesOverlap } from './deps.ts';

test('RPMSENSE values are rpm 4.18’s', () => {
  assert.equal(RPMSENSE.LESS, 2);
  assert.equal(RPMSENSE.GREATER, 4);
  assert.equal(RPMSENSE.EQUAL, 8);
  assert.equal(RPMSENSE.PREREQ, 64);
  assert.equal(RPMSENSE.SCRIPT_PRE, 512);
  assert.equal(RPMSENSE.SCRIPT_POST, 1024);
  assert.equal(RPMSENSE.SCRIPT_PREUN, 2048);
  assert.equal(RPMSENSE.SCRIPT_POSTUN, 4096);
  assert.equal(RPMSENSE.MISSINGOK, 524288);
  assert.equal(RPMSENSE.RPMLIB, 16777216);
  assert.equal(RPMSENSE.CONFIG, 268435456);
});

test('parseDep and formatDep round-trip rpm’s printed form', () => {
  assert.deepEqual(parseDep('foo >= 1.2-3'), { name: 'foo', flags: RPMSENSE.GREATER | RPMSENSE.EQUAL, evr: '1.2-3' });
  assert.deepEqual(parseDep('foo'), { name: 'foo', flags: 0, evr: '' });
  assert.deepEqual(parseDep('perl(Foo::Bar) = 1:2'), { name: 'perl(Foo::Bar)', flags: RPMSENSE.EQUAL, evr: '1:2' });
  assert.deepEqual(parseDep('(a or b)'), { name: '(a or b)', flags: 0, evr: '' });
  for (const s of ['foo >= 1.2-3', 'foo < 2', 'foo > 2', 'foo <= 2', 'foo = 1:2-3', 'bar']) {
    assert.equal(formatDep(parseDep(s)), s);
  }
  assert.equal(formatDep(parseDep('foo == 1')), 'foo = 1');
  assert.throws(() => parseDep('foo ~= 1'), (e: unknown) => e instanceof PhotonError && e.code === 'E_DEP_SYNTAX');
  assert.throws(() => parseDep('foo >='), PhotonError);
});

test('rangesOverlap follows rpmdsCompare', () => {
  const ov = (p: string, r: string): boolean => rangesOverlap(parseDep(p), parseDep(r));
  const cases: [string, string, boolean][] = [
    ['foo', 'foo >= 2', true],
    ['foo = 1.0-1', 'foo', true],
    ['foo = 1.0-1', 'bar', false],
    ['foo = 1.0-1', 'foo >= 1.0', true],
    ['foo = 1.0-1', 'foo > 1.0', false], // release-less side with EQUAL absent: compares equal
    ['foo = 1.0-1', 'foo = 1.0', true],
    ['foo = 1.0', 'foo = 1.0-1', true],
    ['foo = 1.0', 'foo < 1.0-1', true], // a release-less EQUAL side matches every release
    ['foo = 1.0-1', 'foo < 1.0-2', true],
    ['foo = 1.0-2', 'foo < 1.0-2', false],
    ['foo = 1.0-2', 'foo <= 1.0-2', true],
    ['foo = 2.0', 'foo >= 1.0', true],
    ['foo = 0.9', 'foo >= 1.0', false],
    ['foo = 1:0.9', 'foo >= 1.0', true],
    ['foo = 0.9', 'foo >= 0:1.0', false],
    ['foo = 0:1.0', 'foo = 1.0', true],
    ['foo >= 2', 'foo < 3', true],
    ['foo >= 3', 'foo < 3', false],
    ['foo > 2', 'foo > 5', true],
    ['foo < 2', 'foo > 5', false],
    ['foo = 1.0~rc1', 'foo >= 1.0', false],
    ['foo = 1.0^git1', 'foo > 1.0', true],
  ];
  for (const [p, r, want] of cases) assert.equal(ov(p, r), want, `${p} vs ${r}`);
});

test('parseRich builds trees for every operator', () => {
  assert.equal(isRich('(a or b)'), true);
  assert.equal(isRich('a'), false);
  const t = parseRich('(a or (b >= 2 with c))');
  assert.deepEqual(t, {
    op: 'or',
    args: [
      { op: 'dep', dep: { name: 'a', flags: 0, evr: '' } },
      { op: 'with', args: [
        { op: 'dep', dep: { name: 'b', flags: RPMSENSE.GREATER | RPMSENSE.EQUAL, evr: '2' } },
        { op: 'dep', dep: { name: 'c', flags: 0, evr: '' } },
      ] },
    ],
  });
  for (const s of [
    '(a and b and c)', '(a if b)', '(a if b else c)', '(a unless b else c)', '(a without b)',
    '(perl(Foo::Bar) >= 1.0 or python3dist(x) < 2)', '((a and b) or (c if d else e))', '(a)',
  ]) {
    const tree = parseRich(s);
    assert.equal(formatRich(tree), s === '(a)' ? 'a' : s, s);
  }
  assert.deepEqual(parseRich('(a if b else c)'), {
    op: 'if',
    args: ['a', 'b', 'c'].map((name) => ({ op: 'dep', dep: { name, flags: 0, evr: '' } })),
  });
});

test('parseRich rejects malformed input with a clear message', () => {
  const bad: [string, RegExp][] = [
    ['(a or b', /missing '\)'/],
    ['(a or)', /unexpected '\)'/],
    ['(a and b or c)', /cannot chain 'or' after 'and'/],
    ['(a else b)', /'else' without/],
    ['(a if b else c else d)', /'else' only follows/],
    ['(a xor b)', /expected an operator/],
    ['(a >= )', /missing version/],
    ['(a or b) c', /trailing text/],
    ['a or b', /starts with '\('/],
    ['(or b)', /missing dependency before 'or'/],
    ['(a ~ 1)', /expected an operator/],
  ];
  for (const [s, re] of bad) {
    assert.throws(() => parseRich(s), (e: unknown) => e instanceof PhotonError && e.code === 'E_DEP_SYNTAX' && re.test(e.message), s);
  }
});
