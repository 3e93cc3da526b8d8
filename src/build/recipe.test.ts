import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { PhotonError } from '../util/errors.ts';
import { loadRecipe, loadRecipes, parseRecipe } from './recipe.ts';

const base = { name: 'foo', summary: 'Foo', license: 'MIT', debian: ['foo'] };

function problem(data: unknown, dir = '/x/SPECS/foo'): string {
  try {
    parseRecipe(data, `${dir}/recipe.yaml`, dir);
  } catch (e) {
    assert.ok(e instanceof PhotonError);
    assert.equal(e.file, `${dir}/recipe.yaml`);
    return e.message;
  }
  assert.fail('accepted');
}

test('a minimal recipe gets the defaults of the schema', () => {
  const r = parseRecipe(base, '/x/SPECS/foo/recipe.yaml', '/x/SPECS/foo');
  assert.equal(r.release, 1);
  assert.equal(r.arch, 'auto');
  assert.deepEqual(r.trim, { docs: true, man: true, locales: true, drop: [], keep: [] });
  assert.equal(r.autodeps, true);
  assert.deepEqual(r.subpackages, []);
});

test('unknown keys are named, at the top and inside nested objects', () => {
  assert.match(problem({ ...base, Requires: ['x'] }), /unknown key 'Requires'/);
  assert.match(problem({ ...base, trim: { docs: false, manpages: false } }), /trim: unknown key 'manpages'/);
  assert.match(problem({ ...base, subpackages: [{ name: 'foo-libs', summary: 's', files: ['/usr/lib/**'], typo: 1 }] }), /subpackages\.0: unknown key 'typo'/);
});

test('wrong types and bad values name the key', () => {
  assert.match(problem({ ...base, release: '1.ph5' }), /release:/);
  assert.match(problem({ ...base, version: '1.0-2' }), /version: an rpm version/);
  assert.match(problem({ ...base, config: ['etc/foo.conf'] }), /config\.0: an absolute path/);
  assert.match(problem({ ...base, attrs: { '/usr/bin/x': { mode: '755x' } } }), /attrs\.\/usr\/bin\/x\.mode/);
  assert.match(problem({ ...base, summary: undefined }), /summary/);
  assert.match(problem({ ...base, name: 'bar' }), /name: 'bar' differs from its folder 'foo'/);
  assert.match(problem({ ...base, debian: [] }), /version: required/);
  assert.match(problem({ ...base, subpackages: [{ name: 'foo', summary: 's', files: ['/x'] }] }), /subpackages\.0\.name: 'foo' is used twice/);
});

test('YAML errors and missing recipe files are reported with the file', async () => {
  const dir = await tempDir('recipe');
  try {
    await mkdir(join(dir, 'SPECS', 'foo'), { recursive: true });
    await writeFile(join(dir, 'SPECS', 'foo', 'recipe.yaml'), 'name: foo\nname: foo\n');
    await assert.rejects(loadRecipe(join(dir, 'SPECS', 'foo')), (e: PhotonError) => /not valid YAML/.test(e.message) && e.file!.endsWith('foo/recipe.yaml'));
    await mkdir(join(dir, 'SPECS', 'bar'));
    await writeFile(join(dir, 'SPECS', 'foo', 'recipe.yaml'), 'name: foo\nsummary: Foo\nlicense: MIT\ndebian: [foo]\n');
    await assert.rejects(loadRecipes(join(dir, 'SPECS')), (e: PhotonError) => /without recipe\.yaml/.test(e.message) && e.file!.endsWith('SPECS/bar'));
  } finally {
    await cleanup(dir);
  }
});
