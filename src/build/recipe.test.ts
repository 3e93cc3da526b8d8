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
  const r = parseRecipe(base, '/x/SPECS/foo/recipe.yaml', '/x/SPECS/foo')!;
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
  assert.match(problem({ ...base, exclusiveArch: ['i686'] }), /exclusiveArch\.0: x86_64 or aarch64/);
  assert.match(problem({ ...base, debian: [{ name: 'foo', exclusiveArch: [] }] }), /debian\.0/);
});

test('one recipe for every architecture: macros, exclusiveArch on the recipe, its Debian inputs and sub-packages', async () => {
  const dir = await tempDir('recipe');
  try {
    await mkdir(join(dir, 'SPECS', 'boot'), { recursive: true });
    await mkdir(join(dir, 'SPECS', 'pc'), { recursive: true });
    await writeFile(join(dir, 'SPECS', 'boot', 'recipe.yaml'), [
      'name: boot', 'summary: Boot', 'license: MIT',
      'debian: [boot-common, "boot-efi-%{debian_arch}-bin", {name: boot-pc-bin, exclusiveArch: [x86_64]}]',
      'trim: {drop: ["/usr/lib/%{deb_host_multiarch}/boot", "/usr/lib/boot/%{grub_efi}/x"]}',
      'scripts: {post: "cp boot%{efi_arch}.efi /efi/BOOT%{efi_arch}.EFI # %{_arch} %{name}"}',
      'subpackages:',
      '  - {name: boot-pc, summary: BIOS, files: [/usr/lib/boot/i386-pc], exclusiveArch: [x86_64]}',
      '  - {name: boot-efi, summary: UEFI, files: ["/usr/lib/boot/%{grub_efi}"]}',
    ].join('\n'));
    await writeFile(join(dir, 'SPECS', 'pc', 'recipe.yaml'), 'name: pc\nsummary: PC only\nlicense: MIT\nversion: "1"\nexclusiveArch: [x86_64]\n');
    const x86 = await loadRecipes(join(dir, 'SPECS'), 'x86_64');
    const arm = await loadRecipes(join(dir, 'SPECS'), 'aarch64');
    assert.deepEqual(x86.map((r) => r.name), ['boot', 'pc']);
    assert.deepEqual(arm.map((r) => r.name), ['boot']);
    const [bx, ba] = [x86[0]!, arm[0]!];
    assert.deepEqual(bx.debian, ['boot-common', 'boot-efi-amd64-bin', 'boot-pc-bin']);
    assert.deepEqual(ba.debian, ['boot-common', 'boot-efi-arm64-bin']);
    assert.deepEqual(bx.trim.drop, ['/usr/lib/x86_64-linux-gnu/boot', '/usr/lib/boot/x86_64-efi/x']);
    assert.deepEqual(ba.trim.drop, ['/usr/lib/aarch64-linux-gnu/boot', '/usr/lib/boot/arm64-efi/x']);
    // %{name} and the like are rpm's, left for the converter.
    assert.equal(ba.scripts.post, 'cp bootaa64.efi /efi/BOOTaa64.EFI # aarch64 %{name}');
    assert.deepEqual(bx.subpackages.map((p) => [p.name, p.files]), [['boot-pc', ['/usr/lib/boot/i386-pc']], ['boot-efi', ['/usr/lib/boot/x86_64-efi']]]);
    assert.deepEqual(ba.subpackages.map((p) => [p.name, p.files]), [['boot-efi', ['/usr/lib/boot/arm64-efi']]]);
    assert.ok(!('exclusiveArch' in ba) && !('exclusiveArch' in ba.subpackages[0]!));
  } finally {
    await cleanup(dir);
  }
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
