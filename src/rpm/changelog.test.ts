import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildRpm } from '../../test/kit/rpmbuild.ts';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { isPhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import { parseChangelog } from './changelog.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const CHANGELOG = `* Mon Nov 23 2026 Jane Doe <jane@example.com> - 1.0-2
- Harden the default configuration
- Second line

* Fri Jan 02 2026 John Roe <john@example.com> - 1.0-1
- Initial package
`;

let work: string;
before(async () => {
  work = await tempDir('changelog');
});
after(async () => {
  await cleanup(work);
});

test('pack --changelog stores what rpmbuild stores for the same %changelog', async () => {
  const theirs = await buildRpm(work, `Name: c\nVersion: 1.0\nRelease: 2\nSummary: s\nLicense: MIT\nBuildArch: noarch\n%description\nd\n%files\n%changelog\n${CHANGELOG}`);

  const tree = join(work, 'tree');
  await mkdir(tree);
  const clog = join(work, 'changelog');
  await writeFile(clog, CHANGELOG);
  const ours = join(work, 'ours.rpm');
  await run(process.execPath, ['--import', 'tsx', join(repo, 'src/cli/photon.ts'), 'rpm', 'pack', '-C', tree, '-o', ours,
    '--name', 'c', '--version', '1.0', '--release', '2', '--changelog', clog], { cwd: repo });
  const q = async (f: string) => (await run('rpm', ['-qp', '--qf', '[%{CHANGELOGTIME} %{CHANGELOGNAME}\n%{CHANGELOGTEXT}\n]', f])).stdout.toString();
  assert.equal(await q(ours), await q(theirs));
  assert.equal((await run('rpm', ['-qp', '--changelog', ours])).stdout.toString(), (await run('rpm', ['-qp', '--changelog', theirs])).stdout.toString());
});

test('malformed changelogs fail naming the file and line', () => {
  const bad: Array<[string, RegExp]> = [
    ['* Tue Nov 23 2026 J <j@x> - 1\n- x\n', /line 1: Nov 23 2026 is not a Tue/],
    ['* Mon Foo 23 2026 J <j@x> - 1\n', /line 1: bad date/],
    ['* Mon Nov 31 2026 J <j@x> - 1\n', /line 1: /],
    ['- text first\n', /line 1: text before the first entry/],
    ['* Fri Jan 02 2026 J <j@x> - 1\n- a\n* Mon Nov 23 2026 J <j@x> - 2\n- b\n', /line 3: entries must be newest first/],
    ['* Monday\n', /line 1: bad changelog entry header/],
  ];
  for (const [text, re] of bad) {
    assert.throws(() => parseChangelog(text, 'CHANGES'), (e: unknown) => isPhotonError(e) && e.file === 'CHANGES' && re.test(e.message), text);
  }
});
