/**
 * Test support for the rpmdb and installer tests: tiny packages built with the host's rpmbuild,
 * and the host's rpm pointed at a root (Debian's rpm defaults %_dbpath to ~/.rpmdb, so the
 * dbpath is always passed).
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type RunResult } from '../util/run.ts';

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
  /** Scriptlets by section name ('post', 'preun', …): body lines. */
  scripts?: Record<string, string[]>;
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `photon-${prefix}-`));
}

/** Builds one binary package; returns its path. */
export async function buildRpm(dir: string, o: SpecOptions): Promise<string> {
  const top = join(dir, `top-${o.name}-${o.version ?? '1.0'}-${o.release ?? '1'}`);
  await mkdir(top, { recursive: true });
  const spec = [
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
  const specFile = join(top, `${o.name}.spec`);
  await writeFile(specFile, spec);
  await run('rpmbuild', [
    '--define', `_topdir ${top}`, '--define', '_build_id_links none', '--define', '__os_install_post %{nil}',
    '--quiet', '-bb', specFile,
  ]);
  const rpmsDir = join(top, 'RPMS', o.arch ?? 'noarch');
  const [f] = (await readdir(rpmsDir)).filter((x) => x.endsWith('.rpm'));
  return join(rpmsDir, f!);
}

/** Runs the host's rpm on `root` with the standard dbpath. */
export function hostRpm(root: string, args: string[], allowFailure = false): Promise<RunResult> {
  return run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', ...args], { allowFailure });
}

export async function cleanup(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
