/**
 * The Electron side cannot run here (no Electron binary), so it is held in
 * place three ways:
 * - the entry points typecheck against electron's own typings
 *   (tsconfig.electron.json);
 * - the security baseline (DESIGN.md) is asserted on the source text, a guard
 *   against a well-meant edit turning a setting off;
 * - the boundary (electron/ipc-main.ts, electron-free), and main.ts and the
 *   preload with 'electron' replaced by a recording fake, are run for real.
 *
 * (Four concerns in one file only because this change could add no more test
 * files; they split cleanly into electron-typecheck / -ipc / -main / -preload.)
 */
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ENGINE_METHODS, IpcChannel } from '../../protocol/api.js';
import type { CarrierResponse, EngineEvent, RendererBridge } from '../../protocol/api.js';
import { ErrorCode, PairmuxError } from '../../protocol/errors.js';
import {
  APP_URL,
  CONTENT_SECURITY_POLICY,
  INTERNAL_ERROR,
  appFileHandler,
  dispatch,
  forwardEvents,
  registerInvokeHandler,
  resolveAppFile,
  senderEngine,
} from '../../electron/ipc-main.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const source = (file: string) => readFileSync(join(root, file), 'utf8');
/** Source without comments, so a setting in a comment does not count. */
const code = (file: string) =>
  source(file)
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');

// main.ts and the preload are loaded with a fake 'electron' (the real one
// needs the binary). It records what the app asks of Electron.
const fake = vi.hoisted(() => {
  type Listener = (...args: unknown[]) => unknown;
  class Emitter {
    readonly handlers = new Map<string, Listener[]>();
    on(name: string, l: Listener) {
      this.handlers.set(name, [...(this.handlers.get(name) ?? []), l]);
      return this;
    }
    once(name: string, l: Listener) {
      return this.on(name, l);
    }
    emit(name: string, ...args: unknown[]) {
      for (const l of this.handlers.get(name) ?? []) l(...args);
    }
  }
  const app = Object.assign(new Emitter(), {
    isPackaged: false,
    userData: '',
    sandboxed: false,
    readyAsked: false,
    enableSandbox() {
      app.sandboxed = true;
    },
    requestSingleInstanceLock: () => true,
    quit: () => {},
    isReady: () => true,
    getPath: (name: string) => (name === 'userData' ? app.userData : ''),
    whenReady() {
      app.readyAsked = true;
      return Promise.resolve();
    },
  });
  let nextContentsId = 1;
  class WebContents extends Emitter {
    readonly id = nextContentsId++;
    readonly mainFrame = { frameTreeNodeId: 1 };
    readonly sent: unknown[][] = [];
    destroyed = false;
    openHandler: (() => unknown) | undefined;
    setWindowOpenHandler(h: () => unknown) {
      this.openHandler = h;
    }
    send(...args: unknown[]) {
      this.sent.push(args);
    }
    isDestroyed() {
      return this.destroyed;
    }
  }
  const windows: BrowserWindow[] = [];
  class BrowserWindow extends Emitter {
    readonly webContents = new WebContents();
    loaded: string | undefined;
    constructor(readonly options: Record<string, unknown>) {
      super();
      windows.push(this);
      app.emit('web-contents-created', {}, this.webContents);
    }
    loadURL(url: string) {
      this.loaded = url;
      return Promise.resolve();
    }
    close() {
      this.webContents.destroyed = true;
      this.emit('closed');
    }
    isDestroyed = () => this.webContents.destroyed;
    show() {}
    focus() {}
    restore() {}
    isMinimized = () => false;
    setBackgroundColor() {}
  }
  const listeners = new Map<string, Set<(...args: unknown[]) => void>>();
  return {
    app,
    BrowserWindow,
    windows,
    schemes: [] as unknown[],
    schemesBeforeReady: false,
    protocolHandlers: new Map<string, (req: { url: string; method: string }) => Promise<Response>>(),
    ipcHandlers: new Map<string, Listener>(),
    permissions: {} as { request?: Listener; check?: Listener; device?: Listener },
    menu: undefined as unknown,
    showMessageBox: vi.fn(async (_window: unknown, _options: Record<string, unknown>) => ({ response: 1 })),
    openExternal: vi.fn(async (_url: string) => {}),
    // preload side
    exposed: new Map<string, unknown>(),
    invoke: vi.fn<(channel: string, req: unknown) => Promise<unknown>>(),
    listeners,
    emit(channel: string, ...args: unknown[]) {
      for (const l of listeners.get(channel) ?? []) l(...args);
    },
  };
});
vi.mock('electron', () => ({
  app: fake.app,
  BrowserWindow: fake.BrowserWindow,
  protocol: {
    registerSchemesAsPrivileged(schemes: unknown[]) {
      fake.schemes = schemes;
      fake.schemesBeforeReady = !fake.app.readyAsked;
    },
    handle: (scheme: string, h: (req: { url: string; method: string }) => Promise<Response>) => fake.protocolHandlers.set(scheme, h),
  },
  session: {
    defaultSession: {
      setPermissionRequestHandler: (h: (...a: unknown[]) => unknown) => (fake.permissions.request = h),
      setPermissionCheckHandler: (h: (...a: unknown[]) => unknown) => (fake.permissions.check = h),
      setDevicePermissionHandler: (h: (...a: unknown[]) => unknown) => (fake.permissions.device = h),
    },
  },
  ipcMain: {
    handle: (channel: string, h: (...a: unknown[]) => unknown) => fake.ipcHandlers.set(channel, h),
    removeHandler: (channel: string) => fake.ipcHandlers.delete(channel),
  },
  Menu: { buildFromTemplate: (t: unknown) => t, setApplicationMenu: (m: unknown) => (fake.menu = m) },
  nativeTheme: { shouldUseDarkColors: true, on: () => {} },
  dialog: { showMessageBox: fake.showMessageBox },
  shell: { openExternal: fake.openExternal },
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => fake.exposed.set(key, api) },
  ipcRenderer: {
    invoke: (channel: string, req: unknown) => fake.invoke(channel, req),
    on(channel: string, l: (...args: unknown[]) => void) {
      if (!fake.listeners.has(channel)) fake.listeners.set(channel, new Set());
      fake.listeners.get(channel)!.add(l);
    },
    removeListener(channel: string, l: (...args: unknown[]) => void) {
      fake.listeners.get(channel)?.delete(l);
    },
  },
}));

describe('tsc -p tsconfig.electron.json', () => {
  it('typechecks main, preload and ipc against electron.d.ts', () => {
    try {
      execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.electron.json'], {
        cwd: root,
        timeout: 120_000,
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; message: string };
      expect.fail(`tsc failed:\n${err.stdout ?? ''}${err.stderr ?? ''}${err.stdout || err.stderr ? '' : err.message}`);
    }
  }, 130_000);
});

describe('security baseline (source guards)', () => {
  const main = code('electron/main.ts');
  const preload = code('electron/preload.ts');
  const ipc = code('electron/ipc-main.ts');

  it('creates windows with isolation, sandbox and no Node', () => {
    const prefs = /webPreferences:\s*\{([^}]*)\}/.exec(main)?.[1];
    expect(prefs, 'webPreferences block in electron/main.ts').toBeDefined();
    expect(prefs).toMatch(/contextIsolation:\s*true/);
    expect(prefs).toMatch(/sandbox:\s*true/);
    expect(prefs).toMatch(/nodeIntegration:\s*false/);
    expect(prefs).toMatch(/webSecurity:\s*true/);
    expect(prefs).toMatch(/preload:\s*PRELOAD/);
    expect(main).toMatch(/new URL\('\.\/preload\.cjs', import\.meta\.url\)/);
    expect(main).toMatch(/app\.enableSandbox\(\)/);
    for (const file of ['electron/main.ts', 'electron/preload.ts', 'electron/ipc-main.ts']) {
      const text = code(file);
      expect(text, file).not.toMatch(/nodeIntegration:\s*true|contextIsolation:\s*false|sandbox:\s*false|webSecurity:\s*false/);
      expect(text, file).not.toMatch(/sendSync|executeJavaScript|allowRunningInsecureContent:\s*true/);
    }
  });

  it('denies navigation, new windows, webviews and permissions', () => {
    expect(main).toMatch(/setWindowOpenHandler\(\(\)\s*=>\s*\(\{\s*action:\s*'deny'\s*\}\)\)/);
    expect(main).toMatch(/'will-navigate',\s*\(event\)\s*=>\s*\{\s*if\s*\(!isAppUrl\(event\.url\)\)\s*event\.preventDefault\(\)/);
    expect(main).toMatch(/'will-attach-webview',\s*\(event\)\s*=>\s*event\.preventDefault\(\)/);
    expect(main).toMatch(/app\.on\('web-contents-created',\s*\(_event, contents\)\s*=>\s*lockDown\(contents\)\)/);
    expect(main).toMatch(/setPermissionRequestHandler\(\(_contents, permission, callback\)\s*=>\s*callback\(permission === ALLOWED_PERMISSION\)\)/);
    expect(main).toMatch(/const ALLOWED_PERMISSION = 'clipboard-sanitized-write'/);
  });

  it('serves the UI over app:// with the strict CSP, not file://', () => {
    expect(CONTENT_SECURITY_POLICY).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(ipc).toContain("'Content-Security-Policy': CONTENT_SECURITY_POLICY");
    expect(main).toMatch(/registerSchemesAsPrivileged\(\[\{ scheme: APP_SCHEME, privileges: \{ standard: true, secure: true, supportFetchAPI: true \} \}\]\)/);
    expect(main).toMatch(/protocol\.handle\(APP_SCHEME, appFileHandler\(RENDERER_ROOT\)\)/);
    expect(main).toMatch(/loadURL\(`\$\{APP_URL\}index\.html`\)/);
    expect(main).not.toMatch(/loadFile|file:\/\//);
    expect(APP_URL).toBe('app://pairmux/');
  });

  it('checks every IPC sender and opens links only after confirmation', () => {
    expect(ipc).toMatch(/const engine = senderEngine\(event, engines\);/);
    expect(main).toMatch(/forwardEvents\(engine, contents\)/);
    expect(main).toMatch(/registerInvokeHandler\(ipcMain, engineByContents\)/);
    expect(main).toMatch(/dialog\.showMessageBox/);
    expect(main).toMatch(/if \(response !== 0\) return false;\s*await shell\.openExternal\(u\.href\)/);
  });

  it('exposes exactly one object from the preload, never ipcRenderer', () => {
    expect(preload.match(/exposeInMainWorld\(/g)).toHaveLength(1);
    expect(preload).toMatch(/exposeInMainWorld\('pairmux', bridge\)/);
    expect(preload).toMatch(/const bridge: RendererBridge = \{/);
  });

  it("keeps 'electron' imports to main, preload and ipc*", () => {
    const allowed = /^electron\/(main|preload|ipc[\w-]*)\.ts$/;
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(join(root, dir))) {
        const path = join(dir, name);
        if (statSync(join(root, path)).isDirectory()) walk(path);
        else if (/\.(ts|mts|js|mjs)$/.test(name) && !allowed.test(path) && /from\s+['"]electron['"]|require\(\s*['"]electron['"]\s*\)/.test(code(path))) offenders.push(path);
      }
    };
    for (const dir of ['electron', 'renderer', 'protocol', 'relay']) walk(dir);
    expect(offenders).toEqual([]);
  });
});

// ---- the IPC boundary, run without Electron ----

type InvokeEvent = Parameters<typeof senderEngine>[0];

function fakeEvent(opts: { id?: number; frameUrl?: string; subframe?: boolean; noFrame?: boolean } = {}): InvokeEvent {
  const main = { frameTreeNodeId: 1 };
  const frame = opts.noFrame
    ? null
    : { parent: opts.subframe ? main : null, frameTreeNodeId: opts.subframe ? 2 : 1, url: opts.frameUrl ?? 'app://pairmux/index.html' };
  return { sender: { id: opts.id ?? 7, mainFrame: main }, senderFrame: frame } as unknown as InvokeEvent;
}

class FakeEngine extends EventEmitter<{ event: [EngineEvent] }> {
  calls: Array<[string, unknown[]]> = [];
  disposed = false;
  async getSettings() {
    this.calls.push(['getSettings', []]);
    return { name: 'alice', relayUrl: null };
  }
  async join(code: string) {
    this.calls.push(['join', [code]]);
    throw new PairmuxError(ErrorCode.InviteMalformed, 'paste the invite code the host shared');
  }
  async leave() {
    throw new Error('boom');
  }
  async input(pane: number, data: string) {
    this.calls.push(['input', [pane, data]]);
  }
  dispose() {
    this.disposed = true;
  }
}
const asEngine = (e: FakeEngine) => e as unknown as Parameters<typeof dispatch>[0] & Parameters<typeof forwardEvents>[0];

describe('senderEngine', () => {
  const engine = asEngine(new FakeEngine());
  const engines = new Map([[7, engine]]);

  it("returns the engine of a known window's main frame showing the app", () => {
    expect(senderEngine(fakeEvent(), engines)).toBe(engine);
  });

  it.each([
    ['an unknown webContents', { id: 8 }],
    ['a subframe', { subframe: true }],
    ['a page that is not the app', { frameUrl: 'https://evil.example/' }],
    ['a look-alike origin', { frameUrl: 'app://pairmux.evil/' }],
    ['a frame that is gone', { noFrame: true }],
  ])('refuses %s', (_what, opts) => {
    expect(() => senderEngine(fakeEvent(opts), engines)).toThrow(PairmuxError);
  });
});

describe('dispatch', () => {
  it('calls the API method and wraps the value', async () => {
    const engine = new FakeEngine();
    expect(await dispatch(asEngine(engine), { id: 3, method: 'getSettings', args: [] })).toEqual({ id: 3, ok: true, value: { name: 'alice', relayUrl: null } });
    await dispatch(asEngine(engine), { id: 4, method: 'input', args: [1, 'ls\r'] });
    expect(engine.calls).toContainEqual(['input', [1, 'ls\r']]);
  });

  it('passes a PairmuxError on as { code, message }', async () => {
    const res = await dispatch(asEngine(new FakeEngine()), { id: 5, method: 'join', args: ['nope'] });
    expect(res).toEqual({ id: 5, ok: false, error: { code: ErrorCode.InviteMalformed, message: 'paste the invite code the host shared' } });
  });

  it('reports any other failure as an internal error', async () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const res = await dispatch(asEngine(new FakeEngine()), { id: 6, method: 'leave', args: [] });
    expect(res).toEqual({ id: 6, ok: false, error: { code: INTERNAL_ERROR, message: 'boom' } });
    spy.mockRestore();
  });

  it.each([
    ['a method outside the API', { id: 1, method: 'dispose', args: [] }],
    ['an inherited method', { id: 1, method: 'emit', args: ['event', {}] }],
    ['a prototype key', { id: 1, method: '__proto__', args: [] }],
    ['args that are not a list', { id: 1, method: 'input', args: { 0: 1 } }],
    ['too many args', { id: 1, method: 'input', args: [1, 2, 3, 4, 5] }],
    ['no request at all', null],
  ])('refuses %s without calling the engine', async (_what, req) => {
    const engine = new FakeEngine();
    const res = await dispatch(asEngine(engine), req);
    expect(res.ok).toBe(false);
    expect(!res.ok && res.error.code).toBe(ErrorCode.BadCommand);
    expect(engine.calls).toEqual([]);
    expect(engine.disposed).toBe(false);
  });
});

describe('registerInvokeHandler', () => {
  it('serves IpcChannel.invoke and throws for an untrusted sender', async () => {
    let handler: ((event: InvokeEvent, req: unknown) => Promise<CarrierResponse>) | undefined;
    const ipcMain = {
      handle: (channel: string, fn: typeof handler) => {
        expect(channel).toBe(IpcChannel.invoke);
        handler = fn;
      },
      removeHandler: () => {
        handler = undefined;
      },
    };
    const engines = new Map([[7, asEngine(new FakeEngine())]]);
    const remove = registerInvokeHandler(ipcMain as unknown as Parameters<typeof registerInvokeHandler>[0], engines);
    expect(await handler!(fakeEvent(), { id: 1, method: 'getSettings', args: [] })).toMatchObject({ ok: true });
    expect(() => handler!(fakeEvent({ id: 99 }), { id: 1, method: 'getSettings', args: [] })).toThrow(PairmuxError);
    remove();
    expect(handler).toBeUndefined();
  });
});

describe('forwardEvents', () => {
  it('sends engine events to the window until unsubscribed or destroyed', () => {
    const engine = new FakeEngine();
    const sent: unknown[][] = [];
    let destroyed = false;
    const stop = forwardEvents(asEngine(engine), { send: (...args: unknown[]) => sent.push(args), isDestroyed: () => destroyed });
    const e: EngineEvent = { type: 'ended', reason: 'bye' };
    engine.emit('event', e);
    expect(sent).toEqual([[IpcChannel.event, e]]);
    destroyed = true;
    engine.emit('event', e);
    expect(sent).toHaveLength(1);
    stop();
    expect(engine.listenerCount('event')).toBe(0);
  });
});

describe('app:// files', () => {
  let dir: string;
  let rendererRoot: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pairmux-app-'));
    rendererRoot = join(dir, 'renderer');
    mkdirSync(rendererRoot);
    writeFileSync(join(rendererRoot, 'index.html'), '<!doctype html><title>pairmux</title>');
    writeFileSync(join(rendererRoot, 'app.js'), 'console.log(1)');
    writeFileSync(join(dir, 'secret.txt'), 'do not serve');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves app URLs to files under the root only', () => {
    expect(resolveAppFile(rendererRoot, 'app://pairmux/')).toBe(join(rendererRoot, 'index.html'));
    expect(resolveAppFile(rendererRoot, 'app://pairmux/app.js?v=1#x')).toBe(join(rendererRoot, 'app.js'));
    for (const url of [
      'app://pairmux/..%2fsecret.txt',
      'app://pairmux/%2e%2e%2fsecret.txt',
      'app://pairmux/a/..%2f..%2f..%2fsecret.txt',
      `app://pairmux/${encodeURIComponent(join(dir, 'secret.txt'))}`,
      'app://pairmux/%00index.html',
      'app://pairmux/%E0%A4%A',
      'app://elsewhere/index.html',
      'file:///etc/passwd',
      'not a url',
    ]) {
      const file = resolveAppFile(rendererRoot, url);
      if (file !== null) expect(relative(rendererRoot, file).startsWith('..'), url).toBe(false);
      expect(file, url).not.toBe(join(dir, 'secret.txt'));
    }
    expect(resolveAppFile(rendererRoot, 'app://pairmux/..%2fsecret.txt')).toBeNull();
  });

  it('serves files with the CSP and a content type, and nothing else', async () => {
    const handle = appFileHandler(rendererRoot);
    const ok = await handle({ url: 'app://pairmux/index.html', method: 'GET' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(ok.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await ok.text()).toContain('<title>pairmux</title>');

    const js = await handle({ url: 'app://pairmux/app.js', method: 'GET' });
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');

    for (const url of ['app://pairmux/..%2fsecret.txt', 'app://pairmux/missing.js']) {
      const res = await handle({ url, method: 'GET' });
      expect(res.status, url).toBe(404);
      expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(await res.text()).not.toContain('do not serve');
    }
    expect((await handle({ url: 'app://pairmux/index.html', method: 'POST' })).status).toBe(405);
  });
});

// ---- the preload, with a fake 'electron' ----

describe('preload bridge', () => {
  let bridge: RendererBridge;
  beforeAll(async () => {
    await import('../../electron/preload.js');
    bridge = fake.exposed.get('pairmux') as RendererBridge;
  });
  // (A block, not an arrow returning the mock: vitest would call a returned function as teardown.)
  beforeEach(() => {
    fake.invoke.mockReset();
  });

  it('exposes window.pairmux and nothing else', () => {
    expect([...fake.exposed.keys()]).toEqual(['pairmux']);
    expect(Object.keys(bridge).sort()).toEqual([...ENGINE_METHODS, 'onEvent'].sort());
  });

  it('carries each call as a CarrierRequest and unwraps the value', async () => {
    fake.invoke.mockImplementation(async (_channel, req) => ({ id: (req as { id: number }).id, ok: true, value: { name: 'bob', relayUrl: null } }));
    await expect(bridge.setSettings({ name: 'bob' })).resolves.toEqual({ name: 'bob', relayUrl: null });
    await bridge.input(3, 'x');
    expect(fake.invoke.mock.calls[0]).toEqual([IpcChannel.invoke, { id: expect.any(Number), method: 'setSettings', args: [{ name: 'bob' }] }]);
    expect(fake.invoke.mock.calls[1]![1]).toMatchObject({ method: 'input', args: [3, 'x'] });
  });

  it('rejects with a plain { code, message } object', async () => {
    fake.invoke.mockResolvedValue({ id: 1, ok: false, error: { code: ErrorCode.Forbidden, message: 'only the host can change permissions' } });
    const e = await bridge.setPermission('p1', 'control').catch((x: unknown) => x);
    expect(e).toEqual({ code: ErrorCode.Forbidden, message: 'only the host can change permissions' });
    expect(e).not.toBeInstanceOf(Error);

    fake.invoke.mockRejectedValue(new Error("Error invoking remote method 'pairmux:invoke'"));
    await expect(bridge.leave()).rejects.toEqual({ code: 'E_IPC', message: "Error invoking remote method 'pairmux:invoke'" });
  });

  it('delivers only event payloads, until unsubscribed', () => {
    const seen: unknown[] = [];
    const off = bridge.onEvent((e) => seen.push(e));
    const payload: EngineEvent = { type: 'notice', code: ErrorCode.Disconnected, message: 'x' };
    fake.emit(IpcChannel.event, { sender: 'the ipcRenderer' }, payload);
    expect(seen).toEqual([payload]);
    off();
    fake.emit(IpcChannel.event, {}, payload);
    expect(seen).toHaveLength(1);
    expect(fake.listeners.get(IpcChannel.event)?.size).toBe(0);
  });
});

// ---- main.ts, with a fake 'electron' ----

describe('main.ts', () => {
  let dataDir: string;
  let window: InstanceType<typeof fake.BrowserWindow>;
  let contents: InstanceType<typeof fake.BrowserWindow>['webContents'];
  const fromApp = () => ({ sender: contents, senderFrame: { parent: null, frameTreeNodeId: 1, url: 'app://pairmux/index.html' } });
  const call = (method: string, ...args: unknown[]) => fake.ipcHandlers.get(IpcChannel.invoke)!(fromApp(), { id: 1, method, args }) as Promise<CarrierResponse>;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'pairmux-userdata-'));
    fake.app.userData = dataDir;
    await import('../../electron/main.js');
    await new Promise((r) => setTimeout(r, 0)); // whenReady().then(...)
    window = fake.windows[0]!;
    contents = window.webContents;
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('registers app:// as a privileged scheme before ready and sandboxes every renderer', () => {
    expect(fake.schemes).toEqual([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
    expect(fake.schemesBeforeReady).toBe(true);
    expect(fake.app.sandboxed).toBe(true);
  });

  it('opens one locked-down window on app://pairmux/index.html', () => {
    expect(fake.windows).toHaveLength(1);
    expect(window.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, spellcheck: false });
    expect(String((window.options.webPreferences as { preload: string }).preload)).toMatch(/electron[\\/]preload\.cjs$/);
    expect(window.options.backgroundColor).toBe('#0f1115') // the renderer's dark --bg, so nothing flashes before it paints;
    expect(window.loaded).toBe('app://pairmux/index.html');
  });

  it('refuses navigation away from the app, new windows and webviews', () => {
    const navigate = (event: string, url: string) => {
      const e = { url, preventDefault: vi.fn() };
      contents.emit(event, e);
      return e.preventDefault.mock.calls.length > 0;
    };
    expect(navigate('will-navigate', 'https://evil.example/')).toBe(true);
    expect(navigate('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(navigate('will-frame-navigate', 'https://evil.example/')).toBe(true);
    expect(navigate('will-redirect', 'https://evil.example/')).toBe(true);
    expect(navigate('will-navigate', 'app://pairmux/index.html')).toBe(false);
    expect(contents.openHandler?.()).toEqual({ action: 'deny' });
    const attach = { preventDefault: vi.fn() };
    contents.emit('will-attach-webview', attach);
    expect(attach.preventDefault).toHaveBeenCalled();
  });

  it('grants no permission but sanitized clipboard writes', () => {
    const granted = (permission: string) => {
      let answer: unknown;
      fake.permissions.request!(contents, permission, (ok: boolean) => (answer = ok), {});
      return answer;
    };
    expect(granted('media')).toBe(false);
    expect(granted('notifications')).toBe(false);
    expect(granted('openExternal')).toBe(false);
    expect(granted('clipboard-sanitized-write')).toBe(true);
    expect(fake.permissions.check!(contents, 'clipboard-read', 'app://pairmux', {})).toBe(false);
    expect(fake.permissions.device!({})).toBe(false);
  });

  it('serves the UI over app:// with the CSP', async () => {
    const res = await fake.protocolHandlers.get('app')!({ url: 'app://pairmux/', method: 'GET' });
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
  });

  it("routes the window's IPC to its own engine and refuses other senders", async () => {
    const res = await call('getSettings');
    expect(res).toMatchObject({ ok: true, value: { relayUrl: null } });
    expect(await call('dispose')).toMatchObject({ ok: false, error: { code: ErrorCode.BadCommand } });
    const stranger = { ...fromApp(), sender: { id: 999, mainFrame: { frameTreeNodeId: 1 } } };
    expect(() => fake.ipcHandlers.get(IpcChannel.invoke)!(stranger, { id: 1, method: 'getSettings', args: [] })).toThrow(PairmuxError);
  });

  it('opens a link only after the user confirms, and only http(s)', async () => {
    fake.showMessageBox.mockResolvedValueOnce({ response: 1 });
    expect(await call('openLink', 'https://example.com/a')).toEqual({ id: 1, ok: true, value: false });
    expect(fake.openExternal).not.toHaveBeenCalled();
    const [, options] = fake.showMessageBox.mock.calls[0]!;
    expect(options).toMatchObject({ message: 'Open this link?', detail: 'https://example.com/a', buttons: ['Open', 'Cancel'], defaultId: 1, cancelId: 1 });

    fake.showMessageBox.mockResolvedValueOnce({ response: 0 });
    expect(await call('openLink', 'https://example.com/b')).toEqual({ id: 1, ok: true, value: true });
    expect(fake.openExternal).toHaveBeenCalledWith('https://example.com/b');

    fake.showMessageBox.mockClear();
    expect(await call('openLink', 'javascript:alert(1)')).toMatchObject({ ok: true, value: false });
    expect(await call('openLink', 'file:///etc/passwd')).toMatchObject({ ok: true, value: false });
    expect(fake.showMessageBox).not.toHaveBeenCalled();
  });

  it('has an Edit menu, and DevTools in development', () => {
    const labels = (fake.menu as Array<{ label?: string; submenu?: Array<{ role?: string }> }>).map((m) => m.label);
    expect(labels).toContain('Edit');
    expect(labels).toContain('View'); // app.isPackaged is false here
  });

  it("forgets the window's engine when the window closes", () => {
    window.close();
    expect(() => fake.ipcHandlers.get(IpcChannel.invoke)!(fromApp(), { id: 1, method: 'getSettings', args: [] })).toThrow(PairmuxError);
  });
});
