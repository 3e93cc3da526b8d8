// `npm run bench:image`: the minimal image (profiles/minimal.yaml from ./stage) beside a Debian 12
// image made with debootstrap from a comparable package set, in one run:
//
//   1. build: ours = buildImage (a child process, under /usr/bin/time for its peak RSS) from a warm
//      stage; Debian = debootstrap (timed only when it runs: the tree is cached in
//      ~/.cache/photon-bench/debian-root) + "raw disk from the tree" (the same GPT layout, ESP with
//      systemd-boot and our loader entry, mkfs.ext4 -d ROOT); sizes on disk, apparent, installed;
//   2. the stream-optimized VMDK of each raw, right after the raws are written (as an OVA build
//      writes it): our writer and qemu-img convert;
//   3. QEMU start → login prompt under TCG with OVMF, best of BENCH_BOOTS (default 2), alternating;
//      each image keeps its UEFI variables from boot to boot, as a VM's NVRAM is kept (boot 1
//      starts from OVMF's template);
//   4. each image's initramfs: size and the number of kernel modules in it.
//
// Ratios are ours / Debian's (below 1: we are faster or smaller). Our targets from the issue are
// printed beside our figures with PASS/MISS, and the issue's reference figures beside Debian's.
// Guests get QEMU's restricted user network (no outside addresses). Temporary images are removed.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readCpio } from '../src/formats/cpio.ts';
import { decompressAuto } from '../src/formats/decompress.ts';
import { writeTables } from '../src/formats/gpt.ts';
import { writeStreamOptimizedVmdk } from '../src/formats/vmdk.ts';
import { buildImage } from '../src/image/build.ts';
import { loadKickstart } from '../src/image/kickstart.ts';
import { type Accel, startVm } from '../src/image/qemu.ts';
import { type StageContext, efiBootFiles, installedKernel, kernelCmdline, makeFilesystem, partuuids, planDisk } from '../src/image/stages.ts';
import { run } from '../src/util/run.ts';

const SELF = fileURLToPath(import.meta.url);
const ROOT = join(dirname(SELF), '..');
const KS = join(ROOT, 'profiles', 'minimal.yaml');
const STAGE = join(ROOT, 'stage');
const MiB = 1024 * 1024;
const CACHE = join(process.env['XDG_CACHE_HOME'] ?? join(process.env['HOME'] ?? '/tmp', '.cache'), 'photon-bench');
const DEBIAN_ROOT = join(CACHE, 'debian-root');
const DEBIAN_META = `${DEBIAN_ROOT}.json`;
const MIRROR = 'http://deb.debian.org/debian';
const INCLUDE = 'systemd,systemd-sysv,udev,openssh-server,iproute2,linux-image-cloud-amd64,initramfs-tools,systemd-boot';
const BOOTS = Math.max(1, Number(process.env['BENCH_BOOTS'] ?? 2));
const BOOT_TIMEOUT_MS = 600_000;
const LOGIN = /login: ?$/m;
/** The targets are TCG figures; PHOTON_QEMU_ACCEL=kvm measures with KVM instead. */
const ACCEL: Accel = process.env['PHOTON_QEMU_ACCEL'] === 'kvm' ? 'kvm' : 'tcg';

const log = (m: string) => process.stderr.write(`${m}\n`);

interface Timed {
  seconds: number;
  rssMB?: number;
  /** User + system CPU seconds (GNU time's %U + %S): less moved by other load than wall time. */
  cpu?: number;
}

/** Runs `cmd` under /usr/bin/time: wall seconds, CPU seconds and peak RSS (GNU time's %M, the largest process). */
async function timed(cmd: string, args: string[]): Promise<Timed & { stdout: string }> {
  const t0 = performance.now();
  const r = await run('/usr/bin/time', ['-f', '\n%M %U %S', cmd, ...args]);
  const seconds = (performance.now() - t0) / 1000;
  const [rss, user, sys] = r.stderr.toString().trim().split('\n').at(-1)!.split(' ').map(Number);
  return { seconds, rssMB: rss! / 1024, cpu: user! + sys!, stdout: r.stdout.toString() };
}

/** One of our operations in a child process (see child() below): its own time, the process's peak RSS. */
async function ours<T>(args: string[]): Promise<Timed & { wall: number; result: T }> {
  const r = await timed(process.execPath, ['--import', 'tsx', SELF, 'child', ...args]);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { ms: number; result: T };
  return { seconds: out.ms / 1000, rssMB: r.rssMB!, cpu: r.cpu!, wall: r.seconds, result: out.result };
}

async function du(path: string, apparent: boolean): Promise<number> {
  const r = await run('du', ['-s', apparent ? '-b' : '-B1', path]);
  return Number(r.stdout.toString().split('\t')[0]);
}

// ---------------------------------------------------------------------------------------------
// Debian: the debootstrap tree (cached) and a raw disk made from it the way our builder does.

interface DebianMeta {
  seconds: number;
  rssMB: number;
  date: string;
  include: string;
}

/** The debootstrap tree, made when missing (or made with another package set). */
async function ensureDebianRoot(): Promise<{ ranNow: boolean; meta: DebianMeta }> {
  const meta = existsSync(DEBIAN_META) ? (JSON.parse(await readFile(DEBIAN_META, 'utf8')) as DebianMeta) : undefined;
  if (meta && meta.include === INCLUDE && existsSync(join(DEBIAN_ROOT, 'usr', 'lib', 'systemd', 'boot', 'efi', 'systemd-bootx64.efi'))) {
    return { ranNow: false, meta };
  }
  const tmp = `${DEBIAN_ROOT}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await rm(DEBIAN_ROOT, { recursive: true, force: true });
  await mkdir(CACHE, { recursive: true });
  log(`image: debootstrap bookworm into ${DEBIAN_ROOT} (timed) …`);
  const t = await timed('debootstrap', ['--variant=minbase', `--include=${INCLUDE}`, 'bookworm', tmp, MIRROR]).catch((e: unknown) => {
    if (e instanceof Error && /debootstrap not found|ENOENT/.test(e.message)) throw new Error('debootstrap is not installed: apt-get install debootstrap');
    throw e;
  });
  // What an image build would drop: downloaded packages and the package lists.
  for (const d of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
    for (const f of await readdir(join(tmp, d)).catch(() => [] as string[])) {
      if (f.endsWith('.deb') || (d.endsWith('lists') && f !== 'partial' && f !== 'lock')) await rm(join(tmp, d, f), { force: true });
    }
  }
  await rename(tmp, DEBIAN_ROOT);
  const m: DebianMeta = { seconds: t.seconds, rssMB: t.rssMB!, date: new Date().toISOString(), include: INCLUDE };
  await writeFile(DEBIAN_META, `${JSON.stringify(m, null, 2)}\n`);
  return { ranNow: true, meta: m };
}

/**
 * The Debian tree as a raw disk, with our pieces: the minimal profile's GPT layout (planLayout via
 * planDisk, writeTables), an ESP with systemd-boot as BOOTX64.EFI and the kernel, Debian's
 * initrd and our loader entry (efiBootFiles), a root ext4 from the directory (makeFilesystem,
 * which writes each filesystem into the disk file at its partition's offset).
 */
async function debianDisk(work: string, out: string): Promise<{ kver: string }> {
  const ks = await loadKickstart(KS);
  const layout = planDisk(ks);
  const uuids = partuuids(ks, layout);
  const ctx: StageContext = { root: DEBIAN_ROOT, work, log };
  await writeFile(join(DEBIAN_ROOT, 'etc', 'fstab'), `PARTUUID=${uuids['/']} / ext4 defaults 0 1\nPARTUUID=${uuids['/boot/efi']} /boot/efi vfat umask=0077 0 2\n`);
  await writeFile(join(DEBIAN_ROOT, 'etc', 'hostname'), 'debian\n');
  await mkdir(join(DEBIAN_ROOT, 'boot', 'efi'), { recursive: true });
  const kernel = await installedKernel(DEBIAN_ROOT);
  const initrd = new Uint8Array(await readFile(join(DEBIAN_ROOT, 'boot', `initrd.img-${kernel.kver}`)));
  const esp = join(work, 'esp');
  await rm(esp, { recursive: true, force: true });
  await efiBootFiles(ctx, esp, kernel, initrd, kernelCmdline(ks, uuids['/']!), 'x86_64');
  const fh = await open(out, 'w');
  await fh.truncate(layout.diskBytes);
  await fh.close();
  // As buildImage does: each filesystem made from its directory straight into the disk file.
  for (const [i, p] of ks.layout.partitions.entries()) {
    await makeFilesystem(p, p.mountpoint === '/' ? DEBIAN_ROOT : esp, out, layout.partitions[i]!.offset, randomUUID());
  }
  await writeTables(out, layout);
  await rm(esp, { recursive: true, force: true });
  return { kver: kernel.kver };
}

// ---------------------------------------------------------------------------------------------
// Measurements shared by both images.

/**
 * QEMU start → login prompt on the serial console, seconds. A QEMU killed from outside (another
 * job's pkill on a shared machine: "terminating on signal") is started again, at most twice.
 */
async function bootOnce(image: string, serialLog: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    await rm(serialLog, { force: true });
    const vm = await startVm({ image, firmware: 'efi', memoryMiB: 1536, cpus: 2, accel: ACCEL, serialLog, nvram: `${image}.nvram` });
    try {
      await vm.waitFor(LOGIN, BOOT_TIMEOUT_MS);
      return (performance.now() - vm.startedAt) / 1000;
    } catch (e) {
      if (attempt < 2 && /terminating on signal/.test(vm.stderr())) {
        log(`image: QEMU was killed from outside (${vm.stderr().trim().split('\n').at(-1)}); booting again`);
        continue;
      }
      throw e;
    } finally {
      await vm.stop();
    }
  }
}

const KO = /\.ko(\.(xz|zst|gz))?$/;

/** Size and module count of an initramfs, read with our decompressor and cpio reader. */
async function initramfsStats(bytes: Uint8Array): Promise<{ bytes: number; modules: number }> {
  let modules = 0;
  for await (const e of readCpio(decompressAuto([bytes]))) if (KO.test(e.name)) modules++;
  return { bytes: bytes.length, modules };
}

/** Ours from the image's ESP (/photon/initrd-KVER), read with mtools at the partition's offset. */
async function ourInitrd(raw: string, kver: string, work: string): Promise<Uint8Array> {
  const ks = await loadKickstart(KS);
  const esp = ks.layout.partitions.find((p) => p.type === 'esp')!;
  const out = join(work, 'ours-initrd');
  await run('mcopy', ['-n', '-i', `${raw}@@${esp.startBytes}`, `::/photon/initrd-${kver}`, out]);
  const b = new Uint8Array(await readFile(out));
  await rm(out);
  return b;
}

/** Debian's, counted as the issue does: lsinitramfs | grep -c '\.ko' (inside the tree, which has initramfs-tools). */
async function debianModules(kver: string): Promise<{ count: number; how: string }> {
  const r = await run('chroot', [DEBIAN_ROOT, 'lsinitramfs', `/boot/initrd.img-${kver}`], { allowFailure: true });
  if (r.status === 0) return { count: r.stdout.toString().split('\n').filter((l) => /\.ko/.test(l)).length, how: 'lsinitramfs' };
  const s = await initramfsStats(new Uint8Array(await readFile(join(DEBIAN_ROOT, 'boot', `initrd.img-${kver}`))));
  return { count: s.modules, how: 'our cpio reader (lsinitramfs failed)' };
}

// ---------------------------------------------------------------------------------------------
// The table.

interface Row {
  measure: string;
  ours: string;
  debian: string;
  ratio: string;
  ref: string;
  target: string;
}

const sec = (s: number) => `${s.toFixed(1)} s`;
const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '');
const verdict = (v: number, max: number, unit: string) => `≤ ${max} ${unit}: ${v <= max ? 'PASS' : 'MISS'}`;

function table(rows: Row[]): string {
  const head: Row = { measure: 'measure', ours: 'photon-ts', debian: 'Debian 12 (debootstrap)', ratio: 'ours/Debian', ref: 'issue ref (Debian)', target: 'our target' };
  const keys = Object.keys(head) as (keyof Row)[];
  const widths = keys.map((k) => Math.max(...[head, ...rows].map((r) => r[k].length)));
  const line = (r: Row) => keys.map((k, i) => r[k].padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const work = join(CACHE, 'image-bench');
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const notes: string[] = [];
  const loadavg = async () => (await readFile('/proc/loadavg', 'utf8').catch(() => '?')).split(' ').slice(0, 3).join(' ');
  try {
    log('image: node bin/photon.js build -q (cached; brings ./stage up to date) …');
    await run(process.execPath, [join(ROOT, 'bin', 'photon.js'), 'build', '-q'], { cwd: ROOT });
    if (!existsSync(join(ROOT, 'dist', 'tdnf.mjs'))) await run('npm', ['run', '-s', 'build'], { cwd: ROOT });

    // Debian's tree first, so that a debootstrap does not run beside our build.
    const deb = await ensureDebianRoot();
    const loadStart = await loadavg();

    log('image: building the minimal raw image (ours) …');
    const oursRaw = join(work, 'photon-minimal.raw');
    const built = await ours<{ kver: string; installedBytes: number; stages: { name: string; seconds: number }[] }>(['build', oursRaw]);
    const oursDiskStages = built.result.stages.filter((s) => !['plan', 'install', 'configure'].includes(s.name)).reduce((a, s) => a + s.seconds, 0);
    log(`image: ours built in ${sec(built.seconds)} (${built.result.stages.map((x) => `${x.name} ${x.seconds.toFixed(1)}`).join(', ')})`);
    const oursInstall = built.result.stages.filter((s) => ['install', 'configure'].includes(s.name)).reduce((a, s) => a + s.seconds, 0);

    log('image: Debian raw disk from the tree …');
    const debRaw = join(work, 'debian-12.raw');
    const t0 = performance.now();
    const debDisk = await debianDisk(work, debRaw);
    const debDiskSeconds = (performance.now() - t0) / 1000;
    log(`image: Debian raw disk in ${sec(debDiskSeconds)}`);

    const sizes = {
      ours: { alloc: await du(oursRaw, false), apparent: (await stat(oursRaw)).size, installed: built.result.installedBytes },
      debian: { alloc: await du(debRaw, false), apparent: (await stat(debRaw)).size, installed: await du(DEBIAN_ROOT, true) },
    };

    const oursInitrd = await initramfsStats(await ourInitrd(oursRaw, built.result.kver, work));
    const debInitrdBytes = (await stat(join(DEBIAN_ROOT, 'boot', `initrd.img-${debDisk.kver}`))).size;
    const debMods = await debianModules(debDisk.kver);

    // Right after the raw disks are written, as `photon image build --format ova` writes its VMDK.
    log('image: stream-optimized VMDKs …');
    const vmdk = async (raw: string, name: string) => {
      const o = await ours<{ size: number }>(['vmdk', raw, join(work, `${name}-ours.vmdk`)]);
      await rm(join(work, `${name}-ours.vmdk`));
      const q = await timed('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', raw, join(work, `${name}-qemu.vmdk`)]);
      const qSize = (await stat(join(work, `${name}-qemu.vmdk`))).size;
      await rm(join(work, `${name}-qemu.vmdk`));
      log(`image:   ${name}: our writer ${sec(o.seconds)}, qemu-img ${sec(q.seconds)}`);
      return { ours: o, oursSize: o.result.size, qemu: q, qemuSize: qSize };
    };
    const vOurs = await vmdk(oursRaw, 'photon');
    const vDeb = await vmdk(debRaw, 'debian');

    // Boots alternate, so that a change in the machine's load falls on both alike.
    const boots = { ours: [] as number[], debian: [] as number[] };
    for (let i = 0; i < BOOTS; i++) {
      log(`image: boot ${i + 1}/${BOOTS}: ours …`);
      boots.ours.push(await bootOnce(oursRaw, join(work, `ours-serial-${i}.log`)));
      log(`image:   ours: login prompt after ${sec(boots.ours.at(-1)!)}`);
      log(`image: boot ${i + 1}/${BOOTS}: Debian …`);
      boots.debian.push(await bootOnce(debRaw, join(work, `debian-serial-${i}.log`)));
      log(`image:   Debian: login prompt after ${sec(boots.debian.at(-1)!)}`);
    }
    const bestOurs = Math.min(...boots.ours);
    const bestDeb = Math.min(...boots.debian);

    const loadEnd = await loadavg();

    const debBuild = deb.ranNow ? deb.meta.seconds + debDiskSeconds : Number.NaN;
    const rows: Row[] = [
      {
        measure: 'build, warm cache → raw (total)',
        ours: sec(built.seconds),
        debian: deb.ranNow ? sec(debBuild) : `(debootstrap cached) + ${sec(debDiskSeconds)}`,
        ratio: ratio(built.seconds, debBuild),
        ref: '65–77 + 5–8 s',
        target: verdict(built.seconds, 60, 's'),
      },
      {
        measure: '  packages in: install+configure | debootstrap',
        ours: sec(oursInstall),
        debian: deb.ranNow ? `${sec(deb.meta.seconds)} (ran now)` : `cached, not timed (built ${deb.meta.date.slice(0, 16)} in ${sec(deb.meta.seconds)})`,
        ratio: deb.ranNow ? ratio(oursInstall, deb.meta.seconds) : '',
        ref: '65–77 s',
        target: '',
      },
      {
        measure: '  raw disk from the tree',
        ours: sec(oursDiskStages),
        debian: sec(debDiskSeconds),
        ratio: ratio(oursDiskStages, debDiskSeconds),
        ref: '5–8 s',
        target: '',
      },
      { measure: '  CPU time of the build', ours: sec(built.cpu!), debian: '', ratio: '', ref: '', target: '' },
      { measure: '  peak RSS of the build', ours: `${built.rssMB!.toFixed(0)} MB`, debian: deb.ranNow ? `${deb.meta.rssMB.toFixed(0)} MB (debootstrap)` : '', ratio: '', ref: '', target: '' },
      { measure: 'image on disk (allocated, du)', ours: mib(sizes.ours.alloc), debian: mib(sizes.debian.alloc), ratio: ratio(sizes.ours.alloc, sizes.debian.alloc), ref: '', target: '' },
      { measure: 'image apparent size', ours: mib(sizes.ours.apparent), debian: mib(sizes.debian.apparent), ratio: ratio(sizes.ours.apparent, sizes.debian.apparent), ref: '', target: '' },
      { measure: 'installed root (du -sb)', ours: mib(sizes.ours.installed), debian: mib(sizes.debian.installed), ratio: ratio(sizes.ours.installed, sizes.debian.installed), ref: '', target: '' },
      {
        measure: `QEMU start → login prompt (best of ${BOOTS})`,
        ours: sec(bestOurs),
        debian: sec(bestDeb),
        ratio: ratio(bestOurs, bestDeb),
        ref: '27 s',
        target: verdict(bestOurs, 15, 's'),
      },
      { measure: '  every boot', ours: boots.ours.map((s) => s.toFixed(1)).join(', '), debian: boots.debian.map((s) => s.toFixed(1)).join(', '), ratio: '', ref: '', target: '' },
      { measure: 'initramfs size', ours: mib(oursInitrd.bytes), debian: mib(debInitrdBytes), ratio: ratio(oursInitrd.bytes, debInitrdBytes), ref: '14.6 MiB', target: '' },
      { measure: 'initramfs kernel modules', ours: String(oursInitrd.modules), debian: String(debMods.count), ratio: ratio(oursInitrd.modules, debMods.count), ref: '190', target: '' },
      {
        measure: 'raw → streamOptimized VMDK, our writer',
        ours: sec(vOurs.ours.seconds),
        debian: sec(vDeb.ours.seconds),
        ratio: '',
        ref: '',
        target: verdict(vOurs.ours.seconds, 5, 's'),
      },
      { measure: 'raw → streamOptimized VMDK, qemu-img', ours: sec(vOurs.qemu.seconds), debian: sec(vDeb.qemu.seconds), ratio: '', ref: '20 s (1 GiB)', target: '' },
      {
        measure: '  our writer / qemu-img (same raw)',
        ours: ratio(vOurs.ours.seconds, vOurs.qemu.seconds),
        debian: ratio(vDeb.ours.seconds, vDeb.qemu.seconds),
        ratio: '',
        ref: '',
        target: '',
      },
      { measure: '  VMDK size, our writer | qemu-img', ours: `${mib(vOurs.oursSize)} | ${mib(vOurs.qemuSize)}`, debian: `${mib(vDeb.oursSize)} | ${mib(vDeb.qemuSize)}`, ratio: '', ref: '', target: '' },
      {
        measure: '  VMDK CPU time, our writer | qemu-img',
        ours: `${vOurs.ours.cpu!.toFixed(1)} | ${vOurs.qemu.cpu!.toFixed(1)} s`,
        debian: `${vDeb.ours.cpu!.toFixed(1)} | ${vDeb.qemu.cpu!.toFixed(1)} s`,
        ratio: '',
        ref: '',
        target: '',
      },
      { measure: '  VMDK peak RSS, our writer | qemu-img', ours: `${vOurs.ours.rssMB!.toFixed(0)} | ${vOurs.qemu.rssMB!.toFixed(0)} MB`, debian: `${vDeb.ours.rssMB!.toFixed(0)} | ${vDeb.qemu.rssMB!.toFixed(0)} MB`, ratio: '', ref: '', target: '' },
    ];
    notes.push(
      `kernels: ours ${built.result.kver}, Debian ${debDisk.kver}; both disks ${mib(sizes.ours.apparent)} with the minimal profile's GPT layout (100 MiB ESP + ext4 root); accel ${ACCEL}, OVMF (each image's variable store kept across its boots), 1536 MiB, 2 vCPUs, restricted user network`,
      `build: ours is buildImage's own time in a child process (${sec(built.wall)} with Node start-up); Debian's total is debootstrap + raw disk, only when debootstrap ran in this run`,
      'CPU times (user + system of the process tree, Node start-up included for ours) are the figures least moved by other load on the machine',
      `"raw disk from the tree": ours = initramfs + bootloader + filesystems + disk + format stages; Debian = ESP files + mkfs.vfat/mcopy + mkfs.ext4 -d at the partitions' offsets + GPT (its initrd was made by debootstrap)`,
      `Debian modules counted with ${debMods.how}; ours with our cpio reader on the ESP's /photon/initrd-${built.result.kver}`,
      `load average at start ${loadStart}, at end ${loadEnd} (2 shared cores: figures move with it)`,
    );
    process.stdout.write(`\n## image (ratio = ours / Debian; below 1 is better for us)\n\n${table(rows)}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** What runs in a child process: our build or our VMDK writer, timed from inside. */
async function child(what: string, args: string[]): Promise<void> {
  const t0 = performance.now();
  let result: unknown;
  if (what === 'build') {
    const ks = await loadKickstart(KS);
    const r = await buildImage(ks, {
      format: 'raw',
      output: resolve(args[0]!),
      repos: [{ baseurl: pathToFileURL(STAGE).href + '/', gpgkey: pathToFileURL(join(STAGE, 'RPM-GPG-KEY-photon')).href }],
      tdnf: join(ROOT, 'dist', 'tdnf.mjs'),
      log: (l) => process.stderr.write(`${l}\n`),
    });
    result = { kver: r.kver, installedBytes: r.installedBytes, stages: r.stages };
  } else if (what === 'vmdk') {
    const r = await writeStreamOptimizedVmdk(args[0]!, args[1]!);
    result = { size: r.size };
  } else if (what === 'debian-root') {
    result = await ensureDebianRoot();
  } else throw new Error(`unknown child ${what}`);
  process.stdout.write(`${JSON.stringify({ ms: performance.now() - t0, result })}\n`);
}

if (process.argv[1] === SELF) {
  if (process.argv[2] === 'child') await child(process.argv[3]!, process.argv.slice(4));
  else await main();
}
