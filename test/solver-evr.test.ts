// The solver's EVR comparisons on string-arena bytes (src/solver/evr.ts) against rpm's string
// algorithms (src/rpm/version.ts, src/rpm/deps.ts), on seeded random EVRs full of the cases
// that matter: '~' and '^', leading zeros, separators, missing/empty epoch and release,
// letters against digits, non-ASCII bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StringPool } from '../src/repo/pool.ts';
import { RPMSENSE, evrRangesOverlap } from '../src/rpm/deps.ts';
import { comparePackageEvr, parseEvr, rpmvercmp, vercmpBytes } from '../src/rpm/version.ts';
import { EvrTable } from '../src/solver/evr.ts';
import { prng } from './kit/random.ts';

const PIECES = ['0', '1', '2', '9', '10', '01', '007', 'a', 'b', 'rc', 'Z', '.', '_', '+', '~', '^', '~~', 'é', '', '1.0', 'git'];
function part(r: () => number): string {
  let s = '';
  for (let n = Math.floor(r() * 4); n >= 0; n--) s += PIECES[Math.floor(r() * PIECES.length)];
  return s;
}
function evr(r: () => number): string {
  const e = r() < 0.3 ? `${['', '0', '1', '2', '02'][Math.floor(r() * 5)]}:` : '';
  const rel = r() < 0.7 ? `-${part(r)}` : '';
  return e + part(r) + rel;
}

test('vercmpBytes on the string arena agrees with rpmvercmp on the strings', () => {
  const r = prng(7);
  const strings = new StringPool();
  const enc = new TextEncoder();
  for (let k = 0; k < 20000; k++) {
    const a = part(r);
    const b = r() < 0.1 ? a : part(r);
    const ia = strings.internString(a);
    const ib = strings.internString(b);
    const o = strings.offsets;
    assert.equal(vercmpBytes(strings.bytes, o[ia]!, o[ia + 1]!, o[ib]!, o[ib + 1]!), rpmvercmp(a, b), `${a} vs ${b}`);
    assert.equal(enc.encode(a).length, o[ia + 1]! - o[ia]!);
  }
});

test('EvrTable: package order and range overlap agree with the string versions', () => {
  const r = prng(11);
  const strings = new StringPool();
  const t = new EvrTable(strings);
  const senses = [RPMSENSE.LESS, RPMSENSE.GREATER, RPMSENSE.EQUAL, RPMSENSE.LESS | RPMSENSE.EQUAL, RPMSENSE.GREATER | RPMSENSE.EQUAL];
  for (let k = 0; k < 20000; k++) {
    const a = evr(r);
    const b = r() < 0.1 ? a : evr(r);
    if (a === '' || b === '') continue; // id 0 is '' (unversioned), never compared
    const ia = strings.internString(a);
    const ib = strings.internString(b);
    assert.equal(t.comparePackages(ia, ib), comparePackageEvr(parseEvr(a), parseEvr(b)), `${a} vs ${b}`);
    const f1 = senses[Math.floor(r() * senses.length)]!;
    const f2 = senses[Math.floor(r() * senses.length)]!;
    assert.equal(t.overlap(ia, f1, ib, f2), evrRangesOverlap(a, f1, b, f2), `${a} ${f1} / ${b} ${f2}`);
  }
});
