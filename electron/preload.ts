/**
 * The renderer's only door to the engine: window.pairmux, exactly the
 * RendererBridge of protocol/api.ts, carried over IPC. ipcRenderer itself
 * and IPC event objects never reach the page.
 *
 * Bundled by build/bundle.mjs to dist/electron/preload.cjs (a sandboxed
 * preload must be CommonJS and may require only 'electron').
 *
 * Failures reject with a plain `{ code, message }` object (ApiError), not an
 * Error: contextBridge copies an Error's message but drops its `code`, while
 * a plain object crosses intact. The renderer reads `e.code` and `e.message`.
 */
import { contextBridge, ipcRenderer } from 'electron';
import type { IpcRendererEvent } from 'electron';
import { ENGINE_METHODS, IpcChannel } from '../protocol/api.js';
import type { ApiError, CarrierRequest, CarrierResponse, EngineApi, EngineEvent, EngineMethod, RendererBridge } from '../protocol/api.js';

/** Code for a request the main process refused or could not answer (not an engine error). */
const IPC_FAILED = 'E_IPC';

let nextId = 1;

async function invoke(method: EngineMethod, args: unknown[]): Promise<unknown> {
  const req: CarrierRequest = { id: nextId++, method, args };
  let res: CarrierResponse;
  try {
    res = (await ipcRenderer.invoke(IpcChannel.invoke, req)) as CarrierResponse;
  } catch (e) {
    const failure: ApiError = { code: IPC_FAILED, message: e instanceof Error ? e.message : String(e) };
    throw failure;
  }
  if (res.ok) return res.value;
  const failure: ApiError = { code: res.error.code, message: res.error.message };
  throw failure;
}

/**
 * One function per method of ENGINE_METHODS: the same list the main process
 * accepts, so a method added to the API is carried without touching this file.
 */
const api = Object.fromEntries(ENGINE_METHODS.map((method) => [method, (...args: unknown[]) => invoke(method, args)])) as unknown as EngineApi;

const bridge: RendererBridge = {
  ...api,
  onEvent(listener) {
    if (typeof listener !== 'function') throw new TypeError('onEvent needs a listener function');
    // Only the payload is passed on: the IPC event object would expose `sender` (ipcRenderer).
    const relay = (_event: IpcRendererEvent, payload: EngineEvent) => listener(payload);
    ipcRenderer.on(IpcChannel.event, relay);
    return () => {
      ipcRenderer.removeListener(IpcChannel.event, relay);
    };
  },
};

contextBridge.exposeInMainWorld('pairmux', bridge);
