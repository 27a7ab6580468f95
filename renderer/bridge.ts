/**
 * The renderer's only way to the engine: the preload's `window.pairmux` in
 * Electron, or the same contract over a WebSocket (tests, `pairmux ui`).
 */
import { ENGINE_METHODS, type ApiError, type CarrierResponse, type EngineApi, type EngineEvent, type RendererBridge } from '../protocol/api.js';

declare global {
  interface Window {
    pairmux?: RendererBridge;
  }
}

export function connectBridge(): Promise<RendererBridge> {
  if (window.pairmux) return Promise.resolve(window.pairmux);
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api?token=${encodeURIComponent(token)}`);
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: ApiError) => void }>();
  const listeners = new Set<(e: EngineEvent) => void>();
  let nextId = 1;
  ws.onmessage = (m) => {
    const msg = JSON.parse(String(m.data)) as CarrierResponse | { event: EngineEvent };
    if ('event' in msg) {
      for (const l of listeners) l(msg.event);
      return;
    }
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.ok) p?.resolve(msg.value);
    else p?.reject(msg.error);
  };
  ws.onclose = () => {
    for (const p of pending.values()) p.reject({ code: 'E_DISCONNECTED', message: 'lost the connection to the engine' });
    pending.clear();
  };
  const call = (method: keyof EngineApi) => (...args: unknown[]) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, args }));
    });
  const bridge = Object.fromEntries(ENGINE_METHODS.map((m) => [m, call(m)])) as unknown as RendererBridge;
  bridge.onEvent = (l) => {
    listeners.add(l);
    return () => listeners.delete(l);
  };
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(bridge);
    ws.onerror = () => reject(new Error('cannot reach the pairmux engine'));
  });
}

/** A person-readable message from whatever a bridge call rejected with. */
export function errorText(e: unknown): string {
  if (e && typeof e === 'object' && 'message' in e) return String((e as ApiError).message);
  return String(e);
}
