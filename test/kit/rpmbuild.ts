/**
 * Packages built by the host's rpmbuild, so tests can hold our reader, writer, rpmdb and
 * installer against rpm's own output; and the host's rpm pointed at a root.
 */
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, type RunResult } from '../../src/util/run.ts';

/** A small package described by its parts; buildRpm renders the spec. */
export interface SpecOptions {
  name: string;
  version?: string;
  release?: string;
  epoch?: number;
  arch?: string;
  /** Extra preamble lines: Requires:, Provides:, … */
  preamble?: string[];
  /** Shell lines for %install; $RPM_BUILD_ROOT is the tree. */
  install?: string[];
  /** %files lines. */
  files?: string[];
  /** Scriptlets and triggers by section head ('post', 'triggerin -- bar', …): body lines. */
  scripts?: Record<string, string[]>;
}

export function specText(o: SpecOptions): string {
  return [
    `Name: ${o.name}`,
    `Version: ${o.version ?? '1.0'}`,
    `Release: ${o.release ?? '1'}`,
    ...(o.epoch !== undefined ? [`Epoch: ${o.epoch}`] : []),
    `Summary: test package ${o.name}`,
    'License: MIT',
    `BuildArch: ${o.arch ?? 'noarch'}`,
    ...(o.preamble ?? []),
    '%description',
    `Test package ${o.name}.`,
    '%install',
    'mkdir -p $RPM_BUILD_ROOT',
    ...(o.install ?? []),
    ...Object.entries(o.scripts ?? {}).flatMap(([k, body]) => [`%${k}`, ...body]),
    '%files',
    ...(o.files ?? []),
    '',
  ].join('\n');
}

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

export interface BuildOptions {
  /** A _binary_payload value such as w9.gzdio; rpm's default otherwise. */
  payload?: string;
  /** Build the source package (rpmbuild -bs) instead of the binary one. */
  source?: boolean;
}

/**
 * Builds the one package of `spec` (spec text, or the parts of a small one) in a fresh _topdir
 * under `dir` and returns its path; removing `dir` removes it. SOURCE_DATE_EPOCH is fixed and
 * rpmbuild's debuginfo, build-id links and brp scripts are off, so builds are quick and repeatable.
 */
export async function buildRpm(dir: string, spec: string | SpecOptions, options: BuildOptions = {}): Promise<string> {
  const text = typeof spec === 'string' ? spec : specText(spec);
  const name = /^Name:\s*(\S+)/m.exec(text)?.[1] ?? 'pkg';
  const top = await mkdtemp(join(dir, `rpmbuild-${name}-`));
  const specFile = join(top, `${name}.spec`);
  await writeFile(specFile, text);
  const args = [
    options.source ? '-bs' : '-bb', '--quiet', '--define', `_topdir ${top}`, '--define', 'debug_package %{nil}',
    '--define', '_build_id_links none', '--define', 'source_date_epoch_from_changelog 0', '--define', '__os_install_post %{nil}',
  ];
  if (options.payload) args.push('--define', `_binary_payload ${options.payload}`);
  await run('rpmbuild', [...args, specFile], { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000', LC_ALL: 'C' } });
  // Binary packages land in RPMS/ARCH/, source packages in SRPMS/.
  const out = join(top, options.source ? 'SRPMS' : 'RPMS');
  const built = (await readdir(out, { recursive: true })).filter((f) => f.endsWith('.rpm'));
  if (built.length !== 1) throw new Error(`rpmbuild ${name}: expected one package, got ${built.join(', ') || 'none'}`);
  return join(out, built[0]!);
}

/** Runs the host's rpm on `root`. The dbpath is explicit: Debian's rpm defaults %_dbpath to ~/.rpmdb. */
export function hostRpm(root: string, args: string[], allowFailure = false): Promise<RunResult> {
  return run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', ...args], { allowFailure });
}
