import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { mutate, onlyPhotonErrors, prng } from '../../test/kit/random.ts';
import { isPhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import { type ElfInfo, readElf } from './elf.ts';

let dir: string;
before(async () => {
  dir = await tempDir('elf');
});
after(() => cleanup(dir));

/** What readelf says about a file, in ElfInfo's terms. */
async function readelf(file: string) {
  const out = async (flag: string) => (await run('readelf', [flag, '-W', file], { env: { ...process.env, LC_ALL: 'C' } })).stdout.toString();
  const h = await out('-h');
  const field = (name: string) => new RegExp(`^\\s*${name}:\\s+(.*)$`, 'm').exec(h)![1]!.trim();
  const machines: Record<string, string> = {
    'Advanced Micro Devices X86-64': 'x86_64', 'Intel 80386': 'i386', AArch64: 'aarch64', 'IBM S/390': 's390', ARM: 'arm',
  };
  const d = await out('-d');
  const dyn = (tag: string) => [...d.matchAll(new RegExp(`\\(${tag}\\)\\s+.*\\[(.*)\\]$`, 'gm'))].map((m) => m[1]!);
  const has = (tag: string) => new RegExp(`\\(${tag}\\)`).test(d);
  const v = await out('-V');
  const verdefs: ElfInfo['verdefs'] = [];
  const verneeds: ElfInfo['verneeds'] = [];
  for (const line of v.split('\n')) {
    let m = /^\s*(?:0x)?[0-9a-f]+: Rev: \d+\s+Flags: (.*?)\s+Index: (\d+)\s+Cnt: \d+\s+Name: (\S+)$/.exec(line);
    if (m) {
      const flags = m[1] === 'none' ? 0 : m[1]!.split(' | ').reduce((f, x) => f | (x === 'BASE' ? 1 : x === 'WEAK' ? 2 : 0), 0);
      verdefs.push({ index: Number(m[2]), flags, base: (flags & 1) !== 0, name: m[3]!, parents: [] });
      continue;
    }
    m = /^\s*(?:0x)?[0-9a-f]+: Parent \d+: (\S+)$/.exec(line);
    if (m) {
      verdefs.at(-1)!.parents.push(m[1]!);
      continue;
    }
    m = /^\s*(?:0x)?[0-9a-f]+: Version: \d+\s+File: (\S+)\s+Cnt: \d+$/.exec(line);
    if (m) {
      verneeds.push({ file: m[1]!, versions: [] });
      continue;
    }
    m = /^\s*(?:0x)?[0-9a-f]+:\s+Name: (\S+)\s+Flags: (.*?)\s+Version: (\d+)$/.exec(line);
    if (m) {
      const flags = m[2] === 'none' ? 0 : m[2] === 'WEAK' ? 2 : -1;
      verneeds.at(-1)!.versions.push({ name: m[1]!, index: Number(m[3]), flags, weak: flags === 2 });
    }
  }
  const interp = /\[Requesting program interpreter: (.*)\]/.exec(await out('-l'))?.[1];
  return {
    class: field('Class') === 'ELF64' ? 64 : 32,
    endian: /little/.test(field('Data')) ? 'little' : 'big',
    type: ({ DYN: 'dyn', EXEC: 'exec', REL: 'rel', CORE: 'core' } as Record<string, string>)[field('Type').split(' ')[0]!],
    machine: machines[field('Machine')] ?? field('Machine'),
    interp,
    needed: dyn('NEEDED'),
    soname: dyn('SONAME')[0],
    rpath: dyn('RPATH')[0],
    runpath: dyn('RUNPATH')[0],
    hasHash: has('HASH'),
    hasGnuHash: has('GNU_HASH'),
    hasDebug: has('DEBUG'),
    verdefs,
    verneeds,
  };
}

function ours(info: ElfInfo | undefined) {
  assert.ok(info);
  const { class: cls, endian, type, machine, interp, needed, soname, rpath, runpath, hasHash, hasGnuHash, hasDebug, verdefs, verneeds } = info;
  return { class: cls, endian, type, machine, interp, needed, soname, rpath, runpath, hasHash, hasGnuHash, hasDebug, verdefs, verneeds };
}

async function compare(file: string): Promise<ElfInfo> {
  const bytes = await readFile(file);
  const info = readElf(bytes, file)!;
  assert.deepEqual(ours(info), await readelf(file), file);
  return info;
}

test('host binaries read as readelf reads them', async () => {
  const bash = await compare('/usr/bin/bash');
  assert.deepEqual([bash.type, bash.machine, bash.interp, bash.dynamicFrom], ['dyn', 'x86_64', '/lib64/ld-linux-x86-64.so.2', 'sections']);
  assert.ok(bash.needed.includes('libc.so.6') && bash.verneeds.some((n) => n.file === 'libc.so.6' && n.versions.some((x) => x.name === 'GLIBC_2.2.5')));

  const libc = await compare('/lib/x86_64-linux-gnu/libc.so.6');
  assert.equal(libc.soname, 'libc.so.6');
  assert.deepEqual(libc.verdefs[0]!, { index: 1, flags: 1, base: true, name: 'libc.so.6', parents: [] });
  assert.ok(libc.verdefs.some((v) => v.name === 'GLIBC_2.2.6' && v.parents.includes('GLIBC_2.2.5')), 'GLIBC_2.2.6 inherits GLIBC_2.2.5');

  for (const f of ['libstdc++.so.6', 'libz.so.1', 'libtinfo.so.6', 'libssl.so.3', 'libgcc_s.so.1']) {
    const p = `/lib/x86_64-linux-gnu/${f}`;
    if (existsSync(p)) await compare(p);
  }
  // A statically linked binary: an executable with no dynamic section at all.
  const busybox = await compare('/bin/busybox');
  assert.deepEqual([busybox.type, busybox.needed, busybox.dynamicFrom, busybox.interp], ['exec', [], undefined, undefined]);
});

test('other classes, byte orders and machines, from Debian packages', async () => {
  const debs = join(dir, 'debs');
  await mkdir(debs);
  // i386 (32-bit), aarch64, s390x (big-endian): arch-all cross packages and amd64's lib32 libc.
  await run('apt-get', ['download', '-q', 'libc6-i386', 'libc6-arm64-cross', 'libc6-s390x-cross'], { cwd: debs });
  const root = join(dir, 'root');
  for (const f of await readdir(debs)) if (f.endsWith('.deb')) await run('dpkg-deb', ['-x', join(debs, f), root]);
  const cases: Array<[string, Partial<ElfInfo>]> = [
    ['usr/lib32/libc.so.6', { class: 32, endian: 'little', machine: 'i386', soname: 'libc.so.6' }],
    ['usr/aarch64-linux-gnu/lib/libc.so.6', { class: 64, endian: 'little', machine: 'aarch64', soname: 'libc.so.6' }],
    ['usr/s390x-linux-gnu/lib/libc.so.6', { class: 64, endian: 'big', machine: 's390', soname: 'libc.so.6' }],
  ];
  for (const [rel, want] of cases) {
    // lib32 moved between releases; take whichever path the package uses.
    const file = [join(root, rel), join(root, rel.replace('usr/lib32', 'lib32'))].find((p) => existsSync(p));
    assert.ok(file, `${rel} in the extracted packages`);
    const info = await compare(file);
    for (const [k, v] of Object.entries(want)) assert.equal(info[k as keyof ElfInfo], v, `${rel}: ${k}`);
    assert.ok(info.verdefs.length > 10 && info.needed.length > 0, rel);
  }
});

test('without section headers the dynamic segment is read instead', async () => {
  const bytes = new Uint8Array(await readFile('/usr/bin/bash'));
  const full = readElf(bytes)!;
  // What sstrip does: the section header table is gone from the ELF header.
  const stripped = bytes.slice();
  const view = new DataView(stripped.buffer);
  view.setBigUint64(40, 0n, true);
  view.setUint16(60, 0, true);
  view.setUint16(62, 0, true);
  const info = readElf(stripped)!;
  assert.equal(info.dynamicFrom, 'segments');
  assert.deepEqual(
    [info.needed, info.verneeds, info.hasGnuHash, info.hasHash, info.hasDebug, info.interp],
    [full.needed, full.verneeds, full.hasGnuHash, full.hasHash, full.hasDebug, full.interp],
  );
  // And readelf, which falls back to the dynamic segment too, agrees.
  const file = join(dir, 'bash-sstripped');
  await writeFile(file, stripped);
  const theirs = await readelf(file);
  assert.deepEqual([info.needed, info.hasGnuHash, info.interp], [theirs.needed, theirs.hasGnuHash, theirs.interp]);
  const libc = new Uint8Array(await readFile('/lib/x86_64-linux-gnu/libc.so.6'));
  const fullLibc = readElf(libc)!;
  const s2 = libc.slice();
  new DataView(s2.buffer).setBigUint64(40, 0n, true);
  new DataView(s2.buffer).setUint16(60, 0, true);
  const libcSeg = readElf(s2)!;
  assert.deepEqual([libcSeg.soname, libcSeg.verdefs], [fullLibc.soname, fullLibc.verdefs]);
});

test('not ELF: undefined; truncated or corrupt ELF: E_ELF naming the file', async () => {
  assert.equal(readElf(new TextEncoder().encode('#!/bin/sh\necho hi\n')), undefined);
  assert.equal(readElf(new Uint8Array(0)), undefined);
  const bash = new Uint8Array(await readFile('/usr/bin/bash'));
  const bad = (b: Uint8Array, re: RegExp) =>
    assert.throws(() => readElf(b, 'x.so'), (e: unknown) => isPhotonError(e) && e.code === 'E_ELF' && e.file === 'x.so' && re.test(e.message));
  bad(bash.subarray(0, 40), /shorter than an ELF header/);
  bad(bash.subarray(0, 4096), /outside the file/);
  bad(bash.subarray(0, bash.length - 100), /outside the file/); // section headers sit at the end
  const cls = bash.slice();
  cls[4] = 9;
  bad(cls, /unknown ELF class/);
  // A DT_NEEDED pointing far past the string table.
  const info = readElf(bash)!;
  assert.ok(info.needed.length);
  const shoff = Number(new DataView(bash.buffer, bash.byteOffset).getBigUint64(40, true));
  const view = new DataView(bash.buffer.slice(0));
  const corrupt = new Uint8Array(view.buffer);
  const shnum = view.getUint16(60, true);
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * 64;
    if (view.getUint32(at + 4, true) !== 6) continue;
    const off = Number(view.getBigUint64(at + 24, true));
    for (let e = off; ; e += 16) if (view.getBigInt64(e, true) === 1n) { view.setBigUint64(e + 8, 0xffffffn, true); break; }
  }
  bad(corrupt, /DT_NEEDED: string index 16777215 is past its string table/);
});

test('fuzz: mutated binaries read or fail with PhotonError only', async () => {
  const rnd = prng(0xe1f);
  // A small real library keeps each iteration cheap.
  const small = (await readdir('/lib/x86_64-linux-gnu')).map((f) => `/lib/x86_64-linux-gnu/${f}`).find((f) => /libz\.so\.1$|libtinfo\.so\.6$/.test(f))!;
  const base = new Uint8Array(await readFile(small));
  for (let i = 0; i < 200; i++) onlyPhotonErrors(`iteration ${i}`, () => readElf(mutate(rnd, base)));
  // Header fields set to large values, where offsets and counts are read.
  for (let i = 0; i < 300; i++) {
    const b = base.slice();
    const at = 16 + Math.floor(rnd() * 48);
    b[at] = 0xff;
    b[at + 1] = Math.floor(rnd() * 256);
    onlyPhotonErrors(`header iteration ${i}`, () => readElf(b));
  }
});
