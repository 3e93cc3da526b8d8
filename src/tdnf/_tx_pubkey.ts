/**
 * OpenPGP keys in the rpmdb as `rpm --import` stores them (rpm 4.18 lib/rpmts.c
 * makePubkeyHeader), so rpm -qa gpg-pubkey, rpm -K and we share one keyring:
 *
 * | tag                 | value                                                       |
 * |---------------------|-------------------------------------------------------------|
 * | PUBKEYS (266)       | base64 of the certificate, 64-column lines                  |
 * | NAME                | gpg-pubkey                                                  |
 * | VERSION / RELEASE   | key id's low 8 hex digits / creation time, 8 hex digits    |
 * | SUMMARY (i18n)      | "<user id> public key"                                      |
 * | DESCRIPTION (i18n)  | the armored key, "Version: rpm-4.18.0" header line          |
 * | BUILDTIME           | creation time; BUILDHOST localhost; SIZE 0                  |
 * | LICENSE, PACKAGER   | pubkey, the user id; GROUP (i18n) Public Keys; SOURCERPM (none) |
 * | PROVIDES            | gpg(<user id>), gpg(<id8>), gpg(<id16>) [+ each subkey's id8, id16], |
 * |                     | all = <keyversion>:<id16>-<time8>, flags KEYRING|EQUAL      |
 * | RPMVERSION          | 4.18.0                                                      |
 *
 * all inside an immutable region, then outside it SHA1HEADER and SHA256HEADER (of the region
 * with the header magic) and INSTALLTIME/INSTALLTID.
 */
import { createHash } from 'node:crypto';
import { type PublicKey, armor } from '../formats/openpgp.ts';
import { HEADER_MAGIC, type HeaderValue, REGION_IMMUTABLE, TagType, getStrings, writeHeader } from '../formats/rpm-header.ts';
import { appendEntries } from '../rpm/rpmdb-blob.ts';
import { RPMSENSE } from '../rpm/deps.ts';
import { TAG } from '../rpm/tags.ts';
import type { InstalledPackage } from '../rpm/rpmdb.ts';

const PUBKEYS = 266;
const RPM_VERSION = '4.18.0';

export function pubkeyVersion(key: PublicKey): string {
  return key.keyId.slice(8);
}

export function pubkeyRelease(key: PublicKey): string {
  return Math.floor(key.created.getTime() / 1000).toString(16).padStart(8, '0');
}

function base64Lines(data: Uint8Array): string {
  const b64 = Buffer.from(data.buffer, data.byteOffset, data.length).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `${lines.join('\n')}\n`;
}

/** The rpmdb blob rpm --import would store for `key`. */
export function pubkeyHeaderBlob(key: PublicKey, now: number): Uint8Array {
  const v = pubkeyVersion(key);
  const r = pubkeyRelease(key);
  const userid = key.userIds[0] ?? 'none';
  const keytime = Math.floor(key.created.getTime() / 1000);
  const evr = `4:${key.keyId}-${r}`;
  // Each subkey provides its own short and long id, versioned with its own id and time.
  const pairs: Array<[string, string]> = [[`gpg(${userid})`, evr], [`gpg(${v})`, evr], [`gpg(${key.keyId})`, evr]];
  for (const s of key.subkeys) {
    const sevr = `4:${s.keyId}-${Math.floor(s.created.getTime() / 1000).toString(16).padStart(8, '0')}`;
    pairs.push([`gpg(${s.keyId.slice(8)})`, sevr], [`gpg(${s.keyId})`, sevr]);
  }
  const provides = pairs.map((p) => p[0]);
  const str = (value: string): HeaderValue => ({ type: TagType.STRING, value });
  const i18n = (value: string): HeaderValue => ({ type: TagType.I18NSTRING, value: [value] });
  const e = new Map<number, HeaderValue>([
    [PUBKEYS, { type: TagType.STRING_ARRAY, value: [base64Lines(key.packets)] }],
    [TAG.NAME, str('gpg-pubkey')],
    [TAG.VERSION, str(v)],
    [TAG.RELEASE, str(r)],
    [TAG.SUMMARY, i18n(`${userid} public key`)],
    [TAG.DESCRIPTION, i18n(armor('PUBLIC KEY BLOCK', key.packets).replace('-----\n\n', `-----\nVersion: rpm-${RPM_VERSION}\n\n`))],
    [TAG.BUILDTIME, { type: TagType.INT32, value: [keytime] }],
    [TAG.BUILDHOST, str('localhost')],
    [TAG.SIZE, { type: TagType.INT32, value: [0] }],
    [TAG.LICENSE, str('pubkey')],
    [TAG.PACKAGER, str(userid)],
    [TAG.GROUP, i18n('Public Keys')],
    [TAG.SOURCERPM, str('(none)')],
    [TAG.PROVIDENAME, { type: TagType.STRING_ARRAY, value: provides }],
    [TAG.RPMVERSION, str(RPM_VERSION)],
    [TAG.PROVIDEFLAGS, { type: TagType.INT32, value: provides.map(() => RPMSENSE.KEYRING | RPMSENSE.EQUAL) }],
    [TAG.PROVIDEVERSION, { type: TagType.STRING_ARRAY, value: pairs.map((p) => p[1]) }],
  ]);
  const region = writeHeader(e, { magic: false, region: REGION_IMMUTABLE });
  const digest = (algo: string) => createHash(algo).update(HEADER_MAGIC).update(region).digest('hex');
  return appendEntries(region, new Map<number, HeaderValue>([
    [TAG.SHA1HEADER, str(digest('sha1'))],
    [TAG.SHA256HEADER, str(digest('sha256'))],
    [TAG.INSTALLTIME, { type: TagType.INT32, value: [now] }],
    [TAG.INSTALLTID, { type: TagType.INT32, value: [now] }],
  ]));
}

/** The certificate bytes of an installed gpg-pubkey entry. */
export function pubkeyBytes(p: InstalledPackage): Uint8Array | undefined {
  const b64 = getStrings(p.header, PUBKEYS)[0];
  return b64 === undefined ? undefined : new Uint8Array(Buffer.from(b64.replace(/\s+/g, ''), 'base64'));
}
