/**
 * tdnf's dependency solver: jobs + options over a Universe → a transaction or problems, the way
 * libsolv does it (src/rules.c, solver.c, policy.c, problems.c) and C tdnf configures it
 * (client/goal.c: allow downgrade, keep orphans, yum obsoletes, weak deps honoured).
 *
 * 1. Rules (CNF clauses over packages), generated from the jobs and the installed packages
 *    outward, for every package that might be chosen: requires → (¬p ∨ providers…), rich
 *    dependencies in CNF, conflicts → (¬p ∨ ¬q), obsoletes (by name), one version per name
 *    (except installonly names), keep-or-update for installed packages, jobs, locks,
 *    minversions, excludes, arch.
 * 2. The CDCL core (sat.ts) with decisions made by the policy: jobs first, then keeping what is
 *    installed, then each open requirement in the order packages were chosen, choosing the
 *    best provider (repo priority, name, highest EVR, host arch before noarch), then Recommends.
 * 3. Unsatisfiable: the refutation's clauses (an unsat core) give one problem; its job rules
 *    are disabled and solving goes on (libsolv's way), so every problem is found and
 *    --skip-broken gets the transaction without the broken jobs.
 */
import { DEP } from '../repo/pool.ts';
import { formatDep, formatRich, parseRich, type RichDep } from '../rpm/deps.ts';
import { comparePackageEvr } from '../rpm/version.ts';
import { Sat, lit } from './sat.ts';
import type { Job, SolveOptions, SolveResult } from './types.ts';
import type { Universe } from './universe.ts';

/** What a rule stands for, to describe problems in libsolv's words. */
type RuleInfo =
  | { t: 'job' }
  | { t: 'requires'; p: number; dep: string }
  | { t: 'nothing'; p: number; dep: string }
  | { t: 'conflicts'; p: number; dep: string; q: number }
  | { t: 'obsoletes'; p: number; dep: string; q: number }
  | { t: 'same'; p: number; q: number }
  | { t: 'update'; p: number }
  | { t: 'lock'; p: number }
  | { t: 'uninstallable'; p: number }
  | { t: 'true' };

const MAX_RICH_CLAUSES = 256;

/** A formula over packages: leaf = "one of these packages". */
type F = { k: 'leaf'; ps: readonly number[] } | { k: 'not'; f: F } | { k: 'and' | 'or'; fs: F[] };

export class Solver {
  private readonly u: Universe;
  private readonly o: SolveOptions;
  private readonly clauses: number[][] = [];
  private readonly info: RuleInfo[] = [];
  private readonly visited: Uint8Array;
  private readonly excluded: Uint8Array;
  private readonly installonly = new Set<number>();
  private readonly queue: number[] = [];
  /** Per package: rule numbers whose trigger (a negative literal) is that package. */
  private readonly reqOf = new Map<number, number[]>();
  /** Per package: its Recommends, as candidate lists. */
  private readonly recOf = new Map<number, Int32Array[]>();
  private readonly names = new Map<number, string>();
  private readonly jobRules: number[] = [];
  /** Update/distro-sync targets: candidates the policy tries before keeping the installed one. */
  private readonly prefer: number[][] = [];
  private readonly erased = new Set<number>();
  private readonly trueVar: number;
  private depth: Int32Array;

  constructor(universe: Universe, options: SolveOptions = {}) {
    this.u = universe;
    this.o = options;
    this.trueVar = universe.count;
    this.visited = new Uint8Array(universe.count);
    this.excluded = new Uint8Array(universe.count);
    this.depth = new Int32Array(universe.count).fill(1 << 30);
    for (const p of options.excludes ?? []) if (!universe.isInstalled(p)) this.excluded[p] = 1;
    for (const n of options.installonlyNames ?? []) {
      const id = universe.strings.lookup(n);
      if (id >= 0) this.installonly.add(id);
    }
    this.rule([lit(this.trueVar, false)], { t: 'true' });
  }

  private nameStr(id: number): string {
    let s = this.names.get(id);
    if (s === undefined) this.names.set(id, (s = this.u.str(id)));
    return s;
  }
  private rule(ls: number[], info: RuleInfo): number {
    const r = this.clauses.length;
    this.clauses.push(ls);
    this.info.push(info);
    return r;
  }
  private trigger(p: number, r: number): void {
    const l = this.reqOf.get(p);
    if (l) l.push(r);
    else this.reqOf.set(p, [r]);
  }
  /** Whether `p` may be chosen at all (installed packages always may stay). */
  private candidate(p: number): boolean {
    return this.u.isInstalled(p) || (!this.excluded[p] && this.u.archAllowed(p));
  }
  private enqueue(p: number, d: number): void {
    if (d < this.depth[p]!) this.depth[p] = d;
    if (!this.visited[p]) {
      this.visited[p] = 1;
      this.queue.push(p);
    }
  }

  /** Providers of pool dependency `dep` of package p's pool, as candidates. */
  private providers(nameId: number, flags: number, evr: number): number[] {
    const out: number[] = [];
    for (const q of this.u.whatProvides(nameId, flags, evr)) if (this.candidate(q)) out.push(q);
    return out;
  }

  private richF(tree: RichDep): F {
    if (tree.op === 'dep') {
      const d = tree.dep;
      const n = this.u.strings.lookup(d.name);
      const e = d.evr ? this.u.strings.internString(d.evr) : 0;
      return { k: 'leaf', ps: n < 0 ? [] : this.providers(n, d.flags, e) };
    }
    const a = tree.args.map((x) => this.richF(x));
    const not = (f: F): F => ({ k: 'not', f });
    switch (tree.op) {
      case 'and': return { k: 'and', fs: a };
      case 'or': return { k: 'or', fs: a };
      case 'if': {
        const f: F = { k: 'or', fs: [a[0]!, not(a[1]!)] };
        return a[2] ? { k: 'and', fs: [f, { k: 'or', fs: [a[1]!, a[2]] }] } : f;
      }
      case 'unless': {
        const f: F = { k: 'or', fs: [a[0]!, a[1]!] };
        return a[2] ? { k: 'and', fs: [f, { k: 'or', fs: [not(a[1]!), a[2]] }] } : f;
      }
      case 'with': {
        // One package satisfying every operand.
        let s = new Set(a[0]!.k === 'leaf' ? a[0]!.ps : []);
        for (const x of a.slice(1)) s = new Set((x.k === 'leaf' ? x.ps : []).filter((q) => s.has(q)));
        return { k: 'leaf', ps: [...s].sort((x, y) => x - y) };
      }
      case 'without': {
        const minus = new Set(a[1]!.k === 'leaf' ? a[1]!.ps : []);
        return { k: 'leaf', ps: (a[0]!.k === 'leaf' ? a[0]!.ps : []).filter((q) => !minus.has(q)) };
      }
    }
  }

  /** CNF of `f` (negated when `neg`) as clauses of literals; null when it grows too big. */
  private cnf(f: F, neg: boolean): number[][] | null {
    if (f.k === 'not') return this.cnf(f.f, !neg);
    if (f.k === 'leaf') return neg ? f.ps.map((q) => [lit(q, true)]) : [f.ps.map((q) => lit(q, false))];
    const conj = (f.k === 'and') !== neg;
    const parts: number[][][] = [];
    for (const x of f.fs) {
      const c = this.cnf(x, neg);
      if (!c) return null;
      parts.push(c);
    }
    if (conj) return parts.flat();
    let acc: number[][] = [[]];
    for (const c of parts) {
      const next: number[][] = [];
      for (const a of acc) for (const b of c) next.push([...new Set([...a, ...b])]);
      if (next.length > MAX_RICH_CLAUSES) return null;
      acc = next;
    }
    return acc;
  }

  /** Package rules for `p` (libsolv's solver_addpkgrulesforsolvable). */
  private addPackageRules(p: number): void {
    const [pool, i] = this.u.local(p);
    const d = this.depth[p]! + 1;
    const np = lit(p, true);
    if (!this.candidate(p)) {
      this.rule([np], { t: 'uninstallable', p });
      return;
    }
    for (const dep of pool.deps(i, DEP.REQUIRES)) {
      const nameId = pool.depName(dep);
      const name = this.nameStr(nameId);
      if (name.startsWith('rpmlib(')) continue;
      if (name.charCodeAt(0) === 40) {
        const cs = this.cnf(this.richF(parseRich(name)), false);
        if (!cs) continue;
        for (const c of cs) {
          if (c.includes(lit(p, false))) continue;
          if (c.length === 0) {
            this.rule([np], { t: 'nothing', p, dep: name });
            continue;
          }
          const r = this.rule([np, ...c], { t: 'requires', p, dep: formatRich(parseRich(name)) });
          this.trigger(p, r);
          for (const l of c) {
            if (l & 1) this.trigger(l >> 1, r);
            else this.enqueue(l >> 1, d);
          }
        }
        continue;
      }
      const prov = this.providers(nameId, pool.depFlags(dep), pool.depEvr(dep));
      if (prov.includes(p)) continue;
      const text = formatDep(pool.dep(dep));
      if (prov.length === 0) {
        this.rule([np], { t: 'nothing', p, dep: text });
        continue;
      }
      const r = this.rule([np, ...prov.map((q) => lit(q, false))], { t: 'requires', p, dep: text });
      this.trigger(p, r);
      for (const q of prov) this.enqueue(q, d);
    }
    for (const dep of pool.deps(i, DEP.CONFLICTS)) {
      const nameId = pool.depName(dep);
      const name = this.nameStr(nameId);
      if (name.charCodeAt(0) === 40) {
        const cs = this.cnf(this.richF(parseRich(name)), true);
        if (!cs) continue;
        for (const c of cs) this.rule([np, ...c], { t: 'conflicts', p, dep: name, q: c[0] === undefined ? p : c[0] >> 1 });
        continue;
      }
      const text = formatDep(pool.dep(dep));
      for (const q of this.providers(nameId, pool.depFlags(dep), pool.depEvr(dep))) {
        if (q !== p) this.rule([np, lit(q, true)], { t: 'conflicts', p, dep: text, q });
      }
    }
    for (const dep of pool.deps(i, DEP.OBSOLETES)) {
      const nameId = pool.depName(dep);
      const text = formatDep(pool.dep(dep));
      // rpm obsoletes match package names, not provides (libsolv without obsoleteusesprovides).
      for (const q of this.providers(nameId, pool.depFlags(dep), pool.depEvr(dep))) {
        if (q === p || this.u.nameOf(q) !== nameId || this.u.nameOf(q) === this.u.nameOf(p)) continue;
        this.rule([np, lit(q, true)], { t: 'obsoletes', p, dep: text, q });
        if (this.u.isInstalled(q)) this.obsoleters(q).push(p);
      }
    }
    if (this.o.installWeakDeps !== false) {
      const recs: Int32Array[] = [];
      for (const dep of pool.deps(i, DEP.RECOMMENDS)) {
        const nameId = pool.depName(dep);
        if (this.nameStr(nameId).charCodeAt(0) === 40) continue;
        const prov = this.providers(nameId, pool.depFlags(dep), pool.depEvr(dep));
        if (prov.length === 0 || prov.includes(p)) continue;
        recs.push(Int32Array.from(prov));
        for (const q of prov) this.enqueue(q, d);
      }
      if (recs.length) this.recOf.set(p, recs);
    }
  }
  private readonly obsoletedBy = new Map<number, number[]>();
  private obsoleters(q: number): number[] {
    let l = this.obsoletedBy.get(q);
    if (!l) this.obsoletedBy.set(q, (l = []));
    return l;
  }

  /**
   * The policy order of candidates, best first (libsolv's policy_filter_unwanted): installed,
   * lower repo priority, then by name (libsolv sorts alternatives by name), highest EVR, host
   * arch before noarch.
   */
  private better = (a: number, b: number): number => {
    const u = this.u;
    const ia = u.isInstalled(a) ? 0 : 1;
    const ib = u.isInstalled(b) ? 0 : 1;
    if (ia !== ib) return ia - ib;
    const pa = u.priority(a);
    const pb = u.priority(b);
    if (pa !== pb) return pa - pb;
    const na = u.nameOf(a);
    const nb = u.nameOf(b);
    if (na !== nb) {
      const sa = this.nameStr(na);
      const sb = this.nameStr(nb);
      return sa < sb ? -1 : 1;
    }
    const c = u.compareEvr(b, a);
    if (c) return c;
    const noarch = u.strings.lookup('noarch');
    const xa = u.archOf(a) === noarch ? 1 : 0;
    const xb = u.archOf(b) === noarch ? 1 : 0;
    if (xa !== xb) return xa - xb;
    return a - b;
  };

  private pick(cands: ArrayLike<number>, sat: Sat): number {
    let best = -1;
    for (let k = 0; k < cands.length; k++) {
      const q = cands[k]!;
      if (sat.value[q] !== 0) continue;
      if (best < 0 || this.better(q, best) < 0) best = q;
    }
    return best;
  }

  private addJobs(jobs: readonly Job[]): void {
    const u = this.u;
    const installed: number[] = [];
    for (let p = 0; p < u.installedEnd; p++) installed.push(p);
    const sameNameCands = (i: number): number[] =>
      u.byName(u.nameOf(i)).filter((q) => !u.isInstalled(q) && this.candidate(q));
    const updateCands = (i: number, newerOnly: boolean): number[] => {
      const c = sameNameCands(i).filter((q) => !newerOnly || u.compareEvr(q, i) > 0);
      return c;
    };
    const bestOf = (cs: number[]): number[] => {
      if (!cs.length) return cs;
      const top = [...cs].sort(this.better)[0]!;
      return cs.filter((q) => u.nameOf(q) === u.nameOf(top) && u.evrOf(q) === u.evrOf(top));
    };
    const installJob = (ps: readonly number[]): void => {
      let cs = ps.filter((q) => this.candidate(q));
      if (this.o.best) cs = bestOf(cs);
      this.jobRules.push(this.rule(cs.map((q) => lit(q, false)), { t: 'job' }));
      for (const q of ps) this.enqueue(q, 0);
    };
    const updateTargets = (is: readonly number[]): void => {
      for (const i of is) {
        if (this.installonly.has(u.nameOf(i))) {
          const c = updateCands(i, true);
          if (c.length) installJob(bestOf(c));
          continue;
        }
        const c = updateCands(i, true);
        for (const q of c) this.enqueue(q, 0);
        if (!c.length) continue;
        if (this.o.best) this.jobRules.push(this.rule(bestOf(c).map((q) => lit(q, false)), { t: 'job' }));
        else this.prefer.push(bestOf(c));
      }
    };
    for (const j of jobs) {
      switch (j.kind) {
        case 'install':
        case 'downgrade':
        case 'reinstall':
          installJob(j.packages);
          break;
        case 'erase':
          for (const i of j.packages) {
            this.erased.add(i);
            this.jobRules.push(this.rule([lit(i, true)], { t: 'job' }));
          }
          break;
        case 'update':
          updateTargets(j.packages);
          break;
        case 'update-all':
          updateTargets(installed);
          break;
        case 'distro-sync':
          for (const i of installed) {
            const c = sameNameCands(i);
            if (!c.length) continue;
            for (const q of c) this.enqueue(q, 0);
            const b = bestOf(c);
            if (u.compareEvr(b[0]!, i) !== 0) this.prefer.push(b);
          }
          break;
        case 'autoremove':
          break;
      }
    }
    // Locks and minversions: "keep as is" for the packages they name.
    const lockPkg = (p: number): void => {
      this.rule([lit(p, !u.isInstalled(p))], { t: 'lock', p });
    };
    for (const n of this.o.locks ?? []) {
      const id = u.strings.lookup(n);
      if (id >= 0) for (const p of u.byName(id)) lockPkg(p);
    }
    for (const [n, min] of this.o.minversions ?? []) {
      const id = u.strings.lookup(n);
      if (id < 0) continue;
      const m = u.parsedEvr(u.strings.internString(min));
      for (const p of u.byName(id)) if (comparePackageEvr(u.parsedEvr(u.evrOf(p)), m) < 0) lockPkg(p);
    }
    for (const i of installed) this.enqueue(i, 1);
  }

  private generate(jobs: readonly Job[]): void {
    this.addJobs(jobs);
    for (let k = 0; k < this.queue.length; k++) this.addPackageRules(this.queue[k]!);
    const u = this.u;
    // One version per name (libsolv's same-name rules, implicit obsoletes) among the visited.
    const byName = new Map<number, number[]>();
    for (const p of this.queue) {
      if (!this.candidate(p)) continue;
      const n = u.nameOf(p);
      const l = byName.get(n);
      if (l) l.push(p);
      else byName.set(n, [p]);
    }
    for (const [n, ps] of byName) {
      if (ps.length < 2 || this.installonly.has(n)) continue;
      for (let a = 0; a < ps.length; a++) {
        for (let b = a + 1; b < ps.length; b++) {
          if (u.isInstalled(ps[a]!) && u.isInstalled(ps[b]!)) continue;
          this.rule([lit(ps[a]!, true), lit(ps[b]!, true)], { t: 'same', p: ps[a]!, q: ps[b]! });
        }
      }
    }
    // Installed packages stay or are replaced (libsolv's update rules) unless erasing is allowed.
    if (!this.o.allowErasing) {
      for (let i = 0; i < u.installedEnd; i++) {
        if (this.erased.has(i)) continue;
        const repl = (byName.get(u.nameOf(i)) ?? []).filter((q) => !u.isInstalled(q));
        const ls = [i, ...(this.installonly.has(u.nameOf(i)) ? [] : repl), ...(this.obsoletedBy.get(i) ?? [])];
        this.rule([...new Set(ls)].map((q) => lit(q, false)), { t: 'update', p: i });
      }
    }
  }

  private runSat(disabled: Set<number>): { sat: Sat; ok: boolean } {
    const sat = new Sat(this.u.count + 1);
    const tl = lit(this.trueVar, false);
    for (let r = 0; r < this.clauses.length; r++) sat.addClause(disabled.has(r) ? [tl] : this.clauses[r]!);
    const u = this.u;
    let jobPtr = 0;
    let tpos = 0;
    let rpos = 0;
    let seenConflicts = 0;
    const clauses = this.clauses;
    const decide = (): number => {
      if (sat.conflicts !== seenConflicts) {
        seenConflicts = sat.conflicts;
        jobPtr = 0;
        tpos = 0;
        rpos = 0;
      }
      for (; jobPtr < this.jobRules.length; jobPtr++) {
        const r = this.jobRules[jobPtr]!;
        if (disabled.has(r)) continue;
        const c = clauses[r]!;
        if (c.some((l) => sat.litValue(l) === 1)) continue;
        const q = this.pick(c.filter((l) => !(l & 1)).map((l) => l >> 1), sat);
        if (q >= 0) return lit(q, false);
      }
      for (const cands of this.prefer) {
        if (cands.some((q) => sat.value[q] === 1)) continue;
        const q = this.pick(cands, sat);
        if (q >= 0) return lit(q, false);
      }
      for (let i = 0; i < u.installedEnd; i++) if (sat.value[i] === 0 && !this.erased.has(i)) return lit(i, false);
      while (tpos < sat.trailLen) {
        const l = sat.trail[tpos]!;
        if (!(l & 1)) {
          for (const r of this.reqOf.get(l >> 1) ?? []) {
            if (disabled.has(r)) continue;
            const c = clauses[r]!;
            let open = true;
            for (const x of c) {
              const v = sat.litValue(x);
              if (v === 1 || ((x & 1) && v === 0)) {
                open = false;
                break;
              }
            }
            if (!open) continue;
            let best = -1;
            for (const x of c) if (!(x & 1) && sat.value[x >> 1] === 0 && (best < 0 || this.better(x >> 1, best) < 0)) best = x >> 1;
            if (best >= 0) return lit(best, false);
          }
        }
        tpos++;
      }
      while (rpos < sat.trailLen) {
        const l = sat.trail[rpos]!;
        if (!(l & 1)) {
          for (const cands of this.recOf.get(l >> 1) ?? []) {
            if (cands.some((q) => sat.value[q] === 1)) continue;
            const q = this.pick(cands, sat);
            if (q >= 0) return lit(q, false);
          }
        }
        rpos++;
      }
      return -1;
    };
    const ok = sat.solve(decide);
    return { sat, ok };
  }

  /** libsolv's solver_problemruleinfo2str for the rule that best explains a core. */
  private describe(core: number[]): string {
    const u = this.u;
    const infos = core.map((r) => this.info[r]!);
    const s = (p: number): string => u.nevra(p);
    const find = <T extends RuleInfo['t']>(t: T): Extract<RuleInfo, { t: T }>[] =>
      infos.filter((x): x is Extract<RuleInfo, { t: T }> => x.t === t);
    const byDepth = <X extends { p: number }>(xs: X[]): X[] => xs.sort((a, b) => this.depth[a.p]! - this.depth[b.p]!);
    const nothing = byDepth(find('nothing'));
    if (nothing.length) return `nothing provides ${nothing[0]!.dep} needed by ${s(nothing[0]!.p)}`;
    const un = find('uninstallable');
    if (un.length) return `package ${s(un[0]!.p)} is not installable`;
    const lock = find('lock');
    if (lock.length && find('job').length) return `package ${s(lock[0]!.p)} is locked`;
    const req = byDepth(find('requires'));
    if (req.length) return `package ${s(req[0]!.p)} requires ${req[0]!.dep}, but none of the providers can be installed`;
    const con = find('conflicts');
    if (con.length) {
      const c = con[0]!;
      return c.q === c.p
        ? `package ${s(c.p)} conflicts with ${c.dep} provided by itself`
        : `package ${s(c.p)} conflicts with ${c.dep} provided by ${s(c.q)}`;
    }
    const obs = find('obsoletes');
    if (obs.length) {
      const c = obs[0]!;
      const who = u.isInstalled(c.p) ? 'installed package' : 'package';
      return `${who} ${s(c.p)} obsoletes ${c.dep} provided by ${s(c.q)}`;
    }
    const same = find('same');
    if (same.length) return `cannot install both ${s(same[0]!.q)} and ${s(same[0]!.p)}`;
    const upd = find('update');
    if (upd.length) return `problem with installed package ${s(upd[0]!.p)}`;
    return 'conflicting requests';
  }

  solve(jobs: readonly Job[]): SolveResult {
    this.generate(jobs);
    const disabled = new Set<number>();
    const problems: string[] = [];
    let run = this.runSat(disabled);
    for (let round = 0; !run.ok && round < 64; round++) {
      const core = run.sat.core();
      const jobs = core.filter((r) => this.info[r]!.t === 'job');
      problems.push(this.describe(core));
      if (!jobs.length) break; // the installed system itself is broken beyond the jobs
      for (const r of jobs) disabled.add(r);
      run = this.runSat(disabled);
    }
    const result = this.transaction(run.sat, run.ok, jobs);
    if (problems.length) {
      result.problems = problems;
      if (!this.o.skipBroken || !run.ok) {
        result.code = 1301;
        result.install = [];
        result.upgrade = [];
        result.downgrade = [];
        result.reinstall = [];
        result.erase = [];
        result.obsoleted = [];
      }
    }
    return result;
  }

  private transaction(sat: Sat, ok: boolean, jobs: readonly Job[]): SolveResult {
    const u = this.u;
    const res: SolveResult = { install: [], upgrade: [], downgrade: [], reinstall: [], erase: [], obsoleted: [], problems: [] };
    if (!ok) return res;
    const inModel = (p: number): boolean => sat.value[p] === 1 || (u.isInstalled(p) && sat.value[p] === 0 && !this.erased.has(p));
    const keep = new Uint8Array(u.count);
    for (let p = 0; p < u.count; p++) if (inModel(p)) keep[p] = 1;
    // installonly limit: keep the newest N per name, never the running kernel.
    const limit = this.o.installonlyLimit ?? 0;
    if (limit > 0) {
      for (const n of this.installonly) {
        const vs = u.byName(n).filter((p) => keep[p]).sort((a, b) => u.compareEvr(b, a));
        let over = vs.length - limit;
        for (let k = vs.length - 1; k >= 0 && over > 0; k--) {
          const p = vs[k]!;
          if (!u.isInstalled(p) || p === this.o.runningKernel) continue;
          keep[p] = 0;
          over--;
        }
      }
    }
    // Autoremove: auto-installed packages no kept package needs any more.
    const wantAuto = jobs.some((j) => j.kind === 'autoremove') ||
      (!!this.o.cleanRequirementsOnRemove && !this.o.noAutoremove && this.erased.size > 0);
    if (wantAuto && this.o.userInstalled) this.autoremove(keep, jobs.some((j) => j.kind === 'autoremove'));
    const replaced = new Set<number>();
    for (let p = u.installedEnd; p < u.count; p++) {
      if (!keep[p]) continue;
      const n = u.nameOf(p);
      const olds = this.installonly.has(n) ? [] : u.byName(n).filter((i) => u.isInstalled(i) && !keep[i]);
      if (olds.length) {
        for (const i of olds) replaced.add(i);
        const c = u.compareEvr(p, olds[0]!);
        const e = { pkg: p, replaces: olds };
        if (c > 0) res.upgrade.push(e);
        else if (c < 0) res.downgrade.push(e);
        else res.reinstall.push(e);
      } else res.install.push(p);
    }
    for (let i = 0; i < u.installedEnd; i++) {
      if (keep[i] || replaced.has(i)) continue;
      const by = (this.obsoletedBy.get(i) ?? []).find((q) => keep[q]);
      if (by !== undefined) res.obsoleted.push({ pkg: i, by });
      else res.erase.push(i);
    }
    const prot = new Set(this.o.protected ?? []);
    if (prot.size) {
      const gone = [...res.erase, ...res.obsoleted.map((x) => x.pkg)];
      const hit = gone.find((i) => prot.has(u.str(u.nameOf(i))));
      if (hit !== undefined) {
        res.problems = [`The operation would result in removing the protected package: ${u.str(u.nameOf(hit))}`];
        res.code = 1030;
      }
    }
    return res;
  }

  private autoremove(keep: Uint8Array, all: boolean): void {
    const u = this.u;
    const user = new Set(this.o.userInstalled ?? []);
    const needed = new Uint8Array(u.count);
    const stack: number[] = [];
    const mark = (p: number): void => {
      if (!needed[p]) {
        needed[p] = 1;
        stack.push(p);
      }
    };
    for (let p = 0; p < u.count; p++) {
      if (!keep[p]) continue;
      if (!u.isInstalled(p) || user.has(u.str(u.nameOf(p)))) mark(p);
    }
    const reqs = (p: number, f: (q: number) => void): void => {
      const [pool, i] = u.local(p);
      for (const dep of pool.deps(i, DEP.REQUIRES)) {
        const n = pool.depName(dep);
        if (this.nameStr(n).charCodeAt(0) === 40) {
          // Rich: keep every kept package it names.
          for (const m of this.nameStr(n).matchAll(/[^\s()]+/g)) {
            const id = u.strings.lookup(m[0]);
            if (id >= 0) for (const q of u.whatProvides(id, 0, 0)) f(q);
          }
          continue;
        }
        for (const q of u.whatProvides(n, pool.depFlags(dep), pool.depEvr(dep))) f(q);
      }
    };
    while (stack.length) reqs(stack.pop()!, (q) => keep[q] && mark(q));
    let removable: Uint8Array | undefined;
    if (!all) {
      // clean_requirements_on_remove: only what the erased packages pulled in.
      removable = new Uint8Array(u.count);
      const st = [...this.erased];
      while (st.length) {
        reqs(st.pop()!, (q) => {
          if (u.isInstalled(q) && !removable![q]) {
            removable![q] = 1;
            st.push(q);
          }
        });
      }
    }
    for (let i = 0; i < u.installedEnd; i++) {
      if (keep[i] && !needed[i] && (!removable || removable[i])) keep[i] = 0;
    }
  }
}

/** Solves `jobs` over `universe`: the transaction, or problems in tdnf's words. */
export function solve(universe: Universe, jobs: readonly Job[], options: SolveOptions = {}): SolveResult {
  return new Solver(universe, options).solve(jobs);
}
