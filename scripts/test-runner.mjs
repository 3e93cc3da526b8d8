// Finds every *.test.ts under src/ and test/ (Node 20's --test takes no globs) and runs them
// with Node's own test runner. Extra arguments are passed on (e.g. a file or --test-name-pattern).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  let out = [];
  let entries = [];
  try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return out; }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory() && e.name !== 'node_modules') out = out.concat(find(p));
    else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const extra = process.argv.slice(2);
const files = extra.some((a) => a.endsWith('.ts')) ? [] : [...find('src'), ...find('test')].sort();
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...extra, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
