/** Scratch directories for tests, all named photon-PREFIX-… under the OS temp dir so strays are easy to spot. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `photon-${prefix}-`));
}

/** Removes `dir` and everything under it; no error if it is already gone. */
export function cleanup(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}
