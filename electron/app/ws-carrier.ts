/**
 * The API carried over a WebSocket instead of Electron IPC: serves the built
 * renderer (dist/renderer) over HTTP on loopback and speaks the same
 * CarrierRequest/CarrierResponse/EngineEvent messages as the preload does.
 * Used by the tests (real Chromium against a real engine process) and by
 * `pairmux ui` (the UI in a local browser).
 *
 * A random token in the URL is required for the WebSocket: anything else on
 * this machine that can reach the port must not get a shell through it.
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { extname, join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { ENGINE_METHODS, type CarrierRequest, type CarrierResponse, type EngineEvent } from '../../protocol/api.js';
import type { AppEngine } from './engine.js';

export const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export interface WsCarrier {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function serveUi(engine: AppEngine, opts: { rendererDir: string; port?: number; host?: string }): Promise<WsCarrier> {
  const token = randomBytes(16).toString('hex');
  const root = normalize(opts.rendererDir);
  const http: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
    const file = normalize(join(root, rel));
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-security-policy': CSP, 'cache-control': 'no-store' });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  const wss = new WebSocketServer({ server: http, path: '/api', maxPayload: 4 * 1024 * 1024 });
  wss.on('connection', (ws, req) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.searchParams.get('token') !== token) {
      ws.close(4401, 'bad token');
      return;
    }
    const onEvent = (e: EngineEvent) => ws.send(JSON.stringify({ event: e }));
    engine.on('event', onEvent);
    ws.on('close', () => engine.off('event', onEvent));
    ws.on('message', async (raw) => {
      let req: CarrierRequest;
      try {
        req = JSON.parse(raw.toString()) as CarrierRequest;
      } catch {
        return;
      }
      let res: CarrierResponse;
      try {
        if (!ENGINE_METHODS.includes(req.method) || !Array.isArray(req.args) || req.args.length > 4) throw Object.assign(new Error('unknown request'), { code: 'E_BAD_COMMAND' });
        const fn = engine[req.method] as (...a: unknown[]) => Promise<unknown>;
        res = { id: req.id, ok: true, value: await fn.apply(engine, req.args) };
      } catch (e) {
        const err = e as { code?: string; message?: string };
        res = { id: req.id, ok: false, error: { code: err.code ?? 'E_INTERNAL', message: err.message ?? String(e) } };
      }
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(res));
    });
  });
  await new Promise<void>((resolve) => http.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}/?token=${token}`,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
