/**
 * The QEMU runner: boots a disk image (or a kernel + initrd) with the serial console on the
 * child's stdin/stdout, so one pipe pair both reads the console and types into it.
 *
 * Guests never reach outside addresses: the only network is QEMU's user-mode stack with
 * `restrict=on` (host forwards still work), or none.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants, rmSync, type WriteStream } from 'node:fs';
import { access, copyFile, mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { type Arch, ARCHES, efiArch, hostArch } from '../util/arch.ts';
import { PhotonError, withFile } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { run } from '../util/run.ts';

export type DiskFormat = 'raw' | 'qcow2' | 'vmdk' | 'vpc';
export type Firmware = 'efi' | 'bios';
export type Accel = 'kvm' | 'tcg';

export interface VmOptions {
  /** The guest's architecture (default x86_64: a q35 PC; aarch64: QEMU's virt board). */
  arch?: Arch;
  /** The boot disk; optional only when `kernel` is given. */
  image?: string;
  /** Default: from the extension (.qcow2, .vmdk, .vhd → vpc), raw otherwise. */
  format?: DiskFormat;
  firmware: Firmware;
  memoryMiB?: number;
  cpus?: number;
  /** A NoCloud seed (see seed.ts), attached read-only as a second virtio disk. */
  seedIso?: string;
  /** Console output is also appended here as it arrives. */
  serialLog?: string;
  /** Host port forwarded from 127.0.0.1 to the guest's port 22. */
  forwardSsh?: number;
  /** Default true: writes go to a throw-away overlay, so a test never modifies the image. */
  snapshot?: boolean;
  /** Default true: a restricted user-mode NIC (virtio-net); false: no NIC at all. */
  network?: boolean;
  /** Default true: a guest reboot (or a panic with panic=N) ends QEMU instead of looping under TCG. */
  noReboot?: boolean;
  /** Direct kernel boot, for testing the runner without a bootloader. */
  kernel?: string;
  initrd?: string;
  append?: string;
  /** Default: kvm when it really works here (see kvmUsable), else tcg. */
  accel?: Accel;
  /**
   * UEFI: a file that keeps the firmware's variable store from run to run, as a VM's NVRAM is
   * kept (libvirt's per-domain nvram), made from the firmware's template when missing. OVMF then
   * finds its boot options instead of making them again: 0.6 s of each boot under TCG. Default:
   * a fresh copy of the template for each run.
   */
  nvram?: string;
  extraArgs?: string[];
}

export interface WaitOptions {
  /** Match only console text from this offset on (an earlier `vm.output().length`). */
  since?: number;
}

export interface Vm {
  readonly pid: number;
  readonly accel: Accel;
  /** The full argument vector after the program name, for logs and bug reports. */
  readonly args: readonly string[];
  /** performance.now() when QEMU was spawned. */
  readonly startedAt: number;
  /** Resolves with the matched text once `re` matches the console (so far or to come). */
  waitFor(re: RegExp, timeoutMs: number, opts?: WaitOptions): Promise<string>;
  /** As waitFor, with the capture groups and the offset just past the match. */
  waitForMatch(re: RegExp, timeoutMs: number, opts?: WaitOptions): Promise<{ match: RegExpExecArray; end: number }>;
  /** Types into the serial console. */
  send(text: string | Uint8Array): void;
  /** All console text so far. */
  output(): string;
  /** What QEMU itself printed on stderr (its last 16 KiB): why it refused to start or died. */
  stderr(): string;
  /** Receives each console chunk as it arrives (e.g. to echo it to a terminal). */
  onOutput(listener: (chunk: Uint8Array) => void): void;
  /** Kills QEMU (if still running) and removes its temporary files. */
  stop(): Promise<void>;
  /** QEMU's exit status: 0 after a guest poweroff; 128+N when killed by signal N. */
  readonly exited: Promise<number>;
}

export const QEMU = 'qemu-system-x86_64';
export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

/**
 * Per guest architecture: the emulator, its board, its UEFI firmware (Debian's packages) and
 * tcgCpu, the CPU QEMU emulates under TCG, chosen for how fast TCG runs it (KVM guests get
 * `max`, the host's).
 * - arm64: `max` with QEMU's own pointer-authentication algorithm; the architected one (QARMA)
 *   costs more than everything else the CPU does.
 * - x86_64: x86-64-v2 on QEMU's AMD-branded qemu64. TCG's `max` also offers AVX2, XSAVE and
 *   5-level paging, which the guest then uses and TCG emulates slowly: with it, QEMU start to
 *   login prompt took 3–4 s longer (21–24 s against 18–19 s, 5 boots each). Intel-branded models
 *   (kvm64, Nehalem) were as slow: the kernel turns on page-table isolation for an Intel CPU that
 *   does not say it is immune to Meltdown, and TCG flushes its TLB at every switch of page tables,
 *   where an emulated CPU, which does not speculate, needs no isolation.
 *   No AES-NI or PCLMULQDQ, and qemu64's SVM turned off: with them, udev loads aesni_intel,
 *   ghash_clmulni_intel and kvm_amd in the boot's busiest seconds, and the crypto self-tests of
 *   the first two spawn 20 modprobe helpers (`crypto-cryptd(__ecb-aes-aesni)`, …): 1.8 s of CPU
 *   of a 2-vCPU boot (login 0.5 s sooner on average over 20 boots each).
 */
const MACHINES: Record<Arch, { qemu: string; machine: string; tcgCpu: string; code: string; vars: string; packages: string }> = {
  x86_64: {
    qemu: QEMU,
    machine: 'q35',
    tcgCpu: 'qemu64,+cx16,+ssse3,+sse4.1,+sse4.2,+popcnt,-svm',
    code: OVMF_CODE,
    vars: OVMF_VARS,
    packages: 'qemu-system-x86 ovmf',
  },
  aarch64: {
    qemu: 'qemu-system-aarch64',
    machine: 'virt',
    tcgCpu: 'max,pauth-impdef=on',
    code: '/usr/share/AAVMF/AAVMF_CODE.fd',
    vars: '/usr/share/AAVMF/AAVMF_VARS.fd',
    packages: 'qemu-system-arm qemu-efi-aarch64',
  },
};
const TAIL = 2048;

export function formatOfImage(path: string): DiskFormat {
  switch (extname(path).toLowerCase()) {
    case '.qcow2':
      return 'qcow2';
    case '.vmdk':
      return 'vmdk';
    case '.vhd':
      return 'vpc';
    default:
      return 'raw';
  }
}

/** QEMU's option syntax splits on commas; a literal comma in a value is doubled. */
const qv = (s: string): string => s.replace(/,/g, ',,');

/**
 * The argument vector for `opts` (pure, for tests). `varsFile` is the writable copy of the OVMF
 * variable store, needed when firmware is efi.
 */
export function qemuArgs(opts: VmOptions, accel: Accel, varsFile?: string): string[] {
  if (!opts.image && !opts.kernel) throw new PhotonError('E_USAGE', 'a VM needs an image or a kernel');
  const m = MACHINES[opts.arch ?? 'x86_64'];
  if (opts.arch === 'aarch64' && opts.firmware === 'bios') throw new PhotonError('E_USAGE', 'aarch64 guests boot with UEFI only (firmware efi)');
  if (opts.nvram !== undefined && opts.firmware !== 'efi') throw new PhotonError('E_USAGE', 'a UEFI variable store (nvram) is for UEFI firmware, not BIOS');
  const cpu = accel === 'kvm' ? 'max' : m.tcgCpu;
  const a = ['-machine', m.machine, '-accel', accel === 'kvm' ? 'kvm' : 'tcg,thread=multi', '-cpu', cpu];
  a.push('-smp', String(opts.cpus ?? 2), '-m', String(opts.memoryMiB ?? 1024));
  // No default VGA, NIC, CD-ROM or monitor: the serial console is the only way in or out.
  a.push('-nodefaults', '-display', 'none', '-monitor', 'none');
  a.push('-chardev', 'stdio,id=con0,signal=off', '-serial', 'chardev:con0');
  if (opts.firmware === 'efi') {
    if (!varsFile) throw new PhotonError('E_USAGE', 'efi firmware needs a copy of the OVMF variable store');
    a.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${qv(m.code)}`);
    a.push('-drive', `if=pflash,format=raw,unit=1,file=${qv(varsFile)}`);
  }
  if (opts.image) {
    const fmt = opts.format ?? formatOfImage(opts.image);
    a.push('-drive', `id=disk0,if=none,format=${fmt},file=${qv(opts.image)}${opts.snapshot === false ? '' : ',snapshot=on'}`);
    // bootindex keeps OVMF from trying the seed disk or the network first; a direct kernel boot
    // takes index 0 itself.
    a.push('-device', `virtio-blk-pci,drive=disk0${opts.kernel ? '' : ',bootindex=0'}`);
  }
  if (opts.seedIso) {
    a.push('-drive', `id=seed0,if=none,format=raw,readonly=on,file=${qv(opts.seedIso)}`);
    a.push('-device', 'virtio-blk-pci,drive=seed0');
  }
  // Without an entropy source a guest can stall in early boot waiting for getrandom().
  a.push('-device', 'virtio-rng-pci');
  if (opts.network !== false) {
    const port = opts.forwardSsh;
    if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
      throw new PhotonError('E_USAGE', `forwardSsh needs a port number, not ${port}`);
    }
    const fwd = port !== undefined ? `,hostfwd=tcp:127.0.0.1:${port}-:22` : '';
    a.push('-netdev', `user,id=net0,restrict=on${fwd}`);
    // romfile= (empty): no iPXE option ROM to load and try before the disk.
    a.push('-device', 'virtio-net-pci,netdev=net0,romfile=');
  }
  if (opts.kernel) {
    a.push('-kernel', opts.kernel);
    if (opts.initrd) a.push('-initrd', opts.initrd);
    if (opts.append) a.push('-append', opts.append);
  }
  if (opts.noReboot !== false) a.push('-no-reboot');
  a.push(...(opts.extraArgs ?? []));
  return a;
}

let kvmProbe: Promise<boolean> | undefined;

/**
 * Whether KVM really runs a guest of this machine here. /dev/kvm being openable is not enough: nested or
 * partial KVM can create a VM and then abort while setting up the vCPU, so we start one, paused,
 * and ask it to quit. PHOTON_QEMU_ACCEL=kvm|tcg overrides the probe.
 */
export function kvmUsable(): Promise<boolean> {
  const forced = process.env['PHOTON_QEMU_ACCEL'];
  if (forced === 'kvm' || forced === 'tcg') return Promise.resolve(forced === 'kvm');
  kvmProbe ??= (async () => {
    try {
      await access('/dev/kvm', constants.R_OK | constants.W_OK);
    } catch {
      return false;
    }
    // The host's own machine: KVM runs guests of this architecture only.
    const m = MACHINES[hostArch() ?? 'x86_64'];
    const args = ['-accel', 'kvm', '-machine', m.machine, '-cpu', 'max', '-m', '16', '-nodefaults', '-display', 'none', '-S', '-monitor', 'stdio'];
    const r = await run(m.qemu, args, { input: 'quit\n', allowFailure: true }).catch(() => undefined);
    return r?.status === 0;
  })();
  return kvmProbe;
}

const live = new Set<{ child: ChildProcess; tmp: string }>();
let exitHookInstalled = false;

/** A kept variable store: `path` as it is, or a new copy of `template` when there is none yet. */
async function keepNvram(path: string, template: string): Promise<void> {
  const want = (await stat(template)).size;
  const have = await stat(path).then((st) => st.size, (e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw withFile(e, path);
  });
  if (have === undefined) await writeFileAtomic(path, await readFile(template)).catch((e: unknown) => { throw withFile(e, path); });
  else if (have !== want) throw new PhotonError('E_USAGE', `not a variable store of this firmware: ${have} bytes, where ${template} has ${want}`, { file: path });
}

/** A test or CLI that dies must not leave a QEMU spinning a core. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const v of live) {
      v.child.kill('SIGKILL');
      rmSync(v.tmp, { recursive: true, force: true });
    }
  });
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export async function startVm(opts: VmOptions): Promise<Vm> {
  for (const [what, path] of [['image', opts.image], ['seed', opts.seedIso], ['kernel', opts.kernel], ['initrd', opts.initrd]] as const) {
    if (path === undefined) continue;
    await access(path, constants.R_OK).catch(() => {
      throw new PhotonError('E_NOT_FOUND', `${what} not found or not readable`, { file: path });
    });
  }
  const arch = opts.arch ?? 'x86_64';
  const m = MACHINES[arch];
  if (opts.firmware === 'efi') {
    await access(m.code, constants.R_OK).catch(() => {
      throw new PhotonError('E_TOOL_MISSING', `UEFI firmware ${m.code} not found (apt-get install ${m.packages})`);
    });
  }
  // KVM runs only guests of the host's own architecture.
  const accel = opts.accel ?? (arch === hostArch() && (await kvmUsable()) ? 'kvm' : 'tcg');
  const tmp = await mkdtemp(join(tmpdir(), 'photon-vm-'));
  const varsFile = opts.firmware === 'efi' ? (opts.nvram ?? join(tmp, 'VARS.fd')) : undefined;
  let args: string[];
  try {
    // The options are checked (nvram only with UEFI among them) before a kept variable store is
    // made: a VM refused for its options leaves no file behind.
    args = qemuArgs(opts, accel, varsFile);
    if (opts.nvram !== undefined) await keepNvram(opts.nvram, m.vars);
    else if (varsFile !== undefined) await copyFile(m.vars, varsFile);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }

  let log: WriteStream | undefined;
  if (opts.serialLog) {
    const path = opts.serialLog;
    // Opened now, so that a bad path is an error naming it rather than a crash later.
    const fh = await open(path, 'a').catch(async (e: unknown) => {
      await rm(tmp, { recursive: true, force: true });
      throw withFile(e, path);
    });
    log = fh.createWriteStream();
    log.on('error', () => {});
  }

  const startedAt = performance.now();
  const child = spawn(m.qemu, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const entry = { child, tmp };
  live.add(entry);
  installExitHook();

  const decoder = new TextDecoder('utf-8');
  let text = '';
  let stderr = '';
  let exitStatus: number | undefined;
  let spawnError: PhotonError | undefined;
  const listeners: ((chunk: Uint8Array) => void)[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };

  child.stdout.on('data', (b: Buffer) => {
    text += decoder.decode(b, { stream: true });
    log?.write(b);
    for (const l of listeners) l(b);
    notify();
  });
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
    if (stderr.length > 16384) stderr = stderr.slice(-16384);
  });
  // A guest that stops reading its console would otherwise make send() throw EPIPE later.
  child.stdin.on('error', () => {});

  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => {
      live.delete(entry);
      void rm(tmp, { recursive: true, force: true });
      log?.end();
      spawnError = e.code === 'ENOENT' ? new PhotonError('E_TOOL_MISSING', `${m.qemu} not found (apt-get install ${m.packages})`) : withFile(e, m.qemu);
      exitStatus = 127;
      notify();
      reject(spawnError);
    });
    child.on('close', (code, signal) => {
      live.delete(entry);
      text += decoder.decode();
      log?.end();
      exitStatus = code ?? 128 + (SIGNALS[signal ?? ''] ?? 0);
      void rm(tmp, { recursive: true, force: true }).then(() => resolve(exitStatus!));
      notify();
    });
  });
  // Callers that only use waitFor must not see an unhandled rejection from a missing qemu.
  exited.catch(() => {});

  const tail = () => text.slice(-TAIL);
  const describeExit = () => {
    if (spawnError) return spawnError.message;
    const err = stderr.trim();
    return `QEMU exited with status ${exitStatus}${err ? `: ${err.slice(-1000)}` : ''}`;
  };

  const waitForMatch = (re: RegExp, timeoutMs: number, wopts: WaitOptions = {}) =>
    new Promise<{ match: RegExpExecArray; end: number }>((resolve, reject) => {
      const since = wopts.since ?? 0;
      // A private non-global copy: lastIndex state on the caller's regex must not leak in.
      const pattern = new RegExp(re.source, re.flags.replace(/[gy]/g, ''));
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        waiters.delete(check);
        if (timer) clearTimeout(timer);
      };
      const check = () => {
        const m = pattern.exec(text.slice(since));
        if (m) {
          done();
          resolve({ match: m, end: since + m.index + m[0].length });
        } else if (exitStatus !== undefined) {
          done();
          reject(new PhotonError('E_VM_EXITED', `${describeExit()} before ${re} appeared on the console; its last output:\n${tail()}`));
        }
      };
      timer = setTimeout(() => {
        done();
        reject(new PhotonError('E_VM_TIMEOUT', `no ${re} on the console after ${(timeoutMs / 1000).toFixed(1)} s; its last output:\n${tail()}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  let stopping: Promise<void> | undefined;
  const vm: Vm = {
    pid: child.pid ?? -1,
    accel,
    args,
    startedAt,
    waitForMatch,
    waitFor: async (re, timeoutMs, wopts) => (await waitForMatch(re, timeoutMs, wopts)).match[0],
    send(data) {
      if (exitStatus !== undefined) throw new PhotonError('E_VM_EXITED', `cannot type into the console: ${describeExit()}`);
      child.stdin.write(data);
    },
    output: () => text,
    stderr: () => stderr,
    onOutput: (l) => void listeners.push(l),
    stop() {
      stopping ??= (async () => {
        if (exitStatus === undefined) {
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited.catch(() => {});
          clearTimeout(killer);
        }
        await rm(tmp, { recursive: true, force: true });
      })();
      return stopping;
    },
    exited,
  };
  return vm;
}

// Partition type GUIDs in their on-disk (mixed-endian) byte order.
const ESP_GUID = guidBytes('C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
const BIOS_BOOT_GUID = guidBytes('21686148-6449-6E6F-744E-656564454649');

function guidBytes(s: string): Uint8Array {
  const h = s.replace(/-/g, '');
  const b = Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));
  const swap = (o: number, n: number) => b.subarray(o, o + n).reverse();
  swap(0, 4);
  swap(4, 2);
  swap(6, 2);
  return b;
}

const eq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

interface TablePartition {
  /** GPT: the type GUID's bytes; MBR: the type byte. */
  type: Uint8Array | number;
  startBytes: number;
}

/** The partitions of a disk's GPT (or else MBR) as far as `head` holds them; undefined: no table. */
function partitionsOf(head: Uint8Array): { gpt: boolean; parts: TablePartition[] } | undefined {
  if (head.length < 1024 || head[510] !== 0x55 || head[511] !== 0xaa) return undefined;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const mbr = [0, 1, 2, 3].map((i) => ({ type: head[446 + i * 16 + 4]!, startBytes: dv.getUint32(446 + i * 16 + 8, true) * 512 }));
  if (!mbr.some((p) => p.type === 0xee) || new TextDecoder().decode(head.subarray(512, 520)) !== 'EFI PART') {
    return { gpt: false, parts: mbr.filter((p) => p.type !== 0) };
  }
  const entriesLba = Number(dv.getBigUint64(512 + 72, true));
  const count = dv.getUint32(512 + 80, true);
  const size = dv.getUint32(512 + 84, true);
  const parts: TablePartition[] = [];
  for (let i = 0; i < count; i++) {
    const off = entriesLba * 512 + i * size;
    if (off + 40 > head.length) break;
    parts.push({ type: head.subarray(off, off + 16), startBytes: Number(dv.getBigUint64(off + 32, true)) * 512 });
  }
  return { gpt: true, parts };
}

const isEsp = (p: TablePartition) => (typeof p.type === 'number' ? p.type === 0xef : eq(p.type, ESP_GUID));

/**
 * The firmware a disk boots with, from its partition table (512-byte sectors): an EFI system
 * partition means UEFI (dualboot images too: it is Photon's default path), a BIOS boot partition
 * or an MBR without an ESP means BIOS. undefined: no partition table in `head`.
 */
export function firmwareOfDisk(head: Uint8Array): Firmware | undefined {
  const t = partitionsOf(head);
  if (!t) return undefined;
  if (t.parts.some(isEsp)) return 'efi';
  if (t.gpt) return t.parts.some((p) => typeof p.type !== 'number' && eq(p.type, BIOS_BOOT_GUID)) ? 'bios' : undefined;
  return t.parts.length ? 'bios' : undefined;
}

/**
 * The architecture a raw disk boots, from the removable-media loader on its ESP
 * (\EFI\BOOT\BOOTX64.EFI or BOOTAA64.EFI, read with mtools); undefined when that says nothing.
 */
export async function archOfDisk(raw: string, head: Uint8Array): Promise<Arch | undefined> {
  const esp = partitionsOf(head)?.parts.find(isEsp);
  if (!esp) return undefined;
  const r = await run('mdir', ['-b', '-i', `${raw}@@${esp.startBytes}`, '::/EFI/BOOT'], { allowFailure: true }).catch(() => undefined);
  const names = (r?.stdout.toString() ?? '').toUpperCase();
  return ARCHES.find((a) => names.includes(`BOOT${efiArch(a).toUpperCase()}.EFI`));
}

async function readFileHead(path: string, bytes: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** The first `bytes` of the guest-visible disk, whatever the container format. */
export async function readDiskHead(image: string, format: DiskFormat = formatOfImage(image), bytes = 1 << 20): Promise<Uint8Array> {
  if (format === 'raw' || format === 'vpc') {
    // A fixed VHD is the raw disk followed by a footer.
    return readFileHead(image, bytes);
  }
  const tmp = await mkdtemp(join(tmpdir(), 'photon-head-'));
  try {
    const out = join(tmp, 'head.raw');
    await run('qemu-img', ['dd', '-f', format, '-O', 'raw', 'bs=65536', `count=${Math.ceil(bytes / 65536)}`, `if=${image}`, `of=${out}`]);
    return await readFileHead(out, bytes);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
