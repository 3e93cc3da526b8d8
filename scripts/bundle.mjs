// Bundles the CLI into one file for Node 18 (Debian 12's nodejs), the runtime inside images.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/photon.ts'],
  outfile: 'dist/photon.mjs',
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'esm',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});
