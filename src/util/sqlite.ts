/**
 * sql.js (SQLite compiled to WebAssembly), loaded once per process. Its own wasm lookup relies on
 * __dirname, so we find the file ourselves: in node_modules when running from source, beside the
 * bundle when shipped without node_modules (scripts/bundle.mjs copies it there).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import initSqlJs, { type SqlJsStatic } from 'sql.js';

let loading: Promise<SqlJsStatic> | undefined;

export function sqlite(): Promise<SqlJsStatic> {
  loading ??= (async () => {
    let path: string;
    try {
      path = createRequire(import.meta.url).resolve('sql.js/dist/sql-wasm.wasm');
    } catch {
      path = fileURLToPath(new URL('./sql-wasm.wasm', import.meta.url));
    }
    const wasm = readFileSync(path);
    return initSqlJs({ wasmBinary: wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) as ArrayBuffer });
  })();
  return loading;
}
