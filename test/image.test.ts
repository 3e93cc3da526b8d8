// Issue 5's acceptance: a kickstart in, a bootable image out, booted under QEMU (TCG, OVMF) with
// a NoCloud seed. On the serial console: systemd reaches multi-user.target, sshd runs, docker is
// disabled (as Photon ships it) and starts on demand, tdnf works inside, the kickstart's hostname
// and password aging and cloud-init's ssh key took effect (ssh logs in through the forwarded
// port), the firewall and hardening sysctls are in force. Then the other kernel flavors boot, an
// aarch64 image boots on QEMU's arm64 virt board, BIOS boots GRUB, and a bad kickstart builds nothing.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { buildImage } from '../src/image/build.ts';
import { loadKickstart } from '../src/image/kickstart.ts';
import { type Vm, startVm } from '../src/image/qemu.ts';
import { makeSeedIso } from '../src/image/seed.ts';
import type { RepoSource } from '../src/image/stages.ts';
import { PhotonError } from '../src/util/errors.ts';
import { run } from '../src/util/run.ts';
import { bootAndLogin, runOnConsole, runOnConsoleStatus } from './kit/qemu.ts';
import { testStage } from './kit/stage.ts';
import { cleanup, tempDir } from './kit/tmp.ts';

const PASSWORD = 'Ph0ton-Test!';
let dir = '';
let repos: RepoSource[] = [];
const tdnf = join(process.cwd(), 'dist', 'tdnf.mjs');

function kickstart(name: string, extra: string): string {
  return `disks:
  default:
    filename: ${name}.raw
    size: 2048
partitions:
  - { mountpoint: /, size: 0, filesystem: ext4 }
packages: [minimal]
hostname: ${name}
password: { crypted: false, text: "${PASSWORD}", age: 45 }
services: { sshd: enabled }
${extra}`;
}

async function build(name: string, extra: string, format: 'raw' | 'ova' = 'raw', from: RepoSource[] = repos): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, kickstart(name, extra));
  const ks = await loadKickstart(file);
  const out = join(dir, `${name}.${format}`);
  await buildImage(ks, { format, output: out, repos: from, tdnf, log: (l) => process.stderr.write(`# ${name}: ${l}\n`) });
  return out;
}

/** The test stage of `arch` as the image builder's package source. */
async function stageRepos(arch: 'x86_64' | 'aarch64'): Promise<RepoSource[]> {
  const { stage } = await testStage(arch);
  return [{ baseurl: pathToFileURL(stage).href, gpgkey: pathToFileURL(join(stage, 'RPM-GPG-KEY-photon')).href }];
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

describe('photon image', () => {
  before(async () => {
    dir = await tempDir('image');
    repos = await stageRepos('x86_64');
  });
  after(() => cleanup(dir));

  it('builds the minimal image, which boots with UEFI to a working, hardened system', async () => {
    const image = await build('photon-efi', 'bootmode: efi\nlinux_flavor: linux-esx\n');
    // The raw disk: GPT with an ESP and the root, as sfdisk reads it.
    const table = JSON.parse((await run('sfdisk', ['--json', image])).stdout.toString()) as { partitiontable: { label: string; partitions: { type: string }[] } };
    assert.equal(table.partitiontable.label, 'gpt');
    assert.deepEqual(table.partitiontable.partitions.map((p) => p.type), ['C12A7328-F81F-11D2-BA4B-00A0C93EC93B', '0FC63DAF-8483-4772-8E79-3D69D8477DE4']);

    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'photon-test', '-f', join(dir, 'id')]);
    const pub = (await readFile(join(dir, 'id.pub'), 'utf8')).trim();
    const seed = join(dir, 'seed.iso');
    await makeSeedIso(seed, {
      userData: `#cloud-config\nssh_authorized_keys:\n  - ${pub}\n`,
      metaData: 'instance-id: iid-photon-test\n',
    });
    const port = await freePort();
    const t0 = Date.now();
    const vm: Vm = await startVm({ image, firmware: 'efi', memoryMiB: 1536, cpus: 2, seedIso: seed, forwardSsh: port });
    try {
      await vm.waitFor(/photon-efi login: ?$/m, 240_000);
      process.stderr.write(`# login prompt ${((Date.now() - t0) / 1000).toFixed(1)} s after QEMU started\n`);
      await bootAndLogin(vm, { user: 'root', password: PASSWORD, timeoutMs: 60_000 });
      const sh = (cmd: string, ms = 120_000) => runOnConsole(vm, cmd, ms);
      assert.equal((await sh('systemctl is-system-running --wait || true')).trim().split('\n').pop(), 'running', await sh('systemctl --failed --no-legend || true'));
      assert.equal((await sh('systemctl is-active multi-user.target sshd')).trim(), 'active\nactive');
      // Photon's presets leave docker and containerd disabled; started, docker runs on containerd.
      assert.equal((await sh('systemctl is-enabled docker containerd || true')).trim(), 'disabled\ndisabled');
      assert.equal((await sh('systemctl start docker && systemctl is-active docker containerd', 240_000)).trim(), 'active\nactive');
      assert.match(await sh("docker info --format '{{.Driver}} {{.CgroupVersion}}'"), /^overlay2 2$/m);
      assert.equal((await sh('uname -n')).trim(), 'photon-efi');
      // The boot entry carries linux-esx's photon_cmdline (its /boot/photon.cfg), as Photon's grub.cfg does.
      assert.match(await sh('cat /proc/cmdline'), / root=PARTUUID=\S+ init=\/lib\/systemd\/systemd rcupdate\.rcu_expedited=1 rw systemd\.show_status=0 quiet noreplace-smp cpu_init_udelay=0 net\.ifnames=0 /);
      assert.equal((await sh('findmnt -no OPTIONS / | cut -d, -f1')).trim(), 'rw');
      assert.match(await sh('chage -l root'), /Maximum number of days between password change\s*:\s*45/);
      assert.match(await sh('tdnf list installed'), /^minimal\.noarch\s+5\.0-1\.ph5\s+@System/m);
      assert.match(await sh('iptables -S INPUT'), /^-P INPUT DROP[\s\S]*--dport 22 -j ACCEPT/m);
      assert.equal((await sh('sysctl -n kernel.kptr_restrict')).trim(), '2');
      assert.equal((await sh('sysctl -n kernel.dmesg_restrict')).trim(), '1');
      assert.match(await sh('cloud-init status --wait || true', 240_000), /status: done/);
      // cloud-init put the seed's key on the default user: ssh in through the forwarded port.
      const ssh = await run('ssh', [
        '-i', join(dir, 'id'), '-p', String(port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
        '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=60', 'photon@127.0.0.1', 'id -un; cat /etc/os-release',
      ], { allowFailure: true });
      assert.equal(ssh.status, 0, ssh.stderr.toString());
      assert.match(ssh.stdout.toString(), /^photon\n[\s\S]*^ID=photon$/m);
      // Root may not log in over ssh (Photon's hardened sshd_config), password or not.
      const rootSsh = await run('ssh', ['-i', join(dir, 'id'), '-p', String(port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', 'root@127.0.0.1', 'true'], { allowFailure: true });
      assert.notEqual(rootSsh.status, 0);
      // The firewall fails closed: saved rules iptables-restore refuses leave every policy DROP
      // and no rule (the unit's reload fails), and the good file brings the rules back.
      const save = '/etc/systemd/scripts/ip4save';
      const broken = await runOnConsoleStatus(vm, `cp ${save} /root/ip4save && echo '-A INPUT --no-such-option' >> ${save} && systemctl reload iptables`);
      assert.notEqual(broken.status, 0, broken.output);
      assert.equal((await sh('iptables -S')).trim(), '-P INPUT DROP\n-P FORWARD DROP\n-P OUTPUT DROP');
      await sh(`cp /root/ip4save ${save} && systemctl reload iptables`);
      assert.match(await sh('iptables -S INPUT'), /--dport 22 -j ACCEPT/);
    } finally {
      await vm.stop();
    }
  });

  for (const flavor of ['linux', 'linux-rt'] as const) {
    it(`the ${flavor} kernel flavor boots`, async () => {
      const image = await build(`photon-${flavor}`, `bootmode: efi\nlinux_flavor: ${flavor}\n`);
      const vm = await startVm({ image, firmware: 'efi', memoryMiB: 1536, cpus: 2 });
      try {
        await bootAndLogin(vm, { user: 'root', password: PASSWORD, timeoutMs: 300_000 });
        const uname = (await runOnConsole(vm, 'uname -r')).trim();
        assert.match(uname, flavor === 'linux-rt' ? /-rt-amd64$/ : /^6\.1\.0-\d+-amd64$/);
        // Each flavor boots with its own photon_cmdline.
        assert.match(await runOnConsole(vm, 'cat /proc/cmdline'), flavor === 'linux-rt' ? / loglevel=3 quiet nosoftlockup / : / ro loglevel=3 quiet net\.ifnames=0 /);
        await runOnConsole(vm, 'systemctl is-system-running --wait || true', 300_000);
        assert.equal((await runOnConsole(vm, 'systemctl is-active multi-user.target')).trim(), 'active');
      } finally {
        await vm.stop();
      }
    });
  }

  it('aarch64: arch: aarch64 builds an arm64 image (scriptlets under QEMU user emulation) that boots on the virt board with UEFI', async () => {
    const image = await build('photon-arm64', 'arch: aarch64\nlinux_flavor: linux-esx\n', 'raw', await stageRepos('aarch64'));
    // A NoCloud seed, as a cloud would give: without one, cloud-init probes network datasources.
    const seed = join(dir, 'arm64-seed.iso');
    await makeSeedIso(seed, { userData: '#cloud-config\n', metaData: 'instance-id: iid-photon-arm64\n' });
    const vm = await startVm({ arch: 'aarch64', image, firmware: 'efi', memoryMiB: 1536, cpus: 2, seedIso: seed });
    try {
      await bootAndLogin(vm, { user: 'root', password: PASSWORD, timeoutMs: 900_000 });
      const sh = (cmd: string) => runOnConsole(vm, cmd, 300_000);
      assert.equal((await sh('uname -m')).trim(), 'aarch64');
      assert.match((await sh('uname -r')).trim(), /^6\.1\.0-\d+-cloud-arm64$/);
      await sh('systemctl is-system-running --wait || true');
      assert.equal((await sh('systemctl is-active multi-user.target sshd')).trim().split(/\s+/).join(' '), 'active active');
      assert.equal((await sh('test -f /boot/efi/EFI/BOOT/BOOTAA64.EFI && echo yes')).trim(), 'yes');
      const listed = await sh('tdnf list installed systemd linux-esx');
      for (const pkg of ['systemd', 'linux-esx']) assert.match(listed, new RegExp(`^${pkg}\\.aarch64\\s`, 'm'), listed);
    } finally {
      await vm.stop();
    }
  });

  it('BIOS: a bios-mode image boots through GRUB', async () => {
    const image = await build('photon-bios', 'bootmode: bios\nlinux_flavor: linux-esx\n');
    const vm = await startVm({ image, firmware: 'bios', memoryMiB: 1536, cpus: 2 });
    try {
      await bootAndLogin(vm, { user: 'root', password: PASSWORD, timeoutMs: 300_000 });
      assert.match(await runOnConsole(vm, 'cat /proc/cmdline'), /^BOOT_IMAGE=\/boot\/vmlinuz-\S+ root=PARTUUID=\S+ init=\/lib\/systemd\/systemd rcupdate\.rcu_expedited=1 rw /m);
    } finally {
      await vm.stop();
    }
  });

  it('OVA: the stream-optimized VMDK inside boots with UEFI, GRUB for BIOS beside it', async () => {
    const ova = await build('photon-ova', 'bootmode: dualboot\nlinux_flavor: linux-esx\nplatform: ova\n', 'ova');
    const unpacked = join(dir, 'ova');
    await mkdir(unpacked);
    await run('tar', ['-xf', ova, '-C', unpacked]);
    const vmdk = (await readdir(unpacked)).find((f) => f.endsWith('.vmdk'));
    assert.ok(vmdk, 'the OVA holds a VMDK');
    const vm = await startVm({ image: join(unpacked, vmdk), firmware: 'efi', memoryMiB: 1536, cpus: 2 });
    try {
      await bootAndLogin(vm, { user: 'root', password: PASSWORD, timeoutMs: 300_000 });
      assert.equal((await runOnConsole(vm, 'test -d /sys/firmware/efi && test -f /boot/grub2/grub.cfg && echo both')).trim(), 'both');
      assert.equal((await runOnConsole(vm, 'findmnt -no FSTYPE /')).trim(), 'ext4');
    } finally {
      await vm.stop();
    }
  });

  it('a bad kickstart is an error naming the key, before anything is built', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, `${kickstart('photon-bad', 'bootmode: efi\n')}frobnicate: 1\n`);
    await assert.rejects(loadKickstart(file), (e: PhotonError) => e.file === file && /frobnicate/.test(e.message));
    await writeFile(file, kickstart('photon-bad', 'bootmode: efi\n').replace('size: 2048', 'size: 16'));
    await assert.rejects(loadKickstart(file), (e: PhotonError) => /partition|disk/.test(e.message));
    await writeFile(file, kickstart('photon-bad', 'arch: aarch64\n'));
    const arm = await loadKickstart(file);
    await assert.rejects(buildImage(arm, { format: 'ova', output: join(dir, 'photon-bad.ova'), repos: [], tdnf: '/nonexistent' }),
      (e: PhotonError) => e.file === file && /arch: aarch64: an OVA describes an x86_64/.test(e.message));
    assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith('photon-bad') || f.startsWith('.photon-image-')), []);
  });
});
