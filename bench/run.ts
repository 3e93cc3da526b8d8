// `npm run bench`: runs every registered benchmark and prints one table per benchmark.
// A benchmark is a module exporting `bench: Bench`; add new ones to BENCHES. The image bench
// (bench/image.ts: build, boot, VMDK beside a debootstrap-built Debian) runs alone: npm run bench:image.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bench as imageFormats } from './image-formats.ts';
import { bench as metadata } from './metadata.ts';
import { bench as solver } from './solver.ts';
import { bench as tdnf } from './tdnf.ts';

export interface BenchRow {
  /** What was measured, e.g. "primary → package set". */
  case: string;
  /** Who did it: "photon-ts", "rpmmd2solv", … */
  tool: string;
  seconds: number;
  /** Peak resident set size of the process that did the work. */
  rssMB: number;
  note?: string;
}

export interface BenchContext {
  /** The repository root. */
  root: string;
  /** /work/shared or wherever ../shared is relative to the root. */
  shared: string;
  /** Generated inputs are kept here between runs. */
  cacheDir: string;
  log(message: string): void;
}

export interface Bench {
  name: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}

const BENCHES: Bench[] = [metadata, solver, tdnf, imageFormats];

function table(rows: BenchRow[]): string {
  const head = ['case', 'tool', 'time (s)', 'peak RSS (MB)', 'note'];
  const body = rows.map((r) => [r.case, r.tool, r.seconds.toFixed(2), r.rssMB.toFixed(0), r.note ?? '']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ctx: BenchContext = {
  root,
  shared: join(root, '..', 'shared'),
  cacheDir: join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/tmp', '.cache'), 'photon-bench'),
  log: (m) => process.stderr.write(`${m}\n`),
};
const only = process.argv.slice(2);
for (const b of BENCHES) {
  if (only.length && !only.includes(b.name)) continue;
  const rows = await b.run(ctx);
  process.stdout.write(`\n## ${b.name}\n\n${table(rows)}\n`);
}
