/**
 * Helpers for tests that boot guests: logging in and running commands over the serial console,
 * and a small real guest (our linux-esx kernel + a busybox initramfs) for testing the runner
 * before there is a Photon image.
 */
import { randomBytes } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compress } from '../../src/formats/compress.ts';
import { type CpioEntry, writeCpio } from '../../src/formats/cpio.ts';
import type { Vm } from '../../src/image/qemu.ts';
import { PhotonError } from '../../src/util/errors.ts';
import { run } from '../../src/util/run.ts';
import { testStage } from './stage.ts';

export interface LoginOptions {
  user: string;
  password: string;
  /** For the whole boot up to the shell prompt; default 120 s (TCG). */
  timeoutMs?: number;
}

/**
 * A shell prompt at the very end of the console: `root@photon [ ~ ]# `, `~ # `, `$ `, maybe
 * followed by the terminal queries shells send after it (busybox's cursor query ESC[6n, bash's
 * bracketed-paste ESC[?2004h).
 */
const PROMPT = /[#$>] ?(?:\x1b\[[0-9;?]*[A-Za-z])*$/;

/**
 * Waits for the `login:` prompt on the serial console, types the user name and password, and
 * resolves at the shell prompt. A rejected login fails at once, with the console tail.
 */
export async function bootAndLogin(vm: Vm, o: LoginOptions): Promise<void> {
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  const left = () => Math.max(1, deadline - Date.now());
  const login = await vm.waitForMatch(/login: ?$/, left());
  vm.send(`${o.user}\n`);
  const pw = await vm.waitForMatch(/Password: ?$/, left(), { since: login.end });
  vm.send(`${o.password}\n`);
  const after = await vm.waitForMatch(new RegExp(`(Login incorrect)|(${PROMPT.source})`), left(), { since: pw.end });
  if (after.match[1]) throw new PhotonError('E_LOGIN', `login as ${o.user} was refused; console:\n${vm.output().slice(-2048)}`);
}

export interface ConsoleResult {
  output: string;
  status: number;
}

/**
 * Runs `cmd` in the logged-in shell and returns what it printed (stdout and stderr, `\n` line
 * ends) and its exit status. The markers are printed with printf so that the echo of the typed
 * line never matches them.
 */
export async function runOnConsoleStatus(vm: Vm, cmd: string, timeoutMs = 30_000): Promise<ConsoleResult> {
  const id = randomBytes(4).toString('hex');
  const since = vm.output().length;
  vm.send(`printf '%s\\n' BEGIN-${id}; ( ${cmd} ) 2>&1; printf '%s-%s\\n' END-${id} $?\n`);
  const re = new RegExp(`BEGIN-${id}\\r?\\n([\\s\\S]*?)END-${id}-(\\d+)\\r?\\n`);
  const { match } = await vm.waitForMatch(re, timeoutMs, { since });
  return { output: match[1]!.replace(/\r\n/g, '\n'), status: Number(match[2]) };
}

/** As runOnConsoleStatus, but a non-zero exit status is an error carrying the output. */
export async function runOnConsole(vm: Vm, cmd: string, timeoutMs = 30_000): Promise<string> {
  const r = await runOnConsoleStatus(vm, cmd, timeoutMs);
  if (r.status !== 0) throw new PhotonError('E_CONSOLE_COMMAND', `'${cmd}' exited with status ${r.status}:\n${r.output}`);
  return r.output;
}


export interface TestKernel {
  kernel: string;
  kver: string;
  /** /usr/lib/modules/<kver> with the few modules extracted (see MODULES). */
  modules: string;
}

/** Enough for virtio disks and NIC and an ISO9660 seed in a busybox shell, in modules.dep order. */
const MODULES = [
  'kernel/drivers/virtio/virtio_ring.ko',
  'kernel/drivers/virtio/virtio.ko',
  'kernel/drivers/virtio/virtio_pci_legacy_dev.ko',
  'kernel/drivers/virtio/virtio_pci_modern_dev.ko',
  'kernel/drivers/virtio/virtio_pci.ko',
  'kernel/drivers/block/virtio_blk.ko',
  'kernel/net/core/failover.ko',
  'kernel/drivers/net/net_failover.ko',
  'kernel/drivers/net/virtio_net.ko',
  'kernel/drivers/cdrom/cdrom.ko',
  'kernel/fs/isofs/isofs.ko',
];

/**
 * Our linux-esx kernel (Debian's cloud kernel) and the modules above, from the RPM in the test
 * stage (test/kit/stage.ts builds it when needed), unpacked once into a cache under the temp dir.
 */
export async function testKernel(): Promise<TestKernel | undefined> {
  const rpmDir = join((await testStage()).stage, 'RPMS', 'x86_64');
  const rpm = (await readdir(rpmDir).catch(() => [] as string[])).find((f) => /^linux-esx-\d.*\.x86_64\.rpm$/.test(f));
  if (!rpm) throw new Error(`no linux-esx RPM in ${rpmDir}`);
  const cache = join(tmpdir(), `photon-testkernel-${rpm.replace(/\.rpm$/, '')}`);
  const found = async (): Promise<TestKernel | undefined> => {
    const boot = await readdir(join(cache, 'boot')).catch(() => [] as string[]);
    const vmlinuz = boot.find((f) => f.startsWith('vmlinuz-'));
    if (!vmlinuz) return undefined;
    const kver = vmlinuz.slice('vmlinuz-'.length);
    const modules = join(cache, 'usr', 'lib', 'modules', kver);
    return { kernel: join(cache, 'boot', vmlinuz), kver, modules };
  };
  const cached = await found();
  if (cached) return cached;
  await mkdir(tmpdir(), { recursive: true });
  const work = await mkdtemp(`${cache}.tmp-`);
  try {
    const payload = await run('rpm2cpio', [join(rpmDir, rpm)]);
    const patterns = ['./boot/vmlinuz-*', ...MODULES.map((m) => `./usr/lib/modules/*/${m}`)];
    await run('cpio', ['-idm', '--quiet', '--no-absolute-filenames', ...patterns], { cwd: work, input: payload.stdout });
    await rename(work, cache).catch(async () => rm(work, { recursive: true, force: true }));
  } catch (e) {
    await rm(work, { recursive: true, force: true });
    throw e;
  }
  return found();
}

export const BUSYBOX = '/bin/busybox';

export interface InitramfsOptions {
  /** The /init script, run by busybox sh. */
  init: string;
  /** Kernel modules to put under /lib/modules/ (paths on the host); /init insmods them. */
  modules?: string[];
  /** Extra files: path in the initramfs (no leading /) → content. */
  files?: Record<string, string>;
}

/**
 * A gzip'd newc initramfs around a static busybox, written with our own cpio writer.
 * undefined when the host has no static busybox (apt-get install busybox-static).
 */
export async function busyboxInitramfs(o: InitramfsOptions): Promise<Uint8Array | undefined> {
  const bb = await readFile(BUSYBOX).catch(() => undefined);
  if (!bb) return undefined;
  const file = await run('file', ['-b', BUSYBOX], { allowFailure: true }).catch(() => undefined);
  if (file && !/statically linked|static-pie/.test(file.stdout.toString())) return undefined;
  const enc = new TextEncoder();
  let ino = 1;
  const node = (name: string, mode: number, data: Uint8Array = new Uint8Array(0), rdev: [number, number] = [0, 0]): CpioEntry => ({
    name, ino: ino++, mode, uid: 0, gid: 0, nlink: 1, mtime: 0, size: data.length,
    devMajor: 0, devMinor: 0, rdevMajor: rdev[0], rdevMinor: rdev[1], data,
  });
  const entries: CpioEntry[] = [
    ...['bin', 'dev', 'etc', 'lib', 'lib/modules', 'mnt', 'proc', 'root', 'sys', 'tmp'].map((d) => node(d, 0o40755)),
    node('dev/console', 0o20600, undefined, [5, 1]),
    node('bin/busybox', 0o100755, bb),
    node('init', 0o100755, enc.encode(o.init)),
  ];
  for (const m of o.modules ?? []) entries.push(node(`lib/modules/${m.split('/').pop()}`, 0o100644, await readFile(m)));
  for (const [name, text] of Object.entries(o.files ?? {})) entries.push(node(name, 0o100644, enc.encode(text)));
  return compress('gzip', writeCpio(entries), 1);
}

/** Whether a host tool can be started (for skipping tests on a machine without it). */
export async function haveTool(cmd: string, args: string[] = ['--version']): Promise<boolean> {
  return run(cmd, args, { allowFailure: true }).then(() => true, () => false);
}

/** Whether a file exists (readable). */
export const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

export { MODULES as TEST_MODULES };
