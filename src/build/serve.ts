/**
 * `photon repo serve`: the stage over HTTP for installs and image builds. Loopback by default;
 * files only (no listings), GET and HEAD, paths confined to the stage.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import { join, normalize, resolve, sep } from 'node:path';

export interface ServeOptions {
  root: string;
  host?: string | undefined;
  port?: number | undefined;
  log?: ((line: string) => void) | undefined;
}

const TYPES: Record<string, string> = {
  '.xml': 'application/xml',
  '.gz': 'application/gzip',
  '.zst': 'application/zstd',
  '.rpm': 'application/x-rpm',
  '.asc': 'text/plain',
};

export async function serveRepo(options: ServeOptions): Promise<{ server: Server; url: string }> {
  const root = resolve(options.root);
  const server = createServer((req, res) => {
    const done = (code: number, text: string) => {
      res.writeHead(code, { 'content-type': 'text/plain' }).end(`${text}\n`);
      options.log?.(`${req.method} ${req.url} ${code}`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return done(405, 'method not allowed');
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return done(400, 'bad path');
    }
    const file = normalize(join(root, path));
    if (file !== root && !file.startsWith(root + sep)) return done(403, 'forbidden');
    stat(file).then(
      (st) => {
        if (!st.isFile()) return done(404, 'not found');
        const ext = /\.[a-z0-9]+$/.exec(file)?.[0] ?? '';
        res.writeHead(200, { 'content-type': TYPES[ext] ?? 'application/octet-stream', 'content-length': st.size, 'last-modified': st.mtime.toUTCString() });
        options.log?.(`${req.method} ${req.url} 200`);
        if (req.method === 'HEAD') return res.end();
        createReadStream(file).on('error', () => res.destroy()).pipe(res);
      },
      () => done(404, 'not found'),
    );
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 8080, host, () => ok());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/` };
}
