/**
 * `photon image run IMAGE`: boots an image under QEMU with the serial console on this terminal.
 * Every output format is accepted: raw/qcow2/VMDK/VHD directly, OVA and the AMI/GCE tarballs
 * unpacked to a temporary directory first.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DiskFormat, type Firmware, type Vm, archOfDisk, firmwareOfDisk, formatOfImage, readDiskHead, startVm } from '../image/qemu.ts';
import { checkUserData, defaultMetaData, makeSeedIso, readSeedDir, type SeedContent } from '../image/seed.ts';
import { type Arch, hostArch } from '../util/arch.ts';
import { PhotonError, withFile } from '../util/errors.ts';
import { run } from '../util/run.ts';
import { type OptionSpec, type ParsedArgs, one, parseArgs } from './args.ts';

const SPEC: OptionSpec = {
  arch: { value: true },
  firmware: { value: true },
  format: { value: true },
  seed: { value: true },
  'user-data': { value: true },
  'meta-data': { value: true },
  'network-config': { value: true },
  memory: { value: true, short: 'm' },
  cpus: { value: true },
  timeout: { value: true },
  until: { value: true },
  'ssh-port': { value: true },
  'serial-log': { value: true },
  persist: {},
  nvram: { value: true },
  'no-network': {},
  kernel: { value: true },
  initrd: { value: true },
  append: { value: true },
  help: { short: 'h' },
};

const USAGE = `usage: photon image run IMAGE [--arch x86_64|aarch64|auto] [--firmware efi|bios|auto] [--format raw|qcow2|vmdk|vpc]
                       [--seed DIR | --user-data FILE [--meta-data FILE] [--network-config FILE]]
                       [--memory MiB] [--cpus N] [--timeout S] [--until REGEX] [--ssh-port N]
                       [--serial-log FILE] [--persist] [--nvram FILE] [--no-network]

Boots IMAGE (raw, qcow2, VMDK, VHD, an OVA, or an AMI/GCE .tar.gz) under QEMU (KVM when usable,
TCG otherwise) with its serial console on this terminal; Ctrl-] stops the VM. The firmware
(UEFI via OVMF, or BIOS) follows the partition table unless --firmware says otherwise, and the
machine (a PC, or QEMU's arm64 virt board with AAVMF) the loader on a raw disk's ESP unless
--arch says otherwise (other formats: this machine's architecture).

  --seed DIR          a NoCloud seed for cloud-init from DIR/user-data, meta-data, network-config
  --user-data FILE    the same from files (meta-data defaults to a fresh instance-id)
  --timeout S         stop the VM after S seconds (exit status 124)
  --until REGEX       stop the VM with status 0 once the console shows REGEX (e.g. 'login: $')
  --ssh-port N        forward 127.0.0.1:N to the guest's port 22 (the only way in from outside;
                      the guest itself cannot reach any outside address)
  --persist           write to IMAGE (default: changes go to a throw-away overlay)
  --nvram FILE        UEFI: keep the firmware's variables in FILE from run to run, as a VM's
                      NVRAM is kept (made from the firmware's template when missing)
  --kernel/--initrd/--append   boot a kernel directly (debugging; IMAGE then optional)
`;

const CTRL_RIGHT_BRACKET = 0x1d;

function intOption(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const v = one(args, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new PhotonError('E_USAGE', `--${name} needs a whole number from ${min} to ${max}, not '${v}'`);
  return Number(v);
}

async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8').catch((e: unknown) => {
    throw withFile(e, path);
  });
}

async function seedFromArgs(args: ParsedArgs): Promise<SeedContent | undefined> {
  const dir = one(args, 'seed');
  const userData = one(args, 'user-data');
  const metaData = one(args, 'meta-data');
  const networkConfig = one(args, 'network-config');
  if (dir !== undefined) {
    if (userData !== undefined || metaData !== undefined || networkConfig !== undefined) {
      throw new PhotonError('E_USAGE', '--seed takes the files from its directory: not with --user-data, --meta-data or --network-config');
    }
    const seed = await readSeedDir(dir);
    checkUserData(seed.userData, join(dir, 'user-data'));
    return seed;
  }
  if (userData === undefined) {
    if (metaData !== undefined || networkConfig !== undefined) throw new PhotonError('E_USAGE', '--meta-data and --network-config need --user-data');
    return undefined;
  }
  const seed: SeedContent = { userData: await readText(userData), metaData: metaData !== undefined ? await readText(metaData) : defaultMetaData() };
  if (networkConfig !== undefined) seed.networkConfig = await readText(networkConfig);
  checkUserData(seed.userData, userData);
  return seed;
}

/** The disk inside an OVA or an AMI/GCE tarball, unpacked into `work`; other images as they are. */
async function diskOf(image: string, work: string): Promise<string> {
  const lower = image.toLowerCase();
  const isOva = lower.endsWith('.ova');
  if (!isOva && !/\.(tar\.gz|tgz|tar)$/.test(lower)) return image;
  await run('tar', ['-xf', image, '-C', work]).catch((e: unknown) => {
    throw withFile(e, image);
  });
  const files: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else files.push(join(d, e.name));
    }
  };
  await walk(work);
  const disk = isOva ? files.find((f) => f.toLowerCase().endsWith('.vmdk')) : files.find((f) => /\.(raw|img|vhd|qcow2|vmdk)$/i.test(f));
  if (!disk) throw new PhotonError('E_IMAGE', `no disk image inside (looked for ${isOva ? '*.vmdk' : 'disk.raw, *.img, *.vhd'})`, { file: image });
  return disk;
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (args.flags.has('help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const kernel = one(args, 'kernel');
  if (args.positionals.length > 1) throw new PhotonError('E_USAGE', `one image at a time, not ${args.positionals.length}`);
  const image = args.positionals[0];
  if (image === undefined && kernel === undefined) throw new PhotonError('E_USAGE', `an IMAGE to boot is needed\n${USAGE}`);
  if (one(args, 'initrd') !== undefined && kernel === undefined) throw new PhotonError('E_USAGE', '--initrd needs --kernel');
  if (one(args, 'append') !== undefined && kernel === undefined) throw new PhotonError('E_USAGE', '--append needs --kernel');

  const archText = one(args, 'arch') ?? 'auto';
  if (archText !== 'x86_64' && archText !== 'aarch64' && archText !== 'auto') throw new PhotonError('E_USAGE', `--arch is x86_64, aarch64 or auto, not '${archText}'`);
  const fwText = one(args, 'firmware') ?? 'auto';
  if (fwText !== 'efi' && fwText !== 'bios' && fwText !== 'auto') throw new PhotonError('E_USAGE', `--firmware is efi, bios or auto, not '${fwText}'`);
  const fmtText = one(args, 'format');
  if (fmtText !== undefined && !['raw', 'qcow2', 'vmdk', 'vpc'].includes(fmtText)) throw new PhotonError('E_USAGE', `--format is raw, qcow2, vmdk or vpc, not '${fmtText}'`);
  const memoryMiB = intOption(args, 'memory', 128, 1 << 20);
  const cpus = intOption(args, 'cpus', 1, 256);
  const timeout = intOption(args, 'timeout', 1, 7 * 86400);
  const sshPort = intOption(args, 'ssh-port', 1, 65535);
  const seed = await seedFromArgs(args);
  if (image !== undefined) {
    const st = await stat(image).catch((e: unknown) => {
      throw withFile(e, image);
    });
    if (!st.isFile()) throw new PhotonError('E_USAGE', 'not a file', { file: image });
  }

  const work = await mkdtemp(join(tmpdir(), 'photon-run-'));
  let vm: Vm | undefined;
  const restore: (() => void)[] = [];
  try {
    let disk: string | undefined;
    let format: DiskFormat | undefined;
    let firmware: Firmware;
    let arch: Arch | undefined = archText === 'auto' ? undefined : archText;
    if (image !== undefined) {
      disk = await diskOf(image, work);
      format = (fmtText as DiskFormat | undefined) ?? formatOfImage(disk);
      const head = fwText === 'auto' || arch === undefined ? await readDiskHead(disk, format) : undefined;
      if (fwText === 'auto') {
        const found = firmwareOfDisk(head!);
        if (!found) throw new PhotonError('E_IMAGE', 'no GPT or MBR partition table to tell the firmware from: pass --firmware efi or bios', { file: image });
        firmware = found;
      } else firmware = fwText;
      if (arch === undefined && format === 'raw') arch = await archOfDisk(disk, head!);
    } else firmware = fwText === 'efi' ? 'efi' : 'bios';
    arch ??= hostArch() ?? 'x86_64';
    if (args.flags.has('persist') && disk !== image) throw new PhotonError('E_USAGE', '--persist needs a disk image, not an archive unpacked for this run', { file: image });

    let seedIso: string | undefined;
    if (seed) {
      seedIso = join(work, 'seed.iso');
      await makeSeedIso(seedIso, seed);
    }
    const initrd = one(args, 'initrd');
    const append = one(args, 'append');
    const serialLog = one(args, 'serial-log');
    const nvram = one(args, 'nvram');
    vm = await startVm({
      arch,
      firmware,
      ...(disk !== undefined ? { image: disk } : {}),
      ...(format !== undefined ? { format } : {}),
      ...(memoryMiB !== undefined ? { memoryMiB } : {}),
      ...(cpus !== undefined ? { cpus } : {}),
      ...(seedIso !== undefined ? { seedIso } : {}),
      ...(serialLog !== undefined ? { serialLog } : {}),
      ...(nvram !== undefined ? { nvram } : {}),
      ...(sshPort !== undefined ? { forwardSsh: sshPort } : {}),
      ...(kernel !== undefined ? { kernel } : {}),
      ...(initrd !== undefined ? { initrd } : {}),
      ...(append !== undefined ? { append } : {}),
      snapshot: !args.flags.has('persist'),
      network: !args.flags.has('no-network'),
    });
    const running = vm;
    process.stderr.write(
      `photon image run: ${image ?? kernel} (${arch}, ${firmware === 'efi' ? 'UEFI' : 'BIOS'}, ${running.accel.toUpperCase()}` +
        `${sshPort !== undefined ? `, ssh on 127.0.0.1:${sshPort}` : ''}); ${process.stdin.isTTY ? 'Ctrl-] stops it' : 'console on stdin/stdout'}\n`,
    );
    running.onOutput((chunk) => process.stdout.write(chunk));

    let timedOut = false;
    const stdin = process.stdin;
    if (stdin.isTTY) {
      stdin.setRawMode(true);
      restore.push(() => stdin.setRawMode(false));
    }
    const onInput = (b: Buffer) => {
      if (stdin.isTTY && b.includes(CTRL_RIGHT_BRACKET)) {
        void running.stop();
        return;
      }
      try {
        running.send(b);
      } catch {
        // The VM is gone; its exit ends the run.
      }
    };
    stdin.on('data', onInput);
    restore.push(() => {
      stdin.off('data', onInput);
      stdin.pause();
    });
    const onSignal = () => void running.stop();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    restore.push(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
    const untilText = one(args, 'until');
    let reached = false;
    if (untilText !== undefined) {
      let re: RegExp;
      try {
        re = new RegExp(untilText, 'm');
      } catch (e) {
        throw new PhotonError('E_USAGE', `--until: ${(e as Error).message}`);
      }
      const started = Date.now();
      running.waitFor(re, 7 * 86400 * 1000).then(
        () => {
          reached = true;
          process.stderr.write(`\nphoton image run: console showed /${untilText}/ after ${((Date.now() - started) / 1000).toFixed(1)} s; stopping\n`);
          void running.stop();
        },
        () => undefined,
      );
    }
    let timer: NodeJS.Timeout | undefined;
    if (timeout !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        void running.stop();
      }, timeout * 1000);
      restore.push(() => clearTimeout(timer));
    }
    const status = await running.exited;
    if (reached) return 0;
    if (timedOut) {
      process.stderr.write(`\nphoton image run: stopped after ${timeout} s\n`);
      return 124;
    }
    const why = running.stderr().trim();
    if (status !== 0 && why) process.stderr.write(`photon image run: QEMU exited with status ${status}: ${why}\n`);
    return status;
  } finally {
    for (const r of restore.reverse()) r();
    await vm?.stop();
    await rm(work, { recursive: true, force: true });
  }
}
