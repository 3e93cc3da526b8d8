#!/usr/bin/env node
// Runs the bundled CLI when it has been built (npm run build) and is not older than the sources,
// else the TypeScript sources via tsx: in a checkout, an edit takes effect without a rebuild.
import { existsSync, readdirSync, statSync } from 'node:fs';

const bundle = new URL('../dist/photon.mjs', import.meta.url);
const src = new URL('../src/', import.meta.url);

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = new URL(e.name + (e.isDirectory() ? '/' : ''), dir);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

if (existsSync(bundle) && (!existsSync(src) || statSync(bundle).mtimeMs >= newest(src))) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/photon.ts');
}
