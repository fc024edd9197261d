import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
};

/**
 * Serve a fixed set of files under a URL prefix (`/static/…`), read once at start: only files that
 * exist at start are reachable (no path traversal, no directory listing). `files` maps URL paths to
 * absolute file paths; `addDirectory` adds every file of a folder.
 */
export function createStaticFiles() {
  const files = new Map<string, { body: Buffer; type: string; etag: string }>();
  return {
    addFile(urlPath: string, filePath: string) {
      const body = readFileSync(filePath);
      const type = TYPES[path.extname(filePath)] ?? 'application/octet-stream';
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
      files.set(urlPath, { body, type, etag });
    },
    addDirectory(urlPrefix: string, directory: string) {
      for (const name of readdirSync(directory, { recursive: true }) as string[]) {
        const full = path.join(directory, name);
        if (statSync(full).isFile()) this.addFile(`${urlPrefix}/${name.split(path.sep).join('/')}`, full);
      }
    },
    register(app: FastifyInstance, prefix = '/static') {
      app.get(`${prefix}/*`, async (request, reply) => {
        const urlPath = (request.raw.url ?? '').split('?')[0] ?? '';
        const file = files.get(urlPath);
        if (!file) return reply.callNotFound();
        reply.header('cache-control', 'public, max-age=3600').header('etag', file.etag).type(file.type);
        if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
        return reply.send(file.body);
      });
    },
  };
}

export type StaticFiles = ReturnType<typeof createStaticFiles>;
