import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDep } from '../rpm/deps.ts';
import { type PackageFacts, unmetRequirements } from './closure.ts';

const pkg = (name: string, evr: string, requires: string[], provides: string[] = [], files: string[] = []): PackageFacts => ({
  name,
  evr,
  requires: requires.map(parseDep),
  provides: provides.map(parseDep),
  files,
});

test('requirements met by provides, versions, files and the package names themselves', () => {
  const set = [
    pkg('bash', '5.2.15-1.ph5', ['libc.so.6()(64bit)', 'libtinfo.so.6()(64bit)', 'rpmlib(CompressedFileNames) <= 3.0.4-1'], ['/bin/sh'], ['/usr/bin/bash']),
    pkg('glibc', '2.36-1.ph5', ['/bin/sh'], ['libc.so.6()(64bit)', 'libc.so.6(GLIBC_2.34)(64bit)']),
    pkg('tool', '1-1', ['glibc >= 2.30', 'bash', '/usr/bin/bash', '(glibc or musl)', 'libc.so.6(GLIBC_2.34)(64bit)']),
  ];
  assert.deepEqual(unmetRequirements(set), [{ pkg: 'bash', requirement: 'libtinfo.so.6()(64bit)' }]);
});

test('a version range that no provide overlaps is unmet, and so is a rich dependency with no way out', () => {
  const set = [pkg('glibc', '2.36-1', []), pkg('app', '1-1', ['glibc >= 2.38', '(foo and glibc)', '(glibc if bar)'])];
  assert.deepEqual(
    unmetRequirements(set).map((u) => u.requirement),
    ['glibc >= 2.38', '(foo and glibc)'],
  );
});
