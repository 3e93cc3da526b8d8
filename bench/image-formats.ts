// Image output formats on a 1 GiB disk (GPT + ext4 holding ~490 MB of /usr), side by side with
// qemu-img where it writes the same format. Run alone with `node --import tsx bench/image-formats.ts`
// or through bench/run.ts once registered there. Each writer runs in its own process so that its
// time and peak RSS are its own.
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planLayout, writeTables } from '../src/formats/gpt.ts';
import { writeStreamOptimizedVmdk } from '../src/formats/vmdk.ts';
import { type OutputFormat, writeOutput } from '../src/image/outputs.ts';
import { run } from '../src/util/run.ts';
import type { Bench, BenchContext, BenchRow } from './run.ts';

const MiB = 1024 * 1024;
const SELF = fileURLToPath(import.meta.url);
const SOURCES = ['/usr/bin', '/usr/sbin', '/usr/libexec', '/usr/lib/python3', '/usr/lib/python3.11'];

/** The 1 GiB raw disk, made once and cached: a GPT, and an ext4 of SOURCES at the partition. */
async function ensureDisk(ctx: BenchContext): Promise<string> {
  const dir = join(ctx.cacheDir, 'image-formats');
  const disk = join(dir, 'disk-1g.raw');
  if (existsSync(disk)) return disk;
  await mkdir(dir, { recursive: true });
  ctx.log('image-formats: making a 1 GiB disk (GPT + ext4 of /usr/bin, /usr/sbin, /usr/libexec, python3) …');
  const tree = join(dir, 'tree');
  await rm(tree, { recursive: true, force: true });
  await mkdir(tree);
  for (const s of SOURCES.filter((p) => existsSync(p))) {
    const to = join(tree, s.slice('/usr/'.length));
    await mkdir(dirname(to), { recursive: true });
    // Hard links where the cache shares /usr's filesystem; a copy otherwise.
    await run('cp', ['-al', s, to], { allowFailure: true }).then((r) => (r.status === 0 ? undefined : cp(s, to, { recursive: true, verbatimSymlinks: true })));
  }
  const tmp = `${disk}.tmp`;
  await writeFile(tmp, '');
  const layout = planLayout(1024 * MiB, [{ sizeBytes: 0, type: 'linux' }], 'gpt');
  await writeTables(tmp, layout);
  const part = layout.partitions[0]!;
  const fs = join(dir, 'root.ext4');
  await rm(fs, { force: true });
  await run('mkfs.ext4', ['-q', '-d', tree, fs, `${part.sizeBytes / 1024}k`]);
  // dd keeps the holes (conv=sparse); the ext4 image is mostly empty.
  await run('dd', [`if=${fs}`, `of=${tmp}`, 'bs=1M', `seek=${part.offset / MiB}`, 'conv=notrunc,sparse', 'status=none']);
  await rm(fs);
  await rm(tree, { recursive: true, force: true });
  await run('mv', [tmp, disk]);
  return disk;
}

/** Runs `cmd` under /usr/bin/time for its wall time and peak RSS. */
async function timed(cmd: string, args: string[]): Promise<{ seconds: number; rssMB: number }> {
  const t0 = performance.now();
  const r = await run('/usr/bin/time', ['-f', '\n%M', cmd, ...args]);
  const seconds = (performance.now() - t0) / 1000;
  const lines = r.stderr.toString().trim().split('\n');
  return { seconds, rssMB: Number(lines[lines.length - 1]) / 1024 };
}

/** Our writer in a child process; it reports its own time, excluding Node's and tsx's start-up. */
async function ours(what: string, raw: string, out: string): Promise<{ seconds: number; rssMB: number }> {
  const r = await run('/usr/bin/time', ['-f', '\n%M', process.execPath, '--import', 'tsx', SELF, 'child', what, raw, out]);
  const stdout = JSON.parse(r.stdout.toString()) as { ms: number };
  const lines = r.stderr.toString().trim().split('\n');
  return { seconds: stdout.ms / 1000, rssMB: Number(lines[lines.length - 1]) / 1024 };
}

const sizeMB = async (p: string) => (await stat(p)).size / MiB;

export const bench: Bench = {
  name: 'image-formats',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const raw = await ensureDisk(ctx);
    const work = join(ctx.cacheDir, 'image-formats', 'out');
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    const rows: BenchRow[] = [];
    const load = (await readFile('/proc/loadavg', 'utf8').catch(() => '?')).split(' ')[0];

    const vOurs = await ours('vmdk', raw, join(work, 'ours.vmdk'));
    rows.push({ case: '1 GiB raw → stream-optimized VMDK', tool: 'photon-ts', ...vOurs, note: `${(await sizeMB(join(work, 'ours.vmdk'))).toFixed(0)} MB, zlib level 1, parallel; load ${load}` });
    const vQemu = await timed('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', raw, join(work, 'qemu.vmdk')]);
    rows.push({ case: 'same', tool: 'qemu-img convert', ...vQemu, note: `${(await sizeMB(join(work, 'qemu.vmdk'))).toFixed(0)} MB` });
    rows.push({ case: 'ratio photon-ts / qemu-img', tool: '', seconds: vOurs.seconds / vQemu.seconds, rssMB: vOurs.rssMB / vQemu.rssMB });
    const same = await run('qemu-img', ['compare', '-q', join(work, 'ours.vmdk'), join(work, 'qemu.vmdk')], { allowFailure: true });
    if (same.status !== 0) throw new Error('image-formats: our VMDK and qemu-img\'s differ');
    await rm(join(work, 'qemu.vmdk'));

    for (const f of ['ova', 'azure', 'gce'] as const) {
      const out = join(work, `photon.${f}`);
      const r = await ours(f, raw, out);
      rows.push({ case: `1 GiB raw → ${f}`, tool: 'photon-ts', ...r, note: `${(await sizeMB(out)).toFixed(0)} MB` });
      await rm(out);
    }
    const vpc = await timed('qemu-img', ['convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=fixed,force_size=on', raw, join(work, 'qemu.vhd')]);
    rows.push({ case: '1 GiB raw → fixed VHD', tool: 'qemu-img convert', ...vpc });
    await rm(work, { recursive: true, force: true });
    return rows;
  },
};

async function child(what: string, raw: string, out: string): Promise<void> {
  const t0 = performance.now();
  if (what === 'vmdk') await writeStreamOptimizedVmdk(raw, out);
  else await writeOutput(raw, what as OutputFormat, out, { name: 'photon', firmware: 'efi' });
  process.stdout.write(JSON.stringify({ ms: performance.now() - t0 }));
}

if (process.argv[1] === SELF) {
  if (process.argv[2] === 'child') {
    await child(process.argv[3]!, process.argv[4]!, process.argv[5]!);
  } else {
    const root = join(dirname(SELF), '..');
    const ctx: BenchContext = {
      root,
      shared: join(root, '..', 'shared'),
      cacheDir: join(process.env['XDG_CACHE_HOME'] ?? join(process.env['HOME'] ?? '/tmp', '.cache'), 'photon-bench'),
      log: (m: string) => process.stderr.write(`${m}\n`),
    };
    for (const r of await bench.run(ctx)) {
      process.stdout.write(`${r.case.padEnd(36)} ${r.tool.padEnd(18)} ${r.seconds.toFixed(2).padStart(7)} s ${r.rssMB.toFixed(0).padStart(6)} MB  ${r.note ?? ''}\n`);
    }
  }
}
