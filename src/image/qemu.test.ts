import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, connect, createServer } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bootAndLogin, busyboxInitramfs, exists, haveTool, runOnConsole, runOnConsoleStatus, TEST_MODULES, testKernel } from '../../test/kit/qemu.ts';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { isPhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import { archOfDisk, firmwareOfDisk, kvmUsable, OVMF_CODE, OVMF_VARS, QEMU, qemuArgs, readDiskHead, startVm } from './qemu.ts';
import { makeSeedIso } from './seed.ts';

const REPO = join(fileURLToPath(import.meta.url), '..', '..', '..');
const haveQemu = await haveTool(QEMU);
const kernel = haveQemu ? await testKernel() : undefined;
const noGuest = !haveQemu ? `${QEMU} not installed (apt-get install qemu-system-x86)` : false;

// Boots of the small guest are timed against these (TCG on 2 shared cores is the slow case).
const BOOT_MS = 60_000;

/** The values given to `flag` in a QEMU argument vector, in order. */
const valuesOf = (args: string[], flag: string) => args.flatMap((x, i) => (x === flag ? [args[i + 1]!] : []));

test('arguments: q35, restricted user network only, snapshot by default, OVMF as pflash, the TCG CPU model', () => {
  const a = qemuArgs({ image: '/i/a,b.qcow2', firmware: 'efi', forwardSsh: 2222 }, 'tcg', '/t/vars.fd');
  const at = (flag: string) => valuesOf(a, flag);
  assert.deepEqual(at('-machine'), ['q35']);
  assert.deepEqual(at('-accel'), ['tcg,thread=multi']);
  assert.deepEqual(at('-cpu'), ['qemu64,+cx16,+ssse3,+sse4.1,+sse4.2,+popcnt,-svm']);
  assert.deepEqual(at('-netdev'), ['user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22']);
  assert.ok(!a.includes('-nic') && !a.includes('-net'), 'no other way to add a NIC');
  assert.ok(at('-drive').includes('id=disk0,if=none,format=qcow2,file=/i/a,,b.qcow2,snapshot=on'), 'comma doubled, snapshot on');
  assert.ok(at('-drive').includes(`if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`));
  assert.ok(at('-drive').includes('if=pflash,format=raw,unit=1,file=/t/vars.fd'));
  assert.ok(at('-device').includes('virtio-rng-pci'));
  assert.ok(a.includes('-no-reboot') && a.includes('-nodefaults'));

  const b = qemuArgs({ image: '/i/d.raw', firmware: 'bios', snapshot: false, network: false, cpus: 1, memoryMiB: 300 }, 'kvm');
  assert.ok(!b.includes('-netdev') && !b.some((x) => x.includes('pflash')));
  assert.ok(b.includes('id=disk0,if=none,format=raw,file=/i/d.raw'));
  assert.deepEqual([b[b.indexOf('-smp') + 1], b[b.indexOf('-m') + 1], b[b.indexOf('-accel') + 1]], ['1', '300', 'kvm']);
  assert.deepEqual(valuesOf(b, '-cpu'), ['max']);
  assert.equal(qemuArgs({ image: 'x.vhd', firmware: 'bios' }, 'tcg').find((x) => x.startsWith('id=disk0')), 'id=disk0,if=none,format=vpc,file=x.vhd,snapshot=on');
  assert.throws(() => qemuArgs({ image: 'x', firmware: 'bios', forwardSsh: 70000 }, 'tcg'), /port/);
  assert.throws(() => qemuArgs({ firmware: 'bios' }, 'tcg'), /image or a kernel/);
  assert.throws(() => qemuArgs({ image: 'x', firmware: 'bios', nvram: 'x.fd' }, 'tcg'), (e) => isPhotonError(e) && e.code === 'E_USAGE' && /nvram/.test(e.message));
});

test('arguments for an arm64 guest: the virt board, AAVMF, cheap pointer authentication under TCG, UEFI only', () => {
  const a = qemuArgs({ arch: 'aarch64', image: '/i/a.raw', firmware: 'efi' }, 'tcg', '/t/vars.fd');
  const at = (flag: string) => valuesOf(a, flag);
  assert.deepEqual(at('-machine'), ['virt']);
  assert.deepEqual(at('-cpu'), ['max,pauth-impdef=on']);
  assert.ok(at('-drive').includes('if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd'));
  assert.throws(() => qemuArgs({ arch: 'aarch64', image: '/i/a.raw', firmware: 'bios' }, 'tcg'), /UEFI only/);
});

test("the architecture from the ESP's removable-media loader, read with mtools", async () => {
  const dir = await tempDir('arch');
  try {
    const disk = join(dir, 'disk.raw');
    await run('truncate', ['-s', '64M', disk]);
    await run('sfdisk', ['-q', disk], { input: 'label: gpt\nstart=2048, size=32MiB, type=U\ntype=L\n' });
    const esp = join(dir, 'esp.img');
    const espAt = 2048 * 512;
    for (const [loader, want] of [['BOOTAA64.EFI', 'aarch64'], ['BOOTX64.EFI', 'x86_64'], ['GRUB.EFI', undefined]] as const) {
      await run('rm', ['-f', esp]);
      await run('mkfs.vfat', ['-C', esp, String(32 * 1024)]);
      await writeFile(join(dir, loader), 'MZ');
      await run('mmd', ['-i', esp, '::/EFI', '::/EFI/BOOT']);
      await run('mcopy', ['-i', esp, join(dir, loader), `::/EFI/BOOT/${loader}`]);
      await run('dd', [`if=${esp}`, `of=${disk}`, 'bs=1M', `seek=${espAt / 1048576}`, 'conv=notrunc', 'status=none']);
      assert.equal(await archOfDisk(disk, await readDiskHead(disk)), want, loader);
    }
    assert.equal(await archOfDisk(disk, new Uint8Array(4096)), undefined, 'no partition table');
  } finally {
    await cleanup(dir);
  }
});

test('firmware from the partition table, as sfdisk writes it, through qcow2 and VMDK too', async () => {
  const dir = await tempDir('fw');
  try {
    const cases: [string, string, string | undefined][] = [
      ['gpt: efi', 'label: gpt\nsize=100MiB, type=U\ntype=L\n', 'efi'],
      ['gpt: dualboot', 'label: gpt\nsize=4MiB, type=21686148-6449-6E6F-744E-656564454649\nsize=100MiB, type=U\ntype=L\n', 'efi'],
      ['gpt: bios', 'label: gpt\nsize=4MiB, type=21686148-6449-6E6F-744E-656564454649\ntype=L\n', 'bios'],
      ['gpt: neither', 'label: gpt\ntype=L\n', undefined],
      ['msdos: bios', 'label: dos\ntype=83, bootable\n', 'bios'],
      ['msdos: efi', 'label: dos\nsize=100MiB, type=ef\ntype=83\n', 'efi'],
    ];
    for (const [name, script, want] of cases) {
      const disk = join(dir, 'disk.raw');
      await run('truncate', ['-s', '0', disk]);
      await run('truncate', ['-s', '256M', disk]);
      await run('sfdisk', ['-q', disk], { input: script });
      assert.equal(firmwareOfDisk(await readDiskHead(disk)), want, name);
    }
    assert.equal(firmwareOfDisk(new Uint8Array(4096)), undefined, 'blank disk');
    const last = join(dir, 'disk.raw');
    for (const fmt of ['qcow2', 'vmdk'] as const) {
      const out = join(dir, `disk.${fmt}`);
      await run('qemu-img', ['convert', '-O', fmt, ...(fmt === 'vmdk' ? ['-o', 'subformat=streamOptimized'] : []), last, out]);
      assert.equal(firmwareOfDisk(await readDiskHead(out)), 'efi', fmt);
    }
  } finally {
    await cleanup(dir);
  }
});

test('kvm is used only when it really starts a guest; PHOTON_QEMU_ACCEL overrides', { skip: !haveQemu && 'no qemu' }, async () => {
  const usable = await kvmUsable();
  assert.equal(typeof usable, 'boolean');
  const saved = process.env['PHOTON_QEMU_ACCEL'];
  try {
    process.env['PHOTON_QEMU_ACCEL'] = 'tcg';
    assert.equal(await kvmUsable(), false);
    process.env['PHOTON_QEMU_ACCEL'] = 'kvm';
    assert.equal(await kvmUsable(), true);
  } finally {
    if (saved === undefined) delete process.env['PHOTON_QEMU_ACCEL'];
    else process.env['PHOTON_QEMU_ACCEL'] = saved;
  }
});

const moduleNames = TEST_MODULES.map((m) => m.split('/').pop()!.replace(/\.ko$/, ''));

/** busybox init with a getty on the serial console, after loading the virtio and isofs modules. */
const LOGIN_INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in ${moduleNames.join(' ')}; do insmod /lib/modules/$m.ko || echo "insmod $m failed"; done
hostname photon-test
echo PHOTON-TEST-READY
exec /bin/init
`;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** What a connection to 127.0.0.1:port receives until the other side closes it. */
function readForwarded(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let got = '';
    sock.setTimeout(20_000, () => sock.destroy(new Error(`nothing from 127.0.0.1:${port}`)));
    sock.on('data', (b) => (got += b.toString()));
    sock.on('error', reject);
    sock.on('close', () => resolve(got));
  });
}

/** An HTTP server on the host that counts requests: a guest must never get through to it. */
async function hostServer(): Promise<{ port: number; hits: number; close(): void }> {
  const state = { port: 0, hits: 0, close: () => {} };
  const srv = createHttpServer((_req, res) => {
    state.hits++;
    res.end('reached the host\n');
  });
  await new Promise<void>((r) => srv.listen(0, '0.0.0.0', r));
  state.port = (srv.address() as AddressInfo).port;
  state.close = () => srv.close();
  return state;
}

test('a real guest: serial console marker, login, commands, seed ISO, restricted network, snapshot, poweroff', { skip: noGuest, timeout: 4 * BOOT_MS }, async () => {
  const dir = await tempDir('vm');
  const server = await hostServer();
  try {
    const hash = (await run('busybox', ['mkpasswd', '-m', 'sha512', 'tEst-pw', 'saltsalt'])).stdout.toString().trim();
    const initrd = await busyboxInitramfs({
      init: LOGIN_INIT,
      modules: TEST_MODULES.map((m) => join(kernel!.modules, m)),
      files: {
        'etc/inittab': '::respawn:/bin/getty -L 115200 ttyS0 vt100\n::shutdown:/bin/sync\n',
        'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n',
        'etc/shadow': `root:${hash}:19000:0:99999:7:::\n`,
        'etc/group': 'root:x:0:\n',
      },
    });
    assert.ok(initrd, 'busybox-static is installed');
    await writeFile(join(dir, 'initrd.gz'), initrd);
    const image = join(dir, 'disk.raw');
    const original = new Uint8Array(8 << 20).fill(0x5a);
    await writeFile(image, original);
    const sshPort = await freePort();
    const seed = join(dir, 'seed.iso');
    await makeSeedIso(seed, { userData: '#cloud-config\nhostname: from-seed\n', metaData: 'instance-id: iid-1\n' });

    const vm = await startVm({
      image, firmware: 'bios', kernel: kernel!.kernel, initrd: join(dir, 'initrd.gz'), append: 'console=ttyS0 quiet panic=-1',
      seedIso: seed, memoryMiB: 256, serialLog: join(dir, 'console.log'), forwardSsh: sshPort,
    });
    try {
      await vm.waitFor(/PHOTON-TEST-READY/, BOOT_MS);
      const ms = performance.now() - vm.startedAt;
      console.log(`# ${vm.accel}: QEMU start to the initramfs marker in ${(ms / 1000).toFixed(2)} s`);
      assert.doesNotMatch(vm.output(), /insmod \S+ failed/);

      await assert.rejects(vm.waitFor(/NEVER-PRINTED/, 300), (e) => isPhotonError(e) && e.code === 'E_VM_TIMEOUT' && e.message.includes('PHOTON-TEST-READY'));
      await bootAndLogin(vm, { user: 'root', password: 'tEst-pw', timeoutMs: BOOT_MS });
      console.log(`# ${vm.accel}: QEMU start to a shell after login in ${((performance.now() - vm.startedAt) / 1000).toFixed(2)} s`);

      assert.equal(await runOnConsole(vm, 'uname -r'), `${kernel!.kver}\n`);
      assert.deepEqual(await runOnConsoleStatus(vm, 'echo out; echo err >&2; exit 3'), { output: 'out\nerr\n', status: 3 });
      await assert.rejects(runOnConsole(vm, 'false'), /status 1/);
      // A long line typed in one go arrives whole.
      const long = 'x'.repeat(900);
      assert.equal(await runOnConsole(vm, `echo ${long} | wc -c`), '901\n');

      // The image is vda, the seed vdb: cloud-init finds the seed by its label.
      assert.equal(await runOnConsole(vm, 'findfs LABEL=cidata'), '/dev/vdb\n');
      assert.equal(await runOnConsole(vm, 'mount -t iso9660 -o ro /dev/vdb /mnt && cat /mnt/user-data && umount /mnt'), '#cloud-config\nhostname: from-seed\n');

      // The NIC: the forwarded port reaches the guest, but the guest reaches nothing, not even
      // a server on the host (10.0.2.2 is the host under QEMU's user network).
      await runOnConsole(vm, 'ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2');
      await runOnConsole(vm, 'nc -ll -p 22 -e echo hello-from-guest >/dev/null 2>&1 &');
      await runOnConsole(vm, 'for i in $(seq 100); do netstat -ltn | grep -q ":22 " && exit 0; sleep 0.2; done; exit 1');
      assert.equal(await readForwarded(sshPort), 'hello-from-guest\n');
      // (Without restrict=on this same command gets the server's answer: checked by hand.)
      const blocked = await runOnConsoleStatus(vm, `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 10.0.2.2 ${server.port}`, 30_000);
      assert.equal(blocked.status, 1);
      assert.match(blocked.output, /can't connect to remote host \(10\.0\.2\.2\)/);
      assert.equal(server.hits, 0);

      // Written in the guest, not in the file: -snapshot keeps the image as built.
      await runOnConsole(vm, 'echo changed | dd of=/dev/vda bs=512 count=1 conv=notrunc 2>/dev/null; sync');
      assert.equal(await runOnConsole(vm, 'head -c 7 /dev/vda'), 'changed');

      vm.send('poweroff\n');
      assert.equal(await vm.exited, 0);
      await assert.rejects(vm.waitFor(/NEVER-PRINTED/, 10_000), (e) => isPhotonError(e) && e.code === 'E_VM_EXITED');
      assert.throws(() => vm.send('x'), /cannot type/);
    } finally {
      await vm.stop();
      server.close();
    }
    assert.deepEqual(new Uint8Array(await readFile(image)), original, 'image unchanged');
    assert.match(await readFile(join(dir, 'console.log'), 'utf8'), /PHOTON-TEST-READY[\s\S]*login:/);
  } finally {
    await cleanup(dir);
  }
});

test('OVMF starts and reports on the serial console (empty disk); nvram keeps its variables', { skip: !haveQemu ? 'no qemu' : !(await exists(OVMF_CODE)) && 'no OVMF (apt-get install ovmf)', timeout: 2 * BOOT_MS }, async () => {
  const dir = await tempDir('vm');
  try {
    const image = join(dir, 'empty.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', image, '64M']);
    const nvram = join(dir, 'vm.nvram');
    const vm = await startVm({ image, firmware: 'efi', memoryMiB: 256, network: false, nvram });
    try {
      const line = await vm.waitFor(/BdsDxe: [^\r\n]*\r?\n/, BOOT_MS);
      console.log(`# ${vm.accel}: QEMU start to OVMF's first boot-manager line in ${((performance.now() - vm.startedAt) / 1000).toFixed(2)} s: ${line.trim()}`);
      assert.match(vm.output(), /BdsDxe: failed to load Boot0001 "UEFI Misc Device"/);
    } finally {
      await vm.stop();
    }
    // QEMU ends cleanly (status 0) on the SIGTERM stop() sends.
    assert.equal(typeof (await vm.exited), 'number');
    // The store was made from OVMF's template and holds what the boot manager wrote into it.
    const [kept, template] = [await readFile(nvram), await readFile(OVMF_VARS)];
    assert.equal(kept.length, template.length);
    assert.ok(!kept.equals(template), 'OVMF wrote its variables into the kept store');
    // One of another size is refused before QEMU starts, naming the file.
    await writeFile(join(dir, 'bad.nvram'), 'not a variable store');
    await assert.rejects(startVm({ image, firmware: 'efi', network: false, nvram: join(dir, 'bad.nvram') }), (e) => isPhotonError(e) && e.file === join(dir, 'bad.nvram') && /variable store/.test(e.message));
    // A VM refused for its options makes no store.
    await assert.rejects(startVm({ firmware: 'efi', network: false, nvram: join(dir, 'none.nvram') }), /image or a kernel/);
    assert.ok(!(await exists(join(dir, 'none.nvram'))), 'no store made for a refused VM');
  } finally {
    await cleanup(dir);
  }
});

test('QEMU that cannot start: the waiter fails at once with QEMU\'s reason', { skip: !haveQemu && 'no qemu' }, async () => {
  const dir = await tempDir('vm');
  try {
    const image = join(dir, 'not-qcow2.qcow2');
    await writeFile(image, 'plain text');
    const vm = await startVm({ image, firmware: 'bios', network: false });
    const t0 = performance.now();
    await assert.rejects(vm.waitFor(/login:/, 60_000), (e) => isPhotonError(e) && e.code === 'E_VM_EXITED' && /qcow2|Image is not in/.test(e.message));
    assert.ok(performance.now() - t0 < 10_000);
    assert.equal(await vm.exited, 1);
    await assert.rejects(startVm({ image: join(dir, 'missing.raw'), firmware: 'bios' }), (e) => isPhotonError(e) && e.file === join(dir, 'missing.raw'));
  } finally {
    await cleanup(dir);
  }
});

/** Runs the `photon image run` module as a child process, as bin/photon.js will. */
function runCli(argv: string[], input?: { after: RegExp; text: string }): Promise<{ status: number; stdout: string; stderr: string }> {
  const code = `const m = await import(${JSON.stringify(join(REPO, 'src/cli/image-run.ts'))});
try { process.exitCode = await m.main(process.argv.slice(1)); }
catch (e) { process.stderr.write('photon image run: ' + (e.describe ? e.describe() : e) + '\\n'); process.exitCode = e.code === 'E_USAGE' ? 2 : 1; }`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, ...argv], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    // Typed only once the guest reads its console: a UART drops what arrives before its driver is up.
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      if (input && input.after.test(stdout) && !child.stdin.writableEnded) child.stdin.end(input.text);
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (c) => resolve({ status: c ?? 1, stdout, stderr }));
    if (!input) child.stdin.end();
  });
}

test('photon image run: usage errors', async () => {
  const r = await runCli([]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /an IMAGE to boot is needed/);
  assert.match((await runCli(['x.raw', '--firmware', 'uefi'])).stderr, /--firmware is efi, bios or auto, not 'uefi'/);
  assert.match((await runCli(['x.raw', '--ssh-port', '99999'])).stderr, /--ssh-port needs a whole number/);
  assert.match((await runCli(['x.raw', '--seed', 'd', '--user-data', 'u'])).stderr, /--seed takes the files/);
  assert.match((await runCli([join(REPO, 'package.json'), '--firmware', 'bios', '--arch', 'x86_64', '--nvram', 'vm.fd'])).stderr, /UEFI variable store \(nvram\) is for UEFI firmware, not BIOS/);
  const missing = await runCli(['/nonexistent/x.raw']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^photon image run: \/nonexistent\/x\.raw: /);
});

test('photon image run: boots, console on stdout, --persist writes the image, a GCE tarball, --timeout stops', { skip: noGuest, timeout: 3 * BOOT_MS }, async () => {
  const dir = await tempDir('vm');
  try {
    const init = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev
for m in ${moduleNames.join(' ')}; do insmod /lib/modules/$m.ko; done
echo RUN-CLI-READY
read line
echo "GOT[$line] MBR[$(dd if=/dev/vda bs=1 skip=510 count=2 2>/dev/null | xxd -p)]"
[ "$line" = persist ] && echo persisted | dd of=/dev/vda conv=notrunc 2>/dev/null && sync && poweroff -f
sleep 600
`;
    const initrd = await busyboxInitramfs({ init, modules: TEST_MODULES.map((m) => join(kernel!.modules, m)) });
    await writeFile(join(dir, 'initrd.gz'), initrd!);
    const image = join(dir, 'disk.img');
    await writeFile(image, new Uint8Array(1 << 20));
    const direct = ['--kernel', kernel!.kernel, '--initrd', join(dir, 'initrd.gz'), '--append', 'console=ttyS0 quiet panic=-1', '--memory', '256'];

    const a = await runCli([image, '--firmware', 'bios', ...direct, '--persist', '--timeout', '60'], { after: /RUN-CLI-READY/, text: 'persist\n' });
    assert.equal(a.status, 0, a.stderr);
    assert.match(a.stdout, /RUN-CLI-READY[\s\S]*GOT\[persist\] MBR\[0000\]/);
    assert.match(a.stderr, /disk\.img \(x86_64, BIOS, (TCG|KVM)\)/);
    assert.equal((await readFile(image)).subarray(0, 10).toString(), 'persisted\n');

    // As GCE ships it: disk.raw in a GNU tar.gz; the MBR says BIOS.
    const raw = join(dir, 'disk.raw');
    await run('truncate', ['-s', '16M', raw]);
    await run('sfdisk', ['-q', raw], { input: 'label: dos\ntype=83, bootable\n' });
    const tgz = join(dir, 'gce.tar.gz');
    await run('tar', ['--format=gnu', '-czf', tgz, '-C', dir, 'disk.raw']);
    const t0 = performance.now();
    const b = await runCli([tgz, ...direct, '--timeout', '20'], { after: /RUN-CLI-READY/, text: 'other\n' });
    assert.equal(b.status, 124, b.stderr);
    assert.match(b.stdout, /GOT\[other\] MBR\[55aa\]/);
    assert.match(b.stderr, /gce\.tar\.gz \(x86_64, BIOS, /);
    assert.match(b.stderr, /stopped after 20 s/);
    assert.ok(performance.now() - t0 < 40_000);
    assert.match((await runCli([tgz, '--persist', ...direct])).stderr, /--persist needs a disk image/);
  } finally {
    await cleanup(dir);
  }
});
