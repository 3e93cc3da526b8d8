/**
 * Runs a CommonJS bundle through V8's code cache, as Node 22's module.enableCompileCache does
 * (Node 18, the images' runtime, has no such switch). tdnf is a short-lived process: without the
 * cache every run parses its 600 KB bundle and compiles each function it calls from scratch.
 *
 * The cache is written once the run is over (so it holds the functions that run compiled, not
 * only the top level), and again whenever V8 rejects it: another bundle, Node or V8 flags, or a
 * damaged file. V8 checks the payload's checksum only under --verify-snapshot-checksum (on by
 * default in Node 18, off in Node 20), so it is turned on here: a damaged cache is refused, never
 * run. No cache file (or one that cannot be read or written) only means a slower start.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';

/** Runs `file` (CommonJS) as Node would, with `cacheFile` as its code cache when given. */
export function runCommonJs(file: string, cacheFile: string | undefined): void {
  // A #! line is only valid at a script's very start, and Module.wrap puts the wrapper there.
  const source = readFileSync(file, 'utf8').replace(/^#!/, '//');
  let cachedData: Buffer | undefined;
  if (cacheFile) {
    setFlagsFromString('--verify-snapshot-checksum');
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      // none yet, or unreadable: compiled from source below
    }
  }
  const script = new Script(Module.wrap(source), { filename: file, ...(cachedData ? { cachedData } : {}) });
  if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
    process.once('exit', () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch {
        rmSync(tmp, { force: true });
      }
    });
  }
  const module = { exports: {} as unknown, filename: file, id: file };
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
}
