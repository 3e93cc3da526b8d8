/**
 * Downloads for tdnf: file://, plain paths, http:// and https:// on node:http/https (the same
 * on Node 18 and 20, and proxies work without undici), with what tdnf asks of libcurl:
 *
 * - retries per URL with exponential backoff, then the next mirror;
 * - the checksum (and size) verified while the bytes stream to disk; a mismatch moves on to the
 *   next mirror and, when none is left, fails with 2501 as tdnf does;
 * - atomic: bytes go to a temporary file beside `dest`, renamed only once verified;
 * - Basic auth, proxies (CONNECT for https, absolute-URI for http), sslverify / sslcacert /
 *   client certificates, an overall timeout, minrate and throttle;
 * - errors as tdnf reports them: an HTTP status ≥ 400 is 1622 "Error: 404 when downloading …",
 *   a transport failure is 1201 (ERROR_TDNF_CURL_BASE) + the libcurl code tdnf would have got (7 couldn't connect,
 *   6 couldn't resolve, 28 timeout, 60 bad certificate, …).
 *
 * Metalink (XML: <url>s with preferences, <hash>es and <size> of repomd.xml) and mirrorlist (one
 * URL per line) files are parsed here; repos.ts decides when to fetch them.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import type * as http from 'node:http';
import type * as https from 'node:https';
import type { Socket } from 'node:net';
import { dirname } from 'node:path';
import { hashAlgorithm } from './_source.ts';
import { TDNF, TdnfError } from '../tdnf/errors.ts';
import { tempPathFor } from '../util/fs.ts';

/** libcurl's codes for the failures we can meet; tdnf reports ERROR_TDNF_CURL_BASE (1201) + code. */
export const CURLE = {
  UNSUPPORTED_PROTOCOL: 1, URL_MALFORMAT: 3, COULDNT_RESOLVE_PROXY: 5, COULDNT_RESOLVE_HOST: 6, COULDNT_CONNECT: 7,
  PARTIAL_FILE: 18, WRITE_ERROR: 23, READ_ERROR: 26, OPERATION_TIMEDOUT: 28, SSL_CONNECT_ERROR: 35,
  TOO_MANY_REDIRECTS: 47, GOT_NOTHING: 52, SEND_ERROR: 55, RECV_ERROR: 56, PEER_FAILED_VERIFICATION: 60,
  FILE_COULDNT_READ_FILE: 37, LOGIN_DENIED: 67,
} as const;
const CURL_ERROR_BASE = TDNF.CURL_BASE;

export interface Checksum {
  /** sha256, sha512, sha1/sha, md5 (repomd spellings). */
  type: string;
  value: string;
}

export interface FetchOptions {
  expect?: Checksum | undefined;
  /** Expected size in bytes; a different size is a checksum failure. */
  size?: number | undefined;
  /** Further attempts per URL after the first (tdnf's `retries`, default 10 there; 0 here). */
  retries?: number | undefined;
  /** First backoff between attempts; doubles, at most 5 s. */
  backoffMs?: number | undefined;
  /** Whole-transfer timeout (tdnf's `timeout` in seconds × 1000); 0 / undefined = none. */
  timeoutMs?: number | undefined;
  /** Bytes/s below which a transfer is abandoned after `minrateWindowMs` (default 30 s). */
  minrate?: number | undefined;
  minrateWindowMs?: number | undefined;
  /** Bytes/s cap. */
  throttle?: number | undefined;
  proxy?: string | undefined;
  proxyUsername?: string | undefined;
  proxyPassword?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  sslverify?: boolean | undefined;
  sslcacert?: string | undefined;
  sslclientcert?: string | undefined;
  sslclientkey?: string | undefined;
  userAgent?: string | undefined;
  onProgress?: ((done: number, total: number | undefined) => void) | undefined;
}

export interface FetchResult {
  /** The URL that served the file. */
  url: string;
  size: number;
}

/** A failure of one attempt: whether trying the same URL again could help. */
class AttemptError extends Error {
  constructor(
    readonly tdnfCode: number,
    message: string,
    readonly retry: boolean,
    readonly checksum = false,
  ) {
    super(message);
  }
}

function curlError(code: number, message: string, retry = true): AttemptError {
  return new AttemptError(CURL_ERROR_BASE + code, message, retry);
}

function transportError(e: NodeJS.ErrnoException, url: string): AttemptError {
  const why = `${url}: ${e.message}`;
  switch (e.code) {
    case 'ENOTFOUND': case 'EAI_AGAIN': return curlError(CURLE.COULDNT_RESOLVE_HOST, `Could not resolve host: ${why}`, e.code === 'EAI_AGAIN');
    case 'ECONNREFUSED': case 'EHOSTUNREACH': case 'ENETUNREACH': return curlError(CURLE.COULDNT_CONNECT, `Couldn't connect to server: ${why}`);
    case 'ECONNRESET': case 'EPIPE': return curlError(CURLE.RECV_ERROR, `Failure when receiving data from the peer: ${why}`);
    case 'ETIMEDOUT': return curlError(CURLE.OPERATION_TIMEDOUT, `Operation timed out: ${why}`);
    case 'CERT_HAS_EXPIRED': case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE': case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN': case 'ERR_TLS_CERT_ALTNAME_INVALID': case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return curlError(CURLE.PEER_FAILED_VERIFICATION, `SSL peer certificate or SSH remote key was not OK: ${why}`, false);
    default:
      if (e.code?.startsWith('ERR_SSL') || e.code?.startsWith('ERR_TLS')) return curlError(CURLE.SSL_CONNECT_ERROR, `SSL connect error: ${why}`);
      return curlError(CURLE.RECV_ERROR, `Failure when receiving data from the peer: ${why}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Strips user:password@ from a URL for messages. */
function safeUrl(u: string): string {
  return u.replace(/\/\/[^/@]*@/, '//');
}

/**
 * Downloads the first of `urls` that works to `dest`. Each URL is tried 1 + retries times
 * (a 4xx status is not retried: another try would get the same answer); then the next.
 */
export async function fetchFile(urls: readonly string[], dest: string, opts: FetchOptions = {}): Promise<FetchResult> {
  if (urls.length === 0) throw new TdnfError(TDNF.BASEURL_DOES_NOT_EXISTS, `no URL to download ${dest} from`);
  await mkdir(dirname(dest), { recursive: true });
  let last: AttemptError | undefined;
  let checksumFailed = false;
  for (const url of urls) {
    const retries = Math.max(0, opts.retries ?? 0);
    let backoff = opts.backoffMs ?? 200;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
      }
      const tmp = tempPathFor(dest);
      try {
        const size = await attemptOnce(url, tmp, opts);
        await rename(tmp, dest);
        return { url, size };
      } catch (e) {
        await rm(tmp, { force: true });
        if (!(e instanceof AttemptError)) throw e;
        last = e;
        if (e.checksum) checksumFailed = true;
        if (!e.retry) break;
      }
    }
  }
  if (checksumFailed && last?.checksum) throw new TdnfError(TDNF.CHECKSUM_VALIDATION_FAILED, last.message);
  throw new TdnfError(last!.tdnfCode, last!.message);
}

async function attemptOnce(url: string, tmp: string, opts: FetchOptions): Promise<number> {
  let u: URL | undefined;
  if (url.startsWith('/')) return copyLocal(url, url, tmp, opts);
  try {
    u = new URL(url);
  } catch {
    throw new AttemptError(CURL_ERROR_BASE + CURLE.URL_MALFORMAT, `URL using bad/illegal format or missing URL: ${url}`, false);
  }
  if (u.protocol === 'file:') return copyLocal(decodeURIComponent(u.pathname), url, tmp, opts);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new AttemptError(CURL_ERROR_BASE + CURLE.UNSUPPORTED_PROTOCOL, `Protocol "${u.protocol.slice(0, -1)}" not supported: ${url}`, false);
  }
  return httpGet(u, tmp, opts, 0);
}

/** Verifies, counts and (for throttle) paces bytes on their way to the file. */
class Sink {
  private readonly hash: Hash | undefined;
  n = 0;
  private readonly started = Date.now();
  constructor(
    private readonly opts: FetchOptions,
    private readonly url: string,
    readonly total: number | undefined,
  ) {
    this.hash = opts.expect ? createHash(hashAlgorithm(opts.expect.type)) : undefined;
  }
  update(chunk: Buffer): void {
    this.hash?.update(chunk);
    this.n += chunk.length;
    this.opts.onProgress?.(this.n, this.total);
  }
  /** How long to pause to keep under the throttle. */
  delay(): number {
    const t = this.opts.throttle;
    if (!t) return 0;
    const ahead = (this.n / t) * 1000 - (Date.now() - this.started);
    return ahead > 0 ? ahead : 0;
  }
  /** Under minrate for the whole window. */
  tooSlow(): boolean {
    const m = this.opts.minrate;
    if (!m) return false;
    const elapsed = Date.now() - this.started;
    return elapsed >= (this.opts.minrateWindowMs ?? 30000) && (this.n * 1000) / elapsed < m;
  }
  finish(): void {
    const s = safeUrl(this.url);
    if (this.opts.size !== undefined && this.n !== this.opts.size) {
      throw new AttemptError(TDNF.CHECKSUM_VALIDATION_FAILED, `${s}: size mismatch: expected ${this.opts.size} bytes, got ${this.n}`, false, true);
    }
    if (this.hash && this.opts.expect) {
      const got = this.hash.digest('hex');
      if (got !== this.opts.expect.value.toLowerCase()) {
        throw new AttemptError(TDNF.CHECKSUM_VALIDATION_FAILED,
          `${s}: checksum mismatch: expected ${this.opts.expect.type}:${this.opts.expect.value}, got ${got}`, false, true);
      }
    }
  }
}

/** Pipes `src` through the sink into `tmp`, honouring throttle; resolves with the byte count. */
function pump(src: NodeJS.ReadableStream & { destroy(e?: Error): void; pause(): void; resume(): void }, tmp: string, sink: Sink): Promise<number> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(tmp, { mode: 0o644 });
    let failed = false;
    const fail = (e: unknown): void => {
      if (failed) return;
      failed = true;
      src.destroy();
      out.destroy();
      reject(e);
    };
    src.on('data', (chunk: Buffer) => {
      sink.update(chunk);
      if (sink.tooSlow()) {
        fail(curlError(CURLE.OPERATION_TIMEDOUT, 'Operation too slow: less than minrate bytes/sec transferred'));
        return;
      }
      if (!out.write(chunk)) {
        src.pause();
        out.once('drain', () => src.resume());
      }
      const d = sink.delay();
      if (d > 0) {
        src.pause();
        setTimeout(() => src.resume(), d);
      }
    });
    src.on('error', (e: Error) => fail(e instanceof AttemptError ? e : transportError(e as NodeJS.ErrnoException, '')));
    out.on('error', (e: Error) => fail(new AttemptError(CURL_ERROR_BASE + CURLE.WRITE_ERROR, `Failed writing received data to disk: ${e.message}`, false)));
    src.on('end', () => {
      if (failed) return;
      try {
        sink.finish();
      } catch (e) {
        fail(e);
        return;
      }
      out.end(() => resolve(sink.n));
    });
  });
}

async function copyLocal(path: string, url: string, tmp: string, opts: FetchOptions): Promise<number> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new AttemptError(CURL_ERROR_BASE + CURLE.FILE_COULDNT_READ_FILE, `Couldn't open file ${path}: ${e.code === 'ENOENT' ? 'No such file or directory' : e.message}`, false);
  });
  if (!st.isFile()) throw new AttemptError(CURL_ERROR_BASE + CURLE.FILE_COULDNT_READ_FILE, `Couldn't read file ${path}: not a regular file`, false);
  return pump(createReadStream(path), tmp, new Sink(opts, url, st.size));
}

function basic(user: string, pass: string | undefined): string {
  return 'Basic ' + Buffer.from(`${decodeURIComponent(user)}:${decodeURIComponent(pass ?? '')}`).toString('base64');
}

function readPem(path: string | undefined): Buffer | undefined {
  return path ? readFileSync(path) : undefined;
}

/** An https tunnel through an http proxy (CONNECT host:port). */
async function connectTunnel(proxy: URL, target: URL, opts: FetchOptions): Promise<Socket> {
  const http = await import('node:http');
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { host: `${target.hostname}:${target.port || 443}` };
    const pu = opts.proxyUsername ?? (proxy.username || undefined);
    if (pu) headers['proxy-authorization'] = basic(pu, opts.proxyPassword ?? proxy.password);
    const req = http.request({ host: proxy.hostname, port: proxy.port || 80, method: 'CONNECT', path: headers.host as string, headers });
    req.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(curlError(CURLE.COULDNT_CONNECT, `Received HTTP code ${res.statusCode} from proxy after CONNECT`, false));
      } else resolve(socket);
    });
    req.on('error', (e) => reject(transportError(e, proxy.href)));
    req.end();
  });
}

async function httpGet(u: URL, tmp: string, opts: FetchOptions, redirects: number): Promise<number> {
  if (redirects > 20) throw curlError(CURLE.TOO_MANY_REDIRECTS, `Maximum (20) redirects followed: ${safeUrl(u.href)}`, false);
  const isHttps = u.protocol === 'https:';
  // Loaded on first use: a run from file:// repositories or the cache never pays for them.
  const transport = isHttps ? await import('node:https') : await import('node:http');
  const headers: http.OutgoingHttpHeaders = { 'user-agent': opts.userAgent ?? 'tdnf', accept: '*/*' };
  const user = opts.username ?? (u.username || undefined);
  if (user) headers['authorization'] = basic(user, opts.password ?? u.password);
  const proxy = opts.proxy ? new URL(/^\w+:\/\//.test(opts.proxy) ? opts.proxy : `http://${opts.proxy}`) : undefined;
  const reqOpts: https.RequestOptions = {
    method: 'GET', host: u.hostname, port: u.port || (isHttps ? 443 : 80), path: u.pathname + u.search, headers,
  };
  if (isHttps) {
    reqOpts.rejectUnauthorized = opts.sslverify !== false;
    const ca = readPem(opts.sslcacert);
    const cert = readPem(opts.sslclientcert);
    const key = readPem(opts.sslclientkey);
    if (ca) reqOpts.ca = ca;
    if (cert) reqOpts.cert = cert;
    if (key) reqOpts.key = key;
    reqOpts.servername = u.hostname;
    if (proxy) {
      const socket = await connectTunnel(proxy, u, opts);
      const tls = await import('node:tls');
      reqOpts.createConnection = () => tls.connect({ socket, servername: u.hostname, rejectUnauthorized: opts.sslverify !== false, ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) });
    }
  } else if (proxy) {
    // Plain http through a proxy: the absolute URI as the request target.
    reqOpts.host = proxy.hostname;
    reqOpts.port = proxy.port || 80;
    reqOpts.path = u.href.replace(/\/\/[^/@]*@/, '//');
    headers['host'] = u.host;
    const pu = opts.proxyUsername ?? (proxy.username || undefined);
    if (pu) headers['proxy-authorization'] = basic(pu, opts.proxyPassword ?? proxy.password);
  }
  const timedOut = () => curlError(CURLE.OPERATION_TIMEDOUT, `Operation timed out after ${opts.timeoutMs} milliseconds: ${safeUrl(u.href)}`);
  let started: http.IncomingMessage | undefined;
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = transport.request(reqOpts, (r) => resolve((started = r)));
    req.on('error', (e: NodeJS.ErrnoException) => reject(e instanceof AttemptError ? e : transportError(e, safeUrl(u.href))));
    if (opts.timeoutMs) {
      // An idle socket times the request out; once the body is flowing, the body fails with the
      // same error (not as an aborted receive), whichever of this and the overall timer fires first.
      req.setTimeout(opts.timeoutMs, () => {
        const e = timedOut();
        started?.destroy(e);
        req.destroy(e);
      });
    }
    req.end();
  });
  const status = res.statusCode ?? 0;
  if (status >= 300 && status < 400 && res.headers.location) {
    res.resume();
    const next = new URL(res.headers.location, u);
    // Credentials go only to the host they were given for, as curl does without --location-trusted.
    const sameHost = next.host === u.host;
    return httpGet(next, tmp, sameHost ? opts : { ...opts, username: undefined, password: undefined }, redirects + 1);
  }
  if (status >= 400) {
    res.resume();
    // tdnf: "Error: 404 when downloading URL. Please check repo url …" with ERROR_TDNF_INVALID_PARAMETER.
    const retry = status >= 500 || status === 408 || status === 429;
    throw new AttemptError(TDNF.INVALID_PARAMETER,
      `Error: ${status} when downloading ${safeUrl(u.href)}. Please check repo url or refresh metadata with 'tdnf makecache'.`, retry);
  }
  const len = res.headers['content-length'];
  const total = len !== undefined ? Number(len) : undefined;
  const overall = opts.timeoutMs ? setTimeout(() => res.destroy(timedOut()), opts.timeoutMs) : undefined;
  try {
    const n = await pump(res, tmp, new Sink(opts, u.href, total));
    if (total !== undefined && n !== total) throw curlError(CURLE.PARTIAL_FILE, `Transferred a partial file: ${n} of ${total} bytes from ${safeUrl(u.href)}`);
    return n;
  } finally {
    if (overall) clearTimeout(overall);
  }
}

// --- metalink and mirrorlist ----------------------------------------------------------------------

export interface Metalink {
  /** URLs of repomd.xml, most preferred first. */
  urls: string[];
  /** Hashes of repomd.xml by type (sha256, sha512, …). */
  hashes: Checksum[];
  size?: number;
}

function unescapeXml(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e]!);
}

/**
 * Reads a metalink document (metalink 3.0 as MirrorManager serves, or 4): the <file> named
 * repomd.xml, its <hash>es, <size> and <url>s ordered by preference / priority.
 */
export function parseMetalink(text: string, file = 'metalink'): Metalink {
  const fm = /<file\b[^>]*\bname\s*=\s*["']repomd\.xml["'][^>]*>([\s\S]*?)<\/file>/.exec(text);
  if (!fm) throw new TdnfError(TDNF.METALINK_RESOURCE_VALIDATION_FAILED, `${file}: no <file name="repomd.xml"> in metalink`);
  const body = fm[1]!;
  const hashes: Checksum[] = [];
  for (const m of body.matchAll(/<hash\b[^>]*\btype\s*=\s*["']([^"']+)["'][^>]*>\s*([0-9a-fA-F]+)\s*<\/hash>/g)) {
    const type = m[1]!.toLowerCase().replace('-', '');
    if (['md5', 'sha1', 'sha256', 'sha512'].includes(type)) hashes.push({ type, value: m[2]!.toLowerCase() });
  }
  const sm = /<size>\s*(\d+)\s*<\/size>/.exec(body);
  const urls: { url: string; pref: number; i: number }[] = [];
  let i = 0;
  for (const m of body.matchAll(/<url\b([^>]*)>\s*([^<]+?)\s*<\/url>/g)) {
    const attrs = m[1]!;
    const pref = /\bpreference\s*=\s*["'](\d+)["']/.exec(attrs);
    const prio = /\bpriority\s*=\s*["'](\d+)["']/.exec(attrs);
    const url = unescapeXml(m[2]!);
    if (!/^(https?|file):\/\//.test(url)) continue;
    // metalink 3 preference: higher first; metalink 4 priority: lower first.
    urls.push({ url, pref: pref ? Number(pref[1]) : prio ? 1000 - Number(prio[1]) : 0, i: i++ });
  }
  if (urls.length === 0) throw new TdnfError(TDNF.METALINK_RESOURCE_VALIDATION_FAILED, `${file}: no usable <url> in metalink`);
  urls.sort((a, b) => b.pref - a.pref || a.i - b.i);
  const out: Metalink = { urls: urls.map((u) => u.url), hashes };
  if (sm) out.size = Number(sm[1]);
  return out;
}

/** A mirrorlist: one URL per line; blank lines and '#' comments skipped. */
export function parseMirrorlist(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

/** The repository base URL of a metalink's repomd.xml URL. */
export function baseOfRepomdUrl(url: string): string {
  return url.replace(/\/?repodata\/repomd\.xml$/, '');
}

/** `base` + `/` + `rel` without doubling or losing the slash. */
export function joinUrl(base: string, rel: string): string {
  return base.endsWith('/') ? base + rel.replace(/^\/+/, '') : `${base}/${rel.replace(/^\/+/, '')}`;
}

// --- parallel downloads -----------------------------------------------------------------------

export interface FetchItem {
  urls: readonly string[];
  dest: string;
  opts?: FetchOptions;
}

/**
 * Runs fetchFile over `items`, `parallel` at a time (default 4). Results are in item order. On
 * the first failure no new download starts; those running finish, then that failure is thrown.
 */
export async function fetchAll(items: readonly FetchItem[], options: { parallel?: number; opts?: FetchOptions } = {}): Promise<FetchResult[]> {
  const results: FetchResult[] = new Array(items.length);
  let next = 0;
  let failure: { e: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const i = next++;
      const it = items[i]!;
      try {
        results[i] = await fetchFile(it.urls, it.dest, { ...options.opts, ...it.opts });
      } catch (e) {
        failure ??= { e };
      }
    }
  };
  const n = Math.max(1, Math.min(options.parallel ?? 4, items.length));
  await Promise.all(Array.from({ length: n }, worker));
  if (failure) throw failure.e;
  return results;
}
