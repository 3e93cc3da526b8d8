/**
 * RPM version comparison, byte-for-byte the algorithm of rpm 4.18's `rpmvercmp()` and of
 * `rpmverOverlap()` for the epoch/version/release triple.
 */

/** An epoch-version-release triple. `epoch === ''` means the EVR carried no epoch. */
export interface Evr {
  epoch: string;
  version: string;
  release: string;
}

// rpm's risdigit/risalpha are ASCII-only (C locale), so are these.
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
const TILDE = 126;
const CARET = 94;

/**
 * Compares two version (or release) strings as rpm does: alternating numeric and alphabetic
 * segments, numeric beats alpha, leading zeros ignored, `~` sorts before anything (even the end
 * of the string) and `^` sorts after the end of the string but before any further segment.
 * The strings are compared as the UTF-8 bytes rpm sees (see vercmpBytes).
 */
export function rpmvercmp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  if (scratch.length < 3 * (a.length + b.length)) scratch = new Uint8Array(6 * (a.length + b.length));
  const la = utf8.encodeInto(a, scratch).written;
  const lb = la + utf8.encodeInto(b, scratch.subarray(la)).written;
  return vercmpBytes(scratch, 0, la, la, lb);
}
const utf8 = new TextEncoder();
let scratch = new Uint8Array(256);

/**
 * rpmvercmp of bytes [i, la) and [j, lb) of `b` (the solver compares strings in its arena in
 * place). Bytes past a string's end read as 0, standing in for C's NUL terminator; a byte of a
 * multi-byte UTF-8 sequence is neither digit, letter, '~' nor '^', so it separates segments.
 */
export function vercmpBytes(b: Uint8Array, i: number, la: number, j: number, lb: number): -1 | 0 | 1 {
  while (i < la || j < lb) {
    let ca = i < la ? b[i]! : 0;
    while (i < la && !isDigit(ca) && !isAlpha(ca) && ca !== TILDE && ca !== CARET) ca = ++i < la ? b[i]! : 0;
    let cb = j < lb ? b[j]! : 0;
    while (j < lb && !isDigit(cb) && !isAlpha(cb) && cb !== TILDE && cb !== CARET) cb = ++j < lb ? b[j]! : 0;

    if (ca === TILDE || cb === TILDE) {
      if (ca !== TILDE) return 1;
      if (cb !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    if (ca === CARET || cb === CARET) {
      if (i >= la) return -1;
      if (j >= lb) return 1;
      if (ca !== CARET) return 1;
      if (cb !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (!(i < la && j < lb)) break;

    let ei = i;
    let ej = j;
    const isnum = isDigit(ca);
    if (isnum) {
      while (ei < la && isDigit(b[ei]!)) ei++;
      while (ej < lb && isDigit(b[ej]!)) ej++;
    } else {
      while (ei < la && isAlpha(b[ei]!)) ei++;
      while (ej < lb && isAlpha(b[ej]!)) ej++;
    }
    // A segment of the other kind (alpha vs numeric) is empty here: numeric is newer.
    if (ej === j) return isnum ? 1 : -1;

    let si = i;
    let sj = j;
    if (isnum) {
      while (si < ei && b[si] === 48) si++;
      while (sj < ej && b[sj] === 48) sj++;
      const d = ei - si - (ej - sj);
      if (d > 0) return 1;
      if (d < 0) return -1;
    }
    // strcmp of the two segments (a proper prefix sorts first).
    for (; si < ei && sj < ej; si++, sj++) if (b[si] !== b[sj]) return b[si]! < b[sj]! ? -1 : 1;
    if (si < ei) return 1;
    if (sj < ej) return -1;
    i = ei;
    j = ej;
  }
  if (i >= la && j >= lb) return 0;
  return i >= la ? -1 : 1;
}

/**
 * Splits `[epoch:]version[-release]` the way rpm's parseEVR does: the epoch is the leading
 * digits before a ':', the release whatever follows the last '-'.
 */
export function parseEvr(text: string): Evr {
  let k = 0;
  while (k < text.length && isDigit(text.charCodeAt(k))) k++;
  let epoch = '';
  let rest = text;
  if (text.charCodeAt(k) === 58 /* : */) {
    epoch = k === 0 ? '0' : text.slice(0, k);
    rest = text.slice(k + 1);
  }
  const dash = rest.lastIndexOf('-');
  if (dash < 0) return { epoch, version: rest, release: '' };
  return { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
}

/** `[epoch:]version[-release]`, omitting the parts that are empty. */
export function formatEvr(evr: Evr): string {
  let s = evr.epoch ? `${evr.epoch}:${evr.version}` : evr.version;
  if (evr.release) s += `-${evr.release}`;
  return s;
}

/**
 * Orders two EVRs as rpm orders a dependency's EVR against another: a missing epoch counts as 0,
 * and the release only takes part when both sides have one (so `1.0` matches `1.0-5`).
 */
export function compareEvr(a: Evr, b: Evr): -1 | 0 | 1 {
  let sense: -1 | 0 | 1 = 0;
  if (a.epoch && b.epoch) sense = rpmvercmp(a.epoch, b.epoch);
  else if (a.epoch && Number.parseInt(a.epoch, 10) > 0) sense = 1;
  else if (b.epoch && Number.parseInt(b.epoch, 10) > 0) sense = -1;
  if (sense !== 0) return sense;
  sense = rpmvercmp(a.version, b.version);
  if (sense !== 0) return sense;
  if (a.release && b.release) return rpmvercmp(a.release, b.release);
  return 0;
}

/**
 * Orders two packages' full EVRs (rpmVersionCompare): unlike `compareEvr`, an empty release sorts
 * before any other, because two packages with different releases are different packages.
 */
export function comparePackageEvr(a: Evr, b: Evr): -1 | 0 | 1 {
  const ea = a.epoch ? Number.parseInt(a.epoch, 10) : 0;
  const eb = b.epoch ? Number.parseInt(b.epoch, 10) : 0;
  if (ea !== eb) return ea < eb ? -1 : 1;
  return rpmvercmp(a.version, b.version) || rpmvercmp(a.release, b.release);
}
