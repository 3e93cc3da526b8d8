/**
 * Transaction ordering as rpm 4.18 does it (lib/order.c rpmtsOrder), so that scriptlets run in
 * the order rpm would run them for the same transaction:
 *
 *  - a relation q <- p is recorded when p requires something q provides, q and p being both
 *    installs or both erasures (erasures reverse it: the requirer goes first). Requires(pre),
 *    (post), (pretrans), (posttrans) and legacy PreReq make it a pre-requisite relation for
 *    installs, Requires(preun)/(postun) for erasures; rpmlib() and config() requires make none;
 *  - installs are ordered first, then erasures, each by Kahn's algorithm over a queue sorted by
 *    how many packages wait on an element (more first; among equals the later one first, which
 *    is why rpm -U x y z, with no relations, runs z, y, x);
 *  - a dependency loop (a strongly connected component) is entered when nothing outside it is
 *    still pending; inside, plain relations are broken before pre-requisite ones: members are
 *    ranked by their distance (along requires) from the members holding a pre-requisite on
 *    another member, and the farthest goes first.
 *
 * The algorithm is rpm's; the code is ours. Colors (multilib preference) are not modelled.
 */
import { type Dep, RPMSENSE, isRich, rangesOverlap } from '../rpm/deps.ts';

export interface OrderItem {
  type: 'added' | 'removed';
  requires: readonly Dep[];
  provides: readonly Dep[];
  /** Whether the package has this file (for file requires). */
  hasFile(path: string): boolean;
}

const PREREQ_INSTALL = (RPMSENSE.SCRIPT_PRE | RPMSENSE.SCRIPT_POST | RPMSENSE.RPMLIB | RPMSENSE.KEYRING | RPMSENSE.PRETRANS | RPMSENSE.POSTTRANS) & ~RPMSENSE.PREREQ;
const PREREQ_ERASE = (RPMSENSE.SCRIPT_PREUN | RPMSENSE.SCRIPT_POSTUN) & ~RPMSENSE.PREREQ;
/** Every bit that says which kind of requires this is (rpm's _ALL_REQUIRES_MASK). */
const ALL_REQUIRES =
  RPMSENSE.INTERP | RPMSENSE.SCRIPT_PRE | RPMSENSE.SCRIPT_POST | RPMSENSE.SCRIPT_PREUN | RPMSENSE.SCRIPT_POSTUN | RPMSENSE.SCRIPT_VERIFY |
  RPMSENSE.FIND_REQUIRES | RPMSENSE.FIND_PROVIDES | RPMSENSE.TRIGGERIN | RPMSENSE.TRIGGERUN | RPMSENSE.TRIGGERPOSTUN | RPMSENSE.TRIGGERPREIN |
  RPMSENSE.PRETRANS | RPMSENSE.POSTTRANS | RPMSENSE.PREREQ | RPMSENSE.MISSINGOK | RPMSENSE.KEYRING;

interface Rel {
  suc: Node;
  flags: number;
}

interface Node {
  i: number;
  item: OrderItem;
  /** Packages this one still waits for. */
  count: number;
  /** Packages waiting for this one: the queue's sort key. */
  qcnt: number;
  /** q's relations: who requires q. Kept newest first, as rpm prepends. */
  rels: Rel[];
  /** p's forward relations: what p requires. Newest first. */
  fwd: Rel[];
  suc: Node | null;
  /** 0 unvisited (later: collected), < 0 being visited, 1 trivial, >= 2 the loop's number. */
  scc: number;
  low: number;
}

interface Scc {
  count: number;
  members: Node[];
}

interface Ref {
  get(): Node | null;
  set(n: Node | null): void;
}

function satisfies(q: OrderItem, req: Dep): boolean {
  if (req.name.startsWith('/') && q.hasFile(req.name)) return true;
  return q.provides.some((p) => p.name === req.name && rangesOverlap(p, req));
}

function addQ(p: Node, qp: Ref, rp: Ref): void {
  if (rp.get() === null) {
    rp.set(p);
    qp.set(p);
    return;
  }
  let prev: Node | null = null;
  let q = qp.get();
  for (; q !== null; prev = q, q = q.suc) if (q.qcnt <= p.qcnt) break;
  if (prev === null) {
    p.suc = q;
    qp.set(p);
  } else if (q === null) {
    prev.suc = p;
    rp.set(p);
  } else {
    p.suc = q;
    prev.suc = p;
  }
}

const sucRef = (n: Node): Ref => ({ get: () => n.suc, set: (v) => void (n.suc = v) });
const varRef = (init: Node | null = null): Ref & { v: Node | null } => {
  const r = { v: init, get: () => r.v, set: (x: Node | null) => void (r.v = x) };
  return r;
};

/** The execution order of `items` (given in transaction order), as indexes into it. */
export function orderTransaction(items: readonly OrderItem[]): number[] {
  const nodes: Node[] = items.map((item, i) => ({ i, item, count: 0, qcnt: 0, rels: [], fwd: [], suc: null, scc: 0, low: 0 }));

  // Relations.
  for (const p0 of nodes) {
    for (const req of p0.item.requires) {
      if (req.flags & (RPMSENSE.RPMLIB | RPMSENSE.CONFIG) || isRich(req.name)) continue;
      const q0 = nodes.find((n) => n.item.type === p0.item.type && satisfies(n.item, req));
      if (!q0 || q0 === p0) continue;
      let p = p0;
      let q = q0;
      let flags: number;
      if (p0.item.type === 'removed') {
        [p, q] = [q0, p0];
        flags = req.flags & PREREQ_ERASE;
      } else flags = req.flags & PREREQ_INSTALL;
      if ((req.flags & ALL_REQUIRES) === RPMSENSE.PREREQ) flags |= p0.item.type === 'added' ? RPMSENSE.SCRIPT_PRE : RPMSENSE.SCRIPT_PREUN;
      if (q.rels[0]?.suc === p) {
        q.rels[0].flags |= flags;
        p.fwd[0]!.flags |= flags;
        continue;
      }
      p.count++;
      q.rels.unshift({ suc: p, flags });
      q.qcnt++;
      p.fwd.unshift({ suc: q, flags });
    }
  }

  // Strongly connected components (Tarjan), numbered from 2.
  const sccs: Scc[] = [{ count: 0, members: [] }, { count: 0, members: [] }];
  let index = 0;
  const stack: Node[] = [];
  const tarjan = (t: Node): void => {
    index--;
    t.scc = index;
    t.low = index;
    stack.push(t);
    for (const rel of t.rels) {
      const q = rel.suc;
      if (q.scc > 0) continue;
      if (q.scc === 0) {
        tarjan(q);
        t.low = Math.max(t.low, q.low);
      } else t.low = Math.max(t.low, q.scc);
    }
    if (t.low !== t.scc) return;
    if (stack[stack.length - 1] === t) {
      stack.pop()!.scc = 1;
      return;
    }
    const nr = sccs.length;
    const at = stack.lastIndexOf(t);
    const members = stack.splice(at);
    let count = 0;
    for (const m of members) m.scc = nr;
    for (const m of members) {
      count += m.count;
      for (const rel of m.rels) if (rel.suc !== m && rel.suc.scc === nr) count--;
    }
    // rpm copies the members from the stack bottom up.
    sccs.push({ count, members });
  };
  for (const n of nodes) if (n.scc === 0) tarjan(n);

  const order: number[] = [];
  const collectTE = (q: Node, queueEnd: Ref, outer: Ref | null, outerEnd: Ref | null): void => {
    order.push(q.i);
    for (const rel of q.rels) {
      const p = rel.suc;
      if (p.scc === 0 || p === q) continue;
      if (--p.count === 0) {
        if (q.scc > 1 && q.scc !== p.scc) addQ(p, outer!, outerEnd!);
        else addQ(p, sucRef(q), queueEnd);
      }
      if (p.scc > 1 && p.scc !== q.scc) {
        if (--sccs[p.scc]!.count === 0) {
          if (outer) addQ(p, outer, outerEnd!);
          else addQ(p, sucRef(q), queueEnd);
        }
      }
    }
    q.scc = 0;
  };
  const INF = Number.MAX_SAFE_INTEGER;
  const collectSCC = (p: Node, queueEnd: Ref): void => {
    const nr = p.scc;
    const scc = sccs[nr]!;
    const outer = varRef(p.suc);
    p.suc = null;
    // Distances from the members that pre-require another member, along requires.
    const queue: Node[] = [];
    for (const t of scc.members) {
      t.low = INF;
      for (const rel of t.fwd) {
        if (rel.flags && rel.suc.scc === nr) {
          if (rel.suc !== t) {
            t.low = 0;
            queue.push(t);
          } else t.low = Math.floor(INF / 2);
          break;
        }
      }
    }
    if (queue.length === 0) for (const t of scc.members) if (t.low !== INF) queue.push(t);
    for (let s = 0; s < queue.length; s++) {
      const t = queue[s]!;
      for (const rel of t.fwd) {
        const next = rel.suc;
        if (next.scc !== nr) continue;
        if (next.low > t.low + 1) {
          next.low = t.low + 1;
          queue.push(next);
        }
      }
    }
    for (;;) {
      let best: Node | null = null;
      let bestScore = 0;
      for (const t of scc.members) {
        if (t.scc === 0) continue;
        if (t.low >= bestScore) {
          best = t;
          bestScore = t.low;
        }
      }
      if (!best) break;
      const start = varRef();
      const end = varRef();
      addQ(best, start, end);
      for (let s = start.v; s !== null; s = s.suc) collectTE(s, end, outer, queueEnd);
    }
    p.suc = outer.v;
  };

  for (const type of ['added', 'removed'] as const) {
    const q = varRef();
    const r = varRef();
    for (const n of nodes) {
      if (n.item.type !== type || n.count !== 0) continue;
      n.suc = null;
      addQ(n, q, r);
    }
    for (let i = 2; i < sccs.length; i++) {
      const m = sccs[i]!.members[0]!;
      if (sccs[i]!.count === 0 && m.item.type === type) addQ(m, q, r);
    }
    for (let cur = q.v; cur !== null; cur = cur.suc) {
      if (cur.scc > 1) collectSCC(cur, r);
      else if (cur.scc !== 0) collectTE(cur, r, null, null);
    }
  }
  // Anything left (cannot happen with a consistent graph) keeps its place at the end.
  if (order.length < nodes.length) {
    const seen = new Set(order);
    for (const n of nodes) if (!seen.has(n.i)) order.push(n.i);
  }
  return order;
}
