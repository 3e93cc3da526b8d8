/**
 * RPM dependencies: sense flags, the `name op evr` form, range overlap and rich (boolean)
 * dependencies, following rpm 4.18 (rpmds.h, rpmds.c, rpmrichParse).
 */
import { PhotonError } from '../util/errors.ts';
import { type Evr, parseEvr, rpmvercmp } from './version.ts';

/** rpmsenseFlags_e from rpm 4.18's rpmds.h. */
export const RPMSENSE = {
  ANY: 0,
  LESS: 1 << 1,
  GREATER: 1 << 2,
  EQUAL: 1 << 3,
  POSTTRANS: 1 << 5,
  PREREQ: 1 << 6,
  PRETRANS: 1 << 7,
  INTERP: 1 << 8,
  SCRIPT_PRE: 1 << 9,
  SCRIPT_POST: 1 << 10,
  SCRIPT_PREUN: 1 << 11,
  SCRIPT_POSTUN: 1 << 12,
  SCRIPT_VERIFY: 1 << 13,
  FIND_REQUIRES: 1 << 14,
  FIND_PROVIDES: 1 << 15,
  TRIGGERIN: 1 << 16,
  TRIGGERUN: 1 << 17,
  TRIGGERPOSTUN: 1 << 18,
  MISSINGOK: 1 << 19,
  RPMLIB: 1 << 24,
  TRIGGERPREIN: 1 << 25,
  KEYRING: 1 << 26,
  CONFIG: 1 << 28,
} as const;

/** The comparison bits: LESS | GREATER | EQUAL. */
export const RPMSENSE_SENSEMASK = 0x0e;

/** Install-time ordering bits that createrepo writes as `pre="1"` on a requires entry. */
export const RPMSENSE_PREREQ_MASK =
  RPMSENSE.PREREQ | RPMSENSE.SCRIPT_PRE | RPMSENSE.SCRIPT_POST | RPMSENSE.PRETRANS | RPMSENSE.POSTTRANS;

/** One dependency. `evr` is `[epoch:]version[-release]` or '' when the dependency is unversioned. */
export interface Dep {
  name: string;
  flags: number;
  evr: string;
}

/** True when `name` is a rich (boolean) dependency rather than a plain name. */
export function isRich(name: string): boolean {
  return name.charCodeAt(0) === 40; /* ( */
}

const OPS: Record<string, number> = {
  '<': RPMSENSE.LESS,
  '<=': RPMSENSE.LESS | RPMSENSE.EQUAL,
  '=<': RPMSENSE.LESS | RPMSENSE.EQUAL,
  '=': RPMSENSE.EQUAL,
  '==': RPMSENSE.EQUAL,
  '>=': RPMSENSE.GREATER | RPMSENSE.EQUAL,
  '=>': RPMSENSE.GREATER | RPMSENSE.EQUAL,
  '>': RPMSENSE.GREATER,
};

/** The operator rpm prints for `flags` ('' when unversioned): `<`, `>`, `=` in that order. */
export function senseString(flags: number): string {
  return (flags & RPMSENSE.LESS ? '<' : '') + (flags & RPMSENSE.GREATER ? '>' : '') + (flags & RPMSENSE.EQUAL ? '=' : '');
}

/** Parses `name [op evr]`; a rich dependency `( … )` is kept whole as the name. */
export function parseDep(text: string): Dep {
  const s = text.trim();
  if (s === '') throw new PhotonError('E_DEP_SYNTAX', 'empty dependency');
  if (isRich(s)) {
    parseRich(s);
    return { name: s, flags: 0, evr: '' };
  }
  const m = /^(\S+)(?:\s+(\S+)\s+(\S+))?$/.exec(s);
  const op = m?.[2];
  const flags = op === undefined ? 0 : OPS[op];
  if (!m || flags === undefined) throw new PhotonError('E_DEP_SYNTAX', `bad dependency '${text}': expected 'name [op version]'`);
  return { name: m[1]!, flags, evr: m[3] ?? '' };
}

/** As `rpm -q --requires` prints it: `foo >= 1.2-3`. */
export function formatDep(dep: Dep): string {
  let s = dep.name;
  if (dep.flags & RPMSENSE_SENSEMASK) s += ` ${senseString(dep.flags)}`;
  if (dep.evr) s += ` ${dep.evr}`;
  return s;
}

/**
 * Whether a provide satisfies a require of the same name (rpmdsCompare): an unversioned side
 * matches anything, otherwise the two ranges must intersect, with rpm's rule that an EVR without
 * a release matches any release when its side includes EQUAL.
 */
export function rangesOverlap(provide: Dep, require: Dep): boolean {
  if (provide.name !== require.name) return false;
  const f1 = provide.flags;
  const f2 = require.flags;
  if (!(f1 & RPMSENSE_SENSEMASK) || !(f2 & RPMSENSE_SENSEMASK)) return true;
  if (!provide.evr || !require.evr) return true;
  return evrRangesOverlap(provide.evr, f1, require.evr, f2);
}

/** rpmverOverlap for two `[e:]v[-r]` strings and their sense flags. */
export function evrRangesOverlap(evr1: string, f1: number, evr2: string, f2: number): boolean {
  return evrPartsOverlap(parseEvr(evr1), f1, parseEvr(evr2), f2);
}

/** rpmverOverlap on EVRs already split into parts. */
export function evrPartsOverlap(v1: Evr, f1: number, v2: Evr, f2: number): boolean {
  let sense = 0;
  if (v1.epoch && v2.epoch) sense = rpmvercmp(v1.epoch, v2.epoch);
  else if (v1.epoch && Number.parseInt(v1.epoch, 10) > 0) sense = 1;
  else if (v2.epoch && Number.parseInt(v2.epoch, 10) > 0) sense = -1;
  if (sense === 0) {
    sense = rpmvercmp(v1.version, v2.version);
    if (sense === 0) {
      if (v1.release && v2.release) sense = rpmvercmp(v1.release, v2.release);
      else if ((v1.release && f2 & RPMSENSE.EQUAL) || (v2.release && f1 & RPMSENSE.EQUAL)) return true;
    }
  }
  if (sense < 0) return !!(f1 & RPMSENSE.GREATER || f2 & RPMSENSE.LESS);
  if (sense > 0) return !!(f1 & RPMSENSE.LESS || f2 & RPMSENSE.GREATER);
  return !!((f1 & f2) & (RPMSENSE.EQUAL | RPMSENSE.LESS | RPMSENSE.GREATER));
}

// ---------------------------------------------------------------------------------------------
// Rich dependencies

export type RichOp = 'and' | 'or' | 'if' | 'unless' | 'with' | 'without';

/**
 * A parsed rich dependency. For `and`/`or`/`with` args are the chained operands; `without` has
 * two; `if`/`unless` have [then, condition] or [then, condition, else].
 */
export type RichDep = { op: 'dep'; dep: Dep } | { op: RichOp; args: RichDep[] };

const RICH_OPS = new Set(['and', 'or', 'if', 'unless', 'else', 'with', 'without']);

function richError(text: string, pos: number, why: string): PhotonError {
  return new PhotonError('E_DEP_SYNTAX', `bad rich dependency '${text}' at offset ${pos}: ${why}`);
}

/** Parses `(a or (b >= 2 with c))` into a tree, rejecting what rpm's rpmrichParse rejects. */
export function parseRich(text: string): RichDep {
  let p = 0;
  const n = text.length;
  const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;
  const skipWhite = (): void => {
    while (p < n && isSpace(text.charCodeAt(p))) p++;
  };
  // A token ends at white space or at a ')' that closes no '(' opened inside it, so that names
  // like perl(Foo::Bar) survive (rpm's SKIPNONWHITEX).
  const token = (): string => {
    const start = p;
    let depth = 0;
    while (p < n) {
      const c = text.charCodeAt(p);
      if (isSpace(c) || c === 44 /* , */) break;
      if (c === 41 /* ) */) {
        if (depth-- <= 0) break;
      } else if (c === 40) depth++;
      p++;
    }
    return text.slice(start, p);
  };

  const parseTerm = (): RichDep => {
    skipWhite();
    if (p >= n) throw richError(text, p, 'unexpected end, expected a dependency');
    if (text.charCodeAt(p) === 40) return parseGroup();
    const start = p;
    const name = token();
    if (name === '') throw richError(text, start, `unexpected '${text[p]}'`);
    if (RICH_OPS.has(name)) throw richError(text, start, `missing dependency before '${name}'`);
    skipWhite();
    const opStart = p;
    while (p < n && '<=>'.includes(text[p]!)) p++;
    if (p === opStart) return { op: 'dep', dep: { name, flags: 0, evr: '' } };
    const op = text.slice(opStart, p);
    const flags = OPS[op];
    if (flags === undefined) throw richError(text, opStart, `unknown operator '${op}'`);
    skipWhite();
    const evrStart = p;
    const evr = token();
    if (evr === '') throw richError(text, evrStart, `missing version after '${op}'`);
    return { op: 'dep', dep: { name, flags, evr } };
  };

  const parseGroup = (): RichDep => {
    const open = p;
    p++; // '('
    const first = parseTerm();
    const args: RichDep[] = [first];
    let chain: string | undefined;
    for (;;) {
      skipWhite();
      if (p >= n) throw richError(text, open, "missing ')'");
      if (text.charCodeAt(p) === 41) {
        p++;
        break;
      }
      const opStart = p;
      const word = token();
      if (!RICH_OPS.has(word)) throw richError(text, opStart, `expected an operator or ')', found '${word || text[p]}'`);
      if (chain === undefined) {
        if (word === 'else') throw richError(text, opStart, "'else' without 'if' or 'unless'");
        chain = word;
      } else if (word === 'else') {
        if ((chain !== 'if' && chain !== 'unless') || args.length !== 2) {
          throw richError(text, opStart, "'else' only follows 'A if B' or 'A unless B'");
        }
      } else if (word !== chain || chain === 'if' || chain === 'unless' || chain === 'without') {
        throw richError(text, opStart, `cannot chain '${word}' after '${chain}' without parentheses`);
      }
      args.push(parseTerm());
    }
    if (chain === undefined) return first;
    return { op: chain as RichOp, args };
  };

  skipWhite();
  if (text.charCodeAt(p) !== 40) throw richError(text, p, "a rich dependency starts with '('");
  const tree = parseGroup();
  skipWhite();
  if (p < n) throw richError(text, p, 'trailing text after the closing parenthesis');
  return tree;
}

/** Prints a rich tree back in rpm's canonical spacing. */
export function formatRich(tree: RichDep): string {
  if (tree.op === 'dep') return formatDep(tree.dep);
  const parts = tree.args.map((a) => (a.op === 'dep' ? formatDep(a.dep) : formatRich(a)));
  if ((tree.op === 'if' || tree.op === 'unless') && parts.length === 3) {
    return `(${parts[0]} ${tree.op} ${parts[1]} else ${parts[2]})`;
  }
  return `(${parts.join(` ${tree.op} `)})`;
}
