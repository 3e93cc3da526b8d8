// The initramfs generator against a real installed root (linux-esx, bash, kmod, util-linux from
// the test stage, installed by our tdnf): GNU cpio lists it, chroot runs every tool in it,
// kmod's own modprobe resolves the module closure from the regenerated index, bash -n accepts
// /init, and QEMU (TCG) boots the flavor's kernel with it into a root found by PARTUUID=,
// UUID= on virtio-scsi, or not at all (the timeout message and the rescue shell).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { installRoot } from '../../test/kit/stage.ts';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { readElf } from '../formats/elf.ts';
import { isPhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import { DEFAULT_DRIVERS, initramfsTree, makeInitramfs } from './initramfs.ts';

let dir = '';
let root = '';
let kver = '';
let initrd: Uint8Array = new Uint8Array(0);
let extracted = '';

const MiB = 1024 * 1024;

const rejectsWith = (p: Promise<unknown>, re: RegExp) =>
  assert.rejects(p, (e: unknown) => isPhotonError(e) && e.code === 'E_INITRAMFS' && re.test(e.describe()));

describe('initramfs', () => {
  before(async () => {
    dir = await tempDir('initramfs');
    root = join(dir, 'root');
    await installRoot(root, ['linux-esx', 'bash', 'kmod', 'util-linux', 'e2fsprogs', 'coreutils']);
    kver = (await readdir(join(root, 'usr/lib/modules')))[0]!;
    initrd = await makeInitramfs(root, kver, { compression: 'none' });
    extracted = join(dir, 'x');
    await mkdir(extracted);
    await run('cpio', ['-id', '--quiet'], { cwd: extracted, input: initrd });
  });
  after(() => cleanup(dir));

  it('GNU cpio lists /init, the tools, their loader and libraries, the modules and their index', async () => {
    const listing = (await run('cpio', ['-tv', '--quiet'], { input: initrd })).stdout.toString();
    const names = new Set((await run('cpio', ['-t', '--quiet'], { input: initrd })).stdout.toString().split('\n').filter(Boolean));
    const md = `usr/lib/modules/${kver}`;
    for (const want of [
      'init', 'usr/bin/bash', 'usr/bin/kmod', 'usr/sbin/modprobe', 'usr/bin/mount', 'usr/sbin/switch_root', 'usr/sbin/findfs',
      'lib64', 'usr/lib64/ld-linux-x86-64.so.2', 'usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', 'usr/lib/x86_64-linux-gnu/libc.so.6',
      'usr/lib/x86_64-linux-gnu/libblkid.so.1', 'usr/lib/x86_64-linux-gnu/libmount.so.1', 'bin', 'sbin', 'lib',
      `${md}/kernel/drivers/block/virtio_blk.ko`, `${md}/kernel/drivers/scsi/virtio_scsi.ko`, `${md}/kernel/drivers/block/xen-blkfront.ko`,
      `${md}/kernel/drivers/scsi/hv_storvsc.ko`, `${md}/kernel/drivers/scsi/sd_mod.ko`, `${md}/kernel/fs/fat/vfat.ko`,
      `${md}/modules.dep`, `${md}/modules.dep.bin`, `${md}/modules.alias.bin`, `${md}/modules.builtin.bin`,
      'dev/console', 'dev/null', 'proc', 'sys', 'sysroot', 'etc/fstab',
    ]) {
      assert.ok(names.has(want), `${want} missing from the initramfs`);
    }
    assert.match(listing, /^crw------- .* 5,\s+1 .* dev\/console$/m);
    assert.match(listing, /^lrwxrwxrwx .* usr\/sbin\/modprobe -> \/bin\/kmod$/m);
    assert.match(listing, /^-rwxr-xr-x .* init$/m);
    // Nothing the boot does not need: no other kernel modules, no other programs.
    assert.ok(![...names].some((n) => /\/(nouveau|e1000|ext2|btrfs|xfs)\.ko/.test(n)));
    assert.ok(![...names].some((n) => /^usr\/(s?bin)\/(ls|cat|systemctl|udevadm)$/.test(n)));
    assert.ok(initrd.length < 20 * MiB, `${(initrd.length / MiB).toFixed(1)} MiB uncompressed`);
  });

  it('every ELF in it finds its libraries inside it: readElf, and chroot running each tool', async () => {
    const files: string[] = [];
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile()) files.push(p);
      }
    };
    await walk(extracted);
    let elves = 0;
    const libDirs = ['usr/lib/x86_64-linux-gnu', 'usr/lib64', 'usr/lib'];
    for (const f of files) {
      if (f.endsWith('.ko')) continue;
      const info = readElf(new Uint8Array(await readFile(f)), f);
      if (!info) continue;
      elves++;
      if (info.interp) assert.ok(existsSync(join(extracted, info.interp)), `${f}: interpreter ${info.interp}`);
      for (const lib of info.needed) assert.ok(libDirs.some((d) => existsSync(join(extracted, d, lib))), `${f} needs ${lib}`);
    }
    assert.ok(elves >= 10, `${elves} ELF files`);
    const r = await run('chroot', [extracted, '/usr/bin/bash', '-c',
      'true && mount --version && switch_root --version && findfs --version && blkid --version && modprobe --version && insmod --version'], { allowFailure: true });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.match(r.stdout.toString(), /^mount from util-linux/m);
    assert.match(r.stdout.toString(), /^kmod version \d+/m);
  });

  it("kmod's modprobe resolves the modules.dep closure from the regenerated index", async () => {
    // The same answer as the host's modprobe over the flavor's full module tree.
    const rel = (out: Buffer) => out.toString().trim().split('\n').map((l) => l.replace(/^insmod \S*?\/lib\/modules\/[^/]+\//, '').trim());
    const show = async (mod: string) => rel((await run('chroot', [extracted, '/usr/sbin/modprobe', '-S', kver, '--show-depends', mod])).stdout);
    const reference = async (mod: string) => rel((await run('modprobe', ['-d', root, '-S', kver, '--show-depends', mod])).stdout);
    for (const mod of ['virtio_scsi', 'hv_storvsc', 'vfat', 'xen_blkfront', 'virtio_pci']) {
      const ours = await show(mod);
      assert.deepEqual([...ours].sort(), [...(await reference(mod))].sort(), mod);
      assert.ok(ours.length >= 1);
    }
    assert.deepEqual([...(await show('virtio_scsi'))].sort(), [
      'kernel/drivers/scsi/scsi_common.ko', 'kernel/drivers/scsi/scsi_mod.ko', 'kernel/drivers/scsi/virtio_scsi.ko',
      'kernel/drivers/virtio/virtio.ko', 'kernel/drivers/virtio/virtio_ring.ko',
    ]);
    // Built into this kernel: modprobe knows it from modules.builtin.bin and loads nothing.
    assert.match((await show('ext4')).join('\n'), /^builtin ext4$/);
    // Each included module's dependencies are what the flavor's own modules.dep says.
    const md = `usr/lib/modules/${kver}/modules.dep`;
    const full = new Map((await readFile(join(root, md), 'utf8')).split('\n').map((l) => [l.split(':')[0], l] as const));
    const ours = (await readFile(join(extracted, md), 'utf8')).trim().split('\n');
    assert.ok(ours.length >= 15);
    // (depmod orders each list by its own walk: compare them as sets)
    const deps = (line: string | undefined) => (line ?? '').split(/:?\s+/).slice(1).sort().join(' ');
    for (const line of ours) assert.equal(deps(line), deps(full.get(line.split(':')[0])), line);
  });

  it('/init passes bash -n and reads the command line it documents', async () => {
    await run('bash', ['-n', join(extracted, 'init')]);
    const init = await readFile(join(extracted, 'init'), 'utf8');
    assert.match(init, /^#!\/usr\/bin\/bash\n/);
    for (const arg of ['root=', 'rootfstype=', 'rootflags=', 'ro)', 'rw)', 'init=', 'rd.break', 'rd.timeout=']) assert.ok(init.includes(arg), arg);
    assert.match(init, /^BACKGROUND="virtio_pci virtio_mmio virtio_blk virtio_scsi sd_mod /m);
  });

  it('what is chosen: defaults skip built-ins and absent drivers; an explicit unknown driver is an error', async () => {
    const t = await initramfsTree(root, kver);
    assert.ok(t.builtin.includes('ext4'));
    assert.ok(t.load.includes('virtio_blk') && !t.load.includes('ext4'));
    assert.deepEqual([...t.load, ...t.builtin, ...t.absent].sort(), [...DEFAULT_DRIVERS].sort());
    assert.ok(t.bytes < 20 * MiB);
    const only = await initramfsTree(root, kver, { drivers: ['virtio-blk'] });
    assert.deepEqual(only.modules, ['virtio', 'virtio_blk', 'virtio_ring']);
    await rejectsWith(initramfsTree(root, kver, { drivers: ['virtio_blk', 'no_such_hba'] }), /driver no_such_hba: no such module/);
    await rejectsWith(initramfsTree(root, '9.9.9-nope'), /root: no \/usr\/lib\/modules\/9\.9\.9-nope/);
    await rejectsWith(initramfsTree(root, '../../etc'), /bad kernel version/);
    await rejectsWith(initramfsTree(join(dir, 'nowhere'), kver), /root directory not found/);
  });

  it('compression: zstd by default (the kernel has CONFIG_RD_ZSTD), gzip, none; same root, same bytes', async () => {
    const z = await makeInitramfs(root, kver);
    assert.deepEqual([...z.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd]);
    const unz = (await run('zstd', ['-dc'], { input: z })).stdout;
    assert.ok(Buffer.from(initrd).equals(unz), 'zstd -d gives the uncompressed archive');
    const g = await makeInitramfs(root, kver, { compression: 'gzip' });
    assert.ok(Buffer.from(initrd).equals((await run('gzip', ['-dc'], { input: g })).stdout));
    assert.deepEqual([...initrd.subarray(0, 6)], [...Buffer.from('070701')]);
    assert.ok(Buffer.from(await makeInitramfs(root, kver, { compression: 'none' })).equals(initrd));
  });

  describe('booted by QEMU (TCG, no network)', { skip: existsSync('/usr/bin/qemu-system-x86_64') ? false : 'qemu-system-x86 not installed' }, () => {
    let disk = '';
    let initrdFile = '';
    const PARTUUID = '0fb3a9b2-aaaa-4bbb-8ccc-0123456789ab';
    const FSUUID = '5b0b7a3e-6c55-4f0a-9d6e-4d3c2b1a0f9e';

    before(async () => {
      // A root of one static busybox whose "systemd" prints where it runs and powers off.
      const tiny = join(dir, 'tiny');
      for (const d of ['usr/lib/systemd', 'bin', 'proc', 'sys', 'dev', 'run']) await mkdir(join(tiny, d), { recursive: true });
      await copyFile('/usr/bin/busybox', join(tiny, 'bin/busybox'));
      await writeFile(join(tiny, 'usr/lib/systemd/systemd'), [
        '#!/bin/busybox sh',
        '/bin/busybox mount -t proc proc /proc',
        'echo "PHOTON-MARKER pid=$$ root=$(/bin/busybox awk \'$2=="/"{print $1, $4}\' /proc/mounts | /bin/busybox tail -1)" \\',
        '  "run=$(/bin/busybox awk \'$2=="/run"{print $3}\' /proc/mounts) fsck=$([ -e /run/initramfs/fsck-root ] && echo done || echo none)"',
        '/bin/busybox poweroff -f', '',
      ].join('\n'));
      await chmod(join(tiny, 'usr/lib/systemd/systemd'), 0o755);
      disk = join(dir, 'disk.img');
      await run('truncate', ['-s', '64M', disk]);
      await run('sfdisk', ['-q', disk], { input: `label: gpt\nstart=2048, size=20480, type=L\nstart=22528, size=104448, type=L, uuid=${PARTUUID}\n` });
      await run('mkfs.ext4', ['-q', '-F', '-U', FSUUID, '-d', tiny, '-E', `offset=${22528 * 512}`, disk, `${104448 / 2}k`]);
      initrdFile = join(dir, 'initrd.zst');
      await writeFile(initrdFile, await makeInitramfs(root, kver));
    });

    /** Boots, returns the console output once `until` matches it (or throws after `ms`). */
    async function boot(append: string, drive: string[], until: RegExp, ms = 120_000): Promise<string> {
      const args = ['-accel', 'tcg', '-m', '512', '-nographic', '-no-reboot', '-nic', 'none', '-kernel', join(root, 'boot', `vmlinuz-${kver}`),
        '-initrd', initrdFile, ...drive, '-append', `console=ttyS0 panic=-1 ${append}`];
      const vm: ChildProcess = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      const t0 = Date.now();
      try {
        return await new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no ${until} after ${ms} ms:\n${out.slice(-4000)}`)), ms);
          const check = () => {
            if (until.test(out)) {
              clearTimeout(timer);
              resolve(out);
            }
          };
          vm.stdout!.on('data', (b: Buffer) => { out += b.toString(); check(); });
          vm.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
          vm.on('exit', () => { clearTimeout(timer); check(); reject(new Error(`qemu exited before ${until}:\n${out.slice(-4000)}`)); });
        });
      } finally {
        vm.kill('SIGKILL');
        process.stderr.write(`# boot "${append}": ${Date.now() - t0} ms\n`);
      }
    }

    it('virtio-blk, root=PARTUUID=: switch_root runs the root\'s init as PID 1 on a read-only root', async () => {
      const out = await boot(`root=PARTUUID=${PARTUUID.toUpperCase()}`, ['-drive', `file=${disk},format=raw,if=virtio`], /PHOTON-MARKER[^\n]*\n/);
      assert.match(out, /PHOTON-MARKER pid=1 root=\/dev\/vda2 ro,/);
      assert.match(out, /initramfs: root PARTUUID=\S+ is \/dev\/vda2/);
      // e2fsck checked the unmounted root (its report is in the kernel log) and left the marker
      // that makes systemd-fsck-root.service skip its own check; /run came along.
      assert.match(out, /\/dev\/vda2: clean, \d+\/\d+ files/);
      assert.match(out, /PHOTON-MARKER [^\n]* run=tmpfs fsck=done/);
    });

    it('virtio-scsi, root=UUID= rw rootfstype=ext4', async () => {
      const out = await boot(`root=UUID=${FSUUID} rw rootfstype=ext4`,
        ['-device', 'virtio-scsi-pci,id=scsi', '-drive', `file=${disk},format=raw,if=none,id=d0`, '-device', 'scsi-hd,drive=d0,bus=scsi.0'], /PHOTON-MARKER[^\n]*\n/);
      // A read-write root is not checked, as systemd-fsck-root.service would not check it either.
      assert.match(out, /PHOTON-MARKER pid=1 root=\/dev\/sda2 rw,\S* [^\n]*fsck=none/);
    });

    it('a root that never appears: a clear message and a rescue shell', async () => {
      const out = await boot('root=PARTUUID=00000000-0000-4000-8000-000000000000 rd.timeout=2', ['-drive', `file=${disk},format=raw,if=virtio`], /bash-[\d.]+# /);
      assert.match(out, /initramfs: root device PARTUUID=00000000-0000-4000-8000-000000000000 did not appear in 2 s .*\(cannot boot\)/);
      assert.match(out, /initramfs: starting a shell/);
    });
  });
});
