import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** One file of a fake repository; `lfs` files are served the way the hub serves LFS (redirect to a CDN path). */
export interface FakeFile {
  data: Buffer;
  lfs: boolean;
}

export interface FakeRepo {
  id: string;
  commit: string;
  files: Map<string, FakeFile>;
  /** A gated repo: its API and resolve endpoints answer 401 unless this token is sent. */
  token?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  range?: string;
  authorization?: string;
}

export interface FakeHub {
  url: string;
  requests: RecordedRequest[];
  /** Paths whose next whole-body download is cut after half the bytes (once each). */
  cutOnce: Set<string>;
  /** Paths served with one byte flipped near the end (past the safetensors header). */
  corrupt: Set<string>;
  close(): Promise<void>;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** git's blob id: what the hub reports as `oid` (and ETag) of a regular file. */
export function gitOid(data: Buffer): string {
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

/** A fake repo mounting real files from a folder; `.safetensors` files are LFS, as on the hub. */
export function repoFromDir(id: string, dir: string, names: string[]): FakeRepo {
  const files = new Map<string, FakeFile>();
  for (const name of names) files.set(name, { data: readFileSync(join(dir, name)), lfs: name.endsWith('.safetensors') });
  return { id, commit: createHash('sha1').update(`commit of ${id}`).digest('hex'), files };
}

function etagOf(f: FakeFile): string {
  return f.lfs ? sha256(f.data) : gitOid(f.data);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function notFound(res: ServerResponse, code: string): void {
  sendJson(res, 404, { error: `${code}` }, { 'X-Error-Code': code });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/**
 * A local stand-in for the hub endpoints @huggingface/hub calls: model info (revision → sha),
 * paths-info, raw HEAD, resolve (HEAD/GET, ranges, redirect for LFS files) and the CDN path.
 */
export async function startFakeHub(repos: FakeRepo[]): Promise<FakeHub> {
  const requests: RecordedRequest[] = [];
  const cutOnce = new Set<string>();
  const corrupt = new Set<string>();
  const byId = new Map(repos.map((r) => [r.id, r]));

  function serveBytes(req: IncomingMessage, res: ServerResponse, repo: FakeRepo, path: string, f: FakeFile): void {
    let data = f.data;
    if (corrupt.has(path)) {
      data = Buffer.from(data);
      data[data.length - 3] = data[data.length - 3]! ^ 0xff;
    }
    const etag = `"${etagOf(f)}"`;
    const headers: Record<string, string> = {
      ETag: etag,
      'X-Repo-Commit': repo.commit,
      'Accept-Ranges': 'bytes',
      'Content-Type': 'application/octet-stream',
    };
    const range = req.headers.range;
    const ifRange = req.headers['if-range'];
    const m = typeof range === 'string' ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    if (m && (ifRange === undefined || ifRange === etag)) {
      const start = Number(m[1]);
      const end = m[2] ? Math.min(Number(m[2]), data.length - 1) : data.length - 1;
      if (start >= data.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${data.length}` });
        res.end();
        return;
      }
      res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${data.length}`, 'Content-Length': String(end - start + 1) });
      res.end(req.method === 'HEAD' ? undefined : data.subarray(start, end + 1));
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(data.length) });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (cutOnce.delete(path)) {
      res.write(data.subarray(0, data.length >> 1), () => res.destroy());
      return;
    }
    res.end(data);
  }

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const range = req.headers.range;
      const authorization = req.headers.authorization;
      requests.push({
        method: req.method ?? 'GET',
        path: decodeURIComponent(url.pathname),
        ...(typeof range === 'string' && { range }),
        ...(authorization !== undefined && { authorization }),
      });
      const parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
      const target = byId.get(parts[0] === 'api' ? `${parts[2]}/${parts[3]}` : `${parts[0]}/${parts[1]}`);
      if (target?.token !== undefined && authorization !== `Bearer ${target.token}`) {
        return sendJson(res, 401, { error: `Access to model ${target.id} is restricted. You must have access to it and be authenticated to access it.` });
      }

      // GET /api/models/{org}/{name}/revision/{rev}
      if (parts[0] === 'api' && parts[1] === 'models' && parts[4] === 'revision') {
        const repo = byId.get(`${parts[2]}/${parts[3]}`);
        if (!repo) return notFound(res, 'RepoNotFound');
        const rev = parts.slice(5).join('/');
        if (rev !== 'main' && rev !== repo.commit) return notFound(res, 'RevisionNotFound');
        return sendJson(res, 200, {
          _id: `id-${repo.id}`,
          id: repo.id,
          sha: repo.commit,
          private: false,
          gated: false,
          downloads: 0,
          likes: 0,
          pipeline_tag: 'text-generation',
          lastModified: '2026-01-01T00:00:00.000Z',
          siblings: [...repo.files.keys()].map((rfilename) => ({ rfilename })),
        });
      }
      // POST /api/models/{org}/{name}/paths-info/{rev}
      if (parts[0] === 'api' && parts[1] === 'models' && parts[4] === 'paths-info' && req.method === 'POST') {
        const repo = byId.get(`${parts[2]}/${parts[3]}`);
        if (!repo) return notFound(res, 'RepoNotFound');
        const body = JSON.parse(await readBody(req)) as { paths: string[] };
        const out = body.paths
          .filter((p) => repo.files.has(p))
          .map((p) => {
            const f = repo.files.get(p)!;
            return {
              type: 'file',
              path: p,
              oid: f.lfs ? gitOid(Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(f.data)}\nsize ${f.data.length}\n`)) : gitOid(f.data),
              size: f.data.length,
              ...(f.lfs && { lfs: { oid: sha256(f.data), size: f.data.length, pointerSize: 134 } }),
              lastCommit: { id: repo.commit, title: 'add model', date: '2026-01-01T00:00:00.000Z' },
            };
          });
        return sendJson(res, 200, out);
      }
      // GET /cdn/{org}/{name}/{path}: where the hub redirects LFS downloads
      if (parts[0] === 'cdn') {
        const repo = byId.get(`${parts[1]}/${parts[2]}`);
        const path = parts.slice(3).join('/');
        const f = repo?.files.get(path);
        if (!repo || !f) return notFound(res, 'EntryNotFound');
        return serveBytes(req, res, repo, path, f);
      }
      // {org}/{name}/{raw|resolve}/{rev}/{path}
      const repo = byId.get(`${parts[0]}/${parts[1]}`);
      if (!repo || (parts[2] !== 'raw' && parts[2] !== 'resolve')) return notFound(res, 'RepoNotFound');
      const rev = parts[3];
      if (rev !== 'main' && rev !== repo.commit) return notFound(res, 'RevisionNotFound');
      const path = parts.slice(4).join('/');
      const f = repo.files.get(path);
      if (!f) return notFound(res, 'EntryNotFound');
      if (parts[2] === 'resolve' && f.lfs) {
        res.writeHead(302, {
          Location: `/cdn/${repo.id}/${path}`,
          ETag: `"${gitOid(f.data)}"`,
          'X-Linked-Etag': `"${sha256(f.data)}"`,
          'X-Linked-Size': String(f.data.length),
          'X-Repo-Commit': repo.commit,
        });
        res.end();
        return;
      }
      return serveBytes(req, res, repo, path, f);
    })().catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    cutOnce,
    corrupt,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
