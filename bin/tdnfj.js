#!/usr/bin/env node
// Runs the bundled CLI when it has been built, else the TypeScript sources via tsx. src/cli/tdnf.ts
// starts itself when the program is named tdnf or tdnfj (tdnfj = tdnf -j -y, as C tdnf does).
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/tdnf.mjs', import.meta.url);
if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/tdnf.ts');
}
