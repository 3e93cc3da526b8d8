/**
 * The dependencies rpmbuild generates for one packaged file, as rpm 4.18's elfdeps and
 * script.req do (fileattrs/elf.attr, fileattrs/script.attr):
 *
 * ELF executables and shared objects (ET_EXEC, ET_DYN; whatever their mode):
 *   provides  SONAME()(64bit)            from DT_SONAME
 *             SONAME(VERSION)(64bit)     per version definition, SONAME being the base entry's name
 *             BASENAME()(64bit)          for ET_DYN without DT_SONAME and without DT_DEBUG
 *                                        (DT_DEBUG marks a PIE executable, not a library)
 *   and, only with an execute bit:
 *   requires  NEEDED()(64bit)            per DT_NEEDED
 *             FILE(VERSION)(64bit)       per version need
 *             rtld(GNU_HASH)             with DT_GNU_HASH but no DT_HASH
 * The "(64bit)" marker is for every 64-bit machine but Alpha; 32-bit files have none, and
 * their deps are the bare "libfoo.so.1" or "libfoo.so.1(VERSION)".
 * elfdeps reads only section headers, so a file without them (sstrip) gets no requires and
 * only the basename provide of a DSO.
 *
 * Scripts (with an execute bit, starting "#!"): a requires on the interpreter when it is an
 * absolute path ("#!/usr/bin/env python3" requires /usr/bin/env), and also on env's argument
 * when that is one ("#!/usr/bin/env /usr/bin/python3"), read with the rest of the line as rpm
 * reads it: "#!/usr/bin/env /usr/bin/perl -w" is an error (E_AUTODEPS), as it fails rpmbuild.
 *
 * Not done here: rpm's other generators (perl, python, pkgconfig, …), which apply by path.
 */
import { basename } from 'node:path';
import { EM, readElf } from '../formats/elf.ts';
import { isPhotonError, PhotonError } from '../util/errors.ts';

export interface AutoDeps {
  requires: string[];
  provides: string[];
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const ANY_EXEC = 0o111;

/**
 * `mode` is the file's st_mode; bare permission bits are taken as a regular file's. The
 * result is sorted and free of duplicates, as rpm stores dependencies.
 */
export function autoDeps(path: string, bytes: Uint8Array, mode: number): AutoDeps {
  const requires = new Set<string>();
  const provides = new Set<string>();
  const done = (): AutoDeps => ({ requires: [...requires].sort(byBytes), provides: [...provides].sort(byBytes) });
  if ((mode & S_IFMT) !== 0 && (mode & S_IFMT) !== S_IFREG) return done();
  const isExec = (mode & ANY_EXEC) !== 0;

  let elf;
  try {
    elf = readElf(bytes, path);
  } catch (e) {
    // elfdeps skips what libelf cannot read, and rpmbuild goes on: so do we.
    if (isPhotonError(e) && e.code === 'E_ELF') return done();
    throw e;
  }
  if (elf) {
    if (elf.type !== 'exec' && elf.type !== 'dyn') return done();
    const marker = elf.class === 64 && elf.machineId !== EM.ALPHA && elf.machineId !== EM.FAKE_ALPHA ? '(64bit)' : '';
    const dep = (name: string, version?: string) => (version !== undefined || marker ? `${name}(${version ?? ''})${marker}` : name);
    const fromSections = elf.dynamicFrom === 'sections';
    if (fromSections) {
      if (elf.soname !== undefined) provides.add(dep(elf.soname));
      if (isExec) for (const n of elf.needed) requires.add(dep(n));
      let base: string | undefined;
      for (const d of elf.verdefs) {
        if (d.base) base = d.name;
        else if (base !== undefined) provides.add(dep(base, d.name));
      }
      if (isExec) for (const need of elf.verneeds) for (const v of need.versions) requires.add(dep(need.file, v.name));
      if (isExec && elf.hasGnuHash && !elf.hasHash) requires.add('rtld(GNU_HASH)');
    }
    const hasDebug = fromSections && elf.hasDebug;
    const hasSoname = fromSections && elf.soname !== undefined;
    if (elf.type === 'dyn' && !hasDebug && !hasSoname) provides.add(dep(basename(path)));
    return done();
  }

  if (isExec && bytes[0] === 0x23 && bytes[1] === 0x21) {
    let end = bytes.indexOf(0x0a);
    if (end < 0) end = bytes.length;
    const line = new TextDecoder('utf-8').decode(bytes.subarray(0, Math.min(end, 4096)));
    // script.req's two sed expressions, with [[:space:]] spelled out.
    const interp = /^#![ \t\r\v\f]*(\/[^ \t\r\v\f]+)/.exec(line);
    if (interp) requires.add(interp[1]!);
    // The second one has no trailing ".*", so whatever follows env's argument is printed too,
    // and rpm reads that line as dependencies: "/usr/bin/perl -w" fails the build.
    const env = /^#![ \t\r\v\f]*[^ \t\r\v\f]*\/bin\/env[ \t\r\v\f]+(?=\/[^ \t\r\v\f]+)/.exec(line);
    if (env) for (const d of parseDepLine(line.slice(env[0].length), path)) requires.add(d);
  }
  return done();
}

const OPERATORS = new Set(['<', '>', '=', '<=', '>=', '==']);

/** A generator's output line as rpmfc reads it: names, each optionally followed by an operator and a version. */
function parseDepLine(line: string, path: string): string[] {
  const tokens = line.split(/[ \t\r\v\f]+/).filter(Boolean);
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const name = tokens[i]!;
    if (!/^[A-Za-z0-9_/]/.test(name)) {
      throw new PhotonError('E_AUTODEPS', `script interpreter line yields dependency token ${JSON.stringify(name)}; rpm requires tokens to begin with alpha-numeric, '_' or '/'`, { file: path });
    }
    const op = tokens[i + 1];
    if (op !== undefined && OPERATORS.has(op)) {
      const evr = tokens[i + 2];
      if (evr === undefined) throw new PhotonError('E_AUTODEPS', `script interpreter line: version missing after ${JSON.stringify(`${name} ${op}`)}`, { file: path });
      out.push(`${name} ${op === '==' ? '=' : op} ${evr}`);
      i += 2;
    } else out.push(name);
  }
  return out;
}

/** strcmp order, which is how rpm sorts dependency names. */
function byBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
