#!/usr/bin/env node
// Runs the bundled CLI when it has been built (npm run build), else the TypeScript sources via tsx.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/photon.mjs', import.meta.url);
if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/photon.ts');
}
