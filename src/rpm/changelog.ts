/**
 * The `%changelog` section of a spec file, as rpmbuild parses it: entries start with
 * `* Www Mmm DD YYYY Name <email> - version-release`; the lines up to the next entry are its
 * text. rpm stores each entry's day at 12:00 UTC, newest first as written.
 */
import { PhotonError } from '../util/errors.ts';
import type { ChangelogEntry } from './pack.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export function parseChangelog(text: string, file?: string): ChangelogEntry[] {
  const fail = (line: number, msg: string): never => {
    throw new PhotonError('E_CHANGELOG', `line ${line}: ${msg}`, file ? { file } : {});
  };
  const out: ChangelogEntry[] = [];
  let current: { entry: ChangelogEntry; lines: string[] } | undefined;
  const close = () => {
    if (current) current.entry.text = current.lines.join('\n').replace(/\s+$/, '');
  };
  text.split('\n').forEach((line, i) => {
    if (line.startsWith('*')) {
      close();
      const m = /^\*\s+(\w{3})\s+(\w{3})\s+(\d{1,2})\s+(\d{4})\s+(.+?)\s*$/.exec(line);
      if (!m) return fail(i + 1, `bad changelog entry header '${line}' (expected '* Www Mmm DD YYYY Name <email> - version')`);
      const [, day, mon, dd, yyyy, name] = m as unknown as [string, string, string, string, string, string];
      const month = MONTHS.indexOf(mon);
      if (month < 0 || !DAYS.includes(day)) return fail(i + 1, `bad date '${day} ${mon} ${dd} ${yyyy}'`);
      const date = new Date(Date.UTC(Number(yyyy), month, Number(dd), 12));
      if (date.getUTCDate() !== Number(dd)) return fail(i + 1, `no such day '${mon} ${dd} ${yyyy}'`);
      if (DAYS[date.getUTCDay()] !== day) return fail(i + 1, `${mon} ${dd} ${yyyy} is not a ${day}`);
      if (out.length && date.getTime() / 1000 > out[out.length - 1]!.time) return fail(i + 1, 'entries must be newest first');
      current = { entry: { time: date.getTime() / 1000, name, text: '' }, lines: [] };
      out.push(current.entry);
    } else if (current) {
      current.lines.push(line);
    } else if (line.trim()) {
      fail(i + 1, 'text before the first entry');
    }
  });
  close();
  return out;
}
