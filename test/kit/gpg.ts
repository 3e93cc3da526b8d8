/** OpenPGP keys made by the real gpg, in a private home per key, for signing tests. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, type RunResult } from '../../src/util/run.ts';

export interface GpgKey {
  home: string;
  fingerprint: string;
  secretArmored: string;
  publicArmored: string;
  /** The armored exports, written beside the home as NAME.sec.asc and NAME.pub.asc. */
  secretFile: string;
  publicFile: string;
}

export interface GpgKeyOptions {
  /** gpg's algorithm name: rsa2048, ed25519, dsa2048, … */
  algo?: string;
  passphrase?: string;
  /** Make the primary key certify-only and add a signing subkey of this algorithm. */
  signingSubkey?: string;
}

export interface GpgRunOptions {
  passphrase?: string;
  /** Resolve with the status instead of throwing, for tests that expect gpg to refuse. */
  allowFailure?: boolean;
}

/** Runs gpg on `home` without prompts. */
export function gpg(home: string, args: string[], options: GpgRunOptions = {}): Promise<RunResult> {
  const { passphrase = '', allowFailure = false } = options;
  return run('gpg', ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', passphrase, ...args], { allowFailure });
}

export async function makeGpgKey(dir: string, name: string, options: GpgKeyOptions = {}): Promise<GpgKey> {
  const home = join(dir, `gnupg-${name}`);
  await mkdir(home, { recursive: true, mode: 0o700 });
  const pass = options.passphrase ?? '';
  const usage = options.signingSubkey ? 'cert' : 'sign';
  await gpg(home, ['--quick-gen-key', `${name} <${name}@example.com>`, options.algo ?? 'rsa2048', usage, 'never'], { passphrase: pass });
  const listing = (await gpg(home, ['--with-colons', '--list-keys'])).stdout.toString();
  const fingerprint = (/^fpr:+([0-9A-F]{40}):/m.exec(listing)?.[1] ?? '').toLowerCase();
  if (options.signingSubkey) await gpg(home, ['--quick-add-key', fingerprint, options.signingSubkey, 'sign', 'never'], { passphrase: pass });
  const secretArmored = (await gpg(home, ['--export-secret-keys', '--armor'], { passphrase: pass })).stdout.toString();
  const publicArmored = (await gpg(home, ['--export', '--armor'])).stdout.toString();
  const secretFile = join(dir, `${name}.sec.asc`);
  const publicFile = join(dir, `${name}.pub.asc`);
  await writeFile(secretFile, secretArmored, { mode: 0o600 });
  await writeFile(publicFile, publicArmored);
  return { home, fingerprint, secretArmored, publicArmored, secretFile, publicFile };
}
