import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { PhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import {
  BIOS_SIZE_MIB,
  ESP_SIZE_MIB,
  MiB,
  PARTITION_TYPE_CODES,
  type Kickstart,
  loadKickstart,
  parseKickstart,
  sha512Crypt,
} from './kickstart.ts';

const PROFILES = resolve(import.meta.dirname, '../../profiles');
const tmp = await mkdtemp(join(tmpdir(), 'ks-test-'));
after(() => rm(tmp, { recursive: true, force: true }));

const DISK = { disks: { default: { filename: 'a.raw', size: 2048 } } };
const parse = (data: Record<string, unknown>, opts: { seed?: string } = { seed: 's' }): Kickstart =>
  parseKickstart({ arch: 'x86_64', ...DISK, ...data }, '/ks/test.yaml', tmp, { ...opts, env: {} });

/** The error's message, which must be one line naming `key` first. */
function errorOf(data: Record<string, unknown>, base: Record<string, unknown> = { arch: 'x86_64', ...DISK }): string {
  try {
    parseKickstart({ ...base, ...data }, '/ks/test.yaml', tmp, { seed: 's', env: {} });
  } catch (e) {
    assert.ok(e instanceof PhotonError, String(e));
    assert.equal(e.code, 'E_KICKSTART');
    assert.equal(e.file, '/ks/test.yaml');
    assert.ok(!e.message.includes('\n'), e.message);
    return e.message;
  }
  assert.fail(`no error for ${JSON.stringify(data)}`);
}

test('every shipped profile parses, and minimal is the default image the design describes', async () => {
  const names = (await readdir(PROFILES)).filter((f) => f.endsWith('.yaml')).sort();
  assert.deepEqual(names, ['ami.yaml', 'azure.yaml', 'gce.yaml', 'minimal.yaml', 'ova.yaml', 'rt.yaml']);
  const all: Record<string, Kickstart> = {};
  for (const n of names) all[n.replace('.yaml', '')] = await loadKickstart(join(PROFILES, n), { seed: '1' });

  const m = all.minimal!;
  assert.equal(m.bootmode, 'efi');
  assert.equal(m.linux_flavor, 'linux-esx');
  assert.deepEqual(m.packages, ['minimal', 'linux-esx']);
  assert.equal(m.shadow_password, '*', 'root is locked by default');
  assert.equal(m.password_age, -1);
  assert.equal(m.hostname, 'photon-minimal');
  assert.deepEqual(
    m.layout.partitions.map((p) => [p.type, p.mountpoint, p.filesystem, p.startBytes / MiB, p.sizeBytes / MiB]),
    [
      ['esp', '/boot/efi', 'vfat', 1, ESP_SIZE_MIB],
      ['linux', '/', 'ext4', 1 + ESP_SIZE_MIB, 2048 - 2 - ESP_SIZE_MIB],
    ],
  );
  assert.equal(m.network?.ethernets.id0?.dhcp4, true);

  assert.equal(all.ova!.bootmode, 'dualboot');
  assert.deepEqual(all.ova!.layout.partitions.map((p) => p.type), ['bios', 'esp', 'linux']);
  assert.deepEqual(all.ami!.platform_settings, { datasources: ['Ec2', 'None'], serial_console: true, mtu: null });
  assert.equal(all.gce!.network?.ethernets.id0?.mtu, 1460);
  assert.deepEqual(all.azure!.platform_settings.datasources, ['Azure', 'None']);
  assert.equal(all.rt!.linux_flavor, 'linux-rt');
  for (const ks of Object.values(all)) {
    assert.ok(ks.layout.partitions.some((p) => p.mountpoint === '/'));
    assert.equal(ks.disks.default.size * MiB, ks.layout.diskBytes);
  }
});

test("POI's defaults: dualboot on x86_64, efi on aarch64, gpt, linux, locked root, generated hostname", () => {
  const ks = parse({}, {});
  assert.equal(ks.bootmode, 'dualboot');
  assert.equal(ks.partition_type, 'gpt');
  assert.equal(ks.linux_flavor, 'linux');
  assert.deepEqual(ks.packages, ['linux']);
  assert.equal(ks.shadow_password, '*');
  assert.equal(ks.password_age, -1);
  assert.match(ks.hostname, /^photon-[0-9a-f]{12}$/);
  assert.equal(ks.hostname_generated, true);
  assert.deepEqual(ks.partitions, [{ mountpoint: '/', size: 0, filesystem: 'ext4', fs_options: [], mkfs_options: [], mount_by: 'partuuid' }]);
  assert.deepEqual(
    ks.layout.partitions.map((p) => [p.number, p.type, p.sizeBytes / MiB, p.gptType]),
    [
      [1, 'bios', BIOS_SIZE_MIB, '21686148-6449-6E6F-744E-656564454649'],
      [2, 'esp', ESP_SIZE_MIB, 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B'],
      [3, 'linux', 2048 - 2 - BIOS_SIZE_MIB - ESP_SIZE_MIB, '0FC63DAF-8483-4772-8E79-3D69D8477DE4'],
    ],
  );
  assert.equal(ks.network, null);
  assert.deepEqual(ks.repos, {});
  assert.deepEqual(ks.services, {});
  assert.equal(ks.platform, 'none');
  assert.equal(parse({ arch: 'aarch64' }).bootmode, 'efi');
  assert.equal(parse({ arch: 'aarch64' }).layout.partitions[0]!.type, 'esp');

  // the generated hostname is random unless seeded (SOURCE_DATE_EPOCH or options.seed)
  assert.equal(parse({}, { seed: 'x' }).hostname, parse({}, { seed: 'x' }).hostname);
  assert.notEqual(parse({}, { seed: 'x' }).hostname, parse({}, { seed: 'y' }).hostname);
  assert.equal(parse({ network: { version: '2', hostname: 'fromnet', ethernets: {} } }).hostname, 'fromnet');
});

test('passwords: plain text is hashed, crypted and shadow_password kept, age as POI reads it', async () => {
  const plain = parse({ password: { crypted: false, text: 'changeme', age: 0 } });
  assert.match(plain.shadow_password, /^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
  const salt = plain.shadow_password.split('$')[2]!;
  // the hash checks against the real crypt(3): openssl's implementation of the same algorithm
  const theirs = (await run('openssl', ['passwd', '-6', '-salt', salt, 'changeme'])).stdout.toString().trim();
  assert.equal(plain.shadow_password, theirs);
  assert.equal(plain.password_age, 0);
  assert.equal(parse({ password: { crypted: true, text: '$6$abc$def' } }).shadow_password, '$6$abc$def');
  assert.equal(parse({ password: { crypted: true, text: '$6$abc$def' } }).password_age, null, 'no age: Photon defaults');
  const sp = parse({ shadow_password: '$6$x$y', password: { crypted: false, text: 'ignored', age: 30 } });
  assert.equal(sp.shadow_password, '$6$x$y');
  assert.equal(sp.password_age, 30);
  assert.equal(parse({ shadow_password: '$6$x$y' }).password_age, null);
  assert.match(errorOf({ password: { crypted: false, text: 'x', age: -2 } }), /^password\.age: /);
  assert.match(errorOf({ password: { text: 'x' } }), /^password\.crypted: /);
  assert.match(errorOf({ shadow_password: 'a:b' }), /^shadow_password: .*':'/);
});

test('sha512Crypt matches openssl passwd -6 (and glibc crypt for rounds=)', async () => {
  const cases: [string, string][] = [
    ['changeme', 'abcdefghijklmnop'],
    ['x'.repeat(64), 'short'],
    ['a longer password that is more than sixty-four bytes long, to cover the block loop', 'q/w.e'],
    ['päss wörd ✓', 'AbCd0123'],
  ];
  for (const [pw, salt] of cases) {
    const theirs = (await run('openssl', ['passwd', '-6', '-salt', salt, pw])).stdout.toString().trim();
    assert.equal(sha512Crypt(pw, salt), theirs, `password ${JSON.stringify(pw)}`);
  }
  // openssl refuses an empty password and has no rounds=: Python's crypt (glibc/libxcrypt) has both
  const py = await run('python3', ['-W', 'ignore', '-c', "import crypt; print(crypt.crypt('secret', '$6$rounds=1234$saltydog')); print(crypt.crypt('', '$6$saltsalt'))"], { allowFailure: true });
  if (py.status === 0) assert.equal(`${sha512Crypt('secret', 'saltydog', 1234)}\n${sha512Crypt('', 'saltsalt')}\n`, py.stdout.toString());
});

test('YAML and JSON kickstarts give the same result; POI YAML 1.1 booleans and !param', async () => {
  const dir = join(tmp, 'same');
  await mkdir(dir, { recursive: true });
  const data = {
    arch: 'x86_64',
    hostname: 'photon-test',
    disks: { default: { filename: 'x.img', size: 1024 } },
    partitions: [
      { mountpoint: '/', size: 0, filesystem: 'ext4', fs_options: 'noatime' },
      { mountpoint: '/boot', size: 128, filesystem: 'ext4' },
      { sizepercent: 5, filesystem: 'swap' },
    ],
    packages: ['minimal', 'vim'],
    password: { crypted: false, text: 'changeme' },
    network: { version: '2', ethernets: { id0: { match: { name: 'eth0' }, dhcp4: true } } },
    services: { sshd: 'enabled', 'getty@tty1': 'masked' },
  };
  await writeFile(join(dir, 'ks.json'), JSON.stringify(data, null, 2));
  await writeFile(
    join(dir, 'ks.yaml'),
    [
      'arch: x86_64',
      'hostname: !param host=photon-test',
      'disks:',
      '    default:',
      '        filename: x.img',
      '        size: 1024',
      'partitions:',
      '    - {mountpoint: /, size: 0, filesystem: ext4, fs_options: noatime}',
      '    - mountpoint: /boot',
      '      size: 128',
      '      filesystem: ext4',
      '    - sizepercent: 5',
      '      filesystem: swap',
      'packages: [minimal, vim]',
      'password:',
      '    crypted: False',
      '    text: changeme',
      'network:',
      '    version: "2"',
      '    ethernets:',
      '        id0:',
      '            match:',
      '                name: eth0',
      '            dhcp4: yes',
      'services:',
      '    sshd: enabled',
      "    'getty@tty1': masked",
      '',
    ].join('\n'),
  );
  const j = await loadKickstart(join(dir, 'ks.json'), { seed: 'same' });
  const y = await loadKickstart(join(dir, 'ks.yaml'), { seed: 'same' });
  assert.deepEqual({ ...y, file: '' }, { ...j, file: '' });
  assert.deepEqual(
    j.layout.partitions.map((p) => [p.number, p.type, p.mountpoint, p.startBytes / MiB, p.sizeBytes / MiB, p.extensible]),
    [
      [1, 'bios', undefined, 1, 4, false],
      [2, 'esp', '/boot/efi', 5, 100, false],
      [3, 'linux', '/boot', 105, 128, false],
      [4, 'swap', undefined, 233, 51, false],
      [5, 'linux', '/', 1 + 4 + 100 + 128 + 51, 1024 - 2 - 4 - 100 - 128 - 51, true],
    ],
  );
  const p = await loadKickstart(join(dir, 'ks.yaml'), { params: { host: 'other' } });
  assert.equal(p.hostname, 'other');
  await writeFile(join(dir, 'bad.yaml'), 'hostname: !param nodefault\ndisks: {}\n');
  await assert.rejects(loadKickstart(join(dir, 'bad.yaml')), (e: PhotonError) => e.code === 'E_KICKSTART' && /!param nodefault/.test(e.message));
  await assert.rejects(loadKickstart(join(dir, 'missing.yaml')), (e: PhotonError) => e.code === 'E_KICKSTART' && e.describe().endsWith('missing.yaml: cannot read: no such file'));
  await writeFile(join(dir, 'dup.yaml'), 'hostname: a\nhostname: b\n');
  await assert.rejects(loadKickstart(join(dir, 'dup.yaml')), /not valid JSON or YAML/);
});

test('packagelist_file(s), postinstallscripts and additional_files are found beside the kickstart and in search_path', async () => {
  const dir = join(tmp, 'rel');
  await mkdir(join(dir, 'lists'), { recursive: true });
  await mkdir(join(dir, 'files'), { recursive: true });
  await writeFile(join(dir, 'packages_minimal.json'), JSON.stringify({ packages: ['minimal', 'linux', 'linux-esx', 'linux-esx-devel', 'linux-devel', 'linux-firmware'], packages_x86_64: ['x86only'], packages_aarch64: ['armonly'] }));
  await writeFile(join(dir, 'lists', 'extra.yaml'), 'packages:\n  - tar\n  - vim=9.0\n');
  await writeFile(join(dir, 'files', 'resizefs.sh'), '#!/bin/sh\n');
  await writeFile(join(dir, 'post.sh'), '#!/bin/sh\n');
  await writeFile(join(dir, 'first.sh'), '#!/bin/sh\n');
  await writeFile(
    join(dir, 'ks.yaml'),
    [
      'arch: x86_64',
      'disks: {default: {filename: r.img, size: 512}}',
      'bootmode: efi',
      'linux_flavor: linux-esx',
      'packagelist_file: packages_minimal.json',
      'packagelist_files: [lists/extra.yaml]',
      'additional_packages: [vim]',
      'search_path: [files]',
      'additional_files:',
      '  - resizefs.sh: /usr/local/bin/resizefs.sh',
      'postinstallscripts: [post.sh]',
      'postinstall: ["echo hi > /etc/motd"]',
      'firstboot: {scripts: [first.sh]}',
      '',
    ].join('\n'),
  );
  const cwd = process.cwd();
  process.chdir('/');
  try {
    const ks = await loadKickstart(join(dir, 'ks.yaml'), { seed: 'r' });
    // other flavors' kernels and their sub-packages are dropped as POI does; the versioned vim wins
    assert.deepEqual(ks.packages, ['tar', 'vim=9.0', 'minimal', 'linux-esx', 'linux-esx-devel', 'linux-firmware', 'x86only']);
    assert.deepEqual(ks.additional_files, [{ src: join(dir, 'files', 'resizefs.sh'), dest: '/usr/local/bin/resizefs.sh' }]);
    assert.deepEqual(ks.postinstallscripts, [join(dir, 'post.sh')]);
    assert.deepEqual(ks.firstboot_scripts, [join(dir, 'first.sh')]);
    assert.deepEqual(ks.postinstall, ['echo hi > /etc/motd']);
    assert.equal(ks.base_dir, dir);
  } finally {
    process.chdir(cwd);
  }
  const base = { arch: 'x86_64', ...DISK };
  const err = (data: Record<string, unknown>): string => {
    try {
      parseKickstart({ ...base, ...data }, join(dir, 'ks.yaml'), dir, { env: {} });
    } catch (e) {
      return (e as PhotonError).message;
    }
    return assert.fail('no error');
  };
  assert.match(err({ packagelist_file: 'nope.json' }), /^packagelist_file: 'nope\.json' not found/);
  assert.match(err({ additional_files: [{ 'https://example.com/x': '/x' }] }), /^additional_files\.0: .*downloads are not supported/);
  assert.match(err({ additional_files: [{ 'post.sh': 'relative/x' }] }), /^additional_files\.0: 'relative\/x' is not an absolute path/);
  assert.match(err({ postinstallscripts: ['none.sh'] }), /^postinstallscripts\.0: /);
  await writeFile(join(dir, 'badlist.json'), JSON.stringify({ packages: 'minimal' }));
  assert.match(err({ packagelist_file: 'badlist.json' }), /^packagelist_file: .*badlist\.json: packages: a list of strings/);
});

test('errors name the key: unknown keys, wrong types, refused POI keys', () => {
  assert.match(errorOf({ colour: 'blue' }), /^colour: unknown key$/);
  assert.match(errorOf({ partitions: [{ mountpoint: '/', size: 0, colour: 1 }] }), /^partitions\.0\.colour: unknown key/);
  assert.match(errorOf({ network: { version: '2', ethernets: { e: { match: { name: 'e*' }, dhcp: true } } } }), /^network\.ethernets\.e\.dhcp: unknown key/);
  assert.match(errorOf({ disks: { default: { filename: 'a', size: '2G' } } }), /^disks\.default\.size: an integer/);
  assert.match(errorOf({ partitions: [{ mountpoint: '/', size: 1.5 }] }), /^partitions\.0\.size: an integer/);
  assert.match(errorOf({ bootmode: 'uefi' }), /^bootmode: one of efi, bios, dualboot/);
  assert.match(errorOf({ packages: 'minimal' }), /^packages: a list of strings/);
  assert.match(errorOf({ services: { sshd: 'on' } }), /^services\.sshd: enabled, disabled or masked/);
  assert.match(errorOf({ ansible: [] }), /^ansible: not supported: /);
  assert.match(errorOf({ ostree: {} }), /^ostree: not supported/);
  assert.match(errorOf({ disk: '/dev/sda' }), /^disk: not supported: installing to a device/);
  assert.match(errorOf({ disks: { default: { device: '/dev/sda' } } }), /^disks\.default\.device: /);
  assert.match(errorOf({ disks: { default: { filename: 'a', size: 10 }, other: { filename: 'b', size: 10 } } }), /^disks\.other: only the default disk/);
  assert.match(errorOf({}, { arch: 'x86_64' }), /^disks: /);
  assert.match(errorOf({ disks: { boot: { filename: 'a', size: 10 } } }), /^disks: a 'default' disk is required/);
  assert.match(errorOf({ disks: { default: { filename: 'a' } } }), /^disks\.default\.size: required/);
  assert.match(errorOf({ disks: { default: { filename: 'd/a', size: 10 } } }), /^disks\.default\.filename: /);
  assert.match(errorOf({ linux_flavor: 'linux-aws' }), /^linux_flavor: 'linux-aws' is not built by this distribution/);
  assert.match(errorOf({ linux_flavor: 'linux', linux_flavor_x86_64: 'bogus' }), /^linux_flavor_x86_64: /);
  assert.match(errorOf({ live: true }), /^live: /);
  assert.match(errorOf({ hostname: '-bad-' }), /^hostname: '-bad-' is not a hostname/);
  assert.match(errorOf({ public_key: 'not a key' }), /^public_key: not an OpenSSH public key/);
  assert.match(errorOf({ security: { selinux: 'enforcing' } }), /^security\.selinux: /);
  assert.match(errorOf({ security: { fips: true } }), /^security\.fips: /);
  assert.match(errorOf({ repos: { r: { name: 'x' } } }), /^repos\.r: needs baseurl/);
  assert.match(errorOf({ repos: { r: { baseurl: 'file:///x', gpgcheck: 2 } } }), /^repos\.r\.gpgcheck: a boolean/);
  assert.match(errorOf({ packages: ['ok', 'bad name'] }), /^packages: 'bad name' is not a package name/);
  // the harmless ones are accepted and change nothing
  const quiet = parse({ ui: true, eject_cdrom: false, log_level: 'debug', no_clean: true, photon_docker_image: 'photon:5.0', live: false });
  assert.deepEqual({ ...quiet }, { ...parse({}) });
});

test('impossible layouts are errors naming the key', () => {
  assert.match(errorOf({ partitions: [{ mountpoint: '/data', size: 0 }] }), /^partitions: no partition is mounted at '\/'/);
  assert.match(errorOf({ partitions: [{ mountpoint: '/', size: 0 }, { mountpoint: '/boot/efi', size: 50, filesystem: 'ext4' }] }), /^partitions\.1\.filesystem: \/boot\/efi must be vfat/);
  assert.match(errorOf({ partitions: [{ mountpoint: '/', size: 1000 }, { mountpoint: '/var', size: 1000 }] }), /^partitions: 2104 MiB of partitions \(with the 4 MiB BIOS boot partition and the 100 MiB ESP\) and 2 MiB for the partition table do not fit disks\.default\.size \(2048 MiB\)/);
  assert.match(errorOf({ partitions: [{ mountpoint: '/', size: 0 }, { mountpoint: '/var', size: 1942 }] }), /^partitions: .*at least 1 MiB for the size 0 partition/);
  assert.equal(parse({ partitions: [{ mountpoint: '/', size: 0 }, { mountpoint: '/var', size: 1941 }] }).layout.partitions[3]!.sizeBytes, MiB);
  assert.match(errorOf({ partitions: [{ mountpoint: '/', size: 0 }, { mountpoint: '/var', size: 0 }] }), /^partitions\.1\.size: partitions\.0 already takes the rest/);
  assert.match(errorOf({ partitions: [{ mountpoint: '/', size: 10, sizepercent: 5 }] }), /^partitions\.0\.sizepercent: only one of/);
  assert.match(errorOf({ partitions: [{ mountpoint: '/' }] }), /^partitions\.0: needs 'size'/);
  assert.match(errorOf({ partitions: [{ mountpoint: '/', sizepercent: 101 }] }), /^partitions\.0\.sizepercent: at most 100/);
  assert.match(errorOf({ partitions: [{ mountpoint: '/', size: 0 }, { mountpoint: '/var/', size: 10 }, { mountpoint: '/var', size: 10 }] }), /^partitions\.2\.mountpoint: '\/var' is also partitions\.1's/);
  assert.match(errorOf({ partitions: [{ mountpoint: 'var', size: 0 }] }), /^partitions\.0\.mountpoint: 'var' is not an absolute path/);
  assert.match(errorOf({ partitions: [{ mountpoint: '/', size: 0, filesystem: 'xfs' }] }), /^partitions\.0\.filesystem: 'xfs' is not supported/);
  assert.match(errorOf({ partitions: [{ mountpoint: '/', size: 0, filesystem: 'vfat' }] }), /^partitions\.0\.filesystem: \/ must be ext4/);
  assert.match(errorOf({ partitions: [{ mountpoint: '/', size: 0, lvm: { vg_name: 'v', lv_name: 'l' } }] }), /^partitions\.0\.lvm: not supported: LVM/);
  assert.match(errorOf({ partitions: [{ mountpoint: '/', size: 0 }, { size: 10, filesystem: 'swap', mountpoint: '/swap' }] }), /^partitions\.1\.mountpoint: a swap partition is not mounted/);
  assert.match(errorOf({ partitions: [{ mountpoint: '/', size: 0, label: 'x'.repeat(17) }] }), /^partitions\.0\.label: /);
  assert.match(errorOf({ partitions: [{ mountpoint: '/', size: 0, mount_by: 'label' }] }), /^partitions\.0\.mount_by: 'label' needs/);
  assert.match(errorOf({ partitions: [{ mountpoint: '/', size: 0, type: 'zz99' }] }), /^partitions\.0\.type: 'zz99' is not a known type code/);
  assert.match(errorOf({ partition_type: 'msdos' }), /^partition_type: msdos is supported only with bootmode bios \(was dualboot\)/);
  assert.match(errorOf({ partition_type: 'msdos', bootmode: 'efi' }), /^partition_type: /);
  assert.match(errorOf({ arch: 'aarch64', bootmode: 'dualboot' }), /^bootmode: aarch64 targets do not support BIOS boot/);
  assert.match(errorOf({ bootmode: 'bios', partitions: [{ mountpoint: '/', size: 0 }, { mountpoint: '/boot/efi', size: 50, filesystem: 'vfat' }] }), /^partitions\.1\.mountpoint: an ESP/);
  const five = [{ mountpoint: '/', size: 0 }, ...['/a', '/b', '/c', '/d'].map((m) => ({ mountpoint: m, size: 10 }))];
  assert.match(errorOf({ partition_type: 'msdos', bootmode: 'bios', partitions: five }), /^partitions: an msdos table holds at most 4/);
  assert.match(errorOf({ partitions: [{ mountpoint: '/', size: 0 }, { mountpoint: '/tiny', sizepercent: 1 }], disks: { default: { filename: 'a', size: 50 } } }), /^partitions\.1\.sizepercent: 1% of 50 MiB is less than 1 MiB/);
});

test('msdos (bios only) has no BIOS boot partition; types give MBR bytes; a kickstart ESP and dps are used', () => {
  const mbr = parse({ partition_type: 'msdos', bootmode: 'bios', partitions: [{ mountpoint: '/', size: 0 }, { size: 64, filesystem: 'swap' }] });
  assert.deepEqual(mbr.layout.partitions.map((p) => [p.type, p.mbrType, p.startBytes / MiB, p.sizeBytes / MiB]), [
    ['swap', 0x82, 1, 64],
    ['linux', 0x83, 65, 2048 - 1 - 64],
  ]);
  const own = parse({ bootmode: 'efi', partitions: [{ mountpoint: '/boot/efi', size: 30, filesystem: 'vfat', type: '0c01', label: 'EFI' }, { mountpoint: '/', size: 0 }] });
  assert.deepEqual(own.layout.partitions.map((p) => [p.type, p.sizeBytes / MiB, p.gptType, p.label]), [
    ['esp', 30, 'E3C9E316-0B5C-4DB8-817D-F92DF00215AE', 'EFI'],
    ['linux', 2048 - 2 - 30, '0FC63DAF-8483-4772-8E79-3D69D8477DE4', undefined],
  ]);
  const dps = parse({ dps: true, bootmode: 'efi', partitions: [{ mountpoint: '/', size: 0 }, { mountpoint: '/home', size: 10 }, { mountpoint: '/opt', size: 10 }] });
  assert.deepEqual(dps.layout.partitions.map((p) => p.gptType), [
    'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
    '933AC7E1-2EB4-4F13-B844-0E14E2AEF915',
    '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
    '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709',
  ]);
  assert.deepEqual(parse({ partitions: [{ mountpoint: '/', size: 0, fs_options: ['nodev', 'noexec,nosuid'], mkfs_options: '-O ^has_journal -m 1' }] }).partitions[0], {
    mountpoint: '/', size: 0, filesystem: 'ext4', fs_options: ['nodev', 'noexec', 'nosuid'], mkfs_options: ['-O', '^has_journal', '-m', '1'], mount_by: 'partuuid',
  });
});

test('the layout is where sgdisk puts the partitions for the same request (POI partitions with sgdisk)', async () => {
  // POI numbers the size 0 partition in kickstart order; ours by position (see LayoutPartition.number)
  const ks = parse({
    disks: { default: { filename: 'a.raw', size: 256 } },
    partitions: [
      { mountpoint: '/', size: 0 },
      { mountpoint: '/boot', size: 32 },
      { mountpoint: '/root', sizepercent: 5 },
      { sizepercent: 5, filesystem: 'swap' },
    ],
  });
  // POI's _partition_disks command line: fixed sizes in order, the size 0 partition last
  const img = join(tmp, 'sgdisk.img');
  await writeFile(img, '');
  await truncate(img, ks.layout.diskBytes);
  const args: string[] = [];
  assert.deepEqual(ks.layout.partitions.map((p) => p.mountpoint ?? p.type), ['bios', '/boot/efi', '/boot', '/root', 'swap', '/']);
  for (const p of ks.layout.partitions) {
    const code = Object.entries(PARTITION_TYPE_CODES).find(([, g]) => g === p.gptType)![0];
    args.push(p.extensible ? `-n${p.number}` : `-n${p.number}::+${p.sizeBytes / MiB}M`, `-t${p.number}:${code}`);
  }
  await run('sgdisk', [...args, img]);
  for (const p of ks.layout.partitions) {
    const info = (await run('sgdisk', ['-i', String(p.number), img])).stdout.toString();
    const first = Number(/First sector: (\d+)/.exec(info)![1]);
    const last = Number(/Last sector: (\d+)/.exec(info)![1]);
    assert.equal(first * 512, p.startBytes, `partition ${p.number} start`);
    const theirs = (last + 1 - first) * 512;
    if (p.extensible) {
      // sgdisk runs it up to the backup table; ours stops at the last whole MiB before it
      assert.ok(theirs >= p.sizeBytes && theirs - p.sizeBytes < MiB, `partition ${p.number}: ${theirs} vs ${p.sizeBytes}`);
    } else {
      assert.equal(theirs, p.sizeBytes, `partition ${p.number} size`);
    }
    assert.match(info, new RegExp(`Partition GUID code: ${p.gptType} `), `partition ${p.number} type`);
  }
});

test('every type code maps to the GUID sgdisk gives it', async () => {
  const img = join(tmp, 'codes.img');
  const codes = Object.keys(PARTITION_TYPE_CODES);
  await writeFile(img, '');
  await truncate(img, (codes.length + 2) * MiB);
  const args = codes.flatMap((c, i) => [`-n${i + 1}::+1M`, `-t${i + 1}:${c}`]);
  await run('sgdisk', [...args, img]);
  for (const [i, c] of codes.entries()) {
    const info = (await run('sgdisk', ['-i', String(i + 1), img])).stdout.toString();
    assert.match(info, new RegExp(`Partition GUID code: ${PARTITION_TYPE_CODES[c]} `), c);
  }
});

test('network: version 2 as POI writes it, legacy configurations converted as POI converts them', () => {
  const v2 = parse({
    network: {
      version: '2',
      nameservers: { addresses: ['8.8.8.8'] },
      ethernets: {
        id0: { match: { macaddress: '11:22:33:44:55:66' }, addresses: ['192.168.2.58/24'], gateway: '192.168.2.254', nameservers: { addresses: ['1.1.1.1'], search: ['example.com'] } },
        id1: { match: { name: 'eth1' }, dhcp4: 'yes', dhcp6: true, 'accept-ra': 'no', mtu: 9000 },
      },
      vlans: { vlan0: { id: 100, link: 'id1', addresses: ['fd00::5/64'] } },
    },
  }).network!;
  assert.deepEqual(v2.ethernets.id0, {
    match: { macaddress: '11:22:33:44:55:66' }, dhcp4: false, dhcp6: false, 'accept-ra': false,
    addresses: ['192.168.2.58/24'], gateway: '192.168.2.254', nameservers: { addresses: ['1.1.1.1'], search: ['example.com'] },
  });
  assert.deepEqual(v2.ethernets.id1, {
    match: { name: 'eth1' }, dhcp4: true, dhcp6: true, 'accept-ra': false, addresses: [], nameservers: { addresses: ['8.8.8.8'], search: [] }, mtu: 9000,
  });
  assert.equal(v2.vlans.vlan0!.name, 'eth1.100');
  assert.deepEqual(v2.vlans.vlan0!.match, { name: 'eth1.100' });

  const dhcp = parse({ network: { type: 'dhcp', hostname: 'dhcphost' } }).network!;
  assert.deepEqual(dhcp.ethernets['dhcp-en']!.match, { name: 'e*' });
  assert.equal(dhcp.ethernets['dhcp-en']!.dhcp4, true);
  const st = parse({ network: { type: 'static', ip_addr: '10.0.0.5', netmask: '255.255.255.0', gateway: '10.0.0.1', nameserver: '10.0.0.2' } }).network!;
  assert.deepEqual(st.ethernets['static-en'], {
    match: { name: 'eth0' }, dhcp4: false, dhcp6: false, 'accept-ra': false, addresses: ['10.0.0.5/24'], gateway: '10.0.0.1', nameservers: { addresses: ['10.0.0.2'], search: [] },
  });
  const vl = parse({ network: { type: 'vlan', vlan_id: '42' } }).network!;
  assert.deepEqual(Object.keys(vl.vlans), ['dhcp-en.vlan_42']);
  assert.equal(vl.vlans['dhcp-en.vlan_42']!.name, 'eth0.42');

  assert.match(errorOf({ network: { version: '2', ethernets: { a: { match: { name: 'e*' } } }, vlans: { v: { id: 5, link: 'a' } } } }), /^network\.vlans\.v\.link: .*without wildcards/);
  assert.match(errorOf({ network: { version: '2', ethernets: {}, vlans: { v: { id: 5, link: 'nope' } } } }), /^network\.vlans\.v\.link: 'nope' is not an id/);
  assert.match(errorOf({ network: { version: '2', ethernets: { a: { match: { name: 'eth0' } } }, vlans: { v: { id: 5000, link: 'a' } } } }), /^network\.vlans\.v\.id: a VLAN id/);
  assert.match(errorOf({ network: { version: '2', ethernets: { a: { match: { name: 'eth0' }, addresses: ['10.0.0.1'] } } } }), /^network\.ethernets\.a\.addresses\.0: '10\.0\.0\.1' is not an address with a prefix/);
  assert.match(errorOf({ network: { version: '2', ethernets: { a: { match: { name: 'eth0' }, gateway: 'router' } } } }), /^network\.ethernets\.a\.gateway: /);
  assert.match(errorOf({ network: { version: '2', ethernets: { a: { dhcp4: true } } } }), /^network\.ethernets\.a\.match: required/);
  assert.match(errorOf({ network: { version: '2', ethernets: { a: { match: { macaddress: 'xx' } } } } }), /^network\.ethernets\.a\.match\.macaddress: /);
  assert.match(errorOf({ network: { type: 'static' } }), /^network\.ip_addr: required/);
  assert.match(errorOf({ network: { type: 'static', ip_addr: '10.0.0.5', netmask: '255.0.255.0' } }), /^network\.netmask: /);
  assert.match(errorOf({ network: { type: 'vlan', vlan_id: '0' } }), /^network\.vlan_id: /);
  assert.match(errorOf({ network: { type: 'bond' } }), /^network\.type: one of dhcp, static, vlan/);
  assert.match(errorOf({ network: { version: '2', type: 'dhcp' } }), /^network\.type: a version 1 key/);
});

test('environment: $NAME values are substituted as POI does, from the kickstart first', () => {
  const ks = parseKickstart(
    { arch: 'x86_64', environment: { ROOTSIZE: 'x', HN: 'photon-env' }, hostname: '$HN', disks: { default: { filename: '$IMG', size: 512 } }, postinstall: ['$HN'] },
    '/ks/t.yaml', tmp, { seed: 's', env: { IMG: 'from-env.raw', HN: 'host-env' } },
  );
  assert.equal(ks.hostname, 'photon-env');
  assert.equal(ks.disks.default.filename, 'from-env.raw');
  assert.deepEqual(ks.postinstall, ['$HN'], 'list items are left alone, as POI leaves them');
  assert.deepEqual(ks.environment, { ROOTSIZE: 'x', HN: 'photon-env' });
});

test("a kickstart written like POI's examples/ova/minimal_ks.yaml parses", async () => {
  // The same keys and spellings as POI's OVA sample (our own values): !param, `live: False`,
  // sizepercent partitions, /boot and swap, repos with gpgcheck 0, a quoted "yes", top-level
  // nameservers, postinstall, eject_cdrom.
  const dir = join(tmp, 'poi');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'packages_minimal.json'), JSON.stringify({ packages: ['minimal', 'linux', 'initramfs'] }, null, 4));
  await writeFile(
    join(dir, 'minimal_ks.yaml'),
    `live: False

password:
    crypted: false
    text: photon

disks:
    default:
        filename: minimal.img
        size: 2048

partitions:
    - mountpoint: /
      size: 0
      filesystem: ext4
    - mountpoint: /boot
      size: 128
      filesystem: ext4
    - mountpoint: /root
      sizepercent: 5
      filesystem: ext4
    - sizepercent: 5
      filesystem: swap

repos:
    photon:
        name: "Photon"
        baseurl: !param photon_repo_url=http://localhost:8080/photon/$releasever
        enabled: 1
        gpgcheck: 0

packagelist_file: packages_minimal.json

additional_packages:
    - vim

postinstall:
    # allow ssh root login
    - sed -i "s/\\(^PermitRootLogin\\)[ ]*no$/\\1 yes/g" /etc/ssh/sshd_config

linux_flavor: linux

eject_cdrom: false

network:
    version: "2"
    nameservers:
        addresses:
            - 9.9.9.9
    ethernets:
        id0:
            match:
                name: eth0
            dhcp4: "yes"
`,
  );
  const ks = await loadKickstart(join(dir, 'minimal_ks.yaml'), { seed: 'poi' });
  assert.equal(ks.bootmode, process.arch === 'arm64' ? 'efi' : 'dualboot');
  assert.deepEqual(ks.packages, ['minimal', 'linux', 'initramfs', 'vim']);
  assert.deepEqual(ks.repos.photon, { enabled: true, gpgcheck: false, name: 'Photon', baseurl: ['http://localhost:8080/photon/$releasever'] });
  assert.equal(ks.network!.ethernets.id0!.dhcp4, true);
  assert.deepEqual(ks.network!.ethernets.id0!.nameservers.addresses, ['9.9.9.9']);
  assert.equal(ks.postinstall[0], 'sed -i "s/\\(^PermitRootLogin\\)[ ]*no$/\\1 yes/g" /etc/ssh/sshd_config');
  assert.deepEqual(ks.layout.partitions.filter((p) => p.ksIndex !== null).map((p) => [p.mountpoint ?? p.type, p.sizeBytes / MiB]), [
    ['/boot', 128],
    ['/root', 102],
    ['swap', 102],
    ['/', 2048 - 2 - 4 - 100 - 128 - 102 - 102],
  ]);
  assert.equal((await loadKickstart(join(dir, 'minimal_ks.yaml'), { params: { photon_repo_url: 'file:///srv/repo' } })).repos.photon!.baseurl![0], 'file:///srv/repo');
});
