import { globToRegExp } from '../util/glob.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StringPool, buildPool } from '../repo/pool.ts';
import type { RepoPackage } from '../repo/primary.ts';
import { RPMSENSE } from '../rpm/deps.ts';
import {
  type Repo, type Sack, latestPerNameArch, nvraOf, packagesOf, scopePackages, selectSpec, selectSpecs,
} from './query.ts';

function pkg(name: string, version: string, release: string, arch = 'x86_64', extra: Partial<RepoPackage> = {}): RepoPackage {
  return {
    name, arch, epoch: '0', version, release, pkgid: '', checksumType: '', summary: `${name} summary`, description: '',
    packager: '', url: '', timeFile: 0, timeBuild: 0, sizePackage: 0, sizeInstalled: 0, sizeArchive: 0, location: '',
    license: '', vendor: '', group: '', buildhost: '', sourcerpm: '', headerStart: 0, headerEnd: 0,
    provides: [{ name, flags: RPMSENSE.EQUAL, evr: `${version}-${release}` }], requires: [], conflicts: [], obsoletes: [],
    recommends: [], suggests: [], supplements: [], enhances: [], files: [], ...extra,
  };
}

const strings = new StringPool();
const installed: Repo = {
  id: '@System', name: '@System', installed: true,
  pool: buildPool([pkg('bash', '5.1', '1.ph5', 'x86_64', { files: [{ path: '/usr/bin/bash', type: 'file' }] }), pkg('old', '1', '1')], { strings }),
};
const repo: Repo = {
  id: 'photon', name: 'Photon', installed: false,
  pool: buildPool([
    pkg('bash', '5.1', '1.ph5'), pkg('bash', '5.2', '1.ph5'), pkg('bash-devel', '5.2', '1.ph5'),
    pkg('python3', '3.11', '2.ph5', 'x86_64', {
      provides: [{ name: 'python3', flags: RPMSENSE.EQUAL, evr: '3.11-2.ph5' }, { name: '/usr/bin/python3', flags: 0, evr: '' }, { name: 'python(abi)', flags: RPMSENSE.EQUAL, evr: '3.11' }],
    }),
    pkg('zlib', '1.3', '1.ph5', 'aarch64'),
  ], { strings }),
};
const sack: Sack = { installed, available: [repo] };
const all = packagesOf([installed, repo]);
const names = (spec: string, o = {}) => selectSpec(all, spec, o).map((k) => `${k.repo.id}:${nvraOf(k)}`);

describe('buildPool', () => {
  it('keeps what it was given, sharing string ids across pools', () => {
    assert.equal(repo.pool.count, 5);
    assert.equal(installed.pool.name(0), repo.pool.name(0));
    assert.deepEqual(repo.pool.package(3).provides[2], { name: 'python(abi)', flags: RPMSENSE.EQUAL, evr: '3.11' });
    assert.equal(installed.pool.files(0)[0]!.path, '/usr/bin/bash');
    assert.equal(repo.pool.str(repo.pool.evr(1)), '5.2-1.ph5');
  });
});

describe('selectSpec', () => {
  it('selects by name, glob, name.arch, name-version and name-version-release', () => {
    assert.deepEqual(names('bash'), ['@System:bash-5.1-1.ph5.x86_64', 'photon:bash-5.1-1.ph5.x86_64', 'photon:bash-5.2-1.ph5.x86_64']);
    assert.deepEqual(names('bash*').length, 4);
    assert.deepEqual(names('zlib.aarch64'), ['photon:zlib-1.3-1.ph5.aarch64']);
    assert.deepEqual(names('zlib.x86_64'), []);
    assert.deepEqual(names('bash-5.2'), ['photon:bash-5.2-1.ph5.x86_64']);
    assert.deepEqual(names('bash-5.1-1.ph5'), ['@System:bash-5.1-1.ph5.x86_64', 'photon:bash-5.1-1.ph5.x86_64']);
    assert.deepEqual(names('bash-devel-5.2-1.ph5.x86_64'), ['photon:bash-devel-5.2-1.ph5.x86_64']);
    assert.deepEqual(names('py[t]hon?'), ['photon:python3-3.11-2.ph5.x86_64']);
  });

  it('selects by provides, versioned provides and files', () => {
    assert.deepEqual(names('python(abi)'), ['photon:python3-3.11-2.ph5.x86_64']);
    assert.deepEqual(names('python(abi) >= 3.10'), ['photon:python3-3.11-2.ph5.x86_64']);
    assert.deepEqual(names('python(abi) < 3.10'), []);
    assert.deepEqual(names('bash >= 5.2'), ['photon:bash-5.2-1.ph5.x86_64']);
    assert.deepEqual(names('/usr/bin/bash', { files: true }), ['@System:bash-5.1-1.ph5.x86_64']);
    assert.deepEqual(names('/usr/bin/ba*', { files: true }), ['@System:bash-5.1-1.ph5.x86_64']);
    assert.deepEqual(names('/usr/bin/python3', { files: true }), ['photon:python3-3.11-2.ph5.x86_64']);
    assert.deepEqual(names('nothing'), []);
  });

  it('unions several specs in package order', () => {
    assert.deepEqual(selectSpecs(all, ['zlib', 'old']).map(nvraOf), ['old-1-1.x86_64', 'zlib-1.3-1.ph5.aarch64']);
  });
});

describe('scopes', () => {
  it('finds upgrades, extras and the latest per name.arch', () => {
    assert.deepEqual(scopePackages(sack, 'upgrades').map(nvraOf), ['bash-5.2-1.ph5.x86_64']);
    assert.deepEqual(scopePackages(sack, 'extras').map(nvraOf), ['old-1-1.x86_64']);
    assert.deepEqual(scopePackages(sack, 'downgrades').map(nvraOf), []);
    assert.deepEqual(latestPerNameArch(packagesOf([repo])).map(nvraOf), [
      'bash-5.2-1.ph5.x86_64', 'bash-devel-5.2-1.ph5.x86_64', 'python3-3.11-2.ph5.x86_64', 'zlib-1.3-1.ph5.aarch64',
    ]);
  });

  it('hides excluded packages', () => {
    const hidden: Repo = { ...repo, excluded: Uint8Array.of(1, 1, 0, 0, 0) };
    assert.deepEqual(packagesOf([hidden]).map(nvraOf)[0], 'bash-devel-5.2-1.ph5.x86_64');
  });
});

describe('globToRegExp', () => {
  it('matches as fnmatch does', () => {
    assert.ok(globToRegExp('a*b?[cd]').test('axxbyd'));
    assert.ok(globToRegExp('[!a]x').test('bx'));
    assert.ok(!globToRegExp('[!a]x').test('ax'));
    assert.ok(globToRegExp('lib.so(1)').test('lib.so(1)'));
  });
});
