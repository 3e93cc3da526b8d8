/**
 * Is the repository closed? Every requirement of every package must be met by some package of
 * the set (a provide with an overlapping version range, or a file path), so that no image built
 * from it can lack a library. Rich dependencies are evaluated over the same set.
 */
import { type Dep, type RichDep, RPMSENSE, isRich, parseRich, rangesOverlap } from '../rpm/deps.ts';

export interface PackageFacts {
  name: string;
  /** `[e:]v-r` of the package itself: its implicit `name = evr` provide. */
  evr: string;
  requires: Dep[];
  provides: Dep[];
  files: string[];
}

export interface Unmet {
  pkg: string;
  requirement: string;
}

function depText(d: Dep): string {
  if (!(d.flags & 0x0e) || !d.evr) return d.name;
  const op = `${d.flags & RPMSENSE.LESS ? '<' : ''}${d.flags & RPMSENSE.GREATER ? '>' : ''}${d.flags & RPMSENSE.EQUAL ? '=' : ''}`;
  return `${d.name} ${op} ${d.evr}`;
}

export function unmetRequirements(packages: readonly PackageFacts[]): Unmet[] {
  const provides = new Map<string, Dep[]>();
  const files = new Set<string>();
  const names = new Set<string>();
  for (const p of packages) {
    names.add(p.name);
    const self = { name: p.name, flags: RPMSENSE.EQUAL, evr: p.evr };
    for (const d of [self, ...p.provides]) {
      const list = provides.get(d.name);
      if (list) list.push(d);
      else provides.set(d.name, [d]);
    }
    for (const f of p.files) files.add(f);
  }
  const met = (d: Dep): boolean => {
    if (d.name.startsWith('rpmlib(')) return true;
    if (d.name.startsWith('/') && files.has(d.name)) return true;
    return (provides.get(d.name) ?? []).some((p) => rangesOverlap(p, d));
  };
  const richMet = (r: RichDep): boolean => {
    switch (r.op) {
      case 'dep':
        return met(r.dep);
      case 'and':
      case 'with':
        return r.args.every(richMet);
      case 'or':
        return r.args.some(richMet);
      case 'if':
        return !richMet(r.args[1]!) || richMet(r.args[0]!) || (r.args[2] ? richMet(r.args[2]) : false);
      case 'unless':
        return richMet(r.args[1]!) || richMet(r.args[0]!) || (r.args[2] ? richMet(r.args[2]) : false);
      case 'without':
        return richMet(r.args[0]!);
    }
  };
  const out: Unmet[] = [];
  for (const p of packages) {
    for (const d of p.requires) {
      const ok = isRich(d.name) ? richMet(parseRich(d.name)) : met(d);
      if (!ok) out.push({ pkg: p.name, requirement: depText(d) });
    }
  }
  return out;
}
