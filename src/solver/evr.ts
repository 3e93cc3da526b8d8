/**
 * EVR comparisons on string ids, reading the StringPool's UTF-8 arena in place: the solver
 * compares the EVRs of a few thousand provides and packages per solve, and decoding each to a
 * JS string (then slicing it into epoch/version/release strings) cost more than comparing.
 *
 * Layout: an EVR id is split once into five int32s in `parts` (epoch value or -1 when absent,
 * version start/end, release start/end as byte offsets into the arena; an empty release has
 * start = end), found through a Map from id to slot: 20 bytes per distinct EVR seen. The arena
 * may be reallocated when strings are added, but offsets stay valid, so `bytes` is re-read per
 * comparison.
 *
 * Versions and releases are compared by src/rpm/version.ts's vercmpBytes, which rpmvercmp also
 * runs on; the EVR splitting and range overlap are those of parseEvr, comparePackageEvr and
 * src/rpm/deps.ts's evrRangesOverlap, on offsets instead of strings. One difference: an epoch is
 * compared as a number (exact up to 2^53, 16 digits), where rpmvercmp compares digit strings of
 * any length.
 */
import type { StringPool } from '../repo/pool.ts';
import { RPMSENSE } from '../rpm/deps.ts';
import { vercmpBytes } from '../rpm/version.ts';

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

const EPOCH = 0, VS = 1, VE = 2, RS = 3, RE = 4, STRIDE = 5;

export class EvrTable {
  private readonly strings: StringPool;
  private readonly slot = new Map<number, number>();
  private parts = new Int32Array(STRIDE * 1024);
  private n = 0;

  constructor(strings: StringPool) {
    this.strings = strings;
  }

  /** The slot of EVR id `id`, split on first use as rpm's parseEVR splits. */
  private at(id: number): number {
    let s = this.slot.get(id);
    if (s !== undefined) return s;
    s = this.n++ * STRIDE;
    if (s + STRIDE > this.parts.length) {
      const g = new Int32Array(this.parts.length * 2);
      g.set(this.parts);
      this.parts = g;
    }
    const b = this.strings.bytes;
    const o = this.strings.offsets[id]!;
    const e = this.strings.offsets[id + 1]!;
    let k = o;
    let epoch = 0;
    while (k < e && isDigit(b[k]!)) epoch = epoch * 10 + b[k++]! - 48;
    let rest = o;
    if (k < e && b[k] === 58 /* : */) rest = k + 1;
    else epoch = -1;
    let dash = e - 1;
    while (dash >= rest && b[dash] !== 45 /* - */) dash--;
    const p = this.parts;
    p[s + EPOCH] = epoch;
    p[s + VS] = rest;
    if (dash < rest) {
      p[s + VE] = e;
      p[s + RS] = p[s + RE] = e;
    } else {
      p[s + VE] = dash;
      p[s + RS] = dash + 1;
      p[s + RE] = e;
    }
    this.slot.set(id, s);
    return s;
  }

  /** rpmVersionCompare of two package EVR ids (src/rpm/version.ts comparePackageEvr). */
  comparePackages(a: number, b: number): number {
    if (a === b) return 0;
    const sa = this.at(a);
    const sb = this.at(b);
    const p = this.parts;
    const ea = Math.max(p[sa + EPOCH]!, 0);
    const eb = Math.max(p[sb + EPOCH]!, 0);
    if (ea !== eb) return ea < eb ? -1 : 1;
    const bytes = this.strings.bytes;
    return (
      vercmpBytes(bytes, p[sa + VS]!, p[sa + VE]!, p[sb + VS]!, p[sb + VE]!) ||
      vercmpBytes(bytes, p[sa + RS]!, p[sa + RE]!, p[sb + RS]!, p[sb + RE]!)
    );
  }

  /** rpmverOverlap of EVR ids with their sense flags (src/rpm/deps.ts evrRangesOverlap). */
  overlap(evr1: number, f1: number, evr2: number, f2: number): boolean {
    const s1 = this.at(evr1);
    const s2 = this.at(evr2);
    const p = this.parts;
    const bytes = this.strings.bytes;
    const e1 = p[s1 + EPOCH]!;
    const e2 = p[s2 + EPOCH]!;
    let sense = 0;
    if (e1 >= 0 && e2 >= 0) sense = e1 === e2 ? 0 : e1 < e2 ? -1 : 1;
    else if (e1 > 0) sense = 1;
    else if (e2 > 0) sense = -1;
    if (sense === 0) {
      sense = vercmpBytes(bytes, p[s1 + VS]!, p[s1 + VE]!, p[s2 + VS]!, p[s2 + VE]!);
      if (sense === 0) {
        const r1 = p[s1 + RE]! > p[s1 + RS]!;
        const r2 = p[s2 + RE]! > p[s2 + RS]!;
        if (r1 && r2) sense = vercmpBytes(bytes, p[s1 + RS]!, p[s1 + RE]!, p[s2 + RS]!, p[s2 + RE]!);
        else if ((r1 && f2 & RPMSENSE.EQUAL) || (r2 && f1 & RPMSENSE.EQUAL)) return true;
      }
    }
    if (sense < 0) return !!(f1 & RPMSENSE.GREATER || f2 & RPMSENSE.LESS);
    if (sense > 0) return !!(f1 & RPMSENSE.LESS || f2 & RPMSENSE.GREATER);
    return !!((f1 & f2) & (RPMSENSE.EQUAL | RPMSENSE.LESS | RPMSENSE.GREATER));
  }
}
