/**
 * Photon kickstarts: photon-os-installer's (POI's) configuration format, JSON or YAML, read into
 * one fully-defaulted typed object that every later image-builder stage takes as given.
 *
 * Key names, types and defaults follow POI (photon_installer/installer.py `known_keys`,
 * `_add_defaults`, `_check_install_config`, docs/ks_config.md and the modules/ it runs). The
 * object keeps POI's snake_case key names, so a kickstart and the code reading it agree.
 *
 * Everything is checked here, before anything is built: an unknown key, a wrong type or an
 * impossible layout is a PhotonError('E_KICKSTART', '<key path>: <problem>', {file}).
 *
 * POI keys this builder does not implement are refused with a message naming them (UNSUPPORTED
 * below), except the few whose only effect is on an interactive or live install (IGNORED): a
 * kickstart written for POI either builds the same system here or is refused.
 *
 * Differences from POI, all deliberate:
 * - relative paths (packagelist_file(s), additional_files, postinstallscripts, firstboot scripts,
 *   search_path) are looked up beside the kickstart, not in the current directory;
 * - a plain-text password is hashed here with SHA-512 crypt (POI: Python's crypt.crypt, which
 *   picks the same method), with a salt derived from `seed` when one is given;
 * - the generated hostname is `photon-` and 12 zero-padded hex digits (POI pads with spaces,
 *   which is not a valid hostname); without `hostname`, `network.hostname` is used (POI writes
 *   it, then overwrites it with the generated one);
 * - the default ESP is 100 MiB, not POI's 10 MiB: ours holds the kernel and initramfs
 *   (systemd-boot), POI's only GRUB's stub;
 * - with `partition_type: msdos` (BIOS only) no BIOS boot partition is added: GRUB embeds its
 *   core image in the gap before the first partition, as on any MBR disk;
 * - filesystems are made from directories, so only ext4, vfat and swap (not xfs, btrfs, LVM);
 * - our own keys: partition `label` and `mount_by`, ethernet `mtu` (netplan's name), and
 *   `platform` (cloud tweaks: cloud-init datasource, serial console, MTU).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, isAbsolute, join, normalize, resolve } from 'node:path';
import { parse as parseYaml, type ScalarTag } from 'yaml';
import { z } from 'zod';
import { type Arch, hostArch as hostArchOf, hostRpmArch } from '../util/arch.ts';
import { PhotonError } from '../util/errors.ts';

export const MiB = 1024 * 1024;
/** Our ESP: systemd-boot, the kernel and the initramfs (see the header). */
export const ESP_SIZE_MIB = 100;
/** POI's BIOSSIZE: room for GRUB's core.img. */
export const BIOS_SIZE_MIB = 4;
/** Partitions start 1 MiB aligned; GPT keeps its backup table in the disk's last MiB. */
const TABLE_HEAD_MIB = 1;
const GPT_TAIL_MIB = 1;

export type { Arch };
export type Bootmode = 'efi' | 'bios' | 'dualboot';
export type PartitionTableType = 'gpt' | 'msdos';
export type Filesystem = 'ext4' | 'vfat' | 'swap' | 'bios';
export type LinuxFlavor = 'linux' | 'linux-esx' | 'linux-rt';
export type ServiceState = 'enabled' | 'disabled' | 'masked';
export type Platform = 'none' | 'ova' | 'ami' | 'gce' | 'azure';
export type MountBy = 'partuuid' | 'uuid' | 'label';

/** The kernels this distribution builds (SPECS/linux*); POI also knows linux-aws and linux-secure. */
export const LINUX_FLAVORS: readonly LinuxFlavor[] = ['linux', 'linux-esx', 'linux-rt'];
const POI_ONLY_FLAVORS = ['linux-aws', 'linux-secure'];
/** POI's `linux_dependencies`: sub-packages that follow their kernel flavor. */
const LINUX_SUBPACKAGES = ['devel', 'drivers', 'docs', 'oprofile', 'dtb'];

/** POI keys refused, with why. */
const UNSUPPORTED: Record<string, string> = {
  ansible: 'ansible playbooks are not run by this image builder',
  build_mounts: 'images are built without mounts',
  disk: 'installing to a device is not supported; give disks.default.filename and size',
  docker: 'docker images are not pulled into images by this builder',
  manifest_file: 'no install manifest is written',
  ostree: 'OSTree images are not supported',
  preinstall: 'host-side scripts are not run; use postinstall (runs inside the new root)',
  preinstallscripts: 'host-side scripts are not run; use postinstallscripts (run inside the new root)',
  prepkgsinstall: 'host-side scripts are not run; use postinstall (runs inside the new root)',
  prepkgsinstallscripts: 'host-side scripts are not run; use postinstallscripts (run inside the new root)',
  setup_grub_script: 'the boot loader is set up by the image builder (systemd-boot for EFI, GRUB for BIOS)',
  user_grub_cfg_file: 'the boot loader is set up by the image builder (systemd-boot for EFI, GRUB for BIOS)',
};

/**
 * POI keys accepted and ignored: they only change how POI itself runs (its curses UI, log
 * verbosity, cleanup for debugging, ejecting the ISO, the docker image for ostree builds, the
 * legacy UI `type` and `autopartition`), never what is installed.
 */
const IGNORED = ['autopartition', 'eject_cdrom', 'log_level', 'no_clean', 'no_unmount', 'photon_docker_image', 'type', 'ui'];

const UNSUPPORTED_PARTITION_KEYS: Record<string, string> = {
  lvm: 'LVM is not supported (filesystems are made from directories, without device mapper)',
  btrfs: 'btrfs is not supported (filesystems are made from directories: ext4, vfat and swap)',
  ab: 'A/B shadow partitions are not supported',
  all_disk: 'whole-disk filesystems are not supported (only the default disk, partitioned)',
  disk: "'disk' is POI's legacy device key; only the default disk is supported",
};

// ---------------------------------------------------------------------------------------------
// Schema (structure and types; meaning is checked afterwards, where the whole file is known)

/** YAML 1.1 (PyYAML's) booleans are real booleans; the string forms appear in POI's own samples (`dhcp4: "yes"`). */
const flag = z.union([z.boolean(), z.enum(['yes', 'no', 'true', 'false', 'on', 'off', 'True', 'False', 'Yes', 'No'])], {
  error: 'a boolean (true/false)',
});
/** tdnf repo options written as 0/1 or booleans. */
const flag01 = z.union([z.boolean(), z.literal(0), z.literal(1)], { error: 'a boolean (0/1 or true/false)' });
const str = z.string({ error: 'a string' });
const strList = z.array(str, { error: 'a list of strings' });
const strOrList = z.union([str, strList], { error: 'a string or a list of strings' });
const int = z.number({ error: 'an integer' }).int('an integer');

const partitionSchema = z.strictObject({
  mountpoint: str.optional(),
  size: int.min(0, 'at least 0 (0 = the rest of the disk)').optional(),
  sizepercent: int.min(1, 'at least 1').max(100, 'at most 100').optional(),
  filesystem: z
    .string({ error: 'a string' })
    .refine((s) => ['ext4', 'vfat', 'swap', 'bios'].includes(s), {
      error: (i) =>
        ['xfs', 'btrfs'].includes(String(i.input))
          ? `'${String(i.input)}' is not supported (filesystems are made from directories: ext4, vfat and swap)`
          : `'${String(i.input)}' is not one of ext4, vfat, swap, bios`,
    })
    .optional(),
  disk_id: str.optional(),
  label: str.optional(),
  fs_options: strOrList.optional(),
  mkfs_options: str.optional(),
  mount_by: z.enum(['partuuid', 'uuid', 'label'], { error: 'one of partuuid, uuid, label' }).optional(),
  /** An sgdisk type code (e.g. 8300, ef00, 0c01) or a GPT type GUID. */
  type: str.optional(),
  // refused with a message of their own (UNSUPPORTED_PARTITION_KEYS)
  lvm: z.unknown().optional(),
  btrfs: z.unknown().optional(),
  ab: z.unknown().optional(),
  all_disk: z.unknown().optional(),
  disk: z.unknown().optional(),
});

const nameservers = z.strictObject({ addresses: strList.optional(), search: strList.optional() });
const ifaceFields = {
  dhcp4: flag.optional(),
  dhcp6: flag.optional(),
  'accept-ra': flag.optional(),
  addresses: strList.optional(),
  gateway: str.optional(),
  nameservers: nameservers.optional(),
  mtu: int.min(68, 'at least 68').max(65535, 'at most 65535').optional(),
};
const ethernetSchema = z.strictObject({
  match: z.strictObject({ name: str.optional(), macaddress: str.optional() }).optional(),
  ...ifaceFields,
});
const vlanSchema = z.strictObject({
  id: int.min(1, 'a VLAN id 1..4094').max(4094, 'a VLAN id 1..4094'),
  link: str,
  /** POI's legacy conversion writes one; the name is always `<link name>.<id>`. */
  match: z.strictObject({ name: str.optional() }).optional(),
  ...ifaceFields,
});
const networkSchema = z.strictObject({
  version: z.union([z.literal('1'), z.literal('2'), z.literal(1), z.literal(2)], { error: 'version "1" or "2"' }).optional(),
  hostname: str.optional(),
  ethernets: z.record(str, ethernetSchema).optional(),
  vlans: z.record(str, vlanSchema).optional(),
  /** In POI's own sample (examples/ova/minimal_ks.yaml); here: for interfaces without their own. */
  nameservers: nameservers.optional(),
  // legacy (version 1) configuration
  type: z.enum(['dhcp', 'static', 'vlan'], { error: 'one of dhcp, static, vlan' }).optional(),
  ip_addr: str.optional(),
  netmask: str.optional(),
  gateway: str.optional(),
  nameserver: str.optional(),
  vlan_id: z.union([str, int], { error: 'a VLAN id 1..4094' }).optional(),
});

const repoSchema = z.strictObject({
  name: str.optional(),
  baseurl: strOrList.optional(),
  metalink: str.optional(),
  mirrorlist: str.optional(),
  enabled: flag01.optional(),
  gpgcheck: flag01.optional(),
  repo_gpgcheck: flag01.optional(),
  gpgkey: strOrList.optional(),
  sslverify: flag01.optional(),
  sslcacert: str.optional(),
  sslclientcert: str.optional(),
  sslclientkey: str.optional(),
  skip_if_unavailable: flag01.optional(),
  skip_md_filelists: flag01.optional(),
  skip_md_updateinfo: flag01.optional(),
  skip_md_other: flag01.optional(),
  priority: int.optional(),
  metadata_expire: z.union([str, int], { error: 'a string or an integer' }).optional(),
  username: str.optional(),
  password: str.optional(),
});

const ksSchema = z.strictObject({
  additional_files: z.array(z.record(str, str), { error: 'a list of {source: destination} maps' }).optional(),
  additional_packages: strList.optional(),
  additional_rpms_path: str.optional(),
  arch: z.enum(['x86_64', 'aarch64'], { error: 'x86_64 or aarch64' }).optional(),
  bootmode: z.enum(['efi', 'bios', 'dualboot'], { error: 'one of efi, bios, dualboot' }).optional(),
  disks: z.record(
    str,
    z.strictObject({
      filename: str.optional(),
      size: int.min(1, 'a size in MiB, at least 1').optional(),
      device: str.optional(),
    }),
    { error: 'a map of disk ids to {filename, size}' },
  ),
  dps: flag.optional(),
  environment: z.record(str, str, { error: 'a map of variable names to strings' }).optional(),
  firstboot: z.strictObject({ scripts: strList.optional() }).optional(),
  hostname: str.optional(),
  insecure_repo: flag.optional(),
  linux_flavor: str.optional(),
  linux_flavor_x86_64: str.optional(),
  linux_flavor_aarch64: str.optional(),
  live: flag.optional(),
  network: networkSchema.optional(),
  packages: strList.optional(),
  packages_x86_64: strList.optional(),
  packages_aarch64: strList.optional(),
  packagelist_file: str.optional(),
  packagelist_files: strList.optional(),
  partition_type: z.enum(['gpt', 'msdos'], { error: 'gpt or msdos' }).optional(),
  partitions: z.array(partitionSchema, { error: 'a list of partitions' }).optional(),
  password: z
    .strictObject({
      crypted: z.boolean({ error: 'a boolean' }),
      text: str,
      age: int.min(-1, '-1 (never expires), 0 (expired: change at first login) or a number of days').optional(),
    })
    .optional(),
  platform: z.enum(['none', 'ova', 'ami', 'gce', 'azure'], { error: 'one of none, ova, ami, gce, azure' }).optional(),
  postinstall: strList.optional(),
  postinstallscripts: strList.optional(),
  public_key: z
    .union([str, z.strictObject({ key: str, reason: str.optional() })], { error: 'a key string or {key, reason}' })
    .optional(),
  repos: z.record(str, repoSchema, { error: 'a map of repo ids to repo settings' }).optional(),
  search_path: strList.optional(),
  security: z
    .strictObject({
      selinux: z.enum(['enforcing', 'permissive', 'disabled'], { error: 'enforcing, permissive, disabled or null' }).nullable().optional(),
      fips: z.boolean({ error: 'a boolean or null' }).nullable().optional(),
    })
    .optional(),
  services: z
    .record(str, z.enum(['enabled', 'disabled', 'masked'], { error: 'enabled, disabled or masked' }), {
      error: 'a map of service names to enabled, disabled or masked',
    })
    .optional(),
  shadow_password: str.optional(),
  tdnf_cachedir: str.optional(),
  ...Object.fromEntries(IGNORED.map((k) => [k, z.unknown().optional()])),
});
type RawKickstart = z.infer<typeof ksSchema>;
type RawPartition = z.infer<typeof partitionSchema>;
type RawIface = z.infer<typeof ethernetSchema> | z.infer<typeof vlanSchema>;

// ---------------------------------------------------------------------------------------------
// The typed result

export interface KsPartition {
  /** Absent for swap and BIOS boot partitions. */
  mountpoint?: string;
  /** MiB; 0 = the rest of the disk. Exactly one of size and sizepercent is set. */
  size?: number;
  sizepercent?: number;
  filesystem: Filesystem;
  label?: string;
  /** Mount options added after `defaults` in fstab (POI: a string or a list). */
  fs_options: string[];
  /** Extra mkfs arguments. */
  mkfs_options: string[];
  /** How fstab names the filesystem; PARTUUID by default (kernel-resolvable, as POI prefers). */
  mount_by: MountBy;
  /** Partition type as given (sgdisk code or GUID); default from the filesystem and mount point. */
  type?: string;
}

export interface NetIface {
  match: { name?: string; macaddress?: string };
  dhcp4: boolean;
  dhcp6: boolean;
  'accept-ra': boolean;
  addresses: string[];
  gateway?: string;
  nameservers: { addresses: string[]; search: string[] };
  mtu?: number;
}
export interface NetVlan extends NetIface {
  id: number;
  /** The id in `ethernets` of the physical interface. */
  link: string;
  /** `<link's match name>.<id>` (POI's naming). */
  name: string;
}
/** POI's network version 2 (legacy `type:` configurations are converted as POI converts them). */
export interface Network {
  hostname?: string;
  ethernets: Record<string, NetIface>;
  vlans: Record<string, NetVlan>;
}

export interface RepoConfig {
  name?: string;
  baseurl?: string[];
  metalink?: string;
  mirrorlist?: string;
  enabled: boolean;
  gpgcheck: boolean;
  repo_gpgcheck?: boolean;
  gpgkey?: string[];
  sslverify?: boolean;
  sslcacert?: string;
  sslclientcert?: string;
  sslclientkey?: string;
  skip_if_unavailable?: boolean;
  skip_md_filelists?: boolean;
  skip_md_updateinfo?: boolean;
  skip_md_other?: boolean;
  priority?: number;
  metadata_expire?: string | number;
  username?: string;
  password?: string;
}

export interface PlatformSettings {
  /** cloud-init datasource_list for the platform (with None as the fallback), or null: cloud-init's own. */
  datasources: string[] | null;
  /** The kernel console ends on ttyS0 (the last console= is /dev/console): clouds show it as the instance's log. */
  serial_console: boolean;
  /** Default MTU of every interface (GCE: 1460). */
  mtu: number | null;
}

export interface LayoutPartition {
  /**
   * 1-based index in the partition table, in disk order: BIOS boot, ESP, the kickstart's in order,
   * and its `size: 0` partition last. POI places that one last too but numbers it in kickstart
   * order; numbering by position keeps every number-ordered writer (src/formats/gpt.ts) on the
   * same offsets, and fstab and root= name partitions by PARTUUID anyway.
   */
  number: number;
  type: 'esp' | 'bios' | 'linux' | 'swap';
  /** null for the BIOS boot partition (no filesystem). */
  filesystem: 'ext4' | 'vfat' | 'swap' | null;
  mountpoint?: string;
  label?: string;
  fs_options: string[];
  mkfs_options: string[];
  mount_by: MountBy;
  /** Byte offset on the disk (1 MiB aligned). */
  startBytes: number;
  sizeBytes: number;
  /** GPT partition type GUID (upper case). */
  gptType: string;
  /** MBR partition type byte (for msdos tables). */
  mbrType: number;
  /** True for the kickstart's `size: 0` partition (the last one, so it can grow with the disk). */
  extensible: boolean;
  /** Index in ks.partitions, or null for a partition the bootmode added. */
  ksIndex: number | null;
}

export interface DiskLayout {
  table: PartitionTableType;
  diskBytes: number;
  /** In disk order (by `number`). */
  partitions: LayoutPartition[];
}

export interface Kickstart {
  /** The kickstart file (for messages) and the directory relative paths are looked up in. */
  file: string;
  base_dir: string;
  arch: Arch;
  bootmode: Bootmode;
  partition_type: PartitionTableType;
  disks: { default: { filename: string; size: number } };
  partitions: KsPartition[];
  /** resolveLayout(this): what the partition-table writer and the filesystem stage use. */
  layout: DiskLayout;
  dps: boolean;
  linux_flavor: LinuxFlavor;
  /**
   * Everything to install, in order, once: packages, packages_<arch>, packagelist files,
   * additional_packages and the linux_flavor kernel; other flavors' kernels dropped as POI does.
   * No boot loader package: the image builder adds its own.
   */
  packages: string[];
  hostname: string;
  /** True when the kickstart gave none and `hostname` was generated. */
  hostname_generated: boolean;
  /** root's /etc/shadow password field: a crypt(3) hash, or `*` (locked: POI's default). */
  shadow_password: string;
  /** POI's password.age: -1 never expires, 0 expired (change at first login), N days; null: Photon's defaults. */
  password_age: number | null;
  public_key: { key: string; reason: string | null } | null;
  /** null: no network key; the image keeps the systemd package's default (DHCP on e*). */
  network: Network | null;
  /** Repositories to install from, by id; empty: the builder's own (--repo). */
  repos: Record<string, RepoConfig>;
  insecure_repo: boolean;
  /** Absolute host paths to copy to `dest` in the image (a directory's contents are copied). */
  additional_files: { src: string; dest: string }[];
  /** A host directory whose *.rpm are installed too (POI's additional_rpms_path), absolute. */
  additional_rpms_path: string | null;
  /** Lines of one script run inside the new root after installation. */
  postinstall: string[];
  /** Absolute host paths of scripts run inside the new root, after `postinstall`. */
  postinstallscripts: string[];
  /** Absolute host paths of scripts copied to /etc/firstboot.d and run once at first boot (POI's firstboot.service). */
  firstboot_scripts: string[];
  /** systemctl enable/disable/mask, applied after the packages' presets. */
  services: Record<string, ServiceState>;
  security: { selinux: 'disabled' | null; fips: false | null };
  /** Variables POI exports to its scripts (postinstall); `$NAME` values in the kickstart are already substituted. */
  environment: Record<string, string>;
  /** Host directory for tdnf's package cache, kept between builds (absolute), or null. */
  tdnf_cachedir: string | null;
  platform: Platform;
  platform_settings: PlatformSettings;
}

export interface KickstartOptions {
  /** Values for POI's `!param name=default` YAML tags. */
  params?: Record<string, string>;
  /**
   * Makes the generated hostname and the password salt reproducible. Default: SOURCE_DATE_EPOCH
   * when set, otherwise they are random.
   */
  seed?: string;
  /** Variables `$NAME` values are substituted from (after the kickstart's `environment`); default process.env. */
  env?: Record<string, string | undefined>;
}

// ---------------------------------------------------------------------------------------------

const fail = (file: string, key: string, problem: string): never => {
  throw new PhotonError('E_KICKSTART', `${key}: ${problem}`, { file });
};

function keyPath(path: readonly PropertyKey[]): string {
  return path.length ? path.map(String).join('.') : '(top level)';
}

/** `key: problem` for the first problem zod found, with POI's refused keys explained. */
function describeIssue(error: z.ZodError): string {
  const i = error.issues[0];
  if (!i) return '(top level): invalid';
  if (i.code === 'unrecognized_keys') {
    const where = i.path.length ? `${keyPath(i.path)}.` : '';
    return `${where}${i.keys[0]}: unknown key${i.keys.length > 1 ? ` (also: ${i.keys.slice(1).join(', ')})` : ''}`;
  }
  // unions carry their own message (set in the schema): zod's nested ones say less
  return `${keyPath(i.path)}: ${i.message}`;
}

const toBool = (v: boolean | string | number | undefined, dflt: boolean): boolean => {
  if (v === undefined) return dflt;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  return ['yes', 'true', 'on'].includes(v.toLowerCase());
};

const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : v);

/** Deterministic bytes for `purpose` from the seed, or random ones. */
function entropy(seed: string | undefined, purpose: string, n: number): Buffer {
  if (seed === undefined) return randomBytes(n);
  return createHash('sha256').update(`${seed}\0${purpose}`).digest().subarray(0, n);
}

function hostArch(file: string): Arch {
  return hostArchOf() ?? fail(file, 'arch', `the build host is ${hostRpmArch()}: set arch to x86_64 or aarch64`);
}

// ---------------------------------------------------------------------------------------------
// SHA-512 crypt ("$6$", Drepper's SHA-crypt), what POI's crypt.crypt() writes

const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** The byte order of the final encoding, three bytes per four characters. */
const SHA512_CRYPT_ORDER = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
  [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
  [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
] as const;

const sha512 = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** crypt(3) with a `$6$` setting: `salt` (at most 16 characters used), 5000 rounds unless given. */
export function sha512Crypt(password: string, salt: string, rounds?: number): string {
  const key = Buffer.from(password, 'utf8');
  const s = Buffer.from(salt.slice(0, 16), 'utf8');
  const r = rounds === undefined ? 5000 : Math.min(999_999_999, Math.max(1000, rounds));
  const b = sha512(key, s, key);
  const a = createHash('sha512').update(key).update(s);
  let n = key.length;
  for (; n > 64; n -= 64) a.update(b);
  a.update(b.subarray(0, n));
  for (let len = key.length; len > 0; len >>= 1) a.update(len & 1 ? b : key);
  let digest = a.digest();
  const dp = sha512(...Array<Buffer>(key.length).fill(key));
  const p = Buffer.concat([...Array<Buffer>(Math.floor(key.length / 64)).fill(dp), dp.subarray(0, key.length % 64)]);
  const ds = sha512(...Array<Buffer>(16 + digest[0]!).fill(s));
  const sb = ds.subarray(0, s.length);
  for (let i = 0; i < r; i++) {
    const c = createHash('sha512');
    c.update(i & 1 ? p : digest);
    if (i % 3) c.update(sb);
    if (i % 7) c.update(p);
    c.update(i & 1 ? digest : p);
    digest = c.digest();
  }
  let out = '';
  const enc = (w: number, chars: number): void => {
    for (let k = 0; k < chars; k++, w >>= 6) out += CRYPT_ALPHABET[w & 63];
  };
  for (const [x, y, zz] of SHA512_CRYPT_ORDER) enc((digest[x]! << 16) | (digest[y]! << 8) | digest[zz]!, 4);
  enc(digest[63]!, 2);
  return `$6$${rounds === undefined ? '' : `rounds=${r}$`}${s.toString('utf8')}$${out}`;
}

function cryptSalt(seed: string | undefined): string {
  const bytes = entropy(seed, 'password-salt', 16);
  let salt = '';
  for (const byte of bytes) salt += CRYPT_ALPHABET[byte & 63];
  return salt;
}

// ---------------------------------------------------------------------------------------------
// Partition types

interface TypeCode {
  guid: string;
  mbr: number;
}
/** sgdisk type codes (`sgdisk -L`) we know; the MBR byte is the code's high byte, as sgdisk's GPT→MBR conversion takes it. */
const TYPE_CODES: Record<string, string> = {
  '0700': 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
  '0c01': 'E3C9E316-0B5C-4DB8-817D-F92DF00215AE',
  '8200': '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F',
  '8300': '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  '8302': '933AC7E1-2EB4-4F13-B844-0E14E2AEF915',
  '8304': '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709',
  '8305': 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE',
  '8306': '3B8F8425-20E0-4F3B-907F-1A25A76F98E8',
  '8310': '4D21B016-B534-45C2-A9FB-5C16E091FD2D',
  '8311': '7EC6F557-3BC5-4ACA-B293-16EF5DF639D1',
  '8314': '8484680C-9521-48C6-9C11-B0720656F69E',
  '8316': 'B0E01050-EE5F-4390-949A-9101B17104E9',
  '8e00': 'E6D6D379-F507-44C2-A23C-238F2A3DF928',
  ef00: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  ef02: '21686148-6449-6E6F-744E-656564454649',
};
export const PARTITION_TYPE_CODES: Readonly<Record<string, string>> = TYPE_CODES;

/** POI's discoverable partition types (`dps: true`, GPT only), by mount point. */
const DPS_CODES: Record<Arch, Record<string, string>> = {
  x86_64: { '/': '8304', '/home': '8302', '/usr': '8314', '/var': '8310', '/srv': '8306', '/var/tmp': '8311' },
  aarch64: { '/': '8305', '/home': '8302', '/usr': '8316', '/var': '8310', '/srv': '8306', '/var/tmp': '8311' },
};

const GUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

function typeFromCode(code: string): TypeCode | undefined {
  const c = code.toLowerCase();
  const guid = TYPE_CODES[c];
  return guid ? { guid, mbr: parseInt(c.slice(0, 2), 16) } : undefined;
}

// ---------------------------------------------------------------------------------------------
// Layout

function partKind(p: { filesystem: Filesystem; mountpoint?: string }): LayoutPartition['type'] {
  if (p.filesystem === 'bios') return 'bios';
  if (p.filesystem === 'swap') return 'swap';
  if (p.mountpoint === '/boot/efi' && p.filesystem === 'vfat') return 'esp';
  return 'linux';
}

/**
 * Where each partition goes: POI's `_insert_boot_partitions` (BIOS boot partition first, then the
 * ESP, unless the kickstart has them), sizes in MiB from size/sizepercent (POI's rounding), the
 * `size: 0` partition taking the rest at the end of the disk. Errors name the key.
 */
export function resolveLayout(ks: Pick<Kickstart, 'file' | 'bootmode' | 'partition_type' | 'disks' | 'partitions' | 'dps' | 'arch'>): DiskLayout {
  const diskMiB = ks.disks.default.size;
  const diskBytes = diskMiB * MiB;
  const gpt = ks.partition_type === 'gpt';
  type Entry = { p: KsPartition; ksIndex: number | null };
  const entries: Entry[] = ks.partitions.map((p, i) => ({ p, ksIndex: i }));
  const has = (kind: LayoutPartition['type']): boolean => entries.some((e) => partKind(e.p) === kind);
  if ((ks.bootmode === 'efi' || ks.bootmode === 'dualboot') && !has('esp')) {
    entries.unshift({ p: { mountpoint: '/boot/efi', size: ESP_SIZE_MIB, filesystem: 'vfat', fs_options: [], mkfs_options: [], mount_by: 'partuuid' }, ksIndex: null });
  }
  if ((ks.bootmode === 'bios' || ks.bootmode === 'dualboot') && gpt && !has('bios')) {
    entries.unshift({ p: { size: BIOS_SIZE_MIB, filesystem: 'bios', fs_options: [], mkfs_options: [], mount_by: 'partuuid' }, ksIndex: null });
  }
  const where = (e: Entry, key: string): string => (e.ksIndex === null ? 'partitions' : `partitions.${e.ksIndex}.${key}`);

  if (!gpt && entries.length > 4) {
    fail(ks.file, 'partitions', `an msdos table holds at most 4 (primary) partitions, this layout has ${entries.length}`);
  }
  if (!gpt && diskBytes > 2 ** 32 * 512) fail(ks.file, 'disks.default.size', 'an msdos table addresses at most 2 TiB; use partition_type gpt');

  const sizes = entries.map((e) => (e.p.sizepercent !== undefined ? Math.floor((diskBytes * e.p.sizepercent) / (100 * MiB)) : e.p.size ?? 0));
  entries.forEach((e, i) => {
    if (e.p.sizepercent !== undefined && sizes[i] === 0) fail(ks.file, where(e, 'sizepercent'), `${e.p.sizepercent}% of ${diskMiB} MiB is less than 1 MiB`);
  });
  const rest = entries.findIndex((e) => e.p.sizepercent === undefined && e.p.size === 0);
  const fixed = sizes.reduce((a, b) => a + b, 0);
  const overhead = TABLE_HEAD_MIB + (gpt ? GPT_TAIL_MIB : 0);
  const added = entries.filter((e) => e.ksIndex === null).map((e) => `${e.p.size} MiB ${partKind(e.p) === 'esp' ? 'ESP' : 'BIOS boot partition'}`);
  const detail = `${fixed} MiB of partitions${added.length ? ` (with the ${added.join(' and the ')})` : ''} and ${overhead} MiB for the partition table`;
  if (fixed + overhead + (rest >= 0 ? 1 : 0) > diskMiB) {
    fail(ks.file, 'partitions', `${detail}${rest >= 0 ? ', and at least 1 MiB for the size 0 partition,' : ''} do not fit disks.default.size (${diskMiB} MiB)`);
  }
  if (rest >= 0) sizes[rest] = diskMiB - overhead - fixed;

  // the extensible partition goes last, as POI's sgdisk call creates it (-nN with default bounds, after the others)
  const order = entries.map((_, i) => i).filter((i) => i !== rest);
  if (rest >= 0) order.push(rest);
  let at = TABLE_HEAD_MIB;
  const partitions = order.map((i, k): LayoutPartition => {
    const e = entries[i]!;
    const start = at;
    at += sizes[i]!;
    const kind = partKind(e.p);
    let code: TypeCode | undefined;
    if (e.p.type !== undefined) {
      if (GUID.test(e.p.type)) {
        if (!gpt) fail(ks.file, where(e, 'type'), 'an msdos table needs an sgdisk type code (e.g. 8300, 0c01), not a GUID');
        code = { guid: e.p.type.toUpperCase(), mbr: 0x83 };
      } else {
        code = typeFromCode(e.p.type);
        if (!code) fail(ks.file, where(e, 'type'), `'${e.p.type}' is not a known type code (${Object.keys(TYPE_CODES).join(', ')}) or a GPT type GUID`);
      }
    } else {
      const dps = ks.dps && gpt && kind === 'linux' && e.p.mountpoint ? DPS_CODES[ks.arch][e.p.mountpoint] : undefined;
      code = typeFromCode(dps ?? { esp: 'ef00', bios: 'ef02', swap: '8200', linux: '8300' }[kind]);
    }
    const out: LayoutPartition = {
      number: k + 1,
      type: kind,
      filesystem: e.p.filesystem === 'bios' ? null : e.p.filesystem,
      fs_options: e.p.fs_options,
      mkfs_options: e.p.mkfs_options,
      mount_by: e.p.mount_by,
      startBytes: start * MiB,
      sizeBytes: sizes[i]! * MiB,
      gptType: code!.guid,
      mbrType: code!.mbr,
      extensible: i === rest,
      ksIndex: e.ksIndex,
    };
    if (e.p.mountpoint !== undefined) out.mountpoint = e.p.mountpoint;
    if (e.p.label !== undefined) out.label = e.p.label;
    return out;
  });
  return { table: ks.partition_type, diskBytes, partitions };
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** POI's `_fill_dynamic_conf`: a mapping value `$NAME` (not `$$…`) becomes the variable's value; list items are left alone. */
function substituteEnv(value: unknown, env: Record<string, string | undefined>): unknown {
  if (Array.isArray(value)) return value.map((v) => (v !== null && typeof v === 'object' ? substituteEnv(v, env) : v));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'string' && v.startsWith('$') && !v.startsWith('$$') && env[v.slice(1)] !== undefined) out[k] = env[v.slice(1)];
    else out[k] = substituteEnv(v, env);
  }
  return out;
}

const HOST_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
function checkHostname(file: string, key: string, h: string): void {
  if (h.length > 64) fail(file, key, `'${h}' is longer than 64 characters`);
  if (!h.split('.').every((l) => HOST_LABEL.test(l))) {
    fail(file, key, `'${h}' is not a hostname (labels of letters, digits and '-', not starting or ending with '-', separated by '.')`);
  }
}

function checkCidr(file: string, key: string, a: string): void {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(a);
  const v = m ? isIP(m[1]!) : 0;
  if (!m || !v || Number(m[2]) > (v === 4 ? 32 : 128)) fail(file, key, `'${a}' is not an address with a prefix length (e.g. 192.168.2.58/24)`);
}
function checkIp(file: string, key: string, a: string): void {
  if (!isIP(a)) fail(file, key, `'${a}' is not an IPv4 or IPv6 address`);
}
const MAC = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/;

function netmaskToCidr(file: string, netmask: string): number {
  if (isIP(netmask) !== 4) fail(file, 'network.netmask', `'${netmask}' is not an IPv4 netmask`);
  const bits = netmask.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
  if (!/^1*0*$/.test(bits)) fail(file, 'network.netmask', `'${netmask}' is not a contiguous netmask`);
  return bits.indexOf('0') === -1 ? 32 : bits.indexOf('0');
}

type RawNetwork = NonNullable<RawKickstart['network']>;

/** POI's NetworkManager._convert_legacy_config. */
function convertLegacyNetwork(file: string, n: RawNetwork): RawNetwork {
  if (n.type === undefined) return fail(file, 'network.type', "required for a version 1 network configuration (dhcp, static or vlan); or use version: \"2\"");
  for (const k of ['ethernets', 'vlans', 'nameservers'] as const) {
    if (n[k] !== undefined) fail(file, `network.${k}`, 'a version 2 key in a version 1 (type:) configuration');
  }
  const out: RawNetwork = { version: '2' };
  if (n.hostname !== undefined) out.hostname = n.hostname;
  if (n.type === 'dhcp') {
    out.ethernets = { 'dhcp-en': { match: { name: 'e*' }, dhcp4: true } };
  } else if (n.type === 'static') {
    if (n.ip_addr === undefined) fail(file, 'network.ip_addr', "required for type 'static'");
    const address = n.netmask !== undefined ? `${n.ip_addr}/${netmaskToCidr(file, n.netmask)}` : n.ip_addr!;
    const eth: RawIface = { match: { name: 'eth0' }, addresses: [address] };
    if (n.gateway !== undefined) eth.gateway = n.gateway;
    if (n.nameserver !== undefined) eth.nameservers = { addresses: [n.nameserver] };
    out.ethernets = { 'static-en': eth };
  } else {
    if (n.vlan_id === undefined) fail(file, 'network.vlan_id', "required for type 'vlan'");
    const id = Number(n.vlan_id);
    if (!Number.isInteger(id) || id < 1 || id > 4094) fail(file, 'network.vlan_id', `'${n.vlan_id}' is not a VLAN id 1..4094`);
    out.ethernets = { 'dhcp-en': { match: { name: 'eth0' }, dhcp4: true } };
    out.vlans = { [`dhcp-en.vlan_${id}`]: { id, link: 'dhcp-en', dhcp4: true } };
  }
  return out;
}

const LEGACY_NET_KEYS = ['type', 'ip_addr', 'netmask', 'gateway', 'nameserver', 'vlan_id'] as const;

function parseNetwork(file: string, raw: RawNetwork, platformMtu: number | null): Network {
  const legacy = String(raw.version ?? '') !== '2' && (raw.type !== undefined || String(raw.version ?? '') === '1');
  const n = legacy ? convertLegacyNetwork(file, raw) : raw;
  if (!legacy) {
    for (const k of LEGACY_NET_KEYS) if (raw[k] !== undefined) fail(file, `network.${k}`, 'a version 1 key in a version 2 configuration');
  }
  if (n.hostname !== undefined) checkHostname(file, 'network.hostname', n.hostname);
  const iface = (key: string, c: RawIface): NetIface => {
    const out: NetIface = {
      match: {},
      dhcp4: toBool(c.dhcp4, false),
      dhcp6: toBool(c.dhcp6, false),
      'accept-ra': toBool(c['accept-ra'], false),
      addresses: c.addresses ?? [],
      nameservers: { addresses: c.nameservers?.addresses ?? n.nameservers?.addresses ?? [], search: c.nameservers?.search ?? n.nameservers?.search ?? [] },
    };
    out.addresses.forEach((a, i) => checkCidr(file, `${key}.addresses.${i}`, a));
    out.nameservers.addresses.forEach((a, i) => checkIp(file, `${key}.nameservers.addresses.${i}`, a));
    if (c.gateway !== undefined) {
      checkIp(file, `${key}.gateway`, c.gateway);
      out.gateway = c.gateway;
    }
    const mtu = c.mtu ?? platformMtu ?? undefined;
    if (mtu !== undefined) out.mtu = mtu;
    return out;
  };
  const ethernets: Record<string, NetIface> = {};
  for (const [id, c] of Object.entries(n.ethernets ?? {})) {
    const key = `network.ethernets.${id}`;
    const e = iface(key, c);
    const m = (c as z.infer<typeof ethernetSchema>).match;
    if (!m || (m.name === undefined && m.macaddress === undefined)) fail(file, `${key}.match`, 'required: name (globs allowed) or macaddress');
    if (m!.name !== undefined) {
      if (!/^[^\s/]+$/.test(m!.name)) fail(file, `${key}.match.name`, `'${m!.name}' is not an interface name or glob`);
      e.match.name = m!.name;
    }
    if (m!.macaddress !== undefined) {
      if (!MAC.test(m!.macaddress)) fail(file, `${key}.match.macaddress`, `'${m!.macaddress}' is not a MAC address (11:22:33:44:55:66)`);
      e.match.macaddress = m!.macaddress.toLowerCase();
    }
    ethernets[id] = e;
  }
  const vlans: Record<string, NetVlan> = {};
  for (const [id, c] of Object.entries(n.vlans ?? {})) {
    const key = `network.vlans.${id}`;
    const link = ethernets[c.link];
    if (!link) fail(file, `${key}.link`, `'${c.link}' is not an id in network.ethernets`);
    const linkName = link!.match.name;
    if (linkName === undefined || /[*?[]/.test(linkName)) {
      fail(file, `${key}.link`, `network.ethernets.${c.link} needs a match name without wildcards for a VLAN on it`);
    }
    const name = `${linkName}.${c.id}`;
    if (name.length > 15) fail(file, `${key}.id`, `the VLAN interface name '${name}' is longer than 15 characters`);
    vlans[id] = { ...iface(key, c), match: { name }, id: c.id, link: c.link, name };
  }
  const out: Network = { ethernets, vlans };
  if (n.hostname !== undefined) out.hostname = n.hostname;
  return out;
}

const PKG = /^[A-Za-z0-9_.+-]+(=[A-Za-z0-9_.+:~^-]+)?$/;

/** POI's `_adjust_packages_based_on_selected_flavor`: other flavors' kernels (and their sub-packages) are dropped. */
function pruneFlavors(packages: string[], flavor: LinuxFlavor): string[] {
  const all = [...LINUX_FLAVORS, ...POI_ONLY_FLAVORS];
  const redundant = new Set(all.filter((f) => f !== flavor).map((f) => f.split('-')[1] ?? ''));
  return packages.filter((p) => {
    const parts = p.split('=')[0]!.split('-');
    if (parts[0] !== 'linux') return true;
    const second = parts[1] ?? '';
    if (redundant.has('') && LINUX_SUBPACKAGES.includes(second)) return false;
    return !redundant.has(second);
  });
}

function platformSettings(p: Platform): PlatformSettings {
  switch (p) {
    case 'ami':
      return { datasources: ['Ec2', 'None'], serial_console: true, mtu: null };
    case 'gce':
      return { datasources: ['GCE', 'None'], serial_console: true, mtu: 1460 };
    case 'azure':
      return { datasources: ['Azure', 'None'], serial_console: true, mtu: null };
    case 'ova':
      return { datasources: ['VMware', 'OVF', 'None'], serial_console: false, mtu: null };
    default:
      return { datasources: null, serial_console: false, mtu: null };
  }
}

/**
 * Checks and completes a kickstart already read into `data` (JSON or YAML). `file` is named in
 * errors; relative paths are looked up in `baseDir` (the kickstart's directory) and search_path.
 * Package list files are read here (synchronously: small JSON/YAML files).
 */
export function parseKickstart(data: unknown, file: string, baseDir: string = dirname(file), options: KickstartOptions = {}): Kickstart {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) fail(file, '(top level)', 'a kickstart is a mapping of keys (JSON object or YAML mapping)');
  const obj = data as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    if (k in UNSUPPORTED) fail(file, k, `not supported: ${UNSUPPORTED[k]}`);
  }
  const env: Record<string, string | undefined> = { ...(options.env ?? process.env) };
  const envKs = obj.environment;
  if (envKs !== null && typeof envKs === 'object' && !Array.isArray(envKs)) {
    for (const [k, v] of Object.entries(envKs)) if (typeof v === 'string') env[k] = v;
  }
  const parsed = ksSchema.safeParse(substituteEnv(obj, env));
  if (!parsed.success) throw new PhotonError('E_KICKSTART', describeIssue(parsed.error), { file });
  const raw = parsed.data;
  const seed = options.seed ?? process.env.SOURCE_DATE_EPOCH;
  const base = resolve(baseDir);

  // --- paths
  const searchPath = [...(raw.search_path ?? []).map((d) => resolve(base, d)), base];
  const findFile = (key: string, name: string, kind: 'file' | 'any' = 'file'): string => {
    if (/^[a-z]+:\/\//i.test(name) && !name.startsWith('file://')) fail(file, key, `'${name}': downloads are not supported; give a local path`);
    const n = name.replace(/^file:\/\//, '');
    const candidates = isAbsolute(n) ? [n] : searchPath.map((d) => join(d, n));
    for (const c of candidates) {
      if (existsSync(c) && (kind === 'any' || statSync(c).isFile())) return c;
    }
    return fail(file, key, `'${name}' not found (looked in ${isAbsolute(n) ? n : searchPath.join(', ')})`);
  };
  const absDest = (key: string, p: string): string => {
    if (!p.startsWith('/') || p.includes('\0') || normalize(p).split('/').includes('..')) fail(file, key, `'${p}' is not an absolute path in the image`);
    return p;
  };

  // --- arch, bootmode, flavor
  const arch: Arch = raw.arch ?? hostArch(file);
  const bootmode: Bootmode = raw.bootmode ?? (arch === 'x86_64' ? 'dualboot' : 'efi');
  if (arch === 'aarch64' && bootmode !== 'efi') fail(file, 'bootmode', `aarch64 targets do not support BIOS boot: set bootmode to efi (was ${bootmode})`);
  const partition_type = raw.partition_type ?? 'gpt';
  if (partition_type === 'msdos' && bootmode !== 'bios') {
    fail(file, 'partition_type', `msdos is supported only with bootmode bios (was ${bootmode}): UEFI boots from a GPT ESP here`);
  }
  const flavorKey = raw[`linux_flavor_${arch}`] !== undefined ? `linux_flavor_${arch}` : 'linux_flavor';
  const flavorRaw = raw[`linux_flavor_${arch}`] ?? raw.linux_flavor ?? 'linux';
  if (!(LINUX_FLAVORS as readonly string[]).includes(flavorRaw)) {
    fail(file, flavorKey, POI_ONLY_FLAVORS.includes(flavorRaw)
      ? `'${flavorRaw}' is not built by this distribution (${LINUX_FLAVORS.join(', ')})`
      : `'${flavorRaw}' is not one of ${LINUX_FLAVORS.join(', ')}`);
  }
  const linux_flavor = flavorRaw as LinuxFlavor;
  if (raw.live !== undefined && toBool(raw.live, false)) fail(file, 'live', 'live installs (to the running machine) are not supported: this builder makes images (live: false)');

  // --- disks
  const diskIds = Object.keys(raw.disks);
  const disk = raw.disks.default;
  if (!disk) fail(file, 'disks', "a 'default' disk is required (disks: {default: {filename, size}})");
  for (const id of diskIds) if (id !== 'default') fail(file, `disks.${id}`, 'only the default disk is supported');
  if (disk!.device !== undefined) fail(file, 'disks.default.device', 'installing to a device is not supported; give filename and size');
  if (disk!.filename === undefined || disk!.filename === '') fail(file, 'disks.default.filename', 'required: the image file name');
  if (disk!.size === undefined) fail(file, 'disks.default.size', 'required: the disk size in MiB');
  if (/[/\0]/.test(disk!.filename!) || disk!.filename === '.' || disk!.filename === '..') {
    fail(file, 'disks.default.filename', `'${disk!.filename}' must be a file name, without directories`);
  }

  // --- partitions
  const rawParts: RawPartition[] = raw.partitions ?? [{ mountpoint: '/', size: 0, filesystem: 'ext4' }];
  const partitions: KsPartition[] = [];
  const mounts = new Map<string, number>();
  let extensible = -1;
  rawParts.forEach((rp, i) => {
    const key = `partitions.${i}`;
    for (const k of Object.keys(UNSUPPORTED_PARTITION_KEYS)) {
      if ((rp as Record<string, unknown>)[k] !== undefined) fail(file, `${key}.${k}`, `not supported: ${UNSUPPORTED_PARTITION_KEYS[k]}`);
    }
    if (rp.disk_id !== undefined && rp.disk_id !== 'default') fail(file, `${key}.disk_id`, 'only the default disk is supported');
    const fs: Filesystem = (rp.filesystem ?? 'ext4') as Filesystem;
    if (rp.size === undefined && rp.sizepercent === undefined) fail(file, key, "needs 'size' (MiB, 0 = the rest) or 'sizepercent'");
    if (rp.size !== undefined && rp.sizepercent !== undefined) fail(file, `${key}.sizepercent`, "only one of 'size' or 'sizepercent' can be set");
    if (rp.size === 0) {
      if (extensible >= 0) fail(file, `${key}.size`, `partitions.${extensible} already takes the rest of the disk (size 0); only one can`);
      extensible = i;
    }
    const p: KsPartition = {
      filesystem: fs,
      fs_options: asList(rp.fs_options).flatMap((o) => o.split(',')).map((o) => o.trim()).filter(Boolean),
      mkfs_options: (rp.mkfs_options ?? '').split(/\s+/).filter(Boolean),
      mount_by: rp.mount_by ?? 'partuuid',
    };
    if (rp.size !== undefined) p.size = rp.size;
    if (rp.sizepercent !== undefined) p.sizepercent = rp.sizepercent;
    if (rp.type !== undefined) p.type = rp.type;
    if (fs === 'swap' || fs === 'bios') {
      if (rp.mountpoint !== undefined && !(fs === 'swap' && rp.mountpoint === 'swap')) fail(file, `${key}.mountpoint`, `a ${fs} partition is not mounted`);
      if (fs === 'bios' && (p.fs_options.length || p.mkfs_options.length || rp.label !== undefined)) fail(file, key, 'a BIOS boot partition has no filesystem options or label');
    } else {
      if (rp.mountpoint === undefined) fail(file, `${key}.mountpoint`, `required for a ${fs} partition`);
      const mp = rp.mountpoint!;
      const norm = mp === '/' ? '/' : normalize(mp).replace(/\/+$/, '');
      if (!mp.startsWith('/') || norm.split('/').includes('..') || /\s/.test(mp)) fail(file, `${key}.mountpoint`, `'${mp}' is not an absolute path`);
      if (mounts.has(norm)) fail(file, `${key}.mountpoint`, `'${norm}' is also partitions.${mounts.get(norm)}'s mount point`);
      mounts.set(norm, i);
      if (norm === '/boot/efi' && fs !== 'vfat') fail(file, `${key}.filesystem`, `/boot/efi must be vfat (was ${fs})`);
      if (norm === '/' && fs !== 'ext4') fail(file, `${key}.filesystem`, `/ must be ext4 (was ${fs})`);
      p.mountpoint = norm;
    }
    if (rp.label !== undefined) {
      const max = fs === 'vfat' ? 11 : 16;
      if (rp.label === '' || rp.label.length > max || /[\s/\\]/.test(rp.label)) {
        fail(file, `${key}.label`, `'${rp.label}' is not a ${fs} label (1..${max} characters, no spaces or slashes)`);
      }
      p.label = rp.label;
    }
    if (p.mount_by === 'label' && p.label === undefined) fail(file, `${key}.mount_by`, "'label' needs the partition's label");
    for (const o of p.fs_options) if (/\s/.test(o)) fail(file, `${key}.fs_options`, `'${o}' is not a mount option`);
    partitions.push(p);
  });
  if (!mounts.has('/')) fail(file, 'partitions', "no partition is mounted at '/'");
  const esp = partitions.findIndex((p) => p.mountpoint === '/boot/efi');
  if (esp >= 0 && bootmode === 'bios') fail(file, `partitions.${esp}.mountpoint`, 'an ESP (/boot/efi) with bootmode bios: use efi or dualboot');
  const biosPart = partitions.findIndex((p) => p.filesystem === 'bios');
  if (biosPart >= 0 && (bootmode === 'efi' || partition_type === 'msdos')) {
    fail(file, `partitions.${biosPart}.filesystem`, `a BIOS boot partition is for GPT disks booted by BIOS (bootmode ${bootmode}, partition_type ${partition_type})`);
  }

  // --- packages
  const pkgs: string[] = [...(raw.packages ?? []), ...(raw[`packages_${arch}`] ?? [])];
  const listFiles: (readonly [string, string])[] = (raw.packagelist_files ?? []).map((f, i) => [`packagelist_files.${i}`, f] as const);
  if (raw.packagelist_file !== undefined) listFiles.push(['packagelist_file', raw.packagelist_file]);
  for (const [key, name] of listFiles) {
    const path = findFile(key, name);
    let content: unknown;
    try {
      content = parseConfigText(readFileSync(path, 'utf8'), options.params ?? {});
    } catch (e) {
      fail(file, key, `${path}: ${(e as Error).message.split('\n')[0]}`);
    }
    const list = z
      .looseObject({ packages: strList.optional(), packages_x86_64: strList.optional(), packages_aarch64: strList.optional() })
      .safeParse(content);
    if (!list.success) fail(file, key, `${path}: ${describeIssue(list.error)}`);
    pkgs.push(...(list.data!.packages ?? []), ...(list.data![`packages_${arch}`] ?? []));
  }
  pkgs.push(...(raw.additional_packages ?? []));
  if (!pkgs.includes(linux_flavor)) pkgs.push(linux_flavor);
  for (const p of pkgs) if (!PKG.test(p)) fail(file, 'packages', `'${p}' is not a package name (NAME or NAME=VERSION)`);
  // POI: a name given with a version drops the same name without one
  const versioned = new Set(pkgs.filter((p) => p.includes('=')).map((p) => p.split('=')[0]!));
  const packages = pruneFlavors([...new Set(pkgs)].filter((p) => !versioned.has(p)), linux_flavor);

  // --- identity
  let hostname = raw.hostname ?? '';
  const hostname_generated = hostname === '' && raw.network?.hostname === undefined;
  if (hostname === '') hostname = raw.network?.hostname ?? `photon-${entropy(seed, 'hostname', 6).toString('hex')}`;
  checkHostname(file, raw.hostname ? 'hostname' : 'network.hostname', hostname);

  let shadow_password: string;
  if (raw.shadow_password !== undefined) {
    shadow_password = raw.shadow_password;
  } else if (raw.password === undefined) {
    shadow_password = '*';
  } else if (raw.password.crypted) {
    shadow_password = raw.password.text;
  } else {
    if (raw.password.text === '') fail(file, 'password.text', 'empty; leave password out to lock root');
    shadow_password = sha512Crypt(raw.password.text, cryptSalt(seed));
  }
  const pwKey = raw.shadow_password !== undefined ? 'shadow_password' : 'password.text';
  if (/[:\n\r]/.test(shadow_password)) fail(file, pwKey, "a crypted password cannot contain ':' or a line break");
  if (shadow_password === '') fail(file, pwKey, "empty (a passwordless root); use '*' to lock root, or a crypt(3) hash");
  // POI's default password {crypted: true, text: '*', age: -1}
  const password_age = raw.password?.age ?? (raw.password === undefined && raw.shadow_password === undefined ? -1 : null);

  let public_key: Kickstart['public_key'] = null;
  if (raw.public_key !== undefined) {
    const pk = typeof raw.public_key === 'string' ? { key: raw.public_key } : raw.public_key;
    if (!/^(ssh-|ecdsa-|sk-)\S+ \S+/.test(pk.key.trim())) fail(file, typeof raw.public_key === 'string' ? 'public_key' : 'public_key.key', 'not an OpenSSH public key line (ssh-ed25519 AAAA… comment)');
    public_key = { key: pk.key.trim(), reason: pk.reason ?? null };
  }

  // --- network, platform
  const platform: Platform = raw.platform ?? 'none';
  const platform_settings = platformSettings(platform);
  let network: Network | null = raw.network ? parseNetwork(file, raw.network, platform_settings.mtu) : null;
  if (network === null && platform_settings.mtu !== null) {
    // the platform's MTU needs a networkd file of ours: DHCP on e*, as the systemd package's default
    network = {
      ethernets: {
        'dhcp-en': { match: { name: 'e*' }, dhcp4: true, dhcp6: false, 'accept-ra': false, addresses: [], nameservers: { addresses: [], search: [] }, mtu: platform_settings.mtu },
      },
      vlans: {},
    };
  }

  // --- repos
  const repos: Record<string, RepoConfig> = {};
  for (const [id, r] of Object.entries(raw.repos ?? {})) {
    const key = `repos.${id}`;
    if (!/^[A-Za-z0-9._:-]+$/.test(id)) fail(file, key, `'${id}' is not a repo id (letters, digits and . _ : -)`);
    if (r.baseurl === undefined && r.metalink === undefined && r.mirrorlist === undefined) fail(file, key, 'needs baseurl, metalink or mirrorlist');
    const out: RepoConfig = { enabled: toBool(r.enabled, true), gpgcheck: toBool(r.gpgcheck, true) };
    for (const [k, v] of Object.entries(r)) {
      if (v === undefined || k === 'enabled' || k === 'gpgcheck') continue;
      if (k === 'baseurl' || k === 'gpgkey') (out as unknown as Record<string, unknown>)[k] = asList(v as string | string[]);
      else if (typeof v === 'boolean' || v === 0 || v === 1) (out as unknown as Record<string, unknown>)[k] = toBool(v as boolean | number, false);
      else (out as unknown as Record<string, unknown>)[k] = v;
    }
    repos[id] = out;
  }

  // --- files and scripts
  const additional_files: Kickstart['additional_files'] = [];
  (raw.additional_files ?? []).forEach((m, i) => {
    for (const [src, dest] of Object.entries(m)) {
      additional_files.push({ src: findFile(`additional_files.${i}`, src, 'any'), dest: absDest(`additional_files.${i}`, dest) });
    }
  });
  const postinstallscripts = (raw.postinstallscripts ?? []).map((s, i) => findFile(`postinstallscripts.${i}`, s));
  const firstboot_scripts = (raw.firstboot?.scripts ?? []).map((s, i) => findFile(`firstboot.scripts.${i}`, s));
  let additional_rpms_path: string | null = null;
  if (raw.additional_rpms_path !== undefined) {
    additional_rpms_path = resolve(base, raw.additional_rpms_path);
    if (!existsSync(additional_rpms_path) || !statSync(additional_rpms_path).isDirectory()) fail(file, 'additional_rpms_path', `'${raw.additional_rpms_path}' is not a directory`);
  }

  // --- services, security
  const services: Record<string, ServiceState> = {};
  for (const [name, state] of Object.entries(raw.services ?? {})) {
    if (!/^[A-Za-z0-9:_.@\\-]+$/.test(name)) fail(file, `services.${name}`, 'not a systemd unit name');
    services[name] = state;
  }
  const security: Kickstart['security'] = { selinux: null, fips: null };
  if (raw.security?.selinux === 'enforcing' || raw.security?.selinux === 'permissive') {
    fail(file, 'security.selinux', `'${raw.security.selinux}' needs selinux-policy, which this distribution does not build (disabled or null)`);
  }
  if (raw.security?.selinux === 'disabled') security.selinux = 'disabled';
  if (raw.security?.fips === true) fail(file, 'security.fips', 'FIPS mode needs openssl-fips-provider, which this distribution does not build (false or null)');
  if (raw.security?.fips === false) security.fips = false;

  const ks: Omit<Kickstart, 'layout'> = {
    file,
    base_dir: base,
    arch,
    bootmode,
    partition_type,
    disks: { default: { filename: disk!.filename!, size: disk!.size! } },
    partitions,
    dps: toBool(raw.dps, false),
    linux_flavor,
    packages,
    hostname,
    hostname_generated,
    shadow_password,
    password_age,
    public_key,
    network,
    repos,
    insecure_repo: toBool(raw.insecure_repo, false),
    additional_files,
    additional_rpms_path,
    postinstall: raw.postinstall ?? [],
    postinstallscripts,
    firstboot_scripts,
    services,
    security,
    environment: raw.environment ?? {},
    tdnf_cachedir: raw.tdnf_cachedir === undefined ? null : resolve(base, raw.tdnf_cachedir),
    platform,
    platform_settings,
  };
  return { ...ks, layout: resolveLayout(ks) };
}

// ---------------------------------------------------------------------------------------------
// Reading

/** POI reads kickstarts with PyYAML's SafeLoader plus `!param name=default` (commandutils.readConfig). */
function paramTag(params: Record<string, string>): ScalarTag {
  return {
    tag: '!param',
    resolve(value: string): unknown {
      const eq = value.indexOf('=');
      const name = (eq < 0 ? value : value.slice(0, eq)).trim();
      const given = params[name];
      if (given !== undefined) return parseYaml(given, { version: '1.1' }) as unknown;
      if (eq < 0) throw new Error(`!param ${name}: no value given and no default`);
      return parseYaml(value.slice(eq + 1).trim(), { version: '1.1' }) as unknown;
    },
  };
}

/** JSON when it is JSON, otherwise YAML 1.1 (PyYAML's dialect: yes/no are booleans). */
function parseConfigText(text: string, params: Record<string, string>): unknown {
  const t = text.replace(/^\uFEFF/, '');
  if (/^\s*[{[]/.test(t)) {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      // YAML flow style also starts with '{'
    }
  }
  return parseYaml(t, { version: '1.1', uniqueKeys: true, customTags: [paramTag(params)] }) as unknown;
}

/** Reads, checks and completes a kickstart file (JSON or YAML, by content). */
export async function loadKickstart(file: string, options: KickstartOptions = {}): Promise<Kickstart> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new PhotonError('E_KICKSTART', `cannot read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { file });
  }
  let data: unknown;
  try {
    data = parseConfigText(text, options.params ?? {});
  } catch (e) {
    throw new PhotonError('E_KICKSTART', `not valid JSON or YAML: ${(e as Error).message.split('\n')[0]}`, { file });
  }
  return parseKickstart(data, file, dirname(resolve(file)), options);
}
