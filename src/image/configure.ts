/**
 * The configure stage: turns an installed root into the system the kickstart describes, as
 * photon-os-installer's (POI's) post-install modules do, without booting or mounting anything.
 *
 *   fstab          by PARTUUID (or UUID/LABEL per partition's mount_by), POI's options and order
 *   hostname       /etc/hostname, and a 127.0.0.1 line in /etc/hosts (m_updatehostname)
 *   root password  /etc/shadow's field as given (`*` = locked, POI's default), aging as
 *                  m_updaterootpassword does it with chage, and PASS_MAX_DAYS in login.defs
 *   public_key     /root/.ssh/authorized_keys, and PermitRootLogin yes (m_updatesshconfig)
 *   network        systemd-networkd files from POI's network v2 (legacy types are converted by
 *                  the kickstart reader); the package's default DHCP file is replaced, as POI does
 *   cloud-init     the platform's datasource_list (the cloud-init package leaves it to the image)
 *   services       `systemctl preset-all --preset-mode=enable-only` (the packages' presets; an
 *                  image has no first boot that would apply them, see machine-id), then the
 *                  kickstart's enabled/disabled/masked, with the root's own systemctl
 *   firstboot      scripts in /etc/firstboot.d run once by firstboot.service (POI's unit)
 *   files          additional_files copied in, then postinstall and postinstallscripts run
 *   hygiene        last, so no script can leave them behind: /etc/machine-id empty (a new id
 *                  at every instance's first boot, without systemd's first-boot mode and its
 *                  interactive systemd-firstboot), no random seed, no sshd host keys
 *                  (sshd-keygen.service makes them at first boot); /etc and /var stamped up to
 *                  date with /usr, as systemd-update-done would after the update tools ran
 *
 * Commands that must run inside the root (systemctl, postinstall scripts) use chroot(8): the only
 * privileged step. Nothing is mounted: a script that needs /proc or /sys has neither. /dev gets
 * a null device for the duration (scripts redirect to it) and is left empty again.
 *
 * SELinux: the distribution has no policy package, so `enforcing`/`permissive` are errors (the
 * kickstart reader refuses them first); `disabled` only has to be written where a config exists.
 */
import { createHash } from 'node:crypto';
import { chmod, copyFile, cp, lstat, mkdir, readdir, readFile, rm, stat, symlink, utimes } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { PhotonError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { run } from '../util/run.ts';
import { resolveInRoot } from './initramfs.ts';
import type { MountBy, NetIface, NetVlan, ServiceState } from './kickstart.ts';

export type { ServiceState } from './kickstart.ts';

/** The kickstart's network shapes (src/image/kickstart.ts), as this stage consumes them. */
export type ConfigureNetIface = NetIface;
export type ConfigureVlan = NetVlan;

export interface ConfigurePartition {
  number: number;
  filesystem: 'ext4' | 'vfat' | 'swap' | null;
  mountpoint?: string;
  label?: string;
  fs_options: string[];
  mount_by: MountBy;
  /** Index in the kickstart's partitions (for messages); null for ones the bootmode added. */
  ksIndex?: number | null;
}

/** What this stage reads of a kickstart (a Kickstart from kickstart.ts is one). */
export interface ConfigureInput {
  /** The kickstart file, named in errors. */
  file?: string;
  hostname: string;
  /** root's /etc/shadow password field: a crypt(3) hash, or `*`/`!` for a locked account. */
  shadow_password: string;
  /** POI's password.age: -1 never expires, 0 change at first login, N days; null: Photon's defaults. */
  password_age: number | null;
  public_key: { key: string; reason?: string | null } | null;
  /** null: keep the systemd package's default network file (DHCP on e*). */
  network: { hostname?: string; ethernets: Record<string, ConfigureNetIface>; vlans: Record<string, ConfigureVlan> } | null;
  services: Record<string, ServiceState>;
  security?: { selinux?: string | null };
  /** Lines of one script run inside the root. */
  postinstall: string[];
  /** Host paths of scripts run inside the root, after `postinstall`. */
  postinstallscripts: string[];
  /** Host path (file or directory) to copy to `dest` in the root. */
  additional_files: Array<{ src: string; dest: string }>;
  /** Host paths of scripts run once at first boot. */
  firstboot_scripts: string[];
  /** Environment of the postinstall scripts (besides PATH, HOME, LANG). */
  environment?: Record<string, string>;
  platform_settings?: { datasources: string[] | null };
  layout: { partitions: ConfigurePartition[] };
}

export interface ConfigureContext {
  /** mountpoint → PARTUUID; swap partitions as `swap:<number>` (or `swap` when there is one). */
  partuuids: Record<string, string>;
  /** mountpoint → filesystem UUID, for partitions with mount_by: uuid. */
  fsuuids?: Record<string, string>;
  log?: (line: string) => void;
}

const UNIT = /^[A-Za-z0-9:_.@\\-]+$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** What a chroot'ed command sees: nothing of the build host's environment. */
const BASE_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8', SHELL: '/bin/bash' };

function failer(ks: ConfigureInput) {
  return (key: string, problem: string): never => {
    throw new PhotonError('E_CONFIGURE', `${key}: ${problem}`, ks.file ? { file: ks.file } : {});
  };
}

/** The day number /etc/shadow counts in: SOURCE_DATE_EPOCH's day when set, so builds repeat. */
function today(): number {
  const sde = Number(process.env.SOURCE_DATE_EPOCH);
  return Math.floor((Number.isFinite(sde) && sde > 0 ? sde * 1000 : Date.now()) / 86_400_000);
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}

/**
 * A host path for `path` in the root that stays in the root: the parent is resolved with the
 * root's symlinks (creating missing directories), the last component too when it exists.
 */
async function hostPath(root: string, path: string): Promise<string> {
  const ensureDir = async (dir: string): Promise<string> => {
    if (dir === '/') return '/';
    const real = await resolveInRoot(root, dir);
    if (real) return real;
    const parent = await ensureDir(posix.dirname(dir));
    const p = posix.join(parent, posix.basename(dir));
    await mkdir(join(root, p), { mode: 0o755 });
    return p;
  };
  const norm = posix.normalize(path);
  const real = await resolveInRoot(root, norm);
  if (real) return join(root, real);
  return join(root, await ensureDir(posix.dirname(norm)), posix.basename(norm));
}

async function readText(p: string): Promise<string | undefined> {
  return readFile(p, 'utf8').catch(() => undefined);
}

/** Rewrites a file keeping its mode (shadow is 0000, passwd 0644). */
async function rewrite(p: string, text: string): Promise<void> {
  const mode = await stat(p).then((s) => s.mode & 0o7777, () => 0o644);
  await writeFileAtomic(p, text, mode);
  await chmod(p, mode); // writeFileAtomic's mode passes through the umask
}

// ---------------------------------------------------------------------------------------------
// fstab

/**
 * POI's fstab: `#system mnt-pt type options dump fsck`, root first with POI's ext4 options but
 * `noacl`, which our kernels' ext4 refuses ("Unknown parameter 'noacl'": systemd-remount-fs
 * fails and the root stays read-only).
 */
export function fstabText(ks: ConfigureInput, ctx: ConfigureContext): string {
  const fail = failer(ks);
  const swaps = ks.layout.partitions.filter((p) => p.filesystem === 'swap');
  const lines = ['#system\tmnt-pt\ttype\toptions\tdump\tfsck'];
  for (const p of ks.layout.partitions) {
    if (p.filesystem === null) continue; // BIOS boot: no filesystem
    const key = p.ksIndex !== undefined && p.ksIndex !== null ? `partitions.${p.ksIndex}` : `partition ${p.number}`;
    const swap = p.filesystem === 'swap';
    if (!swap && !p.mountpoint) fail(key, `a ${p.filesystem} filesystem without a mountpoint`);
    let source: string;
    if (p.mount_by === 'label') {
      if (!p.label) fail(`${key}.label`, 'required with mount_by: label');
      source = `LABEL=${p.label}`;
    } else if (p.mount_by === 'uuid') {
      const u = swap ? undefined : ctx.fsuuids?.[p.mountpoint!];
      if (!u || !UUID.test(u)) fail(`${key}.mount_by`, `uuid: the builder gave no filesystem UUID for ${p.mountpoint ?? 'swap'}`);
      source = `UUID=${u!.toLowerCase()}`;
    } else {
      const u = swap ? (ctx.partuuids[`swap:${p.number}`] ?? (swaps.length === 1 ? ctx.partuuids['swap'] : undefined)) : ctx.partuuids[p.mountpoint!];
      if (!u || !UUID.test(u)) fail(key, `no PARTUUID for ${swap ? `swap partition ${p.number}` : p.mountpoint} from the partition table`);
      source = `PARTUUID=${u!.toLowerCase()}`;
    }
    const isRoot = p.mountpoint === '/';
    const opts = ['defaults', ...(isRoot && p.filesystem === 'ext4' ? ['barrier', 'noatime', 'data=ordered'] : []), ...p.fs_options];
    for (const o of opts) if (!/^[^\s#]+$/.test(o)) fail(`${key}.fs_options`, `'${o}' is not a mount option`);
    const entry = swap ? [source, 'swap', 'swap', opts.join(','), '0', '0'] : [source, p.mountpoint!, p.filesystem, opts.join(','), '1', isRoot ? '1' : '2'];
    if (isRoot) lines.splice(1, 0, entry.join('\t'));
    else lines.push(entry.join('\t'));
  }
  if (!ks.layout.partitions.some((p) => p.mountpoint === '/')) fail('partitions', 'no / partition');
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// passwords

/**
 * root's /etc/shadow line with the kickstart's password and aging (fields: name, password, last
 * change, min, max, warn, inactive, expire, reserved), as POI's chage calls leave it.
 */
export function shadowLine(line: string, password: string, age: number | null, day = today()): string {
  const f = line.split(':');
  while (f.length < 9) f.push('');
  f[1] = password;
  f[2] = String(day);
  if (age === -1) {
    // chage -I -1 -m 0 -M 99999 -E -1 -W 7
    Object.assign(f, { 3: '0', 4: '99999', 5: '7', 6: '', 7: '' });
  } else if (age === 0) {
    f[2] = '0'; // chage -d 0: must be changed at the next login
  } else if (age !== null) {
    f[4] = String(age);
  }
  return f.slice(0, 9).join(':');
}

async function setRootPassword(root: string, ks: ConfigureInput, log: (l: string) => void): Promise<void> {
  const fail = failer(ks);
  const key = 'shadow_password';
  if (/[:\n\r]/.test(ks.shadow_password) || ks.shadow_password === '') fail(key, "not a crypt(3) hash, '*' or '!'");
  const shadowFile = join(root, 'etc/shadow');
  const shadow = await readText(shadowFile);
  if (shadow === undefined) fail(key, `${shadowFile} missing: is the shadow package installed?`);
  const lines = shadow!.split('\n');
  const i = lines.findIndex((l) => l.startsWith('root:'));
  const line = shadowLine(i >= 0 ? lines[i]! : 'root:*:0:0:99999:7:::', ks.shadow_password, ks.password_age);
  if (i >= 0) lines[i] = line;
  else lines.splice(0, 0, line);
  await rewrite(shadowFile, lines.join('\n'));
  // POI's replace_passwd: root's passwd entry points at shadow.
  const passwdFile = join(root, 'etc/passwd');
  const passwd = await readText(passwdFile);
  if (passwd !== undefined) {
    const fixed = passwd.replace(/^root:[^:\n]*:/m, 'root:x:');
    if (fixed !== passwd) await rewrite(passwdFile, fixed);
  }
  if (ks.password_age !== null && ks.password_age !== 0) {
    const defs = join(root, 'etc/login.defs');
    const text = await readText(defs);
    if (text !== undefined) {
      const days = ks.password_age === -1 ? 99999 : ks.password_age;
      await rewrite(defs, /^PASS_MAX_DAYS\s/m.test(text) ? text.replace(/^PASS_MAX_DAYS\s.*$/m, `PASS_MAX_DAYS\t${days}`) : `${text}PASS_MAX_DAYS\t${days}\n`);
    }
  }
  const locked = /^[*!]/.test(ks.shadow_password);
  log(`root: ${locked ? 'locked' : 'password set'}, ${ks.password_age === null ? "Photon's aging" : ks.password_age === -1 ? 'never expires' : ks.password_age === 0 ? 'change at first login' : `expires after ${ks.password_age} days`}`);
}

// ---------------------------------------------------------------------------------------------
// network

function networkSection(c: ConfigureNetIface, vlans: string[]): string[] {
  const dhcp = c.dhcp4 && c.dhcp6 ? 'yes' : c.dhcp4 ? 'ipv4' : c.dhcp6 ? 'ipv6' : 'no';
  return [
    '[Network]',
    `DHCP=${dhcp}`,
    `IPv6AcceptRA=${c['accept-ra'] ? 'yes' : 'no'}`,
    ...c.addresses.map((a) => `Address=${a}`),
    ...(c.gateway ? [`Gateway=${c.gateway}`] : []),
    ...c.nameservers.addresses.map((a) => `DNS=${a}`),
    ...(c.nameservers.search.length ? [`Domains=${c.nameservers.search.join(' ')}`] : []),
    ...vlans.map((v) => `VLAN=${v}`),
  ];
}

/** File name → content of the systemd-networkd files for a network v2 configuration. */
export function networkdFiles(ks: ConfigureInput): Map<string, string> {
  const fail = failer(ks);
  const out = new Map<string, string>();
  const net = ks.network;
  if (!net) return out;
  const safe = (id: string) => id.replace(/[^A-Za-z0-9_.-]/g, '_');
  const add = (name: string, lines: string[]) => {
    if (out.has(name)) fail('network', `two configurations would both be written to ${name}`);
    out.set(name, `${lines.join('\n')}\n`);
  };
  for (const [id, e] of Object.entries(net.ethernets)) {
    const key = `network.ethernets.${id}`;
    if (!e.match.name && !e.match.macaddress) fail(`${key}.match`, 'required: name or macaddress');
    const vlans = Object.values(net.vlans).filter((v) => v.link === id).map((v) => v.name);
    add(`50-${safe(id)}.network`, [
      '[Match]',
      ...(e.match.name ? [`Name=${e.match.name}`] : []),
      ...(e.match.macaddress ? [`MACAddress=${e.match.macaddress}`] : []),
      '',
      ...(e.mtu ? ['[Link]', `MTUBytes=${e.mtu}`, ''] : []),
      ...networkSection(e, vlans),
    ]);
  }
  for (const [id, v] of Object.entries(net.vlans)) {
    const key = `network.vlans.${id}`;
    if (!net.ethernets[v.link]) fail(`${key}.link`, `'${v.link}' is not an id in network.ethernets`);
    if (!/^[^\s/]{1,15}$/.test(v.name)) fail(`${key}`, `'${v.name}' is not an interface name`);
    add(`50-${safe(v.name)}.netdev`, ['[NetDev]', `Name=${v.name}`, 'Kind=vlan', ...(v.mtu ? [`MTUBytes=${v.mtu}`] : []), '', '[VLAN]', `Id=${v.id}`]);
    add(`50-${safe(v.name)}.network`, ['[Match]', `Name=${v.name}`, '', ...networkSection(v, [])]);
  }
  return out;
}

async function writeNetwork(root: string, ks: ConfigureInput, log: (l: string) => void): Promise<void> {
  const files = networkdFiles(ks);
  if (!ks.network) return;
  const dir = join(root, 'etc/systemd/network');
  await mkdir(dir, { recursive: true });
  // As POI: the kickstart's configuration replaces whatever the packages put here.
  for (const f of await readdir(dir)) if (/\.(network|netdev|link)$/.test(f)) await rm(join(dir, f), { force: true });
  for (const [name, text] of files) await writeFileAtomic(join(dir, name), text, 0o644);
  log(`network: ${[...files.keys()].join(', ') || 'no interfaces'}`);
}

// ---------------------------------------------------------------------------------------------
// commands inside the root

class Chroot {
  private madeNull = false;
  constructor(
    readonly root: string,
    private readonly env: Record<string, string>,
  ) {}

  /** A real /dev/null for the scripts (a package scriptlet may have left a plain file there). */
  async open(): Promise<void> {
    const p = join(this.root, 'dev/null');
    const st = await lstat(p).catch(() => undefined);
    if (st?.isCharacterDevice()) return;
    await mkdir(join(this.root, 'dev'), { recursive: true });
    await rm(p, { force: true });
    await run('mknod', ['-m', '666', p, 'c', '1', '3']);
    this.madeNull = true;
  }

  async close(): Promise<void> {
    if (this.madeNull) await rm(join(this.root, 'dev/null'), { force: true });
  }

  run(argv: string[], allowFailure = false) {
    return run('chroot', [this.root, ...argv], { env: { ...BASE_ENV, ...this.env }, allowFailure });
  }
}

async function services(ch: Chroot, ks: ConfigureInput, log: (l: string) => void): Promise<void> {
  const fail = failer(ks);
  if (!(await exists(join(ch.root, 'usr/bin/systemctl')))) {
    if (Object.keys(ks.services).length) fail('services', 'systemd is not installed in the image');
    return;
  }
  // Masked units make preset-all complain but not fail: it is the packages' own choice.
  await ch.run(['/usr/bin/systemctl', 'preset-all', '--preset-mode=enable-only']);
  const verbs: Record<ServiceState, string> = { enabled: 'enable', disabled: 'disable', masked: 'mask' };
  for (const [unit, state] of Object.entries(ks.services)) {
    if (state !== 'masked') {
      const link = join(ch.root, 'etc/systemd/system', unit.includes('.') ? unit : `${unit}.service`);
      const st = await lstat(link).catch(() => undefined);
      if (st?.isSymbolicLink()) await ch.run(['/usr/bin/systemctl', 'unmask', unit]);
    }
    const r = await ch.run(['/usr/bin/systemctl', verbs[state], unit], true);
    if (r.status !== 0) fail(`services.${unit}`, `systemctl ${verbs[state]} failed: ${r.stderr.toString().trim().split('\n').pop()}`);
  }
  if (Object.keys(ks.services).length) log(`services: ${Object.entries(ks.services).map(([u, s]) => `${u} ${s}`).join(', ')}`);
}

const FIRSTBOOT_SH = `#!/bin/bash
# Runs the image's first-boot scripts (photon-os-installer's firstboot.sh).
SCRIPT_DIR=/etc/firstboot.d
[ -d "$SCRIPT_DIR" ] || exit 0
for script in "$SCRIPT_DIR"/*.sh; do
    if [ -x "$script" ]; then
        echo "running $script"
        "$script" || echo "$script failed with $?"
    fi
done
exit 0
`;

const FIRSTBOOT_UNIT = `# First-boot scripts of the image's kickstart (photon-os-installer's firstboot.service).
[Unit]
Description=Kickstart firstboot scripts
ConditionPathExists=/etc/firstboot.to_be_run
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=/bin/sh /etc/firstboot.sh
ExecStartPost=/usr/bin/rm /etc/firstboot.to_be_run
KillMode=process

[Install]
WantedBy=default.target
`;

async function firstboot(ch: Chroot, ks: ConfigureInput, log: (l: string) => void): Promise<void> {
  if (!ks.firstboot_scripts.length) return;
  const dir = join(ch.root, 'etc/firstboot.d');
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (const [i, src] of ks.firstboot_scripts.entries()) {
    const name = `${String(i + 1).padStart(2, '0')}-${basename(src).replace(/\.sh$/, '')}.sh`;
    await copyFile(src, join(dir, name));
    await chmod(join(dir, name), 0o755);
  }
  await writeFileAtomic(join(ch.root, 'etc/firstboot.sh'), FIRSTBOOT_SH, 0o755);
  await writeFileAtomic(join(ch.root, 'etc/systemd/system/firstboot.service'), FIRSTBOOT_UNIT, 0o644);
  await writeFileAtomic(join(ch.root, 'etc/firstboot.to_be_run'), '', 0o644);
  await ch.run(['/usr/bin/systemctl', 'enable', 'firstboot.service']);
  log(`firstboot: ${ks.firstboot_scripts.length} script(s) in /etc/firstboot.d`);
}

async function postinstall(ch: Chroot, ks: ConfigureInput, log: (l: string) => void): Promise<void> {
  const fail = failer(ks);
  const scripts: Array<{ key: string; name: string; text: Uint8Array }> = [];
  if (ks.postinstall.length) scripts.push({ key: 'postinstall', name: 'postinstall.sh', text: Buffer.from(`${ks.postinstall.join('\n')}\n`) });
  for (const [i, p] of ks.postinstallscripts.entries()) scripts.push({ key: `postinstallscripts.${i}`, name: `${i}-${basename(p)}`, text: await readFile(p) });
  if (!scripts.length) return;
  // POI's /tmp/post-install: the scripts run from inside the root and are removed afterwards.
  const dir = join(ch.root, 'tmp/post-install');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    for (const s of scripts) {
      await writeFileAtomic(join(dir, s.name), s.text, 0o700);
      await chmod(join(dir, s.name), 0o700);
      const inside = `/tmp/post-install/${s.name}`;
      // A script without #! is a shell script (POI runs the lines with the default shell).
      const argv = Buffer.from(s.text.subarray(0, 2)).toString() === '#!' ? [inside] : ['/bin/sh', inside];
      const r = await ch.run(argv, true);
      for (const line of r.stdout.toString().split('\n').filter(Boolean)) log(`${s.key}: ${line}`);
      if (r.status !== 0) {
        fail(s.key, `exited with status ${r.status} inside the image: ${r.stderr.toString().trim().slice(-1500) || '(no output on stderr)'}`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  log(`postinstall: ${scripts.length} script(s) ran`);
}

// ---------------------------------------------------------------------------------------------

async function additionalFiles(root: string, ks: ConfigureInput, log: (l: string) => void): Promise<void> {
  for (const { src, dest } of ks.additional_files) {
    const target = await hostPath(root, dest);
    const st = await stat(src);
    if (st.isDirectory()) await cp(src, target, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true, force: true });
    else await copyFile(src, target);
    log(`copied ${src} to ${dest}`);
  }
}

async function hygiene(root: string, log: (l: string) => void): Promise<void> {
  // Empty, not missing and not "uninitialized": systemd makes an id at boot without first-boot
  // mode (whose systemd-firstboot.service would prompt on the console).
  const mid = join(root, 'etc/machine-id');
  await writeFileAtomic(mid, '', 0o444);
  await chmod(mid, 0o444);
  const dbusId = join(root, 'var/lib/dbus/machine-id');
  if ((await lstat(dbusId).catch(() => undefined))?.isFile()) {
    await rm(dbusId);
    await symlink('/etc/machine-id', dbusId);
  }
  for (const p of ['var/lib/systemd/random-seed', 'var/lib/systemd/credential.secret', 'etc/firstboot.d/.keep']) await rm(join(root, p), { force: true });
  const ssh = join(root, 'etc/ssh');
  const keys = (await readdir(ssh).catch(() => [] as string[])).filter((f) => f.startsWith('ssh_host_'));
  for (const k of keys) await rm(join(ssh, k), { force: true });
  log(`machine-id left for first boot${keys.length ? `, ${keys.length} sshd host key file(s) removed` : ''}`);
  await stampUpdated(root);
}

/**
 * /etc/.updated and /var/.updated as systemd-update-done writes them, for /usr as installed.
 * Units with ConditionNeedsUpdate= (systemd-sysusers.service here) run when /usr is newer than
 * these stamps, to apply what an offline update of /usr brought. The packages' scriptlets have
 * applied all of it while the image was built, and without the stamps sysusers would run again
 * at every boot, in the chain before udev and the network (nothing here ships
 * systemd-update-done.service, which would write them).
 */
async function stampUpdated(root: string): Promise<void> {
  const usr = await stat(join(root, 'usr'), { bigint: true });
  const sec = usr.mtimeNs / 1_000_000_000n;
  const text =
    '# This file was created by systemd-update-done. Its only purpose is to hold a\n' +
    '# timestamp of the time this directory was updated. See man:systemd-update-done.service(8).\n' +
    `TIMESTAMP_NSEC=${usr.mtimeNs}\n`;
  for (const dir of ['etc', 'var']) {
    const file = join(root, dir, '.updated');
    await writeFileAtomic(file, text, 0o644);
    // Whole seconds (a JS number cannot carry nanoseconds): with tv_nsec 0, systemd compares
    // TIMESTAMP_NSEC instead of the mtime.
    await utimes(file, Number(sec), Number(sec));
  }
}

function validate(root: string, ks: ConfigureInput, ctx: ConfigureContext): void {
  const fail = failer(ks);
  if (!HOSTNAME.test(ks.hostname)) fail('hostname', `'${ks.hostname}' is not a valid hostname`);
  if (ks.password_age !== null && (!Number.isInteger(ks.password_age) || ks.password_age < -1)) fail('password.age', 'an integer, -1 or more');
  if (ks.public_key && !/^\S+ \S+/.test(ks.public_key.key.trim())) fail('public_key', 'not an OpenSSH public key line');
  if (ks.public_key && /[\r\n]/.test(ks.public_key.key.trim())) fail('public_key', 'one key on one line');
  for (const [u, s] of Object.entries(ks.services)) {
    if (!UNIT.test(u)) fail(`services.${u}`, 'not a unit name');
    if (!['enabled', 'disabled', 'masked'].includes(s)) fail(`services.${u}`, 'one of enabled, disabled, masked');
  }
  const sel = ks.security?.selinux;
  if (sel !== undefined && sel !== null && sel !== 'disabled') fail('security.selinux', `'${sel}' is not available: this distribution has no SELinux policy (use disabled or null)`);
  for (const [i, f] of ks.additional_files.entries()) {
    if (!posix.isAbsolute(f.dest) || f.dest.split('/').includes('..')) fail(`additional_files.${i}`, `destination '${f.dest}' must be an absolute path inside the image`);
  }
  fstabText(ks, ctx);
  networkdFiles(ks);
  void root;
}

/** Configures the installed `root` as the kickstart says (see the header for what and how). */
export async function configureRoot(root: string, ks: ConfigureInput, ctx: ConfigureContext): Promise<void> {
  const fail = failer(ks);
  const log = ctx.log ?? (() => {});
  if (!(await stat(join(root, 'etc')).then((s) => s.isDirectory(), () => false))) {
    throw new PhotonError('E_CONFIGURE', 'not an installed root (no /etc)', { file: root });
  }
  validate(root, ks, ctx);
  for (const [key, files] of [['postinstallscripts', ks.postinstallscripts], ['firstboot.scripts', ks.firstboot_scripts], ['additional_files', ks.additional_files.map((f) => f.src)]] as const) {
    for (const [i, f] of files.entries()) if (!(await exists(f))) fail(`${key}.${i}`, `${f} not found`);
  }

  await writeFileAtomic(join(root, 'etc/fstab'), fstabText(ks, ctx), 0o644);
  // Mount points exist in the root filesystem, so nothing has to create them on a read-only root.
  for (const p of ks.layout.partitions) if (p.mountpoint && p.mountpoint !== '/' && p.filesystem !== 'swap') await mkdir(await hostPath(root, p.mountpoint), { recursive: true, mode: 0o755 });
  log(`fstab: ${ks.layout.partitions.filter((p) => p.filesystem).length} entries`);

  await writeFileAtomic(join(root, 'etc/hostname'), `${ks.hostname}\n`, 0o644);
  const hostsFile = join(root, 'etc/hosts');
  const hosts = (await readText(hostsFile)) ?? '127.0.0.1\tlocalhost\n::1\t\tlocalhost\n';
  if (!new RegExp(`^127\\.0\\.0\\.1\\s.*\\b${ks.hostname.replace(/\./g, '\\.')}\\b`, 'm').test(hosts)) {
    const line = `127.0.0.1\t${ks.hostname}`;
    const lines = hosts.split('\n');
    const at = lines.findIndex((l) => /^127\.0\.0\.1\s+localhost\b/.test(l));
    lines.splice(at >= 0 ? at + 1 : 0, 0, line);
    await writeFileAtomic(hostsFile, lines.join('\n'), 0o644);
  }
  log(`hostname: ${ks.hostname}`);

  await setRootPassword(root, ks, log);

  if (ks.public_key) {
    const dir = join(root, 'root/.ssh');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const file = join(dir, 'authorized_keys');
    const have = (await readText(file)) ?? '';
    const key = ks.public_key.key.trim();
    if (!have.split('\n').includes(key)) await writeFileAtomic(file, `${have}${have && !have.endsWith('\n') ? '\n' : ''}${key}\n`, 0o600);
    await chmod(file, 0o600);
    const cfgFile = join(root, 'etc/ssh/sshd_config');
    const cfg = await readText(cfgFile);
    if (cfg !== undefined) {
      // m_updatesshconfig: Photon's hardened config says no; a key for root means yes.
      const fixed = /^\s*PermitRootLogin\s+no\b.*$/m.test(cfg) ? cfg.replace(/^\s*PermitRootLogin\s+no\b.*$/m, 'PermitRootLogin yes') : `${cfg}${cfg.endsWith('\n') ? '' : '\n'}PermitRootLogin yes\n`;
      if (fixed !== cfg) await rewrite(cfgFile, fixed);
    }
    const fp = createHash('sha256').update(Buffer.from(key.split(/\s+/)[1] ?? '', 'base64')).digest('base64').replace(/=+$/, '');
    log(`public key SHA256:${fp} for root${ks.public_key.reason ? ` (${ks.public_key.reason})` : ''}`);
  }

  await writeNetwork(root, ks, log);

  const ds = ks.platform_settings?.datasources;
  if (ds && ds.length) {
    if (await exists(join(root, 'etc/cloud'))) {
      await writeFileAtomic(join(root, 'etc/cloud/cloud.cfg.d/90_datasource.cfg'), `# The image's platform (photon image build)\ndatasource_list: [ ${ds.join(', ')} ]\n`, 0o644);
      log(`cloud-init datasources: ${ds.join(', ')}`);
    } else log(`cloud-init is not installed: datasources ${ds.join(', ')} not written`);
  }

  if (ks.security?.selinux === 'disabled') {
    const cfg = join(root, 'etc/selinux/config');
    const text = await readText(cfg);
    if (text !== undefined) await rewrite(cfg, text.replace(/^SELINUX=.*$/m, 'SELINUX=disabled'));
  }

  const ch = new Chroot(root, ks.environment ?? {});
  await ch.open();
  try {
    await services(ch, ks, log);
    await firstboot(ch, ks, log);
    await additionalFiles(root, ks, log);
    await postinstall(ch, ks, log);
  } finally {
    await ch.close();
  }
  await hygiene(root, log);
}
