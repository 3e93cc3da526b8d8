/**
 * Scriptlets as rpm 4.18 runs them (lib/rpmscript.c runExtScript): the body goes to a file
 * under the root's /var/tmp, the interpreter (the *PROG tag, /bin/sh by default) runs it
 * with the instance count as $1, chrooted into the root unless the root is '/'. A scriptlet
 * without a body runs its interpreter with the count alone (`%post -p /sbin/ldconfig`).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Header, getString, getStrings } from '../formats/rpm-header.ts';
import { run } from '../util/run.ts';
import { TAG } from './tags.ts';

export type ScriptName = 'pretrans' | 'pre' | 'post' | 'preun' | 'postun' | 'posttrans';

const TAGS: Record<ScriptName, [script: number, prog: number, label: string]> = {
  pretrans: [TAG.PRETRANS, TAG.PRETRANSPROG, '%pretrans'],
  pre: [TAG.PREIN, TAG.PREINPROG, '%pre'],
  post: [TAG.POSTIN, TAG.POSTINPROG, '%post'],
  preun: [TAG.PREUN, TAG.PREUNPROG, '%preun'],
  postun: [TAG.POSTUN, TAG.POSTUNPROG, '%postun'],
  posttrans: [TAG.POSTTRANS, TAG.POSTTRANSPROG, '%posttrans'],
};

export interface ScriptOutcome {
  /** undefined when the package has no such scriptlet. */
  status: number | undefined;
  /** Why it failed or was skipped, for the caller's warning. */
  message?: string;
}

/** Runs one scriptlet of `h` in `root` with `arg1`. Never throws for the script's own failure. */
export async function runScriptlet(root: string, h: Header, which: ScriptName, arg1: number, nevra: string): Promise<ScriptOutcome> {
  const [scriptTag, progTag, label] = TAGS[which];
  const body = getString(h, scriptTag);
  const prog = getStrings(h, progTag);
  if (body === undefined && prog.length === 0) return { status: undefined };
  const argv = prog.length ? [...prog] : ['/bin/sh'];
  if (argv[0] === '<lua>') return { status: 0, message: `${label}(${nevra}): lua scriptlets are not supported, skipped` };
  let scriptFile: string | undefined;
  if (body !== undefined && body.trim() !== '') {
    const dir = join(root, 'var/tmp');
    await mkdir(dir, { recursive: true });
    const name = `rpm-tmp.${randomBytes(4).toString('hex')}`;
    scriptFile = join(dir, name);
    await writeFile(scriptFile, body, { mode: 0o700 });
    argv.push(`/var/tmp/${name}`);
  }
  argv.push(String(arg1));
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C', RPM_INSTALL_PREFIX: '/' };
  try {
    const chrooted = root !== '/';
    const cmd = chrooted ? 'chroot' : argv[0]!;
    const args = chrooted ? [root, ...argv] : argv.slice(1);
    const hostArgs = chrooted ? args : args.map((a) => (scriptFile && a === `/var/tmp/${scriptFile.slice(scriptFile.lastIndexOf('/') + 1)}` ? scriptFile : a));
    const r = await run(cmd, hostArgs, { env, allowFailure: true }).catch((e: Error) => ({ status: 127, stdout: Buffer.alloc(0), stderr: Buffer.from(e.message) }));
    if (r.status === 0) return { status: 0 };
    const err = r.stderr.toString().trim().split('\n').slice(-3).join(' / ');
    return { status: r.status, message: `${label}(${nevra}) scriptlet failed, exit status ${r.status}${err ? `: ${err}` : ''}` };
  } finally {
    if (scriptFile) await rm(scriptFile, { force: true });
  }
}
