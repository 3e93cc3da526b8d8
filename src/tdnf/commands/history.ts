/**
 * `tdnf history`: list (with --info the packages too; --from/--to/--reverse or N / N-M),
 * rollback --to N, undo N[-M] (or --from/--to), redo N[-M], as tools/cli/lib/api.c prints and
 * runs them. rollback/undo/redo turn history.ts's package sets into install/erase jobs of exact
 * NEVRAs and run them as alter transactions; a NEVRA no enabled repository has stops with tdnf's
 * "The following packages could not be resolved" and 1011.
 */
import type { Job } from '../../solver/types.ts';
import { TDNF, TdnfError } from '../errors.ts';
import type { PackageDelta } from '../history.ts';
import { type TdnfArgs, flag, values } from '../options.ts';
import { json as jsonLine } from '../output.ts';
import { nameOfNevra } from '../history.ts';
import { type AlterSession, type Io, openAlterSession, solveOptions } from '../_alter_session.ts';
import { solveAndRun } from './alter.ts';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => String(n).padStart(2, '0');

/** strftime "%a %b %d %Y %H:%M" in local time. */
export function historyTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${p2(d.getDate())} ${d.getFullYear()} ${p2(d.getHours())}:${p2(d.getMinutes())}`;
}

function range(args: TdnfArgs, words: readonly string[]): { from?: number; to?: number } {
  const r: { from?: number; to?: number } = {};
  const num = (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new TdnfError(TDNF.INVALID_PARAMETER, `invalid transaction id: ${v}`);
    return n;
  };
  const from = values(args, 'from').at(-1);
  const to = values(args, 'to').at(-1);
  if (from !== undefined) r.from = num(from);
  if (to !== undefined) r.to = num(to);
  const w = words[0];
  if (w !== undefined) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(w);
    if (!m) throw new TdnfError(TDNF.INVALID_PARAMETER, `invalid transaction id: ${w}`);
    r.from = num(m[1]!);
    r.to = m[2] ? num(m[2]) : r.from;
  }
  return r;
}

function listText(items: ReturnType<AlterSession['history']['listTransactions']>, info: boolean, width = 80): string {
  const cmdW = width - 4 - 21 - 9 - 7;
  let out = `ID   ${'cmd line'.padEnd(cmdW)} date/time             +add  / -rem\n`;
  for (const t of items) {
    out += `${String(t.id).padStart(4)} ${t.cmdline.padEnd(cmdW)} ${historyTime(t.timestamp).padEnd(21)} +${String(t.added.length).padEnd(4)} / -${String(t.removed.length).padEnd(4)}\n`;
    if (info) {
      if (t.added.length) out += `added: ${t.added.join(', ')}\n`;
      if (t.removed.length) out += `removed: ${t.removed.join(', ')}\n`;
      out += '\n';
    }
  }
  return out;
}

/** Jobs for a package delta: exact NEVRAs to install (from the repositories), installed ones to erase. */
function deltaJobs(s: AlterSession, d: PackageDelta): { jobs: Job[]; unresolved: string[] } {
  const u = s.universe;
  const byNevra = new Map<string, number>();
  for (let p = u.installedEnd; p < u.count; p++) if (u.archAllowed(p) || u.str(u.archOf(p)) === 'noarch') byNevra.set(u.nevra(p), p);
  const installed = new Map<string, number>();
  for (let p = 0; p < u.installedEnd; p++) installed.set(u.nevra(p), p);
  const jobs: Job[] = [];
  const unresolved: string[] = [];
  for (const n of d.install) {
    if (installed.has(n)) continue;
    const p = byNevra.get(n);
    if (p === undefined) unresolved.push(n);
    else jobs.push({ kind: 'install', packages: [p] });
  }
  for (const n of d.erase) {
    const p = installed.get(n);
    if (p !== undefined) jobs.push({ kind: 'erase', packages: [p] });
  }
  return { jobs, unresolved };
}

export async function main(args: TdnfArgs, io: Io): Promise<number> {
  const words = [...args.args];
  const sub = words[0] && /^[a-z]+$/.test(words[0]) ? words.shift()! : 'list';
  const info = sub === 'info' || flag(args, 'info');
  if (!['list', 'info', 'init', 'update', 'rollback', 'undo', 'redo'].includes(sub)) {
    throw new TdnfError(TDNF.CLI_INVALID_ARGUMENT, `unknown history command: ${sub}`);
  }
  const alters = sub === 'rollback' || sub === 'undo' || sub === 'redo';
  const s = await openAlterSession(args, { io, noRepos: !alters });
  try {
    const h = s.history;
    if (sub === 'init' || sub === 'update') return 0;
    const r = range(args, words);
    if (sub === 'list' || sub === 'info') {
      const last = h.lastTransactionId;
      const items = h.listTransactions({ from: r.from ?? 1, to: r.to ?? last }, flag(args, 'reverse'));
      if (args.json) {
        io.stdout(jsonLine(items.map((t) => ({
          Id: t.id, CmdLine: t.cmdline, TimeStamp: t.timestamp, AddedCount: t.added.length, RemovedCount: t.removed.length,
          ...(info ? { Added: t.added, Removed: t.removed } : {}),
        }))));
      } else io.stdout(listText(items, info));
      return 0;
    }
    let delta: PackageDelta;
    let cmdline: string;
    if (sub === 'rollback') {
      if (r.to === undefined) throw new TdnfError(TDNF.INVALID_PARAMETER, 'rollback needs a transaction id (--to N)');
      delta = h.deltaTo(r.to);
      cmdline = `history rollback --to ${r.to}`;
    } else {
      if (r.from === undefined) throw new TdnfError(TDNF.INVALID_PARAMETER, `${sub} needs a transaction id`);
      const to = r.to ?? r.from;
      const ids: number[] = [];
      for (let i = r.from; i <= to; i++) ids.push(i);
      // undo reverses the newest first; redo replays in order.
      const install = new Set<string>();
      const erase = new Set<string>();
      for (const id of sub === 'undo' ? ids.reverse() : ids) {
        const d = sub === 'undo' ? h.inverse(id) : h.redo(id);
        for (const n of d.erase) {
          install.delete(n);
          erase.add(n);
        }
        for (const n of d.install) {
          erase.delete(n);
          install.add(n);
        }
      }
      delta = { install: [...install], erase: [...erase] };
      cmdline = `history ${sub} ${r.from}${to !== r.from ? `-${to}` : ''}`;
    }
    const { jobs, unresolved } = deltaJobs(s, delta);
    if (unresolved.length) {
      io.stderr(`The following packages could not be resolved:\n\n${unresolved.map((n) => `${n}\n`).join('')}\n`
        + 'The package(s) may have been moved out of the enabled repositories since the\n'
        + 'last time they were installed. You may be able to resolve this by enabling\n'
        + 'additional repositories.\n');
      throw new TdnfError(TDNF.NO_MATCH, 'No matching packages');
    }
    return await solveAndRun(s, jobs, solveOptions(s, { allowErasing: true }), io, {
      cmdline, userNames: new Set(delta.install.map(nameOfNevra)),
    });
  } finally {
    await s.release();
  }
}
