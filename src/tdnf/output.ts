/**
 * Text and JSON as tdnf prints them (tools/cli/lib/api.c, updateinfocmd.c). Pure functions from
 * command results to strings; only src/cli/tdnf.ts writes them out.
 */
import type { PkgInfo } from './commands/list.ts';
import type { SearchHit } from './commands/search.ts';
import type { RepoqueryResult } from './commands/repoquery.ts';
import type { Advisory, UpdateinfoSummary } from './commands/updateinfo.ts';

export const TDNF_VERSION = '3.5.6';

/** tdnf sizes its list columns from the terminal; without one it assumes 80 columns. */
export function columnWidths(percents: readonly number[], width = 80): number[] {
  return percents.map((p) => Math.floor((width * p) / 100));
}

export function json(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

const evr = (p: PkgInfo): string => `${p.version}-${p.release}`;

export function listJson(pkgs: readonly PkgInfo[]): unknown {
  return pkgs.map((p) => ({ Name: p.name, Arch: p.arch, Evr: evr(p), Repo: p.repo }));
}

export function listText(pkgs: readonly PkgInfo[], width = 80): string {
  const [w0, w1, w2] = columnWidths([55, 25, 15], width) as [number, number, number];
  return pkgs.map((p) => `${`${p.name}.${p.arch}`.padEnd(w0)} ${evr(p).padEnd(w1)} ${p.repo.padStart(w2)}\n`).join('');
}

/** tdnf's TDNFUtilsFormatSize: one decimal-free unit step per 1024, two decimals, unit letter. */
export function formatSize(bytes: number): string {
  const units = ['b', 'k', 'M', 'G', 'T'];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(2)}${units[i]}`;
}

export function infoJson(pkgs: readonly PkgInfo[]): unknown {
  return pkgs.map((p) => ({
    Name: p.name, Arch: p.arch, Evr: evr(p), Repo: p.repo, Url: p.url, InstallSize: p.installSize,
    Summary: p.summary, License: p.license, Description: p.description,
  }));
}

export function infoText(pkgs: readonly PkgInfo[]): string {
  let out = '';
  let total = 0;
  for (const p of pkgs) {
    out += `Name          : ${p.name}\nArch          : ${p.arch}\nEpoch         : ${p.epoch}\nVersion       : ${p.version}\n`
      + `Release       : ${p.release}\nInstall Size  : ${formatSize(p.installSize)} (${p.installSize})\n`
      + `Repo          : ${p.repo}\nSummary       : ${p.summary}\nURL           : ${p.url}\nLicense       : ${p.license}\n`
      + `Description   : ${p.description}\n\n`;
    total += p.installSize;
  }
  if (pkgs.length) out += `\nTotal Size: ${formatSize(total)} (${total})\n`;
  return out;
}

export function searchText(hits: readonly SearchHit[]): string {
  return hits.map((h) => `${h.name} : ${h.summary}\n`).join('');
}

export function searchJson(hits: readonly SearchHit[]): unknown {
  return hits.map((h) => ({ Name: h.name, Summary: h.summary }));
}

export function providesText(pkgs: readonly PkgInfo[]): string {
  return pkgs.map((p) => `${p.name}-${evr(p)}.${p.arch} : ${p.summary}\nRepo\t : ${p.repo}\n`).join('');
}

export function providesJson(pkgs: readonly PkgInfo[]): unknown {
  return pkgs.map((p) => ({ Name: p.name, Arch: p.arch, Evr: evr(p), Summary: p.summary }));
}

/** check-update's columns, drawn with carriage returns as tdnf draws them. */
export function checkUpdateText(pkgs: readonly PkgInfo[]): string {
  return pkgs.map((p) => `${p.repo.padStart(80)}\r${p.version.padStart(50)}-${p.release}\r${p.name}.${p.arch}\n`).join('');
}

/** "%a %b %d %Y" in local time, as strftime prints changelog dates. */
export function changelogDate(seconds: number): string {
  const d = new Date(seconds * 1000);
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getDay()]!;
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()]!;
  return `${day} ${mon} ${String(d.getDate()).padStart(2, '0')} ${d.getFullYear()}`;
}

export function repoqueryText(r: RepoqueryResult): string {
  let out = '';
  const lines: string[] = [];
  for (const p of r.packages) {
    if (p.deps) lines.push(...p.deps);
    else if (p.files) lines.push(...p.files);
    else if (p.changelogs) for (const c of p.changelogs) out += `${changelogDate(c.time)} ${c.author}\n${c.text}\n`;
    else if (p.source !== undefined) out += `${p.source}\n`;
    else if (p.formatted !== undefined) out += `${p.formatted}\n`;
    else out += `${p.nevra}\n`;
  }
  // tdnf prints dependency and file lines of all packages sorted, each once.
  lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  lines.forEach((l, i) => {
    if (i === 0 || l !== lines[i - 1]) out += `${l}\n`;
  });
  return out;
}

export function repoqueryJson(r: RepoqueryResult): unknown {
  return r.packages.map((p) => {
    const o: Record<string, unknown> = { Nevra: p.nevra, Name: p.name, Arch: p.arch, Evr: p.evr, Repo: p.repo };
    if (p.files) o.Files = p.files;
    if (p.deps && r.depKey) o[r.depKey] = p.deps;
    if (p.changelogs) o.ChangeLogs = p.changelogs.map((c) => ({ Time: changelogDate(c.time), Author: c.author, Text: c.text }));
    if (p.source !== undefined) o.Source = p.source;
    if (p.formatted !== undefined) o.Formatted = p.formatted;
    return o;
  });
}

export function updateinfoSummaryText(s: UpdateinfoSummary): string {
  return (Object.entries(s) as [string, number][]).filter(([, n]) => n > 0).map(([t, n]) => `${n} ${t} notice(s)\n`).join('');
}

export function updateinfoListText(advs: readonly Advisory[]): string {
  return advs.flatMap((a) => a.packages.map((f) => `${a.id} ${a.type} ${f}\n`)).join('');
}

export function updateinfoInfoText(advs: readonly Advisory[]): string {
  return advs.map((a) => `       Name : ${a.packages.join(' ')}\n  Update ID : ${a.id}\n       Type : ${a.type}\n`
    + `    Updated : ${a.updated}\nNeeds Reboot: ${a.rebootRequired ? 1 : 0}\nDescription : ${a.description}\n\n`).join('');
}

export function updateinfoJson(advs: readonly Advisory[]): unknown {
  return advs.map((a) => ({ UpdateId: a.id, Type: a.type, Updated: a.updated, NeedsReboot: a.rebootRequired, Description: a.description, Packages: a.packages }));
}
