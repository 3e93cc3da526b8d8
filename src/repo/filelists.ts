/** filelists.xml and other.xml: per-package file lists and changelogs, keyed by pkgid. */
import { type MetadataSource, type ReadOptions, internString, ownString, parseItems, toInt } from './_source.ts';
import type { RepoFile, RepoFileType } from './primary.ts';
import type { XmlAttrs, XmlHandler } from './xml.ts';

interface PackageRef {
  pkgid: string;
  name: string;
  arch: string;
  epoch: string;
  version: string;
  release: string;
}

export interface FilelistsEntry extends PackageRef {
  files: RepoFile[];
}

export interface Changelog {
  author: string;
  /** Seconds since the epoch, as in the RPM header. */
  date: number;
  text: string;
}

export interface OtherEntry extends PackageRef {
  changelogs: Changelog[];
}

function refHandler<T extends PackageRef>(
  emit: (e: T) => void,
  pool: Map<string, string>,
  make: (ref: PackageRef) => T,
  child: string,
  onChild: (entry: T, a: XmlAttrs) => void,
  onChildText: (entry: T, text: string) => void,
): XmlHandler {
  let cur: T | undefined;
  let text = '';
  const h: XmlHandler = {
    wantText: false,
    open(name, a) {
      if (name === 'package') {
        cur = make({
          pkgid: ownString(a.get('pkgid') ?? ''),
          name: internString(pool, a.get('name') ?? ''),
          arch: internString(pool, a.get('arch') ?? ''),
          epoch: '', version: '', release: '',
        });
      } else if (cur && name === 'version') {
        cur.epoch = internString(pool, a.get('epoch') ?? '');
        cur.version = internString(pool, a.get('ver') ?? '');
        cur.release = internString(pool, a.get('rel') ?? '');
      } else if (cur && name === child) {
        onChild(cur, a);
        text = '';
        h.wantText = true;
      }
    },
    close(name) {
      if (h.wantText && name === child) {
        h.wantText = false;
        onChildText(cur!, text);
        text = '';
      } else if (name === 'package' && cur) {
        emit(cur);
        cur = undefined;
      }
    },
    text(t) {
      text += t;
    },
  };
  return h;
}

/** Streams the packages of a filelists.xml[.gz|…]. */
export function filelistsEntries(source: MetadataSource, options: ReadOptions = {}): AsyncGenerator<FilelistsEntry> {
  const pool = options.intern ?? new Map<string, string>();
  let type: RepoFileType = 'file';
  return parseItems<FilelistsEntry>(source, options, (emit) =>
    refHandler<FilelistsEntry>(emit, pool, (r) => ({ ...r, files: [] }), 'file',
      (_e, a) => {
        const t = a.get('type');
        type = t === 'dir' ? 'dir' : t === 'ghost' ? 'ghost' : 'file';
      },
      (e, text) => e.files.push({ path: ownString(text), type }),
    ));
}

/** Streams the packages of an other.xml[.gz|…] with their changelogs. */
export function otherEntries(source: MetadataSource, options: ReadOptions = {}): AsyncGenerator<OtherEntry> {
  const pool = options.intern ?? new Map<string, string>();
  let author = '';
  let date = 0;
  return parseItems<OtherEntry>(source, options, (emit) =>
    refHandler<OtherEntry>(emit, pool, (r) => ({ ...r, changelogs: [] }), 'changelog',
      (_e, a) => {
        author = internString(pool, a.get('author') ?? '');
        date = toInt(a.get('date'));
      },
      (e, text) => e.changelogs.push({ author, date, text: ownString(text) }),
    ));
}

/** Callback form of `filelistsEntries`; resolves with the count after verification. */
export async function readFilelists(source: MetadataSource, onEntry: (e: FilelistsEntry) => void, options: ReadOptions = {}): Promise<number> {
  let n = 0;
  for await (const e of filelistsEntries(source, options)) {
    onEntry(e);
    n++;
  }
  return n;
}

/** Callback form of `otherEntries`; resolves with the count after verification. */
export async function readOther(source: MetadataSource, onEntry: (e: OtherEntry) => void, options: ReadOptions = {}): Promise<number> {
  let n = 0;
  for await (const e of otherEntries(source, options)) {
    onEntry(e);
    n++;
  }
  return n;
}
