#!/usr/bin/env node
// Runs the bundled tdnf-automatic when it has been built, else the TypeScript sources via tsx;
// src/cli/tdnf-automatic.ts starts itself when the program is named tdnf-automatic.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/tdnf-automatic.mjs', import.meta.url);
if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/tdnf-automatic.ts');
}
