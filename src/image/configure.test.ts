// The configure stage on a real installed root (`minimal` from the test stage, installed by our
// tdnf), checked with the root's own tools in a chroot (passwd -S, chage -l, sshd -t) and the
// host's (systemctl --root is-enabled, findmnt --verify, ssh-keygen -l): first Photon's
// defaults, then a kickstart using every key over the same root, then errors.
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { installRoot } from '../../test/kit/stage.ts';
import { cleanup, tempDir } from '../../test/kit/tmp.ts';
import { isPhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import { type ConfigureContext, type ConfigureInput, configureRoot, fstabText, networkdFiles, shadowLine } from './configure.ts';

let dir = '';
let root = '';

const PARTUUIDS = { '/boot/efi': '11111111-2222-4333-8444-555555555555', '/': 'AAAAAAAA-2222-4333-8444-555555555555' };
const LAYOUT: ConfigureInput['layout'] = {
  partitions: [
    { number: 1, filesystem: 'vfat', mountpoint: '/boot/efi', fs_options: [], mount_by: 'partuuid', ksIndex: null },
    { number: 2, filesystem: 'ext4', mountpoint: '/', fs_options: [], mount_by: 'partuuid', ksIndex: 0 },
  ],
};
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx9wQ6z7sO4Vt3Xx0m9vU8k3QWq1yJ2VbWJkV5lLZ1S test@host';

/** A kickstart as the reader gives one with nothing set: Photon's defaults. */
function defaults(): ConfigureInput {
  return {
    file: 'ks.yaml', hostname: 'photon-0123456789ab', shadow_password: '*', password_age: -1, public_key: null, network: null,
    services: {}, postinstall: [], postinstallscripts: [], additional_files: [], firstboot_scripts: [], layout: LAYOUT,
  };
}

const inRoot = async (cmd: string) => {
  // sshd and the shells want a real /dev/null, as they get at boot.
  await rm(join(root, 'dev/null'), { force: true });
  await run('mknod', ['-m', '666', join(root, 'dev/null'), 'c', '1', '3']);
  try {
    return (await run('chroot', [root, '/bin/bash', '-c', cmd], { env: { PATH: '/usr/sbin:/usr/bin', LANG: 'C' } })).stdout.toString();
  } finally {
    await rm(join(root, 'dev/null'), { force: true });
  }
};
const isEnabled = async (unit: string) => (await run('systemctl', ['--root', root, 'is-enabled', unit], { allowFailure: true })).stdout.toString().trim();
const text = (p: string) => readFile(join(root, p), 'utf8');
const rejects = (p: Promise<unknown>, re: RegExp) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(isPhotonError(e), String(e));
    assert.equal(e.code, 'E_CONFIGURE', e.message);
    assert.match(e.describe(), re);
    return true;
  });

describe('configure', () => {
  before(async () => {
    dir = await tempDir('configure');
    root = join(dir, 'root');
    await installRoot(root, ['minimal']);
  });
  after(() => cleanup(dir));

  it("Photon's defaults: root locked and never expiring, generated hostname, presets applied, first-boot state", async () => {
    // What package scriptlets and a careless script could leave behind:
    await mkdir(join(root, 'etc/ssh'), { recursive: true });
    await writeFile(join(root, 'etc/ssh/ssh_host_ed25519_key'), 'x');
    await mkdir(join(root, 'var/lib/systemd'), { recursive: true });
    await writeFile(join(root, 'var/lib/systemd/random-seed'), 'x');
    const lines: string[] = [];
    await configureRoot(root, defaults(), { partuuids: PARTUUIDS, log: (l) => lines.push(l) });
    assert.ok(lines.some((l) => /^root: locked, never expires$/.test(l)), lines.join('\n'));

    assert.match(await inRoot('passwd -S root'), /^root L \S+ 0 99999 7 -1$/m);
    assert.match(await inRoot('chage -l root'), /Maximum number of days between password change\s+: 99999/);
    assert.match(await text('etc/login.defs'), /^PASS_MAX_DAYS\t99999$/m);
    assert.equal(await text('etc/hostname'), 'photon-0123456789ab\n');
    assert.match(await text('etc/hosts'), /^127\.0\.0\.1\tlocalhost\n127\.0\.0\.1\tphoton-0123456789ab$/m);
    // The packages' presets, which an image without first-boot mode needs applied now.
    for (const u of ['systemd-networkd.service', 'systemd-resolved.service', 'getty@tty1.service', 'sshd.service', 'sshd-keygen.service', 'cloud-init.service']) {
      assert.equal(await isEnabled(u), 'enabled', u);
    }
    // network: null keeps the systemd package's DHCP file.
    assert.deepEqual(await readdir(join(root, 'etc/systemd/network')), ['99-dhcp-en.network']);
    const mid = await stat(join(root, 'etc/machine-id'));
    assert.equal(mid.size, 0);
    assert.equal(mid.mode & 0o777, 0o444);
    await assert.rejects(lstat(join(root, 'var/lib/systemd/random-seed')));
    assert.deepEqual((await readdir(join(root, 'etc/ssh'))).filter((f) => f.startsWith('ssh_host_')), []);
    assert.deepEqual(await readdir(join(root, 'dev')), [], '/dev is left as packaged: empty');
    assert.match(await text('etc/ssh/sshd_config'), /^PermitRootLogin no$/m);
    // systemd's own reading of the update stamps: nothing for systemd-sysusers.service to do at
    // boot, until /usr changes after the stamps.
    const needsUpdate = async (dir: string) =>
      (await run('chroot', [root, '/usr/bin/systemd-analyze', 'condition', `ConditionNeedsUpdate=${dir}`], { allowFailure: true })).status === 0;
    assert.equal(await needsUpdate('/etc'), false);
    assert.equal(await needsUpdate('/var'), false);
    const later = new Date(Date.now() + 5000);
    await utimes(join(root, 'usr'), later, later);
    assert.equal(await needsUpdate('/etc'), true);
    assert.equal(await needsUpdate('/var'), true);
  });

  it('fstab by PARTUUID with POI\'s options, which util-linux parses; mount points made', async () => {
    const fstab = await text('etc/fstab');
    assert.equal(fstab, [
      '#system\tmnt-pt\ttype\toptions\tdump\tfsck',
      'PARTUUID=aaaaaaaa-2222-4333-8444-555555555555\t/\text4\tdefaults,barrier,noatime,data=ordered\t1\t1',
      'PARTUUID=11111111-2222-4333-8444-555555555555\t/boot/efi\tvfat\tdefaults\t1\t2', '',
    ].join('\n'));
    const v = await run('findmnt', ['--verify', '--tab-file', join(root, 'etc/fstab')], { allowFailure: true });
    const out = v.stdout.toString() + v.stderr.toString();
    assert.match(out, /\b0 parse errors\b/);
    // The only complaints: the partitions are not attached to this host (findmnt looks at the
    // host's devices and mount points, not the root's).
    for (const line of out.split('\n').filter((l) => /\[[EW]\]/.test(l))) {
      assert.match(line, /unreachable on boot required (source: PARTUUID=|target: No such file or directory)/);
    }
    assert.ok((await stat(join(root, 'boot/efi'))).isDirectory());
    // mount_by, labels and swap
    const ks: ConfigureInput = {
      ...defaults(),
      layout: {
        partitions: [
          { number: 1, filesystem: 'vfat', mountpoint: '/boot/efi', fs_options: ['umask=0077'], mount_by: 'label', label: 'ESP', ksIndex: null },
          { number: 2, filesystem: 'swap', fs_options: [], mount_by: 'partuuid', ksIndex: 0 },
          { number: 3, filesystem: 'ext4', mountpoint: '/', fs_options: ['errors=remount-ro'], mount_by: 'uuid', ksIndex: 1 },
        ],
      },
    };
    assert.equal(fstabText(ks, { partuuids: { 'swap:2': '99999999-2222-4333-8444-555555555555' }, fsuuids: { '/': '5B0B7A3E-6C55-4F0A-9D6E-4D3C2B1A0F9E' } }), [
      '#system\tmnt-pt\ttype\toptions\tdump\tfsck',
      'UUID=5b0b7a3e-6c55-4f0a-9d6e-4d3c2b1a0f9e\t/\text4\tdefaults,barrier,noatime,data=ordered,errors=remount-ro\t1\t1',
      'LABEL=ESP\t/boot/efi\tvfat\tdefaults,umask=0077\t1\t2',
      'PARTUUID=99999999-2222-4333-8444-555555555555\tswap\tswap\tdefaults\t0\t0', '',
    ].join('\n'));
    assert.throws(() => fstabText(ks, { partuuids: { swap: '99999999-2222-4333-8444-555555555555' } }), /partitions\.1\.mount_by: uuid: the builder gave no filesystem UUID for \//);
  });

  it('a kickstart using every key, over the same root', async () => {
    const files = join(dir, 'files');
    await mkdir(join(files, 'tree/sub'), { recursive: true });
    await writeFile(join(files, 'tree/sub/a.conf'), 'a=1\n');
    await writeFile(join(files, 'motd'), 'hello\n');
    await writeFile(join(files, 'fb.sh'), '#!/bin/sh\necho first boot\n');
    await writeFile(join(files, 'post.sh'), 'echo "script sees $PHOTON_VAR"\nssh-keygen -q -A\ncat /proc/version >/dev/null 2>&1 || echo no-proc\n');
    const ks: ConfigureInput = {
      ...defaults(),
      hostname: 'web01.example.com',
      // openssl passwd -6 -salt saltsalt photon
      shadow_password: '$6$saltsalt$vLxMe2DtGHiUET6PelKLWQ4nK6bMME11kjokXtfkghNbN7NHtBN5IVQY8ANmuHymjnoLByY9Fga93ALQpyyy11',
      password_age: 45,
      public_key: { key: KEY, reason: 'test' },
      network: {
        ethernets: {
          lan: {
            match: { name: 'eth0' }, dhcp4: false, dhcp6: false, 'accept-ra': false, addresses: ['192.0.2.10/24', '2001:db8::10/64'], gateway: '192.0.2.1',
            nameservers: { addresses: ['192.0.2.53'], search: ['example.com', 'corp.example.com'] }, mtu: 1460,
          },
          mgmt: { match: { macaddress: '52:54:00:12:34:56' }, dhcp4: true, dhcp6: true, 'accept-ra': true, addresses: [], nameservers: { addresses: [], search: [] } },
        },
        vlans: {
          v100: { match: { name: 'eth0.100' }, id: 100, link: 'lan', name: 'eth0.100', dhcp4: true, dhcp6: false, 'accept-ra': false, addresses: [], nameservers: { addresses: [], search: [] } },
        },
      },
      services: { docker: 'disabled', 'systemd-resolved': 'masked', 'containerd.service': 'masked', 'fstrim.timer': 'enabled' },
      security: { selinux: 'disabled' },
      postinstall: ['#!/bin/bash', 'set -e', 'echo "postinstall in $(cat /etc/hostname) $PHOTON_VAR" > /etc/postinstall.out', 'echo done'],
      postinstallscripts: [join(files, 'post.sh')],
      additional_files: [{ src: join(files, 'tree'), dest: '/opt/tree' }, { src: join(files, 'motd'), dest: '/etc/motd.d/10-image' }],
      firstboot_scripts: [join(files, 'fb.sh')],
      environment: { PHOTON_VAR: 'from-the-kickstart' },
      platform_settings: { datasources: ['GCE', 'None'] },
    };
    const lines: string[] = [];
    await configureRoot(root, ks, { partuuids: PARTUUIDS, log: (l) => lines.push(l) });

    assert.match(await inRoot('passwd -S root'), /^root P \S+ 0 45 7 -1$/m);
    assert.match(await inRoot('chage -l root'), /Maximum number of days between password change\s+: 45/);
    assert.match(await text('etc/shadow'), /^root:\$6\$saltsalt\$vLxMe2[^:]*:\d+:0:45:7:::$/m);
    assert.equal((await stat(join(root, 'etc/shadow'))).mode & 0o777, 0o000, 'shadow keeps its mode');
    assert.match(await text('etc/login.defs'), /^PASS_MAX_DAYS\t45$/m);
    assert.equal(await text('etc/hostname'), 'web01.example.com\n');

    // ssh: the key, its permissions, root login allowed, and a config sshd accepts.
    assert.equal((await stat(join(root, 'root/.ssh'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(root, 'root/.ssh/authorized_keys'))).mode & 0o777, 0o600);
    assert.match((await run('ssh-keygen', ['-l', '-f', join(root, 'root/.ssh/authorized_keys')])).stdout.toString(), /^256 SHA256:\S+ test@host \(ED25519\)$/m);
    assert.match(await text('etc/ssh/sshd_config'), /^PermitRootLogin yes$/m);
    await inRoot('mkdir -p /run/sshd && ssh-keygen -q -t ed25519 -N "" -f /tmp/k && /usr/sbin/sshd -t -h /tmp/k; r=$?; rm -rf /tmp/k /tmp/k.pub /run/sshd; exit $r');
    // The postinstall script made host keys: none may ship.
    assert.deepEqual((await readdir(join(root, 'etc/ssh'))).filter((f) => f.startsWith('ssh_host_')), []);

    const net = join(root, 'etc/systemd/network');
    assert.deepEqual((await readdir(net)).sort(), ['50-eth0.100.netdev', '50-eth0.100.network', '50-lan.network', '50-mgmt.network']);
    assert.equal(await readFile(join(net, '50-lan.network'), 'utf8'), [
      '[Match]', 'Name=eth0', '', '[Link]', 'MTUBytes=1460', '', '[Network]', 'DHCP=no', 'IPv6AcceptRA=no',
      'Address=192.0.2.10/24', 'Address=2001:db8::10/64', 'Gateway=192.0.2.1', 'DNS=192.0.2.53', 'Domains=example.com corp.example.com', 'VLAN=eth0.100', '',
    ].join('\n'));
    assert.equal(await readFile(join(net, '50-mgmt.network'), 'utf8'), ['[Match]', 'MACAddress=52:54:00:12:34:56', '', '[Network]', 'DHCP=yes', 'IPv6AcceptRA=yes', ''].join('\n'));
    assert.equal(await readFile(join(net, '50-eth0.100.netdev'), 'utf8'), ['[NetDev]', 'Name=eth0.100', 'Kind=vlan', '', '[VLAN]', 'Id=100', ''].join('\n'));
    assert.equal(await readFile(join(net, '50-eth0.100.network'), 'utf8'), ['[Match]', 'Name=eth0.100', '', '[Network]', 'DHCP=ipv4', 'IPv6AcceptRA=no', ''].join('\n'));

    assert.equal(await isEnabled('docker.service'), 'disabled');
    assert.equal(await isEnabled('systemd-resolved.service'), 'masked');
    assert.equal(await isEnabled('containerd.service'), 'masked');
    assert.equal(await isEnabled('fstrim.timer'), 'enabled');
    assert.equal(await isEnabled('firstboot.service'), 'enabled');
    assert.equal(await isEnabled('systemd-networkd.service'), 'enabled');

    assert.equal(await text('etc/cloud/cloud.cfg.d/90_datasource.cfg'), '# The image\'s platform (photon image build)\ndatasource_list: [ GCE, None ]\n');
    assert.equal(await text('opt/tree/sub/a.conf'), 'a=1\n');
    assert.equal(await text('etc/motd.d/10-image'), 'hello\n');
    assert.equal(await text('etc/firstboot.d/01-fb.sh'), '#!/bin/sh\necho first boot\n');
    assert.equal((await stat(join(root, 'etc/firstboot.d/01-fb.sh'))).mode & 0o777, 0o755);
    assert.ok((await stat(join(root, 'etc/firstboot.to_be_run'))).isFile());
    assert.match(await text('etc/systemd/system/firstboot.service'), /^ExecStart=\/bin\/sh \/etc\/firstboot\.sh$/m);
    // bash -n on what firstboot.service runs
    await run('bash', ['-n', join(root, 'etc/firstboot.sh')]);

    assert.match(await text('etc/postinstall.out'), /^postinstall in web01\.example\.com from-the-kickstart$/m);
    assert.ok(lines.includes('postinstall: done'), lines.join('\n'));
    assert.ok(lines.includes('postinstallscripts.0: script sees from-the-kickstart'));
    assert.ok(lines.includes('postinstallscripts.0: no-proc'), 'nothing is mounted for the scripts');
    await assert.rejects(stat(join(root, 'tmp/post-install')), 'the scripts are removed');
    assert.deepEqual(await readdir(join(root, 'dev')), []);
    assert.equal((await stat(join(root, 'etc/machine-id'))).size, 0);

    // Configuring again changes nothing more (one key, one hosts line).
    await configureRoot(root, ks, { partuuids: PARTUUIDS });
    assert.equal((await text('root/.ssh/authorized_keys')).split('\n').filter(Boolean).length, 1);
    assert.equal((await text('etc/hosts')).split('\n').filter((l) => l.includes('web01')).length, 1);
  });

  it('errors name the key; bad input is refused before the root is touched', async () => {
    const before = await text('etc/fstab');
    const ctx: ConfigureContext = { partuuids: PARTUUIDS };
    await rejects(configureRoot(root, { ...defaults(), security: { selinux: 'enforcing' } }, ctx), /^ks\.yaml: security\.selinux: 'enforcing' is not available/);
    await rejects(configureRoot(root, defaults(), { partuuids: { '/': PARTUUIDS['/'] } }), /^ks\.yaml: partition 1: no PARTUUID for \/boot\/efi/);
    await rejects(configureRoot(root, { ...defaults(), hostname: 'bad_host!' }, ctx), /hostname: 'bad_host!' is not a valid hostname/);
    await rejects(configureRoot(root, { ...defaults(), additional_files: [{ src: '/nonexistent/x', dest: '/etc/x' }] }, ctx), /additional_files\.0: \/nonexistent\/x not found/);
    await rejects(configureRoot(root, { ...defaults(), additional_files: [{ src: '/etc/hostname', dest: '../../etc/x' }] }, ctx), /additional_files\.0: destination/);
    await rejects(configureRoot(root, { ...defaults(), services: { 'no-such-unit': 'enabled' } }, ctx), /services\.no-such-unit: systemctl enable failed/);
    assert.equal(await text('etc/fstab'), before);
    await rejects(configureRoot(root, { ...defaults(), postinstall: ['echo about to fail >&2', 'exit 3'] }, ctx), /postinstall: exited with status 3 inside the image: about to fail/);
    await assert.rejects(configureRoot(join(dir, 'nowhere'), defaults(), ctx), (e: unknown) => isPhotonError(e) && /not an installed root/.test(e.describe()));
    assert.throws(() => networkdFiles({ ...defaults(), network: { ethernets: {}, vlans: { v: { match: {}, id: 5, link: 'nope', name: 'x.5', dhcp4: true, dhcp6: false, 'accept-ra': false, addresses: [], nameservers: { addresses: [], search: [] } } } } }),
      /network\.vlans\.v\.link: 'nope' is not an id/);
  });

  it('shadowLine: the fields chage would write', () => {
    const line = 'root:*:19000:1:90:7:::';
    assert.equal(shadowLine(line, '$6$x$y', -1, 20000), 'root:$6$x$y:20000:0:99999:7:::');
    assert.equal(shadowLine(line, '$6$x$y', 0, 20000), 'root:$6$x$y:0:1:90:7:::');
    assert.equal(shadowLine(line, '$6$x$y', 30, 20000), 'root:$6$x$y:20000:1:30:7:::');
    assert.equal(shadowLine(line, '*', null, 20000), 'root:*:20000:1:90:7:::');
  });
});
