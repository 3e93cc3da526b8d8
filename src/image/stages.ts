/**
 * The image pipeline's own stages (configure and initramfs live in their modules):
 * install → (configure) → kernel+initramfs → bootloader files → filesystems → disk.
 * Each takes the staging root or work directory and the typed kickstart; none mounts anything
 * or uses a loop device: filesystems are made from directories and copied into the disk file.
 */
import { createReadStream } from 'node:fs';
import { chmod, cp, mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Layout, planLayout } from '../formats/gpt.ts';
import { type Arch, efiArch, hostRpmArch } from '../util/arch.ts';
import { PhotonError, withFile } from '../util/errors.ts';
import { run } from '../util/run.ts';
import type { DiskLayout, Kickstart, LayoutPartition } from './kickstart.ts';

export interface StageContext {
  /** Scratch space of this build; removed afterwards. */
  work: string;
  /** The staging root the packages are installed into. */
  root: string;
  log: (line: string) => void;
}

/** Where packages come from: a photon build stage directory or a repository URL. */
export interface RepoSource {
  baseurl: string;
  /** A key to check signatures with (file:// or http(s)://), if the repository ships one. */
  gpgkey?: string | undefined;
}

/** The boot-time pieces the bootmode needs, installed with the kickstart's packages. */
export function bootPackages(ks: Kickstart): string[] {
  const out: string[] = [];
  if (ks.bootmode !== 'bios') out.push('systemd-boot');
  if (ks.bootmode !== 'efi') out.push('grub2-pc');
  return out;
}

/**
 * The tdnf.conf and .repo text the install stage runs tdnf with: the kickstart's `repos` when it
 * has any, else one repo per source (signature-checked when the source ships a key).
 * `insecure_repo` is POI's: sslverify=0 for every repo, signatures still checked.
 */
export function buildTdnfConfig(
  ks: Pick<Kickstart, 'repos' | 'insecure_repo'>,
  sources: readonly RepoSource[],
  paths: { repoDir: string; cachedir: string },
): { conf: string; repo: string } {
  const value = (v: unknown): string => (Array.isArray(v) ? v.join(' ') : typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  // Over the kickstart's own sslverify too: POI sets it on every repo.
  const section = (head: string, lines: string[]): string =>
    [head, ...(ks.insecure_repo ? [...lines.filter((l) => !l.startsWith('sslverify=')), 'sslverify=0'] : lines), ''].join('\n');
  const sections = Object.keys(ks.repos).length
    ? Object.entries(ks.repos).map(([id, r]) => section(`[${id}]`, Object.entries(r).map(([k, v]) => `${k}=${value(v)}`)))
    : sources.map((r, i) => section(`[image-build-${i}]`, [`name=image build ${i}`, `baseurl=${r.baseurl}`, 'enabled=1',
        ...(r.gpgkey ? ['gpgcheck=1', 'repo_gpgcheck=1', `gpgkey=${r.gpgkey}`] : ['gpgcheck=0'])]));
  return {
    conf: ['[main]', 'gpgcheck=1', `repodir=${paths.repoDir}`, `cachedir=${paths.cachedir}`, 'keepcache=0',
      ...(ks.insecure_repo ? ['sslverify=0'] : []), ''].join('\n'),
    repo: sections.join('\n'),
  };
}

/**
 * Installs the package set with our tdnf (the bundle, as images run it) into the staging root.
 * The repository file used for the build is removed afterwards: the image keeps photon-repos'.
 */
export async function installPackages(ks: Kickstart, ctx: StageContext, repos: RepoSource[], tdnf: string): Promise<void> {
  const root = ctx.root;
  // Scriptlets write to /dev/null; without a device there they would leave a plain file behind.
  await mkdir(join(root, 'dev'), { recursive: true });
  await run('mknod', ['-m', '666', join(root, 'dev', 'null'), 'c', '1', '3']);
  // The build's own tdnf.conf and repositories live outside the root: the image keeps photon-repos'.
  const conf = join(ctx.work, 'tdnf.conf');
  const repoDir = join(ctx.work, 'repos.d');
  const files = buildTdnfConfig(ks, repos, { repoDir, cachedir: ks.tdnf_cachedir ?? join(ctx.work, 'tdnf-cache') });
  await writeFile(conf, files.conf);
  await mkdir(repoDir, { recursive: true });
  await writeFile(join(repoDir, 'image-build.repo'), files.repo);
  const packages = [...new Set([...ks.packages, ...bootPackages(ks)])];
  await checkForeignArch(ks);
  ctx.log(`installing ${packages.join(' ')}`);
  const res = await run(process.execPath, [tdnf, '--installroot', root, '-c', conf, '--releasever', '5.0', '--forcearch', ks.arch, '-y', '-q', 'install', ...packages], { allowFailure: true });
  if (res.status !== 0) {
    throw new PhotonError('E_IMAGE_INSTALL', `tdnf install failed: ${(res.stderr.toString() + res.stdout.toString()).trim().split('\n').slice(-15).join('\n')}`, { file: ks.file });
  }
  // A package's %pre creates its users when systemd-sysusers (or useradd) is already in the
  // root; in a first transaction dbus may come before systemd. Apply every sysusers.d file now,
  // as the packages would have on a running system (systemd does not on an image's first boot).
  const sysusers = await stat(join(root, 'usr', 'bin', 'systemd-sysusers')).catch(() => undefined);
  if (sysusers) await run('chroot', [root, '/usr/bin/systemd-sysusers']);
}

/**
 * Another architecture's root (aarch64 on an x86_64 host) runs its packages' scriptlets under
 * QEMU's user-mode emulation, which the kernel hands its binaries to through binfmt_misc, as
 * for mkosi's or osbuild's foreign builds: without it, fail before installing anything.
 */
async function checkForeignArch(ks: Kickstart): Promise<void> {
  const host = hostRpmArch();
  if (ks.arch === host) return;
  const entry = await readFile(`/proc/sys/fs/binfmt_misc/qemu-${ks.arch}`, 'utf8').catch(() => '');
  if (!/^enabled$/m.test(entry)) {
    throw new PhotonError('E_IMAGE', `arch ${ks.arch} on a ${host} host runs the packages' scriptlets under QEMU user emulation, and binfmt_misc has no enabled qemu-${ks.arch} entry: apt-get install qemu-user-static binfmt-support (binfmt_misc mounted on /proc/sys/fs/binfmt_misc)`, { file: ks.file });
  }
}

/** The one kernel the flavor installed: its version and image path inside the root. */
export async function installedKernel(root: string): Promise<{ kver: string; vmlinuz: string }> {
  const boot = await readdir(join(root, 'boot')).catch(() => [] as string[]);
  const kernels = boot.filter((f) => f.startsWith('vmlinuz-')).sort();
  if (kernels.length !== 1) throw new PhotonError('E_IMAGE', `expected one kernel in /boot, found ${kernels.length ? kernels.join(', ') : 'none'}`);
  return { kver: kernels[0]!.slice('vmlinuz-'.length), vmlinuz: `/boot/${kernels[0]}` };
}

/** Partition GUIDs and offsets, from the kickstart's layout, before anything is written. */
export function planDisk(ks: Kickstart, random?: (n: number) => Uint8Array): Layout {
  const kinds: Record<LayoutPartition['type'], 'esp' | 'linux' | 'bios-boot' | 'swap'> = { esp: 'esp', linux: 'linux', bios: 'bios-boot', swap: 'swap' };
  const parts = ks.layout.partitions.map((p) => ({
    sizeBytes: p.extensible ? 0 : p.sizeBytes,
    type: kinds[p.type],
    name: p.label ?? (p.mountpoint === '/' ? 'root' : p.type === 'esp' ? 'EFI System Partition' : p.type === 'bios' ? 'BIOS boot' : p.mountpoint ?? p.type),
    bootable: ks.layout.table === 'msdos' && p.mountpoint === (ks.layout.partitions.some((x) => x.mountpoint === '/boot') ? '/boot' : '/'),
  }));
  const layout = planLayout(ks.layout.diskBytes, parts, ks.layout.table, random ? { random } : {});
  for (const [i, p] of layout.partitions.entries()) {
    const want = ks.layout.partitions[i]!;
    if (p.offset !== want.startBytes) throw new PhotonError('E_LAYOUT', `partition ${p.number}: planned at ${p.offset}, the kickstart layout says ${want.startBytes}`, { file: ks.file });
  }
  return layout;
}

/** mountpoint → PARTUUID, for fstab and the kernel command line. */
export function partuuids(ks: Kickstart, layout: Layout): Record<string, string> {
  const out: Record<string, string> = {};
  ks.layout.partitions.forEach((p, i) => {
    if (p.mountpoint) out[p.mountpoint] = layout.partitions[i]!.partuuid;
  });
  return out;
}

/** What Photon's grub.cfg reads before its boot line (`load_env`), from GRUB environment blocks in /boot. */
export interface BootEnvironment {
  /** photon_cmdline of /boot/photon.cfg: the kernel package's linux-<ver>.cfg, its flavor's arguments. */
  photonCmdline?: string | undefined;
  /** systemd_cmdline of /boot/systemd.cfg, when a package ships one. */
  systemdCmdline?: string | undefined;
}

/** The image's boot environment: photon.cfg and systemd.cfg as GRUB's load_env reads them (a missing one is empty). */
export async function bootEnvironment(root: string): Promise<BootEnvironment> {
  const env = async (name: string) => {
    const path = join(root, 'boot', name);
    return parseGrubEnv(await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '';
      throw withFile(e, path);
    }));
  };
  return { photonCmdline: (await env('photon.cfg'))['photon_cmdline'], systemdCmdline: (await env('systemd.cfg'))['systemd_cmdline'] };
}

/** key=value lines of a GRUB environment block; `#` starts a comment (and pads the block). */
function parseGrubEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (line.startsWith('#') || eq <= 0) continue;
    out[line.slice(0, eq)] = line.slice(eq + 1).trim();
  }
  return out;
}

/**
 * Kernel command line, as Photon's grub.cfg makes it: root by PARTUUID, the flavor's
 * $photon_cmdline (init=, ro or rw, quiet, its tuning), $systemd_cmdline (net.ifnames=0 unless a
 * package sets it), then rootwait and the consoles. Without a photon.cfg (an image of another
 * distribution, in the benchmark): ro quiet.
 */
export function kernelCmdline(ks: Pick<Kickstart, 'arch' | 'linux_flavor'>, rootPartuuid: string, env: BootEnvironment = {}): string {
  // The last console= is /dev/console. PCs: VGA and the 8250 UART; arm64: the PL011 UART of
  // QEMU's virt board and most SoCs (a console that is not there is skipped).
  const consoles = ks.arch === 'aarch64' ? ['console=ttyS0,115200n8', 'console=ttyAMA0,115200n8'] : ['console=tty0', 'console=ttyS0,115200n8'];
  const words = (s: string) => s.split(/\s+/).filter(Boolean);
  const args = [`root=PARTUUID=${rootPartuuid}`, ...words(env.photonCmdline ?? 'ro quiet'), ...words(env.systemdCmdline ?? 'net.ifnames=0'), 'rootwait', ...consoles];
  if (ks.linux_flavor === 'linux-rt') args.push('nohz_full=1-3');
  return args.join(' ');
}

/**
 * EFI: systemd-boot as the removable-media loader (\EFI\BOOT\BOOTX64.EFI, found by firmware
 * without NVRAM entries), the kernel and initramfs on the ESP beside it, one loader entry.
 */
export async function efiBootFiles(ctx: StageContext, esp: string, kernel: { kver: string; vmlinuz: string }, initrd: Uint8Array, cmdline: string, arch: Arch): Promise<void> {
  const efiName = `BOOT${efiArch(arch).toUpperCase()}.EFI`;
  const loader = join(ctx.root, 'usr', 'lib', 'systemd', 'boot', 'efi', `systemd-boot${efiArch(arch)}.efi`);
  await mkdir(join(esp, 'EFI', 'BOOT'), { recursive: true });
  await mkdir(join(esp, 'loader', 'entries'), { recursive: true });
  await mkdir(join(esp, 'photon'), { recursive: true });
  await cp(loader, join(esp, 'EFI', 'BOOT', efiName)).catch(() => {
    throw new PhotonError('E_IMAGE', 'systemd-boot is not installed in the image (no /usr/lib/systemd/boot/efi)');
  });
  await cp(join(ctx.root, kernel.vmlinuz), join(esp, 'photon', `vmlinuz-${kernel.kver}`));
  await writeFile(join(esp, 'photon', `initrd-${kernel.kver}`), initrd);
  // No menu: the one entry boots at once (a menu timeout is seconds of TCG boot time).
  await writeFile(join(esp, 'loader', 'loader.conf'), 'default photon-*\ntimeout 0\nconsole-mode keep\neditor no\n');
  await writeFile(
    join(esp, 'loader', 'entries', `photon-${kernel.kver}.conf`),
    `title Photon OS (${kernel.kver})\nversion ${kernel.kver}\nlinux /photon/vmlinuz-${kernel.kver}\ninitrd /photon/initrd-${kernel.kver}\noptions ${cmdline}\n`,
  );
}

/**
 * Splits the staging root into one directory per filesystem: each mountpoint's subtree moves
 * out of its parent's tree (leaving the empty mountpoint), deepest first.
 */
export async function splitMounts(ctx: StageContext, layout: DiskLayout): Promise<Map<string, string>> {
  const trees = new Map<string, string>();
  const mounts = layout.partitions.filter((p) => p.mountpoint && p.filesystem !== 'swap').map((p) => p.mountpoint!);
  for (const m of [...mounts].sort((a, b) => b.length - a.length)) {
    if (m === '/') continue;
    const dest = join(ctx.work, 'fs', m.replace(/\//g, '_'));
    await mkdir(join(ctx.work, 'fs'), { recursive: true });
    const src = join(ctx.root, m);
    await mkdir(src, { recursive: true });
    await rename(src, dest);
    await mkdir(src, { mode: 0o755 });
    trees.set(m, dest);
  }
  trees.set('/', ctx.root);
  return trees;
}

function uuidOf(partuuid: string): string {
  return partuuid.toLowerCase();
}

/**
 * The partition's filesystem, made from its directory straight into the disk file at the
 * partition's offset (mke2fs -E offset, mkfs.vfat --offset, mtools' image@@offset): no
 * intermediate image, no copy. Only swap, whose mkswap has no offset, goes through a file.
 */
export async function makeFilesystem(p: LayoutPartition, dir: string | undefined, disk: string, offset: number, fsUuid: string): Promise<void> {
  const sizeKiB = Math.floor(p.sizeBytes / 1024);
  switch (p.filesystem) {
    case 'ext4': {
      const args = ['-q', '-F', '-t', 'ext4', '-U', uuidOf(fsUuid), '-E', `root_owner=0:0,offset=${offset},nodiscard`, ...p.mkfs_options];
      if (p.label) args.push('-L', p.label);
      if (dir) args.push('-d', dir);
      await run('mke2fs', [...args, disk, `${sizeKiB}k`]);
      return;
    }
    case 'vfat': {
      const serial = fsUuid.replace(/-/g, '').slice(0, 8);
      const label = (p.label ?? (p.type === 'esp' ? 'ESP' : 'DATA')).slice(0, 11).toUpperCase();
      // mkfs.fat sizes clusters by what follows the offset (the rest of the disk), not by the
      // partition: give Microsoft's FAT32 cluster size for the partition's own size.
      const mib = p.sizeBytes / 1048576;
      const cluster = mib < 260 ? 1 : mib < 8192 ? 8 : mib < 16384 ? 16 : 32;
      await run('mkfs.vfat', [`--offset=${offset / 512}`, '-F', '32', '-s', String(cluster), '-i', serial, '-n', label, ...p.mkfs_options, disk, String(sizeKiB)]);
      const entries = dir ? (await readdir(dir)).map((e) => join(dir, e)) : [];
      if (entries.length) await run('mcopy', ['-s', '-p', '-Q', '-m', '-i', `${disk}@@${offset}`, ...entries, '::/']);
      return;
    }
    case 'swap': {
      const file = `${disk}.swap-${p.number}`;
      const fh = await open(file, 'w');
      await fh.truncate(p.sizeBytes);
      await fh.close();
      try {
        await run('mkswap', ['-U', uuidOf(fsUuid), ...(p.label ? ['-L', p.label] : []), file]);
        await placeImage(disk, offset, file);
      } finally {
        await rm(file, { force: true });
      }
      return;
    }
    default:
      throw new PhotonError('E_IMAGE', `partition ${p.number}: no filesystem to make`);
  }
}

const CHUNK = 1 << 20;

/** Copies `src` into `disk` at `offset`, skipping all-zero chunks so the disk file stays sparse. */
export async function placeImage(disk: string, offset: number, src: string): Promise<void> {
  const fh = await open(disk, 'r+');
  const zero = Buffer.alloc(CHUNK);
  try {
    let pos = 0;
    for await (const chunk of createReadStream(src, { highWaterMark: CHUNK })) {
      const b = chunk as Buffer;
      if (!(b.length === CHUNK ? b.equals(zero) : b.equals(zero.subarray(0, b.length)))) await fh.write(b, 0, b.length, offset + pos);
      pos += b.length;
    }
  } finally {
    await fh.close();
  }
}

/** Root-only files the build itself left (our /dev/null) go before the tree becomes a filesystem. */
export async function cleanRoot(root: string): Promise<void> {
  await rm(join(root, 'dev', 'null'), { force: true });
  const st = await stat(join(root, 'dev')).catch(() => undefined);
  if (st) await chmod(join(root, 'dev'), 0o755);
}

/** Offsets in GRUB's i386-pc boot.img and diskboot.img (grub-core/boot/i386/pc/boot.S, diskboot.S). */
const BOOT_KERNEL_SECTOR = 0x5c;
const BOOT_DRIVE_CHECK = 0x66;
const DISKBOOT_LIST_END = 0x200;
const DISKBOOT_LIST_SIZE = 12;

export interface BiosBoot {
  /** The first 440 bytes of the disk: boot.img, pointing at core.img. */
  bootCode: Uint8Array;
  core: Uint8Array;
  /** Where core.img goes: the BIOS boot partition, or the gap after an msdos MBR. */
  coreOffset: number;
}

/**
 * BIOS: what grub-bios-setup does, on a disk file instead of a device. core.img (made by the
 * image's own grub-mkimage, with an early config that finds / by filesystem UUID) goes into
 * the BIOS boot partition; boot.img in the MBR loads its first sector, whose block list loads
 * the rest. grub.cfg on / boots the same kernel and initramfs as the EFI entry.
 */
export async function biosGrub(ctx: StageContext, layout: Layout, rootFsUuid: string, kernel: { kver: string }, cmdline: string): Promise<BiosBoot> {
  const grubDir = join(ctx.root, 'usr', 'lib', 'grub', 'i386-pc');
  const bootImg = await readFileOr(join(grubDir, 'boot.img'), 'grub2-pc is not installed in the image (no /usr/lib/grub/i386-pc)');
  await mkdir(join(ctx.root, 'boot', 'grub2'), { recursive: true });
  await writeFile(
    join(ctx.root, 'boot', 'grub2', 'grub.cfg'),
    [
      'set timeout=0',
      'serial --unit=0 --speed=115200',
      'terminal_input console serial',
      'terminal_output console serial',
      `menuentry "Photon OS (${kernel.kver})" {`,
      `  linux /boot/vmlinuz-${kernel.kver} ${cmdline}`,
      `  initrd /boot/initrd.img-${kernel.kver}`,
      '}',
      '',
    ].join('\n'),
  );
  const early = join(ctx.root, 'tmp', 'grub-early.cfg');
  await mkdir(join(ctx.root, 'tmp'), { recursive: true });
  await writeFile(early, `search --no-floppy --fs-uuid --set=root ${rootFsUuid}\nset prefix=($root)/boot/grub2\n`);
  const core = join(ctx.root, 'tmp', 'core.img');
  const table = layout.table === 'gpt' ? 'part_gpt' : 'part_msdos';
  await run('chroot', [ctx.root, '/usr/bin/grub-mkimage', '-O', 'i386-pc', '-d', '/usr/lib/grub/i386-pc', '-o', '/tmp/core.img', '-c', '/tmp/grub-early.cfg',
    '-p', '/boot/grub2', 'biosdisk', table, 'ext2', 'search', 'search_fs_uuid', 'normal', 'configfile', 'linux', 'serial', 'terminal', 'echo', 'test']);
  const coreImg = new Uint8Array(await readFile(core));
  await rm(core, { force: true });
  await rm(early, { force: true });

  const biosPart = layout.partitions.find((p) => p.type === 'bios-boot');
  const coreOffset = biosPart ? biosPart.offset : 512;
  const room = biosPart ? biosPart.sizeBytes : (layout.partitions[0]?.offset ?? 0) - 512;
  if (coreImg.length > room) throw new PhotonError('E_IMAGE', `GRUB core.img is ${coreImg.length} bytes; the space for it holds ${room}`);
  const sectors = Math.ceil(coreImg.length / 512);
  const coreLba = BigInt(coreOffset / 512);
  // diskboot.img's block list: the rest of core.img, right after its first sector.
  const dv = new DataView(coreImg.buffer, coreImg.byteOffset, coreImg.byteLength);
  const list = DISKBOOT_LIST_END - DISKBOOT_LIST_SIZE;
  dv.setBigUint64(list, coreLba + 1n, true);
  dv.setUint16(list + 8, sectors - 1, true);
  const boot = new Uint8Array(bootImg.subarray(0, 440));
  new DataView(boot.buffer).setBigUint64(BOOT_KERNEL_SECTOR, coreLba, true);
  // A hard disk: skip boot.img's floppy probe, as grub-bios-setup does without --allow-floppy.
  boot[BOOT_DRIVE_CHECK] = 0x90;
  boot[BOOT_DRIVE_CHECK + 1] = 0x90;
  return { bootCode: boot, core: coreImg, coreOffset };
}

async function readFileOr(path: string, why: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(path).catch(() => {
    throw new PhotonError('E_IMAGE', why);
  }));
}
