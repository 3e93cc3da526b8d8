/**
 * A CDCL SAT core in the manner of libsolv's solver.c / MiniSat: two watched literals, 1-UIP
 * conflict learning, non-chronological backjumping. Unlike a general SAT solver it has no
 * activity heuristic: the caller's `decide()` chooses every branch (libsolv's policy: jobs
 * first, then the best provider of each open requirement), so the first model found is the one
 * the package policy prefers. When unsatisfiable, `core()` names the original clauses that took
 * part in the refutation (each learned clause keeps the clauses it was resolved from), which is
 * what problem reports are made of.
 *
 * Layout: literal = 2·var + (1 if negated). Clause literals live in one growable Int32Array
 * arena (`lits`), clause c at `start[c] … start[c + 1]` (clauses are stored back to back, so
 * the next start is the end), its two watched literals first. Per variable: value (Int8: 0
 * unset, 1 true, -1 false), decision level, reason clause (-1 = decision).
 *
 * Watches are linked lists in typed arrays, not an array per literal: clause c owns two watch
 * nodes, 2c and 2c + 1, each on the list of one of its two watched literals (which node is on
 * which list is independent of the literals' positions). `whead/wtail[lit]` are the first/last
 * node watching `lit` (-1: none), `wnext[node]` the next one. Moving a watch unlinks the node
 * and appends it at the tail, so every list is visited in the order the watches were made —
 * the order an array-per-literal would give, which keeps the trail (and thus the policy's
 * choices) independent of this layout. Cost: 8 bytes per literal for head/tail, 8 per clause.
 */

export const lit = (v: number, neg: boolean): number => (v << 1) | (neg ? 1 : 0);
export const litVar = (l: number): number => l >> 1;
export const litNeg = (l: number): boolean => (l & 1) === 1;

export class Sat {
  readonly nvars: number;
  readonly value: Int8Array;
  readonly level: Int32Array;
  readonly reason: Int32Array;
  readonly trail: Int32Array;
  trailLen = 0;
  /** Clauses 0 … originalCount - 1 are the problem's; later ones were learned. */
  originalCount = 0;
  conflicts = 0;
  decisions = 0;
  private lits = new Int32Array(1 << 16);
  private litsLen = 0;
  /** start[c] … start[c + 1]: clause c's literals; `nclauses + 1` entries are valid. */
  private start = new Int32Array(1 << 14);
  private nclauses = 0;
  /** Learned clause c's antecedents at proof[c - originalCount]. */
  private readonly proof: Int32Array[] = [];
  private readonly whead: Int32Array;
  private readonly wtail: Int32Array;
  private wnext = new Int32Array(1 << 15);
  private readonly trailLim: number[] = [];
  private qhead = 0;
  private readonly seen: Uint8Array;
  /** Set when a clause is empty or a level-0 conflict was found: the clause set is unsatisfiable. */
  private unsatClause = -2;
  private readonly pendingUnits: number[] = [];
  /** Variables that occur in some clause; the others are simply false in the model. */
  private readonly used: Uint8Array;

  constructor(nvars: number) {
    this.nvars = nvars;
    this.value = new Int8Array(nvars);
    this.level = new Int32Array(nvars);
    this.reason = new Int32Array(nvars).fill(-1);
    this.trail = new Int32Array(nvars);
    this.whead = new Int32Array(nvars * 2).fill(-1);
    this.wtail = new Int32Array(nvars * 2).fill(-1);
    this.seen = new Uint8Array(nvars);
    this.used = new Uint8Array(nvars);
  }

  get decisionLevel(): number {
    return this.trailLim.length;
  }
  get clauseCount(): number {
    return this.nclauses;
  }
  clause(c: number): Int32Array {
    return this.lits.subarray(this.start[c]!, this.start[c + 1]!);
  }
  /** 1 true, -1 false, 0 unassigned. */
  litValue(l: number): number {
    const v = this.value[l >> 1]!;
    return l & 1 ? -v : v;
  }

  private store(ls: ArrayLike<number>): number {
    const c = this.nclauses;
    if (this.litsLen + ls.length > this.lits.length) {
      const grown = new Int32Array(Math.max(this.lits.length * 2, this.litsLen + ls.length));
      grown.set(this.lits.subarray(0, this.litsLen));
      this.lits = grown;
    }
    if (c + 2 > this.start.length) {
      const grown = new Int32Array(this.start.length * 2);
      grown.set(this.start);
      this.start = grown;
    }
    if (2 * c + 2 > this.wnext.length) {
      const grown = new Int32Array(this.wnext.length * 2);
      grown.set(this.wnext);
      this.wnext = grown;
    }
    this.start[c] = this.litsLen;
    for (let i = 0; i < ls.length; i++) this.lits[this.litsLen++] = ls[i]!;
    this.start[c + 1] = this.litsLen;
    this.nclauses = c + 1;
    return c;
  }
  /** Appends watch node `node` (2c or 2c + 1) to `l`'s list. */
  private watch(l: number, node: number): void {
    this.wnext[node] = -1;
    const t = this.wtail[l]!;
    if (t < 0) this.whead[l] = node;
    else this.wnext[t] = node;
    this.wtail[l] = node;
  }

  /**
   * Adds an original clause (before solving). Duplicate literals must not occur; a clause with
   * both `x` and `¬x` is accepted and never matters. Returns its number.
   */
  addClause(ls: ArrayLike<number>): number {
    const c = this.store(ls);
    this.originalCount = this.nclauses;
    for (let i = 0; i < ls.length; i++) this.used[ls[i]! >> 1] = 1;
    if (ls.length === 0) {
      if (this.unsatClause === -2) this.unsatClause = c;
    } else if (ls.length === 1) this.pendingUnits.push(c);
    else {
      this.watch(ls[0]!, 2 * c);
      this.watch(ls[1]!, 2 * c + 1);
    }
    return c;
  }

  /**
   * Adds original clauses 0 … count - 1 of an arena laid out as this one (clause r at
   * `src[starts[r]] … src[starts[r + 1]]`): one copy of the literals and one pass to watch them,
   * the same clauses and watch order as `count` addClause calls.
   */
  addClauses(src: Int32Array, starts: Int32Array, count: number): void {
    const s0 = starts[0]!;
    const total = starts[count]! - s0;
    const base = this.litsLen;
    if (base + total > this.lits.length) {
      const grown = new Int32Array(Math.max(this.lits.length * 2, base + total));
      grown.set(this.lits.subarray(0, base));
      this.lits = grown;
    }
    const c0 = this.nclauses;
    if (c0 + count + 1 > this.start.length) {
      const grown = new Int32Array(Math.max(this.start.length * 2, c0 + count + 1));
      grown.set(this.start.subarray(0, c0 + 1));
      this.start = grown;
    }
    if (2 * (c0 + count) > this.wnext.length) {
      const grown = new Int32Array(Math.max(this.wnext.length * 2, 2 * (c0 + count)));
      grown.set(this.wnext);
      this.wnext = grown;
    }
    this.lits.set(src.subarray(s0, s0 + total), base);
    this.litsLen = base + total;
    const lits = this.lits;
    const used = this.used;
    for (let k = base; k < base + total; k++) used[lits[k]! >> 1] = 1;
    for (let r = 0; r < count; r++) {
      const c = c0 + r;
      const s = starts[r]! - s0 + base;
      const e = starts[r + 1]! - s0 + base;
      this.start[c] = s;
      this.start[c + 1] = e;
      if (e === s) {
        if (this.unsatClause === -2) this.unsatClause = c;
      } else if (e - s === 1) this.pendingUnits.push(c);
      else {
        this.watch(lits[s]!, 2 * c);
        this.watch(lits[s + 1]!, 2 * c + 1);
      }
    }
    this.nclauses = c0 + count;
    this.originalCount = this.nclauses;
  }

  private assign(l: number, reason: number): void {
    const v = l >> 1;
    this.value[v] = l & 1 ? -1 : 1;
    this.level[v] = this.trailLim.length;
    this.reason[v] = reason;
    this.trail[this.trailLen++] = l;
  }

  /** Unit propagation; returns a conflicting clause or -1. */
  private propagate(): number {
    const lits = this.lits;
    const value = this.value;
    const start = this.start;
    const whead = this.whead;
    const wtail = this.wtail;
    while (this.qhead < this.trailLen) {
      const falseLit = this.trail[this.qhead++]! ^ 1;
      const wnext = this.wnext;
      let prev = -1;
      let node = whead[falseLit]!;
      while (node >= 0) {
        const next = wnext[node]!;
        const c = node >> 1;
        const s = start[c]!;
        const e = start[c + 1]!;
        // Keep the false literal in slot 1.
        if (lits[s] === falseLit) {
          lits[s] = lits[s + 1]!;
          lits[s + 1] = falseLit;
        }
        const first = lits[s]!;
        const fv = first & 1 ? -value[first >> 1]! : value[first >> 1]!;
        if (fv === 1) {
          prev = node;
          node = next;
          continue;
        }
        let moved = false;
        for (let k = s + 2; k < e; k++) {
          const l = lits[k]!;
          const lv = l & 1 ? -value[l >> 1]! : value[l >> 1]!;
          if (lv !== -1) {
            lits[s + 1] = l;
            lits[k] = falseLit;
            // Unlink from falseLit's list (prev stays), append to l's.
            if (prev < 0) whead[falseLit] = next;
            else wnext[prev] = next;
            if (wtail[falseLit] === node) wtail[falseLit] = prev;
            this.watch(l, node);
            moved = true;
            break;
          }
        }
        if (moved) {
          node = next;
          continue;
        }
        if (fv === -1) return c;
        this.assign(first, c);
        prev = node;
        node = next;
      }
    }
    return -1;
  }

  private backjump(lvl: number): void {
    if (this.trailLim.length <= lvl) return;
    const to = this.trailLim[lvl]!;
    for (let k = this.trailLen - 1; k >= to; k--) {
      const v = this.trail[k]! >> 1;
      this.value[v] = 0;
      this.reason[v] = -1;
    }
    this.trailLen = to;
    this.qhead = to;
    this.trailLim.length = lvl;
  }

  /** 1-UIP analysis of `confl` at the current (non-zero) level: learns, backjumps, asserts. */
  private learn(confl: number): void {
    const seen = this.seen;
    const out: number[] = [0];
    const ante: number[] = [];
    let pathC = 0;
    let p = -1;
    let idx = this.trailLen - 1;
    const cur = this.trailLim.length;
    for (;;) {
      ante.push(confl);
      const s = this.start[confl]!;
      const e = this.start[confl + 1]!;
      for (let k = s; k < e; k++) {
        const q = this.lits[k]!;
        if (q === p) continue;
        const v = q >> 1;
        if (seen[v]) continue;
        if (this.level[v] === 0) {
          seen[v] = 1;
          ante.push(-(v + 1)); // level-0 fact: its reason joins the proof
          continue;
        }
        seen[v] = 1;
        if (this.level[v] === cur) pathC++;
        else out.push(q);
      }
      while (!seen[this.trail[idx]! >> 1]) idx--;
      p = this.trail[idx]!;
      idx--;
      confl = this.reason[p >> 1]!;
      seen[p >> 1] = 0;
      pathC--;
      if (pathC === 0) break;
    }
    out[0] = p ^ 1;
    for (const a of ante) if (a < 0) seen[-a - 1] = 0;
    let bl = 0;
    let bi = 1;
    for (let k = 1; k < out.length; k++) {
      const v = out[k]! >> 1;
      seen[v] = 0;
      if (this.level[v]! > bl) {
        bl = this.level[v]!;
        bi = k;
      }
    }
    if (out.length > 1) {
      const t = out[1]!;
      out[1] = out[bi]!;
      out[bi] = t;
    }
    const c = this.store(out);
    this.proof.push(Int32Array.from(ante));
    if (out.length > 1) {
      this.watch(out[0]!, 2 * c);
      this.watch(out[1]!, 2 * c + 1);
    }
    this.backjump(bl);
    this.assign(out[0]!, c);
  }

  /**
   * Solves. `decide()` returns the next literal to set true or -1 when it has no preference left;
   * then every unassigned variable is set false (not installing is the default). Returns true
   * when a model was found (read it from `value`), false when unsatisfiable (see `core()`).
   * `maxConflicts` bounds the work (false + `aborted` set when exceeded).
   */
  solve(decide: () => number, maxConflicts = 1e6): boolean {
    if (this.unsatClause !== -2) return false;
    for (const c of this.pendingUnits) {
      const l = this.lits[this.start[c]!]!;
      const val = this.litValue(l);
      if (val === -1) {
        this.unsatClause = c;
        return false;
      }
      if (val === 0) this.assign(l, c);
    }
    // The default-false phase walks only the variables some clause mentions (a few thousand of
    // a repository's tens of thousands), ascending as a scan of all would meet them.
    const usedVars: number[] = [];
    for (let v = 0; v < this.nvars; v++) if (this.used[v]) usedVars.push(v);
    const nused = usedVars.length;
    let nextFalse = 0;
    for (;;) {
      const confl = this.propagate();
      if (confl >= 0) {
        this.conflicts++;
        if (this.trailLim.length === 0) {
          this.unsatClause = confl;
          return false;
        }
        if (this.conflicts > maxConflicts) {
          this.aborted = true;
          return false;
        }
        this.learn(confl);
        continue;
      }
      let l = decide();
      if (l < 0) {
        const value = this.value;
        while (nextFalse < nused && value[usedVars[nextFalse]!] !== 0) nextFalse++;
        if (nextFalse >= nused) {
          // Re-check from the start: a backjump may have unassigned earlier variables.
          nextFalse = 0;
          while (nextFalse < nused && value[usedVars[nextFalse]!] !== 0) nextFalse++;
          if (nextFalse >= nused) return true;
        }
        l = lit(usedVars[nextFalse]!, true);
      }
      this.decisions++;
      this.trailLim.push(this.trailLen);
      this.assign(l, -1);
    }
  }
  aborted = false;

  /**
   * After `solve()` returned false: the original clauses the refutation used, ascending. These
   * include the job rules involved, from which problems are described.
   */
  core(): number[] {
    const inCore = new Set<number>();
    const doneVar = new Uint8Array(this.nvars);
    const stack: number[] = [];
    if (this.unsatClause < 0) return [];
    stack.push(this.unsatClause);
    const pushVarsOf = (c: number): void => {
      for (const q of this.clause(c)) stack.push(-((q >> 1) + 1));
    };
    const doneClause = new Uint8Array(this.nclauses);
    while (stack.length) {
      const x = stack.pop()!;
      if (x < 0) {
        const v = -x - 1;
        if (doneVar[v]) continue;
        doneVar[v] = 1;
        const r = this.reason[v]!;
        if (r >= 0 && this.value[v] !== 0) stack.push(r);
        continue;
      }
      if (doneClause[x]) continue;
      doneClause[x] = 1;
      if (x < this.originalCount) {
        inCore.add(x);
        pushVarsOf(x);
      } else {
        for (const a of this.proof[x - this.originalCount]!) stack.push(a);
        pushVarsOf(x);
      }
    }
    return [...inCore].sort((a, b) => a - b);
  }
}
