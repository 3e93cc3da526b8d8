/**
 * `tdnf updateinfo [summary|list|info] [SPEC…]`: advisories from the repositories'
 * updateinfo.xml that concern installed packages. An advisory applies (scope "available", the
 * default) when it ships a newer EVR of an installed name.arch; `installed` when the installed
 * EVR is already at least the advisory's; `all` lists every advisory naming an installed package.
 */
import type { Update } from '../../repo/updateinfo.ts';
import { comparePackageEvr } from '../../rpm/version.ts';
import { type Sack, archOf, epochOf, nameOf, packagesOf, releaseOf, selectSpecs, versionOf } from '../query.ts';

export type UpdateinfoMode = 'summary' | 'list' | 'info';
export type UpdateinfoScope = 'available' | 'installed' | 'all' | 'updates';

export interface UpdateinfoOptions {
  mode: UpdateinfoMode;
  scope: UpdateinfoScope;
  specs: readonly string[];
  security?: boolean;
  /** Minimum CVSS severity name (Low, Moderate, Important, Critical) or score. */
  secSeverity?: string;
  rebootRequired?: boolean;
}

export interface Advisory {
  id: string;
  /** Security, Bugfix, Enhancement or Unknown, as tdnf names them. */
  type: string;
  updated: string;
  rebootRequired: boolean;
  description: string;
  /** Package file names the advisory ships for installed packages. */
  packages: string[];
}

export interface UpdateinfoSummary {
  Security: number;
  Bugfix: number;
  Enhancement: number;
  Unknown: number;
}

export function typeName(type: string): keyof UpdateinfoSummary {
  switch (type.toLowerCase()) {
    case 'security': return 'Security';
    case 'bugfix': return 'Bugfix';
    case 'enhancement': return 'Enhancement';
    default: return 'Unknown';
  }
}

const SEVERITY = ['low', 'moderate', 'important', 'critical'];

function severityOk(u: Update, min: string | undefined): boolean {
  if (!min) return true;
  const want = SEVERITY.indexOf(min.toLowerCase());
  const have = SEVERITY.indexOf(u.severity.toLowerCase());
  if (want >= 0) return have >= want;
  const score = Number.parseFloat(min);
  const hs = Number.parseFloat(u.severity);
  return Number.isFinite(score) && Number.isFinite(hs) ? hs >= score : true;
}

/** The advisory filters of --security, --sec-severity and --reboot-required. */
export interface AdvisoryFilter {
  security?: boolean;
  secSeverity?: string;
  rebootRequired?: boolean;
}

export const filtersAdvisories = (f: AdvisoryFilter): boolean => !!(f.security || f.secSeverity !== undefined || f.rebootRequired);

function qualifies(u: Update, f: AdvisoryFilter): boolean {
  if (f.security && u.type.toLowerCase() !== 'security') return false;
  if (!severityOk(u, f.secSeverity)) return false;
  return !f.rebootRequired || u.rebootSuggested;
}

/**
 * The installed `name.arch`s that an advisory passing `f` updates (it ships a newer EVR): what
 * upgrade, check-update and list updates are restricted to with --security, --sec-severity or
 * --reboot-required (C tdnf's TDNFGetSecurityUpdatePkgs: the names of those advisories'
 * packages become the upgrade's package list).
 */
export function advisoryUpdates(sack: Sack, updates: readonly Update[], f: AdvisoryFilter): Set<string> {
  const out = new Set<string>();
  updateinfo(sack, updates, { mode: 'list', scope: 'available', specs: [], ...f }, out);
  return out;
}

export function updateinfo(sack: Sack, updates: readonly Update[], o: UpdateinfoOptions, nameArchs?: Set<string>): Advisory[] {
  const installed = selectSpecs(packagesOf([sack.installed]), o.specs);
  const byNameArch = new Map<string, { epoch: string; version: string; release: string }[]>();
  for (const k of installed) {
    const key = `${nameOf(k)}.${archOf(k)}`;
    const list = byNameArch.get(key) ?? [];
    list.push({ epoch: epochOf(k), version: versionOf(k), release: releaseOf(k) });
    byNameArch.set(key, list);
  }
  const out: Advisory[] = [];
  for (const u of updates) {
    if (!qualifies(u, o)) continue;
    const files: string[] = [];
    for (const c of u.collections) {
      for (const p of c.packages) {
        const inst = byNameArch.get(`${p.name}.${p.arch}`);
        if (!inst) continue;
        const cmp = (i: (typeof inst)[number]): number => comparePackageEvr({ epoch: p.epoch || '0', version: p.version, release: p.release }, i);
        const applies = o.scope === 'all' ? true : o.scope === 'installed' ? inst.some((i) => cmp(i) <= 0) : inst.some((i) => cmp(i) > 0);
        if (!applies) continue;
        files.push(p.filename || `${p.name}-${p.version}-${p.release}.${p.arch}.rpm`);
        nameArchs?.add(`${p.name}.${p.arch}`);
      }
    }
    if (!files.length) continue;
    out.push({ id: u.id, type: typeName(u.type), updated: u.updated || u.issued, rebootRequired: u.rebootSuggested, description: u.description, packages: files });
  }
  return out;
}

export function summarize(advisories: readonly Advisory[]): UpdateinfoSummary {
  const s: UpdateinfoSummary = { Security: 0, Bugfix: 0, Enhancement: 0, Unknown: 0 };
  for (const a of advisories) s[a.type as keyof UpdateinfoSummary]++;
  return s;
}
