/**
 * A solved transaction as tdnf shows it (tools/cli/lib/installcmd.c PrintSolvedInfo and
 * PrintSolvedInfoJson): one table per action — Installing, Upgrading, Downgrading, Removing,
 * Reinstalling, Obsoleting — of Name | Arch | [Epoch:]Version-Release | Repository | Size, each
 * followed by its total installed size; with -j one object of lists keyed Exist, Unavailable,
 * Install, Upgrade, Downgrade, Remove, UnNeeded, Reinstall, Obsolete, each entry
 * `{Name, Arch, Evr, InstallSize}`.
 */
import { columnWidths, formatSize } from './output.ts';

export interface PlanPkg {
  name: string;
  arch: string;
  epoch: string;
  version: string;
  release: string;
  repo: string;
  installSize: number;
  downloadSize: number;
}

export interface Plan {
  exist: PlanPkg[];
  install: PlanPkg[];
  upgrade: PlanPkg[];
  downgrade: PlanPkg[];
  remove: PlanPkg[];
  unneeded: PlanPkg[];
  reinstall: PlanPkg[];
  obsolete: PlanPkg[];
}

export const emptyPlan = (): Plan => ({ exist: [], install: [], upgrade: [], downgrade: [], remove: [], unneeded: [], reinstall: [], obsolete: [] });

export function needsAction(p: Plan): boolean {
  return !!(p.install.length || p.upgrade.length || p.downgrade.length || p.remove.length || p.unneeded.length || p.reinstall.length || p.obsolete.length);
}

const TITLES: [keyof Plan, string][] = [
  ['install', 'Installing'], ['upgrade', 'Upgrading'], ['downgrade', 'Downgrading'], ['remove', 'Removing'],
  ['unneeded', 'Removing'], ['reinstall', 'Reinstalling'], ['obsolete', 'Obsoleting'],
];

const evrText = (p: PlanPkg): string => `${p.epoch && p.epoch !== '0' ? `${p.epoch}:` : ''}${p.version}-${p.release}`;

export function existingText(p: Plan): string {
  return p.exist.map((k) => `Package ${k.name}-${k.version}-${k.release}.${k.arch} is already installed, skipping.\n`).join('');
}

export function planText(p: Plan, width = 80): string {
  const w = columnWidths([30, 15, 20, 15, 10], width) as [number, number, number, number, number];
  let out = '';
  let download = 0;
  for (const [key, title] of TITLES) {
    const list = p[key];
    if (!list.length) continue;
    out += `\n${title}:\n`;
    let total = 0;
    for (const k of list) {
      total += k.installSize;
      if (key !== 'remove' && key !== 'unneeded' && key !== 'obsolete') download += k.downloadSize;
      out += `${k.name.padEnd(w[0])} ${k.arch.padEnd(w[1])} ${evrText(k).padEnd(w[2])} ${k.repo.padEnd(w[3])} ${formatSize(k.installSize).padStart(w[4])}\n`;
    }
    out += `\nTotal installed size: ${formatSize(total)}\n`;
  }
  if (download) out += `Total download size: ${formatSize(download)}\n`;
  return out;
}

const JSON_KEYS: [keyof Plan, string][] = [
  ['exist', 'Exist'], ['install', 'Install'], ['upgrade', 'Upgrade'], ['downgrade', 'Downgrade'], ['remove', 'Remove'],
  ['unneeded', 'UnNeeded'], ['reinstall', 'Reinstall'], ['obsolete', 'Obsolete'],
];

export function planJson(p: Plan): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [key, name] of JSON_KEYS) {
    if (!p[key].length) continue;
    o[name] = p[key].map((k) => ({ Name: k.name, Arch: k.arch, Evr: `${k.version}-${k.release}`, InstallSize: k.installSize }));
  }
  return o;
}
