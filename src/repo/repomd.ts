/** repomd.xml: the index of a repository's metadata files. */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PhotonError, withFile } from '../util/errors.ts';
import type { MetadataExpectation, RepoChecksum } from './_source.ts';
import { toInt } from './_source.ts';
import { XmlParser } from './xml.ts';

export interface RepomdData {
  /** primary, filelists, other, updateinfo, group, primary_db, … */
  type: string;
  /** Relative to the repository root, e.g. `repodata/<sum>-primary.xml.gz`. */
  location: string;
  /** xml:base of the location, when the file lives elsewhere. */
  locationBase?: string;
  checksum: RepoChecksum;
  openChecksum?: RepoChecksum;
  size?: number;
  openSize?: number;
  timestamp?: number;
  databaseVersion?: number;
}

export interface Repomd {
  revision: string;
  /** Text of <tags><content|repo|distro>, e.g. `{ content: ['binary-x86_64'] }`. */
  tags: Record<string, string[]>;
  data: RepomdData[];
}

/** Parses repomd.xml from a path or its bytes. */
export async function readRepomd(source: string | Uint8Array, options: { file?: string } = {}): Promise<Repomd> {
  const file = options.file ?? (typeof source === 'string' ? source : 'repomd.xml');
  let bytes: Uint8Array;
  try {
    bytes = typeof source === 'string' ? await readFile(source) : source;
  } catch (e) {
    throw withFile(e, file);
  }
  const repomd: Repomd = { revision: '', tags: {}, data: [] };
  let cur: Partial<RepomdData> | undefined;
  let sumType = '';
  let text = '';
  const path: string[] = [];
  const handler = {
    wantText: false,
    open(name: string, a: { get(n: string): string | undefined }) {
      path.push(name);
      text = '';
      handler.wantText = true;
      if (name === 'data' && path.length === 2) {
        const type = a.get('type');
        if (!type) throw new PhotonError('E_REPOMD', '<data> without a type attribute', { file });
        cur = { type };
      } else if (cur && (name === 'checksum' || name === 'open-checksum')) sumType = a.get('type') ?? '';
      else if (cur && name === 'location') {
        cur.location = a.get('href') ?? '';
        const base = a.get('xml:base');
        if (base) cur.locationBase = base;
      }
    },
    close(name: string) {
      path.pop();
      const t = text.trim();
      if (path.length === 1 && name === 'revision') repomd.revision = t;
      else if (path.length === 2 && path[1] === 'tags') (repomd.tags[name] ??= []).push(t);
      else if (cur && path.length === 2) {
        switch (name) {
          case 'checksum': cur.checksum = { type: sumType, value: t }; break;
          case 'open-checksum': cur.openChecksum = { type: sumType, value: t }; break;
          case 'size': cur.size = toInt(t); break;
          case 'open-size': cur.openSize = toInt(t); break;
          case 'timestamp': cur.timestamp = toInt(t); break;
          case 'database_version': cur.databaseVersion = toInt(t); break;
        }
      } else if (cur && path.length === 1 && name === 'data') {
        if (!cur.location) throw new PhotonError('E_REPOMD', `<data type="${cur.type}"> has no location`, { file });
        if (!cur.checksum?.value) throw new PhotonError('E_REPOMD', `<data type="${cur.type}"> has no checksum`, { file });
        repomd.data.push(cur as RepomdData);
        cur = undefined;
      }
      text = '';
    },
    text(t: string) {
      text += t;
    },
  };
  const parser = new XmlParser(handler, { file });
  parser.write(bytes);
  parser.end();
  return repomd;
}

/** The entry of `type`, or undefined. */
export function findData(repomd: Repomd, type: string): RepomdData | undefined {
  return repomd.data.find((d) => d.type === type);
}

/** The checksums and sizes to verify a metadata file against. */
export function expectationOf(data: RepomdData): MetadataExpectation {
  return { checksum: data.checksum, openChecksum: data.openChecksum, size: data.size, openSize: data.openSize };
}

/**
 * Where a metadata file lives, given the path of repomd.xml (`<root>/repodata/repomd.xml`);
 * an xml:base that is a local path or file:// URL is honoured.
 */
export function dataPath(repomdPath: string, data: RepomdData): string {
  let root = dirname(dirname(repomdPath));
  if (data.locationBase) root = data.locationBase.startsWith('file://') ? new URL(data.locationBase).pathname : data.locationBase;
  return join(root, data.location);
}
