/**
 * Test support: builds packages with the host's rpmbuild into a temporary _topdir, so tests
 * compare our reader and writer against rpm's own output. Not used by the toolkit itself.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../util/run.ts';

/** A spec exercising what the reader must handle: config, doc, dirs, ghosts, symlinks, hard links, scriptlets, rich deps. */
export const FEATURE_SPEC = `
Name: feat
Version: 2.1
Release: 3
Epoch: 4
Summary: feature test package
License: MIT and BSD
URL: https://example.org/feat
Group: Test
Vendor: Photon Tests
Packager: Tester <t@example.org>
BuildArch: noarch
Requires: bash >= 4.0
Requires(pre): coreutils
Requires(post,postun): /usr/bin/grep
Requires: (python3 or python2)
Recommends: fancy-feature
Suggests: (pkga if pkgb)
Provides: feat-api = 1.2
Conflicts: oldfeat < 1.0
Obsoletes: feature-old <= 2.0
Supplements: (feat-plugin and feat)
Enhances: feat-core

%description
A package with every feature
the reader needs to see.

%install
mkdir -p %{buildroot}/etc/feat %{buildroot}/usr/bin %{buildroot}/usr/share/doc/feat %{buildroot}/usr/lib/feat/empty %{buildroot}/var/lib/feat
echo "setting=1" > %{buildroot}/etc/feat/feat.conf
echo "other" > %{buildroot}/etc/feat/plain.conf
printf '#!/bin/sh\\necho feat\\n' > %{buildroot}/usr/bin/feat
chmod 755 %{buildroot}/usr/bin/feat
ln %{buildroot}/usr/bin/feat %{buildroot}/usr/bin/feat-hard
ln -s feat %{buildroot}/usr/bin/feat-link
ln -s /etc/feat/feat.conf %{buildroot}/usr/lib/feat/conf-link
head -c 70000 /dev/zero | tr '\\0' 'x' > %{buildroot}/usr/lib/feat/big.dat
: > %{buildroot}/usr/lib/feat/empty.dat
echo readme > %{buildroot}/usr/share/doc/feat/README

%pre
echo pre "$1"

%post -p /bin/bash
echo post

%preun -p <lua>
print("preun")

%postun -p /sbin/ldconfig

%pretrans -p <lua>
print("pretrans")

%posttrans
echo posttrans

%files
%config(noreplace) /etc/feat/feat.conf
%config /etc/feat/plain.conf
%dir /etc/feat
/usr/bin/feat
/usr/bin/feat-hard
/usr/bin/feat-link
%attr(0640,root,root) /usr/lib/feat/big.dat
/usr/lib/feat/empty.dat
/usr/lib/feat/conf-link
%dir /usr/lib/feat/empty
%dir /usr/lib/feat
%ghost /var/lib/feat/state
%dir /var/lib/feat
%doc /usr/share/doc/feat/README

%changelog
* Tue Jan 02 2024 Second Person <two@example.org> - 4:2.1-3
- second entry
- with two lines

* Mon Jan 01 2024 First Person <one@example.org> - 1.0-1
- first entry
`;

/** Builds `spec` with rpmbuild; `payload` is a _binary_payload value such as w9.gzdio. */
export async function rpmbuild(spec: string, payload?: string): Promise<{ file: string; cleanup: () => Promise<void> }> {
  const top = await mkdtemp(join(tmpdir(), 'photon-rpmbuild-'));
  const specFile = join(top, 'pkg.spec');
  await writeFile(specFile, spec);
  const args = [
    '-bb', '--quiet', '--define', `_topdir ${top}`, '--define', 'debug_package %{nil}', '--define', '_build_id_links none',
    '--define', 'source_date_epoch_from_changelog 0', '--define', '__os_install_post %{nil}',
  ];
  if (payload) args.push('--define', `_binary_payload ${payload}`);
  await run('rpmbuild', [...args, specFile], { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000', LC_ALL: 'C' } });
  const dir = join(top, 'RPMS', 'noarch');
  const files = await readdir(dir);
  return { file: join(dir, files[0]!), cleanup: () => rm(top, { recursive: true, force: true }) };
}
