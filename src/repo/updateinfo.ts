/** updateinfo.xml: advisories (security, bugfix, enhancement) and the packages they ship. */
import { type MetadataSource, type ReadOptions, ownString, parseItems } from './_source.ts';
import type { XmlHandler } from './xml.ts';

export interface UpdateReference {
  href: string;
  id: string;
  type: string;
  title: string;
}

export interface UpdatePackage {
  name: string;
  epoch: string;
  version: string;
  release: string;
  arch: string;
  src: string;
  filename: string;
  /** e.g. { type: 'sha256', value: '…' } when the advisory lists one. */
  sum?: { type: string; value: string };
  rebootSuggested: boolean;
  restartSuggested: boolean;
  reloginSuggested: boolean;
}

export interface UpdateCollection {
  short: string;
  name: string;
  packages: UpdatePackage[];
}

export interface Update {
  id: string;
  /** security, bugfix, enhancement, newpackage, … */
  type: string;
  status: string;
  from: string;
  version: string;
  title: string;
  severity: string;
  summary: string;
  description: string;
  solution: string;
  rights: string;
  release: string;
  pushcount: string;
  /** `date` attributes as written: "2023-01-02 03:04:05" or seconds since the epoch. */
  issued: string;
  updated: string;
  /** Advisory-level reboot_suggested, or any of its packages'. */
  rebootSuggested: boolean;
  references: UpdateReference[];
  collections: UpdateCollection[];
}

const TRUE = new Set(['1', 'true', 'True', 'TRUE', 'yes']);

function updateHandler(emit: (u: Update) => void): XmlHandler {
  let u: Update | undefined;
  let col: UpdateCollection | undefined;
  let pkg: UpdatePackage | undefined;
  let sumType = '';
  let text = '';
  const h: XmlHandler = {
    wantText: false,
    open(name, a) {
      text = '';
      if (name === 'update') {
        u = {
          id: '', type: a.get('type') ?? '', status: a.get('status') ?? '', from: a.get('from') ?? '',
          version: a.get('version') ?? '', title: '', severity: '', summary: '', description: '', solution: '',
          rights: '', release: '', pushcount: '', issued: '', updated: '', rebootSuggested: false,
          references: [], collections: [],
        };
        h.wantText = false;
        return;
      }
      if (!u) return;
      h.wantText = true;
      switch (name) {
        case 'issued': u.issued = a.get('date') ?? ''; break;
        case 'updated': u.updated = a.get('date') ?? ''; break;
        case 'reference':
          u.references.push({ href: a.get('href') ?? '', id: a.get('id') ?? '', type: a.get('type') ?? '', title: a.get('title') ?? '' });
          break;
        case 'collection':
          col = { short: a.get('short') ?? '', name: '', packages: [] };
          u.collections.push(col);
          break;
        case 'package':
          pkg = {
            name: a.get('name') ?? '', epoch: a.get('epoch') ?? '', version: a.get('version') ?? '',
            release: a.get('release') ?? '', arch: a.get('arch') ?? '', src: a.get('src') ?? '', filename: '',
            rebootSuggested: false, restartSuggested: false, reloginSuggested: false,
          };
          col?.packages.push(pkg);
          break;
        case 'sum': sumType = a.get('type') ?? ''; break;
      }
    },
    close(name) {
      const t = text.trim();
      text = '';
      if (!u) return;
      switch (name) {
        case 'update':
          emit(u);
          u = undefined;
          h.wantText = false;
          return;
        case 'id': u.id = t; break;
        case 'title': u.title = t; break;
        case 'severity': u.severity = t; break;
        case 'summary': u.summary = ownString(t); break;
        case 'description': u.description = ownString(t); break;
        case 'solution': u.solution = t; break;
        case 'rights': u.rights = t; break;
        case 'release': u.release = t; break;
        case 'pushcount': u.pushcount = t; break;
        case 'name': if (col && !pkg) col.name = t; break;
        case 'filename': if (pkg) pkg.filename = t; break;
        case 'sum': if (pkg) pkg.sum = { type: sumType, value: t }; break;
        case 'package': pkg = undefined; break;
        case 'collection': col = undefined; break;
        // An empty element means "yes", as dnf reads it; otherwise the text decides.
        case 'reboot_suggested': {
          const v = t === '' || TRUE.has(t);
          if (pkg) pkg.rebootSuggested = v;
          if (v) u.rebootSuggested = true;
          break;
        }
        case 'restart_suggested': if (pkg) pkg.restartSuggested = t === '' || TRUE.has(t); break;
        case 'relogin_suggested': if (pkg) pkg.reloginSuggested = t === '' || TRUE.has(t); break;
      }
    },
    text(t) {
      text += t;
    },
  };
  return h;
}

/** Streams the advisories of an updateinfo.xml[.gz|…]. */
export function updateinfoEntries(source: MetadataSource, options: ReadOptions = {}): AsyncGenerator<Update> {
  return parseItems<Update>(source, options, updateHandler);
}

/** Callback form of `updateinfoEntries`; resolves with the count after verification. */
export async function readUpdateinfo(source: MetadataSource, onUpdate: (u: Update) => void, options: ReadOptions = {}): Promise<number> {
  let n = 0;
  for await (const u of updateinfoEntries(source, options)) {
    onUpdate(u);
    n++;
  }
  return n;
}
