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
 *
 * Cost and layout (the solve must stay well under 0.1 s on a 63,000-package repository, where
 * a job reaches a few thousand packages and tens of thousands of rules):
 * - Only packages reachable from the jobs and the installed set get rules (a work queue).
 * - Rules are literals in one growable Int32Array arena (`lits`; rule r is
 *   `lits[ruleStart[r] … ruleStart[r + 1])`), what each stands for in five int32s of a second
 *   arena (kind, p, q, dependency reference): no array nor object per rule, ~30 bytes per rule
 *   plus 4 per literal. The arena goes to the SAT core in one copy. Dependency text is only
 *   formatted when a problem is described.
 * - Providers are cached per (pool, dependency id), already filtered to candidates: a
 *   dependency shared by many packages is looked up once. Rich dependencies are parsed and put
 *   in CNF once per name id.
 * - "Rules triggered by p" (what the decision policy walks) is a linked list in typed arrays,
 *   appended at the tail so that rules are visited in the order they were made.
 */
import { DEP, type PackagePool, poolData } from '../repo/pool.ts';
import { DEP_KIND_COUNT } from '../repo/_scan_primary.ts';
import { formatDep, formatRich, parseRich, type RichDep } from '../rpm/deps.ts';
import { comparePackageEvr, parseEvr } from '../rpm/version.ts';
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

/** Rule kinds as stored in the `kind` column (RuleInfo['t'] by number). */
const KINDS = ['job', 'requires', 'nothing', 'conflicts', 'obsoletes', 'same', 'update', 'lock', 'uninstallable', 'true'] as const;
const R_JOB = 0, R_REQUIRES = 1, R_NOTHING = 2, R_CONFLICTS = 3, R_OBSOLETES = 4, R_SAME = 5, R_UPDATE = 6;
const R_LOCK = 7, R_UNINSTALLABLE = 8, R_TRUE = 9;
/** Dependency references in the `depA` column: ≥ 0 a pool index (depB = its dependency id). */
const DEP_NONE = -3, DEP_RICH_RAW = -2, DEP_RICH_FORMATTED = -1;
const INFO = 5, I_KIND = 0, I_P = 1, I_Q = 2, I_DEPA = 3, I_DEPB = 4;

const MAX_RICH_CLAUSES = 256;

/** Name classes for requires (cached per name id). */
const NK_UNKNOWN = 0, NK_PLAIN = 1, NK_RPMLIB = 2, NK_RICH = 3;

/** A formula over packages: leaf = "one of these packages". */
type F = { k: 'leaf'; ps: readonly number[] } | { k: 'not'; f: F } | { k: 'and' | 'or'; fs: F[] };

/** A growable Int32Array, push-only: `a[0 … n)` is the content (`a` is replaced on growth). */
class IntVec {
  a: Int32Array;
  n = 0;
  constructor(capacity = 1024) {
    this.a = new Int32Array(capacity);
  }
  push(x: number): void {
    if (this.n === this.a.length) this.reserve(1);
    this.a[this.n++] = x;
  }
  /** Room for `k` more: then `a[n] … a[n + k - 1]` may be written directly (n advanced by hand). */
  reserve(k: number): void {
    if (this.n + k <= this.a.length) return;
    const b = new Int32Array(Math.max(this.a.length * 2, this.n + k));
    b.set(this.a);
    this.a = b;
  }
}

function includes(xs: Int32Array, x: number): boolean {
  for (let k = 0; k < xs.length; k++) if (xs[k] === x) return true;
  return false;
}

export class Solver {
  private readonly u: Universe;
  private readonly o: SolveOptions;
  /** Rule literals; rule r is lits.a[ruleStart.a[r] … ruleStart.a[r + 1]). */
  private readonly lits = new IntVec(1 << 16);
  private readonly ruleStart = new IntVec(1 << 14);
  /**
   * Per rule, INFO int32s at info[INFO·r]: its kind (R_*), packages p and q (-1 when none), and
   * its dependency (depA: pool index or DEP_*, depB: dependency or name id).
   */
  private readonly ruleInfo = new IntVec(INFO << 14);
  private readonly visited: Uint8Array;
  /** Per package: 1 when it may be chosen at all (arch policy, excludes; installed always). */
  private readonly cand: Uint8Array;
  private readonly installonly = new Set<number>();
  private readonly queue: number[] = [];
  /**
   * Per package: the rules whose trigger (a negative literal) is that package, as a linked
   * list: trigHead/trigTail[p] → node; trigRule/trigNext per node (-1 ends).
   */
  private readonly trigHead: Int32Array;
  private readonly trigTail: Int32Array;
  private readonly trigRule = new IntVec(1 << 14);
  private readonly trigNext = new IntVec(1 << 14);
  /** Per package: its Recommends, as candidate lists. */
  private readonly recOf = new Map<number, Int32Array[]>();
  private readonly names = new Map<number, string>();
  /** Per name id (below the string count at construction): NK_* class, 0 = not yet known. */
  private readonly nameKind: Uint8Array;
  /** Per pool: 1 + index in provLists of a dependency's candidate providers, 0 = not yet. */
  private readonly provSlot: (Int32Array | undefined)[] = [];
  private readonly provLists: Int32Array[] = [];
  private readonly richTrees = new Map<number, RichDep>();
  private readonly richCnf = [new Map<number, number[][] | null>(), new Map<number, number[][] | null>()];
  private readonly jobRules: number[] = [];
  /** Update/distro-sync targets: candidates the policy tries before keeping the installed one. */
  private readonly prefer: number[][] = [];
  private readonly erased = new Set<number>();
  private readonly trueVar: number;
  private readonly noarch: number;
  private depth: Int32Array;

  constructor(universe: Universe, options: SolveOptions = {}) {
    this.u = universe;
    this.o = options;
    this.trueVar = universe.count;
    this.visited = new Uint8Array(universe.count);
    this.cand = new Uint8Array(universe.count);
    this.depth = new Int32Array(universe.count).fill(1 << 30);
    this.trigHead = new Int32Array(universe.count).fill(-1);
    this.trigTail = new Int32Array(universe.count).fill(-1);
    this.nameKind = new Uint8Array(universe.strings.count);
    this.noarch = universe.strings.lookup('noarch');
    this.cand.set(universe.archOk);
    this.cand.fill(1, 0, universe.installedEnd); // installed packages may always stay
    for (const p of options.excludes ?? []) if (!universe.isInstalled(p)) this.cand[p] = 0;
    for (const n of options.installonlyNames ?? []) {
      const id = universe.strings.lookup(n);
      if (id >= 0) this.installonly.add(id);
    }
    this.ruleStart.push(0);
    this.lits.push(lit(this.trueVar, false));
    this.endRule(R_TRUE, -1, -1);
  }

  private nameStr(id: number): string {
    let s = this.names.get(id);
    if (s === undefined) this.names.set(id, (s = this.u.str(id)));
    return s;
  }
  private classify(id: number): number {
    let k = id < this.nameKind.length ? this.nameKind[id]! : NK_UNKNOWN;
    if (k !== NK_UNKNOWN) return k;
    const b = this.u.firstByte(id);
    k = b === 40 /* ( */ ? NK_RICH : b === 114 /* r */ && this.u.str(id).startsWith('rpmlib(') ? NK_RPMLIB : NK_PLAIN;
    if (id < this.nameKind.length) this.nameKind[id] = k;
    return k;
  }

  get ruleCount(): number {
    return this.ruleStart.n - 1;
  }
  /** Closes the rule whose literals were pushed since the last one; returns its number. */
  private endRule(kind: number, p: number, q: number, depA = DEP_NONE, depB = 0): number {
    const r = this.ruleStart.n - 1;
    this.ruleStart.push(this.lits.n);
    const info = this.ruleInfo;
    info.reserve(INFO);
    const a = info.a;
    const k = info.n;
    a[k + I_KIND] = kind;
    a[k + I_P] = p;
    a[k + I_Q] = q;
    a[k + I_DEPA] = depA;
    a[k + I_DEPB] = depB;
    info.n = k + INFO;
    return r;
  }
  private rule(ls: readonly number[], kind: number, p = -1, q = -1): number {
    for (const l of ls) this.lits.push(l);
    return this.endRule(kind, p, q);
  }
  /** Rule r's literals: a view into the arena (valid until the next rule is added). */
  private clause(r: number): Int32Array {
    return this.lits.a.subarray(this.ruleStart.a[r]!, this.ruleStart.a[r + 1]!);
  }
  private trigger(p: number, r: number): void {
    const node = this.trigRule.n;
    this.trigRule.push(r);
    this.trigNext.push(-1);
    if (this.trigTail[p]! < 0) this.trigHead[p] = node;
    else this.trigNext.a[this.trigTail[p]!] = node;
    this.trigTail[p] = node;
  }
  /** Whether `p` may be chosen at all (installed packages always may stay). */
  private candidate(p: number): boolean {
    return this.cand[p] === 1;
  }
  private enqueue(p: number, d: number): void {
    if (d < this.depth[p]!) this.depth[p] = d;
    if (!this.visited[p]) {
      this.visited[p] = 1;
      this.queue.push(p);
    }
  }

  /** The candidates among `all` (`all` itself when none is filtered out). */
  private candidates(all: Int32Array): Int32Array {
    let k = 0;
    while (k < all.length && this.cand[all[k]!] === 1) k++;
    if (k === all.length) return all;
    const out: number[] = [];
    for (const q of all) if (this.cand[q] === 1) out.push(q);
    return Int32Array.from(out);
  }
  /** Candidate providers of dependency `dep` of pool number `pi`, cached per (pool, dep). */
  private depProviders(pi: number, pool: PackagePool, dep: number): Int32Array {
    let slots = this.provSlot[pi];
    if (!slots) this.provSlot[pi] = slots = new Int32Array(pool.depCount);
    const s = slots[dep]!;
    if (s) return this.provLists[s - 1]!;
    const r = this.candidates(this.u.whatProvides(pool.depName(dep), pool.depFlags(dep), pool.depEvr(dep)));
    this.provLists.push(r);
    slots[dep] = this.provLists.length;
    return r;
  }

  private richF(tree: RichDep): F {
    if (tree.op === 'dep') {
      const d = tree.dep;
      const n = this.u.strings.lookup(d.name);
      return { k: 'leaf', ps: n < 0 ? [] : Array.from(this.candidates(this.u.whatProvidesText(n, d.flags, d.evr))) };
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

  private richTree(nameId: number): RichDep {
    let t = this.richTrees.get(nameId);
    if (!t) this.richTrees.set(nameId, (t = parseRich(this.nameStr(nameId))));
    return t;
  }
  /** The CNF of rich dependency `nameId` (negated for conflicts), once per name id. Shared. */
  private richClauses(nameId: number, neg: boolean): number[][] | null {
    const m = this.richCnf[neg ? 1 : 0]!;
    let c = m.get(nameId);
    if (c === undefined) m.set(nameId, (c = this.cnf(this.richF(this.richTree(nameId)), neg)));
    return c;
  }

  /** Package rules for `p` (libsolv's solver_addpkgrulesforsolvable). */
  private addPackageRules(p: number): void {
    const u = this.u;
    const pi = u.poolIndex(p);
    const pool = u.pools[pi]!.pool;
    const i = p - u.pools[pi]!.offset;
    const pd = poolData(pool);
    const row = i * DEP_KIND_COUNT;
    const depList = pd.depList;
    const depName = pd.depName;
    const lits = this.lits;
    const d = this.depth[p]! + 1;
    const np = lit(p, true);
    const pp = lit(p, false);
    if (!this.candidate(p)) {
      this.rule([np], R_UNINSTALLABLE, p);
      return;
    }
    for (let k = pd.depIndex[row + DEP.REQUIRES]!, ke = pd.depIndex[row + DEP.REQUIRES + 1]!; k < ke; k++) {
      const dep = depList[k]!;
      const nameId = depName[dep]!;
      const nk = this.classify(nameId);
      if (nk === NK_RPMLIB) continue;
      if (nk === NK_RICH) {
        const cs = this.richClauses(nameId, false);
        if (!cs) continue;
        for (const c of cs) {
          if (c.includes(pp)) continue;
          if (c.length === 0) {
            lits.push(np);
            this.endRule(R_NOTHING, p, -1, DEP_RICH_RAW, nameId);
            continue;
          }
          lits.push(np);
          for (const l of c) lits.push(l);
          const r = this.endRule(R_REQUIRES, p, -1, DEP_RICH_FORMATTED, nameId);
          this.trigger(p, r);
          for (const l of c) {
            if (l & 1) this.trigger(l >> 1, r);
            else this.enqueue(l >> 1, d);
          }
        }
        continue;
      }
      const prov = this.depProviders(pi, pool, dep);
      if (includes(prov, p)) continue;
      if (prov.length === 0) {
        lits.push(np);
        this.endRule(R_NOTHING, p, -1, pi, dep);
        continue;
      }
      lits.reserve(1 + prov.length);
      const la = lits.a;
      let n = lits.n;
      la[n++] = np;
      for (let j = 0; j < prov.length; j++) la[n++] = prov[j]! << 1;
      lits.n = n;
      const r = this.endRule(R_REQUIRES, p, -1, pi, dep);
      this.trigger(p, r);
      for (let j = 0; j < prov.length; j++) this.enqueue(prov[j]!, d);
    }
    for (let k = pd.depIndex[row + DEP.CONFLICTS]!, ke = pd.depIndex[row + DEP.CONFLICTS + 1]!; k < ke; k++) {
      const dep = depList[k]!;
      const nameId = depName[dep]!;
      if (this.classify(nameId) === NK_RICH) {
        const cs = this.richClauses(nameId, true);
        if (!cs) continue;
        for (const c of cs) {
          lits.push(np);
          for (const l of c) lits.push(l);
          this.endRule(R_CONFLICTS, p, c[0] === undefined ? p : c[0] >> 1, DEP_RICH_RAW, nameId);
        }
        continue;
      }
      const prov = this.depProviders(pi, pool, dep);
      for (let j = 0; j < prov.length; j++) {
        const q = prov[j]!;
        if (q === p) continue;
        lits.push(np);
        lits.push(lit(q, true));
        this.endRule(R_CONFLICTS, p, q, pi, dep);
      }
    }
    for (let k = pd.depIndex[row + DEP.OBSOLETES]!, ke = pd.depIndex[row + DEP.OBSOLETES + 1]!; k < ke; k++) {
      const dep = depList[k]!;
      const nameId = depName[dep]!;
      // rpm obsoletes match package names, not provides (libsolv without obsoleteusesprovides).
      const prov = this.depProviders(pi, pool, dep);
      for (let j = 0; j < prov.length; j++) {
        const q = prov[j]!;
        if (q === p || u.nameOf(q) !== nameId || u.nameOf(q) === u.nameOf(p)) continue;
        lits.push(np);
        lits.push(lit(q, true));
        this.endRule(R_OBSOLETES, p, q, pi, dep);
        if (u.isInstalled(q)) this.obsoleters(q).push(p);
      }
    }
    if (this.o.installWeakDeps !== false) {
      let recs: Int32Array[] | undefined;
      for (let k = pd.depIndex[row + DEP.RECOMMENDS]!, ke = pd.depIndex[row + DEP.RECOMMENDS + 1]!; k < ke; k++) {
        const dep = depList[k]!;
        if (this.classify(depName[dep]!) === NK_RICH) continue;
        const prov = this.depProviders(pi, pool, dep);
        if (prov.length === 0 || includes(prov, p)) continue;
        (recs ??= []).push(prov);
        for (let j = 0; j < prov.length; j++) this.enqueue(prov[j]!, d);
      }
      if (recs) this.recOf.set(p, recs);
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
    const xa = u.archOf(a) === this.noarch ? 1 : 0;
    const xb = u.archOf(b) === this.noarch ? 1 : 0;
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
      this.jobRules.push(this.rule(cs.map((q) => lit(q, false)), R_JOB));
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
        if (this.o.best) this.jobRules.push(this.rule(bestOf(c).map((q) => lit(q, false)), R_JOB));
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
            this.jobRules.push(this.rule([lit(i, true)], R_JOB));
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
      this.rule([lit(p, !u.isInstalled(p))], R_LOCK, p);
    };
    for (const n of this.o.locks ?? []) {
      const id = u.strings.lookup(n);
      if (id >= 0) for (const p of u.byName(id)) lockPkg(p);
    }
    for (const [n, min] of this.o.minversions ?? []) {
      const id = u.strings.lookup(n);
      if (id < 0) continue;
      const m = parseEvr(min);
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
          this.rule([lit(ps[a]!, true), lit(ps[b]!, true)], R_SAME, ps[a]!, ps[b]!);
        }
      }
    }
    // Installed packages stay or are replaced (libsolv's update rules) unless erasing is allowed.
    if (!this.o.allowErasing) {
      for (let i = 0; i < u.installedEnd; i++) {
        if (this.erased.has(i)) continue;
        const repl = (byName.get(u.nameOf(i)) ?? []).filter((q) => !u.isInstalled(q));
        const ls = [i, ...(this.installonly.has(u.nameOf(i)) ? [] : repl), ...(this.obsoletedBy.get(i) ?? [])];
        this.rule([...new Set(ls)].map((q) => lit(q, false)), R_UPDATE, i);
      }
    }
  }

  private runSat(disabled: Set<number>): { sat: Sat; ok: boolean } {
    const sat = new Sat(this.u.count + 1);
    const tl = lit(this.trueVar, false);
    const nr = this.ruleCount;
    const arena = this.lits.a;
    const rs = this.ruleStart.a;
    if (disabled.size === 0) sat.addClauses(arena, rs, nr);
    else for (let r = 0; r < nr; r++) sat.addClause(disabled.has(r) ? [tl] : arena.subarray(rs[r]!, rs[r + 1]!));
    const u = this.u;
    let jobPtr = 0;
    let tpos = 0;
    let rpos = 0;
    let seenConflicts = 0;
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
        const s = rs[r]!;
        const e = rs[r + 1]!;
        let done = false;
        for (let k = s; k < e && !done; k++) done = sat.litValue(arena[k]!) === 1;
        if (done) continue;
        let q = -1;
        for (let k = s; k < e; k++) {
          const x = arena[k]!;
          if (!(x & 1) && sat.value[x >> 1] === 0 && (q < 0 || this.better(x >> 1, q) < 0)) q = x >> 1;
        }
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
          for (let node = this.trigHead[l >> 1]!; node >= 0; node = this.trigNext.a[node]!) {
            const r = this.trigRule.a[node]!;
            if (disabled.size && disabled.has(r)) continue;
            const s = rs[r]!;
            const e = rs[r + 1]!;
            let open = true;
            for (let k = s; k < e; k++) {
              const x = arena[k]!;
              const v = sat.litValue(x);
              if (v === 1 || ((x & 1) && v === 0)) {
                open = false;
                break;
              }
            }
            if (!open) continue;
            let best = -1;
            for (let k = s; k < e; k++) {
              const x = arena[k]!;
              if (!(x & 1) && sat.value[x >> 1] === 0 && (best < 0 || this.better(x >> 1, best) < 0)) best = x >> 1;
            }
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

  /** The text of rule r's dependency, formatted only now that a problem is described. */
  private depText(r: number): string {
    const a = this.ruleInfo.a[INFO * r + I_DEPA]!;
    const b = this.ruleInfo.a[INFO * r + I_DEPB]!;
    if (a === DEP_RICH_RAW) return this.nameStr(b);
    if (a === DEP_RICH_FORMATTED) return formatRich(this.richTree(b));
    if (a < 0) return '';
    return formatDep(this.u.pools[a]!.pool.dep(b));
  }
  /** Rule r's meaning as an object (problem reports only). */
  private info(r: number): RuleInfo {
    const t = KINDS[this.ruleInfo.a[INFO * r + I_KIND]!]!;
    const p = this.ruleInfo.a[INFO * r + I_P]!;
    const q = this.ruleInfo.a[INFO * r + I_Q]!;
    switch (t) {
      case 'job': case 'true': return { t };
      case 'requires': case 'nothing': return { t, p, dep: this.depText(r) };
      case 'conflicts': case 'obsoletes': return { t, p, q, dep: this.depText(r) };
      case 'same': return { t, p, q };
      case 'update': case 'lock': case 'uninstallable': return { t, p };
    }
  }

  /**
   * libsolv's solver_problemruleinfo2str for the rule that best explains a core, with that
   * rule's kind (what --skipconflicts / --skipobsoletes test, as C tdnf's SkipBasedOnType tests
   * the problem rule's type).
   */
  private describe(core: number[]): { text: string; kind: RuleInfo['t'] } {
    const d = this.describeText(core);
    return { text: d[0], kind: d[1] };
  }

  private describeText(core: number[]): [string, RuleInfo['t']] {
    const u = this.u;
    const infos = core.map((r) => this.info(r));
    const s = (p: number): string => u.nevra(p);
    const find = <T extends RuleInfo['t']>(t: T): Extract<RuleInfo, { t: T }>[] =>
      infos.filter((x): x is Extract<RuleInfo, { t: T }> => x.t === t);
    const byDepth = <X extends { p: number }>(xs: X[]): X[] => xs.sort((a, b) => this.depth[a.p]! - this.depth[b.p]!);
    const nothing = byDepth(find('nothing'));
    if (nothing.length) return [`nothing provides ${nothing[0]!.dep} needed by ${s(nothing[0]!.p)}`, 'nothing'];
    const un = find('uninstallable');
    if (un.length) return [`package ${s(un[0]!.p)} is not installable`, 'uninstallable'];
    const lock = find('lock');
    if (lock.length && find('job').length) return [`package ${s(lock[0]!.p)} is locked`, 'lock'];
    const req = byDepth(find('requires'));
    if (req.length) return [`package ${s(req[0]!.p)} requires ${req[0]!.dep}, but none of the providers can be installed`, 'requires'];
    const con = find('conflicts');
    if (con.length) {
      const c = con[0]!;
      return [c.q === c.p
        ? `package ${s(c.p)} conflicts with ${c.dep} provided by itself`
        : `package ${s(c.p)} conflicts with ${c.dep} provided by ${s(c.q)}`, 'conflicts'];
    }
    const obs = find('obsoletes');
    if (obs.length) {
      const c = obs[0]!;
      const who = u.isInstalled(c.p) ? 'installed package' : 'package';
      return [`${who} ${s(c.p)} obsoletes ${c.dep} provided by ${s(c.q)}`, 'obsoletes'];
    }
    const same = find('same');
    if (same.length) return [`cannot install both ${s(same[0]!.q)} and ${s(same[0]!.p)}`, 'same'];
    const upd = find('update');
    if (upd.length) return [`problem with installed package ${s(upd[0]!.p)}`, 'update'];
    return ['conflicting requests', 'job'];
  }

  solve(jobs: readonly Job[]): SolveResult {
    this.generate(jobs);
    const disabled = new Set<number>();
    const problems: string[] = [];
    let run = this.runSat(disabled);
    // --skipconflicts / --skipobsoletes: such a problem's jobs are disabled like any other's,
    // but the problem is neither reported nor fatal (C tdnf's SolvReportProblems skips it).
    const skip = (kind: RuleInfo['t']): boolean =>
      (kind === 'conflicts' && !!this.o.skipConflicts) || (kind === 'obsoletes' && !!this.o.skipObsoletes);
    for (let round = 0; !run.ok && round < 64; round++) {
      const core = run.sat.core();
      const jobs = core.filter((r) => this.ruleInfo.a[INFO * r + I_KIND] === R_JOB);
      const d = this.describe(core);
      if (!skip(d.kind) || !jobs.length) problems.push(d.text);
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
    const keep = new Uint8Array(u.count);
    const value = sat.value;
    for (let p = 0; p < u.count; p++) if (value[p] === 1) keep[p] = 1;
    for (let p = 0; p < u.installedEnd; p++) if (value[p] === 0 && !this.erased.has(p)) keep[p] = 1;
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
      const olds: number[] = [];
      if (!this.installonly.has(n)) for (const i of u.byNameIds(n)) if (u.isInstalled(i) && !keep[i]) olds.push(i);
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
