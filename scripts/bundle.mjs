// Bundles each CLI into one file for Node 18 (Debian 12's nodejs), the runtime inside images.
// The WebAssembly modules (sqlite, zstd) travel beside the bundle, where their loaders look.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
mkdirSync('dist', { recursive: true });
const common = { bundle: true, platform: 'node', target: 'node18', outdir: 'dist', logLevel: 'warning', metafile: true };
const esm = await build({
  ...common,
  entryPoints: {
    photon: 'src/cli/photon.ts',
    // A small ES module that runs tdnf.cjs through V8's code cache (src/cli/code-cache.ts).
    tdnf: 'src/cli/tdnf-launch.ts',
    'tdnf-config': 'src/cli/tdnf-config.ts',
    'tdnf-automatic': 'src/cli/tdnf-automatic.ts',
    // photon build's worker threads load this beside dist/photon.mjs.
    'build-worker': 'src/build/worker.ts',
  },
  outExtension: { '.js': '.mjs' },
  format: 'esm',
  // CommonJS dependencies inside an ES module bundle still expect require and __dirname.
  banner: {
    js: [
      "import { createRequire as __photonRequire } from 'node:module';",
      "import { fileURLToPath as __photonPath } from 'node:url';",
      'const require = __photonRequire(import.meta.url);',
      'const __filename = __photonPath(import.meta.url);',
      "const __dirname = __photonPath(new URL('.', import.meta.url));",
    ].join('\n'),
  },
});
// tdnf itself is CommonJS: vm.Script (and so a code cache) runs scripts, not ES modules.
const cjs = await build({
  ...common,
  entryPoints: { tdnf: 'src/cli/tdnf.ts' },
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  // Lazily loaded builtins (zlib, http, child_process) through require: a vm.Script has no import().
  supported: { 'dynamic-import': false },
  define: { 'import.meta.url': '__photonUrl' },
  banner: { js: "const __photonUrl = require('node:url').pathToFileURL(__filename).href;" },
});
copyFileSync(require.resolve('sql.js/dist/sql-wasm.wasm'), 'dist/sql-wasm.wasm');
copyFileSync(require.resolve('@bokuweb/zstd-wasm').replace(/index\.node\.js$/, 'zstd.wasm'), 'dist/zstd.wasm');
// Which sources each bundle is made of: photon build refuses to package a bundle older than them.
const inputs = Object.fromEntries(
  Object.entries({ ...esm.metafile.outputs, ...cjs.metafile.outputs }).map(([out, o]) => [out, Object.keys(o.inputs).filter((i) => !i.startsWith('node_modules/'))]),
);
writeFileSync('dist/inputs.json', JSON.stringify(inputs));
