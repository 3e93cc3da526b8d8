/**
 * dist/tdnf.mjs: starts the tdnf bundle (dist/tdnf.cjs, CommonJS so that V8 can cache its code)
 * with the code cache the image's /usr/bin/tdnf names in TDNF_CODE_CACHE.
 */
import { fileURLToPath } from 'node:url';
import { runCommonJs } from './code-cache.ts';

runCommonJs(fileURLToPath(new URL('./tdnf.cjs', import.meta.url)), process.env.TDNF_CODE_CACHE || undefined);
