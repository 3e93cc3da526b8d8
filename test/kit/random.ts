/** Seeded randomness for fuzz tests: a failing iteration reproduces from its seed. */
import { isPhotonError } from '../../src/util/errors.ts';

/** mulberry32: small, fast and deterministic; returns floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A copy of `input` with one to four edits of the kinds that break binary parsers: truncation,
 * a random byte, a bit flip, a deleted run, and 0xffffffff inserted where a length may be read.
 */
export function mutate(rand: () => number, input: Uint8Array): Uint8Array {
  let b = input.slice();
  const edits = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < edits; i++) {
    const op = Math.floor(rand() * 5);
    const at = Math.floor(rand() * b.length);
    if (op === 0) b = b.subarray(0, at);
    else if (op === 1 && b.length) b[at] = Math.floor(rand() * 256);
    else if (op === 2 && b.length) b[at] = (b[at] as number) ^ (1 << Math.floor(rand() * 8));
    else if (op === 3) b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at + 1 + Math.floor(rand() * 8))]);
    else b = new Uint8Array([...b.subarray(0, at), 0xff, 0xff, 0xff, 0xff, ...b.subarray(at)]);
  }
  return b;
}

/**
 * Runs `f` (sync or async) on input that may be garbage: it may succeed or throw a PhotonError,
 * the readers' one way to refuse input; any other throw is a bug and fails, naming `what`.
 */
export function onlyPhotonErrors(what: string, f: () => Promise<unknown>): Promise<void>;
export function onlyPhotonErrors(what: string, f: () => unknown): void;
export function onlyPhotonErrors(what: string, f: () => unknown): void | Promise<void> {
  const check = (e: unknown): void => {
    if (!isPhotonError(e)) throw new Error(`${what}: threw ${String(e)}`, { cause: e });
  };
  try {
    const r = f();
    if (r instanceof Promise) return r.then(() => undefined, check);
  } catch (e) {
    check(e);
  }
}
