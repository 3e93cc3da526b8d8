/**
 * `photon image build`: a kickstart in, a bootable image out. The stages, in order:
 *
 *   plan → install → configure → initramfs → bootloader → filesystems → disk → format
 *
 * Everything happens in a work directory beside the output; the output appears (renamed into
 * place) only when every stage succeeded, so a failed build leaves no partial image.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { writeTables } from '../formats/gpt.ts';
import { PhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import { configureRoot } from './configure.ts';
import { makeInitramfs } from './initramfs.ts';
import type { Kickstart } from './kickstart.ts';
import { type OutputFormat, writeOutput } from './outputs.ts';
import {
  type RepoSource, type StageContext, biosGrub, bootEnvironment, cleanRoot, efiBootFiles, installPackages, installedKernel, kernelCmdline, makeFilesystem,
  partuuids, planDisk, splitMounts,
} from './stages.ts';

export interface ImageBuildOptions {
  format: OutputFormat;
  /** Output file. */
  output: string;
  repos: RepoSource[];
  /** The tdnf bundle that installs the packages (dist/tdnf.mjs). */
  tdnf: string;
  log?: ((line: string) => void) | undefined;
  /** Keep the work directory (for debugging a build). */
  keepWork?: boolean | undefined;
}

export interface ImageBuildResult {
  output: string;
  kver: string;
  stages: { name: string; seconds: number }[];
  /** Bytes the installed root takes (before it becomes filesystems). */
  installedBytes: number;
  diskBytes: number;
}

async function duBytes(dir: string): Promise<number> {
  const res = await run('du', ['-sb', dir]);
  return Number(res.stdout.toString().split('\t')[0]);
}

export async function buildImage(ks: Kickstart, options: ImageBuildOptions): Promise<ImageBuildResult> {
  // The OVF descriptor describes a vSphere VM on x86 hardware (its controllers, osType and
  // firmware keys); an arm64 disk inside it would be an appliance no host can start.
  if (options.format === 'ova' && ks.arch !== 'x86_64') {
    throw new PhotonError('E_KICKSTART', `arch: ${ks.arch}: an OVA describes an x86_64 vSphere VM; build ${ks.arch} images as raw, qcow2, ami, gce or azure`, { file: ks.file });
  }
  const log = options.log ?? (() => {});
  const output = resolve(options.output);
  await mkdir(dirname(output), { recursive: true });
  const work = await mkdtemp(join(dirname(output), '.photon-image-'));
  const ctx: StageContext = { work, root: join(work, 'root'), log: (l) => log(`    ${l}`) };
  const stages: { name: string; seconds: number }[] = [];
  const stage = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    log(`[${stages.length + 1}/8] ${name}`);
    try {
      return await fn();
    } finally {
      stages.push({ name, seconds: (Date.now() - t0) / 1000 });
    }
  };
  try {
    const layout = await stage('plan', async () => planDisk(ks));
    const uuids = partuuids(ks, layout);
    const rootUuid = uuids['/'];
    if (!rootUuid) throw new PhotonError('E_KICKSTART', 'partitions: no / partition', { file: ks.file });

    await stage('install', () => installPackages(ks, ctx, options.repos, options.tdnf));
    const installedBytes = await duBytes(ctx.root);
    await stage('configure', () => configureRoot(ctx.root, ks, { partuuids: uuids, log: ctx.log }));
    const kernel = await installedKernel(ctx.root);
    const initrd = await stage('initramfs', async () => {
      const bytes = await makeInitramfs(ctx.root, kernel.kver);
      await writeFile(join(ctx.root, 'boot', `initrd.img-${kernel.kver}`), bytes);
      ctx.log(`${kernel.kver}: ${(bytes.length / 1048576).toFixed(1)} MiB`);
      return bytes;
    });
    // Filesystem UUIDs now: GRUB's core.img finds / by it.
    const fsUuids = ks.layout.partitions.map(() => randomUUID());
    const rootIndex = ks.layout.partitions.findIndex((p) => p.mountpoint === '/');
    const cmdline = kernelCmdline(ks, rootUuid, await bootEnvironment(ctx.root));
    const { trees, bios } = await stage('bootloader', async () => {
      const bios = ks.bootmode === 'efi' ? undefined : await biosGrub(ctx, layout, fsUuids[rootIndex]!, kernel, cmdline);
      const t = await splitMounts(ctx, ks.layout);
      if (ks.bootmode !== 'bios') {
        const esp = t.get('/boot/efi');
        if (!esp) throw new PhotonError('E_KICKSTART', `bootmode ${ks.bootmode}: no /boot/efi partition in the layout`, { file: ks.file });
        await efiBootFiles(ctx, esp, kernel, initrd, cmdline, ks.arch);
      }
      return { trees: t, bios };
    });
    await cleanRoot(ctx.root);
    const raw = join(work, 'disk.raw');
    await stage('filesystems', async () => {
      const fh = await open(raw, 'w');
      await fh.truncate(layout.diskBytes);
      await fh.close();
      for (const [i, p] of ks.layout.partitions.entries()) {
        if (p.filesystem === null) continue;
        await makeFilesystem(p, p.mountpoint ? trees.get(p.mountpoint) : undefined, raw, layout.partitions[i]!.offset, fsUuids[i]!);
        ctx.log(`${p.mountpoint ?? p.type}: ${p.filesystem}, ${(p.sizeBytes / 1048576).toFixed(0)} MiB`);
      }
    });
    await stage('disk', async () => {
      if (bios) {
        const fd = await open(raw, 'r+');
        await fd.write(bios.core, 0, bios.core.length, bios.coreOffset);
        await fd.close();
      }
      await writeTables(raw, layout, bios?.bootCode);
    });
    // The work directory sits beside the output: a raw image is simply renamed into place.
    await stage(`format (${options.format})`, () =>
      options.format === 'raw'
        ? rename(raw, output)
        : writeOutput(raw, options.format, output, { name: ks.hostname || 'photon', firmware: ks.bootmode === 'bios' ? 'bios' : 'efi' }),
    );
    for (const s of stages) log(`    ${s.name}: ${s.seconds.toFixed(1)} s`);
    return { output, kver: kernel.kver, stages, installedBytes, diskBytes: layout.diskBytes };
  } finally {
    if (!options.keepWork) await rm(work, { recursive: true, force: true });
    else log(`work directory kept: ${work}`);
  }
}
