#!/usr/bin/env node
// Runs the bundled tdnf-config when it has been built, else the TypeScript sources via tsx;
// src/cli/tdnf-config.ts starts itself when the program is named tdnf-config.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/tdnf-config.mjs', import.meta.url);
if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/tdnf-config.ts');
}
