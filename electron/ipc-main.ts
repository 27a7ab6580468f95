/**
 * The main process's boundary with the renderer: the IPC carrier of the app
 * API (protocol/api.ts) and the app:// scheme that serves the UI's files.
 * Everything the renderer sends is untrusted here: the sender is checked,
 * the request shape is checked, and the engine validates the arguments.
 *
 * Electron is imported for types only, so these functions run under vitest
 * without the Electron binary; main.ts hands in the live objects.
 */
import { readFile } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { ENGINE_METHODS, IpcChannel } from '../protocol/api.js';
import type { ApiError, CarrierResponse, EngineApi, EngineEvent, EngineMethod } from '../protocol/api.js';
import { ErrorCode, PairmuxError } from '../protocol/errors.js';

/** The renderer's origin. A standard, secure custom scheme: not file://, so the page gets no file access. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'pairmux';
export const APP_URL = `${APP_SCHEME}://${APP_HOST}/`;

/** No API method takes more than two arguments; four leaves room without letting a caller send a long list. */
export const MAX_ARGS = 4;

/** Sent with every app:// response. The UI needs inline styles (xterm.js sets them) and nothing remote. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Error code for a failure that is not one of the engine's named errors (a bug, not bad input). */
export const INTERNAL_ERROR = 'E_INTERNAL';

/** What the IPC handler needs of an engine: the API and an event stream. */
export interface EngineLike extends EngineApi {
  on(event: 'event', listener: (e: EngineEvent) => void): unknown;
  off(event: 'event', listener: (e: EngineEvent) => void): unknown;
}

/** The one engine per window, found by the window's webContents id. */
export type EngineRegistry = Pick<ReadonlyMap<number, EngineLike>, 'get'>;

export function isAppUrl(url: string): boolean {
  return url.startsWith(APP_URL);
}

/**
 * The engine of the window that sent `event`, if the message came from that
 * window's own top-level frame showing our UI. Anything else (a subframe, a
 * page that navigated away, an unknown webContents) is refused.
 */
export function senderEngine(event: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>, engines: EngineRegistry): EngineLike {
  const frame = event.senderFrame;
  const engine = engines.get(event.sender.id);
  const main = event.sender.mainFrame;
  const trusted =
    engine !== undefined &&
    frame !== null &&
    frame.parent === null &&
    frame.frameTreeNodeId === main.frameTreeNodeId &&
    isAppUrl(frame.url);
  if (!trusted) throw new PairmuxError(ErrorCode.Forbidden, 'IPC from an unknown window or frame was refused');
  return engine;
}

function isEngineMethod(m: unknown): m is EngineMethod {
  return typeof m === 'string' && (ENGINE_METHODS as readonly string[]).includes(m);
}

export function toApiError(e: unknown): ApiError {
  if (e instanceof PairmuxError) return { code: e.code, message: e.message };
  const message = e instanceof Error ? e.message : String(e);
  return { code: INTERNAL_ERROR, message: message || 'internal error' };
}

/**
 * Run one carrier request against an engine. Only the API's own methods can
 * be called (not `dispose`, `emit` or anything inherited); the engine checks
 * the arguments themselves.
 */
export async function dispatch(engine: EngineApi, req: unknown): Promise<CarrierResponse> {
  const r = (typeof req === 'object' && req !== null ? req : {}) as Record<string, unknown>;
  const id = typeof r.id === 'number' && Number.isFinite(r.id) ? r.id : 0;
  if (!isEngineMethod(r.method)) {
    return { id, ok: false, error: { code: ErrorCode.BadCommand, message: `unknown method: ${String(r.method).slice(0, 64)}` } };
  }
  if (!Array.isArray(r.args) || r.args.length > MAX_ARGS) {
    return { id, ok: false, error: { code: ErrorCode.BadCommand, message: `${r.method} needs an argument list of at most ${MAX_ARGS} items` } };
  }
  const method = engine[r.method] as (...args: unknown[]) => Promise<unknown>;
  try {
    const value = await method.apply(engine, r.args);
    return { id, ok: true, value };
  } catch (e) {
    if (!(e instanceof PairmuxError)) console.error(`pairmux: ${r.method} failed`, e);
    return { id, ok: false, error: toApiError(e) };
  }
}

/** Serve the app API on IpcChannel.invoke. Returns a function that removes the handler. */
export function registerInvokeHandler(ipcMain: IpcMain, engines: EngineRegistry): () => void {
  ipcMain.handle(IpcChannel.invoke, (event, req: unknown) => {
    // An untrusted sender gets a thrown error (a rejected invoke), never an engine.
    const engine = senderEngine(event, engines);
    return dispatch(engine, req);
  });
  return () => ipcMain.removeHandler(IpcChannel.invoke);
}

/**
 * Forward an engine's events to its window. The engine already batches pane
 * output (16 ms / 200 KB), so each event is one message. Returns an unsubscribe.
 */
export function forwardEvents(engine: EngineLike, contents: Pick<WebContents, 'send' | 'isDestroyed'>): () => void {
  const listener = (e: EngineEvent) => {
    if (!contents.isDestroyed()) contents.send(IpcChannel.event, e);
  };
  engine.on('event', listener);
  return () => {
    engine.off('event', listener);
  };
}

// ---- app:// scheme ----

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

export function contentType(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The file under `root` that an app:// URL names, or null if the URL is not
 * ours or points outside `root` (`..`, encoded separators, absolute paths).
 */
export function resolveAppFile(root: string, url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.hostname !== APP_HOST) return null;
  let path: string;
  try {
    path = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  if (path.includes('\0')) return null;
  if (path === '/' || path === '') path = '/index.html';
  const base = resolve(root);
  const file = resolve(base, `.${path}`);
  const rel = relative(base, file);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) return null;
  return file;
}

function textResponse(status: number, text: string): Response {
  return new Response(text, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Security-Policy': CONTENT_SECURITY_POLICY } });
}

/** The protocol.handle handler for app://: files from `root` only, each with the CSP. */
export function appFileHandler(root: string): (request: Pick<Request, 'url' | 'method'>) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return textResponse(405, 'method not allowed');
    const file = resolveAppFile(root, request.url);
    if (!file) return textResponse(404, 'not found');
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return textResponse(404, 'not found');
    }
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), {
      status: 200,
      headers: {
        'Content-Type': contentType(file),
        'Content-Security-Policy': CONTENT_SECURITY_POLICY,
        'X-Content-Type-Options': 'nosniff',
        'Cache-Control': 'no-cache',
      },
    });
  };
}
